"""Every request error code (PROTOCOL.md: Errors (request level), Transport
and framing limits). After each kind of bad input the broker still serves a
normal client. Task error codes: test_task_errors.py."""
import signal
import time
import uuid

import zmq

from harness import FleetTestCase, ReplyTimeout, pack, recv_frames, unpack, workers_of

MAX_BYTES = 65536

BIG = """
def main(n):
    return "x" * n
"""


def uid(name):
    return "%s-%s" % (name, uuid.uuid4().hex)


class RequestErrors(FleetTestCase):
    FLEET = dict(broker={"max_message_bytes": MAX_BYTES},
                 workers={"io": {"processes": 1, "threads": 4}, "cpu": {"processes": 1, "threads": 1}},
                 scripts={"big.py": BIG})

    def dealer(self, endpoint="frontend"):
        return self.fleet.socket(zmq.DEALER, endpoint)

    def raw(self, endpoint, data):
        return self.client.raw(endpoint, data)

    def test_not_msgpack(self):
        for endpoint in ("frontend", "results"):
            for data in (b"\xc1", b"", b"\x81\xa2op", b"\xdd\xff\xff\xff\xff",
                         b"\x82\xa2op\xa6submit"):    # map of 2 with 1 entry: truncated
                self.assertErrorReply(self.raw(endpoint, data), "bad_request")
        self.assertServing()

    def test_not_a_map(self):
        for endpoint in ("frontend", "results"):
            for value in ([1, 2], "submit", 5, None, b"bytes", ["op", "submit"]):
                self.assertErrorReply(self.raw(endpoint, pack(value)), "bad_request")
        self.assertServing()

    def test_trailing_bytes_after_the_map(self):
        reply = self.raw("frontend", pack({"op": "submit", "script": "builtin:echo"}) + b"\x01")
        self.assertErrorReply(reply, "bad_request")
        self.assertServing()

    def test_unknown_or_missing_op(self):
        for endpoint in ("frontend", "results"):
            for body in ({"op": "frobnicate", "corr": 1}, {"corr": 1}, {"op": 5, "corr": 1},
                         {"op": "", "corr": 1}, {"op": "SUBMIT", "corr": 1}, {}):
                reply = self.assertErrorReply(self.client.request(endpoint, body), "bad_request")
                if "corr" in body:
                    self.assertEqual(reply.get("corr"), 1, reply)
        self.assertServing()

    # BUG (see the report): the broker copies non-UTF-8 bytes a client sent in
    # a str into the str fields of its own replies ("unknown op '...'", task
    # error messages naming the script), so a client decoding msgpack strictly
    # (Python's default raw=False) cannot read the reply at all.
    def test_replies_are_valid_utf8(self):
        def rawstr(b):
            return bytes([0xa0 | len(b)]) + b
        body = b"\x82" + rawstr(b"op") + rawstr(b"bo\xffgus") + rawstr(b"corr") + rawstr(b"c")
        for endpoint in ("frontend", "results"):
            reply = self.client.raw(endpoint, body)      # raises UnicodeDecodeError today
            self.assertErrorReply(reply, "bad_request")
        for script in (b"builtin:\xff\xfe", b"x\xff.py"):
            body = b"\x82" + rawstr(b"op") + rawstr(b"submit") + rawstr(b"script") + rawstr(script)
            reply = self.client.raw("frontend", body)
            if reply["op"] == "error":
                self.assertErrorReply(reply, "bad_request")
            else:                   # accepted: then its result must be readable
                res = self.client.wait(reply["id"])
                self.assertFailed(res, "script_not_found")
        self.assertServing()

    def test_missing_script(self):
        reply = self.client.request("frontend", {"op": "submit", "args": [1], "corr": "m"})
        self.assertErrorReply(reply, "bad_request")
        self.assertEqual(reply["corr"], "m")
        self.assertServing()

    def test_bad_script_shapes(self):
        for script in ("", "/etc/passwd.py", "../up.py", "a/../../b.py", "tasks/x.txt", "x",
                       "a\0b.py", "a" * 1022 + ".py", "builtin:"):
            reply = self.client.submit(script)
            self.assertErrorReply(reply, "bad_request")
        self.assertServing()

    def test_mistyped_fields(self):
        base = {"op": "submit", "script": "builtin:echo", "args": [1]}
        bad_fields = [{"script": 5}, {"script": b"ok.py"}, {"func": 7}, {"func": ""},
                      {"args": "x"}, {"args": {"a": 1}}, {"kwargs": [1]}, {"kwargs": {1: 2}},
                      {"type": "gpu"}, {"type": 1}, {"id": 5}, {"id": ""}, {"id": "x" * 129},
                      {"timeout_ms": "1000"}, {"timeout_ms": -1}, {"timeout_ms": 1.5},
                      {"max_retries": "1"}, {"max_retries": -2}]
        for fields in bad_fields:
            body = dict(base, **fields)
            body["corr"] = repr(fields)
            reply = self.client.request("frontend", body)
            self.assertErrorReply(reply, "bad_request")
            self.assertEqual(reply.get("corr"), repr(fields))
        for body in ({"op": "get"}, {"op": "get", "id": 5}, {"op": "get", "id": "x", "wait_ms": "5"},
                     {"op": "get", "id": "x", "wait_ms": -5}, {"op": "get_many"},
                     {"op": "get_many", "ids": "x"}, {"op": "get_many", "ids": [1, 2]},
                     {"op": "clear_cache", "script": ["x"]}):
            self.assertErrorReply(self.client.request("results", body), "bad_request")
        self.assertServing()

    def test_op_on_the_wrong_endpoint(self):
        tid = self.client.submit_ok("builtin:echo", [1])
        wrong = [("results", {"op": "submit", "script": "builtin:echo", "args": [1]}),
                 ("results", {"op": "submit_batch", "tasks": []}),
                 ("frontend", {"op": "get", "id": tid}),
                 ("frontend", {"op": "get_many", "ids": [tid]}),
                 ("frontend", {"op": "status"}),
                 ("frontend", {"op": "clear_cache"})]
        before = self.client.status()["tasks"]["submitted"]
        for endpoint, body in wrong:
            reply = self.client.request(endpoint, dict(body, corr=body["op"]))
            self.assertErrorReply(reply, "bad_request")
            self.assertEqual(reply["corr"], body["op"])
        self.assertEqual(self.client.status()["tasks"]["submitted"], before)
        self.assertServing()

    def test_more_than_eight_frames(self):
        body = pack({"op": "submit", "script": "builtin:echo", "args": ["frames"]})
        for endpoint in ("frontend", "results"):
            s = self.dealer(endpoint)
            # 7 envelope frames + body = 8 frames: allowed
            env = [b""] + [b"e%d" % i for i in range(6)]
            if endpoint == "results":
                body = pack({"op": "status"})
            s.send_multipart(env + [body])
            frames = recv_frames(s)
            self.assertEqual(frames[:-1], env)
            self.assertNotEqual(unpack(frames[-1])["op"], "error")
            # 9 and 20 frames: bad_request, the envelope recovered as far as it can be
            for n in (9, 20):
                s.send_multipart([b""] + [b"f"] * (n - 2) + [body])
                frames = recv_frames(s)
                self.assertEqual(frames[0], b"")
                self.assertErrorReply(unpack(frames[-1]), "bad_request")
        self.assertServing()

    def test_empty_message_body(self):
        s = self.dealer()
        s.send_multipart([b"", b""])
        frames = recv_frames(s)
        self.assertEqual(frames[0], b"")
        self.assertErrorReply(unpack(frames[-1]), "bad_request")
        self.assertServing()

    def test_too_large(self):
        big = "x" * (MAX_BYTES + 100)
        reply = self.client.submit("builtin:echo", [big])
        self.assertErrorReply(reply, "too_large")
        reply = self.client.request("results", {"op": "get", "id": "x", "corr": big})
        self.assertErrorReply(reply, "too_large")
        for envelope in ([], [b""]):
            s = self.dealer()
            s.send_multipart(envelope + [pack({"op": "submit", "script": "builtin:echo",
                                               "args": [big]})])
            frames = recv_frames(s)
            self.assertEqual(frames[:-1], envelope)
            self.assertErrorReply(unpack(frames[-1]), "too_large")
        # a batch of small tasks whose sum is over the limit
        tasks = [{"script": "builtin:echo", "args": ["y" * 1000]} for _ in range(70)]
        self.assertErrorReply(self.client.submit_batch(tasks), "too_large")
        # just under the limit works end to end
        fits = "z" * (MAX_BYTES - 2000)
        self.assertDone(self.client.run("builtin:echo", [fits]), fits)
        self.assertServing()

    def test_far_too_large_is_dropped_and_harmless(self):
        s = self.dealer()
        s.send_multipart([pack({"op": "submit", "script": "builtin:echo",
                                "args": ["h" * (MAX_BYTES * 4)]})])
        try:
            reply = unpack(recv_frames(s, 1000)[-1])
            self.assertErrorReply(reply, "too_large")     # answered if the connection held
        except ReplyTimeout:
            pass                                           # or dropped: both allowed
        self.assertServing()

    def test_result_near_the_limit(self):
        self.assertDone(self.client.run("big.py", [MAX_BYTES - 1000]), "x" * (MAX_BYTES - 1000))

    # BUG (see the report): a worker result far over max_message_bytes is lost
    # on the backend connection and the task stays "running" forever, holding
    # a slot of its worker. It must end (failed) instead.
    def test_oversized_result_fails_the_task(self):
        tid = self.client.submit_ok("big.py", [MAX_BYTES * 4])
        res = self.client.wait(tid, timeout_s=20)
        self.assertEqual(res["state"], "failed", res)
        self.assertEqual(self.client.status()["tasks"]["running"], 0)
        self.assertServing()

    def test_duplicate_id_live_and_cached(self):
        live = uid("live")
        self.assertEqual(self.client.submit("builtin:sleep", [500], id=live)["id"], live)
        reply = self.client.submit("builtin:echo", ["second"], id=live, corr=2)
        self.assertErrorReply(reply, "duplicate_id")
        self.assertEqual(reply.get("id"), live)
        self.assertEqual(reply.get("corr"), 2)
        self.assertDone(self.client.wait(live), None)          # the first one's result
        reply = self.client.submit("builtin:echo", ["third"], id=live)
        self.assertErrorReply(reply, "duplicate_id")          # now cached
        self.assertDone(self.client.get(live), None)
        failed = uid("failed")
        self.client.submit_ok("nope/missing.py", id=failed)
        self.assertFailed(self.client.wait(failed), "script_not_found")
        self.assertErrorReply(self.client.submit("builtin:echo", [1], id=failed), "duplicate_id")
        self.assertServing()


