"""Shared helpers of the zfleet integration tests: real processes, real sockets.

What it owns:
  * `Fleet`: one zfleet-broker (and the local workers it starts) on loopback
    ports picked free at run time, configured by a YAML file written into a
    temp dir, with task scripts written into <tmp>/tasks. A context manager:
    leaving it stops the broker (SIGTERM, wait, SIGKILL).
  * `Client`: REQ sockets speaking ZFP/1 (msgpack maps) with receive timeouts.
  * `FleetTestCase`: a unittest base class that starts one fleet per class in
    setUpClass and prints the broker log tail when one of its tests fails.
  * Process hygiene: every process started here is registered; an atexit
    sweep kills whatever is still running, and any zfleet-worker started by
    one of our brokers (`--parent-pid <broker pid>`). Brokers and hand-started
    workers also get PR_SET_PDEATHSIG=SIGKILL, so they die with the test
    process even if it is killed (processes are started from the main thread
    only: the death signal follows the thread that forked).

Uses only Debian's /usr/bin/python3 with python3-zmq and python3-msgpack.
"""
import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import msgpack
import zmq

SOURCE_DIR = os.environ.get(
    "ZFLEET_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("ZFLEET_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
BROKER_BIN = os.path.join(BIN_DIR, "zfleet-broker")
WORKER_BIN = os.path.join(BIN_DIR, "zfleet-worker")

FINAL_STATES = ("done", "failed")
REPLY_TIMEOUT_MS = 15000     # generous: a reply normally comes in milliseconds
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

_started = []          # every Popen this module started
_broker_pids = set()   # pids of brokers started here (their workers carry --parent-pid)


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


# --------------------------------------------------------------------------
# processes


def _die_with_parent():
    # prctl(PR_SET_PDEATHSIG, SIGKILL): runs in the child between fork and exec.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def _spawn(argv, log_path, pipes=False):
    log = open(log_path, "ab")
    try:
        # pipes: stdin and stdout are pipes to the caller (stderr still logged)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                                stdout=subprocess.PIPE if pipes else log, stderr=log,
                                preexec_fn=_die_with_parent, close_fds=True)
    finally:
        log.close()
    _started.append(proc)
    return proc


def start_process(argv, log_path, pipes=False):
    """Starts any helper process under the same hygiene (death signal, atexit sweep)."""
    return _spawn(argv, log_path, pipes)


def pid_alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def poll(fetch, pred, timeout_s=20.0, interval_s=0.02):
    """Calls fetch() until pred(value) holds or timeout_s passes; returns the
    last value (the caller asserts on it, so a failure shows what was seen)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if pred(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def _proc_cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _proc_ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def workers_of(broker_pid):
    """Pids of live zfleet-worker processes started by the broker `broker_pid`."""
    pids = []
    want = str(broker_pid).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = _proc_cmdline(entry)
        if not argv or not argv[0].endswith(b"zfleet-worker"):
            continue
        by_flag = any(a == b"--parent-pid" and b == want for a, b in zip(argv, argv[1:]))
        if by_flag or _proc_ppid(entry) == broker_pid:
            pids.append(int(entry))
    return pids


def _kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
    """Signals `proc`, waits up to `timeout`, then SIGKILLs it. Returns its exit code."""
    if proc.poll() is None:
        _kill_quietly(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _kill_quietly(proc.pid)
            proc.wait()
    return proc.returncode


def sweep():
    """Kills every process started here that still runs, and their workers."""
    for proc in _started:
        if proc.poll() is None:
            _kill_quietly(proc.pid)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    for broker_pid in _broker_pids:
        for pid in workers_of(broker_pid):
            _kill_quietly(pid)


atexit.register(sweep)


def free_ports(n):
    """n distinct free loopback TCP ports (all held open while picking)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


# --------------------------------------------------------------------------
# the fleet


def _yaml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "{" + ", ".join("%s: %s" % (k, _yaml_value(x)) for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_yaml_value(x) for x in v) + "]"
    return str(v)


