"""Workers cannot lie about who they are (issue 11, point 2), tried from
outside with fake workers speaking the internal link (common/worker_link.h):

- a READY under a live worker's id is refused (no ROUTER_HANDOVER): the real
  worker keeps its id and its tasks;
- heartbeats without the token of the worker's WELCOME keep nobody alive;
- a worker that takes tasks and never answers (its heartbeats say it runs
  nothing) is declared unhealthy and its tasks go elsewhere long before
  their timeout;
- a claim of 100,000 threads is capped at workers.max_threads;
- a pool thread's results socket (routing id ROUTE#N, issue 14) speaks for
  the worker whose route it names, and only with RESULTs: one naming a route
  nobody holds changes nothing.
"""
import os
import signal
import threading
import time
import uuid

import msgpack
import zmq

from harness import CTX, FleetTestCase, poll

FAST = {"heartbeat_ms": 100, "liveness": 4}


def ready_frames(wid, threads, incarnation):
    info = {"id": wid, "type": "io", "host": "fake", "pid": 1, "threads": threads,
            "capacity": threads, "incarnation": incarnation}
    return [b"R", msgpack.packb(info)]


def heartbeat(wid, threads, token, active=0, queued=0, seq=1):
    body = {"id": wid, "type": "io", "host": "fake", "pid": 1, "threads": threads,
            "capacity": threads, "incarnation": 1, "seq": seq, "active": active,
            "queued": queued, "done": 0, "failed": 0, "rss_bytes": 0, "token": token}
    return [b"hb", msgpack.packb(body)]


class FakeWorker:
    """A DEALER + PUB pair that registers like a worker and then does only
    what the test tells it to."""

    def __init__(self, fleet, wid, threads, incarnation=7):
        self.wid, self.threads = wid, threads
        self.dealer = fleet.socket(zmq.DEALER, "backend", ROUTING_ID=wid.encode())
        self.pub = fleet.socket(zmq.PUB, "status")
        self.dealer.send_multipart(ready_frames(wid, threads, incarnation))
        self.token = 0
        self.tasks = []
        self.dispatches = {}  # task id -> dispatch number

    def pump(self, timeout_ms=50):
        """Reads what the broker sent: WELCOME tokens and TASKs (never answered)."""
        while self.dealer.poll(timeout_ms):
            frames = self.dealer.recv_multipart()
            if frames[0] == b"W":
                self.token = msgpack.unpackb(frames[1])
            elif frames[0] == b"T":
                self.tasks.append(frames[1].decode())
                self.dispatches[frames[1].decode()] = msgpack.unpackb(frames[2])[0]
            timeout_ms = 0


