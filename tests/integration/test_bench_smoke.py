"""Smoke run of zfleet-bench (seconds long): the tool works against a real
fleet and its transport mode runs. Figures are NOT checked here: they belong
to benchmarks/README.md, measured on a quiet machine."""
import json
import os
import subprocess

from harness import BIN_DIR, SOURCE_DIR, FleetTestCase

BENCH = os.path.join(BIN_DIR, "zfleet-bench")
with open(os.path.join(SOURCE_DIR, "config", "tasks", "math_ops.py")) as f:
    MATH_OPS = f.read()


class BenchSmoke(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 1, "threads": 1}},
                 scripts={"math_ops.py": MATH_OPS})

    def bench(self, *args):
        e = self.fleet.endpoints
        proc = subprocess.run([BENCH, "--json", "--frontend", e["frontend"], "--results", e["results"],
                               *args], capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
        return json.loads(proc.stdout)

    def test_throughput_echo(self):
        out = self.bench("throughput", "--task", "echo", "--count", "500", "--batch", "50")
        self.assertEqual((out["accepted"], out["done"], out["lost"]), (500, 500, 0))
        self.assertGreater(out["tasks_per_s"], 0)

    def test_throughput_python_noop_plain_submits(self):
        out = self.bench("throughput", "--task", "py-noop", "--type", "cpu", "--count", "300",
                         "--batch", "1", "--window", "16")
        self.assertEqual((out["accepted"], out["done"], out["failed"]), (300, 300, 0))

    def test_balance(self):
        out = self.bench("balance", "--task", "sleep:2", "--count", "100")
        self.assertEqual(out["done"], 100)
        self.assertEqual(sum(out["workers"].values()), 100)

    def test_latency(self):
        out = self.bench("latency", "--task", "echo", "--count", "50")
        self.assertEqual(out["errors"], 0)
        rt = out["round_trip"]
        self.assertLessEqual(rt["p50_us"], rt["p99_us"])
        self.assertLessEqual(rt["p99_us"], rt["max_us"])

    def test_python_producer_bench(self):
        e = self.fleet.endpoints
        proc = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE_DIR, "benchmarks", "py",
                                                                "producer_bench.py"),
                               "--frontend", e["frontend"], "--results", e["results"],
                               "--count", "300", "--window", "32"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual((out["accepted"], out["done"], out["failed"]), (300, 300, 0))

    def test_transport_limit(self):
        proc = subprocess.run([BENCH, "--json", "transport", "--count", "100"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertGreater(out["pipelined_per_s"], 0)
        self.assertGreater(out["round_trip"]["p50_us"], 0)
