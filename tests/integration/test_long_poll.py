"""get / get_many with wait_ms: held until the task finishes or the wait
ends, many waiters at once (PROTOCOL.md: get, get_many)."""
import collections

import zmq

from harness import FleetTestCase, pack, recv_frames, unpack

SLOW = """
import time

def main(ms, value):
    time.sleep(ms / 1000.0)
    return value
"""


class LongPoll(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 2, "threads": 8}, "cpu": {"processes": 1, "threads": 2}},
                 scripts={"slow.py": SLOW})

    def test_wait_answers_done_when_task_finishes(self):
        tid = self.client.submit_ok("builtin:sleep", [300])
        res = self.client.get(tid, wait_ms=20000, corr="w")
        self.assertEqual(res["state"], "done", res)
        self.assertIsNone(res["result"])
        self.assertEqual(res["corr"], "w")
        self.assertEqual(res["id"], tid)

    def test_wait_python_task_result(self):
        tid = self.client.submit_ok("slow.py", [300, {"v": [1, 2]}])
        self.assertDone(self.client.get(tid, wait_ms=20000), {"v": [1, 2]})

    def test_wait_shorter_than_task_gives_pending_or_running(self):
        tid = self.client.submit_ok("builtin:sleep", [1500])
        res = self.client.get(tid, wait_ms=100)
        self.assertIn(res["state"], ("pending", "running"), res)
        self.assertEqual(res["id"], tid)
        self.assertNotIn("result", res)
        self.assertNotIn("error", res)
        # and then the same task finishes and is fetched
        self.assertDone(self.client.wait(tid), None)

    def test_wait_on_finished_task(self):
        tid = self.client.submit_ok("builtin:echo", ["x"])
        self.assertDone(self.client.wait(tid), "x")
        self.assertDone(self.client.get(tid, wait_ms=60000), "x")

    def test_failed_task_ends_the_wait(self):
        tid = self.client.submit_ok("builtin:sleep", ["not a number"])
        res = self.client.get(tid, wait_ms=20000)
        self.assertEqual(res["state"], "failed", res)
        self.assertIn("code", res["error"])

    def test_many_concurrent_waiters(self):
        shared = self.client.submit_ok("builtin:sleep", [400])
        own = [self.client.submit_ok("slow.py", [200 + 10 * i, i]) for i in range(25)]
        socks = []
        for i in range(50):
            s = self.fleet.socket(zmq.DEALER, "results")
            tid = shared if i % 2 == 0 else own[i // 2]
            envelope = [] if i % 3 else [b""]
            s.send_multipart(envelope + [pack({"op": "get", "id": tid, "wait_ms": 30000,
                                               "corr": i})])
            socks.append((s, tid, envelope))
        for i, (s, tid, envelope) in enumerate(socks):
            frames = recv_frames(s, 40000)
            self.assertEqual(frames[:-1], envelope)
            res = unpack(frames[-1])
            self.assertEqual(res["corr"], i)
            self.assertEqual(res["id"], tid)
            self.assertDone(res, None if tid == shared else own.index(tid))

    def test_many_waiters_on_one_dealer(self):
        ids = [self.client.submit_ok("builtin:sleep", [100 + 5 * i]) for i in range(40)]
        s = self.fleet.socket(zmq.DEALER, "results")
        for i, tid in enumerate(ids * 2):      # two waiters per task, same connection
            s.send_multipart([b"", pack({"op": "get", "id": tid, "wait_ms": 30000, "corr": i})])
        seen = collections.Counter()
        for _ in range(len(ids) * 2):
            res = unpack(recv_frames(s, 40000)[-1])
            self.assertEqual(res["state"], "done", res)
            self.assertEqual(res["id"], (ids * 2)[res["corr"]])
            seen[res["corr"]] += 1
        self.assertEqual(sorted(seen), list(range(len(ids) * 2)))
        self.assertEqual(set(seen.values()), {1})

    def test_get_many_with_wait(self):
        ids = [self.client.submit_ok("builtin:sleep", [100 * (i + 1)]) for i in range(5)]
        ids.append(self.client.submit_ok("slow.py", [250, "py"], type="cpu"))
        reply = self.client.get_many(ids, wait_ms=30000, corr=[1])
        self.assertEqual(reply["op"], "results")
        self.assertEqual(reply["corr"], [1])
        self.assertEqual([r["id"] for r in reply["results"]], ids)
        for r in reply["results"][:5]:
            self.assertDone(r, None)
        self.assertDone(reply["results"][5], "py")

    def test_get_many_wait_shorter_than_tasks(self):
        fast = self.client.submit_ok("builtin:echo", ["fast"])
        self.assertDone(self.client.wait(fast), "fast")
        slow = self.client.submit_ok("builtin:sleep", [1500])
        reply = self.client.get_many([fast, slow], wait_ms=100)
        fast_res, slow_res = reply["results"]
        self.assertDone(fast_res, "fast")
        self.assertIn(slow_res["state"], ("pending", "running"), slow_res)
        self.assertDone(self.client.wait(slow), None)

    def test_get_many_with_wait_and_unknown(self):
        tid = self.client.submit_ok("builtin:sleep", [200])
        reply = self.client.get_many([tid, "no-such-task"], wait_ms=30000)
        self.assertDone(reply["results"][0], None)
        self.assertEqual(reply["results"][1]["state"], "unknown")
