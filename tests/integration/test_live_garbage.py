"""Issue 11, point 7: live garbage on all four endpoints at once while a
producer runs real tasks. Frontend and results get test_garbage's hostile
requests; the backend (workers' ROUTER) gets random frames, hostile
msgpack in every link command, READYs that do not match their connection,
an impostor under a real worker's id, RESULTs for runs nobody holds, and a
fake worker that registers, takes tasks and answers none of them right;
the status endpoint gets forged heartbeats (real workers' ids with wrong
tokens, made-up ids, oversized ids and frames) and junk.

The broker must never die, its memory must stay bounded, every real task
must end `done` with the right result, and no real worker may be declared
lost because of a forged message.

`live_garbage(test, fleet_kwargs, ...)` is the whole scenario; the security
variant (CURVE on: no forged message has any effect at all) calls it with a
fleet that has a `security` section and `forged_effects=False`."""
import random
import re
import threading
import time
import unittest

import msgpack
import zmq

from harness import CTX, Client, FleetTestCase, pack
from test_garbage import REPLY_OPS, Fuzzer
from test_limits import ASAN, rss_bytes

RUN_S = 8.0
SEED = 20250111
MAX_BYTES = 1 << 20
RSS_BOUND = 64 << 20          # growth allowed over the RSS before the garbage starts
IMPOSTOR_MESSAGES = 300
ECHO = "def main(*a, **k):\n    return [list(a), k]\n"
# A small cache: the results of thousands of tasks are not what is measured.
FLEET = dict(broker={"max_message_bytes": MAX_BYTES, "worker_hwm": 10000},
             workers={"io": {"processes": 2, "threads": 4}, "cpu": {"processes": 1, "threads": 1}},
             cache={"max_entries": 2000, "max_bytes": 8 << 20},
             scripts={"echo.py": ECHO})


def hostile_body(rng):
    """Bytes that are almost msgpack, or msgpack of the wrong shape."""
    k = rng.randrange(7)
    if k == 0:
        return rng.randbytes(rng.randint(0, 200))
    if k == 1:   # huge length prefixes: str32, bin32, array32, map32, ext32
        return rng.choice([b"\xdb", b"\xc6", b"\xdd", b"\xdf", b"\xc9"]) + b"\xff\xff\xff\xff"
    if k == 2:   # deep nesting
        return (b"\x91" if rng.random() < 0.5 else b"\x81\xa1k") * rng.choice([64, 1000, 100000]) + b"\xc0"
    if k == 3:   # truncated
        data = pack({"id": "x" * 10, "type": "io", "threads": 4, "pid": 1, "incarnation": 7})
        return data[:rng.randrange(len(data))]
    if k == 4:   # wrong types everywhere
        return pack({"id": rng.choice([5, None, b"\xff", [1]]), "type": rng.choice([1, "gpu", None]),
                     "threads": rng.choice(["many", -1, 2**64 - 1, 1.5]), "pid": rng.choice(["p", 2**64 - 1]),
                     "token": "t", "incarnation": -3})
    if k == 5:
        return pack(rng.choice([[1, 2, 3], "str", 7, None, {1: 2}, msgpack.ExtType(1, b"x")]))
    return b""


class Peer(threading.Thread):
    """One garbage sender: calls step(rng) until stopped, reading (and
    dropping) whatever its sockets receive."""

    def __init__(self, stop, seed, name):
        super().__init__(daemon=True, name=name)
        self.stop, self.rng, self.sent, self.error = stop, random.Random(seed), 0, None
        self.socks = []

    def run(self):
        try:
            while not self.stop.is_set():
                try:
                    self.step(self.rng)
                    self.sent += 1
                    if self.sent % 20 == 0:
                        self.drain()
                        time.sleep(0.001)    # leaves the GIL to the producer
                except zmq.Again:     # no connection (refused, or dropped for a huge frame)
                    time.sleep(0.001)
        except Exception as e:   # reported by the test
            self.error = "%s: %r" % (self.name, e)

    def drain(self):
        for s in self.socks:
            if s.getsockopt(zmq.TYPE) == zmq.PUB:
                continue
            while True:
                try:
                    frames = s.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                self.on_reply(s, frames)

    def on_reply(self, sock, frames):
        pass


