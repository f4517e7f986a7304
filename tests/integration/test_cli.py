"""The `zfleet` CLI against a real fleet (docs/cli.md; issue 12, point 6):
exit codes of each case, "did you mean", JSON in (--args, submit-batch
lines) and out (bin, NaN, bad UTF-8), submit-batch from a file and from
stdin, wait, reload and its deprecated alias, every pool in status.

One io process (16 threads: module state is observable for reload, and the
sleeping tasks of one test do not hold up another's), no cpu process, and a pool `gpu` with no process at all
(its tasks stay queued).
"""
import json
import os
import subprocess
import tempfile
import uuid

from harness import BIN_DIR, FleetTestCase, free_ports, pack

CLI = os.path.join(BIN_DIR, "zfleet")

SCRIPTS = {
    "odd.py": """
        def main():
            return {"bin": b"\\x00\\xff", "nan": float("nan"), "inf": float("inf"),
                    "ninf": float("-inf"), "text": "\\u00e9", "big": 2**64 - 1}

        def kind(x):
            return type(x).__name__
    """,
    "counter.py": """
        calls = []

        def main():
            calls.append(1)
            return len(calls)
    """,
    "fail.py": """
        def main(msg="boom"):
            raise ValueError(msg)
    """,
}


def fresh_id(stem):
    return "%s-%s" % (stem, uuid.uuid4().hex[:10])


