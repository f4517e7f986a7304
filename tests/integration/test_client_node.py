"""The Node.js client, clients/node, against real fleets: runs its own test
files (node:test) with `node clients/node/test/<file>.test.js`, the fleet's
endpoints in the environment (ZFLEET_FRONTEND, ZFLEET_RESULTS, and for the
CURVE fleet ZFLEET_KEYS_DIR, the fleet's folder holding keys/), and asserts
their exit code, showing their output on failure.

First tools/node-deps installs the client's npm dependencies (zeromq 6,
@msgpack/msgpack; `npm ci --ignore-scripts`). Only when that exits 75 (no
node or npm, node older than 18, or no npm registry) are these tests
skipped, with its reason; any other failure fails them.
"""
import os
import shutil
import subprocess
import unittest

from harness import SOURCE_DIR, FleetTestCase

NODE_DIR = os.path.join(SOURCE_DIR, "clients", "node")
NODE_DEPS = os.path.join(SOURCE_DIR, "tools", "node-deps")
TASKS_FILE = os.path.join(NODE_DIR, "test", "tasks", "node_tasks.py")
RUN_TIMEOUT_S = 180      # one node test file; they take seconds
WORKERS = {"io": {"processes": 2, "threads": 4}, "cpu": {"processes": 1, "threads": 1}}

_deps = None     # (returncode, output) of tools/node-deps, run once per process


def node_deps():
    global _deps
    if _deps is None:
        try:
            p = subprocess.run([NODE_DEPS], capture_output=True, text=True, timeout=240)
            _deps = (p.returncode, (p.stdout + p.stderr).strip())
        except subprocess.TimeoutExpired as e:
            _deps = (1, "tools/node-deps did not finish within %ss: %s" % (e.timeout, e.output))
    return _deps


def require_node_deps():
    """Raises SkipTest (whole class) if the deps cannot be installed here, on exit 75 only."""
    rc, out = node_deps()
    if rc == 75:
        raise unittest.SkipTest("Node client not tested: " + (out or "tools/node-deps exited 75"))
    if rc != 0:
        raise AssertionError("tools/node-deps failed (exit %d):\n%s" % (rc, out))


def node_tasks_source():
    with open(TASKS_FILE) as f:
        return f.read()


class NodeRunner:
    """Runs one node test file and asserts that it passed."""

    def run_node(self, test_file, env_extra=None):
        node = shutil.which("node")
        self.assertIsNotNone(node, "node vanished from PATH after tools/node-deps found it")
        env = dict(os.environ)
        env.update(env_extra or {})
        env.pop("NODE_OPTIONS", None)
        argv = [node, os.path.join("test", test_file)]
        try:
            p = subprocess.run(argv, cwd=NODE_DIR, env=env, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired as e:
            self.fail("node test/%s did not finish within %d s; output so far:\n%s\n%s" % (
                test_file, RUN_TIMEOUT_S, e.stdout or "", e.stderr or ""))
        self.assertEqual(p.returncode, 0, "node test/%s failed (exit %d):\n--- stdout ---\n%s\n"
                         "--- stderr ---\n%s" % (test_file, p.returncode, p.stdout, p.stderr))
        # node:test prints "# pass N" / "# fail 0" (tap) or "ℹ pass N" (spec).
        self.assertRegex(p.stdout, r"pass [1-9]", p.stdout)
        self.assertRegex(p.stdout, r"fail 0", p.stdout)
        return p.stdout


class NodeClientUnit(NodeRunner, FleetTestCase):
    """The codec, the error classes, key files: no fleet."""
    FLEET = None

    @classmethod
    def setUpClass(cls):
        require_node_deps()
        super().setUpClass()

    def test_unit(self):
        self.run_node("unit.test.js")


class NodeClient(NodeRunner, FleetTestCase):
    FLEET = dict(broker={"max_batch": 1000}, workers=WORKERS)

    @classmethod
    def setUpClass(cls):
        require_node_deps()
        cls.FLEET = dict(cls.FLEET, scripts={"node_tasks.py": node_tasks_source()})
        super().setUpClass()

    def fleet_env(self):
        return {"ZFLEET_FRONTEND": self.fleet.endpoints["frontend"],
                "ZFLEET_RESULTS": self.fleet.endpoints["results"]}

    def test_client(self):
        self.run_node("client.test.js", self.fleet_env())

    def test_map(self):
        self.run_node("map.test.js", self.fleet_env())


class NodeClientCurve(NodeRunner, FleetTestCase):
    FLEET = dict(security=True, workers=WORKERS)

    @classmethod
    def setUpClass(cls):
        require_node_deps()
        cls.FLEET = dict(cls.FLEET, scripts={"node_tasks.py": node_tasks_source()})
        super().setUpClass()

    def test_curve(self):
        self.run_node("curve.test.js", {"ZFLEET_FRONTEND": self.fleet.endpoints["frontend"],
                                        "ZFLEET_RESULTS": self.fleet.endpoints["results"],
                                        "ZFLEET_KEYS_DIR": self.fleet.dir})


if __name__ == "__main__":
    unittest.main()
