#!/usr/bin/python3
"""A burst against a fixed small pool, a fixed large pool and an adaptive
pool (issue 15): the p99 queue wait of the burst's tasks, the memory the
pool's processes held on average over the run, and, sampled every 100 ms,
the queue depth, the oldest wait and the process count over time.

    /usr/bin/python3 benchmarks/py/burst.py [--bin build/bin] [--min 1] [--max 4]
        [--threads 4] [--task-ms 50] [--rate 300] [--burst-s 4] [--plot FILE.png]

Each mode starts its own zfleet-broker (loopback ports picked free) with one
pool, `burst`: `processes: MIN`, `processes: MAX`, or `min_processes: MIN,
max_processes: MAX` (scale_up_after_ms 200, scale_down_after_ms 2000,
cooldown_ms 300). The load: 2 s idle, then `builtin:sleep` tasks of
--task-ms at --rate per second for --burst-s seconds (open loop: a task is
sent at its time whatever the fleet does), then idle until every task is done
and --tail-s (8) seconds more (the adaptive pool shrinks back). Queue wait is the broker's
own `queued_us` of each task's result. Memory is the sum of `rss_bytes` of
the pool's live workers in `status`, averaged over the samples.

Prints one JSON line per mode; with --plot, draws the three timelines with
gnuplot (one panel per mode: process count and queue depth over time).
"""
import argparse
import json
import os
import socket
import subprocess
import tempfile
import threading
import time

import msgpack
import zmq


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def pool_cfg(mode, a):
    base = {"threads": a.threads}
    if mode == "fixed-min":
        base["processes"] = a.min
    elif mode == "fixed-max":
        base["processes"] = a.max
    else:
        base.update(min_processes=a.min, max_processes=a.max, scale_up_after_ms=200,
                    scale_down_after_ms=2000, cooldown_ms=300)
    return base


def write_config(folder, mode, a):
    ports = free_ports(4)
    eps = {n: "tcp://127.0.0.1:%d" % p for n, p in zip(("frontend", "results", "backend", "status"), ports)}
    pool = ", ".join("%s: %s" % kv for kv in pool_cfg(mode, a).items())
    text = ("broker: {%s}\n" % ", ".join("%s: %s" % kv for kv in eps.items()) +
            "workers: {heartbeat_ms: 100, io: {processes: 0}, cpu: {processes: 0}, pools: {burst: {%s}}}\n" % pool +
            "python: {script_roots: [%s]}\n" % os.path.abspath("config/tasks") +
            "logging: {level: info}\n")
    path = os.path.join(folder, "fleet-%s.yaml" % mode)
    with open(path, "w") as f:
        f.write(text)
    return path, eps


class Client:
    def __init__(self, ctx, eps):
        self.front = ctx.socket(zmq.DEALER)
        self.front.connect(eps["frontend"])
        self.res = ctx.socket(zmq.DEALER)
        self.res.setsockopt(zmq.RCVTIMEO, 30000)
        self.res.connect(eps["results"])

    def status(self):
        self.res.send(msgpack.packb({"op": "status"}))
        return msgpack.unpackb(self.res.recv())

    def close(self):
        self.front.close(0)
        self.res.close(0)


def sampler(ctx, eps, t0, out, stop):
    c = Client(ctx, eps)
    try:
        while not stop.is_set():
            st = c.status()
            q = st["queues"]["burst"]
            ws = [w for w in st["workers"] if w["alive"] and w["type"] == "burst"]
            out.append({"t": time.monotonic() - t0, "depth": q["depth"], "running": q["running"],
                        "processes": q.get("processes", len(ws)), "rss": sum(w.get("rss_bytes", 0) for w in ws)})
            time.sleep(0.1)
    finally:
        c.close()


