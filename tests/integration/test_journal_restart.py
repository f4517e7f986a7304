"""The broker journal across stops and restarts (issue 10): a clean stop keeps
queued and delayed tasks (and says so; without a journal it says how many it
dropped), parked long-polls are answered `shutting_down`, finished results
come back byte for byte and still expire at their TTL, a `cancelled` answer
holds across a crash, and a task's attempts survive more than one crash.

Every test runs its own fleet and stops or kills its broker on purpose.
"""
import os
import signal
import time

import zmq

from harness import CTX, FleetTestCase, pack, poll, unpack

NO_WORKERS = {"io": {"processes": 0}, "cpu": {"processes": 0}}


def journal(fsync="always"):
    return {"journal": {"path": "journal", "fsync": fsync}, "drain_timeout_ms": 500}


def log_text(fleet):
    with open(fleet.log_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


class CleanStop(FleetTestCase):
    FLEET = None

    def submit_mix(self, client):
        """30 queued, 20 delayed by a minute, 5 delayed by 1.5 s (all io, no workers)."""
        for i in range(30):
            client.submit_ok("builtin:echo", ["q%d" % i], id="q-%d" % i)
        for i in range(20):
            client.submit_ok("builtin:echo", ["d%d" % i], id="d-%d" % i, delay_ms=60000)
        for i in range(5):
            client.submit_ok("builtin:echo", ["s%d" % i], id="s-%d" % i, delay_ms=1500)

    def test_clean_stop_keeps_queued_and_delayed_tasks(self):
        fleet = self.new_fleet(broker=journal(), workers=NO_WORKERS, ready_workers=0)
        client = fleet.client()
        self.submit_mix(client)
        self.assertEqual(fleet.stop_broker(), 0)
        self.assertIn("stopping: 30 queued and 25 delayed or retrying tasks stay in the journal "
                      "for the next start", log_text(fleet))
        fleet.start_broker(0)
        client = fleet.client()
        st = poll(client.status, lambda s: s["queues"]["io"]["depth"] == 30, timeout_s=10)
        self.assertEqual(st["journal"]["restored_tasks"], 55, st["journal"])
        self.assertEqual(st["queues"]["io"]["depth"], 30, st["queues"])
        self.assertGreaterEqual(st["queues"]["io"]["delayed"], 20, st["queues"])
        late = client.get("d-0")
        self.assertEqual(late["state"], "pending", late)
        # The delay runs on wall-clock time from the first submit, not from the restart.
        self.assertTrue(40000 < late["run_after_ms"] <= 60000, late)
        fleet.start_worker("io", threads=4)
        queued = ["q-%d" % i for i in range(30)] + ["s-%d" % i for i in range(5)]
        results = client.wait_many(queued, timeout_s=30)
        self.assertEqual([(r["state"], r["result"]) for r in results],
                         [("done", "q%d" % i) for i in range(30)] + [("done", "s%d" % i) for i in range(5)])
        st = client.status()
        self.assertEqual((st["queues"]["io"]["depth"], st["queues"]["io"]["delayed"]), (0, 20))

    def test_clean_stop_without_journal_says_what_it_dropped(self):
        fleet = self.new_fleet(broker={"drain_timeout_ms": 500}, workers=NO_WORKERS, ready_workers=0)
        self.submit_mix(fleet.client())
        self.assertEqual(fleet.stop_broker(), 0)
        self.assertIn("stopping: dropping 30 queued and 25 delayed or retrying tasks (no broker.journal)",
                      log_text(fleet))
        fleet.start_broker(0)
        got = fleet.client().get_many(["q-0", "d-0", "s-0"])["results"]
        self.assertEqual([r["state"] for r in got], ["unknown"] * 3)

    def test_parked_gets_are_answered_shutting_down(self):
        # One result thread serves the public socket itself; two sit behind
        # the results proxy, which must forward their last replies too.
        for threads in (1, 2):
            with self.subTest(result_threads=threads):
                self.check_parked_gets_answered(threads)

    def check_parked_gets_answered(self, result_threads):
        fleet = self.new_fleet(broker=dict(journal(), result_threads=result_threads),
                               workers=NO_WORKERS, ready_workers=0)
        client = fleet.client()
        tid = client.submit_ok("builtin:echo", ["never runs"], id="parked")
        socks = []
        for _ in range(result_threads * 4):  # spread over the result threads
            sock = CTX.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(fleet.endpoints["results"])
            self.addCleanup(sock.close, 0)
            sock.send(pack({"op": "get", "id": tid, "wait_ms": 600000, "corr": "one"}))
            sock.send(pack({"op": "get_many", "ids": [tid, "other"], "wait_ms": 600000, "corr": "many"}))
            socks.append(sock)
        self.assertFalse(any(s.poll(300 // len(socks)) for s in socks), "a get was answered before its task ended")
        t0 = time.monotonic()
        self.assertEqual(fleet.stop_broker(), 0)
        for sock in socks:
            replies = {}
            while len(replies) < 2 and sock.poll(5000):
                reply = unpack(sock.recv_multipart()[-1])
                replies[reply.get("corr")] = reply
            self.assertEqual(set(replies), {"one", "many"}, replies)
            for reply in replies.values():
                self.assertEqual((reply["op"], reply["code"]), ("error", "shutting_down"), reply)
            self.assertEqual(replies["one"].get("id"), tid)
        self.assertLess(time.monotonic() - t0, 10)
        # With the journal, the task itself is still there for the next broker.
        fleet.start_broker(0)
        self.assertEqual(fleet.client().get(tid)["state"], "pending")


class CancelIsDurable(FleetTestCase):
    """`cancelled` is an answer a client acts on: with the journal it must
    mean what it means without one (failed `cancelled` at once, PROTOCOL
    "cancel"), and it must survive a crash that follows it."""
    FLEET = None

    def test_a_cancelled_task_reads_cancelled_at_once(self):
        fleet = self.new_fleet(broker=journal(), workers=NO_WORKERS, ready_workers=0)
        client = fleet.client()
        for i in range(20):
            tid = client.submit_ok("builtin:echo", [i], id="c-%d" % i, delay_ms=60000 if i % 2 else 0)
            self.assertEqual(client.request("results", {"op": "cancel", "id": tid})["outcome"], "cancelled")
            res = client.get(tid)
            self.assertEqual((res["state"], res.get("error", {}).get("code")), ("failed", "cancelled"), res)

    def test_cancelled_survives_a_kill_right_after_the_answer(self):
        fleet = self.new_fleet(broker=journal(), workers=NO_WORKERS, ready_workers=0)
        for round_ in range(15):
            client = fleet.client()
            ids = ["r%d-%d" % (round_, i) for i in range(20)]
            for i, tid in enumerate(ids):
                client.submit_ok("builtin:echo", [i], id=tid, delay_ms=60000 if i % 2 else 0)
            # One at a time: each cancel's record goes to the journal on its
            # own, while the one before may still be syncing.
            outcomes = {tid: client.request("results", {"op": "cancel", "id": tid})["outcome"]
                        for tid in ids}
            fleet.stop_broker(signal.SIGKILL)       # as soon as the last cancel is answered
            self.assertEqual(set(outcomes.values()), {"cancelled"}, outcomes)
            fleet.start_broker(0)
            got = fleet.client().get_many(ids)["results"]
            back = [r["id"] for r in got if r["state"] != "failed"]
            self.assertEqual(back, [], "round %d: cancelled tasks back after the restart: %r"
                             % (round_, [r for r in got if r["state"] != "failed"][:3]))


class ResultsSurvive(FleetTestCase):
    FLEET = None
    TTL_S = 5

    PAYLOADS = [b"\x00\xffbytes", "text \u00e9\u4e2d", {"nested": [1, 2.5, None, True, {"k": b"v"}]},
                list(range(100)), b"x" * 100000, None, -2 ** 63, 2 ** 64 - 1]

    def run_set(self, client, prefix):
        """Runs every payload through builtin:echo, plus a failing task;
        returns the final result maps by id."""
        ids = [client.submit_ok("builtin:echo", [p], id="%s-%d" % (prefix, i))
               for i, p in enumerate(self.PAYLOADS)]
        ids.append(client.submit_ok("builtin:sleep", ["not a number"], id=prefix + "-fail"))
        results = client.wait_many(ids, timeout_s=30)
        for r, p in zip(results, self.PAYLOADS):
            self.assertEqual((r["state"], r["result"]), ("done", p), r)
        self.assertEqual((results[-1]["state"], results[-1]["error"]["code"]), ("failed", "exception"))
        return {r["id"]: r for r in results}

    def test_results_survive_a_crash_and_expire_at_their_ttl(self):
        fleet = self.new_fleet(broker=journal(), cache={"ttl_s": self.TTL_S},
                               workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})
        client = fleet.client()
        first = self.run_set(client, "a")
        finished = time.monotonic()
        fleet.stop_broker(signal.SIGKILL)
        fleet.start_broker(1)
        client = fleet.client()
        self.assertEqual(client.status()["journal"]["restored_results"], len(first))
        for tid, res in first.items():
            self.assertEqual(client.get(tid), res)          # the same bytes, worker, attempts, times
        dup = client.submit("builtin:echo", ["again"], id="a-0")
        self.assertEqual((dup["op"], dup.get("code")), ("error", "duplicate_id"), dup)

        # The TTL runs from the finish, across the restart.
        gone = poll(lambda: client.get_many(list(first))["results"],
                    lambda rs: all(r["state"] == "unknown" for r in rs), timeout_s=self.TTL_S + 10)
        self.assertEqual(set(r["state"] for r in gone), {"unknown"})
        self.assertGreater(time.monotonic() - finished, self.TTL_S - 1)
        self.assertEqual(client.submit("builtin:echo", ["reused"], id="a-0")["op"], "accepted")
        self.assertEqual(client.wait("a-0")["result"], "reused")

        # Results that pass their TTL while the broker is down stay gone, and
        # expired ones are not brought back by replaying their records.
        self.run_set(client, "b")
        fleet.stop_broker(signal.SIGKILL)
        time.sleep(self.TTL_S + 1)
        fleet.start_broker(1)
        client = fleet.client()
        self.assertEqual(client.status()["journal"]["restored_results"], 0)
        ids = list(first) + ["b-%d" % i for i in range(len(self.PAYLOADS))] + ["b-fail"]
        self.assertEqual(set(r["state"] for r in client.get_many(ids)["results"]), {"unknown"})


COUNT_SCRIPT = """
    import os
    import time

    def main(path):
        # One line per run; only the first run hangs (until its worker is killed).
        first = not os.path.exists(path)
        with open(path, "a") as f:
            f.write("run\\n")
        if first:
            time.sleep(60)
        return "ran"
    """


class AttemptsAcrossCrashes(FleetTestCase):
    FLEET = None

    def test_attempts_survive_two_crashes_in_a_row(self):
        # A cpu task, run by a hand-started worker (no local cpu workers), is
        # running when broker and worker are killed. Restarted with no cpu
        # worker, the broker holds it queued with its attempt counted; killed
        # again before it runs, the next broker must still count that attempt.
        fleet = self.new_fleet(broker=journal(), ready_workers=1, scripts={"count.py": COUNT_SCRIPT},
                               workers={"io": {"processes": 1, "threads": 1}, "cpu": {"processes": 0}})
        runs = os.path.join(fleet.dir, "runs")
        worker = fleet.start_worker("cpu", threads=1)
        fleet.wait_ready(2)
        client = fleet.client()
        tid = client.submit_ok("count.py", [runs], type="cpu", id="twice")
        poll(lambda: os.path.exists(runs), bool, timeout_s=20)
        self.assertEqual(client.get(tid)["state"], "running")
        fleet.stop_broker(signal.SIGKILL)
        worker.kill()
        worker.wait()

        fleet.start_broker(1)
        st = fleet.client().status()
        self.assertEqual(st["journal"]["restored_tasks"], 1)
        self.assertEqual(fleet.client().get(tid)["state"], "pending")
        fleet.stop_broker(signal.SIGKILL)

        fleet.start_broker(1)
        fleet.start_worker("cpu", threads=1)
        res = fleet.client().wait(tid, timeout_s=30)
        with open(runs) as f:
            self.assertEqual(f.read().count("run"), 2)
        self.assertEqual((res["state"], res.get("result"), res.get("attempts")), ("done", "ran", 2), res)
