"""Confinement (issue 11, point 8): scripts run only from the script roots,
after symlinks and `..` are resolved, and a worker started as root with
--user runs its tasks as that user.

- Through a real broker and worker: symlink escapes (a file link, a
  relative link through `..`, a chain of links, a linked directory, a link
  to the root's parent) fail `script_not_allowed`; names the broker refuses
  (absolute, `..`, NUL) answer `bad_request`; a newline or another control
  character in a name fails `script_not_allowed` even when such a file
  exists in the root.
- Straight to a real worker (test_worker_cancel.FakeBroker), past the
  broker's shape checks: `..`, NUL and newlines fail `script_not_allowed`
  there too, and so does an absolute name outside every root (the message
  names the roots); an absolute name inside a root runs (issue 12; the
  broker still refuses absolute names, PROTOCOL.md) (worker/exec/script_path.h).
- In every case the file outside is never run: its module body would leave
  a marker file, and none appears.
- `zfleet-worker --user nobody` started as root runs tasks as nobody;
  --user for another user when not root, an unknown user, or root itself
  exit 2 (worker/privileges.h).
"""
import os
import pwd
import subprocess
import unittest
import uuid

from harness import WORKER_BIN, FleetTestCase
from test_worker_cancel import FakeBroker
from test_worker_hardening import start_hand_worker

EVIL = """\
import os

# Runs when the module loads: the marker shows the file was run at all.
open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "RAN"), "w").close()

def main():
    return "escaped"
"""

OK = """\
def main(x=1):
    return x
"""


def make_tree(base, root):
    """base/outside/evil.py, and in `root` (base/tasks) every kind of link
    that points out of it; the marker would be base/RAN."""
    outside = os.path.join(base, "outside")
    os.makedirs(outside, exist_ok=True)
    with open(os.path.join(outside, "evil.py"), "w") as f:
        f.write(EVIL)
    os.makedirs(os.path.join(root, "inner"), exist_ok=True)
    with open(os.path.join(root, "ok.py"), "w") as f:
        f.write(OK)
    # Files inside the root with a newline (or tab) in their names, that leave
    # the same marker (root/../RAN): they must be refused all the same.
    for name in ("nl\nevil.py", "tab\tevil.py"):
        with open(os.path.join(root, name), "w") as f:
            f.write(EVIL)
    os.symlink(os.path.join(outside, "evil.py"), os.path.join(root, "link.py"))
    os.symlink("../outside/evil.py", os.path.join(root, "rel.py"))
    os.symlink("rel.py", os.path.join(root, "chain.py"))
    os.symlink("../../outside/evil.py", os.path.join(root, "inner", "deep.py"))
    os.symlink(outside, os.path.join(root, "linkdir"))
    os.symlink("..", os.path.join(root, "up"))
    return os.path.join(base, "RAN")


ESCAPES = ["link.py", "rel.py", "chain.py", "inner/deep.py", "linkdir/evil.py",
           "up/outside/evil.py", "nl\nevil.py", "tab\tevil.py", "ok\r.py"]


