#!/usr/bin/python3
"""Broker memory per queued or delayed task: starts its own broker with no
workers on free loopback ports, reads its VmRSS, submits N builtin:echo
tasks in batches of 1000 (with --delay-ms, as delayed tasks), reads VmRSS
again, and prints one JSON line with the bytes per task. Stops the broker.

    /usr/bin/python3 benchmarks/py/memory_per_task.py [--count 1000000]
        [--delay-ms 0] [--broker build/bin/zfleet-broker]

The bar (benchmarks/README.md, "Bars"): under 300 bytes of broker memory per queued small task.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import msgpack
import zmq

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers"))
from common import free_ports  # noqa: E402  (the peers benchmark's helper)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def main():
    root = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--delay-ms", type=int, default=0)
    ap.add_argument("--broker", default=os.path.join(root, "build", "bin", "zfleet-broker"))
    a = ap.parse_args()

    ports = free_ports(4)
    eps = {n: "tcp://127.0.0.1:%d" % p
           for n, p in zip(("frontend", "results", "backend", "status"), ports)}
    argv = [a.broker, "--io-processes", "0", "--cpu-processes", "0", "--log-level", "warn"]
    for n, ep in eps.items():
        argv += ["--" + n, ep]
    log = tempfile.TemporaryFile()
    broker = subprocess.Popen(argv, stdout=log, stderr=log)
    try:
        ctx = zmq.Context()
        results = ctx.socket(zmq.REQ)
        results.setsockopt(zmq.RCVTIMEO, 10000)
        results.connect(eps["results"])
        results.send(msgpack.packb({"op": "status"}))
        results.recv()
        time.sleep(0.5)
        before = rss_bytes(broker.pid)
        front = ctx.socket(zmq.DEALER)
        front.setsockopt(zmq.RCVTIMEO, 60000)
        front.connect(eps["frontend"])
        task = {"script": "builtin:echo", "args": [1]}
        if a.delay_ms:
            task["delay_ms"] = a.delay_ms
        accepted, batch, inflight = 0, 1000, 0
        sent = 0
        while sent < a.count or inflight:
            while sent < a.count and inflight < 8:
                n = min(batch, a.count - sent)
                front.send(msgpack.packb({"op": "submit_batch", "tasks": [task] * n}))
                sent += n
                inflight += 1
            reply = msgpack.unpackb(front.recv_multipart()[-1])
            inflight -= 1
            accepted += sum(1 for i in reply.get("ids", []) if i is not None)
        time.sleep(1.0)
        after = rss_bytes(broker.pid)
        results.send(msgpack.packb({"op": "status"}))
        st = msgpack.unpackb(results.recv())
        print(json.dumps({"count": a.count, "delay_ms": a.delay_ms, "accepted": accepted,
                          "queued": st["queues"]["io"]["depth"],
                          "delayed": st["queues"]["io"].get("delayed", 0),
                          "rss_before": before, "rss_after": after,
                          "bytes_per_task": round((after - before) / max(1, accepted), 1)}))
    finally:
        broker.send_signal(signal.SIGKILL)
        broker.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
