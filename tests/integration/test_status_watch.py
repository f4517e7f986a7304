"""`zfleet status --watch` (issue 13) on a real fleet, in a real terminal:
tmux sessions of a fixed size (80x30, 60x20) whose screen is read back with
`tmux capture-pane`. Checks that every line fits the width, that pools and
workers (their pids and pools) are listed, that counts move as tasks are
done, that s and r re-sort the worker rows, that q, Ctrl-C and SIGTERM end the
program with exit code 0 and the terminal settings as they were, and that a
broker stopped mid-watch gives a "no answer" line instead of an exit.
Without a terminal: one table per refresh, no escapes; and the usage errors.

Every tmux server runs on its own socket (-L) and is killed in a cleanup.
No timed assertions: screens are polled with generous deadlines.
"""
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import uuid

from harness import BIN_DIR, FleetTestCase, free_ports

CLI = os.path.join(BIN_DIR, "zfleet")
TMUX = shutil.which("tmux")
DEADLINE_S = 30

# Runs the watch between two `stty -g`, so a test can see that the terminal
# settings came back, and keeps its exit code.
# A trapped SIGINT (not an ignored one) is reset to the default in the watch,
# and lets the shell outlive a Ctrl-C sent to the whole foreground group.
WRAPPER = """#!/bin/sh
out=$1; shift
trap 'true' INT
stty -g > "$out/before"
"$@" 2> "$out/stderr"
echo $? > "$out/rc"
stty -g > "$out/after"
"""


