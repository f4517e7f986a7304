"""Named pools (issue 12, point 1; PROTOCOL.md submit `type`, config
workers.pools): a task runs only on workers of its pool; a pool has its own
script roots; a pool with `processes: 0` is served by hand-started workers
only; a worker of an unknown pool is refused with a log line and exits 2;
an unknown `type` is refused with bad_request naming the pools; and a
journaled task whose pool is gone after a restart fails `cancelled` with a
message that says so."""
import os
import re
import time

from harness import FleetTestCase, poll, stop_process

WHO = """
import os

def main(tag):
    return {"tag": tag, "pid": os.getpid()}
"""

# Only in the gpu pool's own script root.
GPU_ONLY = """
def main(x):
    return "gpu:" + str(x)
"""


def pool_of(status, worker_id):
    return {w["id"]: w["type"] for w in status["workers"]}[worker_id]


class NamedPools(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0},
                          "pools": {"gpu": {"processes": 2, "threads": 2,
                                            "script_roots": ["tasks", "tasks/gpu"]},
                                    "hand": {"processes": 0, "threads": 1}}},
                 scripts={"who.py": WHO, "gpu/gpu_only.py": GPU_ONLY})

    def test_status_lists_every_pool_and_its_workers(self):
        status = self.client.status()
        self.assertEqual(list(status["queues"]), ["io", "cpu", "gpu", "hand"], status["queues"])
        local_pids = {w["pid"] for w in status["local_workers"]}
        types = sorted(w["type"] for w in status["workers"] if w["pid"] in local_pids)
        self.assertEqual(types, ["gpu", "gpu", "io"])
        local = sorted((w["type"], w["slot"]) for w in status["local_workers"])
        self.assertEqual(local, [("gpu", 0), ("gpu", 1), ("io", 0)])

    def test_tasks_run_only_on_their_pool(self):
        status = self.client.status()
        tasks = [{"script": "who.py", "args": [i], "type": "gpu" if i % 2 else "io"} for i in range(40)]
        reply = self.client.submit_batch(tasks)
        self.assertEqual(reply["errors"], [None] * len(tasks), reply)
        results = self.client.wait_many(reply["ids"], timeout_s=60)
        used = {"gpu": set(), "io": set()}
        for task, res in zip(tasks, results):
            self.assertDone(res)
            pool = pool_of(status, res["worker"])
            self.assertEqual(pool, task["type"], (task, res))
            used[pool].add(res["worker"])
        self.assertEqual(len(used["gpu"]), 2, "both gpu workers should take tasks")

    def test_pool_script_roots_are_the_pools_own(self):
        self.assertDone(self.client.run("gpu_only.py", [7], type="gpu"), "gpu:7")
        # io workers do not search the gpu pool's root.
        err = self.assertFailed(self.client.run("gpu_only.py", [7], type="io"), "script_not_found")
        self.assertIn("gpu_only.py", err["message"])

    def test_unknown_type_is_refused_naming_the_pools(self):
        reply = self.client.submit("who.py", [1], type="gpus")
        self.assertErrorReply(reply, "bad_request")
        self.assertIn("'gpus'", reply["message"])
        self.assertIn("io, cpu, gpu, hand", reply["message"])
        # In a batch only that task is refused.
        reply = self.client.submit_batch([{"script": "who.py", "args": [1], "type": "nope"},
                                          {"script": "builtin:echo", "args": [2], "type": "gpu"}])
        self.assertEqual(reply["errors"][0]["code"], "bad_request")
        self.assertIsNone(reply["errors"][1])
        self.assertDone(self.client.wait(reply["ids"][1]), 2)

    def test_hand_pool_waits_for_a_hand_started_worker(self):
        task_id = self.client.submit_ok("who.py", ["h"], type="hand")
        time.sleep(0.5)
        self.assertEqual(self.client.get(task_id)["state"], "pending")
        self.assertEqual(self.client.status()["queues"]["hand"]["depth"], 1)
        proc = self.fleet.start_worker(type_="hand", threads=1, worker_id="hand-1")
        try:
            res = self.client.wait(task_id, timeout_s=30)
            self.assertDone(res)
            self.assertEqual(res["worker"], "hand-1")
            self.assertEqual(res["result"]["pid"], proc.pid)
        finally:
            self.fleet.hand_workers.remove(proc)
            stop_process(proc)

    def test_worker_of_an_unknown_pool_is_refused_and_exits_2(self):
        proc = self.fleet.start_worker(type_="tpu", threads=1, worker_id="tpu-1")
        try:
            proc.wait(timeout=30)
        finally:
            self.fleet.hand_workers.remove(proc)
        self.assertEqual(proc.returncode, 2)
        log = poll(lambda: open(self.fleet.log_path, errors="replace").read(),
                   lambda text: "refused worker tpu-1" in text, timeout_s=10)
        self.assertRegex(log, r"refused worker tpu-1 .*pool 'tpu' is not configured .*pools: io, cpu, gpu, hand")
        worker_log = open(os.path.join(self.fleet.dir, "worker-tpu-1.log"), errors="replace").read()
        self.assertIn("the broker refused this worker: pool 'tpu' is not configured", worker_log)
        self.assertNotIn("tpu-1", [w["id"] for w in self.client.status()["workers"]])


class PoolGoneAfterRestart(FleetTestCase):
    FLEET = None

    def test_journaled_task_of_a_removed_pool_fails_cancelled(self):
        fleet = self.new_fleet(workers={"io": {"processes": 1}, "cpu": {"processes": 0},
                                        "pools": {"gone": {"processes": 0}}})
        journal_dir = os.path.join(fleet.dir, "journal")
        # A first broker of the same folder with a journal: restart it with the pool removed.
        fleet.stop()
        fleet.broker_cfg["journal"] = {"path": journal_dir, "fsync": "always"}
        fleet.start()
        client = fleet.client()
        task_id = client.submit_ok("builtin:echo", [1], type="gone")
        self.assertEqual(client.get(task_id)["state"], "pending")
        fleet.stop()
        del fleet.workers_cfg["pools"]
        fleet.start()
        client = fleet.client()
        res = client.wait(task_id, timeout_s=10)
        err = self.assertFailed(res, "cancelled")
        self.assertRegex(err["message"], re.escape("its pool is no longer configured (pools: io, cpu)"))
        self.assertNotIn("gone", client.status()["queues"])


if __name__ == "__main__":
    import unittest
    unittest.main()