def run_mode(mode, a, folder):
    path, eps = write_config(folder, mode, a)
    log = open(os.path.join(folder, "broker-%s.log" % mode), "w")
    broker = subprocess.Popen([os.path.join(a.bin, "zfleet-broker"), "-c", path], stdout=log, stderr=log)
    time.sleep(0.3)
    if broker.poll() is not None:
        raise SystemExit("%s: the broker did not start (exit %s); see %s" % (mode, broker.returncode, log.name))
    ctx = zmq.Context()
    c = Client(ctx, eps)
    try:
        want = a.min if mode != "fixed-max" else a.max
        deadline = time.monotonic() + 30
        while sum(1 for w in c.status()["workers"] if w["alive"]) < want:
            if time.monotonic() > deadline:
                raise SystemExit("%s: workers not ready" % mode)
            time.sleep(0.1)
        samples, stop = [], threading.Event()
        t0 = time.monotonic()
        th = threading.Thread(target=sampler, args=(ctx, eps, t0, samples, stop))
        th.start()
        time.sleep(2)
        n = int(a.rate * a.burst_s)
        start = time.monotonic()
        for i in range(n):   # open loop: task i at start + i / rate
            delay = start + i / a.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            c.front.send(msgpack.packb({"op": "submit", "script": "builtin:sleep", "args": [a.task_ms],
                                        "type": "burst", "corr": i}))
        ids = []
        for _ in range(n):
            r = msgpack.unpackb(c.front.recv())
            if r.get("op") == "accepted":
                ids.append(r["id"])
        waits, done = [], 0
        for k in range(0, len(ids), 1000):
            c.res.send(msgpack.packb({"op": "get_many", "ids": ids[k:k + 1000], "wait_ms": 120000}))
            for r in msgpack.unpackb(c.res.recv())["results"]:
                done += r["state"] == "done"
                waits.append(r.get("queued_us", 0))
        time.sleep(a.tail_s)
        stop.set()
        th.join()
        waits.sort()
        pick = lambda q: waits[min(len(waits) - 1, int(q * len(waits)))] / 1000.0 if waits else None
        mean_rss = sum(s["rss"] for s in samples) / max(len(samples), 1)
        return {"mode": mode, "tasks": n, "done": done, "queue_wait_p50_ms": pick(0.5),
                "queue_wait_p99_ms": pick(0.99), "queue_wait_max_ms": pick(1.0),
                "max_processes_seen": max(s["processes"] for s in samples),
                "end_processes": samples[-1]["processes"],
                "mean_rss_mib": round(mean_rss / 2**20, 1),
                "mean_processes": round(sum(s["processes"] for s in samples) / max(len(samples), 1), 2)}, samples
    finally:
        c.close()
        broker.terminate()
        try:
            broker.wait(15)
        except subprocess.TimeoutExpired:
            broker.kill()
        log.close()
        ctx.term()


def plot(path, runs, folder):
    script = ["set terminal pngcairo size 900,%d font 'DejaVu Sans,10'" % (300 * len(runs)),
              "set output '%s'" % path, "set multiplot layout %d,1" % len(runs),
              "set xlabel 'seconds'", "set ylabel 'processes'", "set y2label 'queued tasks'",
              "set ytics nomirror", "set y2tics", "set key top right", "set grid"]
    for mode, samples in runs:
        data = os.path.join(folder, "burst-%s.dat" % mode)
        with open(data, "w") as f:
            for s in samples:
                f.write("%.2f %d %d\n" % (s["t"], s["processes"], s["depth"]))
        script += ["set title 'burst: %s'" % mode, "set yrange [0:*]", "set y2range [0:*]",
                   "plot '%s' using 1:2 with steps lw 2 title 'processes' axes x1y1, "
                   "'%s' using 1:3 with lines title 'queue depth' axes x1y2" % (data, data)]
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/bin")
    ap.add_argument("--min", type=int, default=1)
    ap.add_argument("--max", type=int, default=4)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--task-ms", type=int, default=50)
    ap.add_argument("--rate", type=float, default=240)
    ap.add_argument("--burst-s", type=float, default=4)
    ap.add_argument("--tail-s", type=float, default=8, help="idle after the last result")
    ap.add_argument("--modes", default="fixed-min,fixed-max,adaptive")
    ap.add_argument("--plot")
    a = ap.parse_args()
    folder = tempfile.mkdtemp(prefix="zfleet-burst-")
    runs = []
    for mode in a.modes.split(","):
        summary, samples = run_mode(mode, a, folder)
        print(json.dumps(summary), flush=True)
        runs.append((mode, samples))
    if a.plot:
        plot(a.plot, runs, folder)


if __name__ == "__main__":
    main()
