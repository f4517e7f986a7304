"""Logs (issue 13): logging.format json (one object a line, with the task id
where there is one), every task lifecycle step at debug, the level from the
config and from --log-level, and a stderr nobody reads never stalling the
fleet: a bounded queue drops (and counts) lines instead."""
import json
import re
import signal
import subprocess
import time
import unittest

import prom_check
from harness import BROKER_BIN, Fleet, FleetTestCase, free_ports, poll, register_broker, start_process, workers_of

TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
LEVELS = {"trace", "debug", "info", "warn", "error", "critical"}
SAY = """
    def main(text):
        print("said:", text)
        return text
"""


def json_lines(fleet):
    with open(fleet.log_path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class JsonLogs(FleetTestCase):
    # The config says info; the flag says debug, and the broker hands it to
    # its local workers.
    FLEET = dict(logging={"format": "json", "level": "info"}, broker_args=["--log-level", "debug"],
                 scripts={"say.py": SAY})

    def lines_of(self, task_id, want):
        """Log lines about `task_id`, once every phrase in `want` is among them."""
        def about():
            return [l for l in json_lines(self.fleet) if l.get("task") == task_id]
        return poll(about, lambda ls: all(any(w in l["msg"] for l in ls) for w in want))

    def test_every_line_is_one_json_object_with_the_fields(self):
        self.client.run("builtin:echo", [1])
        lines = json_lines(self.fleet)   # json.loads fails the test on any other line
        self.assertGreater(len(lines), 5)
        for l in lines:
            self.assertTrue({"time", "level", "component", "pid", "msg"} <= set(l), l)
            self.assertRegex(l["time"], TIME)
            self.assertIn(l["level"], LEVELS)
            self.assertIn(l["component"], ("broker", "worker"))
            self.assertIsInstance(l["pid"], int)
        self.assertEqual({l["pid"] for l in lines if l["component"] == "broker"}, {self.fleet.proc.pid})

    def test_a_tasks_whole_life_at_debug_with_its_id(self):
        tid = "probe-%d" % time.monotonic_ns()
        self.assertEqual(self.client.run("say.py", ["hello"], id=tid)["state"], "done")
        broker_steps = ["accepted, pool io", "dispatch", "done after 1 attempt"]
        worker_steps = ["started, dispatch", "done in", "stdout: said: hello"]
        lines = self.lines_of(tid, broker_steps + worker_steps)
        by = {c: " | ".join(l["msg"] for l in lines if l["component"] == c) for c in ("broker", "worker")}
        for step in broker_steps:
            self.assertIn(step, by["broker"])
        for step in worker_steps:
            self.assertIn(step, by["worker"])
        self.assertIn("debug", {l["level"] for l in lines})   # the flag beat the config's info

    def test_ids_with_spaces_colons_and_quotes_come_back_exactly(self):
        for tid in ['a b: "c"', "tab\tand:colon", "ünïcödé"]:
            self.assertEqual(self.client.run("say.py", ["odd"], id=tid)["state"], "done")
            self.lines_of(tid, ["dispatch", "stdout: said: odd"])

    def test_a_failure_is_logged_with_its_code(self):
        tid = "fails-%d" % time.monotonic_ns()
        self.assertEqual(self.client.run("say.py", [], id=tid)["state"], "failed")
        self.lines_of(tid, ["failed after 1 attempt(s) (exception)"])


class LevelFromConfig(FleetTestCase):
    FLEET = dict(logging={"level": "warn"})

    def test_nothing_below_the_level(self):
        self.client.run("builtin:echo", [1])
        with open(self.fleet.log_path) as f:
            text = f.read()
        self.assertNotIn(" info ", text)
        self.assertNotIn(" debug ", text)
        self.assertNotIn("serving", text)


LOUD = """
    def main(lines):
        for i in range(lines):
            print("%06d " % i + "x" * 1000)
        return lines
"""


class StuckFleet(Fleet):
    """Broker (and so its local workers) with stderr on a pipe nobody reads."""

    def _spawn_broker(self):
        self.proc = start_process([BROKER_BIN, "--config", self.config_path] + self.broker_args,
                                  self.log_path, stderr=subprocess.PIPE)
        register_broker(self.proc.pid)

    def cleanup(self):
        super().cleanup()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()


class StuckStderr(FleetTestCase):
    FLEET = None

    def test_a_stuck_stderr_stalls_nothing_and_drops_are_counted(self):
        port = free_ports(1)[0]
        fleet = self.new_fleet(StuckFleet, scripts={"loud.py": LOUD}, logging={"level": "debug"},
                               broker={"metrics": "127.0.0.1:%d" % port})
        client = fleet.client()
        # 5 MB of task output and several debug lines per task, into a 64 KiB
        # pipe that is never read: without the bounded queue the first
        # worker and the broker would block in write() within a second.
        loud = [client.submit_ok("loud.py", [1000]) for _ in range(5)]
        # 3000 tasks make about 12000 broker lines: far past its queue of 2048.
        quiet = []
        for n in range(30):
            reply = client.submit_batch([{"script": "builtin:echo", "args": [n, i]} for i in range(100)])
            quiet += reply["ids"]
        results = client.wait_many(loud + quiet, timeout_s=60)
        self.assertEqual([r["state"] for r in results], ["done"] * 3005)
        self.assertEqual([r["result"] for r in results[:5]], [1000] * 5)
        with __import__("urllib.request").request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
            fams = prom_check.parse(r.read().decode())
        self.assertGreater(prom_check.value(fams, "zfleet_log_messages_dropped_total"), 0)
        self.assertEqual(client.status()["op"], "status")   # still answering
        # And SIGTERM still stops it all (it once took over 15 s, with lines
        # still owed to the pipe): the drain, then the last lines are given
        # up after 2 s.
        workers = workers_of(fleet.proc.pid)
        self.assertEqual(len(workers), 3)
        start = time.monotonic()
        fleet.proc.send_signal(signal.SIGTERM)
        code = fleet.proc.wait(timeout=30)
        took = time.monotonic() - start
        self.assertEqual(code, 0)
        self.assertLess(took, 12, "the broker took %.1f s to stop" % took)
        poll(lambda: [p for p in workers if __import__("harness").pid_alive(p)], lambda alive: not alive,
             timeout_s=10)


if __name__ == "__main__":
    unittest.main()
