#!/usr/bin/python3
"""Throughput from a plain Python producer (Debian's python3-zmq + msgpack),
written the way a user would: one DEALER, plain `submit` requests pipelined
with a window and matched by `corr`, then `get_many` with `wait_ms`.

    /usr/bin/python3 benchmarks/py/producer_bench.py [--frontend EP] [--results EP]
        [--count 20000] [--window 256] [--script math_ops.py --func noop --type cpu]
        [--latency N]

Prints one JSON line: accepted, done, failed, seconds, tasks_per_s.
With --latency N it runs N closed-loop round trips instead (submit, wait for
the ack, `get` with `wait_ms`, one at a time) and prints their p50/p90/p99/
max in microseconds, and errors. With --transport BENCH (the zfleet-bench
binary) it first measures the raw ZeroMQ forwarding round trip from this
same pyzmq client, through the bench's own forwarder and echo processes
(the transport of `zfleet-bench --vs-transport`), and adds the ratio of the
two p50s: issue 14's bar is at most 1.5x, p99 under 1 ms.
"""
import argparse
import json
import subprocess
import time

import msgpack
import zmq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--frontend", default="tcp://127.0.0.1:5555")
    ap.add_argument("--results", default="tcp://127.0.0.1:5558")
    ap.add_argument("--count", type=int, default=20000)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--script", default="math_ops.py")
    ap.add_argument("--func", default="noop")
    ap.add_argument("--type", default="cpu")
    ap.add_argument("--latency", type=int, default=0, help="closed-loop round trips instead")
    ap.add_argument("--transport", metavar="BENCH", help="with --latency: measure the transport first")
    a = ap.parse_args()

    ctx = zmq.Context()
    front = ctx.socket(zmq.DEALER)
    front.setsockopt(zmq.RCVTIMEO, 30000)
    front.connect(a.frontend)
    results = ctx.socket(zmq.DEALER)
    results.setsockopt(zmq.RCVTIMEO, 60000)
    results.connect(a.results)

    if a.latency:
        return latency(a, front, results)
    t0 = time.perf_counter()
    ids, sent, outstanding = [], 0, 0
    while sent < a.count or outstanding:
        while sent < a.count and outstanding < a.window:
            front.send(msgpack.packb({"op": "submit", "script": a.script, "func": a.func,
                                      "type": a.type, "corr": sent}))
            sent += 1
            outstanding += 1
        reply = msgpack.unpackb(front.recv())
        outstanding -= 1
        if reply["op"] == "accepted":
            ids.append(reply["id"])
    t_ack = time.perf_counter() - t0
    chunks = [ids[i:i + 1000] for i in range(0, len(ids), 1000)]
    for c in chunks:
        results.send(msgpack.packb({"op": "get_many", "ids": c, "wait_ms": 60000}))
    done = failed = 0
    for _ in chunks:
        for r in msgpack.unpackb(results.recv())["results"]:
            done += r["state"] == "done"
            failed += r["state"] == "failed"
    secs = time.perf_counter() - t0
    print(json.dumps({"accepted": len(ids), "done": done, "failed": failed,
                      "seconds": round(secs, 3), "tasks_per_s": round(done / secs),
                      "acks_per_s": round(len(ids) / t_ack)}))


def percentile(sorted_us, q):
    return round(sorted_us[min(len(sorted_us) - 1, int(q * len(sorted_us)))]) if sorted_us else None


def transport_p50(bench, ctx, count):
    """p50 of one-at-a-time round trips from pyzmq through the bench's
    forwarder (ROUTER/ROUTER) and echo (DEALER) processes."""
    fwd = subprocess.Popen([bench, "transport-forwarder"], stdout=subprocess.PIPE, text=True)
    front_ep, back_ep = fwd.stdout.readline().split()
    echo = subprocess.Popen([bench, "transport-echo", back_ep])
    s = ctx.socket(zmq.DEALER)
    s.setsockopt(zmq.RCVTIMEO, 10000)
    s.setsockopt(zmq.LINGER, 1000)
    s.connect(front_ep)
    try:
        rtts = []
        for i in range(count + 100):
            t0 = time.perf_counter()
            s.send(b"x" * 64)
            s.recv()
            if i >= 100:  # warm-up left out
                rtts.append((time.perf_counter() - t0) * 1e6)
        s.send(b"STOP")
        s.recv()
    finally:
        s.close()
        for p in (echo, fwd):
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
    rtts.sort()
    return percentile(rtts, 0.5)


def latency(a, front, results):
    """Closed loop: one task at a time, from submit to its result."""
    transport = transport_p50(a.transport, front.context, a.latency) if a.transport else None
    rtts, errors = [], 0
    for i in range(a.latency):
        t0 = time.perf_counter()
        front.send(msgpack.packb({"op": "submit", "script": a.script, "func": a.func,
                                  "type": a.type, "corr": i}))
        ack = msgpack.unpackb(front.recv())
        if ack.get("op") != "accepted":
            errors += 1
            continue
        results.send(msgpack.packb({"op": "get", "id": ack["id"], "wait_ms": 10000}))
        res = msgpack.unpackb(results.recv())
        if res.get("state") != "done":
            errors += 1
            continue
        rtts.append((time.perf_counter() - t0) * 1e6)
    rtts.sort()
    out = {"round_trips": len(rtts), "errors": errors, "p50_us": percentile(rtts, 0.5),
           "p90_us": percentile(rtts, 0.9), "p99_us": percentile(rtts, 0.99), "max_us": percentile(rtts, 1.0)}
    if transport:
        out["transport_p50_us"] = transport
        out["p50_vs_transport"] = round(out["p50_us"] / transport, 2) if out["p50_us"] else None
    print(json.dumps(out))


if __name__ == "__main__":
    main()
