"""Authentication with CURVE (issue 11, point 1; docs/security.md).

A broker with a `security` section (harness Fleet(security=True): keys made
by `zfleet keygen`) is driven by real ZeroMQ clients holding the keys:

- allowed keys work end to end: a producer submits, a client reads, local
  workers (security.worker_key) and a hand-started worker (--key,
  --server-key) run tasks;
- the ZAP handler refuses what is not allowed: a key that is nowhere, no
  CURVE at all, a producer's key on the results endpoint, a client's key on
  the frontend, a producer's key posing as a worker (it never registers
  and gets no task); refusals are logged;
- the CLI and the bench take --key/--server-key;
- bad security configuration stops the broker at start with exit code 2
  and a message naming the file, the line and the key.
"""
import os
import subprocess
import time
import unittest

import zmq

from harness import (BIN_DIR, BROKER_BIN, CTX, Fleet, FleetTestCase, ReplyTimeout, pack, poll,
                     unpack)

CLI = os.path.join(BIN_DIR, "zfleet")
BENCH = os.path.join(BIN_DIR, "zfleet-bench")
SCRIPTS = {"who.py": """
    import os
    def main(x):
        return [x, os.getpid()]
    """}


def refused(fleet, endpoint, curve, timeout_ms=1500):
    """True when a request over `endpoint` with `curve` (None: no CURVE) gets
    no reply: the handshake was refused, so the request never left."""
    sock = CTX.socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    try:
        if curve is not None:
            curve.apply(sock)
        sock.connect(fleet.endpoints[endpoint])
        op = {"op": "submit", "script": "builtin:echo", "args": [1]} if endpoint == "frontend" \
            else {"op": "status"}
        sock.send(pack(op))
        return not sock.poll(timeout_ms)
    finally:
        sock.close(0)


