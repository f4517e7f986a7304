"""Defect 8: 100,000 long-poll gets parked on one id, expiring together, or
answered together when the task ends.

Expiring the waiters of one id used to cost O(N^2) (each expiring waiter
scanned every index entry of its id): 10,000 stalled a result thread for
0.3 s, 100,000 for 91 s. The acceptance criterion of the issue: while they
expire, the results endpoint keeps answering `status` within 50 ms, and
every parked get is answered (pending or running).

The gets come pipelined from a few DEALER sockets (under broker.client_hwm,
100,000 per connection, each); each asks for a wait that ends at the same
instant T. A reader thread collects the replies; the main thread sends
`status` over its own REQ socket throughout and times each round trip.
"""
import sys
import threading
import time

import zmq

from harness import FleetTestCase, ReplyTimeout, pack, unpack

N_GETS = 100_000
N_SOCKETS = 4                 # 25,000 gets per connection, well under client_hwm
STATUS_BUDGET_S = 0.050       # the acceptance criterion
SEND_AHEAD_S = 6.0            # T is this far after the first get is sent
REPLY_TIMEOUT_S = 30.0        # after T: bounds the run if the broker stalls


class Replies(threading.Thread):
    """Reads every reply off the DEALER sockets; records when the first and
    last arrived. Bodies are decoded later, so the thread holds the GIL as
    little as possible while the main thread times status round trips."""

    def __init__(self, socks, expected, deadline):
        super().__init__(daemon=True)
        self.socks, self.expected, self.deadline = socks, expected, deadline
        self.bodies = []
        self.first_at = self.last_at = None
        self.stopping = False

    def stop(self):
        """Ends the thread before the fleet closes its sockets (test cleanup)."""
        self.stopping = True
        self.join()

    def run(self):
        poller = zmq.Poller()
        for s in self.socks:
            poller.register(s, zmq.POLLIN)
        while (len(self.bodies) < self.expected and time.monotonic() < self.deadline
               and not self.stopping):
            for s, _ in poller.poll(100):
                while True:
                    try:
                        frames = s.recv_multipart(zmq.NOBLOCK)
                    except zmq.Again:
                        break
                    now = time.monotonic()
                    self.first_at = self.first_at or now
                    self.last_at = now
                    self.bodies.append(frames[-1])


