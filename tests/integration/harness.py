"""The fleet and unittest glue of the zfleet integration tests: real
processes, real sockets; and the one module test files import from.

What it owns:
  * `Fleet`: one zfleet-broker (and the local workers it starts) on loopback
    ports picked free at run time, configured by a YAML file written into a
    temp dir, with task scripts written into <tmp>/tasks. A context manager:
    leaving it stops the broker (SIGTERM, wait, SIGKILL).
  * `FleetTestCase`: a unittest base class that starts one fleet per class in
    setUpClass and prints the broker log tail when one of its tests fails.
  * Re-exports of the helpers in `procs` (paths, process start/stop, the
    atexit sweep that kills leftover processes) and `client` (ZFP/1 `Client`,
    msgpack, raw socket receives), so that test files import everything from
    here. Importing this module registers that sweep.

Uses only Debian's /usr/bin/python3 with python3-zmq and python3-msgpack.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import unittest

import zmq

from client import (CTX, FINAL_STATES, REPLY_TIMEOUT_MS, Client, CurveKeys, ReplyTimeout, pack,
                    recv_body, recv_frames, unpack)
from procs import (BIN_DIR, BROKER_BIN, SOURCE_DIR, START_TIMEOUT_S, STOP_TIMEOUT_S,
                   WORKER_BIN, free_ports, kill_quietly, pid_alive, poll, register_broker,
                   start_process, stop_process, sweep, workers_of)

__all__ = [
    # this module
    "BrokerExited", "Fleet", "FleetTestCase",
    # client
    "CTX", "FINAL_STATES", "REPLY_TIMEOUT_MS", "Client", "CurveKeys", "ReplyTimeout", "pack",
    "recv_body", "recv_frames", "unpack",
    # procs
    "BIN_DIR", "BROKER_BIN", "SOURCE_DIR", "START_TIMEOUT_S", "STOP_TIMEOUT_S",
    "WORKER_BIN", "free_ports", "kill_quietly", "pid_alive", "poll", "register_broker",
    "start_process", "stop_process", "sweep", "workers_of",
]


CLI_BIN = os.path.join(BIN_DIR, "zfleet")


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

    broker / workers / cache / python / logging: dicts merged over the defaults below
    into the YAML sections of the same name (workers "pools" counts in the
    workers start() waits for). scripts: {relative path: source} written
    under <tmp>/tasks before the start.
    """

    def __init__(self, broker=None, workers=None, cache=None, scripts=None, name="fleet",
                 broker_args=(), ready_workers=None, security=None, python=None, logging=None):
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
        self.python_cfg = {"script_roots": ["tasks"]}
        self.python_cfg.update(python or {})
        self.logging_cfg = {"level": "info"}
        self.logging_cfg.update(logging or {})
        self.client_curve = None                  # CurveKeys of fleet.client() by default
        if security is True:
            security = self.standard_keys()
        self.security_cfg = dict(security or {})  # paths relative to the fleet's folder
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
        pools = [self.workers_cfg["io"], self.workers_cfg["cpu"]]
        pools += list(self.workers_cfg.get("pools", {}).values())
        return sum(p.get("processes", 1) for p in pools)

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
                 "python: " + _yaml_value(self.python_cfg),
                 "logging: " + _yaml_value(self.logging_cfg)]
        if self.cache_cfg:
            lines.append("cache: " + _yaml_value(self.cache_cfg))
        if self.security_cfg:
            lines.append("security: " + _yaml_value(self.security_cfg))
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
        self.proc = start_process(self.launcher + [BROKER_BIN, "--config", self.config_path] +
                           self.broker_args, self.log_path)
        register_broker(self.proc.pid)

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

    def standard_keys(self):
        """security=True: writes a set of keys and returns the section using
        them. keys/producers/p1 may submit, keys/clients/c1 may read results,
        keys/both/admin may do both (and is what fleet.client() uses),
        keys/workers/w1 (local workers) and w2 may be workers; keys/stranger
        is allowed nowhere."""
        for path in ("keys/broker", "keys/producers/p1", "keys/clients/c1", "keys/both/admin",
                     "keys/workers/w1", "keys/workers/w2", "keys/stranger"):
            self.keygen(path)
        self.client_curve = self.curve("keys/both/admin")
        return {"secret_key": "keys/broker.key",
                "producers": ["keys/producers", "keys/both"],
                "clients": ["keys/clients", "keys/both"],
                "workers": ["keys/workers"],
                "worker_key": "keys/workers/w1.key"}

    def keygen(self, path):
        """`zfleet keygen` of <fleet dir>/PATH: returns PATH (for the config)."""
        full = os.path.join(self.dir, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        subprocess.run([CLI_BIN, "keygen", full], check=True, stdout=subprocess.DEVNULL)
        return path

    def curve(self, key_path, server="keys/broker"):
        """CurveKeys of the pair written by keygen(key_path), for a client."""
        return CurveKeys.from_files(os.path.join(self.dir, key_path + ".key"),
                                    os.path.join(self.dir, server + ".pub"))

    def start_worker(self, type_="io", threads=2, worker_id=None, heartbeat_ms=None, launcher=(),
                     extra_args=()):
        """Starts a zfleet-worker by hand (like one on another host); `launcher`
        is an argv prefix such as ["ip", "netns", "exec", NS]."""
        argv = list(launcher) + [WORKER_BIN, "--backend", self.endpoints["backend"],
                "--status", self.endpoints["status"], "--type", type_,
                "--threads", str(threads), "--script-root", self.tasks_dir,
                "--heartbeat-ms", str(heartbeat_ms or self.workers_cfg["heartbeat_ms"])]
        if worker_id:
            argv += ["--id", worker_id]
        argv += list(extra_args)
        log_name = "worker-%s.log" % (worker_id or len(self.hand_workers))
        proc = start_process(argv, os.path.join(self.dir, log_name))
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
                kill_quietly(pid)
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

    def client(self, timeout_ms=REPLY_TIMEOUT_MS, curve=None):
        c = Client(self.endpoints, timeout_ms, curve or self.client_curve)
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


class _Closer:
    # Lets Fleet.stop close raw sockets and Clients through one list.
    def __init__(self, sock):
        self.sock = sock

    def close(self):
        self.sock.close(0)


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
