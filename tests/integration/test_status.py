"""status: every field PROTOCOL.md lists, with its type, and counters that
move as known work is done (PROTOCOL.md: status, Flow control)."""
import time
import uuid

import zmq

from harness import FleetTestCase, pack

WORKER_KEYS = {"id": str, "type": str, "host": str, "pid": int, "threads": int, "active": int,
               "inflight": int, "capacity": int, "done": int, "failed": int, "alive": bool,
               "last_heartbeat_ms": int}
TASK_KEYS = ("submitted", "done", "failed", "retried", "running", "cancelled", "delayed",
             "stale_results")
# PROTOCOL's `depth`, then zfleet's additions.
QUEUE_KEYS = ("depth", "delayed", "running", "submitted", "done", "failed")
CACHE_KEYS = ("shards", "entries", "bytes", "hits", "misses", "evictions")


class Status(FleetTestCase):
    # prefetch 0: tasks past the thread count stay queued in the broker,
    # which the depth/running checks count on.
    FLEET = dict(workers={"io": {"processes": 2, "threads": 3}, "cpu": {"processes": 1, "threads": 2},
                          "prefetch": 0},
                 cache={"shards": 8},
                 scripts={"fail.py": "def main():\n    raise KeyError('k')\n"})

    def assertCount(self, value, msg=None):
        self.assertIs(type(value), int, msg)
        self.assertGreaterEqual(value, 0, msg)

    def check_shape(self, st):
        self.assertEqual(st["op"], "status")
        self.assertIsInstance(st["version"], str)
        self.assertRegex(st["version"], r"^\d+\.\d+\.\d+")
        self.assertCount(st["uptime_ms"])
        self.assertEqual(set(st["queues"]), {"io", "cpu"})
        for t in ("io", "cpu"):
            self.assertEqual(set(st["queues"][t]), set(QUEUE_KEYS))
            for k in QUEUE_KEYS:
                self.assertCount(st["queues"][t][k], k)
        self.assertEqual(set(st["tasks"]), set(TASK_KEYS))
        for k in TASK_KEYS:
            self.assertCount(st["tasks"][k], k)
        self.assertIsInstance(st["workers"], list)
        for w in st["workers"]:
            missing = set(WORKER_KEYS) - set(w)
            self.assertFalse(missing, "worker entry lacks %s: %r" % (missing, w))
            for k, typ in WORKER_KEYS.items():
                self.assertIs(type(w[k]), typ, (k, w))
                if typ is int:
                    self.assertGreaterEqual(w[k], 0, (k, w))
            self.assertIn(w["type"], ("io", "cpu"))
            self.assertTrue(w["id"])
            self.assertGreater(w["pid"], 0)
            self.assertGreater(w["threads"], 0)
        self.assertEqual(set(st["cache"]), set(CACHE_KEYS))
        for k in CACHE_KEYS:
            self.assertCount(st["cache"][k], k)
        self.assertCount(st["replies_dropped"])

    def status_when(self, pred, timeout_s=20):
        """The first status for which pred holds (or the last one seen).

        workers[] is a snapshot the dispatcher republishes every ~100 ms, so
        per-worker figures may trail tasks.* briefly: poll, never sleep-guess.
        """
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.client.status()
            if pred(st) or time.monotonic() > deadline:
                return st
            time.sleep(0.01)

    def test_fields_and_types(self):
        st = self.client.status()
        self.check_shape(st)
        self.assertEqual(st["cache"]["shards"], 8)
        live = [w for w in st["workers"] if w["alive"]]
        self.assertEqual(sorted((w["type"], w["threads"]) for w in live),
                         [("cpu", 2), ("io", 3), ("io", 3)])
        self.assertEqual(len({w["id"] for w in live}), 3)
        self.assertEqual(len({w["pid"] for w in live}), 3)

    def test_workers_are_the_brokers_children(self):
        st = self.client.status()
        for w in st["workers"]:
            with open("/proc/%d/stat" % w["pid"]) as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            self.assertEqual(ppid, self.fleet.proc.pid, w)

    def test_uptime_moves(self):
        first = self.client.status()["uptime_ms"]
        time.sleep(0.05)
        self.assertGreater(self.client.status()["uptime_ms"], first)

    def settled(self, st):
        # The worker snapshot has caught up with the task counters.
        return (sum(w["done"] + w["failed"] for w in st["workers"]) ==
                st["tasks"]["done"] + st["tasks"]["failed"])

    def test_counters_after_known_work(self):
        before = self.status_when(self.settled)
        self.assertTrue(self.settled(before), before)
        n_ok, n_fail = 30, 7
        ids = [self.client.submit_ok("builtin:echo", [i]) for i in range(n_ok)]
        ids += [self.client.submit_ok("fail.py") for _ in range(n_fail)]
        ids += [self.client.submit_ok("builtin:echo", [i], type="cpu") for i in range(5)]
        results = self.client.wait_many(ids)
        self.assertEqual([r["state"] for r in results],
                         ["done"] * n_ok + ["failed"] * n_fail + ["done"] * 5)
        after = self.client.status()
        self.check_shape(after)
        d = {k: after["tasks"][k] - before["tasks"][k] for k in TASK_KEYS}
        self.assertEqual(d, {"submitted": n_ok + n_fail + 5, "done": n_ok + 5, "failed": n_fail,
                             "retried": 0, "running": 0, "cancelled": 0, "delayed": 0,
                             "stale_results": 0})
        self.assertEqual(after["queues"]["io"]["depth"], 0)
        self.assertEqual(after["queues"]["cpu"]["depth"], 0)
        # The per-pool counts (zfleet addition) split the same work by pool.
        q = {t: {k: after["queues"][t][k] - before["queues"][t][k] for k in ("submitted", "done", "failed")}
             for t in ("io", "cpu")}
        self.assertEqual(q, {"io": {"submitted": n_ok + n_fail, "done": n_ok, "failed": n_fail},
                             "cpu": {"submitted": 5, "done": 5, "failed": 0}})
        self.assertEqual(after["queues"]["io"]["running"] + after["queues"]["cpu"]["running"], 0)

        def per_worker(st, key, type_=None):
            return sum(w[key] for w in st["workers"] if type_ in (None, w["type"]))
        after = self.status_when(lambda st: per_worker(st, "done") - per_worker(before, "done") >= n_ok + 5
                                 and per_worker(st, "failed") - per_worker(before, "failed") >= n_fail)
        self.assertEqual(per_worker(after, "done") - per_worker(before, "done"), n_ok + 5)
        self.assertEqual(per_worker(after, "failed") - per_worker(before, "failed"), n_fail)
        self.assertEqual(per_worker(after, "done", "cpu") - per_worker(before, "done", "cpu"), 5)
        for w in after["workers"]:
            self.assertEqual(w["inflight"], 0, w)
        self.assertGreaterEqual(after["cache"]["entries"] - before["cache"]["entries"], len(ids))
        self.assertGreater(after["cache"]["bytes"], before["cache"]["bytes"])

    def test_cache_hits_and_misses(self):
        tid = self.client.submit_ok("builtin:echo", ["cached"])
        self.assertEqual(self.client.wait(tid)["state"], "done")
        before = self.client.status()["cache"]
        for _ in range(4):
            self.assertEqual(self.client.get(tid)["result"], "cached")
        after = self.client.status()["cache"]
        self.assertGreaterEqual(after["hits"] - before["hits"], 4)
        for _ in range(3):
            self.assertEqual(self.client.get("missing-" + uuid.uuid4().hex)["state"], "unknown")
        self.assertGreaterEqual(self.client.status()["cache"]["misses"] - after["misses"], 3)

    def test_running_and_depth_during_work(self):
        # 1 cpu worker x 2 threads: 6 slow cpu tasks -> 2 running, 4 queued.
        ids = [self.client.submit_ok("builtin:sleep", [600], type="cpu") for _ in range(6)]

        def cpu_inflight(st):
            return [w for w in st["workers"] if w["type"] == "cpu" and w["alive"]][0]["inflight"]
        st = self.status_when(lambda st: st["tasks"]["running"] == 2 and
                              st["queues"]["cpu"]["depth"] == 4 and cpu_inflight(st) == 2)
        self.assertEqual((st["tasks"]["running"], st["queues"]["cpu"]["depth"], cpu_inflight(st)),
                         (2, 4, 2))
        for r in self.client.wait_many(ids):
            self.assertEqual(r["state"], "done")

    def test_dead_worker_listed_not_alive(self):
        wid = "hand-" + uuid.uuid4().hex[:8]
        worker = self.fleet.start_worker("io", threads=1, worker_id=wid)
        deadline = time.monotonic() + 20
        while not any(w["id"] == wid and w["alive"] for w in self.client.status()["workers"]):
            self.assertLess(time.monotonic(), deadline, "hand worker never joined")
            time.sleep(0.02)
        worker.kill()
        worker.wait()
        # "for at least 5 x heartbeat after their death, dead ones with alive: false"
        entry = None
        while time.monotonic() < deadline:
            entries = [w for w in self.client.status()["workers"] if w["id"] == wid]
            self.assertLessEqual(len(entries), 1)
            if entries and not entries[0]["alive"]:
                entry = entries[0]
                break
            time.sleep(0.01)
        # BUG (see the report): today the entry vanishes in the same pass that
        # declares the worker dead, so alive: false is never seen.
        self.assertIsNotNone(entry, "the dead worker was never listed with alive: false")
        self.assertEqual(set(WORKER_KEYS) - set(entry), set())
        self.assertEqual(sum(1 for w in self.client.status()["workers"] if w["alive"]), 3)
        self.assertServing()

    def test_status_corr(self):
        self.assertEqual(self.client.request("results", {"op": "status", "corr": [1]})["corr"], [1])


