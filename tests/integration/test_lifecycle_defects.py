"""Lifecycle defects of issue 9, each reproduced with real processes: every
test here failed on the dispatcher that matched answers by task id.

1. an id reused after its timed-out record expired hung `running` forever;
2. a worker declared dead that came back completed the requeued run with
   its late first answer;
3. a duplicate submit could hide a finished result from a parked get;
4. a stopping worker ignored tasks already sent to it (worker_lost with
   max_retries 0);
6. a task submitted after a clear_cache was acknowledged could run the old
   module.
"""
import os
import signal
import time

import zmq

from harness import FleetTestCase, pack, poll, recv_body

SCRIPTS = {
    "stuck.py": """
        import time

        def main(secs):
            time.sleep(secs)    # in C: a timeout cannot interrupt it
            return secs
        """,
    "started.py": """
        import os, time

        def main(secs):
            start = time.time()
            time.sleep(secs)
            return [start, os.getpid()]
        """,
    "version.py": "V = 0\n\ndef main():\n    return V\n",
}


class LifecycleDefects(FleetTestCase):
    FLEET = None  # each test breaks its fleet its own way

    def test_defect1_reused_id_after_timeout_and_expiry_completes(self):
        fleet = self.new_fleet(scripts=SCRIPTS, cache={"ttl_s": 1},
                               workers={"io": {"processes": 1, "threads": 2},
                                        "cpu": {"processes": 0}, "kill_grace_ms": 60000})
        c = fleet.client()
        self.assertEqual(c.submit_ok("stuck.py", [4], id="reuse-1", timeout_ms=200), "reuse-1")
        self.assertFailed(c.wait("reuse-1"), "timeout")
        gone = poll(lambda: c.get("reuse-1"), lambda r: r["state"] == "unknown", timeout_s=10)
        self.assertEqual(gone["state"], "unknown")  # its record expired; its slot is still held
        self.assertEqual(c.submit_ok("builtin:echo", ["again"], id="reuse-1"), "reuse-1")
        res = c.wait("reuse-1", timeout_s=10)
        self.assertDone(res, "again")
        st = poll(c.status, lambda s: s["tasks"]["running"] == 0, timeout_s=10)
        self.assertEqual(st["tasks"]["running"], 0)

    def test_defect2_late_answer_of_a_revived_worker_is_stale(self):
        fleet = self.new_fleet(scripts=SCRIPTS, workers={"io": {"processes": 1, "threads": 2},
                                                         "cpu": {"processes": 0}})
        c = fleet.client()
        pid = c.status()["workers"][0]["pid"]
        tid = c.submit_ok("started.py", [1.5], max_retries=3)
        poll(lambda: c.get(tid), lambda r: r["state"] == "running", timeout_s=10)
        time.sleep(0.2)
        os.kill(pid, signal.SIGSTOP)
        try:
            poll(c.status, lambda s: not any(w["alive"] for w in s["workers"]), timeout_s=10)
        finally:
            resumed = time.time()
            os.kill(pid, signal.SIGCONT)
        res = c.wait(tid, timeout_s=20)
        self.assertDone(res)
        started, ran_on = res["result"]
        self.assertEqual(ran_on, pid)
        # The answer is the second run's, started after the worker came back.
        self.assertGreaterEqual(started, resumed - 0.05, res)
        self.assertEqual(res["attempts"], 2)
        st = poll(c.status, lambda s: s["tasks"]["stale_results"] >= 1, timeout_s=10)
        self.assertGreaterEqual(st["tasks"]["stale_results"], 1)
        self.assertLessEqual(st["workers"][0]["inflight"], st["workers"][0]["threads"])

    def test_defect3_duplicate_submit_never_hides_a_finished_result(self):
        fleet = self.new_fleet(workers={"io": {"processes": 1, "threads": 2},
                                        "cpu": {"processes": 0}})
        c = fleet.client()
        front = fleet.socket(zmq.DEALER, "frontend")
        results = fleet.socket(zmq.DEALER, "results")
        for i in range(60):
            tid = "dup-%d" % i
            self.assertDone(c.run("builtin:echo", [i], id=tid))
            for k in range(20):  # duplicates and long-poll gets, interleaved
                front.send(pack({"op": "submit", "script": "builtin:echo", "id": tid, "corr": k}))
                results.send(pack({"op": "get", "id": tid, "wait_ms": 3000, "corr": k}))
            t0 = time.monotonic()
            for _ in range(20):
                self.assertEqual(recv_body(front)["code"], "duplicate_id")
                r = recv_body(results, timeout_ms=5000)
                self.assertEqual(r["state"], "done", r)
            self.assertLess(time.monotonic() - t0, 2.0, "a get waited for a finished task")

    def test_defect4_stopping_worker_runs_what_was_sent(self):
        fleet = self.new_fleet(workers={"io": {"processes": 0}, "cpu": {"processes": 0}},
                               ready_workers=0)
        c = fleet.client()
        worker = fleet.start_worker(threads=2, worker_id="w0")
        poll(c.status, lambda s: any(w["alive"] for w in s["workers"]), timeout_s=10)
        ids = []
        for round_ in range(1, 7):
            # Short tasks: the broker keeps the worker's prefetch full, so
            # tasks are on the wire when it says BYE; max_retries 0 makes a
            # task the stopping worker ignores fail worker_lost.
            batch = [{"script": "builtin:spin", "args": [200], "max_retries": 0}
                     for _ in range(2000)]
            ids += c.submit_batch(batch)["ids"]
            time.sleep(0.05 * round_)
            worker.send_signal(signal.SIGTERM)
            leaving = worker
            worker = fleet.start_worker(threads=2, worker_id="w%d" % round_)
            self.assertEqual(leaving.wait(timeout=30), 0)
        results = []
        for k in range(0, len(ids), 5000):
            results += c.wait_many(ids[k:k + 5000], timeout_s=120)
        states = {}
        for r in results:
            key = r["state"] if r["state"] != "failed" else r["error"]["code"]
            states[key] = states.get(key, 0) + 1
        self.assertEqual(states, {"done": len(ids)})

    def test_defect6_clear_cache_reaches_workers_before_later_tasks(self):
        fleet = self.new_fleet(scripts=SCRIPTS, workers={"io": {"processes": 2, "threads": 2},
                                                         "cpu": {"processes": 0}})
        c = fleet.client()
        path = os.path.join(fleet.tasks_dir, "version.py")
        stamp = os.stat(path).st_mtime_ns
        for k in range(1, 40):
            # Same size, same mtime: only clear_cache makes a worker see it.
            with open(path, "r+") as f:
                f.write("V = %d\n" % (k % 10))
            os.utime(path, ns=(stamp, stamp))
            self.assertEqual(c.clear_cache()["op"], "ok")
            self.assertDone(c.run("version.py"), k % 10)
