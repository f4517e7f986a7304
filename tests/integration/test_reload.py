"""Script reload and clear_cache (PROTOCOL.md: Task execution "loads script as
a Python module (once; again when the file's modification time or size
changes, or after clear_cache)", clear_cache).

One io worker process (2 threads) and no cpu worker, so every task of a test
meets the same module cache and module-level state is observable.
"""
import os
import uuid

from harness import FleetTestCase

COUNTER = """
calls = []

def main():
    calls.append(1)
    return len(calls)
"""


def version(n):
    return "def main():\n    return %d\n" % n


class Reload(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def fresh(self, stem):
        return "%s_%s.py" % (stem, uuid.uuid4().hex[:8])

    def test_edit_between_tasks_is_picked_up(self):
        name = self.fresh("edit")
        self.fleet.write_script(name, version(1))
        self.assertDone(self.client.run(name), 1)
        self.assertDone(self.client.run(name), 1)
        self.fleet.write_script(name, version(2), bump_mtime=True)   # same size: mtime tells
        self.assertDone(self.client.run(name), 2)
        self.fleet.write_script(name, version(3), bump_mtime=True)
        self.assertDone(self.client.run(name), 3)

    def test_size_change_alone_is_picked_up(self):
        name = self.fresh("size")
        path = self.fleet.write_script(name, version(1))
        old = os.stat(path)
        self.assertDone(self.client.run(name), 1)
        self.fleet.write_script(name, version(12345))
        os.utime(path, ns=(old.st_atime_ns, old.st_mtime_ns))          # same mtime, new size
        self.assertDone(self.client.run(name), 12345)

    def test_broken_edit_then_fix(self):
        name = self.fresh("broken")
        self.fleet.write_script(name, version(1))
        self.assertDone(self.client.run(name), 1)

        # A finished edit that does not compile (quiet for the settle time,
        # worker/exec/script_file.h) fails the task that loads it with
        # script_error and its SyntaxError; it never replaces v1, which the
        # next tasks run until the file changes again.
        self.fleet.write_script(name, "def main(:\n    return 2\n", bump_mtime=True)
        err = self.assertFailed(self.client.run(name), "script_error")
        self.assertEqual(err.get("type"), "SyntaxError", err)
        self.assertDone(self.client.run(name), 1)
        self.assertIn("%s failed to load: SyntaxError" % name, self.fleet.log_tail(200))

        # A finished edit that raises while loading fails the task that
        # loads it; v1 stays for the next ones.
        self.fleet.write_script(name, "import no_such_module_zfleet_it\n", bump_mtime=True)
        err = self.assertFailed(self.client.run(name), "script_error")
        self.assertEqual(err.get("type"), "ModuleNotFoundError", err)
        self.assertDone(self.client.run(name), 1)

        self.fleet.write_script(name, version(3), bump_mtime=True)
        self.assertDone(self.client.run(name), 3)

    def test_broken_from_the_start(self):
        name = self.fresh("never")
        self.fleet.write_script(name, "import no_such_module_zfleet_it\n\ndef main():\n    return 1\n")
        for _ in range(2):        # no old module to fall back to: the same error each time
            err = self.assertFailed(self.client.run(name), "script_error")
            self.assertEqual(err.get("type"), "ModuleNotFoundError", err)
            self.assertIn("no_such_module_zfleet_it", err["message"])
        self.fleet.write_script(name, version(7), bump_mtime=True)
        self.assertDone(self.client.run(name), 7)

    def test_module_raising_at_import(self):
        name = self.fresh("raising")
        self.fleet.write_script(name, "raise RuntimeError('boom at import')\n")
        err = self.assertFailed(self.client.run(name), "script_error")
        self.assertEqual(err.get("type"), "RuntimeError", err)
        self.assertIn("boom at import", err["message"])

    def test_module_state_persists_between_tasks(self):
        name = self.fresh("persist")
        self.fleet.write_script(name, COUNTER)
        self.assertEqual([self.client.run(name)["result"] for _ in range(3)], [1, 2, 3])

    def test_clear_cache_one_script(self):
        a, b = self.fresh("count_a"), self.fresh("count_b")
        self.fleet.write_script(a, COUNTER)
        self.fleet.write_script(b, COUNTER)
        self.assertEqual([self.client.run(a)["result"] for _ in range(3)], [1, 2, 3])
        self.assertDone(self.client.run(b), 1)

        self.assertEqual(self.client.clear_cache(a), {"op": "ok"})
        self.assertDone(self.client.run(a), 1)         # reloaded afresh
        self.assertDone(self.client.run(b), 2)         # untouched
        self.assertDone(self.client.run(a), 2)

    def test_clear_cache_all(self):
        a, b = self.fresh("all_a"), self.fresh("all_b")
        self.fleet.write_script(a, COUNTER)
        self.fleet.write_script(b, COUNTER)
        for _ in range(2):
            self.client.run(a)
            self.client.run(b)
        self.assertDone(self.client.run(a), 3)
        self.assertEqual(self.client.clear_cache(), {"op": "ok"})
        self.assertDone(self.client.run(a), 1)
        self.assertDone(self.client.run(b), 1)

    def test_clear_cache_in_a_subfolder_and_unknown_script(self):
        name = "sub/%s" % self.fresh("nested")
        self.fleet.write_script(name, COUNTER)
        self.assertDone(self.client.run(name), 1)
        self.assertDone(self.client.run(name), 2)
        self.assertEqual(self.client.clear_cache(name), {"op": "ok"})
        self.assertDone(self.client.run(name), 1)
        self.assertEqual(self.client.clear_cache("no/such/script.py"), {"op": "ok"})
        self.assertDone(self.client.run(name), 2)

    def test_clear_cache_mistyped(self):
        reply = self.client.request("results", {"op": "clear_cache", "script": 5})
        self.assertErrorReply(reply, "bad_request")
        self.assertServing()