class Fleet:
    """A broker with its local workers, in its own temp dir.

    broker / workers / cache: dicts merged over the defaults below into the
    YAML sections of the same name. scripts: {relative path: source} written
    under <tmp>/tasks before the start.
    """

    def __init__(self, broker=None, workers=None, cache=None, scripts=None, name="fleet",
                 broker_args=(), ready_workers=None):
        self.broker_args = list(broker_args)     # extra zfleet-broker flags, e.g. --worker-bin
        self.ready_workers = ready_workers       # live workers start() waits for (None: all local)
        self.host = "127.0.0.1"                  # address the broker binds (a subclass may change it)
        self.launcher = []                       # argv prefix for the broker, e.g. ip netns exec NS
        self.dir = tempfile.mkdtemp(prefix="zfleet-it-%s-" % name)
        self.tasks_dir = os.path.join(self.dir, "tasks")
        os.makedirs(self.tasks_dir)
        self.log_path = os.path.join(self.dir, "broker.log")
        self.broker_cfg = {"drain_timeout_ms": 2000}
        self.broker_cfg.update(broker or {})
        self.workers_cfg = {"heartbeat_ms": 100, "liveness": 4,
                            "io": {"processes": 2, "threads": 4},
                            "cpu": {"processes": 1, "threads": 1}}
        for key, value in (workers or {}).items():   # io/cpu maps merge key by key
            if isinstance(value, dict):
                self.workers_cfg[key] = dict(self.workers_cfg.get(key, {}), **value)
            else:
                self.workers_cfg[key] = value
        self.cache_cfg = dict(cache or {})
        self.proc = None
        self.kept_tail = ""
        self.hand_workers = []
        self.endpoints = {}
        self._clients = []
        for path, source in (scripts or {}).items():
            self.write_script(path, source)

    # -- set-up ----------------------------------------------------------

    @property
    def expected_workers(self):
        if self.ready_workers is not None:
            return self.ready_workers
        return (self.workers_cfg["io"].get("processes", 0) +
                self.workers_cfg["cpu"].get("processes", 0))

    def write_script(self, path, source, bump_mtime=False):
        """Writes tasks/<path>; bump_mtime moves the mtime forward so a reload is seen."""
        full = os.path.join(self.tasks_dir, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        old = os.stat(full).st_mtime if os.path.exists(full) else None
        with open(full, "w") as f:
            f.write(textwrap.dedent(source))
        if bump_mtime:
            base = max(time.time(), old or 0) + 2
            os.utime(full, (base, base))
        return full

    def _write_config(self, ports):
        names = ("frontend", "results", "backend", "status")
        self.endpoints = {n: "tcp://%s:%d" % (self.host, p) for n, p in zip(names, ports)}
        broker = dict(self.endpoints)
        broker.update(self.broker_cfg)
        lines = ["broker: " + _yaml_value(broker),
                 "workers: " + _yaml_value(self.workers_cfg),
                 "python: {script_roots: [tasks]}",
                 "logging: {level: info}"]
        if self.cache_cfg:
            lines.append("cache: " + _yaml_value(self.cache_cfg))
        self.config_path = os.path.join(self.dir, "fleet.yaml")
        with open(self.config_path, "w") as f:
            f.write("\n".join(lines) + "\n")

    def start(self, attempts=3):
        for attempt in range(attempts):
            self._write_config(free_ports(4))
            self._spawn_broker()
            try:
                self.wait_ready(self.expected_workers)
                return self
            except BrokerExited:
                # Most likely a port taken between picking and binding: retry.
                if attempt == attempts - 1 or self.proc.returncode != 1:
                    raise
            except BaseException:
                self.stop()
                raise
        return self

    def _spawn_broker(self):
        self.proc = _spawn(self.launcher + [BROKER_BIN, "--config", self.config_path] +
                           self.broker_args, self.log_path)
        _broker_pids.add(self.proc.pid)

    def stop_broker(self, sig=signal.SIGTERM):
        """Stops only the broker (hand-started workers keep running); returns its exit code."""
        return stop_process(self.proc, sig)

    def start_broker(self, n_workers=0):
        """Starts a broker again on the same config and ports (after stop_broker)."""
        self._spawn_broker()
        self.wait_ready(n_workers)

    def wait_ready(self, n_workers, timeout=START_TIMEOUT_S):
        """Polls status until `n_workers` workers are listed alive."""
        deadline = time.monotonic() + timeout
        client = self.client(timeout_ms=1000)
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise BrokerExited("broker exited with %s during start\n%s" %
                                   (self.proc.returncode, self.log_tail()))
            try:
                last = client.status()
                if sum(1 for w in last["workers"] if w["alive"]) >= n_workers:
                    return last
            except ReplyTimeout:
                pass
            time.sleep(0.05)
        raise AssertionError("fleet not ready: wanted %d live workers, last status %r\n%s" %
                             (n_workers, last, self.log_tail()))

    def start_worker(self, type_="io", threads=2, worker_id=None, heartbeat_ms=None, launcher=()):
        """Starts a zfleet-worker by hand (like one on another host); `launcher`
        is an argv prefix such as ["ip", "netns", "exec", NS]."""
        argv = list(launcher) + [WORKER_BIN, "--backend", self.endpoints["backend"],
                "--status", self.endpoints["status"], "--type", type_,
                "--threads", str(threads), "--script-root", self.tasks_dir,
                "--heartbeat-ms", str(heartbeat_ms or self.workers_cfg["heartbeat_ms"])]
        if worker_id:
            argv += ["--id", worker_id]
        proc = _spawn(argv, os.path.join(self.dir, "worker-%s.log" % (worker_id or len(self.hand_workers))))
        self.hand_workers.append(proc)
        return proc

    # -- tear-down -------------------------------------------------------

    def stop(self, timeout=None):
        """Stops everything this fleet started; returns the broker's exit code."""
        for c in self._clients:
            c.close()
        self._clients = []
        for w in self.hand_workers:
            stop_process(w, timeout=5)
        rc = None
        if self.proc is not None:
            if timeout is None:
                timeout = self.broker_cfg.get("drain_timeout_ms", 10000) / 1000.0 + 10
            rc = stop_process(self.proc, timeout=timeout)
            for pid in workers_of(self.proc.pid):
                _kill_quietly(pid)
        return rc

    def keep_tail(self):
        self.kept_tail = self.log_tail()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        if exc[0] is not None:
            sys.stderr.write("\n--- broker log tail (%s) ---\n%s\n" % (self.log_path, self.log_tail()))
        self.cleanup()
        return False

    # -- helpers ---------------------------------------------------------

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=60):
        try:
            with open(self.log_path, "rb") as f:
                data = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(data[-lines:])

    def client(self, timeout_ms=REPLY_TIMEOUT_MS):
        c = Client(self.endpoints, timeout_ms)
        self._clients.append(c)
        return c

    def socket(self, kind, endpoint_name, **opts):
        """A raw socket connected to one endpoint; closed with the fleet."""
        s = CTX.socket(kind)
        s.setsockopt(zmq.LINGER, 0)
        for k, v in opts.items():
            s.setsockopt(getattr(zmq, k), v)
        s.connect(self.endpoints[endpoint_name])
        self._clients.append(_Closer(s))
        return s


