"""Issue 11, point 5: every limit on what a peer can make the broker hold is
a config key, and hitting it gives the protocol's error naming the key
(docs/protocol.md §7): parked gets (broker.max_waiters), delayed submits
(broker.max_delayed), the live-task table (broker.max_live) and result size
(broker.max_result_bytes). max_queued, max_batch and max_message_bytes are
covered by test_errors and test_batch.

The flood test: a broker with no workers and small limits takes submits,
delayed submits and parked gets far past every limit for several seconds;
its resident memory stays within what the limits imply (about 300 bytes of
broker memory per queued task, benchmarks/py/memory_per_task.py, plus the
payload) and every refusal is an answer (queue_full), never silence."""
import os
import threading
import time
import unittest
import uuid

import zmq

from harness import FleetTestCase, pack, poll, recv_frames, unpack
from procs import rss_bytes

BIG = """
def main(n):
    return "x" * n
"""


# ASan's shadow memory and quarantine break any bound on RSS (tools/sanitize).
ASAN = os.environ.get("ZFLEET_SANITIZE") == "address"


def uid(name):
    return "%s-%s" % (name, uuid.uuid4().hex[:12])


class WaitersLimit(FleetTestCase):
    """No cpu worker: a cpu task stays pending, and gets on it park."""
    FLEET = dict(broker={"max_waiters": 3},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def park(self, n, tid, wait_ms=20000):
        s = self.fleet.socket(zmq.DEALER, "results")
        for i in range(n):
            s.send(pack({"op": "get", "id": tid, "wait_ms": wait_ms, "corr": i}))
        st = poll(self.client.status, lambda st: st["waiters"] >= n, timeout_s=10)
        self.assertEqual(st["waiters"], n)
        return s

    def test_a_get_over_max_waiters_is_queue_full_naming_the_key(self):
        tid = self.client.submit_ok("builtin:echo", ["late"], type="cpu")
        parked = self.park(3, tid)
        reply = self.client.get(tid, wait_ms=5000, corr="fourth")
        self.assertErrorReply(reply, "queue_full")
        self.assertIn("broker.max_waiters", reply["message"])
        self.assertEqual(reply.get("id"), tid)
        self.assertEqual(reply.get("corr"), "fourth")
        reply = self.client.get_many([tid, "nope"], wait_ms=5000)
        self.assertErrorReply(reply, "queue_full")
        # What need not wait is still answered at the limit.
        self.assertEqual(self.client.get(tid)["state"], "pending")
        self.assertEqual(self.client.get("never-submitted", wait_ms=5000)["state"], "unknown")
        done = self.client.submit_ok("builtin:echo", [1])
        poll(lambda: self.client.get(done), lambda r: r["state"] == "done")
        self.assertEqual(self.client.get(done, wait_ms=5000)["state"], "done")
        self.assertEqual(self.client.status()["waiters"], 3)
        # The parked gets end with the task; then there is room again.
        self.client.request("results", {"op": "cancel", "id": tid})
        for _ in range(3):
            self.assertEqual(unpack(recv_frames(parked)[-1])["state"], "failed")
        poll(self.client.status, lambda st: st["waiters"] == 0, timeout_s=10)
        tid2 = self.client.submit_ok("builtin:echo", ["x"], type="cpu")
        self.assertEqual(self.client.get(tid2, wait_ms=200)["state"], "pending")
        self.client.request("results", {"op": "cancel", "id": tid2})
        self.assertServing()

    def test_expired_waiters_give_their_places_back(self):
        tid = self.client.submit_ok("builtin:echo", ["late"], type="cpu")
        parked = self.park(3, tid, wait_ms=300)
        for _ in range(3):
            self.assertEqual(unpack(recv_frames(parked)[-1])["state"], "pending")
        poll(self.client.status, lambda st: st["waiters"] == 0, timeout_s=10)
        self.assertEqual(self.client.get(tid, wait_ms=100)["state"], "pending")
        self.client.request("results", {"op": "cancel", "id": tid})


class DelayedLimit(FleetTestCase):
    FLEET = dict(broker={"max_delayed": 2},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_delayed_submits_over_max_delayed_are_queue_full_naming_the_key(self):
        a = self.client.submit_ok("builtin:echo", ["a"], delay_ms=60000)
        self.client.submit_ok("builtin:echo", ["b"], delay_ms=60000, type="cpu")  # per type
        self.client.submit_ok("builtin:echo", ["c"], delay_ms=60000, type="cpu")
        reply = self.client.submit("builtin:echo", ["d"], delay_ms=60000, type="cpu", corr=4)
        self.assertErrorReply(reply, "queue_full")
        self.assertIn("broker.max_delayed", reply["message"])
        self.assertEqual(reply["corr"], 4)
        # undelayed tasks of that type, and delayed ones of another, still go in
        self.client.submit_ok("builtin:echo", ["e"], type="cpu")
        b = self.client.submit_batch([{"script": "builtin:echo", "args": [1], "delay_ms": 60000},
                                      {"script": "builtin:echo", "args": [2], "delay_ms": 60000,
                                       "type": "cpu"}])
        self.assertIsNotNone(b["ids"][0], b)
        self.assertEqual(b["errors"][1]["code"], "queue_full", b)
        # two io delayed now: the third is refused
        reply = self.client.submit("builtin:echo", ["f"], delay_ms=60000)
        self.assertErrorReply(reply, "queue_full")
        # a cancel gives its place back, and so does a delay that ran out
        self.assertEqual(self.client.request("results", {"op": "cancel", "id": a})["outcome"],
                         "cancelled")
        short = self.client.submit_ok("builtin:echo", ["short"], delay_ms=200)
        self.assertDone(self.client.wait(short), "short")
        self.assertDone(self.client.run("builtin:echo", ["again"], delay_ms=10), "again")
        self.assertServing()


class LiveLimit(FleetTestCase):
    FLEET = dict(broker={"max_live": 3},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_submits_over_max_live_are_queue_full_naming_the_key(self):
        ids = [self.client.submit_ok("builtin:echo", [i], type="cpu") for i in range(3)]
        self.assertEqual(self.client.status()["live"], 3)
        reply = self.client.submit("builtin:echo", ["io too"], corr="x", id=uid("over"))
        self.assertErrorReply(reply, "queue_full")
        self.assertIn("broker.max_live", reply["message"])
        self.assertEqual(reply["corr"], "x")
        b = self.client.submit_batch([{"script": "builtin:echo", "args": [1]}])
        self.assertEqual(b["errors"][0]["code"], "queue_full", b)
        self.client.request("results", {"op": "cancel", "id": ids[0]})
        self.assertDone(self.client.run("builtin:echo", ["room"]), "room")
        self.assertEqual(self.client.status()["live"], 2)
        for tid in ids[1:]:
            self.client.request("results", {"op": "cancel", "id": tid})
        self.assertServing()


class ResultLimit(FleetTestCase):
    FLEET = dict(broker={"max_result_bytes": 4096},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}},
                 scripts={"big.py": BIG})

    def test_a_result_over_max_result_bytes_fails_naming_the_key(self):
        err = self.assertFailed(self.client.run("big.py", [5000]), "unserializable_result")
        self.assertIn("broker.max_result_bytes", err["message"])
        self.assertDone(self.client.run("big.py", [4000]), "x" * 4000)
        self.assertEqual(self.client.status()["tasks"]["running"], 0)
        self.assertServing()


# -- the flood ---------------------------------------------------------------

FLOOD_S = 6.0
# max_live under max_queued + max_delayed, so that every limit is hit.
LIMITS = {"max_queued": 20000, "max_delayed": 2000, "max_live": 21000, "max_waiters": 2000}
ARG = "p" * 100                 # each task's argument: its payload is about 140 bytes
TASK_BYTES = 300 + 2 * 160      # broker bytes per held task: measured ~300 + payload and id
WAITER_BYTES = 1024             # a parked get: envelope, id, slot, heap entry (~560 measured)
REPLY_BYTES = 256               # an unread reply held for a client (up to client_hwm each)
CLIENT_HWM = 10000
CONNECTIONS = 5                 # the flooders' and the test client's
GET_CAP = 150000                # the get flooder's most unanswered gets
BASE_SLACK = 16 << 20           # allocator arenas, libzmq buffers, thread stacks touched


class Flooder(threading.Thread):
    """Sends requests on one DEALER until `stop`, with at most `cap`
    unanswered, reading replies as they come and counting them by outcome.
    Silence with `cap` unanswered (the broker holding that many requests)
    is an error."""

    def __init__(self, sock, body, cap, stop):
        super().__init__(daemon=True)
        self.sock, self.body, self.cap, self.stop = sock, body, cap, stop
        self.counts = {}
        self.error = None

    def count(self, reply):
        if reply.get("op") == "accepted_batch":
            keys = [e["code"] if e else "accepted" for e in reply["errors"]]
        else:
            keys = [reply["code"] if reply.get("op") == "error" else reply.get("op")]
        for k in keys:
            self.counts[k] = self.counts.get(k, 0) + 1

    def run(self):
        try:
            outstanding = 0
            while not self.stop.is_set():
                for _ in range(200):
                    if outstanding >= self.cap:
                        break
                    self.sock.send(self.body)
                    outstanding += 1
                full = outstanding >= self.cap
                if not self.sock.poll(5000 if full else 10, zmq.POLLIN):
                    if full and not self.stop.is_set():
                        raise AssertionError("no reply for 5 s with %d unanswered" % outstanding)
                    continue
                while True:
                    try:
                        frames = self.sock.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    outstanding -= 1
                    self.count(unpack(frames[-1]))
        except Exception as e:  # reported by the test
            self.error = repr(e)


class Flood(FleetTestCase):
    FLEET = dict(broker=dict(LIMITS, client_hwm=CLIENT_HWM),
                 workers={"io": {"processes": 0}, "cpu": {"processes": 0}})

    def implied_bytes(self):
        held = LIMITS["max_live"] * TASK_BYTES + LIMITS["max_waiters"] * WAITER_BYTES
        return held + CONNECTIONS * CLIENT_HWM * REPLY_BYTES + BASE_SLACK

    def flooders(self, stop, pending_id):
        batch = pack({"op": "submit_batch",
                      "tasks": [{"script": "builtin:echo", "args": [ARG]}] * 100})
        delayed = pack({"op": "submit_batch",
                        "tasks": [{"script": "builtin:echo", "args": [ARG], "delay_ms": 3600000,
                                   "type": "cpu"}] * 20})
        get = pack({"op": "get", "id": pending_id, "wait_ms": 3600000})
        # The gets may go far past max_waiters: unbounded, GET_CAP parked
        # gets would cost more than the bound allows.
        kinds = [("frontend", batch, 8), ("frontend", batch, 8), ("frontend", delayed, 8),
                 ("results", get, GET_CAP)]
        out = []
        for ep, body, cap in kinds:
            sock = self.fleet.socket(zmq.DEALER, ep, SNDHWM=0, RCVHWM=0)
            out.append(Flooder(sock, body, cap, stop))
        return out

    @unittest.skipIf(ASAN, "an RSS bound: AddressSanitizer's own memory breaks it")
    def test_rss_stays_within_the_limits_under_a_flood(self):
        pid = self.fleet.proc.pid
        pending = self.client.submit_ok("builtin:echo", ["never runs"], type="cpu")
        time.sleep(0.5)
        base = rss_bytes(pid)
        stop = threading.Event()
        flooders = self.flooders(stop, pending)
        for f in flooders:
            f.start()
        peak, started = base, time.monotonic()
        try:
            while time.monotonic() - started < FLOOD_S:
                time.sleep(0.1)
                self.assertTrue(self.fleet.alive(), "the broker died\n" + self.fleet.log_tail())
                peak = max(peak, rss_bytes(pid))
            st = self.client.status()
        finally:
            stop.set()
            for f in flooders:
                f.join(30)
        self.assertEqual([f.error for f in flooders if f.error], [])
        totals = {}
        for f in flooders:
            for k, n in f.counts.items():
                totals[k] = totals.get(k, 0) + n
        held = LIMITS["max_live"]
        print("\nflood: %s; RSS base %.1f MiB, peak %.1f MiB, bound %.1f MiB" % (
            totals, base / 2**20, peak / 2**20, (base + self.implied_bytes()) / 2**20))
        # Far past every limit, and every refusal an answer.
        self.assertGreater(totals.get("queue_full", 0), 10 * held, totals)
        self.assertEqual(set(totals) - {"accepted", "queue_full", "result"}, set(), totals)
        self.assertLessEqual(st["queues"]["io"]["depth"], LIMITS["max_queued"], st["queues"])
        self.assertLessEqual(st["queues"]["cpu"]["delayed"], LIMITS["max_delayed"], st["queues"])
        self.assertLessEqual(st["live"], LIMITS["max_live"])
        self.assertLessEqual(st["waiters"], LIMITS["max_waiters"])
        self.assertEqual(st["waiters"], LIMITS["max_waiters"], "the gets should have filled it")
        self.assertLess(peak - base, self.implied_bytes(),
                        "RSS grew %.1f MiB" % ((peak - base) / 2**20))
        self.assertTrue(self.fleet.alive())
        self.assertEqual(self.client.status()["op"], "status")
