"""The broker journal across crashes (issue 10): kill -9 of the broker under
load, the loss window of each fsync policy, and local workers that must not
outlive their broker.

Every test runs its own fleet with `broker.journal` set and breaks it on
purpose. Outcomes and counts are asserted; times only as generous bounds.
"""
import itertools
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import deque

import zmq

from harness import CTX, FINAL_STATES, FleetTestCase, pack, pid_alive, poll, unpack

GET_CHUNK = 5000           # ids per get_many (under broker.max_batch)


def journal(path, fsync, every_ms=None):
    """The broker.journal section; a relative path is under the fleet's folder."""
    cfg = {"path": path, "fsync": fsync}
    if every_ms is not None:
        cfg["every_ms"] = every_ms
    return {"journal": cfg}


def task_of(n):
    """Task n of the crash load: mostly builtin:echo of its own id, every
    fifth one a builtin:sleep of 1-3 ms. Returns (task fields, expected result)."""
    if n % 5 == 4:
        return {"script": "builtin:sleep", "args": [1 + n % 3]}, None
    return {"script": "builtin:echo", "args": ["k%d" % n]}, "k%d" % n


def states(client, ids, wait_ms=0):
    """{id: result map} for every id, through get_many in chunks."""
    out = {}
    for i in range(0, len(ids), GET_CHUNK):
        chunk = ids[i:i + GET_CHUNK]
        reply = client.get_many(chunk, wait_ms=wait_ms)
        for tid, res in zip(chunk, reply["results"]):
            out[tid] = res
    return out


class Producer(threading.Thread):
    """One burst of load on its own DEALER: plain `submit`s with client-chosen
    ids, `window` outstanding, matched by `corr`. It first (re)submits `todo`,
    the ids earlier bursts sent without seeing an answer, then new ids from
    `fresh` (None: stop once `todo` is answered).

    The exactly-once pattern: an id counts as acknowledged on `accepted` or on
    `duplicate_id` (the broker had already acknowledged it, or would have: the
    reply was lost in a crash). Whatever is still unanswered when the burst
    stops goes to `unsure`, to be resubmitted by the next burst.
    """

    def __init__(self, endpoint, todo, fresh, window):
        super().__init__(daemon=True)
        self.endpoint = endpoint
        self.todo = deque(todo)
        self.fresh = fresh
        self.window = window
        self.halt = threading.Event()
        self.first_ack = threading.Event()
        self.accepted, self.duplicates, self.unsure, self.refused = [], [], [], []
        self.failure = None

    def run(self):
        sock = CTX.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(self.endpoint)
        outstanding = {}
        corr = itertools.count(1)
        try:
            while not self.halt.is_set():
                while len(outstanding) < self.window:
                    if self.todo:
                        item = self.todo.popleft()
                    elif self.fresh is not None:
                        item = next(self.fresh)
                    else:
                        break
                    c = next(corr)
                    outstanding[c] = item
                    sock.send(pack(dict(item[1], op="submit", id=item[0], corr=c)), zmq.NOBLOCK)
                if self.fresh is None and not self.todo and not outstanding:
                    break
                if sock.poll(20, zmq.POLLIN):
                    self._drain(sock, outstanding)
            # Replies that reached this socket before the broker died still count.
            deadline = time.monotonic() + 0.3
            while outstanding and time.monotonic() < deadline:
                if sock.poll(50, zmq.POLLIN):
                    self._drain(sock, outstanding)
        except Exception as e:       # reported by the test, not lost in a thread
            self.failure = e
        finally:
            self.unsure.extend(outstanding.values())
            sock.close(0)

    def _drain(self, sock, outstanding):
        while True:
            try:
                reply = unpack(sock.recv_multipart(zmq.NOBLOCK)[-1])
            except zmq.Again:
                return
            item = outstanding.pop(reply.get("corr"), None)
            if item is None:
                continue
            if reply.get("op") == "accepted" and reply.get("id") == item[0]:
                self.accepted.append(item[0])
                self.first_ack.set()
            elif reply.get("op") == "error" and reply.get("code") == "duplicate_id":
                self.duplicates.append(item[0])
            else:                     # shutting_down, queue_full...: not acknowledged
                self.refused.append(reply)
                self.unsure.append(item)