class WaitersScale(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_100k_gets_on_one_id_expire_while_status_answers_within_50ms(self):
        started = time.monotonic()
        tid = self.client.submit_ok("builtin:sleep", [60000])
        self.assertEqual(self._wait_running(tid), "running")
        socks = [self.fleet.socket(zmq.DEALER, "results", SNDHWM=0, RCVHWM=0)
                 for _ in range(N_SOCKETS)]
        prober = self.fleet.client(timeout_ms=5000)
        prober.status()                      # connected before the burst

        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)        # the reader yields the GIL quickly
        self.addCleanup(sys.setswitchinterval, old_interval)

        expire_at = time.monotonic() + SEND_AHEAD_S
        reader = Replies(socks, N_GETS, expire_at + REPLY_TIMEOUT_S)
        reader.start()
        self.addCleanup(reader.stop)
        for i in range(N_GETS):
            wait_ms = int((expire_at - time.monotonic()) * 1000)
            socks[i % N_SOCKETS].send_multipart(
                [b"", pack({"op": "get", "id": tid, "wait_ms": wait_ms, "corr": i})])
        sent_at = time.monotonic()
        self.assertLess(sent_at, expire_at - 1.0, "sending the gets took too long to test")

        probes = self._probe_status(prober, reader, expire_at)
        reader.join(REPLY_TIMEOUT_S)
        self._check_replies(reader.bodies, tid)

        burst = sorted(lat for t, lat in probes if reader.first_at - 0.01 <= t <= reader.last_at)
        worst = max(lat for _, lat in probes)
        sys.stderr.write(
            "\n[waiters scale] %d gets sent in %.2f s; replies over %.0f ms; %d status probes, "
            "%d during the replies (median %.1f ms); slowest %.1f ms; test ran %.1f s\n" % (
                N_GETS, sent_at - (expire_at - SEND_AHEAD_S),
                (reader.last_at - reader.first_at) * 1000, len(probes), len(burst),
                burst[len(burst) // 2] * 1000 if burst else 0, worst * 1000,
                time.monotonic() - started))
        self.assertGreater(len(burst), 0, "no status probe overlapped the expiry burst")
        slow = [round(lat * 1000, 1) for _, lat in probes if lat > STATUS_BUDGET_S]
        self.assertEqual(slow, [], "status replies slower than 50 ms (in ms)")

    def _wait_running(self, tid):
        deadline = time.monotonic() + 20
        state = None
        while time.monotonic() < deadline:
            state = self.client.get(tid)["state"]
            if state == "running":
                break
            time.sleep(0.02)
        return state

    def _probe_status(self, prober, reader, expire_at):
        """Times status round trips from shortly before T until every reply
        is in (or the reader gives up); returns [(sent_at, latency_s)]."""
        while time.monotonic() < expire_at - 0.5:
            time.sleep(0.01)
        probes = []
        while reader.is_alive():
            t = time.monotonic()
            try:
                reply = prober.status()
            except ReplyTimeout:
                self.fail("status unanswered for 5 s while the waiters expired")
            probes.append((t, time.monotonic() - t))
            self.assertEqual(reply["op"], "status", reply)
            time.sleep(0.002)
        return probes

    def _check_replies(self, bodies, tid, states=("pending", "running")):
        self.assertEqual(len(bodies), N_GETS, "not every parked get was answered")
        seen = bytearray(N_GETS)
        for body in bodies:
            res = unpack(body)
            self.assertEqual(res["id"], tid, res)
            self.assertIn(res["state"], states, res)
            self.assertEqual(seen[res["corr"]], 0, res)
            seen[res["corr"]] = 1
        self.assertEqual(sum(seen), N_GETS)


class WaitersAnswered(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_100k_gets_on_one_id_answered_while_status_answers_within_50ms(self):
        tid = self.client.submit_ok("builtin:sleep", [60000])
        deadline = time.monotonic() + 20
        while self.client.get(tid)["state"] != "running" and time.monotonic() < deadline:
            time.sleep(0.02)
        socks = [self.fleet.socket(zmq.DEALER, "results", SNDHWM=0, RCVHWM=0)
                 for _ in range(N_SOCKETS)]
        prober = self.fleet.client(timeout_ms=5000)
        prober.status()
        old_interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        self.addCleanup(sys.setswitchinterval, old_interval)
        reader = Replies(socks, N_GETS, time.monotonic() + 60)
        reader.start()
        self.addCleanup(reader.stop)
        for i in range(N_GETS):
            socks[i % N_SOCKETS].send_multipart(
                [b"", pack({"op": "get", "id": tid, "wait_ms": 40000, "corr": i})])
        # Every get parked (status is served by the same thread after them).
        time.sleep(1.0)
        prober.status()
        canceller = self.fleet.client()
        probes = []
        cancel = threading.Thread(target=lambda: canceller.request(
            "results", {"op": "cancel", "id": tid}), daemon=True)
        cancel.start()
        while reader.is_alive():
            t = time.monotonic()
            try:
                self.assertEqual(prober.status()["op"], "status")
            except ReplyTimeout:
                self.fail("status unanswered for 5 s while the waiters were answered")
            probes.append((t, time.monotonic() - t))
            time.sleep(0.002)
        cancel.join(10)
        reader.join(10)
        WaitersScale._check_replies(self, reader.bodies, tid, states=("failed",))
        burst = [lat for t, lat in probes if reader.first_at - 0.01 <= t <= reader.last_at]
        sys.stderr.write("\n[waiters answered] replies over %.0f ms; %d status probes during "
                         "them; slowest %.1f ms\n" % ((reader.last_at - reader.first_at) * 1000,
                                                      len(burst), max(lat for _, lat in probes) * 1000))
        self.assertGreater(len(burst), 0, "no status probe overlapped the answers")
        slow = [round(lat * 1000, 1) for _, lat in probes if lat > STATUS_BUDGET_S]
        self.assertEqual(slow, [], "status replies slower than 50 ms (in ms)")
