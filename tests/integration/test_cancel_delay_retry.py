"""Cancel, delayed tasks and retries through a real fleet (PROTOCOL.md
"submit", "cancel"; docs/architecture.md "Task lifecycle").

Outcomes and counts are asserted; waits are bounded polls, and the only
timing checks are coarse lower bounds (a delayed task does not run early)
or generous upper bounds (a cancel ends a task well within its timeout).
"""
import os
import subprocess
import time

from harness import BIN_DIR, FleetTestCase

SCRIPTS = {
    "flaky.py": """
        import os

        def main(path, fail_times):
            # Counts its runs in a file: fails the first `fail_times` runs.
            n = int(open(path).read()) if os.path.exists(path) else 0
            with open(path, "w") as f:
                f.write(str(n + 1))
            if n < fail_times:
                raise ValueError("run %d fails" % (n + 1))
            return n + 1
        """,
    "loop.py": """
        import time

        def main(secs):
            end = time.monotonic() + secs
            n = 0
            while time.monotonic() < end:
                n += 1
            return n
        """,
}


class CancelDelayRetry(FleetTestCase):
    FLEET = dict(scripts=SCRIPTS, broker={"max_retry_backoff_ms": 400},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def cancel(self, task_id):
        reply = self.client.request("results", {"op": "cancel", "id": task_id, "corr": 7})
        self.assertEqual(reply["op"], "cancel", reply)
        self.assertEqual(reply["id"], task_id)
        self.assertEqual(reply["corr"], 7)
        return reply["outcome"]

    def test_delayed_task_waits_then_runs(self):
        t0 = time.monotonic()
        tid = self.client.submit_ok("builtin:echo", ["later"], delay_ms=600)
        first = self.client.get(tid)
        self.assertEqual(first["state"], "pending", first)
        self.assertGreater(first["run_after_ms"], 300)
        self.assertLessEqual(first["run_after_ms"], 600)
        st = self.client.status()
        self.assertGreaterEqual(st["tasks"]["delayed"], 1)
        self.assertGreaterEqual(st["queues"]["io"]["delayed"], 1)
        res = self.client.wait(tid)
        self.assertDone(res, "later")
        self.assertGreaterEqual(time.monotonic() - t0, 0.55)
        self.assertGreaterEqual(res["queued_us"], 550_000)

    def test_cancel_delayed_and_queued_at_once(self):
        tid = self.client.submit_ok("builtin:echo", [1], delay_ms=60_000)
        self.assertEqual(self.cancel(tid), "cancelled")
        self.assertFailed(self.client.get(tid), "cancelled")
        self.assertEqual(self.cancel(tid), "too_late")
        self.assertEqual(self.cancel("no-such-task-id"), "unknown")
        self.assertEqual(self.client.status()["tasks"]["delayed"], 0)
        # Fill both threads with long sleeps, queue one more, cancel it.
        busy = [self.client.submit_ok("builtin:sleep", [1500]) for _ in range(2)]
        time.sleep(0.2)
        queued = self.client.submit_ok("builtin:echo", [2])
        self.assertEqual(self.cancel(queued), "cancelled")
        self.assertFailed(self.client.get(queued), "cancelled")
        for b in busy:
            self.assertDone(self.client.wait(b))

    def test_cancel_running_python_and_builtin(self):
        before = self.client.status()["tasks"]["cancelled"]
        py = self.client.submit_ok("loop.py", [30], timeout_ms=60_000)
        slow = self.client.submit_ok("builtin:sleep", [30_000], timeout_ms=60_000)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if all(self.client.get(t)["state"] == "running" for t in (py, slow)):
                break
            time.sleep(0.05)
        t0 = time.monotonic()
        self.assertEqual(self.cancel(py), "cancelling")
        self.assertEqual(self.cancel(slow), "cancelling")
        for t in (py, slow):
            self.assertFailed(self.client.wait(t, timeout_s=10), "cancelled")
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(self.client.status()["tasks"]["cancelled"] - before, 2)
        self.assertServing()

    def test_retry_until_success_with_attempts(self):
        path = os.path.join(self.fleet.dir, "flaky-ok.count")
        res = self.client.run("flaky.py", [path, 2], retries=3, retry_backoff_ms=50)
        self.assertDone(res, 3)
        self.assertEqual(res["attempts"], 3)

    def test_retries_spent_fail_with_last_error(self):
        path = os.path.join(self.fleet.dir, "flaky-bad.count")
        before = self.client.status()["tasks"]["retried"]
        tid = self.client.submit_ok("flaky.py", [path, 10], retries=2, retry_backoff_ms=100)
        seen_wait = False
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            r = self.client.get(tid)
            if r["state"] == "pending" and "run_after_ms" in r:
                seen_wait = True
            if r["state"] in ("done", "failed"):
                break
            time.sleep(0.01)
        res = self.client.wait(tid)
        err = self.assertFailed(res, "exception")
        self.assertIn("run 3 fails", err["message"])
        self.assertEqual(res["attempts"], 3)
        self.assertTrue(seen_wait, "never saw the task waiting for its retry")
        self.assertEqual(self.client.status()["tasks"]["retried"] - before, 2)
        # Not in retry_on: no retry at all.
        path2 = os.path.join(self.fleet.dir, "flaky-none.count")
        res = self.client.run("flaky.py", [path2, 1], retries=3, retry_on=["timeout"])
        self.assertFailed(res, "exception")
        self.assertEqual(res["attempts"], 1)

    def test_bad_fields_refused(self):
        for fields in ({"delay_ms": -1}, {"retries": "x"}, {"retry_on": ["cancelled"]},
                       {"retry_on": ["nope"]}, {"delay_ms": 700_000_000}):
            self.assertErrorReply(self.client.submit("builtin:echo", [1], **fields), "bad_request")

    def test_cli_cancel(self):
        tid = self.client.submit_ok("builtin:echo", [1], delay_ms=60_000)
        cli = os.path.join(BIN_DIR, "zfleet")
        out = subprocess.run([cli, "--results", self.fleet.endpoints["results"], "cancel", tid,
                              "no-such-id"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout.split("\n")[:2], [tid + " cancelled", "no-such-id unknown"])
        self.assertEqual(out.returncode, 5)  # one of them was unknown (tools/cli/exit_codes.h)
        out = subprocess.run([cli, "--frontend", self.fleet.endpoints["frontend"], "submit",
                              "builtin:echo", "--args", "[5]", "--delay-ms", "60000"],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        tid2 = out.stdout.strip()
        out = subprocess.run([cli, "--results", self.fleet.endpoints["results"], "cancel", tid2],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual((out.returncode, out.stdout.strip()), (0, tid2 + " cancelled"))
