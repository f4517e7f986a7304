"""The Python client library, clients/python/zfleet_client.py (issue 12),
against a real fleet: submit/get, batches with refused tasks, the typed
exceptions of request and task errors, cancel, map in completion and input
order, timeouts with no broker, and CURVE with the right and a stranger's
keys. Waits are bounded; nothing asserts on timing.
"""
import os
import sys
import threading
import uuid

from harness import SOURCE_DIR, FleetTestCase, free_ports

sys.path.insert(0, os.path.join(SOURCE_DIR, "clients", "python"))
import zfleet_client as zc  # noqa: E402

WAIT_MS = 20000     # long-poll bound for one result: far above normal, never reached

SCRIPTS = {
    "calc.py": """
        def main(x):
            return x * x

        def power(base, exp=2):
            return base ** exp

        def boom(msg):
            raise ValueError(msg)

        def chatty(x):
            print("chatty", x)
            return x
        """,
    "gate.py": """
        import os, time

        def main(path, x):
            # Holds its thread until the test creates `path` (30 s at most).
            end = time.monotonic() + 30
            while path and not os.path.exists(path) and time.monotonic() < end:
                time.sleep(0.01)
            return x
        """,
}


def uid(name):
    return "%s-%s" % (name, uuid.uuid4().hex)


