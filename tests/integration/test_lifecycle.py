"""Life cycle: the broker stopped cleanly (SIGTERM drain) or killed (SIGKILL),
a worker stopped cleanly, and a hand-started worker that outlives a broker
restart (DESIGN.md decision 7; docs/architecture.md: Shutdown, Local workers).

Each test runs its own fleet and asserts outcomes and counts, never
durations: every wait is a bounded poll with a generous limit.
"""
import signal
import time
import uuid

import zmq

from harness import CTX, FleetTestCase, pack, pid_alive, poll, workers_of

SLOW_SCRIPT = """
    import time

    def main(secs, value):
        time.sleep(secs)
        return value
    """


def alive_ids(st):
    return sorted(w["id"] for w in st["workers"] if w["alive"])


class BrokerSigterm(FleetTestCase):
    FLEET = None

    def test_sigterm_drains_running_tasks_then_exits_0(self):
        # 2 x 2 slots: one long task, three medium ones running, four short
        # ones queued behind them. The long one keeps the drain open while the
        # others are fetched.
        fleet = self.new_fleet(broker={"drain_timeout_ms": 30000},
                               workers={"io": {"processes": 2, "threads": 2},
                                        "cpu": {"processes": 0}, "prefetch": 0})
        client = fleet.client()
        pids = workers_of(fleet.proc.pid)
        self.assertEqual(len(pids), 2)
        long_id = client.submit_ok("builtin:sleep", [4000])
        ids = [client.submit_ok("builtin:sleep", [1000]) for _ in range(3)]
        ids += [client.submit_ok("builtin:sleep", [200]) for _ in range(4)]
        st = poll(client.status, lambda s: s["tasks"]["running"] == 4)
        self.assertEqual((st["tasks"]["running"], st["queues"]["io"]["depth"]), (4, 4), st["tasks"])

        fleet.proc.send_signal(signal.SIGTERM)
        # New submits are refused from the moment the signal is taken; one
        # sent before that may still be accepted, and must then run too.
        refused = None
        for _ in range(200):
            reply = client.submit("builtin:echo", ["late"])
            if reply["op"] == "error":
                refused = reply
                break
            self.assertEqual(reply["op"], "accepted", reply)
            ids.append(reply["id"])
            time.sleep(0.01)
        self.assertIsNotNone(refused, "submits still accepted after SIGTERM")
        self.assertEqual(refused["code"], "shutting_down", refused)
        batch = client.submit_batch([{"script": "builtin:echo"}] * 2)
        self.assertEqual((batch["op"], batch["ids"]), ("accepted_batch", [None, None]), batch)
        self.assertEqual([e["code"] for e in batch["errors"]], ["shutting_down"] * 2, batch)
        # Running and queued tasks finish, and their results are served meanwhile.
        results = client.wait_many(ids, timeout_s=30)
        self.assertEqual([r["state"] for r in results], ["done"] * len(ids), results)
        self.assertTrue(fleet.alive(), "broker gone before the long task finished")
        self.assertEqual(client.get(long_id)["state"], "running")
        res = client.wait(long_id, timeout_s=30)
        self.assertEqual((res["state"], res["attempts"]), ("done", 1), res)

        self.assertEqual(fleet.proc.wait(60), 0, fleet.log_tail())
        left = poll(lambda: [p for p in pids if pid_alive(p)] + workers_of(fleet.proc.pid),
                    lambda l: not l, timeout_s=10)
        self.assertEqual(left, [], "workers outlived the broker")
        log = fleet.log_tail(400)
        self.assertIn("draining", log)
        self.assertNotIn("unfinished", log)
        self.assertNotIn("did not stop in time", log)
        self.assertTrue(log.rstrip().endswith("stopped"), log[-500:])


class BrokerSigint(FleetTestCase):
    FLEET = None

    def test_sigint_on_idle_broker_exits_0(self):
        fleet = self.new_fleet(workers={"io": {"processes": 1}, "cpu": {"processes": 1}})
        pids = workers_of(fleet.proc.pid)
        self.assertEqual(len(pids), 2)
        fleet.proc.send_signal(signal.SIGINT)
        self.assertEqual(fleet.proc.wait(30), 0, fleet.log_tail())
        left = poll(lambda: [p for p in pids if pid_alive(p)], lambda l: not l, timeout_s=10)
        self.assertEqual(left, [], "workers outlived the broker")
        self.assertTrue(fleet.log_tail().rstrip().endswith("stopped"))