class Tmux:
    """One tmux server (own socket) holding one session of a given size."""

    def __init__(self, test, width, height):
        self.socket = "zfleet-watch-" + uuid.uuid4().hex[:10]
        self.width, self.height = width, height
        self.dir = tempfile.mkdtemp(prefix="zfleet-watch-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        test.addCleanup(self.kill)
        self.wrapper = os.path.join(self.dir, "wrap.sh")
        with open(self.wrapper, "w") as f:
            f.write(WRAPPER)

    def tmux(self, *args):
        return subprocess.run([TMUX, "-u", "-L", self.socket, "-f", "/dev/null"] + list(args),
                              capture_output=True, timeout=20)

    def start(self, argv):
        command = " ".join(shlex.quote(a) for a in ["sh", self.wrapper, self.dir] + argv)
        r = self.tmux("new-session", "-d", "-x", str(self.width), "-y", str(self.height), command)
        if r.returncode != 0:
            raise AssertionError("tmux new-session failed: %r" % r.stderr)

    def screen(self):
        r = self.tmux("capture-pane", "-p")
        if r.returncode != 0:
            return None
        lines = r.stdout.decode("utf-8", "replace").splitlines()
        while lines and not lines[-1]:      # the pane's empty rows below the output
            lines.pop()
        return lines

    def keys(self, *keys):
        self.tmux("send-keys", *keys)

    def program_pid(self):
        """The pid of the watch: the child of the pane's shell (the wrapper)."""
        r = self.tmux("list-panes", "-F", "#{pane_pid}")
        shell = r.stdout.decode().split()[0]
        with open("/proc/%s/task/%s/children" % (shell, shell)) as f:
            return int(f.read().split()[0])

    def alive(self):
        return self.tmux("has-session").returncode == 0

    def kill(self):
        self.tmux("kill-server")

    def file(self, name):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read().strip()
        except FileNotFoundError:
            return None


def section(lines, first_word):
    """The table whose header starts with `first_word`: (header tokens, row token lists)."""
    for i, line in enumerate(lines):
        if line.split()[:1] == [first_word]:
            rows = []
            for row in lines[i + 1:]:
                if not row.strip() or row.startswith("+"):
                    break
                rows.append(row.split())
            return line.split(), rows
    return None, []


def column(table, name):
    header, rows = table
    if not header or name not in header:
        return []
    i = header.index(name)
    return [r[i] for r in rows if i < len(r)]


@unittest.skipUnless(TMUX, "tmux is not installed (tools/setup installs it)")
class StatusWatch(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 2, "threads": 2}, "cpu": {"processes": 1, "threads": 1},
                          "pools": {"gpu-with-a-long-pool-name": {"processes": 0, "threads": 1}}})

    def watch_argv(self, *extra, endpoint=None, timeout_ms=3000):
        return [CLI, "--results", endpoint or self.fleet.endpoints["results"],
                "--timeout-ms", str(timeout_ms), "status", "--watch", "--interval", "0.3"] + list(extra)

    def screen_when(self, term, pred, what):
        """The first screen for which pred holds; fails naming `what` after the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        screen = None
        while time.monotonic() < deadline:
            screen = term.screen()
            # A whole refresh only: tmux may show one half drawn.
            if screen and screen[-1].startswith("q quit") and pred(screen):
                return screen
            time.sleep(0.1)
        self.fail("%s: never seen; last screen:\n%s\nstderr: %s" % (
            what, "\n".join(screen or ["(none)"]), term.file("stderr")))

    def assertFits(self, screen, width):
        for line in screen:
            self.assertLessEqual(len(line), width, "line wider than %d: %r" % (width, line))

    def assertEndsRestored(self, term):
        deadline = time.monotonic() + DEADLINE_S
        while term.alive() and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertFalse(term.alive(), "the watch did not end:\n%s" % "\n".join(term.screen() or []))
        self.assertEqual(term.file("rc"), "0")
        self.assertIsNotNone(term.file("before"))
        self.assertEqual(term.file("after"), term.file("before"), "terminal settings not restored")

    def live_workers(self):
        return [w for w in self.client.status()["workers"] if w["alive"]]

    def pids_listed(self, screen, pids):
        listed = column(section(screen, "ID"), "PID")
        return all(str(p) in listed for p in pids)

    def test_pools_workers_and_moving_counts(self):
        term = Tmux(self, 80, 30)
        term.start(self.watch_argv())
        workers = self.live_workers()
        screen = self.screen_when(term, lambda s: self.pids_listed(s, [w["pid"] for w in workers]),
                                  "every worker's pid")
        self.assertFits(screen, 80)
        self.assertRegex(screen[0], r"^zfleet \d+\.\d+\.\d+  up ")
        self.assertIn(self.fleet.endpoints["results"], screen[0])
        pools = section(screen, "POOL")
        self.assertEqual([r[0] for r in pools[1]][:2], ["io", "cpu"])
        self.assertTrue(pools[1][2][0].startswith("gpu-"), pools)   # every pool, cut if need be
        rows = section(screen, "ID")
        by_pid = dict(zip(column(rows, "PID"), column(rows, "POOL")))
        for w in workers:
            self.assertEqual(by_pid[str(w["pid"])], w["type"])
        self.assertEqual(sorted(column(rows, "RST")), ["0", "0", "0"])  # local workers, none restarted
        self.assertIn("q quit", screen[-1])

        done_before = int(column(pools, "DONE")[0])
        ids = [self.client.submit_ok("builtin:echo", [i]) for i in range(25)]
        self.client.wait_many(ids)
        screen = self.screen_when(
            term, lambda s: int(column(section(s, "POOL"), "DONE")[0]) >= done_before + 25,
            "io DONE up by 25")
        self.assertFits(screen, 80)
        self.assertGreaterEqual(sum(int(d) for d in column(section(screen, "ID"), "DONE")),
                                done_before + 25)
        term.keys("q")
        self.assertEndsRestored(term)

    def test_keys_sort_and_reverse(self):
        term = Tmux(self, 80, 30)
        term.start(self.watch_argv("--sort", "pid"))
        workers = self.live_workers()
        pids = [w["pid"] for w in workers]
        by_pid = sorted(pids, reverse=True)
        self.screen_when(term, lambda s: [int(p) for p in column(section(s, "ID"), "PID")] == by_pid,
                         "rows by pid, largest first")
        # s: the next column, active (all idle here), so the tie order, pool then id
        by_pool_id = [w["pid"] for w in sorted(workers, key=lambda w: (w["type"], w["id"]))]
        term.keys("s")
        self.screen_when(term, lambda s: "sort: active" in s[-1] and
                         [int(p) for p in column(section(s, "ID"), "PID")] == by_pool_id,
                         "rows by active, then pool and id")
        term.keys("r")
        screen = self.screen_when(term, lambda s: "reversed" in s[-1] and
                                  [int(p) for p in column(section(s, "ID"), "PID")] == by_pool_id[::-1],
                                  "rows reversed")
        self.assertFits(screen, 80)
        term.keys("<")
        self.screen_when(term, lambda s: "sort: pid, reversed" in s[-1], "< goes back to pid")
        term.keys("C-c")
        self.assertEndsRestored(term)

    def test_narrow_terminal(self):
        term = Tmux(self, 60, 20)
        term.start(self.watch_argv())
        workers = self.live_workers()
        screen = self.screen_when(term, lambda s: self.pids_listed(s, [w["pid"] for w in workers]),
                                  "every worker's pid at 60 columns")
        self.assertFits(screen, 60)
        rows = section(screen, "ID")
        self.assertNotIn("HOST", rows[0])  # left out first to make room
        by_pid = dict(zip(column(rows, "PID"), column(rows, "POOL")))
        for w in workers:
            self.assertEqual(by_pid[str(w["pid"])], w["type"])
        os.kill(term.program_pid(), signal.SIGTERM)   # ends it as q does
        self.assertEndsRestored(term)

    def test_broker_stopped_mid_watch(self):
        fleet = self.new_fleet(workers={"io": {"processes": 1, "threads": 1},
                                        "cpu": {"processes": 1, "threads": 1}})
        term = Tmux(self, 80, 30)
        results = fleet.endpoints["results"]
        term.start(self.watch_argv(endpoint=results, timeout_ms=800))
        pids = [w["pid"] for w in fleet.client().status()["workers"] if w["alive"]]
        self.screen_when(term, lambda s: self.pids_listed(s, pids), "the fleet's workers")
        fleet.stop_broker()
        screen = self.screen_when(term, lambda s: any("no answer from %s since" % results in l for l in s),
                                  "the no-answer line")
        self.assertFits(screen, 80)
        self.assertTrue(self.pids_listed(screen, pids), "the last table is kept")
        self.assertTrue(term.alive())
        fleet.start_broker(2)
        self.screen_when(term, lambda s: not any("no answer" in l for l in s) and
                         section(s, "ID")[1], "the table again once the broker is back")
        term.keys("q")
        self.assertEndsRestored(term)

    # -- without a terminal ----------------------------------------------

    def run_cli(self, *args, timeout=60):
        return subprocess.run([CLI] + list(args), capture_output=True, text=True, timeout=timeout)

    def test_piped_prints_one_table_per_refresh(self):
        ep = self.fleet.endpoints["results"]
        for cmd in (["status", "--watch"], ["top"]):
            r = self.run_cli("--results", ep, *cmd, "--interval", "0.2", "--count", "3")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("\x1b", r.stdout)
            self.assertEqual(sum(1 for line in r.stdout.splitlines() if line.startswith("zfleet ")), 3,
                             r.stdout)
            self.assertTrue(r.stdout.endswith("\n\n"), r.stdout)  # each table ends in a blank line
            for line in r.stdout.splitlines():
                self.assertLessEqual(len(line), 80, line)
            self.assertIn("workers by pool", r.stdout)

    def test_piped_no_answer(self):
        dead = "tcp://127.0.0.1:%d" % free_ports(1)[0]
        r = self.run_cli("--results", dead, "--timeout-ms", "300", "status", "--watch", "--count", "2",
                         "--interval", "0.1")
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("no answer from %s since" % dead, r.stdout)

    def test_usage_errors(self):
        ep = self.fleet.endpoints["results"]
        for args in (["status", "--watch", "--json"], ["status", "--watch", "--sort", "nope"],
                     ["status", "--watch", "--interval", "0"], ["top", "--sort", "size"]):
            r = self.run_cli("--results", ep, *args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertTrue(r.stderr.strip(), args)
