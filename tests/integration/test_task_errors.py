"""Every task error code reachable from a test, worker_lost included
(PROTOCOL.md: Task execution and task errors). The worker survives each failure
and its next task runs."""
import os
import time
import uuid

from harness import FleetTestCase, stop_process

TASKS = {
    "ok.py": """
        def main(x=1):
            return x
        """,
    "raises.py": """
        def helper(n):
            raise ValueError("bad value %d" % n)

        def main(n):
            return helper(n)

        class Custom(Exception):
            pass

        def custom():
            raise Custom("custom failure")
        """,
    "returns.py": """
        class Thing:
            pass

        def a_set():
            return {1, 2, 3}

        def an_object():
            return Thing()

        def nested_set():
            return {"ok": [1, 2, {"bad": frozenset()}]}

        def too_big_int():
            return 2 ** 64

        def too_small_int():
            return -2 ** 63 - 1

        def limits():
            return [2 ** 64 - 1, -2 ** 63]
        """,
    "loops.py": """
        def spin():
            while True:
                pass

        def main():
            return "alive"
        """,
    "attrs.py": """
        VALUE = 3

        class Job:
            def __call__(self):
                return "called"

        job = Job()

        def _private():
            return "private"

        def main():
            return VALUE
        """,
    "syntax.py": """
        def main(:
            return 1
        """,
}


def uid(name):
    return "%s-%s" % (name, uuid.uuid4().hex)


class TaskErrors(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 4}, "cpu": {"processes": 1, "threads": 1}},
                 scripts=TASKS)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        outside = os.path.join(cls.fleet.dir, "outside")
        os.makedirs(outside)
        with open(os.path.join(outside, "evil.py"), "w") as f:
            f.write("def main():\n    return 'escaped'\n")
        os.symlink(os.path.join(outside, "evil.py"), os.path.join(cls.fleet.tasks_dir, "link.py"))
        os.symlink(outside, os.path.join(cls.fleet.tasks_dir, "linkdir"))
        # a symlink that stays inside the root is fine
        os.symlink(os.path.join(cls.fleet.tasks_dir, "ok.py"),
                   os.path.join(cls.fleet.tasks_dir, "inside_link.py"))

    def test_script_not_found(self):
        for script in ("nope/missing.py", "missing.py"):
            self.assertFailed(self.client.run(script), "script_not_found")
        self.assertFailed(self.client.run("builtin:no_such_builtin"), "script_not_found")
        self.assertServing()

    def test_script_not_allowed(self):
        for script in ("link.py", "linkdir/evil.py"):
            res = self.client.run(script)
            self.assertFailed(res, "script_not_allowed")
            self.assertNotIn("result", res)
        self.assertDone(self.client.run("inside_link.py", [5]), 5)

    def test_script_error(self):
        err = self.assertFailed(self.client.run("syntax.py"), "script_error")
        self.assertEqual(err.get("type"), "SyntaxError")

    def test_func_not_found(self):
        self.assertFailed(self.client.run("ok.py", func="nothere"), "func_not_found")
        self.assertFailed(self.client.run("attrs.py", func="VALUE"), "func_not_found")  # not callable
        self.assertDone(self.client.run("attrs.py"), 3)

    def test_only_public_module_level_functions_are_called(self):
        # Attribute lookup used to reach these: func "__class__" called the
        # module's type. Now only public functions in the module's namespace.
        for func in ("__class__", "__dict__", "__builtins__", "__loader__", "_private",
                     "Job", "job", "__init__"):
            err = self.assertFailed(self.client.run("attrs.py", func=func), "func_not_found")
            self.assertIn(func, err["message"])
        self.assertDone(self.client.run("attrs.py"), 3)

    def test_exception(self):
        err = self.assertFailed(self.client.run("raises.py", [42]), "exception")
        self.assertEqual(err["type"], "ValueError")
        self.assertIn("bad value 42", err["message"])
        tb = err["traceback"]
        self.assertIsInstance(tb, str)
        self.assertIn("helper", tb)
        self.assertIn("raises.py", tb)
        self.assertIn("ValueError", tb)
        err = self.assertFailed(self.client.run("raises.py", func="custom"), "exception")
        self.assertIn("Custom", err["type"])
        self.assertIn("custom failure", err["message"])
        # wrong arguments are the function's exception too
        err = self.assertFailed(self.client.run("ok.py", [1, 2, 3]), "exception")
        self.assertEqual(err["type"], "TypeError")

    def test_unserializable_result(self):
        for func, type_name in (("a_set", "set"), ("an_object", "Thing"), ("nested_set", "frozenset"),
                                ("too_big_int", "int"), ("too_small_int", "int")):
            err = self.assertFailed(self.client.run("returns.py", func=func), "unserializable_result")
            self.assertIn(type_name, err["message"], (func, err))
        self.assertDone(self.client.run("returns.py", func="limits"), [2 ** 64 - 1, -2 ** 63])

    def test_timeout(self):
        for t in ("io", "cpu"):
            res = self.client.run("loops.py", func="spin", timeout_ms=300, type=t)
            self.assertFailed(res, "timeout")
            # the worker survives and its thread is usable again
            self.assertDone(self.client.run("loops.py", type=t), "alive")
        res = self.client.run("builtin:sleep", [5000], timeout_ms=300)
        self.assertFailed(res, "timeout")
        res = self.client.run("builtin:spin", [5000000], timeout_ms=300, type="cpu")
        self.assertFailed(res, "timeout")
        self.assertServing()

    def test_builtin_bad_args(self):
        for args in ([], ["x"], [-1], [1.5]):
            err = self.assertFailed(self.client.run("builtin:sleep", args), "exception")
            self.assertIn(err["type"], ("TypeError", "ValueError"))
        self.assertServing()