class PublicGarbage(Peer):
    """test_garbage's hostile requests on the frontend and results endpoints."""

    def __init__(self, stop, seed, connect):
        super().__init__(stop, seed, "public-garbage")
        self.fuzz = Fuzzer(seed)
        self.socks = [connect(zmq.DEALER, ep) for ep in ("frontend", "results") * 2]
        # Twins: two connections under one identity on each public endpoint.
        # Each takes the identity over from the other (ROUTER_HANDOVER) and
        # the loser reconnects: a churn of connections, each of which the
        # broker must drain and free.
        self.socks += [connect(zmq.DEALER, ep, ROUTING_ID=b"twin") for ep in ("frontend", "results") * 2]
        self.replies = 0

    def step(self, rng):
        sock = self.socks[rng.randrange(len(self.socks))]
        if rng.random() < 0.002:     # over max_message_bytes, or over what libzmq takes at all
            sock.send(b"\x81\xa2op" + b"x" * rng.choice([MAX_BYTES + 10, 3 * MAX_BYTES]), zmq.NOBLOCK)
        else:
            sock.send_multipart(self.fuzz.frames(), zmq.NOBLOCK)

    def on_reply(self, sock, frames):
        reply = msgpack.unpackb(frames[-1], raw=True, strict_map_key=False)
        if not isinstance(reply, dict) or reply.get(b"op") not in REPLY_OPS:
            raise AssertionError("not a ZFP/1 reply: %r" % (frames,))
        self.replies += 1


class BackendGarbage(Peer):
    """Nonsense from peers that never registered, and READYs that must not
    register anyone."""

    def __init__(self, stop, seed, connect, real_ids):
        super().__init__(stop, seed, "backend-garbage")
        self.connect, self.real_ids = connect, real_ids
        self.socks = [self.dealer("junk-%d" % i) for i in range(4)]
        # The backend ROUTER has no handover: a second connection under a
        # registered worker's id is refused, so nothing an impostor sends
        # may reach the broker as that worker. Only a burst: libzmq keeps
        # what a refused connection sends forever (see
        # test_backend_duplicate_identity_flood below).
        self.impostors = [self.dealer(wid) for wid in real_ids]
        self.socks += self.impostors
        self.impostor_budget = IMPOSTOR_MESSAGES

    def dealer(self, routing_id):
        return self.connect(zmq.DEALER, "backend", ROUTING_ID=routing_id.encode())

    def step(self, rng):
        sock = self.socks[rng.randrange(len(self.socks))]
        if sock in self.impostors:
            if self.impostor_budget == 0:
                sock = self.socks[rng.randrange(4)]
            else:
                self.impostor_budget -= 1
        k = rng.randrange(6) if rng.random() > 0.005 else 6
        if k == 0:
            frames = [rng.randbytes(rng.randint(0, 12)) for _ in range(rng.randint(1, 20))]
        elif k == 1:
            frames = [rng.choice(b"RDBGTCXSKZAW").to_bytes(1, "big")] + [
                hostile_body(rng) for _ in range(rng.randint(0, 5))]
        elif k == 2:   # a READY for another id than the connection's, or a real one's
            wid = rng.choice(self.real_ids + ["someone-else"])
            frames = [b"R", pack({"id": wid, "type": "io", "threads": 100000, "capacity": 100000,
                                  "pid": 1, "incarnation": rng.getrandbits(64)})]
        elif k == 3:   # RESULTs for runs nobody holds, well-formed or not
            meta = rng.choice([[rng.getrandbits(64), 1, True, 5], [1, 1, "yes", 5], [1], "m"])
            value = rng.choice([pack("forged"), hostile_body(rng), pack({"code": "exception"})])
            frames = [b"D", rng.randbytes(8), pack(meta), value]
        elif k == 4:
            frames = [rng.choice([b"B", b"G"])]
        elif k == 5:
            frames = [b"D", b"x", pack([1, 1, True, 1]), b"\xc1"]
        else:          # over 2 x max_message_bytes + 64 KiB: libzmq drops the connection
            frames = [b"D", b"x", pack([1, 1, True, 1]), b"\xc1" * (3 * MAX_BYTES)]
        sock.send_multipart(frames, zmq.NOBLOCK)


class FakeWorker(Peer):
    """Registers as an io worker claiming many threads, never heartbeats,
    answers every TASK it gets under a run number no one holds (stale) and
    registers again now and then as a new process: every task it takes must
    still end right, on a real worker."""

    def __init__(self, stop, seed, connect):
        super().__init__(stop, seed, "fake-worker")
        self.connect = connect
        self.sock = connect(zmq.DEALER, "backend", ROUTING_ID=b"fake-worker")
        self.socks = [self.sock]
        self.tasks_taken = 0
        self.next_ready = 0.0

    def step(self, rng):
        now = time.monotonic()
        if now >= self.next_ready:
            self.sock.send_multipart([b"R", pack({"id": "fake-worker", "type": "io", "host": "x",
                                                  "pid": 1, "threads": 64, "capacity": 64,
                                                  "incarnation": rng.getrandbits(63) + 1})], zmq.NOBLOCK)
            self.next_ready = now + 1.5
        self.drain()
        time.sleep(0.005)

    def on_reply(self, sock, frames):
        if frames[0] != b"T" or len(frames) != 4:
            return
        self.tasks_taken += 1
        dispatch = msgpack.unpackb(frames[2])[0]
        # 2^62 past it: dispatch numbers start below 2^60 (task_lifecycle.cpp),
        # so no worker holds this run.
        meta = pack([dispatch + (1 << 62), 1, True, 1])
        sock.send_multipart([b"D", frames[1], meta, pack("forged result")], zmq.NOBLOCK)


