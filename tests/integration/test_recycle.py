"""Worker recycling (issue 12, point 5; worker/recycler.h, worker.h):
max_tasks_per_process and max_rss_mb. A worker past its limit takes no new
task, gives the tasks it holds but has not started back to the broker
(RETURN), finishes the running ones and exits with code 77; the broker's
supervisor starts a fresh one at once and logs that it was recycled. No
task is lost or failed on the way, and no process runs more than its
share.

Whole fleets (MaxTasks, MaxRss), and one worker against the test's
FakeBroker (LinkLevel) for the exact messages: BYE, a RETURN per unstarted
task (also for a TASK that arrives after the BYE), RESULTs for the started
ones only, exit 77 after BYE_ACK."""
import collections
import os
import time
import unittest

from harness import FleetTestCase, poll, unpack
from test_worker_cancel import FakeBroker

RECYCLED_EXIT = 77   # common/exit_codes.h kExitRecycled

SCRIPTS = {
    "pid.py": """
        import os
        import time

        _hog = []

        def main(ms=0):
            if ms:
                time.sleep(ms / 1000.0)
            return os.getpid()

        def grow(mb):
            # Written, so the pages are resident (a zero-filled bytearray
            # would be mapped lazily and cost no RSS).
            _hog.append(b"\\xff" * (mb << 20))
            return os.getpid()
    """,
}

RECYCLED = "recycled"


class MaxTasks(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 0}, "cpu": {"processes": 0},
                          "pools": {"rec": {"processes": 1, "threads": 2,
                                            "max_tasks_per_process": 5}}},
                 scripts=SCRIPTS)

    def test_50_tasks_on_a_pool_recycled_every_5_tasks(self):
        started = time.monotonic()
        ids = [self.client.submit_ok("pid.py", [i % 3], type="rec") for i in range(50)]
        results = self.client.wait_many(ids, timeout_s=120)
        took = time.monotonic() - started
        states = collections.Counter(r["state"] for r in results)
        self.assertEqual(states, {"done": 50}, [r for r in results if r["state"] != "done"][:3])
        per_pid = collections.Counter(r["result"] for r in results)
        self.assertGreaterEqual(len(per_pid), 10, per_pid)
        self.assertLessEqual(max(per_pid.values()), 5, per_pid)
        # Tasks given back unstarted ran elsewhere as their first attempt.
        self.assertEqual({r["attempts"] for r in results}, {1})
        st = poll(self.client.status, lambda s: s["local_workers"][0]["restarts"] >= 9, timeout_s=30)
        (lw,) = st["local_workers"]
        self.assertEqual(lw["last_exit"], RECYCLED, lw)
        # A recycled worker is logged as having left once the broker stops
        # hearing from it (its liveness deadline), which may come after the
        # last restart on a fast run: wait for that line, do not race it.
        log = poll(lambda: self.fleet.log_tail(2000), lambda l: " has left (" in l, timeout_s=30)
        self.assertIn("recycling this worker: started 5 tasks (max_tasks_per_process 5)", log)
        self.assertIn("was recycled (max_tasks_per_process or max_rss_mb); restarting now", log)
        # A recycled worker said BYE and left with nothing in flight: when the
        # broker later stops hearing from it, it holds no task to requeue and
        # is logged as having left, not lost.
        lost = [l for l in log.splitlines() if " lost (" in l]
        self.assertEqual(lost, [])
        self.assertIn(" has left (", log)
        print("\n[recycle] 50 tasks over %d processes (max_tasks_per_process 5) in %.1f s"
              % (len(per_pid), took))


# An ASan worker starts at about 65 MiB (shadow memory), so in the ASan
# build (tests/CMakeLists.txt sets ZFLEET_SANITIZE) the cap and the hog are
# scaled up: the cap must sit between a fresh worker and one with the hog.
SANITIZED = os.environ.get("ZFLEET_SANITIZE") == "address"
MAX_RSS_MB = 400 if SANITIZED else 40
HOG_MB = 600 if SANITIZED else 60


class MaxRss(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 0}, "cpu": {"processes": 0},
                          "pools": {"mem": {"processes": 1, "threads": 2,
                                            "max_rss_mb": MAX_RSS_MB}}},
                 scripts=SCRIPTS)

    def test_worker_over_max_rss_is_recycled_and_no_task_is_lost(self):
        first = self.client.run("pid.py", type="mem")
        self.assertDone(first)
        ids = [self.client.submit_ok("pid.py", [HOG_MB], func="grow", type="mem")]
        ids += [self.client.submit_ok("pid.py", [20], type="mem") for _ in range(30)]
        results = self.client.wait_many(ids, timeout_s=60)
        self.assertEqual([r["state"] for r in results], ["done"] * len(ids),
                         [r for r in results if r["state"] != "done"][:3])
        hog_pid = results[0]["result"]
        self.assertEqual(hog_pid, first["result"])
        st = poll(self.client.status, lambda s: s["local_workers"][0]["restarts"] >= 1, timeout_s=30)
        (lw,) = st["local_workers"]
        self.assertEqual(lw["last_exit"], RECYCLED, lw)
        self.assertNotEqual(lw["pid"], hog_pid)
        # The fresh process (no hog) serves and is not recycled again.
        after = [self.client.run("pid.py", type="mem")["result"] for _ in range(5)]
        self.assertEqual(set(after), {lw["pid"]})
        self.assertEqual(self.client.status()["local_workers"][0]["restarts"], lw["restarts"])
        self.assertRegex(self.fleet.log_tail(400),
                         r"recycling this worker: resident memory \d+ MiB is over max_rss_mb %d" % MAX_RSS_MB)


class LinkLevel(unittest.TestCase):
    def test_unstarted_tasks_are_returned_and_the_worker_exits_77(self):
        b = FakeBroker("recycle")
        self.addCleanup(b.close)
        b.start_worker(threads=1, extra=("--max-tasks", "2"))
        sent = [b.send_task("builtin:sleep", [150]) for _ in range(6)]
        b.expect("B", timeout_s=10)
        mark = len(b.seen)
        late = b.send_task("builtin:echo", ["late"])   # sent before the broker read the BYE
        b.expect("N", timeout_s=10, pred=lambda f: unpack(f[1]) == late, since=mark)
        b.bye_ack()
        self.assertEqual(b.wait_exit(15), RECYCLED_EXIT, b.log_tail())
        b.idle(0.1)
        returned = sorted(unpack(f[1]) for c, f, _ in b.seen if c == "N")
        answered = sorted(d for d in sent + [late] if b.results(d))
        self.assertEqual(answered, sent[:2], b.log_tail())
        self.assertEqual(returned, sent[2:] + [late])
        for d in sent[:2]:
            self.assertTrue(b.result(d)["ok"])
        self.assertIn("recycling this worker: started 2 tasks", b.log_tail())


if __name__ == "__main__":
    import unittest
    unittest.main()