class BrokerExited(AssertionError):
    pass


class ReplyTimeout(AssertionError):
    pass


CTX = zmq.Context.instance()


class _Closer:
    def __init__(self, sock):
        self.sock = sock

    def close(self):
        self.sock.close(0)


def recv_frames(sock, timeout_ms=REPLY_TIMEOUT_MS):
    """All frames of the next message, or raises ReplyTimeout."""
    if not sock.poll(timeout_ms, zmq.POLLIN):
        raise ReplyTimeout("no reply within %d ms" % timeout_ms)
    return sock.recv_multipart()


def recv_body(sock, timeout_ms=REPLY_TIMEOUT_MS):
    """Decoded last frame of the next message."""
    return unpack(recv_frames(sock, timeout_ms)[-1])


class Client:
    """ZFP/1 over REQ sockets (one per endpoint), with a receive timeout.

    After a timeout the REQ socket is replaced, so one lost reply does not
    wedge the rest of a test. Not thread safe: one Client per thread.
    """

    def __init__(self, endpoints, timeout_ms=REPLY_TIMEOUT_MS):
        self.endpoints = endpoints
        self.timeout_ms = timeout_ms
        self.socks = {}

    def _sock(self, name):
        s = self.socks.get(name)
        if s is None:
            s = CTX.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            s.connect(self.endpoints[name])
            self.socks[name] = s
        return s

    def close(self):
        for s in self.socks.values():
            s.close(0)
        self.socks = {}

    def raw(self, endpoint_name, data, timeout_ms=None):
        """Sends raw bytes as the body; returns the decoded reply map."""
        s = self._sock(endpoint_name)
        s.send(data)
        timeout_ms = timeout_ms or self.timeout_ms
        if not s.poll(timeout_ms, zmq.POLLIN):
            s.close(0)
            del self.socks[endpoint_name]
            raise ReplyTimeout("no reply on %s within %d ms" % (endpoint_name, timeout_ms))
        return unpack(s.recv())

    def request(self, endpoint_name, body, timeout_ms=None):
        return self.raw(endpoint_name, pack(body), timeout_ms)

    # frontend
    def submit(self, script, args=None, **fields):
        body = {"op": "submit", "script": script}
        if args is not None:
            body["args"] = args
        body.update(fields)
        return self.request("frontend", body)

    def submit_ok(self, script, args=None, **fields):
        reply = self.submit(script, args, **fields)
        if reply.get("op") != "accepted":
            raise AssertionError("submit of %s refused: %r" % (script, reply))
        return reply["id"]

    def submit_batch(self, tasks, **fields):
        body = {"op": "submit_batch", "tasks": tasks}
        body.update(fields)
        return self.request("frontend", body)

    # results
    def get(self, task_id, wait_ms=0, **fields):
        body = {"op": "get", "id": task_id, "wait_ms": wait_ms}
        body.update(fields)
        extra = wait_ms + self.timeout_ms
        return self.request("results", body, timeout_ms=extra)

    def get_many(self, ids, wait_ms=0, **fields):
        body = {"op": "get_many", "ids": ids, "wait_ms": wait_ms}
        body.update(fields)
        return self.request("results", body, timeout_ms=wait_ms + self.timeout_ms)

    def wait(self, task_id, timeout_s=30.0):
        """Long-polls until the task is done or failed; returns the result map."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            reply = self.get(task_id, wait_ms=max(1, min(5000, left_ms)))
            if reply.get("state") in FINAL_STATES or left_ms <= 0:
                return reply

    def wait_many(self, ids, timeout_s=60.0):
        """get_many with wait until every task is final; returns the result maps."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            reply = self.get_many(ids, wait_ms=max(1, min(10000, left_ms)))
            results = reply["results"]
            # "unknown" never changes by waiting: it ends the wait like a final state.
            if all(r["state"] in FINAL_STATES + ("unknown",) for r in results) or left_ms <= 0:
                return results

    def run(self, script, args=None, **fields):
        """Submits one task and waits for its final result map."""
        return self.wait(self.submit_ok(script, args, **fields))

    def status(self):
        return self.request("results", {"op": "status"})

    def clear_cache(self, script=None):
        body = {"op": "clear_cache"}
        if script is not None:
            body["script"] = script
        return self.request("results", body)


