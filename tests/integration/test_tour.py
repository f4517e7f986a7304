"""The README's tour of a named pool with a virtualenv, run word for word
(issue 12, "the README's tour adds a named pool, a venv task"): the shell
block under "Your own folder, pool and virtualenv" is taken from README.md
and run by bash from the repository root, against a fleet configured like
config/fleet.yaml but on free loopback ports. Only three things are
substituted: the config path, the bin folder and the venv folder (a temp
one). Every process the block starts is in its own process group, which is
killed when the test ends, whatever happens."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile

from harness import BIN_DIR, SOURCE_DIR, FleetTestCase, kill_quietly

SECTION = "### Your own folder, pool and virtualenv"


def tour_block():
    """The first ```sh block of the tour's section of README.md."""
    with open(os.path.join(SOURCE_DIR, "README.md")) as f:
        readme = f.read()
    section = readme[readme.index(SECTION):]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    return match.group(1)


class ReadmeTour(FleetTestCase):
    # config/fleet.yaml's pools, smaller: the tour needs only `mine`.
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0},
                          "pools": {"mine": {"processes": 0, "threads": 4}}},
                 python={"script_roots": [os.path.join(SOURCE_DIR, "config", "tasks")]})

    def run_block(self, script, venv):
        script = (script.replace("config/fleet.yaml", self.fleet.config_path)
                  .replace("build/bin/", BIN_DIR + "/")
                  .replace("/tmp/zfleet-venv", venv))
        # The worker the block starts with `&` is stopped at the end, as the
        # README says (`kill %1`), and the whole group is killed in cleanup.
        script = "set -e\n" + script + "\nkill %1\nwait\n"
        proc = subprocess.Popen(["bash", "-c", script], cwd=SOURCE_DIR, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.addCleanup(lambda: kill_quietly(-proc.pid, signal.SIGKILL))
        out, _ = proc.communicate(timeout=240)
        return proc.returncode, out

    def test_the_tour_block_runs_as_written(self):
        tmp = tempfile.mkdtemp(prefix="zfleet-tour-")
        venv = os.path.join(tmp, "venv")
        code, out = self.run_block(tour_block(), venv)
        self.assertEqual(code, 0, out)
        result = json.loads(out[out.index('{\n  "op": "result"'):out.rindex("}") + 1])
        self.assertEqual(result["state"], "done", result)
        value = result["result"]
        self.assertEqual(value["greeting"], "greetings, ann")
        self.assertEqual(value["prefix"], venv)
        self.assertTrue(value["executable"].startswith(venv + "/bin/"), value)
        self.assertTrue(value["package"].startswith(
            os.path.join(venv, "lib", "python%d.%d" % sys.version_info[:2], "site-packages",
                         "greetings")), value)
        self.assertTrue(result["worker"].startswith("mine-"), result)
        self.assertIn("greeting ann", result["output"])
        self.assertIn("running in " + venv, result["output"])
        # The hand-started worker logs to the block's output (its terminal):
        # the printed line is there, with the task id.
        lines = [l for l in out.splitlines() if "greeting ann" in l and result["id"] in l]
        self.assertTrue(lines, out)


if __name__ == "__main__":
    import unittest
    unittest.main()
