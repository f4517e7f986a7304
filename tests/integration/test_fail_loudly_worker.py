"""Fail loudly, worker side (defect 5; DESIGN decision 9): a worker whose I/O
thread or a pool thread dies exits at once with code 70, so its supervisor
starts a fresh one, instead of living on with no heartbeats or a slot that
never answers. The death is injected with ZFLEET_FAULT (common/fail_loudly.h)
into a real zfleet-worker driven by the test's FakeBroker
(test_worker_cancel.py).
"""
import time
import unittest

from test_worker_cancel import FakeBroker

THREAD_DIED_EXIT = 70   # common/fail_loudly.h kThreadDiedExit


class FailLoudlyWorker(unittest.TestCase):
    def start(self, fault, after):
        b = FakeBroker("fail-loudly")
        self.addCleanup(b.close)
        b.start_worker(threads=2, heartbeat_ms=20,
                       env={"ZFLEET_FAULT": fault, "ZFLEET_FAULT_AFTER": str(after)})
        return b

    def test_io_thread_fault_exits_70(self):
        # The I/O loop reaches the fault point once per pass (at least one
        # per 20 ms heartbeat): the 51st pass throws.
        b = self.start("worker-io", 50)
        deadline = time.monotonic() + 15
        while b.proc.poll() is None and time.monotonic() < deadline:
            b.idle(0.05)   # reading heartbeats meanwhile
        self.assertEqual(b.wait_exit(1), THREAD_DIED_EXIT, b.log_tail())
        log = b.log_tail()
        self.assertIn("worker I/O thread failed", log)
        self.assertIn("injected fault at worker-io", log)
        # It served until then: heartbeats came.
        self.assertGreater(len(b.heartbeats), 0)

    def test_pool_thread_fault_exits_70(self):
        b = self.start("worker-pool", 2)
        for i in range(2):   # the first two tasks run normally
            d = b.send_task("builtin:echo", [i])
            self.assertEqual(b.result(d)["result"], i)
        self.assertIsNone(b.proc.poll())
        doomed = b.send_task("builtin:echo", ["never answered"])
        self.assertEqual(b.wait_exit(10), THREAD_DIED_EXIT, b.log_tail())
        b.idle(0.1)
        self.assertEqual(b.results(doomed), [])
        log = b.log_tail()
        self.assertIn("pool thread", log)
        self.assertIn("injected fault at worker-pool", log)


if __name__ == "__main__":
    unittest.main()