class CurveFleet(FleetTestCase):
    FLEET = dict(security=True, scripts=SCRIPTS,
                 workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def keys(self, name):
        return self.fleet.curve(name)

    def test_allowed_keys_work_end_to_end(self):
        producer = self.fleet.client(curve=self.keys("keys/producers/p1"))
        reader = self.fleet.client(curve=self.keys("keys/clients/c1"))
        ids = [producer.submit_ok("who.py", [i]) for i in range(20)]
        results = [reader.wait(tid, timeout_s=20) for tid in ids]
        self.assertEqual([(r["state"], r["result"][0]) for r in results],
                         [("done", i) for i in range(20)])

    def test_unknown_key_and_no_curve_are_refused_on_every_client_endpoint(self):
        for endpoint in ("frontend", "results"):
            with self.subTest(endpoint=endpoint):
                self.assertTrue(refused(self.fleet, endpoint, self.keys("keys/stranger")))
                self.assertTrue(refused(self.fleet, endpoint, None))
        tail = poll(lambda: self.fleet.log_tail(200), lambda t: "refused a connection" in t, timeout_s=5)
        self.assertIn("refused a connection", tail)
        self.assertServing()

    def test_each_key_only_where_it_is_allowed(self):
        # A producer cannot read results, a client cannot submit...
        self.assertTrue(refused(self.fleet, "results", self.keys("keys/producers/p1")))
        self.assertTrue(refused(self.fleet, "frontend", self.keys("keys/clients/c1")))
        # ...a worker's key is for the backend only...
        self.assertTrue(refused(self.fleet, "frontend", self.keys("keys/workers/w2")))
        # ...and a key in both lists may do both.
        self.assertFalse(refused(self.fleet, "results", self.keys("keys/both/admin")))
        self.assertFalse(refused(self.fleet, "frontend", self.keys("keys/both/admin")))

    def test_a_producer_key_cannot_register_as_a_worker(self):
        d = self.fleet.dir
        impostor = self.fleet.start_worker(
            worker_id="impostor", extra_args=["--key", os.path.join(d, "keys/producers/p1.key"),
                                              "--server-key", os.path.join(d, "keys/broker.pub")])
        real = self.fleet.start_worker(
            worker_id="hand-w2", extra_args=["--key", os.path.join(d, "keys/workers/w2.key"),
                                             "--server-key", os.path.join(d, "keys/broker.pub")])
        ids = lambda: {w["id"] for w in self.client.status()["workers"] if w["alive"]}
        self.assertIn("hand-w2", poll(ids, lambda seen: "hand-w2" in seen, timeout_s=10))
        time.sleep(1.0)  # the impostor has had ten of its reconnect intervals
        self.assertNotIn("impostor", ids())
        # Tasks run on the real workers only, and all of them finish.
        tids = [self.client.submit_ok("builtin:echo", [i]) for i in range(200)]
        self.assertEqual([self.client.wait(t, timeout_s=20)["state"] for t in tids], ["done"] * 200)
        self.assertNotIn("impostor", {self.client.get(t)["worker"] for t in tids})
        self.assertIsNone(impostor.poll(), "the impostor worker should still be trying, not crashed")
        real.terminate()
        impostor.terminate()

    def test_cli_takes_key_and_server_key(self):
        d = self.fleet.dir
        base = [CLI, "--frontend", self.fleet.endpoints["frontend"],
                "--results", self.fleet.endpoints["results"], "--timeout-ms", "3000"]
        keys = ["--key", os.path.join(d, "keys/both/admin.key"),
                "--server-key", os.path.join(d, "keys/broker.pub")]
        ok = subprocess.run(base + keys + ["submit", "builtin:echo", "--args", '["hi"]', "--wait", "5000"],
                            capture_output=True, text=True, timeout=30)
        self.assertEqual(ok.returncode, 0, ok.stderr)
        self.assertIn('"hi"', ok.stdout)
        no_key = subprocess.run(base + ["status"], capture_output=True, text=True, timeout=30)
        self.assertEqual(no_key.returncode, 3, no_key.stderr)
        half = subprocess.run(base + keys[:2] + ["status"], capture_output=True, text=True, timeout=30)
        self.assertEqual(half.returncode, 2)
        self.assertIn("--key and --server-key go together", half.stderr)

    @unittest.skipUnless(os.path.exists(BENCH), "benchmarks are not built here (sanitizer builds)")
    def test_bench_takes_key_and_server_key(self):
        d = self.fleet.dir
        run = subprocess.run(
            [BENCH, "--no-progress", "--json", "--frontend", self.fleet.endpoints["frontend"],
             "--results", self.fleet.endpoints["results"],
             "--key", os.path.join(d, "keys/both/admin.key"),
             "--server-key", os.path.join(d, "keys/broker.pub"),
             "throughput", "--task", "echo", "--count", "2000"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)
        self.assertIn('"lost": 0', run.stdout.replace(" ", "").replace('"lost":0', '"lost": 0'))


class KeygenAndConfig(FleetTestCase):
    FLEET = None

    def test_keygen_writes_a_private_key_and_refuses_to_overwrite(self):
        fleet = Fleet(name="keygen")
        self.addCleanup(fleet.cleanup)
        fleet.keygen("k/one")
        key, pub = os.path.join(fleet.dir, "k/one.key"), os.path.join(fleet.dir, "k/one.pub")
        self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
        with open(key) as f:
            lines = f.read().splitlines()
        self.assertEqual([l.split(" = ")[0] for l in lines], ["public-key", "secret-key"])
        with open(pub) as f:
            public = f.read().strip()
        self.assertEqual(lines[0].split(" = ")[1], public)
        self.assertEqual(len(public), 40)
        again = subprocess.run([CLI, "keygen", os.path.join(fleet.dir, "k/one")],
                               capture_output=True, text=True)
        self.assertEqual(again.returncode, 2)
        with open(pub) as f:
            self.assertEqual(f.read().strip(), public)

    def broker_refuses(self, security, expect):
        fleet = Fleet(name="badsec", security=security)
        self.addCleanup(fleet.cleanup)
        fleet.keygen("keys/broker")
        fleet.keygen("keys/w/w1")
        fleet._write_config([1, 2, 3, 4])  # never bound: the config is refused first
        run = subprocess.run([BROKER_BIN, "--config", fleet.config_path], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn(expect, run.stderr)
        self.assertRegex(run.stderr, r"fleet\.yaml:\d+: ")

    def test_bad_security_sections_stop_the_broker_with_file_line_and_key(self):
        ok = {"secret_key": "keys/broker.key", "producers": ["keys/w"], "clients": ["keys/w"],
              "workers": ["keys/w"], "worker_key": "keys/w/w1.key"}
        cases = [
            (dict(ok, secret_key="keys/missing.key"), "security.secret_key: "),
            (dict(ok, secret_key="keys/broker.pub"), "security.secret_key: "),
            (dict(ok, producers=["keys/nothing-here"]), "security.producers: "),
            (dict(ok, clients=[]), "security.clients: needs at least one"),
            (dict(ok, worker_key="keys/broker.key"), "security.worker_key: its public key is not among"),
            ({k: v for k, v in ok.items() if k != "secret_key"}, "security.secret_key: required"),
        ]
        for security, expect in cases:
            with self.subTest(expect=expect):
                self.broker_refuses(security, expect)

    def test_a_non_loopback_endpoint_without_security_is_refused(self):
        fleet = Fleet(name="exposed")
        self.addCleanup(fleet.cleanup)
        fleet._write_config([1, 2, 3, 4])
        with open(fleet.config_path) as f:
            text = f.read().replace("tcp://127.0.0.1:1,", "tcp://0.0.0.0:1,")
        with open(fleet.config_path, "w") as f:
            f.write(text)
        run = subprocess.run([BROKER_BIN, "--config", fleet.config_path], capture_output=True,
                             text=True, timeout=30)
        self.assertEqual(run.returncode, 2, run.stderr)
        self.assertIn("broker.frontend: \"tcp://0.0.0.0:1\" is not a loopback address", run.stderr)
