"""A stopping worker does not ignore tasks already sent to it (defect 4).

A real zfleet-worker against the test's FakeBroker (test_worker_cancel.py).
On SIGTERM the worker says BYE and keeps reading the backend: TASKs the
broker sent before it handled the BYE still run and get real RESULTs, CANCEL
is still honoured, heartbeats go on, and the worker exits 0 only once
BYE_ACK has come and every task it holds has been answered. A BYE that is
never acknowledged still ends within --drain-timeout-ms. After a RESYNC a
stopping worker registers again and repeats its BYE. The broker's STOP
starts the same drain, and the whole process exits 0 after it.

(The real broker's side of defect 4 is tested with a whole fleet in
test_lifecycle_defects.py.)
"""
import signal
import time
import unittest

from test_worker_cancel import FakeBroker


class WorkerDrain(unittest.TestCase):
    def start(self, threads=2, extra=()):
        b = FakeBroker("drain")
        self.addCleanup(b.close)
        b.start_worker(threads=threads, extra=extra)
        return b

    def stop_and_expect_bye(self, b):
        b.proc.send_signal(signal.SIGTERM)
        b.expect("B", timeout_s=10)
        return len(b.seen)

    def test_tasks_sent_before_bye_ack_all_run_then_exit_0(self):
        b = self.start(threads=2)
        running = b.send_task("builtin:sleep", [300])
        b.idle(0.1)
        self.stop_and_expect_bye(b)
        # The worker keeps waiting for the acknowledgement, heartbeating.
        hb_before = len(b.heartbeats)
        b.idle(0.5)
        self.assertIsNone(b.proc.poll(), "exited without BYE_ACK: " + b.log_tail())
        self.assertGreater(len(b.heartbeats), hb_before, "no heartbeat while draining")
        # Tasks the broker sent before it handled the BYE (more than the
        # threads, so some wait in the worker's queue).
        late = [b.send_task("builtin:echo", ["late-%d" % i]) for i in range(3)]
        late += [b.send_task("builtin:sleep", [200]) for _ in range(3)]
        b.bye_ack()
        for d in [running] + late:
            res = b.result(d, timeout_s=10)
            self.assertTrue(res["ok"], res)
        self.assertEqual([b.result(d)["result"] for d in late[:3]], ["late-0", "late-1", "late-2"])
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())
        for d in [running] + late:
            self.assertEqual(len(b.results(d)), 1, d)

    def test_held_task_delays_the_exit_past_bye_ack(self):
        b = self.start(threads=1)
        self.stop_and_expect_bye(b)
        d = b.send_task("builtin:sleep", [700])
        b.bye_ack()
        b.idle(0.3)
        self.assertIsNone(b.proc.poll(), "exited with a task unanswered: " + b.log_tail())
        self.assertTrue(b.result(d, timeout_s=10)["ok"])
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())

    def test_cancel_is_honoured_while_draining(self):
        b = self.start(threads=1)
        self.stop_and_expect_bye(b)
        running = b.send_task("builtin:sleep", [60000])
        queued = b.send_task("builtin:echo", ["never"])
        b.idle(0.2)
        b.cancel(queued)
        b.cancel(running)
        b.bye_ack()
        self.assertEqual(b.result(queued, timeout_s=5)["error"]["code"], "cancelled")
        self.assertEqual(b.result(running, timeout_s=5)["error"]["code"], "cancelled")
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())

    def test_unacknowledged_bye_ends_within_the_drain_timeout(self):
        b = self.start(threads=1, extra=("--drain-timeout-ms", "1500"))
        b.proc.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        b.expect("B", timeout_s=10)
        b.idle(0.5)
        self.assertIsNone(b.proc.poll(), "did not wait for BYE_ACK: " + b.log_tail())
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())
        self.assertLess(time.monotonic() - sent, 6.0)
        self.assertIn("drain timeout", b.log_tail())

    def test_broker_stop_drains_like_sigterm_and_the_process_exits_0(self):
        b = self.start(threads=1)
        d = b.send_task("builtin:sleep", [300])
        b.idle(0.05)
        b.stop()
        b.expect("B", timeout_s=10)
        b.bye_ack()
        self.assertTrue(b.result(d, timeout_s=10)["ok"])
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())

    def test_resync_while_draining_registers_again_and_repeats_bye(self):
        b = self.start(threads=1)
        mark = self.stop_and_expect_bye(b)
        b.resync()   # as a restarted broker that never saw this worker would
        b.expect("R", timeout_s=10, since=mark)
        b.expect("B", timeout_s=10, since=mark)
        b.bye_ack()
        self.assertEqual(b.wait_exit(10), 0, b.log_tail())


if __name__ == "__main__":
    unittest.main()