class KillUnderLoad(FleetTestCase):
    FLEET = None
    KILLS = 20

    def test_kill9_under_load_with_fsync_always(self):
        fleet = self.new_fleet(
            broker=journal("journal", "always"),
            workers={"io": {"processes": 2, "threads": 4}, "cpu": {"processes": 0}})
        # A hand-started worker outlives every broker: its answers to runs of
        # a killed broker reach the next one (matched by attempt, never twice).
        fleet.start_worker("io", threads=2, worker_id="remote-" + uuid.uuid4().hex[:6])
        fleet.wait_ready(3)
        seed = int(os.environ.get("ZFLEET_CRASH_SEED", random.randrange(1 << 30)))
        rng = random.Random(seed)
        expected = {}                     # id -> expected result

        def fresh():
            for n in itertools.count():
                task, result = task_of(n)
                expected["k%d" % n] = result
                yield "k%d" % n, task

        gen = fresh()
        acked, finals = set(), {}
        unsure, damaged, duplicates, recovered_unacked = [], 0, 0, 0
        for round_ in range(self.KILLS):
            prod = Producer(fleet.endpoints["frontend"], unsure, gen, window=100)
            prod.start()
            self.assertTrue(prod.first_ack.wait(20), "no submit acknowledged in round %d (seed %d)\n%s"
                            % (round_, seed, fleet.log_tail()))
            time.sleep(rng.uniform(0.01, 0.4))
            fleet.stop_broker(signal.SIGKILL)
            prod.halt.set()
            prod.join(20)
            self.assertIsNone(prod.failure, "producer failed (seed %d)" % seed)
            acked.update(prod.accepted)
            acked.update(prod.duplicates)
            duplicates += len(prod.duplicates)
            unsure = prod.unsure
            fleet.start_broker(3)
            client = fleet.client()
            st = client.status()
            damaged += bool(st["journal"]["damage"])
            seen = states(client, sorted(acked))
            self.check_round(seen, expected, finals, "round %d (seed %d)" % (round_, seed))
            # Unanswered submits: the broker may or may not have taken them.
            maybe = states(client, [i for i, _ in unsure])
            recovered_unacked += sum(1 for r in maybe.values() if r["state"] != "unknown")
            client.close()

        # No more kills: resubmit what was never answered, then everything finishes.
        prod = Producer(fleet.endpoints["frontend"], unsure, None, window=100)
        prod.start()
        prod.join(60)
        self.assertFalse(prod.is_alive())
        self.assertIsNone(prod.failure)
        self.assertEqual(prod.refused, [])
        self.assertEqual(prod.unsure, [])
        acked.update(prod.accepted)
        acked.update(prod.duplicates)
        duplicates += len(prod.duplicates)
        client = fleet.client()
        ids = sorted(acked)
        deadline = time.monotonic() + 90
        while True:
            seen = states(client, ids, wait_ms=2000)
            if all(r["state"] in FINAL_STATES for r in seen.values()) or time.monotonic() > deadline:
                break
        self.check_round(seen, expected, finals, "the end (seed %d)" % seed)
        not_done = [r for r in seen.values() if r["state"] != "done"]
        self.assertEqual(not_done[:5], [], "%d acknowledged tasks not done (seed %d)" % (len(not_done), seed))
        st = client.status()
        sys.stderr.write("\n[kill -9 x %d, fsync always, seed %d] acknowledged %d (%d by duplicate_id), "
                         "taken without an answer %d, restarts with a damaged tail %d, "
                         "re-run after a crash %d; last broker: %d records, %d fsyncs\n" % (
                             self.KILLS, seed, len(acked), duplicates, recovered_unacked, damaged,
                             sum(1 for r in seen.values() if r["attempts"] > 1),
                             st["journal"]["records"], st["journal"]["fsyncs"]))

    def check_round(self, seen, expected, finals, where):
        lost = [tid for tid, r in seen.items() if r["state"] not in ("pending", "running", "done", "failed")]
        self.assertEqual(lost[:10], [], "%s: %d acknowledged tasks lost" % (where, len(lost)))
        for tid, r in seen.items():
            if r["state"] not in FINAL_STATES:
                continue
            self.assertEqual(r["state"], "done", "%s: %r" % (where, r))
            self.assertEqual(r["result"], expected[tid], "%s: %r" % (where, r))
            self.assertGreaterEqual(r["attempts"], 1, r)
            first = finals.setdefault(tid, r)
            self.assertEqual(first, r, "%s: %s reached two final states" % (where, tid))

