"""Defect 9: restart backoff starved a pool (broker/restart_policy.h).

After a burst of kill -9 on healthy local workers, every slot sat in
crash-loop backoff with no worker running for 34 s while tasks waited, and
`crash_looping` stayed true once the workers were healthy again. Now a
worker that was up past its start-up window (2 s) is restarted at once, and
`crash_looping` clears as soon as a restarted worker outlives that window.
(A worker that dies during start-up still backs off: test_faults.CrashLoop.)
"""
import os
import signal
import sys
import time

from harness import FleetTestCase, kill_quietly, poll

FAST_LIVENESS = {"heartbeat_ms": 100, "liveness": 4}
STARTUP_WINDOW_S = 2.0        # RestartPolicy::kStartupWindowUs
BACK_WITHIN_S = 2.0           # a killed healthy worker serves again within this


def live_pids(st):
    return {w["pid"] for w in st["workers"] if w["alive"]}


def all_back(st, old_pids):
    """Every local slot runs a new process that has registered with the broker."""
    slots = st["local_workers"]
    return all(lw["pid"] and lw["pid"] not in old_pids and lw["pid"] in live_pids(st)
               for lw in slots)


class KillHealthyWorkers(FleetTestCase):
    FLEET = dict(workers=dict(FAST_LIVENESS, io={"processes": 2, "threads": 2},
                              cpu={"processes": 1, "threads": 1}))

    def test_healthy_workers_killed_five_times_come_back_at_once(self):
        client = self.client
        rounds, slowest = 5, 0.0
        for n in range(1, rounds + 1):
            st = client.status()
            victims = {lw["pid"] for lw in st["local_workers"]}
            self.assertNotIn(0, victims, st["local_workers"])
            time.sleep(STARTUP_WINDOW_S + 0.5)          # all up past their start-up window
            for pid in victims:
                kill_quietly(pid, signal.SIGKILL)
            killed_at = time.monotonic()
            io_task = client.submit_ok("builtin:echo", ["io round %d" % n])
            cpu_task = client.submit_ok("builtin:echo", ["cpu round %d" % n], type="cpu")

            st = poll(client.status, lambda s: all_back(s, victims), timeout_s=10, interval_s=0.02)
            back_after = time.monotonic() - killed_at
            slowest = max(slowest, back_after)
            self.assertTrue(all_back(st, victims), (n, st["local_workers"], st["workers"]))
            self.assertLess(back_after, BACK_WITHIN_S,
                            "round %d: workers back only after %.2f s" % (n, back_after))
            for tid, value in ((io_task, "io round %d" % n), (cpu_task, "cpu round %d" % n)):
                self.assertDone(client.wait(tid, timeout_s=10), value)
            for lw in st["local_workers"]:
                self.assertEqual(lw["restarts"], n, lw)
                self.assertEqual(lw["last_exit"], "killed by signal 9", lw)
                self.assertFalse(lw["crash_looping"], lw)

        st = client.status()
        self.assertEqual([lw["crash_looping"] for lw in st["local_workers"]], [False] * 3)
        self.assertEqual([lw["restarts"] for lw in st["local_workers"]], [rounds] * 3)
        sys.stderr.write("\n[supervisor] %d rounds of kill -9 on 3 healthy workers: back "
                         "within %.2f s at worst\n" % (rounds, slowest))


class CrashLoopClears(FleetTestCase):
    FLEET = dict(workers=dict(FAST_LIVENESS, io={"processes": 1, "threads": 2},
                              cpu={"processes": 0}))

    def test_crash_looping_clears_once_a_restart_survives_start_up(self):
        client = self.client
        # Kill each new process of the slot as soon as it shows up, five times
        # in a row: five start-up deaths, so the slot is crash-looping.
        seen = set()
        deadline = time.monotonic() + 30
        st = client.status()
        while not st["local_workers"][0]["crash_looping"] and time.monotonic() < deadline:
            pid = st["local_workers"][0]["pid"]
            if pid and pid not in seen:
                seen.add(pid)
                kill_quietly(pid, signal.SIGKILL)
            time.sleep(0.01)
            st = client.status()
        (lw,) = st["local_workers"]
        self.assertTrue(lw["crash_looping"], lw)
        self.assertEqual(lw["last_exit"], "killed by signal 9", lw)
        looping_since = time.monotonic()

        # The next process is left alone: once it outlives its start-up
        # window, the flag clears while it runs (it does not have to die).
        st = poll(client.status, lambda s: not s["local_workers"][0]["crash_looping"],
                  timeout_s=20)
        (lw,) = st["local_workers"]
        self.assertFalse(lw["crash_looping"], lw)
        self.assertNotIn(lw["pid"], seen)
        self.assertTrue(lw["pid"] and os.path.exists("/proc/%d" % lw["pid"]), lw)
        self.assertIn(lw["pid"], live_pids(st), st["workers"])
        self.assertDone(client.run("builtin:echo", ["after the loop"]), "after the loop")
        sys.stderr.write("\n[supervisor] crash loop after %d start-up kills, cleared %.1f s later "
                         "with the worker running\n" % (len(seen), time.monotonic() - looping_since))