class PythonClient(FleetTestCase):
    FLEET = dict(scripts=SCRIPTS, workers={"io": {"processes": 1, "threads": 4},
                                           "cpu": {"processes": 0},
                                           "pools": {"spare": {"processes": 1, "threads": 1}}})

    def make_client(self, **kwargs):
        kwargs.setdefault("timeout_ms", 15000)
        c = zc.Client(self.fleet.endpoints["frontend"], self.fleet.endpoints["results"], **kwargs)
        self.addCleanup(c.close)
        return c

    def setUp(self):
        self.c = self.make_client()

    def test_submit_and_get_a_python_task(self):
        tid = self.c.submit("calc.py", [7])
        self.assertIsInstance(tid, str)
        self.assertEqual(self.c.get(tid, wait_ms=WAIT_MS), 49)
        res = self.c.result(tid)
        self.assertEqual((res.id, res.state, res.value, res.attempts), (tid, "done", 49, 1))
        self.assertTrue(res.finished)
        self.assertIsNone(res.error)
        self.assertTrue(res.worker.startswith("io"), res.raw)
        # func, kwargs and a client-chosen id travel too.
        mine = uid("py-power")
        self.assertEqual(self.c.submit("calc.py", [2], {"exp": 10}, func="power", id=mine), mine)
        self.assertEqual(self.c.get(mine, wait_ms=WAIT_MS), 1024)
        self.assertEqual(self.c.get(self.c.submit("builtin:echo", [{"a": [1, b"x"]}]),
                                    wait_ms=WAIT_MS), {"a": [1, b"x"]})

    def test_output_on_request_and_a_named_pool(self):
        tid = self.c.submit("calc.py", [3], func="chatty", output=True)
        res = self.c.result(tid, wait_ms=WAIT_MS)
        self.assertEqual((res.state, res.value), ("done", 3), res.raw)
        self.assertIn("chatty 3", res.output)
        # Without output=True nothing comes back.
        quiet = self.c.result(self.c.submit("calc.py", [4], func="chatty"), wait_ms=WAIT_MS)
        self.assertIsNone(quiet.output, quiet.raw)
        # type names a pool: "spare" has a worker of its own.
        res = self.c.result(self.c.submit("calc.py", [5], type="spare"), wait_ms=WAIT_MS)
        self.assertEqual(res.value, 25)
        self.assertTrue(res.worker.startswith("spare-"), res.raw)
        with self.assertRaises(zc.BadRequest) as cm:
            self.c.submit("calc.py", [5], type="nosuch")
        self.assertIn("spare", cm.exception.message)

    def test_submit_batch_with_one_bad_task(self):
        tasks = [{"script": "calc.py", "args": [i]} for i in range(4)]
        tasks[2] = {"script": "../escape.py", "args": [2]}
        with self.assertRaises(zc.BatchError) as cm:
            self.c.submit_batch(tasks)
        err = cm.exception
        self.assertEqual([type(i) for i in err.ids], [str, str, type(None), str])
        self.assertEqual([e is None for e in err.errors], [True, True, False, True])
        self.assertIsInstance(err.errors[2], zc.BadRequest)
        self.assertEqual(err.errors[2].code, "bad_request")
        self.assertIs(err.outcomes[2], err.errors[2])
        self.assertEqual(err.outcomes[3], err.ids[3])
        # The good tasks were queued all the same.
        self.assertEqual([self.c.get(err.ids[i], wait_ms=WAIT_MS) for i in (0, 1, 3)], [0, 1, 9])

        tasks[1] = {"script": "calc.py", "args": [5], "type": "no-such-pool"}
        outcomes = self.c.submit_batch(tasks, return_exceptions=True)
        self.assertEqual(len(outcomes), 4)
        self.assertIsInstance(outcomes[1], zc.BadRequest)
        self.assertIsInstance(outcomes[2], zc.BadRequest)
        self.assertEqual([self.c.get(outcomes[i], wait_ms=WAIT_MS) for i in (0, 3)], [0, 9])

        ids = self.c.submit_batch([{"script": "calc.py", "args": [i]} for i in range(5)])
        self.assertEqual([self.c.get(t, wait_ms=WAIT_MS) for t in ids], [0, 1, 4, 9, 16])
        self.assertEqual(self.c.submit_batch([]), [])

    def test_get_raises_the_task_exception(self):
        tid = self.c.submit("calc.py", ["no good"], func="boom")
        with self.assertRaises(zc.TaskException) as cm:
            self.c.get(tid, wait_ms=WAIT_MS)
        e = cm.exception
        self.assertIsInstance(e, zc.TaskFailed)
        self.assertIsInstance(e, zc.ZfleetError)
        self.assertEqual((e.code, e.type, e.message, e.task_id, e.attempts),
                         ("exception", "ValueError", "no good", tid, 1))
        self.assertIn("raise ValueError(msg)", e.traceback)
        self.assertTrue(e.worker.startswith("io"), e.worker)
        res = self.c.result(tid)
        self.assertEqual(res.state, "failed")
        self.assertIsInstance(res.error, zc.TaskException)

    def test_get_raises_script_not_found_and_task_timeout(self):
        tid = self.c.submit("nowhere/missing.py", [1])
        with self.assertRaises(zc.ScriptNotFound) as cm:
            self.c.get(tid, wait_ms=WAIT_MS)
        self.assertEqual((cm.exception.code, cm.exception.task_id), ("script_not_found", tid))
        self.assertIsNone(cm.exception.type)
        tid = self.c.submit("builtin:sleep", [5000], timeout_ms=200)
        with self.assertRaises(zc.TaskTimeout) as cm:
            self.c.get(tid, wait_ms=WAIT_MS)
        self.assertEqual(cm.exception.code, "timeout")

    def test_unknown_and_pending_tasks(self):
        never = uid("never-submitted")
        with self.assertRaises(zc.TaskUnknown) as cm:
            self.c.get(never, wait_ms=1000)
        self.assertEqual(cm.exception.task_id, never)
        self.assertEqual(self.c.result(never).state, "unknown")
        self.assertEqual(self.c.cancel(never), "unknown")

    def test_cancel_a_delayed_task(self):
        tid = self.c.submit("builtin:echo", ["later"], delay_ms=60000)
        with self.assertRaises(zc.TaskPending) as cm:
            self.c.get(tid)
        self.assertEqual(cm.exception.state, "pending")
        self.assertGreater(cm.exception.run_after_ms, 0)
        self.assertEqual(self.c.cancel(tid), "cancelled")
        with self.assertRaises(zc.TaskCancelled) as cm:
            self.c.get(tid)
        self.assertEqual(cm.exception.code, "cancelled")
        self.assertEqual(self.c.cancel(tid), "too_late")

    def test_map_yields_all_results(self):
        got = list(self.c.map("calc.py", ([i] for i in range(200)), batch_size=30, window=70))
        self.assertEqual(sorted(got), [i * i for i in range(200)])
        ordered = list(self.c.map("calc.py", [[i] for i in range(200)], ordered=True,
                                  batch_size=25, window=60))
        self.assertEqual(ordered, [i * i for i in range(200)])
        self.assertEqual(list(self.c.map("calc.py", [])), [])
        self.assertEqual(list(self.c.map("calc.py", [(3,), (4,)], func="power", kwargs={"exp": 3},
                                         ordered=True)), [27, 64])

    def test_map_yields_in_completion_order(self):
        gate = os.path.join(self.fleet.dir, uid("gate"))
        self.addCleanup(lambda: open(gate, "w").close())   # frees the thread whatever happens
        items = [[gate, "slow"]] + [["", i] for i in range(20)]
        gen = self.c.map("gate.py", items, batch_size=8, poll_ms=100)
        first = next(gen)
        self.assertNotEqual(first, "slow")     # the first task is still held by its gate
        open(gate, "w").close()
        rest = list(gen)
        self.assertEqual(sorted([first] + [r for r in rest if r != "slow"]), list(range(20)))
        self.assertEqual(rest.count("slow"), 1)

    def test_map_failures(self):
        items = [[1], [2], ["x"], [4]]    # "x" * "x" raises TypeError in the task
        outcomes = list(self.c.map("calc.py", items, ordered=True, return_exceptions=True))
        self.assertEqual([outcomes[i] for i in (0, 1, 3)], [1, 4, 16])
        self.assertIsInstance(outcomes[2], zc.TaskException)
        self.assertEqual(outcomes[2].type, "TypeError")
        with self.assertRaises(zc.TaskException):
            list(self.c.map("calc.py", items, ordered=True))
        refused = list(self.c.map("calc.py", [[1], [2]], type="no-such-pool", return_exceptions=True))
        self.assertEqual([type(r) for r in refused], [zc.BadRequest, zc.BadRequest])
        with self.assertRaises(TypeError):
            list(self.c.map("calc.py", [[1]], id="fixed"))
        with self.assertRaises(TypeError):
            list(self.c.map("calc.py", [1, 2]))

    def test_request_errors_raise_their_class(self):
        mine = uid("dup")
        self.assertEqual(self.c.submit("builtin:echo", [1], id=mine), mine)
        with self.assertRaises(zc.DuplicateId) as cm:
            self.c.submit("builtin:echo", [2], id=mine)
        e = cm.exception
        self.assertIsInstance(e, zc.RequestError)
        self.assertIsInstance(e, zc.ZfleetError)
        self.assertEqual((e.code, e.task_id), ("duplicate_id", mine))
        self.assertTrue(e.message)
        self.assertEqual(self.c.get(mine, wait_ms=WAIT_MS), 1)    # the first one stands
        with self.assertRaises(zc.BadRequest) as cm:
            self.c.submit("builtin:echo", [1], type="no-such-pool")
        self.assertEqual(cm.exception.code, "bad_request")
        with self.assertRaises(zc.BadRequest):
            self.c.submit("/etc/passwd")

    def test_unknown_codes_map_to_the_base_classes(self):
        e = zc.request_error("brand_new_code", "from a newer broker")
        self.assertIs(type(e), zc.RequestError)
        self.assertEqual((e.code, e.message), ("brand_new_code", "from a newer broker"))
        t = zc.task_error({"code": "brand_new_failure", "message": "m"}, "t1", 2, "w")
        self.assertIs(type(t), zc.TaskFailed)
        self.assertEqual((t.code, t.task_id, t.attempts, t.worker), ("brand_new_failure", "t1", 2, "w"))

    def test_status_and_clear_cache(self):
        st = self.c.status()
        self.assertEqual(st["op"], "status")
        self.assertIn("io", st["queues"])
        self.assertGreaterEqual(sum(1 for w in st["workers"] if w["alive"] and w["type"] == "io"), 1)
        self.assertIsNone(self.c.clear_cache())
        self.assertIsNone(self.c.clear_cache("calc.py"))
        self.assertEqual(self.c.get(self.c.submit("calc.py", [3]), wait_ms=WAIT_MS), 9)

    def test_get_many(self):
        ids = [self.c.submit("calc.py", [i]) for i in range(5)]
        never = uid("never")
        results = self.c.get_many(ids + [never], wait_ms=WAIT_MS)
        self.assertEqual([r.id for r in results], ids + [never])
        self.assertEqual([r.state for r in results], ["done"] * 5 + ["unknown"])
        self.assertEqual([r.get() for r in results[:5]], [0, 1, 4, 9, 16])

    def test_context_manager_closes(self):
        with zc.Client(self.fleet.endpoints["frontend"], self.fleet.endpoints["results"]) as c:
            self.assertEqual(c.get(c.submit("builtin:echo", ["in"]), wait_ms=WAIT_MS), "in")
        self.assertTrue(c.closed)
        with self.assertRaises(zc.ZfleetError):
            c.status()
        c.close()    # idempotent

    def test_timeout_when_no_broker_answers(self):
        front, results = free_ports(2)
        c = zc.Client("tcp://127.0.0.1:%d" % front, "tcp://127.0.0.1:%d" % results,
                      timeout_ms=300)
        self.addCleanup(c.close)
        calls = [(lambda: c.submit("builtin:echo", [1]), front), (c.status, results),
                 (lambda: c.get("x", wait_ms=200), results), (lambda: c.cancel("x"), results)]
        for call, port in calls:
            with self.assertRaises(zc.Timeout) as cm:
                call()
            self.assertIsInstance(cm.exception, TimeoutError)
            self.assertIsInstance(cm.exception, zc.ZfleetError)
            self.assertIn("127.0.0.1:%d" % port, str(cm.exception))
        # After a timeout the client still works against a live broker: point it there.
        c.endpoints = dict(self.fleet.endpoints)
        self.assertEqual(c.get(c.submit("builtin:echo", ["back"]), wait_ms=WAIT_MS), "back")

    def test_a_client_per_thread(self):
        out = {}

        def work(n):
            with zc.Client(self.fleet.endpoints["frontend"], self.fleet.endpoints["results"]) as c:
                out[n] = sorted(c.map("calc.py", [[n * 100 + i] for i in range(20)]))

        threads = [threading.Thread(target=work, args=(n,)) for n in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        self.assertEqual(out, {n: sorted((n * 100 + i) ** 2 for i in range(20)) for n in range(3)})

    def test_key_and_server_key_go_together(self):
        with self.assertRaises(ValueError):
            zc.Client(key="/nonexistent.key")
        with self.assertRaises(ValueError):
            zc.Client(server_key="/nonexistent.pub")


class PythonClientCurve(FleetTestCase):
    FLEET = dict(security=True, scripts=SCRIPTS,
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def make_client(self, key_name, timeout_ms=15000):
        d = self.fleet.dir
        key = os.path.join(d, key_name + ".key") if key_name else None
        server = os.path.join(d, "keys/broker.pub") if key_name else None
        c = zc.Client(self.fleet.endpoints["frontend"], self.fleet.endpoints["results"],
                      key=key, server_key=server, timeout_ms=timeout_ms)
        self.addCleanup(c.close)
        return c

    def test_right_keys_work(self):
        c = self.make_client("keys/both/admin")
        self.assertEqual(list(c.map("calc.py", [[i] for i in range(10)], ordered=True)),
                         [i * i for i in range(10)])
        self.assertEqual(c.get(c.submit("calc.py", [12]), wait_ms=WAIT_MS), 144)
        self.assertIn("workers", c.status())

    def test_a_producer_key_submits_but_cannot_read(self):
        producer = self.make_client("keys/producers/p1")
        tid = producer.submit("calc.py", [5])
        producer.timeout_ms = 1500      # the results endpoint refuses this key: no reply ever
        with self.assertRaises(zc.Timeout):
            producer.get(tid)
        self.assertEqual(self.make_client("keys/clients/c1").get(tid, wait_ms=WAIT_MS), 25)

    def test_stranger_or_no_key_times_out(self):
        for name in ("keys/stranger", None):
            with self.subTest(key=name):
                c = self.make_client(name, timeout_ms=1500)
                with self.assertRaises(zc.Timeout):
                    c.submit("calc.py", [1])
                with self.assertRaises(zc.Timeout):
                    c.status()

    def test_bad_key_file_is_refused(self):
        bad = os.path.join(self.fleet.dir, "keys/broker.pub")    # a .pub is not a key pair
        with self.assertRaises(ValueError):
            zc.Client(key=bad, server_key=bad)
