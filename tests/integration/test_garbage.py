"""Garbage on the public endpoints: random bytes, truncated and hostile
msgpack, odd framings, raw TCP junk, from several sockets at once, while a
normal client keeps getting correct results (PROTOCOL.md: "It never stops the
broker, and never affects other clients")."""
import random
import socket
import threading

import msgpack
import zmq

from harness import Client, FleetTestCase, pack

SEED = 20240611
MESSAGES = 2000
REPLY_OPS = {b"error", b"accepted", b"accepted_batch", b"result", b"results", b"status", b"ok"}
SAFE_SCRIPTS = ["builtin:echo", "builtin:nope", "missing.py", "", "a/../b.py", "/abs.py",
                "echo.py", "x" * 2000]


class Fuzzer:
    """Seeded generator of hostile messages (lists of frames)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def value(self, depth=0):
        r = self.rng
        kinds = ["int", "bigint", "neg", "float", "str", "bytes", "nil", "bool", "ext"]
        if depth < 3:
            kinds += ["list", "map"]
        k = r.choice(kinds)
        if k == "int":
            return r.randint(0, 300)
        if k == "bigint":
            return r.choice([2**64 - 1, 2**63, 2**32, -2**63])
        if k == "neg":
            return -r.randint(1, 2**40)
        if k == "float":
            return r.choice([float("nan"), float("inf"), -0.0, 1e308, r.random()])
        if k == "str":
            return "".join(chr(r.randint(32, 0x2fff)) for _ in range(r.randint(0, 20)))
        if k == "bytes":
            return r.randbytes(r.randint(0, 40))
        if k == "nil":
            return None
        if k == "bool":
            return r.random() < 0.5
        if k == "ext":
            return msgpack.ExtType(r.randint(0, 127), r.randbytes(r.randint(0, 16)))
        if k == "list":
            return [self.value(depth + 1) for _ in range(r.randint(0, 5))]
        return {self.key(): self.value(depth + 1) for _ in range(r.randint(0, 5))}

    def key(self):
        return self.rng.choice(["op", "script", "args", "kwargs", "type", "id", "timeout_ms",
                                "max_retries", "corr", "ids", "wait_ms", "tasks", "func", "zz"])

    def request(self):
        """A plausible request with hostile field values (never a slow task)."""
        r = self.rng
        op = r.choice(["submit", "submit_batch", "get", "get_many", "status", "clear_cache",
                       "bogus", None, 7])
        body = {"op": op} if op is not None else {}
        for _ in range(r.randint(0, 6)):
            body[self.key()] = self.value()
        if op == "submit" or r.random() < 0.3:
            body["script"] = r.choice(SAFE_SCRIPTS)
        if "wait_ms" in body:
            body["wait_ms"] = r.randint(0, 50)
        if op == "submit_batch":
            body["tasks"] = [dict(self.request(), script=r.choice(SAFE_SCRIPTS))
                             for _ in range(r.randint(0, 4))]
        body.pop("timeout_ms", None)
        return body

    def body(self):
        r = self.rng
        k = r.randrange(12)
        if k == 0:
            return r.randbytes(r.randint(0, 300))
        if k == 1:
            data = pack(self.request())
            return data[:r.randint(0, max(0, len(data) - 1))]           # truncated
        if k == 2:
            return r.choice([b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff",
                             b"\xdb\xff\xff\xff\xff", b"\xc6\xff\xff\xff\xff",
                             b"\xc9\xff\xff\xff\xff\x05", b"\xdc\xff\xff", b"\xde\xff\xff",
                             b"\x81\xa2op\xdd\x7f\xff\xff\xff"])             # huge headers
        if k == 3:
            depth = r.choice([100, 1000, 10000, 100000])
            return (b"\x91" if r.random() < 0.5 else b"\x81\xa1k") * depth + b"\xc0"
        if k == 4:
            data = bytearray(pack(self.request()))
            for _ in range(r.randint(1, 4)):
                if data:
                    data[r.randrange(len(data))] = r.randrange(256)      # mutated
            return bytes(data)
        if k == 5:
            return pack({msgpack.ExtType(1, b"k"): 1, 5: "x", b"op": "submit", "op": "status"})
        if k == 6:
            return pack(self.value())                                     # any value
        if k == 7:
            return b""
        return pack(self.request())

    def frames(self):
        r = self.rng
        k = r.randrange(6)
        if k == 0:
            return [r.randbytes(r.randint(0, 8)) for _ in range(r.randint(2, 30))] + [self.body()]
        if k == 1:
            return [b""] * r.randint(1, 12)
        if k == 2:
            return [b"", self.body()]
        return [self.body()]


def check_reply(testcase, frames):
    # Decoded with raw=True: a client's own non-UTF-8 `corr` comes back as it
    # was sent. (Whether the broker's own strings are valid UTF-8 is checked
    # by test_errors.RequestErrors.test_replies_are_valid_utf8.)
    reply = msgpack.unpackb(frames[-1], raw=True, strict_map_key=False)
    testcase.assertIsInstance(reply, dict, frames)
    testcase.assertIn(reply.get(b"op"), REPLY_OPS, reply)


class Garbage(FleetTestCase):
    FLEET = dict(broker={"max_message_bytes": 1 << 20},
                 workers={"io": {"processes": 2, "threads": 4}, "cpu": {"processes": 1, "threads": 1}},
                 scripts={"echo.py": "def main(*a, **k):\n    return [list(a), k]\n"})

    def normal_client(self, stop, outcome):
        """Round trips with checked results until told to stop."""
        client = Client(self.fleet.endpoints)
        rng = random.Random(SEED + 1)
        try:
            while not stop.is_set() or outcome["ok"] < 20:
                value = {"n": outcome["ok"], "blob": rng.randbytes(rng.randint(0, 64)),
                         "s": "✓" * rng.randint(0, 5)}
                if rng.random() < 0.5:
                    res = client.run("builtin:echo", [value])
                    want = value
                else:
                    res = client.run("echo.py", [value], kwargs={"k": 1})
                    want = [[value], {"k": 1}]
                if res.get("state") != "done" or res.get("result") != want:
                    outcome["bad"].append(res)
                    return
                outcome["ok"] += 1
                if outcome["ok"] % 25 == 0:
                    st = client.status()
                    if st.get("op") != "status":
                        outcome["bad"].append(st)
                        return
        except Exception as e:        # reported by the main thread
            outcome["bad"].append(repr(e))
        finally:
            client.close()

    def drain(self, socks, counts):
        for s in socks:
            while True:
                try:
                    frames = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                check_reply(self, frames)
                counts["replies"] += 1

    def raw_tcp_junk(self, rng):
        for i in range(20):
            ep = self.fleet.endpoints["frontend" if i % 2 else "results"]
            host, port = ep[len("tcp://"):].rsplit(":", 1)
            with socket.create_connection((host, int(port)), timeout=5) as s:
                if i % 4 == 0:   # a valid ZMTP 3 greeting start, then junk
                    s.sendall(b"\xff" + b"\x00" * 8 + b"\x01\x7f\x03\x00NULL" + rng.randbytes(200))
                else:
                    s.sendall(rng.randbytes(rng.randint(1, 2000)))

    def test_garbage_does_not_disturb_a_normal_client(self):
        stop, outcome = threading.Event(), {"ok": 0, "bad": []}
        checker = threading.Thread(target=self.normal_client, args=(stop, outcome))
        checker.start()
        try:
            fuzz = Fuzzer(SEED)
            socks = [self.fleet.socket(zmq.DEALER, ep, SNDHWM=0, RCVHWM=0)
                     for ep in ("frontend", "results") * 3]
            counts = {"replies": 0}
            for i in range(MESSAGES):
                socks[fuzz.rng.randrange(len(socks))].send_multipart(fuzz.frames())
                if i % 50 == 0:
                    self.drain(socks, counts)
                if i == MESSAGES // 2:
                    self.raw_tcp_junk(fuzz.rng)
            for _ in range(20):
                zmq.select(socks, [], [], 0.05)
                self.drain(socks, counts)
        finally:
            stop.set()
            checker.join(120)
        self.assertFalse(checker.is_alive(), "the normal client hung")
        self.assertEqual(outcome["bad"], [], "the normal client saw a wrong answer")
        self.assertGreaterEqual(outcome["ok"], 20)
        self.assertGreater(counts["replies"], MESSAGES // 4, counts)
        self.assertTrue(self.fleet.alive(), self.fleet.log_tail())
        st = self.client.status()
        self.assertEqual(st["op"], "status")
        self.assertEqual(sum(1 for w in st["workers"] if w["alive"]), 3, st["workers"])
        self.assertServing()

    def test_hostile_bodies_each_answered_bad_request(self):
        """Each hostile body on its own is answered with an error map."""
        bodies = [b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff", b"\xc1",
                  b"\x91" * 100000 + b"\xc0", b"\x81\xa1k" * 50000 + b"\xc0",
                  pack({"op": msgpack.ExtType(3, b"submit")}),
                  pack({"op": "submit", "script": msgpack.ExtType(3, b"x.py")}),
                  pack({"op": "get", "id": "x", "wait_ms": msgpack.ExtType(1, b"")})]
        for endpoint in ("frontend", "results"):
            for body in bodies:
                reply = self.client.raw(endpoint, body)
                self.assertErrorReply(reply, "bad_request")
        self.assertServing()

    def test_ext_corr_is_echoed_or_refused(self):
        corr = msgpack.ExtType(7, b"\x01\x02")
        reply = self.client.submit("builtin:echo", [1], corr=corr)
        self.assertIn(reply["op"], ("accepted", "error"), reply)
        if reply["op"] == "accepted":
            self.assertEqual(reply["corr"], corr)
        self.assertServing()


class GarbageProxied(Garbage):
    """The same hostile traffic against several intake and result threads
    behind the proxies that own the public endpoints (the defaults, 1 and 1,
    have none)."""
    FLEET = dict(Garbage.FLEET, broker=dict(Garbage.FLEET["broker"], queue_threads=4, result_threads=2))