class WorkerLost(FleetTestCase):
    """Hand-started workers killed mid-task: worker_lost, or a retry elsewhere."""
    FLEET = dict(workers={"io": {"processes": 0}, "cpu": {"processes": 0}})

    def setUp(self):
        # No live worker left over from another test of this class.
        deadline = time.monotonic() + 20
        while any(w["alive"] for w in self.client.status()["workers"]):
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.05)

    def start_worker(self, worker_id):
        worker = self.fleet.start_worker("io", threads=1, worker_id=worker_id)
        self.addCleanup(stop_process, worker, timeout=5)
        deadline = time.monotonic() + 20
        while not any(w["id"] == worker_id and w["alive"] for w in self.client.status()["workers"]):
            self.assertIsNone(worker.poll(), "worker exited")
            self.assertLess(time.monotonic(), deadline, "worker never joined")
            time.sleep(0.02)
        return worker

    def wait_running(self, tid):
        deadline = time.monotonic() + 20
        while True:
            res = self.client.get(tid)
            if res["state"] == "running":
                return res
            self.assertLess(time.monotonic(), deadline, res)
            time.sleep(0.01)

    def test_worker_lost_without_retries(self):
        worker = self.start_worker(uid("doomed"))
        tid = self.client.submit_ok("builtin:sleep", [30000], max_retries=0)
        self.wait_running(tid)
        worker.kill()
        worker.wait()
        err = self.assertFailed(self.client.wait(tid), "worker_lost")
        self.assertTrue(err["message"])
        st = self.client.status()
        self.assertEqual(st["tasks"]["running"], 0)
        self.assertEqual(st["queues"]["io"]["depth"], 0)

    def test_retried_on_another_worker(self):
        first = uid("first")
        worker = self.start_worker(first)
        tid = self.client.submit_ok("builtin:sleep", [3000], max_retries=1)
        self.wait_running(tid)
        retried = self.client.status()["tasks"]["retried"]
        self.start_worker("backup")
        worker.kill()                 # well before its 3 s sleep ends
        worker.wait()
        res = self.client.wait(tid)
        self.assertDone(res, None)
        self.assertEqual(res["worker"], "backup")
        self.assertEqual(res["attempts"], 2)
        self.assertEqual(self.client.status()["tasks"]["retried"], retried + 1)
