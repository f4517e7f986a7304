"""Routing: a task runs only on a worker of its type, load spreads over the
workers of a type, and no worker is sent more than its capacity (PROTOCOL.md:
submit "type", status workers; docs/config.md workers.*)."""
import collections
import time

from harness import FleetTestCase

WHO = """
import os

def main(tag):
    return {"tag": tag, "pid": os.getpid()}
"""


def worker_types(status):
    return {w["id"]: w["type"] for w in status["workers"]}


class Routing(FleetTestCase):
    # prefetch 0: capacity is exactly the thread count, which the capacity
    # test asserts (with adaptive prefetch a worker may hold a few more).
    FLEET = dict(workers={"io": {"processes": 2, "threads": 4}, "cpu": {"processes": 2, "threads": 1},
                          "prefetch": 0},
                 scripts={"who.py": WHO})

    def run_all(self, tasks):
        reply = self.client.submit_batch(tasks)
        self.assertEqual(reply["errors"], [None] * len(tasks), reply)
        results = self.client.wait_many(reply["ids"], timeout_s=120)
        for r in results:
            self.assertDone(r)
        return results

    def test_types_run_on_their_own_workers(self):
        status = self.client.status()
        types = worker_types(status)
        pids = {w["id"]: w["pid"] for w in status["workers"]}
        self.assertEqual(sorted(types.values()), ["cpu", "cpu", "io", "io"])
        tasks = []
        for i in range(60):
            t = ["io", "cpu", None][i % 3]
            task = {"script": "who.py" if i % 2 else "builtin:echo", "args": [t or "default"]}
            if t:
                task["type"] = t
            tasks.append(task)
        results = self.run_all(tasks)
        seen = collections.defaultdict(set)
        for task, res in zip(tasks, results):
            want = task.get("type", "io")          # the default type is io
            self.assertEqual(types[res["worker"]], want, (task, res))
            seen[want].add(res["worker"])
            if task["script"] == "who.py":
                # The result was computed in the process the status names.
                self.assertEqual(res["result"]["pid"], pids[res["worker"]], res)
        self.assertEqual(set(seen), {"io", "cpu"})

    def test_equal_tasks_spread_over_io_workers(self):
        types = worker_types(self.client.status())
        io_workers = sorted(w for w, t in types.items() if t == "io")
        n = 200
        results = self.run_all([{"script": "builtin:sleep", "args": [5]} for _ in range(n)])
        per_worker = collections.Counter(r["worker"] for r in results)
        self.assertEqual(set(per_worker), set(io_workers), per_worker)
        for w in io_workers:
            self.assertGreaterEqual(per_worker[w], n * 0.2,
                                    "worker %s ran only %d of %d tasks: %r" % (w, per_worker[w], n, per_worker))

    def test_cpu_tasks_spread_over_cpu_workers(self):
        types = worker_types(self.client.status())
        cpu_workers = sorted(w for w, t in types.items() if t == "cpu")
        n = 40
        results = self.run_all([{"script": "builtin:sleep", "args": [10], "type": "cpu"}
                                for _ in range(n)])
        per_worker = collections.Counter(r["worker"] for r in results)
        self.assertEqual(set(per_worker), set(cpu_workers), per_worker)
        for w in cpu_workers:
            self.assertGreaterEqual(per_worker[w], n * 0.2, per_worker)

    def test_never_more_than_capacity(self):
        status = self.client.status()
        threads = {w["id"]: w["threads"] for w in status["workers"]}
        self.assertEqual({w["type"]: w["threads"] for w in status["workers"]}, {"io": 4, "cpu": 1})
        reply = self.client.submit_batch([{"script": "builtin:sleep", "args": [200]}
                                          for _ in range(20)] +
                                         [{"script": "builtin:sleep", "args": [100], "type": "cpu"}
                                          for _ in range(6)])
        ids = reply["ids"]
        self.assertEqual(reply["errors"], [None] * len(ids))
        max_inflight = collections.Counter()
        samples = 0
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            st = self.client.status()
            samples += 1
            for w in st["workers"]:
                self.assertLessEqual(w["inflight"], threads[w["id"]], w)
                self.assertLessEqual(w["active"], threads[w["id"]], w)
                max_inflight[w["id"]] = max(max_inflight[w["id"]], w["inflight"])
            states = [r["state"] for r in self.client.get_many(ids)["results"]]
            if all(s == "done" for s in states):
                break
            time.sleep(0.01)
        results = self.client.wait_many(ids)
        per_worker = collections.Counter(r["worker"] for r in results)
        for r in results:
            self.assertDone(r, None)
        self.assertGreater(samples, 1)
        # The status did show the work in flight (not only zeros).
        self.assertGreater(max(max_inflight.values()), 0, max_inflight)
        self.assertEqual(sum(per_worker[w] for w in threads if threads[w] == 4), 20)


class HandStartedWorkers(FleetTestCase):
    """Workers started by hand (as on another host) join by backend + status."""
    FLEET = dict(workers={"io": {"processes": 0}, "cpu": {"processes": 0}},
                 scripts={"who.py": WHO})

    def test_hand_workers_join_and_get_their_types(self):
        io = self.fleet.start_worker("io", threads=3, worker_id="hand-io-1")
        cpu = self.fleet.start_worker("cpu", threads=2, worker_id="hand-cpu-1")
        status = self.fleet.wait_ready(2)
        by_id = {w["id"]: w for w in status["workers"]}
        self.assertEqual(by_id["hand-io-1"]["type"], "io")
        self.assertEqual(by_id["hand-io-1"]["threads"], 3)
        self.assertEqual(by_id["hand-io-1"]["pid"], io.pid)
        self.assertEqual(by_id["hand-cpu-1"]["type"], "cpu")
        self.assertEqual(by_id["hand-cpu-1"]["threads"], 2)
        self.assertEqual(by_id["hand-cpu-1"]["pid"], cpu.pid)
        results = self.run_some()
        for res, want in results:
            self.assertEqual(res["worker"], want, res)

    def run_some(self):
        out = []
        for i in range(10):
            t = "cpu" if i % 2 else "io"
            res = self.client.run("who.py", [i], type=t)
            self.assertDone(res)
            out.append((res, "hand-%s-1" % t))
        return out
