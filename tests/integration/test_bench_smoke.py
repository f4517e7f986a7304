"""Smoke run of zfleet-bench (seconds long): the tool works against a real
fleet, its transport mode runs, and the scenarios that start fleets of their
own (--spawn, scaling, suite) run and leave nothing behind. Figures are NOT
checked here, only counts and the shape of the JSON: figures belong to
benchmarks/README.md, measured on a quiet machine."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN_DIR, SOURCE_DIR, FleetTestCase, pid_alive

BENCH = os.path.join(BIN_DIR, "zfleet-bench")
TASKS_DIR = os.path.join(SOURCE_DIR, "config", "tasks")
LATENCY_KEYS = {"p50_us", "p90_us", "p99_us", "p999_us", "max_us"}
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

    def assertLatencyShape(self, lat):
        self.assertEqual(set(lat), LATENCY_KEYS)
        self.assertLessEqual(lat["p50_us"], lat["p99_us"])
        self.assertLessEqual(lat["p99_us"], lat["max_us"])

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

    def test_python_producer_latency(self):
        e = self.fleet.endpoints
        proc = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE_DIR, "benchmarks", "py",
                                                                "producer_bench.py"),
                               "--frontend", e["frontend"], "--results", e["results"],
                               "--latency", "50"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertEqual((out["round_trips"], out["errors"]), (50, 0))
        self.assertLessEqual(out["p50_us"], out["p99_us"])
        self.assertLessEqual(out["p99_us"], out["max_us"])

    def test_transport_limit(self):
        proc = subprocess.run([BENCH, "--json", "transport", "--count", "100"],
                              capture_output=True, text=True, timeout=120)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        out = json.loads(proc.stdout)
        self.assertGreater(out["pipelined_per_s"], 0)
        self.assertGreater(out["round_trip"]["p50_us"], 0)

    def test_rate_open_loop_by_duration(self):
        out = self.bench("rate", "--task", "echo", "--rate", "200", "--duration", "1")
        self.assertEqual(out["scenario"], "rate")
        self.assertEqual(out["count"], 200)
        self.assertEqual((out["accepted"], out["done"], out["lost"], out["errors"]), (200, 200, 0, 0))
        self.assertLatencyShape(out["latency"])
        self.assertLatencyShape(out["send_lag"])
        self.assertNotIn("vs_transport", out)

    def test_rate_python_by_count(self):
        out = self.bench("rate", "--task", "py-noop", "--type", "cpu", "--rate", "500",
                         "--count", "150")
        self.assertEqual((out["count"], out["done"], out["failed"], out["lost"]), (150, 150, 0, 0))

    def test_rate_failed_tasks_are_errors_not_lost(self):
        # py-sleep on a fleet whose script root lacks sleepy.py: every task fails.
        out = self.bench("rate", "--task", "py-sleep:1", "--rate", "500", "--count", "50")
        self.assertEqual((out["done"], out["failed"], out["lost"], out["errors"]), (0, 50, 0, 50))

    def test_vs_transport_keys(self):
        out = self.bench("--vs-transport", "--transport-count", "100", "throughput", "--task",
                         "echo", "--count", "200")
        self.assertEqual(out["done"], 200)
        self.assertGreater(out["transport"]["pipelined_per_s"], 0)
        self.assertLatencyShape(out["transport"]["round_trip"])
        self.assertEqual(set(out["vs_transport"]), {"tasks_per_s"})
        self.assertGreater(out["vs_transport"]["tasks_per_s"], 0)
        lat = self.bench("--vs-transport", "--transport-count", "100", "latency", "--task", "echo",
                         "--count", "20")
        self.assertEqual(set(lat["vs_transport"]), {"p50_us", "p99_us"})
        rate = self.bench("--vs-transport", "--transport-count", "100", "rate", "--task", "echo",
                          "--rate", "500", "--count", "50")
        self.assertEqual(set(rate["vs_transport"]), {"achieved_per_s", "p50_us", "p99_us"})


class BenchSpawnSmoke(unittest.TestCase):
    """Scenarios where the bench starts its own fleets (no harness fleet). Each
    run gets its own TMPDIR, so that afterwards we can check that the fleet's
    directory is gone and no process still runs from it."""

    def spawned(self, *args, expect_rc=0):
        tmp = tempfile.mkdtemp(prefix="zfleet-it-bench-spawn-")
        self.addCleanup(shutil.rmtree, tmp, True)
        env = dict(os.environ, TMPDIR=tmp)
        proc = subprocess.run([BENCH, "--json", "--scripts", TASKS_DIR, *args], capture_output=True,
                              text=True, timeout=240, env=env)
        wanted = expect_rc if isinstance(expect_rc, tuple) else (expect_rc,)
        self.assertIn(proc.returncode, wanted, proc.stdout + proc.stderr)
        self.last_rc = proc.returncode
        self.assertEqual(os.listdir(tmp), [], "the spawned fleet's directory was left behind")
        self.assertEqual(self.processes_using(tmp), [], "a spawned process still runs")
        return json.loads(proc.stdout)

    @staticmethod
    def processes_using(path):
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % entry, "rb") as f:
                    cmdline = f.read()
            except OSError:
                continue
            if path.encode() in cmdline and pid_alive(int(entry)):
                found.append(int(entry))
        return found

    def test_spawn_rate(self):
        out = self.spawned("--spawn-io", "1x2", "--spawn-cpu", "1", "rate", "--task", "py-noop",
                           "--type", "cpu", "--rate", "300", "--count", "60")
        self.assertEqual((out["count"], out["done"], out["lost"], out["errors"]), (60, 60, 0, 0))

    def test_scaling_one_and_two_workers(self):
        out = self.spawned("scaling", "--task", "py-noop", "--type", "cpu", "--workers", "1,2",
                           "--count", "200", "--warmup", "20")
        self.assertEqual(out["scenario"], "scaling")
        self.assertEqual([r["workers"] for r in out["rows"]], [1, 2])
        for row in out["rows"]:
            self.assertEqual((row["accepted"], row["done"], row["failed"], row["lost"]),
                             (200, 200, 0, 0))
            self.assertGreater(row["tasks_per_s"], 0)
        self.assertEqual(out["rows"][0]["speedup"], 1.0)
        self.assertEqual(out["threads_per_worker"], 1)

    def test_scaling_vs_transport(self):
        out = self.spawned("--vs-transport", "--transport-count", "100", "scaling", "--task",
                           "echo", "--workers", "1", "--threads", "2", "--count", "100")
        self.assertEqual(len(out["rows"]), 1)
        self.assertEqual(out["rows"][0]["done"], 100)
        self.assertIn("tasks_per_s", out["rows"][0]["vs_transport"])
        self.assertGreater(out["transport"]["pipelined_per_s"], 0)

    def test_suite(self):
        # Tiny runs miss bars: exit 3 then (0 when all are met), never 1 (lost tasks).
        out = self.spawned("--spawn-io", "1x2", "--spawn-cpu", "1", "--transport-count", "100",
                           "suite", "--count", "400", expect_rc=(0, 3))
        self.assertEqual(out["scenario"], "suite")
        names = [b["name"] for b in out["bars"]]
        self.assertEqual(len(names), 7, names)
        self.assertTrue(any(n.startswith("CPU-bound, 2 workers") for n in names), names)
        cpu = next(b for b in out["bars"] if b["name"].startswith("CPU-bound"))
        self.assertIn("python procs", cpu["bar"])  # judged against the VM's own ceiling
        for bar in out["bars"]:
            self.assertIsInstance(bar["pass"], bool)
            self.assertTrue(bar["measured"] and bar["bar"], bar)
        self.assertEqual(out["all_pass"], all(b["pass"] for b in out["bars"]))
        self.assertEqual(self.last_rc, 0 if out["all_pass"] else 3)

    def test_spawn_defaults_and_threads(self):
        # The broker's own defaults (4 io x 10, 2 cpu x 1): the bench waits for all 6.
        out = self.spawned("--spawn-defaults", "throughput", "--count", "300")
        self.assertEqual(out["done"], 300)
        out = self.spawned("--spawn-io", "1x2", "--spawn-cpu", "0", "--spawn-threads", "3,2",
                           "throughput", "--count", "300")
        self.assertEqual(out["done"], 300)
        bad = subprocess.run([BENCH, "--spawn-threads", "0,1", "throughput", "--count", "10"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(bad.returncode, 2, bad.stderr)   # a usage error, before any fleet starts
        self.assertIn("--spawn-threads", bad.stderr)

    def test_cpu_per_task(self):
        out = self.spawned("--spawn-io", "1x2", "--spawn-cpu", "1", "cpu-per-task", "--task", "echo",
                           "--count", "2000", "--idle", "0.3")
        self.assertEqual(out["scenario"], "cpu-per-task")
        self.assertEqual(out["done"], 2000)
        self.assertEqual([p["name"] for p in out["processes"]], ["bench", "broker", "workers"])
        self.assertAlmostEqual(out["us_per_task"], sum(p["us_per_task"] for p in out["processes"]), delta=0.05)
        self.assertGreater(out["us_per_task"], 0)
        self.assertEqual(out["bar_us"], 30)
        self.assertEqual(out["pass"], out["us_per_task"] < 30)
        for p in out["processes"]:
            self.assertGreaterEqual(p["idle_wakeups_per_s"], 0)

    def test_broker_start_failure_is_reported_and_cleaned(self):
        # 300 io processes is out of range: the broker refuses its config.
        tmp = tempfile.mkdtemp(prefix="zfleet-it-bench-spawn-")
        self.addCleanup(shutil.rmtree, tmp, True)
        proc = subprocess.run([BENCH, "--spawn-io", "300", "throughput", "--count", "10"],
                              capture_output=True, text=True, timeout=60,
                              env=dict(os.environ, TMPDIR=tmp))
        self.assertEqual(proc.returncode, 1, proc.stderr)
        self.assertIn("workers.io.processes", proc.stderr)   # the broker's log tail
        self.assertEqual(os.listdir(tmp), [])

    def test_malformed_worker_group_is_refused(self):
        proc = subprocess.run([BENCH, "--spawn-io", "2y8", "throughput", "--count", "10"],
                              capture_output=True, text=True, timeout=60)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("2y8", proc.stderr)