class Cli(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 16}, "cpu": {"processes": 0},
                          "pools": {"gpu": {"processes": 0, "threads": 1}}},
                 scripts=SCRIPTS)

    def zfleet(self, *args, stdin=None, timeout=60, endpoints=None, timeout_ms=3000):
        ep = endpoints or self.fleet.endpoints
        argv = [CLI, "--frontend", ep["frontend"], "--results", ep["results"],
                "--timeout-ms", str(timeout_ms)] + list(args)
        # text=True: everything the CLI prints must be valid UTF-8.
        return subprocess.run(argv, capture_output=True, text=True, input=stdin, timeout=timeout)

    def assertExit(self, proc, code):
        self.assertEqual(proc.returncode, code, "stdout: %s\nstderr: %s" % (proc.stdout, proc.stderr))
        return proc

    def submit_id(self, *args):
        tid = self.assertExit(self.zfleet("submit", *args), 0).stdout.strip()
        if args[0] == "builtin:sleep":
            self.addCleanup(self.client.request, "results", {"op": "cancel", "id": tid})
        return tid

    # -- exit codes ------------------------------------------------------

    def test_submit_exit_codes(self):
        done = self.assertExit(self.zfleet("submit", "builtin:echo", "--args", '["hi"]', "--wait", "5000"), 0)
        self.assertEqual(json.loads(done.stdout)["result"], "hi")
        failed = self.assertExit(self.zfleet("submit", "fail.py", "--wait", "5000"), 1)
        self.assertEqual(json.loads(failed.stdout)["error"]["code"], "exception")
        self.assertExit(self.zfleet("submit", "builtin:sleep", "--args", "[3000]", "--wait", "50"), 4)
        refused = self.assertExit(self.zfleet("submit", "builtin:echo", "--type", "nope"), 6)
        self.assertEqual(json.loads(refused.stdout)["code"], "bad_request")
        self.assertExit(self.zfleet("submit", "builtin:echo", "--args", "{}"), 2)
        self.assertExit(self.zfleet("submit"), 2)

    def test_get_exit_codes(self):
        tid = self.submit_id("builtin:echo", "--args", "[1]")
        self.assertExit(self.zfleet("get", tid, "--wait", "5000"), 0)
        fid = self.submit_id("fail.py")
        self.assertExit(self.zfleet("get", fid, "--wait", "5000"), 1)
        sid = self.submit_id("builtin:sleep", "--args", "[3000]")
        self.assertExit(self.zfleet("get", sid), 4)
        unknown = self.assertExit(self.zfleet("get", "no-such-" + tid), 5)   # was 3, like a running task
        self.assertEqual(json.loads(unknown.stdout)["state"], "unknown")

    def test_cancel_exit_codes(self):
        pending = self.submit_id("builtin:echo", "--delay-ms", "60000")
        out = self.assertExit(self.zfleet("cancel", pending), 0)
        self.assertEqual(out.stdout.strip(), pending + " cancelled")
        finished = self.submit_id("builtin:echo", "--args", "[1]")
        self.assertExit(self.zfleet("get", finished, "--wait", "5000"), 0)
        out = self.assertExit(self.zfleet("cancel", finished), 7)
        self.assertEqual(out.stdout.strip(), finished + " too_late")
        self.assertExit(self.zfleet("cancel", "no-such-id"), 5)
        # Several ids: the largest code.
        out = self.assertExit(self.zfleet("cancel", "no-such-id", finished), 7)
        self.assertEqual(out.stdout.split("\n")[:2], ["no-such-id unknown", finished + " too_late"])

    def test_no_broker_is_exit_3(self):
        ports = free_ports(2)
        nobody = {"frontend": "tcp://127.0.0.1:%d" % ports[0], "results": "tcp://127.0.0.1:%d" % ports[1]}
        for args in (["status"], ["get", "x"], ["submit", "builtin:echo"], ["wait", "x"],
                     ["cancel", "x"], ["reload"], ["submit-batch"]):
            stdin = '{"script": "builtin:echo"}\n' if args == ["submit-batch"] else None
            out = self.assertExit(self.zfleet(*args, endpoints=nobody, timeout_ms=300, stdin=stdin), 3)
            self.assertIn("zfleet: no ", out.stderr)

    def test_help_lists_exit_codes_and_hides_cache(self):
        out = self.assertExit(subprocess.run([CLI, "--help"], capture_output=True, text=True), 0)
        self.assertIn("Exit codes:", out.stdout)
        for line in ("0  done", "1  task failed", "2  usage error", "3  no answer", "4  task still pending",
                     "5  unknown task id", "6  the broker refused", "7  cancel came too late"):
            self.assertIn(line, out.stdout)
        for command in ("submit-batch", "wait", "reload"):
            self.assertIn(command, out.stdout)
        self.assertNotIn("cache", out.stdout.split("Exit codes:")[0].replace("result cache", ""))

    # -- did you mean ------------------------------------------------------

    def test_did_you_mean(self):
        for typo, meant in (("sumbit", "submit"), ("stauts", "status"), ("wiat", "wait"),
                            ("relaod", "reload"), ("submit-bach", "submit-batch")):
            out = self.assertExit(subprocess.run([CLI, typo, "x"], capture_output=True, text=True), 2)
            self.assertIn("unknown command '%s'; did you mean '%s'?" % (typo, meant), out.stderr)
            self.assertNotIn("A subcommand is required", out.stderr)
        # Values of global options are not taken for the command.
        out = self.assertExit(self.zfleet("sumbit", "builtin:echo"), 2)
        self.assertIn("unknown command 'sumbit'; did you mean 'submit'?", out.stderr)
        out = self.assertExit(subprocess.run([CLI, "xyzzy"], capture_output=True, text=True), 2)
        self.assertIn("unknown command 'xyzzy' (commands: submit", out.stderr)
        out = self.assertExit(subprocess.run([CLI], capture_output=True, text=True), 2)
        self.assertIn("a command is required", out.stderr)

    # -- JSON in -----------------------------------------------------------

    def test_args_are_json_not_yaml(self):
        for text, words in (("[ann]", "not valid JSON at line 1, column 2 (byte 2)"),
                            ("[0x10]", "not valid JSON"),
                            ("[1e400]", "out of range of a 64-bit float"),
                            ("[18446744073709551616]", "at /0: integer 18446744073709551616 does not fit"),
                            ('["base64:%%%"]', "at /0: a string starting \"base64:\""),
                            ("[1,]", "not valid JSON")):
            out = self.assertExit(self.zfleet("submit", "builtin:echo", "--args", text), 2)
            self.assertIn("--args", out.stderr)
            self.assertIn(words, out.stderr)
            self.assertNotIn("end of sequence flow", out.stderr)
        out = self.assertExit(self.zfleet("submit", "builtin:echo", "--kwargs", "{a: 1}"), 2)
        self.assertIn("--kwargs: not valid JSON", out.stderr)

    def test_base64_strings_arrive_as_bytes(self):
        out = self.assertExit(self.zfleet("submit", "odd.py", "--func", "kind", "--args", '["base64:AAEC"]',
                                          "--wait", "5000"), 0)
        self.assertEqual(json.loads(out.stdout)["result"], "bytes")
        out = self.assertExit(self.zfleet("submit", "odd.py", "--func", "kind", "--kwargs", '{"x": "plain"}',
                                          "--wait", "5000"), 0)
        self.assertEqual(json.loads(out.stdout)["result"], "str")
        out = self.assertExit(self.zfleet("submit", "builtin:echo", "--args", '["base64:AP8Q"]',
                                          "--wait", "5000"), 0)
        self.assertEqual(json.loads(out.stdout)["result"], "base64:AP8Q")

    # -- JSON out ----------------------------------------------------------

    def test_result_with_bin_nan_and_infinity_prints_as_json(self):
        out = self.assertExit(self.zfleet("submit", "odd.py", "--wait", "5000"), 0)
        self.assertNotIn("nan", out.stdout.replace('"nan"', ""))
        self.assertNotIn("inf", out.stdout.replace('"inf"', "").replace('"ninf"', ""))
        res = json.loads(out.stdout)["result"]   # strict: Python's json would also take NaN, so check above
        self.assertEqual(res, {"bin": "base64:AP8=", "nan": None, "inf": None, "ninf": None,
                               "text": "\u00e9", "big": 2**64 - 1})

    def test_invalid_utf8_in_a_result_prints_as_valid_json(self):
        tid = fresh_id("badutf8")
        # A submit whose args hold a msgpack str with bytes that are not
        # UTF-8 (only a hand-made body can say that); builtin:echo returns it.
        body = (b"\x84" + pack("op") + pack("submit") + pack("script") + pack("builtin:echo") +
                pack("id") + pack(tid) + pack("args") + b"\x91\xa4a\xff\xfeb")
        self.assertEqual(self.client.raw("frontend", body).get("op"), "accepted")
        # (The test client cannot read that result: Python's msgpack refuses it.)
        out = subprocess.run([CLI, "--results", self.fleet.endpoints["results"], "get", tid,
                              "--wait", "5000"], capture_output=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout.decode("utf-8")   # strict: raises on invalid UTF-8
        self.assertEqual(json.loads(text)["result"], "a\ufffd\ufffdb")

    # -- submit-batch ------------------------------------------------------

    def batch_file(self, lines):
        fd, path = tempfile.mkstemp(suffix=".jsonl", dir=self.fleet.dir)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def test_submit_batch_from_a_file(self):
        ids = [fresh_id("batch") for _ in range(5)]
        lines = [json.dumps({"script": "builtin:echo", "args": [i], "id": tid}) for i, tid in enumerate(ids)]
        lines.insert(2, "")   # blank lines are skipped
        out = self.assertExit(self.zfleet("submit-batch", self.batch_file(lines), "--chunk", "2"), 0)
        self.assertEqual(out.stdout.split(), ids)
        self.assertEqual([self.client.wait(t)["result"] for t in ids], list(range(5)))

    def test_submit_batch_reports_refused_tasks_by_line(self):
        taken = fresh_id("taken")
        self.client.submit_ok("builtin:echo", [0], id=taken)
        ok = fresh_id("ok")
        lines = [json.dumps({"script": "builtin:echo", "id": ok}),
                 json.dumps({"script": "builtin:echo", "id": taken}),
                 json.dumps({"script": "builtin:echo", "type": "nope"})]
        out = self.assertExit(self.zfleet("submit-batch", self.batch_file(lines)), 6)
        got = out.stdout.splitlines()
        self.assertEqual(got[0], ok)
        self.assertTrue(got[1].startswith("line 2: duplicate_id: "), got)
        self.assertTrue(got[2].startswith("line 3: bad_request: "), got)
        self.assertEqual(self.client.wait(ok)["state"], "done")

    def test_submit_batch_from_stdin_sends_nothing_when_a_line_is_malformed(self):
        ids = [fresh_id("stdin") for _ in range(3)]
        lines = [json.dumps({"script": "builtin:echo", "id": ids[0]}),
                 '{"script": "builtin:echo", "id": "%s", "args": [ann]}' % ids[1],
                 json.dumps({"script": "builtin:echo", "id": ids[2], "timeout": 5})]
        for args in (["submit-batch"], ["submit-batch", "-"]):
            out = self.assertExit(self.zfleet(*args, stdin="\n".join(lines) + "\n"), 2)
            self.assertIn("line 2: not valid JSON", out.stderr)
            self.assertIn("line 3: unknown field 'timeout'", out.stderr)
            self.assertIn("nothing sent", out.stderr)
            self.assertEqual(out.stdout, "")
        for tid in ids:
            self.assertEqual(self.client.get(tid)["state"], "unknown")
        good = self.assertExit(self.zfleet("submit-batch", stdin=lines[0] + "\n"), 0)
        self.assertEqual(good.stdout.strip(), ids[0])

    # -- wait --------------------------------------------------------------

    def test_wait_prints_results_as_they_finish(self):
        slow = self.submit_id("builtin:sleep", "--args", "[1500]")
        fast = self.submit_id("builtin:sleep", "--args", "[100]")
        out = self.assertExit(self.zfleet("wait", slow, fast, slow), 0)
        lines = [json.loads(l) for l in out.stdout.splitlines()]
        self.assertEqual([(r["id"], r["state"]) for r in lines], [(fast, "done"), (slow, "done")])

    def test_wait_exit_codes(self):
        done = self.submit_id("builtin:echo", "--args", "[1]")
        failed = self.submit_id("fail.py")
        out = self.assertExit(self.zfleet("wait", done, failed), 1)
        self.assertEqual(len(out.stdout.splitlines()), 2)
        out = self.assertExit(self.zfleet("wait", done, "no-such-id"), 5)
        states = {json.loads(l)["id"]: json.loads(l)["state"] for l in out.stdout.splitlines()}
        self.assertEqual(states, {done: "done", "no-such-id": "unknown"})
        sleeper = self.submit_id("builtin:sleep", "--args", "[5000]")
        out = self.assertExit(self.zfleet("wait", sleeper, done, "--timeout-ms", "300"), 3)
        self.assertEqual([json.loads(l)["id"] for l in out.stdout.splitlines()], [done])
        self.assertIn("still pending or running: " + sleeper, out.stderr)

    # -- reload ------------------------------------------------------------

    def test_reload_makes_workers_reload_scripts(self):
        def count():
            out = self.assertExit(self.zfleet("submit", "counter.py", "--wait", "5000"), 0)
            return json.loads(out.stdout)["result"]
        first = count()
        self.assertEqual(count(), first + 1)
        out = self.assertExit(self.zfleet("reload"), 0)
        self.assertEqual(out.stdout.strip(), "ok")
        self.assertEqual(count(), 1)
        self.assertEqual(count(), 2)
        out = self.assertExit(self.zfleet("reload", "--script", "counter.py"), 0)
        self.assertEqual(count(), 1)
        # The deprecated spelling still works and says so on stderr.
        out = self.assertExit(self.zfleet("cache", "clear"), 0)
        self.assertEqual(out.stdout.strip(), "ok")
        self.assertIn("'cache clear' is deprecated; use 'zfleet reload'", out.stderr)
        self.assertEqual(count(), 1)

    def test_reload_does_not_touch_results(self):
        tid = self.submit_id("builtin:echo", "--args", '["kept"]')
        self.client.wait(tid)
        self.assertExit(self.zfleet("reload"), 0)
        out = self.assertExit(self.zfleet("get", tid), 0)
        self.assertEqual(json.loads(out.stdout)["result"], "kept")

    # -- status ------------------------------------------------------------

    def test_status_lists_every_pool(self):
        queued = self.submit_id("builtin:echo", "--type", "gpu")   # no gpu worker: stays queued
        self.addCleanup(self.zfleet, "cancel", queued)
        raw = json.loads(self.assertExit(self.zfleet("status", "--json"), 0).stdout)
        self.assertEqual(list(raw["queues"]), ["io", "cpu", "gpu"])
        self.assertEqual(raw["queues"]["gpu"]["depth"], 1)
        table = self.assertExit(self.zfleet("status"), 0).stdout.splitlines()
        header = table.index(next(l for l in table if l.startswith("QUEUE")))
        rows = {l.split()[0]: l.split()[1:] for l in table[header + 1:header + 4]}
        self.assertEqual(set(rows), set(raw["queues"]))
        for name, q in raw["queues"].items():
            self.assertEqual(rows[name], [str(q["depth"]), str(q["delayed"])])
        self.assertTrue(any(l.startswith("result cache: ") for l in table), table)


if __name__ == "__main__":
    import unittest
    unittest.main()