class RepliesDropped(FleetTestCase):
    """A client that does not read its replies: they are dropped past
    client_hwm, counted in replies_dropped, and the broker goes on."""
    FLEET = dict(broker={"client_hwm": 4},
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def test_replies_dropped_counted(self):
        blob = "b" * (1 << 20)
        tid = self.client.submit_ok("builtin:echo", [blob])
        self.assertEqual(self.client.wait(tid)["result"], blob)
        before = self.client.status()["replies_dropped"]
        lazy = self.fleet.socket(zmq.DEALER, "results", RCVHWM=1, RCVBUF=4096)
        for i in range(200):        # ~200 MiB of replies that nobody reads
            lazy.send(pack({"op": "get", "id": tid, "corr": i}))
        deadline = time.monotonic() + 60
        dropped = before
        while time.monotonic() < deadline and dropped == before:
            time.sleep(0.05)
            dropped = self.client.status()["replies_dropped"]
        self.assertGreater(dropped, before)
        # the request's effect stands, other clients are served
        self.assertEqual(self.client.get(tid)["result"], blob)
        self.assertServing()


class RepliesDroppedProxied(RepliesDropped):
    """The same with several intake and result threads behind the proxies
    that own the public endpoints (the defaults, 1 and 1, have none): the
    proxy drops and counts instead of the result thread."""
    FLEET = dict(RepliesDropped.FLEET,
                 broker=dict(RepliesDropped.FLEET["broker"], queue_threads=4, result_threads=2))