class WorkerIdentity(FleetTestCase):
    FLEET = None

    def test_ready_under_a_live_workers_id_is_refused(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 0}, cpu={"processes": 0}),
                               ready_workers=0)
        c = fleet.client()
        wid = "real-" + uuid.uuid4().hex[:6]
        fleet.start_worker("io", threads=2, worker_id=wid)
        fleet.wait_ready(1)
        tid = c.submit_ok("builtin:sleep", [1500])
        poll(lambda: c.get(tid)["state"], lambda s: s == "running")
        impostor = fleet.socket(zmq.DEALER, "backend", ROUTING_ID=wid.encode())
        for _ in range(5):
            impostor.send_multipart(ready_frames(wid, 100, 99))
            time.sleep(0.05)
        res = c.wait(tid, timeout_s=10)
        self.assertEqual((res["state"], res["worker"], res["attempts"]), ("done", wid, 1), res)
        st = c.status()
        mine = [w for w in st["workers"] if w["id"] == wid]
        self.assertEqual(len(mine), 1)
        self.assertTrue(mine[0]["alive"])
        self.assertEqual(mine[0]["threads"], 2)  # not the impostor's 100
        self.assertEqual(st["tasks"]["retried"], 0)

    def test_forged_heartbeats_keep_no_stopped_worker_alive(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 1, "threads": 2},
                                            cpu={"processes": 0}))
        c = fleet.client()
        w = c.status()["workers"][0]
        tid = c.submit_ok("builtin:sleep", [3000], max_retries=0)
        poll(lambda: c.get(tid)["state"], lambda s: s == "running")
        pub = fleet.socket(zmq.PUB, "status")
        os.kill(w["pid"], signal.SIGSTOP)
        try:
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:  # 5x the liveness window
                for token in (0, 12345):
                    pub.send_multipart(heartbeat(w["id"], 2, token, active=1))
                time.sleep(0.02)
            st = c.status()
            # Dead, then forgotten after its retention: never alive.
            self.assertFalse(any(x["alive"] for x in st["workers"] if x["id"] == w["id"]), st)
            res = c.get(tid)
            self.assertEqual((res["state"], res["error"]["code"]), ("failed", "worker_lost"), res)
        finally:
            os.kill(w["pid"], signal.SIGCONT)

    def test_worker_that_never_answers_is_unhealthy_and_its_tasks_move(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 0}, cpu={"processes": 0}),
                               ready_workers=0)
        c = fleet.client()
        sink = FakeWorker(fleet, "sink", threads=8)
        poll(lambda: (sink.pump(), sink.token)[1], lambda t: t != 0, timeout_s=5)
        self.assertNotEqual(sink.token, 0, "no WELCOME")
        stop = threading.Event()

        def beat():
            seq = 0
            while not stop.is_set():
                seq += 1
                sink.pub.send_multipart(heartbeat("sink", 8, sink.token, seq=seq))
                time.sleep(0.05)

        beater = threading.Thread(target=beat, daemon=True)
        beater.start()
        self.addCleanup(lambda: (stop.set(), beater.join(2)))
        t0 = time.monotonic()
        ids = [c.submit_ok("builtin:echo", [i], timeout_ms=60000) for i in range(8)]
        poll(lambda: (sink.pump(), len(sink.tasks))[1], lambda n: n == 8, timeout_s=5)
        self.assertEqual(len(sink.tasks), 8, "the sink was not given the tasks")
        fleet.start_worker("io", threads=2, worker_id="honest-" + uuid.uuid4().hex[:6])
        results = c.wait_many(ids, timeout_s=30)
        self.assertEqual([r["state"] for r in results], ["done"] * 8, results)
        self.assertLess(time.monotonic() - t0, 15, "tasks waited for their 60 s timeout")
        self.assertIn("unhealthy", fleet.log_tail(400))

    def test_results_sockets_speak_only_for_their_own_worker(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 0}, cpu={"processes": 0}),
                               ready_workers=0)
        c = fleet.client()
        route = "sink-" + uuid.uuid4().hex[:6]
        sink = FakeWorker(fleet, route, threads=2)
        ids = [c.submit_ok("builtin:echo", [i], timeout_ms=60000) for i in range(2)]
        poll(lambda: (sink.pump(), len(sink.tasks))[1], lambda n: n == 2, timeout_s=5)
        self.assertEqual(sorted(sink.tasks), sorted(ids))

        def result(tid, value):
            meta = msgpack.packb([sink.dispatches[tid], 1, True, 10])
            return [b"D", tid.encode(), meta, msgpack.packb(value)]

        # A route nobody holds, and the sink's own results socket saying
        # something other than RESULT: both ignored, the broker serves on.
        stranger = fleet.socket(zmq.DEALER, "backend", ROUTING_ID=b"nobody-route#0")
        stranger.send_multipart(result(ids[0], "forged"))
        own = fleet.socket(zmq.DEALER, "backend", ROUTING_ID=(route + "#1").encode())
        own.send_multipart(ready_frames(route, 100, 8))
        own.send_multipart([b"B"])
        time.sleep(0.3)
        self.assertEqual([c.get(t)["state"] for t in ids], ["running", "running"])
        # The sink's results socket answers for the sink.
        own.send_multipart(result(ids[0], "from #1"))
        own.send_multipart(result(ids[1], "also"))
        res = c.wait_many(ids, timeout_s=10)
        self.assertEqual([(r["state"], r["result"], r["worker"]) for r in res],
                         [("done", "from #1", route), ("done", "also", route)], res)
        (w,) = [x for x in c.status()["workers"] if x["id"] == route]
        self.assertEqual((w["alive"], w["threads"]), (True, 2), w)  # the READY on #1 changed nothing

    def test_thread_claims_are_capped(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 0}, cpu={"processes": 0},
                                            max_threads=16), ready_workers=0)
        c = fleet.client()
        greedy = FakeWorker(fleet, "greedy", threads=100000)
        poll(lambda: (greedy.pump(), greedy.token)[1], lambda t: t != 0, timeout_s=5)
        st = poll(c.status, lambda s: any(w["id"] == "greedy" for w in s["workers"]), timeout_s=5)
        self.assertEqual([w["threads"] for w in st["workers"] if w["id"] == "greedy"], [16])
        self.assertIn("capped at workers.max_threads", fleet.log_tail(200))
