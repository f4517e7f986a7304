"""Adaptive pools (issue 15): a pool with min_processes / max_processes grows
with the load and shrinks after it, on real broker and worker processes.

- a burst of sleep tasks grows the pool from min to max, and it shrinks back
  to min after the burst; every task is done exactly once (attempt 1), and
  `status` shows processes, min, max and the last decision with its reason;
- a scale-down while tasks still run on the retired process loses, retries
  and interrupts nothing: the process finishes what it holds, then leaves;
- a scale-down racing a burst is cancelled: the draining process, still
  running its task, takes tasks again and is not stopped;
- two pools wanting to grow under workers.max_total_processes never run
  more processes together than the cap, and both get their share;
- bad values refuse to start, naming file, line and key.
"""
import collections
import os
import shutil
import subprocess
import threading
import time
import urllib.request

import prom_check

from harness import BIN_DIR, BROKER_BIN, Fleet, FleetTestCase, free_ports, poll

FAST = {"heartbeat_ms": 100, "liveness": 4, "io": {"processes": 0}, "cpu": {"processes": 0}}


def adaptive(min_p, max_p, threads=2, up_ms=150, down_ms=800, cooldown_ms=200):
    return {"min_processes": min_p, "max_processes": max_p, "threads": threads,
            "scale_up_after_ms": up_ms, "scale_down_after_ms": down_ms, "cooldown_ms": cooldown_ms}


class AdaptiveTestCase(FleetTestCase):
    FLEET = None

    def pool(self, st, name):
        return st["queues"][name]

    def processes_seen(self, client, pool, stop, out):
        """Samples the pool's process count until `stop` is set (a thread)."""
        while not stop.is_set():
            try:
                out.append(self.pool(client.status(), pool)["processes"])
            except Exception:   # the broker may be stopping
                pass
            time.sleep(0.05)

    def assert_all_done_once(self, results):
        self.assertEqual(collections.Counter(r["state"] for r in results), {"done": len(results)},
                         [r for r in results if r["state"] != "done"][:3])
        self.assertEqual({r["attempts"] for r in results}, {1})


