"""Worker start checks (issue 12, point 4; worker/start_checks.h): a worker
whose script roots, python path entries or venv do not exist refuses to
start with exit code 2 (common::kExitUsage) and a message naming the path
and the flag or key it came from; a bare `zfleet-worker` too, whose default
script root is `tasks` in the current folder. No broker is needed: the
checks run before the worker connects anywhere."""
import os
import shutil
import subprocess
import tempfile
import unittest

from harness import WORKER_BIN

USAGE_EXIT = 2   # common/exit_codes.h kExitUsage


class StartChecks(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="zfleet-it-start-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.tasks = os.path.join(self.tmp, "tasks")
        os.makedirs(self.tasks)

    def run_worker(self, *args, cwd=None):
        # Unreachable endpoints: a worker that passed the checks would wait for
        # ever, so the timeout makes such a failure visible.
        proc = subprocess.run([WORKER_BIN, "--backend", "tcp://127.0.0.1:1", "--status",
                               "tcp://127.0.0.1:2"] + list(args),
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=30, cwd=cwd or self.tmp)
        return proc.returncode, proc.stderr.decode(errors="replace")

    def assertRefused(self, args, *expected, cwd=None):
        code, err = self.run_worker(*args, cwd=cwd)
        self.assertEqual(code, USAGE_EXIT, err)
        for text in expected:
            self.assertIn(text, err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)   # one clear line

    def test_bare_worker_without_tasks_folder(self):
        empty = os.path.join(self.tmp, "empty")
        os.makedirs(empty)
        self.assertRefused([], "script root %s does not exist" % os.path.join(empty, "tasks"),
                           "default script root", "--script-root", cwd=empty)

    def test_missing_script_root_flag(self):
        missing = os.path.join(self.tmp, "nope")
        self.assertRefused(["--script-root", self.tasks, "--script-root", missing],
                           "script root %s does not exist (--script-root)" % missing)

    def test_relative_script_root_is_resolved_in_the_current_folder(self):
        self.assertRefused(["--script-root", "missing-rel"],
                           "script root %s does not exist" % os.path.join(self.tmp, "missing-rel"))

    def test_script_root_that_is_a_file(self):
        path = os.path.join(self.tmp, "file.txt")
        open(path, "w").close()
        self.assertRefused(["--script-root", path], "script root %s is not a folder" % path)

    def test_missing_python_path(self):
        missing = os.path.join(self.tmp, "libs")
        self.assertRefused(["--script-root", self.tasks, "--python-path", missing],
                           "python path entry %s does not exist (--python-path)" % missing)

    def test_missing_venv(self):
        missing = os.path.join(self.tmp, "venv")
        self.assertRefused(["--script-root", self.tasks, "--venv", missing],
                           "venv %s does not exist" % missing, "(--venv)")

    def test_config_file_keys_are_named(self):
        config = os.path.join(self.tmp, "fleet.yaml")
        with open(config, "w") as f:
            f.write("python: {script_roots: [tasks], path: [nolibs]}\n"
                    "workers: {pools: {gpu: {processes: 0, script_roots: [gputasks]}}}\n")
        self.assertRefused(["-c", config, "--type", "gpu"],
                           "script root %s does not exist" % os.path.join(self.tmp, "gputasks"),
                           "workers.pools.gpu.script_roots", config)
        self.assertRefused(["-c", config, "--type", "io"],
                           "python path entry %s does not exist" % os.path.join(self.tmp, "nolibs"),
                           "python.path", config)

    def test_help_says_how_to_run_a_worker_on_another_host(self):
        proc = subprocess.run([WORKER_BIN, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=30)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = proc.stdout.decode()
        for needle in ("zfleet-worker -c fleet.yaml --type io", "broker.backend", "--key",
                       "--server-key", "the broker must have that pool", "--venv", "--python-path",
                       "--capture-output", "--max-output-bytes", "--max-tasks", "--max-rss-mb",
                       "77 recycled"):
            self.assertIn(needle, text)

    def test_good_paths_pass_the_checks(self):
        # Passes every check, then waits for a broker that is not there: still
        # running after a second is the proof; stopped with SIGTERM, exit 0.
        proc = subprocess.Popen([WORKER_BIN, "--backend", "tcp://127.0.0.1:1", "--status",
                                 "tcp://127.0.0.1:2", "--script-root", self.tasks,
                                 "--python-path", self.tmp, "--drain-timeout-ms", "100"],
                                cwd=self.tmp, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            with self.assertRaises(subprocess.TimeoutExpired):
                proc.wait(timeout=1.0)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0, err)


if __name__ == "__main__":
    unittest.main()
