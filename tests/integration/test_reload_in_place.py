"""Editing a script in place while its tasks run (issue 12, point 6;
worker/exec/module_cache.h, script_file.h).

A writer thread rewrites the script 20 times the way editors and `cp` do:
open(path, "w") (truncate), then the new text in three pieces, each
flushed, with 1-3 ms between them, so a reader can meet an empty file, a
cut in the middle of a line (SyntaxError, NameError) or valid Python with
no `main` yet. Between edits it pauses 20-200 ms: sometimes less than the
100 ms quiet time the worker waits for, sometimes more, so intermediate
versions do get loaded while the next edit starts. Meanwhile 1,000 short
tasks (1-5 ms each) run on 2 processes x 8 threads. No task may fail, every
task returns one of the versions written, and once the edits have stopped
and 200 ms have passed, every task returns the final version.
"""
import random
import threading
import time

from harness import FleetTestCase

VERSIONS = 20
TASKS = 1000


def source(version):
    return ("import time\n"
            "\n"
            "VERSION = %d\n"
            "NOTE = %r\n"
            "\n"
            "\n"
            "def main(ms):\n"
            "    time.sleep(ms / 1000.0)\n"
            "    return VERSION\n" % (version, "written in place, version %d " % version + "x" * version))


def rewrite_in_place(path, text, rng):
    """Truncate, then write `text` in three flushed pieces with short gaps."""
    cuts = sorted(rng.sample(range(1, len(text)), 2))
    with open(path, "w") as f:
        for start, end in zip([0] + cuts, cuts + [len(text)]):
            f.write(text[start:end])
            f.flush()
            time.sleep(rng.uniform(0.001, 0.003))


class EditsInPlace(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 2, "threads": 8}, "cpu": {"processes": 0}},
                 scripts={"ver.py": source(0)})

    def test_rewriting_a_script_while_1000_tasks_run_fails_none(self):
        rng = random.Random(12)
        path = self.fleet.tasks_dir + "/ver.py"
        self.assertDone(self.client.run("ver.py", [1]), 0)
        edits_done = threading.Event()
        errors = []

        def writer():
            try:
                for version in range(1, VERSIONS + 1):
                    time.sleep(rng.uniform(0.02, 0.2))
                    rewrite_in_place(path, source(version), rng)
            except BaseException as e:   # reported by the test thread
                errors.append(e)
            finally:
                edits_done.set()

        started = time.monotonic()
        thread = threading.Thread(target=writer)
        thread.start()
        ids = []
        task_rng = random.Random(34)
        # Spread the submits over the editing time (about 2.5 s).
        for batch in range(20):
            tasks = [{"script": "ver.py", "args": [task_rng.randint(1, 5)]} for _ in range(TASKS // 20)]
            reply = self.client.submit_batch(tasks)
            self.assertEqual(reply["errors"], [None] * len(tasks), reply)
            ids += reply["ids"]
            time.sleep(0.12)
        thread.join(60)
        self.assertTrue(edits_done.is_set())
        self.assertEqual(errors, [])
        results = self.client.wait_many(ids, timeout_s=60)
        failed = [r for r in results if r["state"] != "done"]
        self.assertEqual(failed, [], "%d of %d failed, first: %r" % (len(failed), len(ids), failed[:3]))
        seen = {r["result"] for r in results}
        self.assertLessEqual(seen, set(range(VERSIONS + 1)), seen)

        time.sleep(0.2)
        final = self.client.wait_many([self.client.submit_ok("ver.py", [1]) for _ in range(20)],
                                      timeout_s=30)
        self.assertEqual([r.get("result") for r in final], [VERSIONS] * 20, final)
        took = time.monotonic() - started
        log = self.fleet.log_tail(5000)
        self.assertNotIn("failed to load", log)
        print("\n[edits in place] %d tasks during %d rewrites, none failed; versions seen: %d; "
              "%.1f s" % (len(ids), VERSIONS, len(seen), took))


if __name__ == "__main__":
    import unittest
    unittest.main()
