"""Pipelined requests on one DEALER: replies may come back in any order and
are matched by `corr` (PROTOCOL.md: Transport and framing)."""
import collections

import zmq

from harness import FleetTestCase, pack, recv_frames, unpack

N = 2000


class Pipelining(FleetTestCase):

    def dealer(self, endpoint):
        # Unlimited HWMs: the test, not ZeroMQ, decides how much is in flight.
        return self.fleet.socket(zmq.DEALER, endpoint, SNDHWM=0, RCVHWM=0)

    def pipeline(self, sock, bodies, envelope):
        """Sends every body, then reads as many replies; returns the decoded bodies."""
        for body in bodies:
            sock.send_multipart(envelope + [pack(body)])
        replies = []
        for _ in bodies:
            frames = recv_frames(sock, 30000)
            self.assertEqual(frames[:-1], envelope)
            replies.append(unpack(frames[-1]))
        self.assertFalse(sock.poll(200, zmq.POLLIN), "more replies than requests")
        return replies

    def check_submits(self, envelope):
        front = self.dealer("frontend")
        tag = len(envelope)
        bodies = [{"op": "submit", "script": "builtin:echo", "args": [[tag, i]],
                   "corr": {"seq": i, "tag": tag}} for i in range(N)]
        replies = self.pipeline(front, bodies, envelope)

        by_corr = collections.Counter(r["corr"]["seq"] for r in replies)
        self.assertEqual(set(by_corr), set(range(N)), "a reply is missing")
        self.assertEqual(max(by_corr.values()), 1, "a reply came twice")
        for r in replies:
            self.assertEqual(r["op"], "accepted", r)
            self.assertEqual(r["corr"]["tag"], tag)
        ids = {r["corr"]["seq"]: r["id"] for r in replies}
        self.assertEqual(len(set(ids.values())), N, "ids must be distinct")

        ordered = [ids[i] for i in range(N)]
        results = self.client.wait_many(ordered, timeout_s=120)
        self.assertEqual([r["id"] for r in results], ordered)
        for i, r in enumerate(results):
            self.assertDone(r, [tag, i])
        return ordered

    def test_pipelined_submits_bare_framing(self):
        self.check_submits([])

    def test_pipelined_submits_delimiter_framing(self):
        self.check_submits([b""])

    def test_pipelined_gets_and_long_polls(self):
        ids = [self.client.submit_ok("builtin:echo", [i]) for i in range(200)]
        res = self.dealer("results")
        bodies = [{"op": "get", "id": tid, "wait_ms": 10000, "corr": i}
                  for i, tid in enumerate(ids)]
        bodies += [{"op": "status", "corr": "status-%d" % i} for i in range(50)]
        replies = self.pipeline(res, bodies, [b""])
        got = collections.Counter(repr(r.get("corr")) for r in replies)
        self.assertEqual(len(got), len(bodies))
        self.assertEqual(max(got.values()), 1)
        for r in replies:
            if r["op"] == "result":
                self.assertEqual(r["id"], ids[r["corr"]])
                self.assertDone(r, r["corr"])
            else:
                self.assertEqual(r["op"], "status", r)


class PipeliningProxied(Pipelining):
    """The same with several intake and result threads behind the proxies
    that own the public endpoints (the defaults, 1 and 1, have none)."""
    FLEET = dict(broker={"queue_threads": 4, "result_threads": 2})
