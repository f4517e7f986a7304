#!/usr/bin/python3
"""The cost of the broker journal (issue 10), journal off / every_ms / always
in one run, and the replay time of a big journal.

    /usr/bin/python3 benchmarks/py/journal_bench.py [--bin-dir build/bin]
        [--rounds 3] [--count 200000] [--rate 20000] [--policies off,every_ms,always]
        [--replay 1000000] [--journal-dir DIR]

For each round and each policy (the order rotates from round to round, so
all three see the same neighbours), it starts its own zfleet-broker on free
loopback ports (2 io workers x 8 threads, 2 cpu x 1, one intake and one
result thread, as config/fleet.yaml; journal in a fresh folder under
--journal-dir, default $TMPDIR) and runs zfleet-bench against it:

  * `throughput --task echo --count N --batch 1 --window 2000`:
    2,000 plain submits in flight, then get_many; end-to-end tasks/s and
    acks/s;
  * `throughput --task echo --count N --batch 100 --window 20`: the same
    2,000 tasks in flight as 20 submit_batch requests of 100;
  * `rate --task echo --rate R --duration 5`: open loop at R tasks/s, one
    long-poll get per task: submit+get latency from the intended send time;
  * `latency --task echo --count 2000`: idle closed loop, one at a time;

and reads status.journal after each (fsyncs per second, fsync p99). Then,
with --replay N (0 = skip), a broker with no workers takes N delayed tasks
(submit_batch of 10,000, fsync never), is killed with -9 and started again:
replayed_records and replay_ms from status.journal, and the time until every
task is back in its queue. Prints one JSON object per measurement and a
summary table (median of the rounds).

A policy may end in `+curve` (e.g. `--policies off,off+curve`): that broker
runs with a `security` section (keys made by `zfleet keygen` in its folder)
and the bench connects with --key/--server-key, so the same runs give the
cost of CURVE authentication and encryption (issue 11).
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from common import free_ports  # noqa: E402  (the peers benchmark's helper)

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


class Broker:
    """One zfleet-broker with its own config, journal folder and log."""

    def __init__(self, bin_dir, policy, journal_root, io="2x8", cpu="2x1", every_ms=50):
        self.bin_dir = bin_dir
        self.dir = tempfile.mkdtemp(prefix="zfleet-jbench-", dir=journal_root)
        policy, _, extra = policy.partition("+")
        self.curve = extra == "curve"
        ports = free_ports(4)
        self.eps = {n: "tcp://127.0.0.1:%d" % p
                    for n, p in zip(("frontend", "results", "backend", "status"), ports)}
        io_p, io_t = (int(x) for x in io.split("x"))
        cpu_p, cpu_t = (int(x) for x in cpu.split("x"))
        self.workers = io_p + cpu_p
        broker = dict(self.eps, queue_threads=1, result_threads=1, drain_timeout_ms=2000)
        lines = ["broker: {%s%s}" % (", ".join("%s: %s" % kv for kv in broker.items()),
                                     "" if policy == "off" else
                                     ", journal: {path: journal, fsync: %s, every_ms: %d}"
                                     % (policy, every_ms)),
                 "workers: {io: {processes: %d, threads: %d}, cpu: {processes: %d, threads: %d}}"
                 % (io_p, io_t, cpu_p, cpu_t),
                 'python: {script_roots: ["%s"]}' % os.path.join(ROOT, "config", "tasks"),
                 "logging: {level: warn}"]
        if self.curve:
            lines.append(self.make_keys())
        self.config = os.path.join(self.dir, "fleet.yaml")
        with open(self.config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.ctx = zmq.Context.instance()
        self.proc = None
        self.start()

    def make_keys(self):
        """Keys for a CURVE broker: its own, the bench's (allowed as producer
        and client) and the local workers'. Returns the `security` line."""
        for name in ("broker", "clients/bench", "workers/local"):
            path = os.path.join(self.dir, "keys", name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            subprocess.run([os.path.join(self.bin_dir, "zfleet"), "keygen", path], check=True,
                           stdout=subprocess.DEVNULL)
        self.key_args = ["--key", os.path.join(self.dir, "keys/clients/bench.key"),
                         "--server-key", os.path.join(self.dir, "keys/broker.pub")]
        return ("security: {secret_key: keys/broker.key, producers: [keys/clients], "
                "clients: [keys/clients], workers: [keys/workers], worker_key: keys/workers/local.key}")

    def start(self):
        log = open(os.path.join(self.dir, "broker.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(self.bin_dir, "zfleet-broker"), "--config", self.config],
                                     stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("broker exited with %s:\n%s" % (self.proc.returncode, self.log_tail()))
            try:
                st = self.status(timeout_ms=1000)
                if sum(1 for w in st["workers"] if w["alive"]) >= self.workers:
                    return st
            except TimeoutError:
                pass
            time.sleep(0.05)
        raise RuntimeError("broker not ready:\n" + self.log_tail())

    def status(self, timeout_ms=10000):
        s = self.ctx.socket(zmq.REQ)
        s.setsockopt(zmq.LINGER, 0)
        if self.curve:
            self.apply_curve(s)
        s.connect(self.eps["results"])
        try:
            s.send(msgpack.packb({"op": "status"}))
            if not s.poll(timeout_ms):
                raise TimeoutError("no status reply")
            return msgpack.unpackb(s.recv(), raw=False, strict_map_key=False)
        finally:
            s.close(0)

    def apply_curve(self, sock):
        keys = {}
        with open(os.path.join(self.dir, "keys/clients/bench.key")) as f:
            for line in f:
                name, _, value = line.partition("=")
                keys[name.strip()] = value.strip().encode()
        with open(os.path.join(self.dir, "keys/broker.pub")) as f:
            sock.curve_serverkey = f.read().strip().encode()
        sock.curve_publickey = keys["public-key"]
        sock.curve_secretkey = keys["secret-key"]

    def kill(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self):
        with open(os.path.join(self.dir, "broker.log"), "rb") as f:
            return f.read()[-3000:].decode("utf-8", "replace")


def bench(broker, *args):
    argv = [os.path.join(broker.bin_dir, "zfleet-bench"), "--json", "--no-progress",
            "--frontend", broker.eps["frontend"], "--results", broker.eps["results"]]
    if broker.curve:
        argv += broker.key_args
    argv += list(args)
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if out.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(args), out.returncode,
                                                   out.stderr.decode()[-2000:]))
    return json.loads(out.stdout)


def journal_delta(before, after, seconds):
    j0, j1 = before.get("journal"), after.get("journal")
    if not j1:
        return {}
    fsyncs = j1["fsyncs"] - j0["fsyncs"]
    return {"fsyncs": fsyncs, "fsyncs_per_s": round(fsyncs / seconds), "fsync_p99_us": j1["fsync_p99_us"],
            "records": j1["records"] - j0["records"], "journal_bytes": j1["bytes"]}


def measure(broker, policy, a):
    rows = []
    bench(broker, "throughput", "--task", "echo", "--count", "20000", "--batch", "100",
          "--window", "20")     # warm-up
    for name, extra in (("plain x2000", ["--batch", "1", "--window", "2000"]),
                        ("batch100 x20", ["--batch", "100", "--window", "20"])):
        st0, t0 = broker.status(), time.monotonic()
        r = bench(broker, "throughput", "--task", "echo", "--count", str(a.count), *extra)
        dt = time.monotonic() - t0
        row = {"policy": policy, "run": "throughput " + name, "tasks_per_s": r["tasks_per_s"],
               "accept_per_s": r["accept_per_s"], "lost": r["lost"], "seconds": r["seconds"]}
        row.update(journal_delta(st0, broker.status(), dt))
        rows.append(row)
    st0, t0 = broker.status(), time.monotonic()
    r = bench(broker, "rate", "--task", "echo", "--rate", str(a.rate), "--duration", "5")
    row = {"policy": policy, "run": "rate %d/s" % a.rate, "achieved_per_s": r["achieved_per_s"],
           "lost": r["lost"], "p50_us": r["latency"]["p50_us"], "p99_us": r["latency"]["p99_us"]}
    row.update(journal_delta(st0, broker.status(), time.monotonic() - t0))
    rows.append(row)
    r = bench(broker, "latency", "--task", "echo", "--count", "2000")
    rows.append({"policy": policy, "run": "idle latency", "errors": r["errors"],
                 "p50_us": r["round_trip"]["p50_us"], "p99_us": r["round_trip"]["p99_us"]})
    return rows


def replay(a):
    broker = Broker(a.bin_dir, "never", a.journal_dir, io="0x1", cpu="0x1")
    try:
        ctx = zmq.Context.instance()
        front = ctx.socket(zmq.DEALER)
        front.setsockopt(zmq.LINGER, 0)
        front.connect(broker.eps["frontend"])
        body = msgpack.packb({"op": "submit_batch", "tasks": [
            {"script": "builtin:echo", "args": [1], "delay_ms": 3600000}] * 10000})
        batches = a.replay // 10000
        sent = got = accepted = 0
        t0 = time.monotonic()
        while got < batches:
            while sent < batches and sent - got < 8:
                front.send(body)
                sent += 1
            reply = msgpack.unpackb(front.recv_multipart()[-1], raw=False)
            got += 1
            accepted += sum(1 for i in reply["ids"] if i is not None)
        submit_s = time.monotonic() - t0
        front.close(0)
        before = broker.status()["journal"]
        broker.kill(signal.SIGKILL)
        t0 = time.monotonic()
        st = broker.start()
        serving_s = time.monotonic() - t0
        while st["queues"]["io"]["delayed"] < accepted and time.monotonic() - t0 < 300:
            time.sleep(0.05)
            st = broker.status()
        j = st["journal"]
        return {"run": "replay", "tasks": accepted, "submit_s": round(submit_s, 2),
                "journal_bytes": before["bytes"], "replayed_records": j["replayed_records"],
                "replay_ms": j["replay_ms"], "restored_tasks": j["restored_tasks"],
                "serving_after_s": round(serving_s, 2),
                "all_queued_after_s": round(time.monotonic() - t0, 2)}
    finally:
        broker.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin-dir", default=os.path.join(ROOT, "build", "bin"))
    ap.add_argument("--rounds", type=int, default=3, help="0: the replay measurement only")
    ap.add_argument("--count", type=int, default=200000)
    ap.add_argument("--rate", type=int, default=20000)
    ap.add_argument("--every-ms", type=int, default=50)
    ap.add_argument("--policies", default="off,every_ms,always")
    ap.add_argument("--replay", type=int, default=1000000)
    ap.add_argument("--journal-dir", default=tempfile.gettempdir())
    a = ap.parse_args()
    policies = a.policies.split(",")
    rows = []
    for rnd in range(a.rounds):
        order = policies[rnd % len(policies):] + policies[:rnd % len(policies)]
        for policy in order:
            broker = Broker(a.bin_dir, policy, a.journal_dir, every_ms=a.every_ms)
            try:
                for row in measure(broker, policy, a):
                    row["round"] = rnd + 1
                    print(json.dumps(row), flush=True)
                    rows.append(row)
            finally:
                broker.close()
    if rows:
        summary(rows, policies)
    if a.replay:
        print(json.dumps(replay(a)), flush=True)


def summary(rows, policies):
    def med(policy, run, key):
        vals = [r[key] for r in rows if r["policy"] == policy and r["run"] == run and key in r]
        return statistics.median(vals) if vals else None

    runs = []
    for r in rows:
        if r["run"] not in runs:
            runs.append(r["run"])
    print("\nmedian of %d rounds" % max(r["round"] for r in rows))
    for run in runs:
        key = "tasks_per_s" if run.startswith("throughput") else None
        for policy in policies:
            parts = []
            for k in ("tasks_per_s", "accept_per_s", "achieved_per_s", "p50_us", "p99_us",
                      "fsyncs_per_s", "fsync_p99_us"):
                v = med(policy, run, k)
                if v is not None:
                    parts.append("%s %s" % (k, format(int(v), ",")))
            if key and policy != "off" and med("off", run, key):
                parts.append("= %.0f%% of off" % (100.0 * med(policy, run, key) / med("off", run, key)))
            print("%-24s %-9s %s" % (run, policy, "  ".join(parts)))


if __name__ == "__main__":
    main()