class BrokerSigkill(FleetTestCase):
    FLEET = None

    def test_sigkill_leaves_no_orphan_workers(self):
        fleet = self.new_fleet(workers={"io": {"processes": 2, "threads": 2},
                                        "cpu": {"processes": 1, "threads": 1}})
        client = fleet.client()
        pids = workers_of(fleet.proc.pid)
        self.assertEqual(len(pids), 3)
        # Some of them busy, some idle.
        for type_ in ("io", "io", "cpu"):
            client.submit_ok("builtin:sleep", [500], type=type_)
        poll(client.status, lambda s: s["tasks"]["running"] == 3)
        fleet.proc.kill()
        self.assertEqual(fleet.proc.wait(10), -signal.SIGKILL)
        left = poll(lambda: [p for p in pids if pid_alive(p)] + workers_of(fleet.proc.pid),
                    lambda l: not l, timeout_s=15)
        self.assertEqual(left, [], "local workers outlived their killed broker")


class WorkerSigterm(FleetTestCase):
    FLEET = None

    def test_worker_sigterm_says_bye_finishes_and_exits_0(self):
        fleet = self.new_fleet(workers={"io": {"processes": 0}, "cpu": {"processes": 0}},
                               ready_workers=0, scripts={"slow.py": SLOW_SCRIPT})
        client = fleet.client()
        wid = "stopping-" + uuid.uuid4().hex[:8]
        worker = fleet.start_worker("io", threads=2, worker_id=wid)
        fleet.wait_ready(1)
        before = client.status()
        tid = client.submit_ok("slow.py", [1.5, "finished"])
        poll(lambda: client.get(tid)["state"], lambda s: s != "pending")
        self.assertEqual(client.get(tid)["state"], "running")

        worker.send_signal(signal.SIGTERM)
        bye = "worker %s is stopping" % wid
        log = poll(lambda: fleet.log_tail(200), lambda t: bye in t, timeout_s=10)
        self.assertIn(bye, log)
        # After BYE the stopping worker (one thread free) gets no new task.
        later = client.submit_ok("builtin:echo", ["after bye"])
        res = client.wait(tid, timeout_s=30)
        self.assertEqual((res["state"], res["result"], res["worker"], res["attempts"]),
                         ("done", "finished", wid, 1), res)
        self.assertEqual(worker.wait(30), 0)
        self.assertEqual(client.get(later)["state"], "pending")
        # A fresh worker takes the task the stopping one was not given.
        wid2 = "fresh-" + uuid.uuid4().hex[:8]
        fleet.start_worker("io", threads=1, worker_id=wid2)
        res = client.wait(later, timeout_s=30)
        self.assertEqual((res["state"], res["result"], res["worker"]), ("done", "after bye", wid2), res)
        after = client.status()
        self.assertEqual(after["tasks"]["retried"], before["tasks"]["retried"])
        self.assertEqual(after["tasks"]["failed"], before["tasks"]["failed"])


class BrokerRestart(FleetTestCase):
    FLEET = None

    def test_hand_worker_rejoins_restarted_broker(self):
        fleet = self.new_fleet(workers={"io": {"processes": 0}, "cpu": {"processes": 0}},
                               ready_workers=0)
        wid = "remote-" + uuid.uuid4().hex[:8]
        worker = fleet.start_worker("io", threads=2, worker_id=wid, heartbeat_ms=100)
        fleet.wait_ready(1)
        client = fleet.client()
        res = client.run("builtin:echo", ["first broker"])
        self.assertEqual((res["state"], res["worker"]), ("done", wid), res)

        self.assertEqual(fleet.stop_broker(), 0)
        self.assertIsNone(worker.poll(), "the hand-started worker died with the broker")
        # With the broker down a producer with a receive timeout gets no reply
        # (and is not hung); a REQ socket that timed out is replaced.
        req = CTX.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.setsockopt(zmq.RCVTIMEO, 1000)
        req.connect(fleet.endpoints["frontend"])
        req.send(pack({"op": "submit", "script": "builtin:echo", "args": ["nobody"]}))
        with self.assertRaises(zmq.Again):
            req.recv()
        req.close(0)

        fleet.start_broker()
        st = poll(client.status, lambda s: wid in alive_ids(s), timeout_s=30)
        self.assertEqual(alive_ids(st), [wid], st["workers"])
        self.assertIsNone(worker.poll())
        fresh = fleet.client()
        res = fresh.run("builtin:echo", ["second broker"])
        self.assertEqual((res["state"], res["result"], res["worker"]), ("done", "second broker", wid), res)
        self.assertEqual(fresh.status()["tasks"]["submitted"], 1)   # a new broker indeed
        self.assertIn("worker %s joined" % wid, fleet.log_tail(20))
