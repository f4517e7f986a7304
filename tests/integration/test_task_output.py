"""Task output (issue 12, point 3; worker/exec/output_capture.h): print,
sys.stdout, sys.stderr and logging inside a task

- go to the worker's log line by line, tagged with the task id (local
  workers log to the broker's stderr, which the harness keeps in
  broker.log); output of a thread that runs no task is logged untagged and
  never lands in a task's result;
- come back in the get reply's "output", in write order, when the submit
  says "output": true; without it the reply has no "output" key;
- come back for every task of a pool with capture_output: true, cut at its
  max_output_bytes (at a UTF-8 boundary, with a marker naming the bytes
  dropped); failed tasks keep their output too.
"""
import re
import time
import uuid

from harness import FleetTestCase, poll

SCRIPTS = {
    "talk.py": """
        import logging
        import sys

        def main(tag):
            print("out", tag)
            sys.stderr.write("err %s\\n" % tag)
            logging.getLogger("zf.test").warning("log %s", tag)
            logging.info("info %s", tag)
            print("no newline at the end", end="")
            return tag

        def fails(tag):
            print("before the raise", tag)
            raise ValueError("boom " + tag)

        def lines(n, text):
            for i in range(n):
                print(text)
            return n

        def background(tag):
            import threading
            def later():
                import time
                time.sleep(0.05)
                print("from a thread", tag)
            threading.Thread(target=later).start()
            print("task", tag)
            return tag
    """,
}


def unique(stem):
    return "%s-%s" % (stem, uuid.uuid4().hex[:10])


class TaskOutput(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 4}, "cpu": {"processes": 0},
                          "pools": {"cap": {"processes": 1, "threads": 2, "capture_output": True,
                                            "max_output_bytes": 100}}},
                 scripts=SCRIPTS)

    def broker_log(self, until):
        def read():
            with open(self.fleet.log_path, errors="replace") as f:
                return f.read()
        return poll(read, lambda text: until in text, timeout_s=10)

    def test_output_true_returns_print_stderr_and_logging_in_order(self):
        tag = unique("t")
        res = self.client.run("talk.py", [tag], output=True, id=tag)
        self.assertDone(res, tag)
        out = res["output"]
        expected = ["out %s\n" % tag, "err %s\n" % tag, "WARNING:zf.test:log %s\n" % tag,
                    "INFO:root:info %s\n" % tag, "no newline at the end"]
        self.assertEqual(out, "".join(expected))

    def test_without_output_true_there_is_no_output_key(self):
        tag = unique("n")
        res = self.client.run("talk.py", [tag], id=tag)
        self.assertDone(res, tag)
        self.assertNotIn("output", res)

    def test_lines_go_to_the_worker_log_tagged_with_the_task_id(self):
        tag = unique("log")
        self.assertDone(self.client.run("talk.py", [tag], id=tag), tag)
        log = self.broker_log("task %s stdout: no newline at the end" % tag)
        for line in ("task %s stdout: out %s" % (tag, tag),
                     "task %s stderr: err %s" % (tag, tag),
                     "task %s stderr: WARNING:zf.test:log %s" % (tag, tag),
                     "task %s stderr: INFO:root:info %s" % (tag, tag)):
            self.assertIn(line, log)
        # Never raw: no line of the log is the bare text.
        self.assertIsNone(re.search(r"^out %s$" % re.escape(tag), log, re.M))

    def test_a_thread_running_no_task_is_logged_untagged_and_not_captured(self):
        tag = unique("bg")
        res = self.client.run("talk.py", [tag], func="background", output=True, id=tag)
        self.assertDone(res, tag)
        self.assertEqual(res["output"], "task %s\n" % tag)
        log = self.broker_log("stdout (no task): from a thread %s" % tag)
        self.assertNotIn("task %s stdout: from a thread" % tag, log)

    def test_failed_task_keeps_its_output(self):
        tag = unique("f")
        res = self.client.run("talk.py", [tag], func="fails", output=True)
        self.assertFailed(res, "exception")
        self.assertEqual(res["output"], "before the raise %s\n" % tag)

    def test_pool_capture_output_returns_every_tasks_output(self):
        tags = [unique("c") for _ in range(6)]
        ids = [self.client.submit_ok("talk.py", [t], type="cap") for t in tags]
        for tag, res in zip(tags, self.client.wait_many(ids)):
            self.assertDone(res, tag)
            self.assertTrue(res["output"].startswith("out %s\nerr %s\n" % (tag, tag)), res["output"])

    def test_pool_cap_cuts_and_marks(self):
        res = self.client.run("talk.py", [50, "0123456789"], func="lines", type="cap")
        self.assertDone(res, 50)
        total = 50 * 11
        self.assertEqual(res["output"], "0123456789\n" * 9 + "0\n[output truncated: %d bytes dropped]"
                         % (total - 100))

    def test_cap_cuts_at_a_utf8_boundary(self):
        # 'é' is 2 bytes: 100 bytes hold "x" + 49 of them and half of the 50th.
        res = self.client.run("talk.py", [1, "x" + "é" * 60], func="lines", type="cap")
        self.assertDone(res, 1)
        out = res["output"]                   # decoded as str by msgpack: valid UTF-8
        self.assertEqual(out, "x" + "é" * 49 + "\n[output truncated: %d bytes dropped]" % (122 - 99))

    def test_output_of_many_concurrent_tasks_stays_apart(self):
        tags = [unique("m") for _ in range(40)]
        ids = [self.client.submit_ok("talk.py", [t], output=True) for t in tags]
        for tag, res in zip(tags, self.client.wait_many(ids)):
            self.assertDone(res, tag)
            self.assertEqual(res["output"].count(tag), 4, res["output"])
            self.assertTrue(res["output"].startswith("out %s\n" % tag), res["output"])


if __name__ == "__main__":
    import unittest
    unittest.main()