class QueueFull(FleetTestCase):
    """No cpu worker and max_queued 5: the cpu queue fills up and stays full."""
    FLEET = dict(broker={"max_queued": 5},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_queue_full(self):
        ids = [self.client.submit_ok("builtin:echo", [i], type="cpu") for i in range(5)]
        reply = self.client.submit("builtin:echo", [6], type="cpu", corr="full", id=uid("sixth"))
        self.assertErrorReply(reply, "queue_full")
        self.assertEqual(reply["corr"], "full")
        st = self.client.status()
        self.assertEqual(st["queues"]["cpu"]["depth"], 5)
        # a batch: every cpu entry refused, io entries still accepted
        reply = self.client.submit_batch([{"script": "builtin:echo", "args": [1], "type": "cpu"},
                                          {"script": "builtin:echo", "args": [2]}])
        self.assertIsNone(reply["ids"][0])
        self.assertEqual(reply["errors"][0]["code"], "queue_full")
        self.assertDone(self.client.wait(reply["ids"][1]), 2)
        # the io queue is independent
        self.assertServing()
        # queued tasks are pending, not lost
        for r in self.client.get_many(ids)["results"]:
            self.assertEqual(r["state"], "pending", r)
        # a cpu worker joining drains the queue; then there is room again
        self.fleet.start_worker("cpu", threads=1, worker_id="late-cpu")
        for i, r in enumerate(self.client.wait_many(ids)):
            self.assertDone(r, i)
        self.assertDone(self.client.run("builtin:echo", ["room"], type="cpu"), "room")


class ShuttingDown(FleetTestCase):
    """SIGTERM with a task running: new tasks are refused while it drains."""
    FLEET = dict(broker={"drain_timeout_ms": 20000},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_shutting_down(self):
        long_task = self.client.submit_ok("builtin:sleep", [2500])
        deadline = time.monotonic() + 20
        while self.client.get(long_task)["state"] != "running":
            self.assertLess(time.monotonic(), deadline, "the task never started")
            time.sleep(0.02)
        self.fleet.proc.send_signal(signal.SIGTERM)
        reply = None
        while time.monotonic() < deadline:
            reply = self.client.submit("builtin:echo", [1], corr="late")
            if reply.get("op") == "error":
                break
            time.sleep(0.02)
        self.assertErrorReply(reply, "shutting_down")
        self.assertEqual(reply["corr"], "late")
        batch = self.client.submit_batch([{"script": "builtin:echo", "args": [1]}])
        self.assertEqual(batch["errors"][0]["code"], "shutting_down")
        # results are still served during the drain, and the running task finishes
        res = self.client.wait(long_task)
        self.assertDone(res, None)
        self.assertEqual(self.fleet.proc.wait(30), 0, self.fleet.log_tail())
        self.assertEqual(workers_of(self.fleet.proc.pid), [], "local workers outlived the broker")