class BurstGrowsAndShrinks(AdaptiveTestCase):
    def test_burst_grows_to_max_then_back_to_min(self):
        metrics = "127.0.0.1:%d" % free_ports(1)[0]
        fleet = self.new_fleet(workers=dict(FAST, pools={"web": adaptive(1, 3)}), ready_workers=1,
                               broker={"metrics": metrics})
        c = fleet.client()
        st = c.status()
        web = self.pool(st, "web")
        self.assertEqual((web["processes"], web["min_processes"], web["max_processes"]), (1, 1, 3), web)
        self.assertNotIn("last_scaling", web)
        seen, stop = [], threading.Event()
        sampler = threading.Thread(target=self.processes_seen, args=(fleet.client(), "web", stop, seen))
        sampler.start()
        self.addCleanup(lambda: (stop.set(), sampler.join(5)))
        ids = [c.submit_ok("builtin:sleep", [100], type="web") for _ in range(120)]
        results = c.wait_many(ids, timeout_s=60)
        self.assert_all_done_once(results)
        workers = collections.Counter(r["worker"] for r in results)
        self.assertGreaterEqual(len(workers), 3, workers)   # the burst ran on 3 processes
        up = poll(c.status, lambda s: self.pool(s, "web")["processes"] == 1, timeout_s=20)
        stop.set()
        sampler.join(5)
        self.assertEqual(max(seen), 3, seen)
        self.assertLessEqual(max(seen), 3)
        web = self.pool(up, "web")
        self.assertEqual(web["processes"], 1, web)
        last = web["last_scaling"]
        self.assertEqual((last["from"], last["to"]), (2, 1), last)
        self.assertTrue(last["reason"].startswith("down: "), last)
        self.assertIn("fit in one process fewer", last["reason"])
        self.assertGreater(last["at_ms"], 1_600_000_000_000)
        log = fleet.log_tail(3000)
        self.assertIn("pool web: scaling up 1 -> 2 processes", log)
        self.assertIn("pool web: scaling up 2 -> 3 processes", log)
        self.assertIn("slots busy, oldest queued task waited", log)
        self.assertIn("pool web: scaling down 3 -> 2 processes", log)
        self.assertIn("pool web: scaling down 2 -> 1 processes", log)
        self.assertEqual([l for l in log.splitlines() if " lost (" in l], [])
        # Retired processes are not restarted: once the broker has seen the
        # last one leave (at its liveness deadline), one web worker is alive.
        alive_web = lambda s: [w for w in s["workers"] if w["alive"] and w["type"] == "web"]
        st = poll(c.status, lambda s: len(alive_web(s)) == 1, timeout_s=10)
        self.assertEqual(len(alive_web(st)), 1, st["workers"])
        time.sleep(1.0)
        self.assertEqual(len(alive_web(c.status())), 1)
        self.assertEqual(st["tasks"]["retried"], 0)
        # The CLI's status table shows them too.
        out = subprocess.run([os.path.join(BIN_DIR, "zfleet"), "--results", fleet.endpoints["results"], "status"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, text=True)
        self.assertEqual(out.returncode, 0, out.stderr)
        row = next(l for l in out.stdout.splitlines() if l.startswith("web "))
        self.assertTrue(row.endswith("1 (1-3)"), row)
        self.assertIn("  web: 2 -> 1 processes, down: ", out.stdout)
        # The same figures in /metrics.
        with urllib.request.urlopen("http://%s/metrics" % metrics, timeout=10) as r:
            fams = prom_check.parse(r.read().decode("utf-8"))
        self.assertEqual(prom_check.value(fams, "zfleet_pool_processes", pool="web"), 1)
        self.assertEqual(prom_check.value(fams, "zfleet_pool_min_processes", pool="web"), 1)
        self.assertEqual(prom_check.value(fams, "zfleet_pool_max_processes", pool="web"), 3)
        self.assertEqual(prom_check.value(fams, "zfleet_pool_scaling_total", pool="web", direction="up"), 2)
        self.assertEqual(prom_check.value(fams, "zfleet_pool_scaling_total", pool="web", direction="down"), 2)


class ScaleDownUnderLoad(AdaptiveTestCase):
    def test_retired_process_finishes_what_it_holds(self):
        # Grown to 2 by a burst, then a trickle of long tasks that fits in
        # one process: the scale-down drains a process that still runs some.
        fleet = self.new_fleet(workers=dict(FAST, pools={"web": adaptive(1, 2, threads=4, up_ms=100,
                                                                          down_ms=400, cooldown_ms=100)}),
                               ready_workers=1)
        c = fleet.client()
        burst = [c.submit_ok("builtin:sleep", [150], type="web") for _ in range(60)]
        poll(c.status, lambda s: self.pool(s, "web")["processes"] == 2, timeout_s=20)
        trickle = []
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            trickle.append(c.submit_ok("builtin:sleep", [700], type="web"))
            time.sleep(0.35)
        results = c.wait_many(burst + trickle, timeout_s=60)
        self.assert_all_done_once(results)
        st = poll(c.status, lambda s: self.pool(s, "web")["processes"] == 1, timeout_s=20)
        self.assertEqual(st["tasks"]["retried"], 0)
        self.assertEqual(st["tasks"]["failed"], 0)
        log = fleet.log_tail(3000)
        retiring = [l for l in log.splitlines() if "retiring for a scale-down" in l]
        self.assertTrue(retiring, log[-2000:])
        self.assertIn("retired (exited with code 0): scale-down done", log)
        self.assertEqual([l for l in log.splitlines() if " lost (" in l], [])
        print("\n[adaptive] %s" % retiring[0].split("] ", 1)[-1])


class DrainCancelledByBurst(AdaptiveTestCase):
    def test_scale_down_racing_a_burst_is_cancelled(self):
        # down_ms leaves the long tasks below time to land on both processes
        # before the drain; they run for 8 s, far longer than the test needs.
        fleet = self.new_fleet(workers=dict(FAST, pools={"web": adaptive(1, 2, threads=2, up_ms=100,
                                                                          down_ms=1500, cooldown_ms=100)}),
                               ready_workers=1)
        c = fleet.client()
        warm = [c.submit_ok("builtin:sleep", [300], type="web") for _ in range(12)]
        poll(c.status, lambda s: self.pool(s, "web")["processes"] == 2, timeout_s=20)
        self.assert_all_done_once(c.wait_many(warm, timeout_s=30))
        poll(c.status, lambda s: len([w for w in s["workers"] if w["alive"] and w["type"] == "web"]) == 2,
             timeout_s=20)
        # One long task on each process: 2 busy slots of 4 fit in one process
        # fewer, so a drain starts, but its process still runs its task.
        long_ids = [c.submit_ok("builtin:sleep", [8000], type="web") for _ in range(2)]
        poll(lambda: fleet.log_tail(400), lambda l: "retiring for a scale-down" in l, timeout_s=15)
        self.assertIn("retiring for a scale-down: no new tasks (1 tasks in flight)", fleet.log_tail(400))
        # The burst: the one process still taking tasks fills up and tasks wait.
        burst = [c.submit_ok("builtin:sleep", [200], type="web") for _ in range(30)]
        log = poll(lambda: fleet.log_tail(600), lambda l: "kept: scale-down cancelled" in l, timeout_s=15)
        self.assertIn("pool web: scale-down cancelled: ", log)
        results = c.wait_many(long_ids + burst, timeout_s=60)
        self.assert_all_done_once(results)
        # Both processes ran burst tasks: the drained one went back to work.
        self.assertEqual(len({r["worker"] for r in results[2:]}), 2, results)
        log = fleet.log_tail(2000)
        self.assertNotIn("telling it to stop (scale-down)", log.split("kept: scale-down cancelled")[0])
        self.assertEqual([l for l in log.splitlines() if " lost (" in l], [])
        st = c.status()
        self.assertEqual(st["tasks"]["retried"], 0)


class CapAcrossPools(AdaptiveTestCase):
    def test_two_busy_pools_share_max_total_processes(self):
        pools = {"a": adaptive(1, 3, threads=1, down_ms=5000), "b": adaptive(1, 3, threads=1, down_ms=5000)}
        fleet = self.new_fleet(workers=dict(FAST, pools=pools, max_total_processes=4), ready_workers=2)
        c = fleet.client()
        seen, stop = [], threading.Event()

        def sample(client=fleet.client()):
            while not stop.is_set():
                q = client.status()["queues"]
                seen.append((q["a"]["processes"], q["b"]["processes"]))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        self.addCleanup(lambda: (stop.set(), sampler.join(5)))
        ids = []
        for _ in range(40):
            ids.append(c.submit_ok("builtin:sleep", [100], type="a"))
            ids.append(c.submit_ok("builtin:sleep", [100], type="b"))
        results = c.wait_many(ids, timeout_s=60)
        stop.set()
        sampler.join(5)
        self.assert_all_done_once(results)
        self.assertLessEqual(max(a + b for a, b in seen), 4, seen)
        self.assertEqual(max(a + b for a, b in seen), 4, seen)   # the cap was used
        self.assertGreaterEqual(max(a for a, _ in seen), 2, seen)  # both pools grew
        self.assertGreaterEqual(max(b for _, b in seen), 2, seen)


class ConfigErrors(AdaptiveTestCase):
    def refused(self, workers):
        fleet = Fleet(workers=workers, name="adaptive-bad")
        self.addCleanup(shutil.rmtree, fleet.dir, True)
        fleet._write_config(free_ports(4))
        proc = subprocess.run([BROKER_BIN, "--config", fleet.config_path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
        return proc.returncode, proc.stderr.decode(errors="replace")

    def test_bad_values_name_file_line_and_key(self):
        cases = [
            (dict(FAST, pools={"web": {"processes": 2, "min_processes": 1, "max_processes": 3}}),
             "workers.pools.web.min_processes: a pool takes either `processes` (fixed) or "
             "min_processes/max_processes (adaptive), not both"),
            (dict(FAST, pools={"web": {"min_processes": 4, "max_processes": 2}}),
             "workers.pools.web.min_processes: is 4, more than max_processes (2)"),
            (dict(FAST, pools={"web": {"min_processes": -1, "max_processes": 2}}),
             "workers.pools.web.min_processes: must be >= 0 (got -1)"),
            (dict(FAST, pools={"a": adaptive(2, 3), "b": adaptive(2, 3)}, max_total_processes=3),
             "workers.max_total_processes: is 3, under the 4 processes"),
        ]
        for workers, message in cases:
            with self.subTest(message=message):
                rc, out = self.refused(workers)
                self.assertEqual(rc, 2, out)
                self.assertRegex(out, r"fleet\.yaml:\d+: " + message.replace("(", r"\(").replace(")", r"\)"))