class StatusGarbage(Peer):
    """Forged heartbeats and junk on the status endpoint (PUB -> SUB)."""

    def __init__(self, stop, seed, connect, real_ids):
        super().__init__(stop, seed, "status-garbage")
        self.real_ids = real_ids
        self.socks = [connect(zmq.PUB, "status") for _ in range(2)]

    def heartbeat(self, rng, wid):
        return [b"hb", pack({"id": wid, "type": "io", "host": "x", "pid": 1, "threads": 4,
                             "capacity": 4, "incarnation": rng.getrandbits(64), "seq": 1,
                             "active": 0, "queued": 0, "done": 0, "failed": 0, "rss_bytes": 0,
                             "token": rng.choice([0, 1, rng.getrandbits(64)])})]

    def step(self, rng):
        sock = self.socks[rng.randrange(len(self.socks))]
        k = rng.randrange(6)
        if k == 0:
            frames = self.heartbeat(rng, rng.choice(self.real_ids))    # wrong token
        elif k == 1:
            frames = self.heartbeat(rng, "made-up-%d" % rng.getrandbits(32))
        elif k == 2:
            frames = self.heartbeat(rng, "x" * rng.choice([256, 60000]))
        elif k == 3:
            frames = [b"hb", hostile_body(rng)]
        elif k == 4:
            frames = [rng.randbytes(rng.randint(0, 8)) for _ in range(rng.randint(1, 6))]
        else:   # now and then over 64 KiB: not a heartbeat, its connection is dropped
            frames = [b"hb", b"\xc0" * (70000 if rng.random() < 0.02 else 10)]
        sock.send_multipart(frames, zmq.NOBLOCK)


def producer(client, stop, outcome):
    """Real tasks with checked results until told to stop (and at least 30)."""
    rng = random.Random(SEED)
    try:
        while not stop.is_set() or outcome["ok"] < 30:
            value = {"n": outcome["ok"], "blob": rng.randbytes(rng.randint(0, 64))}
            script, want = rng.choice([("builtin:echo", value), ("echo.py", [[value], {}])])
            res = client.wait(client.submit_ok(script, [value], max_retries=100), timeout_s=60)
            if res.get("state") != "done" or res.get("result") != want:
                outcome["bad"].append(res)
                return
            outcome["ok"] += 1
            outcome["attempts"] = max(outcome["attempts"], res.get("attempts", 0))
    except Exception as e:  # reported by the test
        outcome["bad"].append(repr(e))


def live_garbage(test, fleet_kwargs, garbage_curve=None, forged_effects=True):
    """Runs the scenario on a fresh fleet of `test` (a FleetTestCase) made
    from `fleet_kwargs`. garbage_curve: CurveKeys the garbage peers use, or
    a function of the fleet that gives them (None: no CURVE). forged_effects=False also asserts that nothing forged changed
    anything: no stale answer counted, no fake worker listed, every task run
    once."""
    fleet = test.new_fleet(**fleet_kwargs)
    if callable(garbage_curve):   # keys made with the fleet
        garbage_curve = garbage_curve(fleet)
    real_ids = [w["id"] for w in fleet.client().status()["workers"] if w["alive"]]

    curve_socks = []
    test.addCleanup(lambda: [s.close(0) for s in curve_socks])   # before the fleet's cleanup

    def connect(kind, ep, **opts):
        opts = dict(SNDHWM=10000, RCVHWM=10000, **opts)
        if garbage_curve is None:
            return fleet.socket(kind, ep, **opts)
        curve_socks.append(_curve_socket(fleet, kind, ep, garbage_curve, opts))
        return curve_socks[-1]

    stop, outcome = threading.Event(), {"ok": 0, "bad": [], "attempts": 0}
    peers = [PublicGarbage(stop, SEED + 1, connect), BackendGarbage(stop, SEED + 2, connect, real_ids),
             FakeWorker(stop, SEED + 3, connect), StatusGarbage(stop, SEED + 4, connect, real_ids)]
    client = Client(fleet.endpoints, curve=fleet.client_curve)
    prod = threading.Thread(target=producer, args=(client, stop, outcome), daemon=True)
    time.sleep(0.3)
    base = rss_bytes(fleet.proc.pid)
    samples = []
    for t in peers + [prod]:
        t.start()
    started = time.monotonic()
    try:
        while time.monotonic() - started < RUN_S:
            time.sleep(0.2)
            test.assertTrue(fleet.alive(), "the broker died\n" + fleet.log_tail())
            samples.append(rss_bytes(fleet.proc.pid))
    finally:
        stop.set()
        for t in peers:
            t.join(30)
        prod.join(120)
        client.close()
    report(test, fleet, peers, outcome, base, samples, real_ids, forged_effects)
    return fleet