class ThroughTheBroker(FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.marker = make_tree(cls.fleet.dir, cls.fleet.tasks_dir)

    def test_symlink_escapes_and_control_characters_are_script_not_allowed(self):
        for script in ESCAPES:
            with self.subTest(script=script):
                res = self.client.run(script)
                err = self.assertFailed(res, "script_not_allowed")
                self.assertNotIn("result", res)
                self.assertNotIn("\n", err["message"])  # the name is escaped
        self.assertFalse(os.path.exists(self.marker), "a script outside the root ran")
        # Out through `up` and back into the root is inside it: allowed.
        self.assertDone(self.client.run("up/tasks/ok.py", [7]), 7)
        self.assertDone(self.client.run("./ok.py", [8]), 8)

    def test_names_the_broker_refuses_are_bad_request(self):
        evil = os.path.join(self.fleet.dir, "outside", "evil.py")
        for script in (evil, "../outside/evil.py", "inner/../../outside/evil.py",
                       "./../outside/evil.py", "ok.py\0.py", "ok.py\0"):
            with self.subTest(script=script):
                self.assertErrorReply(self.client.submit(script), "bad_request")
        self.assertFalse(os.path.exists(self.marker), "a script outside the root ran")
        self.assertServing()


class StraightToTheWorker(unittest.TestCase):
    """The worker's own checks, with no broker in front of it."""

    def test_worker_refuses_what_the_broker_would_have(self):
        b = FakeBroker("confinement")
        self.addCleanup(b.close)
        marker = make_tree(b.dir, b.tasks_dir)
        b.start_worker(threads=2)
        evil = os.path.join(b.dir, "outside", "evil.py")
        names = [evil, "../outside/evil.py", "./../outside/evil.py",
                 "inner/../../outside/evil.py", "ok.py\0", "\0", "", "/"] + ESCAPES
        sent = {b.send_task(name): name for name in names}
        for d, name in sent.items():
            res = b.result(d, timeout_s=20)
            self.assertFalse(res["ok"], (name, res))
            self.assertEqual(res["error"]["code"], "script_not_allowed", (name, res))
        self.assertFalse(os.path.exists(marker), "a script outside the root ran")
        ok = b.result(b.send_task("ok.py", [5]), timeout_s=20)
        self.assertEqual((ok["ok"], ok.get("result")), (True, 5), ok)
        root = os.path.realpath(b.tasks_dir)
        ok = b.result(b.send_task(os.path.join(b.tasks_dir, "ok.py"), [6]), timeout_s=20)
        self.assertEqual((ok["ok"], ok.get("result")), (True, 6), ok)
        res = b.result(b.send_task(evil), timeout_s=20)
        self.assertIn("outside every script root (%s)" % root, res["error"]["message"], res)
        res = b.result(b.send_task("missing.py"), timeout_s=20)
        self.assertEqual(res["error"]["code"], "script_not_found", res)
        self.assertIn("(searched: %s)" % root, res["error"]["message"], res)


def run_worker_as(uid, gid, *args):
    """zfleet-worker run under uid/gid (not root), to its exit: (code, stderr)."""
    def drop():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    proc = subprocess.run([WORKER_BIN] + list(args), stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, preexec_fn=drop,
                          timeout=30)
    return proc.returncode, proc.stderr.decode(errors="replace")


@unittest.skipUnless(os.geteuid() == 0, "--user needs a worker started as root")
class RunAsUser(FleetTestCase):
    FLEET = None

    def test_worker_started_as_root_runs_tasks_as_nobody(self):
        nobody = pwd.getpwnam("nobody")
        fleet = self.new_fleet(workers={"io": {"processes": 0}, "cpu": {"processes": 0}},
                               scripts={"whoami.py": """
                                   import os

                                   def main():
                                       return [os.getuid(), os.geteuid(), os.getgid(),
                                               os.getegid(), sorted(os.getgroups())]
                                   """},
                               ready_workers=0)
        os.chmod(fleet.dir, 0o755)  # mkdtemp's 0700 would hide the script root from nobody
        wid = "nobody-" + uuid.uuid4().hex[:6]
        proc = start_hand_worker(fleet, wid, ("--user", "nobody"))
        fleet.wait_ready(1)
        res = fleet.client().run("whoami.py")
        groups = sorted(set(os.getgrouplist("nobody", nobody.pw_gid)))
        self.assertDone(res, [nobody.pw_uid, nobody.pw_uid, nobody.pw_gid, nobody.pw_gid, groups])
        with open("/proc/%d/status" % proc.pid) as f:
            uids = [line.split()[1:] for line in f if line.startswith(("Uid:", "Gid:"))]
        self.assertEqual(uids, [[str(nobody.pw_uid)] * 4, [str(nobody.pw_gid)] * 4])

    def test_bad_user_is_exit_2(self):
        nobody = pwd.getpwnam("nobody")
        other = next(p for p in pwd.getpwall() if p.pw_uid not in (0, nobody.pw_uid))
        code, err = run_worker_as(nobody.pw_uid, nobody.pw_gid, "--user", other.pw_name)
        self.assertEqual(code, 2, err)
        self.assertIn("only root can switch to another user", err)
        for name, why in (("no-such-user-" + uuid.uuid4().hex[:6], "no such user"),
                          ("root", "that is root")):
            proc = subprocess.run([WORKER_BIN, "--user", name], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=30)
            self.assertEqual(proc.returncode, 2, proc.stderr)
            self.assertIn(why, proc.stderr.decode())
