"""A task cannot wreck its worker (issue 11, point 3), with real brokers and
workers:

- a task that forks and whose child returns into the worker: the child
  exits at once (worker/exec/fork_guard.h) and the parent's task gets its
  own result; a child that does its work and leaves with os._exit (the
  multiprocessing way) still works; the worker keeps serving;
- a non-daemon thread a task leaves behind does not keep a stopped worker
  alive: after SIGTERM a hand-started worker exits 0 within seconds
  (PythonRuntime::finalize), and neither does an atexit handler that blocks;
- a local worker whose leftover thread burns CPU while it runs no task is
  recycled: it drains, exits with code 76 (worker/idle_cpu.h) and the
  broker's supervisor starts a fresh one, which serves the next tasks; a
  sleeping leftover thread or a long CPU-bound task does not trigger that.

Also home of `start_hand_worker`, which test_confinement.py imports too.
"""
import os
import signal
import subprocess
import time
import uuid

from harness import WORKER_BIN, FleetTestCase, pid_alive, poll, start_process

FAST = {"heartbeat_ms": 100, "liveness": 4}
IDLE_CPU_EXIT = 76          # worker/idle_cpu.h kIdleCpuExit
STOPS_WITHIN_S = 5.0        # SIGTERM to exit, leftover threads or not

SCRIPTS = {
    "forks.py": """
        import os
        import sys

        def _status(pid):
            _, status = os.waitpid(pid, 0)
            return os.waitstatus_to_exitcode(status)

        def child_returns(pidfile):
            pid = os.fork()
            if pid == 0:
                with open(pidfile, "w") as f:
                    f.write(str(os.getpid()))
                return "child"
            return ["parent", _status(pid)]

        def child_exits(code):
            pid = os.fork()
            if pid == 0:
                sys.exit(code)
            return ["parent", _status(pid)]

        def child_raises():
            pid = os.fork()
            if pid == 0:
                raise ValueError("raised in the child")
            return ["parent", _status(pid)]

        def child_works(n):
            # The multiprocessing way: work, hand the result over, os._exit.
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                os.write(w, str(sum(range(n))).encode())
                os._exit(0)
            os.close(w)
            data = os.read(r, 100)
            os.close(r)
            return [int(data), _status(pid)]

        def child_not_waited(pidfile):
            pid = os.fork()
            if pid == 0:
                with open(pidfile, "w") as f:
                    f.write(str(os.getpid()))
                return "child"
            return "parent"
        """,
    "forks_on_load.py": """
        import os

        # The module body forks: its child must not return into the worker.
        _pid = os.fork()
        if _pid == 0:
            with open(os.path.join(os.path.dirname(__file__), "load_child.pid"), "w") as f:
                f.write(str(os.getpid()))
        else:
            _, _status = os.waitpid(_pid, 0)
            CHILD_EXIT = os.waitstatus_to_exitcode(_status)

        def main():
            return ["loaded", CHILD_EXIT]
        """,
    "threads.py": """
        import threading
        import time

        def _sleep_forever():
            while True:
                time.sleep(0.05)

        def _spin_forever():
            while True:
                pass

        # daemon=False said outright: a thread started from a pool thread
        # (a threading._DummyThread, since the worker imports threading in
        # its main thread at start) would be a daemon by default.
        def leave_sleeper():
            threading.Thread(target=_sleep_forever, name="left-sleeper", daemon=False).start()
            return "left"

        def leave_spinner():
            threading.Thread(target=_spin_forever, name="left-spinner", daemon=False).start()
            return "left"

        def block_exit():
            import atexit
            atexit.register(time.sleep, 60)
            return "left"
        """,
}


def start_hand_worker(fleet, worker_id, extra=(), threads=2):
    """A zfleet-worker started by hand against `fleet` (as on another host),
    with extra flags; stopped with the fleet."""
    argv = [WORKER_BIN, "--backend", fleet.endpoints["backend"],
            "--status", fleet.endpoints["status"], "--type", "io", "--threads", str(threads),
            "--script-root", fleet.tasks_dir, "--heartbeat-ms", str(FAST["heartbeat_ms"]),
            "--id", worker_id] + list(extra)
    proc = start_process(argv, os.path.join(fleet.dir, "worker-%s.log" % worker_id))
    fleet.hand_workers.append(proc)
    return proc


def read_log(path):
    with open(path, errors="replace") as f:
        return f.read()


def read_pid(path, timeout_s=10.0):
    poll(lambda: os.path.exists(path) and os.path.getsize(path) > 0, bool, timeout_s)
    with open(path) as f:
        return int(f.read())


