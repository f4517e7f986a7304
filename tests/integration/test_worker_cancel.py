"""CANCEL on the worker: a real zfleet-worker driven directly by the test,
which plays the broker with its own ROUTER (backend) and SUB (status) on
loopback ports picked free at run time.

Covers: a prefetched (queued) task is answered `cancelled` at once and never
runs; a running Python loop is interrupted (zfleet.TaskCancelled) and answers
`cancelled` within a second; builtin:sleep and builtin:spin stop at once; a
cancel for a dispatch already answered (or never sent) changes nothing; a
Python call stuck in C (time.sleep) counts as stuck from the cancel, so with
--kill-grace-ms the worker says GONE and exits with code 75.

Also home of `FakeBroker`, the stand-in broker that test_worker_drain.py and
test_fail_loudly_worker.py import too (kept in a test file: the shared
harness files are not the worker's to change).
"""
import os
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time
import unittest
import uuid

import zmq

from harness import CTX, WORKER_BIN, free_ports, pack, start_process, stop_process, unpack

RECYCLE_EXIT = 75       # worker/worker.h kRecycleExit


class FakeBroker:
    """The broker's two worker-facing sockets, bound on loopback, and one
    zfleet-worker connected to them. Speaks the internal link
    (common/worker_link.h): it sends TASK / CANCEL / BYE_ACK / GONE_ACK /
    RESYNC / STOP, and reads READY, RESULT, BYE, GONE from the backend and
    heartbeats from the status SUB.

    Every message read is kept in `seen` (a list of (command, frames,
    monotonic time)), so a test can look back at what came and when.
    close() kills the worker (if still running), closes the sockets and
    removes the temp dir; use it with addCleanup.
    """

    def __init__(self, name="fake-broker"):
        self.dir = tempfile.mkdtemp(prefix="zfleet-it-%s-" % name)
        self.tasks_dir = os.path.join(self.dir, "tasks")
        os.makedirs(self.tasks_dir)
        backend_port, status_port = free_ports(2)
        self.backend = "tcp://127.0.0.1:%d" % backend_port
        self.status = "tcp://127.0.0.1:%d" % status_port
        self.router = CTX.socket(zmq.ROUTER)
        self.router.setsockopt(zmq.LINGER, 0)
        self.router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.router.bind(self.backend)
        self.sub = CTX.socket(zmq.SUB)
        self.sub.setsockopt(zmq.LINGER, 0)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"")
        self.sub.bind(self.status)
        self.proc = None
        self.worker_id = None
        self.route = None        # the worker's routing id (random per process), from its messages
        self.result_routes = set()  # routing ids of its pool threads' results sockets
        self.log_path = os.path.join(self.dir, "worker.log")
        self.next_dispatch = 1
        self.seen = []
        self.heartbeats = []     # (decoded map, monotonic time)

    # -- the worker process -----------------------------------------------

    def write_script(self, name, source):
        with open(os.path.join(self.tasks_dir, name), "w") as f:
            f.write(textwrap.dedent(source))

    def start_worker(self, threads=2, heartbeat_ms=50, extra=(), env=None):
        """Starts zfleet-worker against this broker and waits for its READY.
        `env`: extra environment variables (set through /usr/bin/env, since
        procs.start_process passes the test's own environment)."""
        self.worker_id = "fake-w-" + uuid.uuid4().hex[:8]
        argv = [WORKER_BIN, "--backend", self.backend, "--status", self.status,
                "--id", self.worker_id, "--threads", str(threads),
                "--heartbeat-ms", str(heartbeat_ms), "--script-root", self.tasks_dir,
                "--log-level", "debug"] + list(extra)
        if env:
            argv = ["/usr/bin/env"] + ["%s=%s" % kv for kv in sorted(env.items())] + argv
        self.proc = start_process(argv, self.log_path)
        ready = self.expect("R", timeout_s=30)
        info = unpack(ready[1])
        assert info["id"] == self.worker_id, info
        assert info["route"].encode() == self.route, (info, self.route)
        return info

    def wait_exit(self, timeout_s):
        """The worker's exit code, or None if it still runs after timeout_s."""
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def log_tail(self, n=40):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def close(self):
        if self.proc is not None:
            stop_process(self.proc, sig=signal.SIGKILL, timeout=5)
        self.router.close(0)
        self.sub.close(0)
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- sending (B -> W) ---------------------------------------------------

    def _send(self, *frames):
        self.router.send_multipart([self.route] + [
            f if isinstance(f, bytes) else f.encode() for f in frames])

    def send_task(self, script, args=(), kwargs=None, func="main", timeout_ms=0, task_id=None,
                  attempt=1):
        """Sends a TASK; returns its dispatch number."""
        dispatch = self.next_dispatch
        self.next_dispatch += 1
        task_id = task_id or "task-%d" % dispatch
        payload = pack([script, func, pack(list(args)), pack(kwargs or {})])
        self._send("T", task_id, pack([dispatch, attempt, timeout_ms]), payload)
        return dispatch

    def cancel(self, dispatch):
        self._send("Z", pack(dispatch))

    def bye_ack(self):
        self._send("A")

    def gone_ack(self):
        self._send("K")

    def resync(self):
        self._send("X")

    def stop(self):
        self._send("S")

    # -- receiving (W -> B) -------------------------------------------------

    def _pump(self, timeout_ms):
        """Reads whatever arrives within timeout_ms into seen / heartbeats."""
        poller = zmq.Poller()
        poller.register(self.router, zmq.POLLIN)
        poller.register(self.sub, zmq.POLLIN)
        for sock, _ in poller.poll(timeout_ms):
            while True:
                try:
                    frames = sock.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                now = time.monotonic()
                if sock is self.sub:
                    self.heartbeats.append((unpack(frames[1]), now))
                else:
                    # RESULTs come on each pool thread's own socket, named
                    # ROUTE#N (common/worker_link.h result_route); everything
                    # else on the worker's own connection, the one to send to.
                    route, mark, slot = frames[0].rpartition(b"#")
                    if mark and slot.isdigit():
                        self.result_routes.add(frames[0])
                    else:
                        self.route = frames[0]
                    self.seen.append((frames[1].decode(), frames[1:], now))

    def expect(self, command, timeout_s=10.0, pred=None, since=0):
        """Frames (command first) of the first message `command` in seen[since:]
        for which pred(frames) holds, waiting up to timeout_s for it."""
        deadline = time.monotonic() + timeout_s
        while True:
            for cmd, frames, _ in self.seen[since:]:
                if cmd == command and (pred is None or pred(frames)):
                    return frames
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no %r from the worker within %.1f s; seen %s\n%s" % (
                    command, timeout_s, [c for c, _, _ in self.seen], self.log_tail()))
            self._pump(min(int(left * 1000) + 1, 50))

    def idle(self, seconds):
        """Keeps reading for `seconds` (nothing is expected)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._pump(max(1, int((deadline - time.monotonic()) * 1000)))

    def results(self, dispatch):
        """Every RESULT seen so far for `dispatch`, decoded."""
        return [decode_result(frames) for cmd, frames, _ in self.seen
                if cmd == "D" and unpack(frames[2])[0] == dispatch]

    def result(self, dispatch, timeout_s=10.0):
        """The RESULT for `dispatch` (waiting up to timeout_s), decoded."""
        frames = self.expect("D", timeout_s, pred=lambda f: unpack(f[2])[0] == dispatch)
        return decode_result(frames)


def decode_result(frames):
    """RESULT frames ["D"][id][meta][value] as a dict."""
    dispatch, attempt, ok, run_us = unpack(frames[2])
    out = {"id": frames[1].decode(), "dispatch": dispatch, "attempt": attempt, "ok": ok,
           "run_us": run_us, "at": time.monotonic()}
    value = unpack(frames[3])
    if ok:
        out["result"] = value
    else:
        out["error"] = value
    return out


def wait_for_file(path, timeout_s=20.0):
    deadline = time.monotonic() + timeout_s
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise AssertionError("%s never appeared" % path)
        time.sleep(0.005)


SCRIPTS = {
    "marks.py": """
        import time

        def touch(path):
            open(path, "w").close()
            return "ran"

        def spin(path):
            open(path, "w").close()
            while True:
                pass

        def nap(path, seconds):
            open(path, "w").close()
            time.sleep(seconds)
            return "woke"

        def echo(x):
            return x
        """,
}


class WorkerCancelTestCase(unittest.TestCase):
    """One FakeBroker per test, with the scripts above; prints the worker log
    when a test fails."""

    THREADS = 1
    EXTRA = ()

    def setUp(self):
        self.broker = FakeBroker()
        self.addCleanup(self.broker.close)
        for name, source in SCRIPTS.items():
            self.broker.write_script(name, source)
        self.broker.start_worker(threads=self.THREADS, extra=self.EXTRA)

    def marker(self, name):
        return os.path.join(self.broker.dir, name)

    def assertCancelled(self, res, why=None):
        self.assertFalse(res["ok"], res)
        self.assertEqual(res["error"]["code"], "cancelled", res)
        if why:
            self.assertIn(why, res["error"]["message"])


class CancelQueued(WorkerCancelTestCase):
    def test_prefetched_task_is_answered_at_once_and_never_runs(self):
        b = self.broker
        busy = b.send_task("marks.py", [self.marker("busy"), 60], func="nap")   # holds the thread
        wait_for_file(self.marker("busy"))
        queued = b.send_task("marks.py", [self.marker("queued")], func="touch", task_id="q-1",
                             attempt=2)
        b.idle(0.1)
        sent = time.monotonic()
        b.cancel(queued)
        res = b.result(queued, timeout_s=5)
        self.assertCancelled(res, "before it started")
        self.assertEqual((res["id"], res["attempt"], res["run_us"]), ("q-1", 2, 0), res)
        self.assertLess(res["at"] - sent, 1.0)
        # The queued task never ran (no marker, no second RESULT); the busy
        # one still runs, untouched.
        b.idle(0.5)
        self.assertFalse(os.path.exists(self.marker("queued")))
        self.assertEqual(len(b.results(queued)), 1)
        self.assertEqual(b.results(busy), [])

    def test_task_cancelled_in_the_same_burst_as_its_task(self):
        b = self.broker
        b.send_task("marks.py", [self.marker("busy"), 60], func="nap")
        wait_for_file(self.marker("busy"))
        queued = b.send_task("marks.py", [self.marker("burst")], func="touch")
        b.cancel(queued)  # right behind its TASK: likely read in one burst
        self.assertCancelled(b.result(queued, timeout_s=5), "before it started")
        self.assertFalse(os.path.exists(self.marker("burst")))


class CancelRunning(WorkerCancelTestCase):
    THREADS = 2

    def test_running_python_loop_is_cancelled_within_a_second(self):
        b = self.broker
        d = b.send_task("marks.py", [self.marker("spin")], func="spin", timeout_ms=60000)
        wait_for_file(self.marker("spin"))
        sent = time.monotonic()
        b.cancel(d)
        res = b.result(d, timeout_s=5)
        self.assertCancelled(res, "while running")
        self.assertLess(res["at"] - sent, 1.0)
        self.assertGreater(res["run_us"], 0)
        # The thread is fine afterwards: nothing leaked into the next task.
        d2 = b.send_task("marks.py", [41], func="echo")
        res2 = b.result(d2)
        self.assertEqual((res2["ok"], res2["result"]), (True, 41), res2)
        # Both came on pool threads' own sockets, named after the worker's
        # route, not on the worker's connection (issue 14).
        self.assertTrue(b.result_routes)
        for rid in b.result_routes:
            self.assertTrue(rid.startswith(b.route + b"#"), (rid, b.route))

    def test_builtin_sleep_and_spin_stop_at_once(self):
        b = self.broker
        sleep = b.send_task("builtin:sleep", [10000])
        spin = b.send_task("builtin:spin", [10000000])
        b.idle(0.2)   # both under way (two threads)
        self.assertEqual(b.results(sleep) + b.results(spin), [])
        sent = time.monotonic()
        b.cancel(sleep)
        b.cancel(spin)
        for d in (sleep, spin):
            res = b.result(d, timeout_s=5)
            self.assertCancelled(res)
            self.assertLess(res["at"] - sent, 1.0)

    def test_cancel_of_an_answered_or_unknown_dispatch_changes_nothing(self):
        b = self.broker
        d = b.send_task("builtin:echo", ["first"])
        self.assertEqual(b.result(d)["result"], "first")
        b.cancel(d)
        b.cancel(987654)
        nxt = b.send_task("builtin:sleep", [200])
        res = b.result(nxt)
        self.assertTrue(res["ok"], res)
        b.idle(0.2)
        self.assertEqual(len(b.results(d)), 1)
        self.assertEqual([c for c, _, _ in b.seen if c not in ("D", "R")], [])
        self.assertIsNone(b.proc.poll())


class CancelStuckInC(WorkerCancelTestCase):
    EXTRA = ("--kill-grace-ms", "500")

    def test_python_call_stuck_in_sleep_recycles_the_worker(self):
        b = self.broker
        # No timeout: only the cancel can make this task count as stuck.
        d = b.send_task("marks.py", [self.marker("nap"), 60], func="nap")
        wait_for_file(self.marker("nap"))
        b.idle(1.0)   # well past kill_grace_ms: not stuck without a cancel
        self.assertIsNone(b.proc.poll())
        sent = time.monotonic()
        b.cancel(d)
        b.expect("G", timeout_s=10)
        gone_after = time.monotonic() - sent
        b.gone_ack()
        self.assertEqual(b.wait_exit(10), RECYCLE_EXIT, b.log_tail())
        self.assertGreaterEqual(gone_after, 0.4)   # kill_grace counts from the cancel
        self.assertLess(gone_after, 5.0)
        self.assertEqual(b.results(d), [])
        self.assertIn("recycling", b.log_tail())


if __name__ == "__main__":
    unittest.main()
