#!/usr/bin/python3
"""Thread hand-offs on the hot path, counted with `perf sched` (issue 14):
runs a command (by default a closed-loop `zfleet-bench latency` on a spawned
fleet of 1 io worker x 1 thread) under `perf sched record -a`, then counts
the wake-ups (sched_waking) one thread gives another, per task, by pair of
thread names. A hand-off is one such wake-up: each costs a cross-thread (and
often cross-CPU) wake, 30 - 35 us here when the target CPU sleeps.

    sudo /usr/bin/python3 benchmarks/py/handoffs.py [--count 5000] [--bench build/bin/zfleet-bench]

Pairs under 0.05 per task (start-up, heartbeats, kernel threads) are
summed as "other". Needs root (or perf_event_paranoid <= -1) and perf.
"""
import argparse
import collections
import os
import re
import subprocess
import tempfile

WAKING = re.compile(r"\s*(.+?)\s+(\d+)/(\d+)\s+sched:sched_waking: comm=(.+?) pid=(\d+)")


def record(cmd, data):
    subprocess.run(["perf", "sched", "record", "-a", "-o", data, "--"] + cmd, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wakes(data):
    out = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,event,trace"],
                         capture_output=True, text=True, check=True).stdout
    pairs = collections.Counter()
    for line in out.splitlines():
        m = WAKING.match(line)
        if m and m.group(3) != m.group(5):     # another thread, not itself
            pairs[(m.group(1).strip(), m.group(4).strip())] += 1
    return pairs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=5000)
    ap.add_argument("--bench", default=os.path.join(os.path.dirname(__file__), "../../build/bin/zfleet-bench"))
    args = ap.parse_args()
    cmd = [args.bench, "--spawn", "--spawn-io", "1x1", "--spawn-cpu", "0", "--no-progress",
           "latency", "--task", "echo", "--count", str(args.count)]
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "perf.data")
        record(cmd, data)
        pairs = wakes(data)
    per = {k: n / args.count for k, n in pairs.items()}
    main_pairs = sorted(((v, k) for k, v in per.items() if v >= 0.05), reverse=True)
    for v, (waker, wakee) in main_pairs:
        print("%6.2f  %s -> %s" % (v, waker, wakee))
    other = sum(v for v in per.values() if v < 0.05)
    print("%6.2f  other" % other)
    print("%6.2f  wake-ups per task in all (pairs >= 0.05: %.2f)" %
          (sum(per.values()), sum(v for v, _ in main_pairs)))


if __name__ == "__main__":
    main()