class ForkingTasks(FleetTestCase):
    FLEET = dict(workers=dict(FAST, io={"processes": 1, "threads": 4}, cpu={"processes": 0}),
                 scripts=SCRIPTS)

    def pidfile(self):
        return os.path.join(self.fleet.dir, "child-%s.pid" % uuid.uuid4().hex[:8])

    def assertChildGone(self, pid):
        poll(lambda: pid_alive(pid), lambda alive: not alive, timeout_s=5)
        self.assertFalse(pid_alive(pid), "the forked child %d still runs" % pid)

    def test_child_that_returns_exits_and_the_parent_gets_its_result(self):
        path = self.pidfile()
        res = self.client.run("forks.py", [path], func="child_returns", timeout_ms=10000)
        self.assertDone(res, ["parent", 0])
        self.assertChildGone(read_pid(path))

    def test_child_not_waited_for_leaves_no_orphan(self):
        path = self.pidfile()
        res = self.client.run("forks.py", [path], func="child_not_waited", timeout_ms=10000)
        self.assertDone(res, "parent")
        self.assertChildGone(read_pid(path))

    def test_child_exit_status_follows_sys_exit_and_exceptions(self):
        self.assertDone(self.client.run("forks.py", [3], func="child_exits", timeout_ms=10000),
                        ["parent", 3])
        self.assertDone(self.client.run("forks.py", func="child_raises", timeout_ms=10000),
                        ["parent", 1])

    def test_child_that_works_and_leaves_with_os_exit_still_works(self):
        res = self.client.run("forks.py", [1000], func="child_works", timeout_ms=10000)
        self.assertDone(res, [499500, 0])

    def test_module_body_that_forks(self):
        res = self.client.run("forks_on_load.py", timeout_ms=10000)
        self.assertDone(res, ["loaded", 0])
        self.assertChildGone(read_pid(os.path.join(self.fleet.tasks_dir, "load_child.pid")))

    def test_zz_worker_still_serves_and_was_never_restarted(self):
        ids = [self.client.submit_ok("forks.py", [100], func="child_works", timeout_ms=10000)
               for _ in range(8)]
        results = self.client.wait_many(ids, timeout_s=30)
        self.assertEqual([r.get("result") for r in results], [[4950, 0]] * 8, results)
        self.assertServing()
        st = self.client.status()
        self.assertEqual([lw["restarts"] for lw in st["local_workers"]], [0], st["local_workers"])


class LeftoverThreads(FleetTestCase):
    FLEET = None

    def stop_after_leaving(self, func, extra=(), logged="thread(s) started by tasks still run"):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 0}, cpu={"processes": 0}),
                               scripts=SCRIPTS, ready_workers=0)
        client = fleet.client()
        wid = "left-" + uuid.uuid4().hex[:6]
        proc = start_hand_worker(fleet, wid, extra)
        fleet.wait_ready(1)
        self.assertDone(client.run("threads.py", func=func), "left")
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOPS_WITHIN_S + 10)
        except subprocess.TimeoutExpired:
            rc = None
        took = time.monotonic() - sent
        log = read_log(proc.zfleet_log)
        self.assertEqual(rc, 0, "worker did not exit 0 after SIGTERM\n" + log[-3000:])
        self.assertLess(took, STOPS_WITHIN_S, log[-3000:])
        self.assertIn(logged, log)
        return log

    def test_sleeping_non_daemon_thread_does_not_keep_a_stopped_worker_alive(self):
        self.stop_after_leaving("leave_sleeper")

    def test_busy_non_daemon_thread_does_not_keep_a_stopped_worker_alive(self):
        # Idle CPU recycling off: this is about SIGTERM alone.
        self.stop_after_leaving("leave_spinner", ("--idle-cpu-percent", "0"))

    def test_blocking_atexit_handler_does_not_keep_a_stopped_worker_alive(self):
        # No thread left: Python is finalized, but for 2 s at most.
        log = self.stop_after_leaving("block_exit",
                                      logged="Python finalization still runs after 2000 ms")
        self.assertNotIn("thread(s) started by tasks still run", log)


class IdleCpuRecycle(FleetTestCase):
    FLEET = None

    def test_busy_leftover_thread_recycles_a_local_worker(self):
        fleet = self.new_fleet(workers=dict(FAST, io={"processes": 1, "threads": 2},
                                            cpu={"processes": 0}), scripts=SCRIPTS)
        c = fleet.client()
        (old,) = [w for w in c.status()["workers"] if w["alive"]]
        # Not recycled: a sleeping leftover thread, nor a long CPU-bound task.
        self.assertDone(c.run("threads.py", func="leave_sleeper"), "left")
        self.assertDone(c.run("builtin:spin", [2500000], timeout_ms=20000))
        time.sleep(3.0)                          # more than the 2 s idle window
        st = c.status()
        self.assertEqual(st["local_workers"][0]["restarts"], 0, st["local_workers"])
        self.assertEqual(st["local_workers"][0]["pid"], old["pid"])

        self.assertDone(c.run("threads.py", func="leave_spinner"), "left")
        st = poll(c.status, lambda s: s["local_workers"][0]["restarts"] >= 1 and any(
            w["alive"] and w["pid"] == s["local_workers"][0]["pid"] for w in s["workers"]),
            timeout_s=30, interval_s=0.1)
        (lw,) = st["local_workers"]
        self.assertEqual((lw["restarts"], lw["last_exit"]),
                         (1, "exited with code %d" % IDLE_CPU_EXIT), st)
        self.assertNotEqual(lw["pid"], old["pid"])
        self.assertFalse(pid_alive(old["pid"]))
        self.assertIn("recycling this worker (exit code %d)" % IDLE_CPU_EXIT, fleet.log_tail(400))
        # The fresh worker serves, Python and builtins alike.
        ids = [c.submit_ok("builtin:echo", [i]) for i in range(4)]
        results = c.wait_many(ids, timeout_s=30)
        self.assertEqual([r.get("result") for r in results], [0, 1, 2, 3], results)
        res = c.run("forks.py", [10], func="child_works", timeout_ms=10000)
        self.assertDone(res, [45, 0])
        self.assertEqual(res["worker"], [w["id"] for w in c.status()["workers"]
                                         if w["pid"] == lw["pid"]][0])