def _curve_socket(fleet, kind, ep, curve, opts):
    sock = CTX.socket(kind)
    sock.setsockopt(zmq.LINGER, 0)
    for k, v in opts.items():
        sock.setsockopt(getattr(zmq, k), v)
    curve.apply(sock)
    sock.connect(fleet.endpoints[ep])
    return sock


def report(test, fleet, peers, outcome, base, samples, real_ids, forged_effects):
    sent = {p.name: p.sent for p in peers}
    peak = max(samples)
    print("\nlive garbage: %s; %d real tasks ok (max attempts %d); fake worker took %d; "
          "RSS base %.1f MiB, peak %.1f MiB" % (sent, outcome["ok"], outcome["attempts"],
                                                peers[2].tasks_taken, base / 2**20, peak / 2**20))
    test.assertEqual([p.error for p in peers if p.error], [])
    test.assertEqual(outcome["bad"], [], "a real task ended wrong")
    test.assertGreaterEqual(outcome["ok"], 30)
    test.assertTrue(fleet.alive(), fleet.log_tail())
    if not ASAN:   # its shadow memory and quarantine break any RSS bound
        test.assertLess(peak - base, RSS_BOUND, "RSS grew %.1f MiB" % ((peak - base) / 2**20))
        third = max(1, len(samples) // 3)
        test.assertLess(max(samples[-third:]), max(samples[:-third]) + (24 << 20),
                        "RSS still growing at the end: %s" % [s >> 20 for s in samples])
    st = fleet.client().status()
    alive = sorted(w["id"] for w in st["workers"] if w["alive"] and w["id"] in real_ids)
    test.assertEqual(alive, sorted(real_ids), st["workers"])
    with open(fleet.log_path, errors="replace") as f:
        log = f.read()
    for wid in real_ids:
        test.assertIsNone(re.search(r"worker %s lost" % re.escape(wid), log),
                          "a forged message got real worker %s declared lost" % wid)
    if not forged_effects:
        test.assertEqual(st["tasks"]["stale_results"], 0)
        test.assertEqual(outcome["attempts"], 1)
        test.assertEqual([w["id"] for w in st["workers"] if w["id"] not in real_ids], [])
    fleet.client().status()      # still answering


class LiveGarbage(FleetTestCase):
    FLEET = None   # each test makes its own fleet

    def test_live_garbage_on_all_four_endpoints(self):
        fleet = live_garbage(self, FLEET)
        self.fleet = fleet
        self.assertServing(fleet.client())

    def test_with_security_no_forged_message_has_any_effect(self):
        """CURVE on: the garbage peers hold a key allowed nowhere, so none
        of their connections opens; nothing forged reaches the broker."""
        fleet = live_garbage(self, dict(FLEET, security=True),
                             garbage_curve=lambda fleet: fleet.curve("keys/stranger"), forged_effects=False)
        self.fleet = fleet
        self.assertServing(fleet.client())

    @unittest.skipIf(ASAN, "an RSS bound: AddressSanitizer's own memory breaks it")
    def test_backend_duplicate_identity_flood(self):
        """A peer that connects under a routing id in use (here a worker's
        id), sends, disconnects and repeats. Without ROUTER_HANDOVER libzmq
        (4.3.4, router.cpp) parks such a connection as a pipe it never reads
        or frees: the broker grew ~10 MiB a cycle. The backend now lets the
        newer connection take the routing id over, which gains nothing: a
        worker's own routing id is random per process, and its worker id is
        bound to the connection its READY came on."""
        fleet = self.new_fleet(**FLEET)
        wid = [w["id"] for w in fleet.client().status()["workers"] if w["alive"]][0]
        base = rss_bytes(fleet.proc.pid)
        started = time.monotonic()
        while time.monotonic() - started < RUN_S:
            sock = CTX.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.ROUTING_ID, wid.encode())
            sock.setsockopt(zmq.SNDHWM, 10000)
            sock.connect(fleet.endpoints["backend"])
            burst = time.monotonic()
            while time.monotonic() - burst < 0.5:
                try:
                    sock.send_multipart([b"B", b"x" * 100], zmq.NOBLOCK)
                except zmq.Again:
                    time.sleep(0.001)
            sock.close(0)
        grown = rss_bytes(fleet.proc.pid) - base
        self.assertTrue(fleet.alive())
        self.assertLess(grown, RSS_BOUND, "RSS grew %.1f MiB" % (grown / 2**20))