# --------------------------------------------------------------------------
# unittest glue


class FleetTestCase(unittest.TestCase):
    """One fleet per test class. Subclasses set FLEET = dict(broker=..., workers=..., scripts=...)."""

    FLEET = {}     # None: no class fleet (every test makes its own with new_fleet)
    fleet = None

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if cls.FLEET is None:
            return
        cls.fleet = Fleet(name=cls.__name__, **cls.FLEET)
        cls.addClassCleanup(cls.fleet.cleanup)
        cls.fleet.start()
        cls.client = cls.fleet.client()

    def run(self, result=None):
        self._own_fleets = []
        before = len(result.failures) + len(result.errors) if result is not None else 0
        out = super().run(result)
        if result is not None and len(result.failures) + len(result.errors) > before:
            tails = [(self.fleet.log_path, self.fleet.log_tail())] if self.fleet else []
            for fleet in self._own_fleets:      # already cleaned up: tails kept below
                tails.append((fleet.log_path, fleet.kept_tail))
            for path, tail in tails:
                sys.stderr.write("\n--- %s: broker log tail (%s) ---\n%s\n--- end ---\n" % (
                    self.id(), path, tail))
        return out

    def new_fleet(self, fleet_class=None, **kwargs):
        """A fleet of this test only, stopped by addCleanup even if the test fails."""
        fleet = (fleet_class or Fleet)(name=self._testMethodName, **kwargs)
        self.addCleanup(fleet.cleanup)
        self.addCleanup(fleet.keep_tail)        # cleanups run last-in first-out
        self._own_fleets.append(fleet)
        fleet.start()
        return fleet

    def assertServing(self, client=None):
        """The broker still runs and a normal submit/get round trip works."""
        self.assertTrue(self.fleet.alive(), "broker died\n" + self.fleet.log_tail())
        client = client or self.client
        marker = {"still": ["serving", 1]}
        res = client.run("builtin:echo", [marker])
        self.assertEqual(res["state"], "done", res)
        self.assertEqual(res["result"], marker)

    def assertDone(self, res, expected=None):
        self.assertEqual(res.get("state"), "done", res)
        if expected is not None:
            self.assertEqual(res.get("result"), expected)

    def assertFailed(self, res, code):
        self.assertEqual(res.get("state"), "failed", res)
        self.assertEqual(res["error"]["code"], code, res)
        self.assertIsInstance(res["error"]["message"], str)
        return res["error"]

    def assertErrorReply(self, reply, code):
        self.assertEqual(reply.get("op"), "error", reply)
        self.assertEqual(reply.get("code"), code, reply)
        self.assertIsInstance(reply.get("message"), str, reply)
        self.assertTrue(reply["message"], reply)
        return reply
