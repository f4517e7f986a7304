"""Issue 13, point 3: the Debian package (packaging/, tools/package,
docs/install.md).

Builds the .deb from the tree ctest runs in (cpack: the binaries are built
already, so it takes seconds) into a temp dir, then checks:
  * its files (dpkg-deb -c): the binaries, the units, sysusers.d and
    tmpfiles.d, the config, the Python client, the docs; all under /usr or
    /etc, all root's;
  * its control data: Depends names libzmq5, libpython3.11, the Python
    client's packages..., each of them a package installed on this Debian
    machine (so a real name); conffiles; the maintainer scripts parse;
  * the units: every key a known [Unit]/[Service]/[Install] key, the
    hardening lines, TimeoutStopSec above the config's drain timeout, and
    `systemd-analyze verify` where systemd is installed;
  * sysusers.d and tmpfiles.d, applied to the scratch root with
    systemd-sysusers / systemd-tmpfiles --root;
  * the package unpacked into a scratch root (dpkg-deb -x): each binary's
    --help, and a fleet run from it: the installed broker on the installed
    config (ports, journal and script root moved into the temp dir), with
    its local worker started from the installed zfleet-worker; a worker
    started with the template unit's own ExecStart line for pool `mine`;
    the installed CLI and Python client talking to them; a clean SIGTERM
    stop of both;
  * a real dpkg -i / reinstall / -r / -P, maintainer scripts included, in an
    overlay of / in a private mount namespace (as root; skipped elsewhere).
Not checked here: the units running under systemd (no systemd as PID 1 on
the test machine), so the sandbox's effect on a running fleet is untested.
"""
import importlib.util
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import unittest

from procs import (BIN_DIR, free_ports, poll, register_broker, start_process, stop_process,
                   workers_of, kill_quietly)

BUILD_DIR = os.path.dirname(BIN_DIR)
BINARIES = ("zfleet-broker", "zfleet-worker", "zfleet", "zfleet-bench")
UNIT_DIR = "usr/lib/systemd/system"
CLIENT = "usr/lib/python3/dist-packages/zfleet_client.py"
CONFIG = "etc/zfleet/fleet.yaml"

# Keys systemd 252 accepts in the sections our units use (systemd.unit(5),
# systemd.service(5), systemd.exec(5), systemd.kill(5),
# systemd.resource-control(5)): a misspelt key fails here even where
# systemd-analyze is missing.
UNIT_KEYS = {
    "Unit": """Description Documentation Wants Requires Requisite BindsTo PartOf Upholds
        Conflicts Before After OnFailure OnSuccess PropagatesReloadTo ReloadPropagatedFrom
        JoinsNamespaceOf RequiresMountsFor OnFailureJobMode IgnoreOnIsolate StopWhenUnneeded
        RefuseManualStart RefuseManualStop AllowIsolate DefaultDependencies
        CollectMode FailureAction SuccessAction StartLimitIntervalSec StartLimitBurst
        StartLimitAction ConditionPathExists AssertPathExists""".split(),
    "Service": """Type ExitType RemainAfterExit GuessMainPID PIDFile BusName ExecStart
        ExecStartPre ExecStartPost ExecCondition ExecReload ExecStop ExecStopPost RestartSec
        TimeoutStartSec TimeoutStopSec TimeoutAbortSec TimeoutSec RuntimeMaxSec WatchdogSec
        Restart RestartPreventExitStatus RestartForceExitStatus SuccessExitStatus
        RootDirectoryStartOnly NonBlocking NotifyAccess Sockets FileDescriptorStoreMax
        OOMPolicy User Group DynamicUser SupplementaryGroups WorkingDirectory RootDirectory
        UMask Environment EnvironmentFile PassEnvironment StandardInput StandardOutput
        StandardError SyslogIdentifier LogLevelMax Nice CPUSchedulingPolicy IOSchedulingClass
        LimitNOFILE LimitNPROC LimitCORE LimitMEMLOCK LimitAS
        CapabilityBoundingSet AmbientCapabilities NoNewPrivileges SecureBits
        ProtectSystem ProtectHome RuntimeDirectory StateDirectory CacheDirectory LogsDirectory
        ConfigurationDirectory RuntimeDirectoryMode StateDirectoryMode CacheDirectoryMode
        LogsDirectoryMode ConfigurationDirectoryMode RuntimeDirectoryPreserve
        ReadWritePaths ReadOnlyPaths InaccessiblePaths ExecPaths NoExecPaths TemporaryFileSystem
        BindPaths BindReadOnlyPaths PrivateTmp PrivateDevices PrivateNetwork PrivateUsers
        PrivateMounts PrivateIPC ProtectHostname ProtectClock ProtectKernelTunables
        ProtectKernelModules ProtectKernelLogs ProtectControlGroups ProtectProc ProcSubset
        RestrictAddressFamilies RestrictNamespaces LockPersonality MemoryDenyWriteExecute
        RestrictRealtime RestrictSUIDSGID RemoveIPC KeyringMode SystemCallFilter
        SystemCallErrorNumber SystemCallArchitectures SystemCallLog DevicePolicy DeviceAllow
        IPAddressAllow IPAddressDeny KillMode KillSignal RestartKillSignal SendSIGHUP
        SendSIGKILL FinalKillSignal WatchdogSignal MemoryHigh MemoryMax MemorySwapMax TasksMax
        CPUQuota CPUWeight IOWeight Slice Delegate""".split(),
    "Install": "Alias WantedBy RequiredBy Also DefaultInstance".split(),
}


def run(argv, **kw):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120, **kw)


def parse_unit(text):
    """{section: [(key, value), ...]} of a unit file (comments and
    backslash-continued lines handled as systemd does)."""
    sections, current = {}, None
    text = re.sub(r"\\\n", " ", text)
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        m = re.fullmatch(r"\[(\w+)\]", line)
        if m:
            current = sections.setdefault(m.group(1), [])
            continue
        key, eq, value = line.partition("=")
        if not eq or current is None:
            raise AssertionError("line %d is no key=value in a section: %r" % (n, line))
        current.append((key.strip(), value.strip()))
    return sections


def seconds(value):
    """systemd time span -> seconds (the forms our units use: 45, 30s, 1min)."""
    m = re.fullmatch(r"(\d+)\s*(s|sec|min)?", value)
    if not m:
        raise AssertionError("unexpected time span %r" % value)
    return int(m.group(1)) * (60 if m.group(2) == "min" else 1)


def deps_of(field):
    """A Depends field as [[(name, op, version), ...alternatives], ...]:
    "libc6 (>= 2.34), a | b" -> [[("libc6", ">=", "2.34")], [("a", None, None), ...]]."""
    deps = []
    for dep in field.split(","):
        alts = []
        for alt in dep.split("|"):
            m = re.fullmatch(r"\s*([a-z0-9][a-z0-9+.-]*)(?::\w+)?\s*(?:\((<<|<=|=|>=|>>)\s*(\S+)\s*\))?\s*",
                             alt)
            assert m, "bad dependency %r" % alt
            alts.append(m.groups())
        deps.append(alts)
    return deps


def installed_packages():
    """{name: [versions]} of the packages installed here, with what they
    Provide (a virtual package counts, unversioned unless it says "(= V)")."""
    out = run(["dpkg-query", "-W", "-f=${Package} ${Version} ${db:Status-Abbrev}\t${Provides}\n"]).stdout
    have = {}
    for line in out.splitlines():
        head, _, provides = line.partition("\t")
        parts = head.split()
        if len(parts) < 3 or parts[2] != "ii":
            continue
        have.setdefault(parts[0], []).append(parts[1])
        for p in provides.split(","):
            m = re.fullmatch(r"\s*(\S+)(?:\s*\(=\s*(\S+)\))?\s*", p)
            if m and m.group(1):
                have.setdefault(m.group(1), []).append(m.group(2))
    return have


def satisfied(alts, have):
    ops = {"<<": "lt", "<=": "le", "=": "eq", ">=": "ge", ">>": "gt"}
    for name, op, version in alts:
        for v in have.get(name, []):
            if op is None:
                return True
            if v is not None and subprocess.run(
                    ["dpkg", "--compare-versions", v, ops[op], version]).returncode == 0:
                return True
    return False


class PackageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if not os.path.exists(os.path.join(BUILD_DIR, "CPackConfig.cmake")):
            raise unittest.SkipTest("no CPackConfig.cmake in %s" % BUILD_DIR)
        cls.tmp = tempfile.mkdtemp(prefix="zfleet-it-package-")
        out = os.path.join(cls.tmp, "out")
        r = run(["cpack", "-G", "DEB", "-B", out, "--config",
                 os.path.join(BUILD_DIR, "CPackConfig.cmake")], cwd=BUILD_DIR)
        if r.returncode != 0:
            shutil.rmtree(cls.tmp)
            raise AssertionError("cpack failed:\n%s\n%s" % (r.stdout, r.stderr))
        debs = [f for f in os.listdir(out) if f.endswith(".deb")]
        assert len(debs) == 1, debs
        cls.deb = os.path.join(out, debs[0])
        cls.root = os.path.join(cls.tmp, "root")
        subprocess.run(["dpkg-deb", "-x", cls.deb, cls.root], check=True)
        cls.control = os.path.join(cls.tmp, "control")
        subprocess.run(["dpkg-deb", "-e", cls.deb, cls.control], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def rooted(self, path):
        return os.path.join(self.root, path.lstrip("/"))

    def unit(self, name):
        with open(self.rooted(os.path.join(UNIT_DIR, name))) as f:
            return parse_unit(f.read())

    # -- the archive -------------------------------------------------------

    def test_files_owners_and_modes(self):
        listing = run(["dpkg-deb", "-c", self.deb]).stdout.splitlines()
        entries = {}
        for line in listing:
            mode, owner, _size, _date, _time, path = line.split(None, 5)
            entries[path[2:].rstrip("/")] = (mode, owner)
        want = ["usr/bin/" + b for b in BINARIES] + [
            UNIT_DIR + "/zfleet-broker.service", UNIT_DIR + "/zfleet-worker@.service",
            "usr/lib/sysusers.d/zfleet.conf", "usr/lib/tmpfiles.d/zfleet.conf",
            CONFIG, CLIENT,
            "usr/share/doc/zfleet/README.md", "usr/share/doc/zfleet/install.md",
            "usr/share/doc/zfleet/security.md", "usr/share/doc/zfleet/examples/fleet.yaml",
            "usr/share/doc/zfleet/examples/tasks/hello.py"]
        for path in want:
            self.assertTrue(path in entries, "%s is not in the .deb" % path)
        for b in BINARIES:
            self.assertEqual(entries["usr/bin/" + b][0], "-rwxr-xr-x", b)
        for path, (mode, owner) in entries.items():
            self.assertEqual(owner, "root/root", path)
            self.assertRegex(path, r"^(usr|etc)(/|$)")
            self.assertFalse(path.startswith("usr/local"), path)
            self.assertNotIn("w", mode[5] + mode[8], path)   # no group/other write

    def test_control_depends_and_scripts(self):
        fields = {}
        for name in ("Package", "Version", "Architecture", "Depends", "Suggests"):
            fields[name] = run(["dpkg-deb", "-f", self.deb, name]).stdout.strip()
        self.assertEqual(fields["Package"], "zfleet")
        self.assertEqual(fields["Architecture"],
                         run(["dpkg", "--print-architecture"]).stdout.strip())
        deps = deps_of(fields["Depends"])
        names = {alt[0] for alts in deps for alt in alts}
        for want in ("libzmq5", "libpython3.11", "libyaml-cpp0.7", "libstdc++6", "libc6",
                     "libcpp-httplib0.11", "python3", "python3-zmq", "python3-msgpack"):
            self.assertIn(want, names, fields["Depends"])
        self.assertEqual(fields["Suggests"], "gnuplot-nox")   # zfleet-bench --plot
        # The binaries run here, so every dependency must be met by what is
        # installed here (a real Debian package, or one a package Provides,
        # at a version that satisfies the constraint).
        have = installed_packages()
        for alts in deps:
            self.assertTrue(satisfied(alts, have), "%s unmet here: %s" % (alts, fields["Depends"]))
        with open(os.path.join(self.control, "conffiles")) as f:
            conffiles = f.read().split()
        self.assertEqual(conffiles, ["/" + CONFIG])
        for c in conffiles:
            self.assertTrue(os.path.isfile(self.rooted(c)), c)
        for script in ("postinst", "prerm", "postrm"):
            path = os.path.join(self.control, script)
            self.assertTrue(os.access(path, os.X_OK), script)
            r = run(["sh", "-n", path])
            self.assertEqual(r.returncode, 0, script + r.stderr)
        with open(os.path.join(self.control, "postinst")) as f:
            self.assertIn("systemd-sysusers /usr/lib/sysusers.d/zfleet.conf", f.read())

    # -- the units ---------------------------------------------------------

    def test_units_keys_and_hardening(self):
        with open(self.rooted(CONFIG)) as f:
            drain_ms = int(re.search(r"^\s*drain_timeout_ms:\s*(\d+)", f.read(), re.M).group(1))
        for name, exe, stop_above_s in (("zfleet-broker.service", "zfleet-broker", drain_ms / 1000 + 5),
                                        ("zfleet-worker@.service", "zfleet-worker", 30 + 5)):
            with self.subTest(unit=name):
                sections = self.unit(name)
                self.assertEqual(set(sections), {"Unit", "Service", "Install"})
                for section, pairs in sections.items():
                    for key, _ in pairs:
                        self.assertIn(key, UNIT_KEYS[section], "%s: [%s] %s" % (name, section, key))
                svc = dict(sections["Service"])
                for key, value in (("User", "zfleet"), ("Group", "zfleet"),
                                   ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                                   ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                                   ("Restart", "on-failure"), ("KillSignal", "SIGTERM"),
                                   ("CapabilityBoundingSet", ""),
                                   ("RestartPreventExitStatus", "2")):
                    self.assertEqual(svc.get(key), value, "%s: %s" % (name, key))
                self.assertGreater(seconds(svc["TimeoutStopSec"]), stop_above_s, name)
                argv = shlex.split(svc["ExecStart"])
                self.assertEqual(argv[:3], ["/usr/bin/" + exe, "-c", "/" + CONFIG])
                self.assertTrue(os.access(self.rooted(argv[0]), os.X_OK))
                self.assertIn("multi-user.target", dict(sections["Install"])["WantedBy"])
        broker = dict(self.unit("zfleet-broker.service")["Service"])
        self.assertEqual(broker["StateDirectory"], "zfleet")   # /var/lib/zfleet: the journal
        self.assertEqual(broker["KillMode"], "mixed")          # SIGTERM to the broker alone
        worker = shlex.split(dict(self.unit("zfleet-worker@.service")["Service"])["ExecStart"])
        self.assertEqual(worker[3:], ["--type", "%i"])

    def test_units_pass_systemd_analyze_verify(self):
        if not shutil.which("systemd-analyze"):
            self.skipTest("systemd-analyze is not installed")
        # verify checks that ExecStart's program exists: point it into the
        # scratch root, and the config with it.
        units = os.path.join(self.tmp, "units")
        os.makedirs(units, exist_ok=True)
        for name in ("zfleet-broker.service", "zfleet-worker@.service"):
            with open(self.rooted(os.path.join(UNIT_DIR, name))) as f:
                text = f.read()
            text = text.replace("ExecStart=/usr/bin/", "ExecStart=%s/usr/bin/" % self.root)
            with open(os.path.join(units, name), "w") as f:
                f.write(text)
        r = run(["systemd-analyze", "verify", "zfleet-broker.service", "zfleet-worker@mine.service"],
                cwd=units, env=dict(os.environ, SYSTEMD_LOG_LEVEL="notice"))
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, ""))

    def test_sysusers_and_tmpfiles_apply(self):
        scratch = os.path.join(self.tmp, "sysroot")
        os.makedirs(os.path.join(scratch, "etc"), exist_ok=True)
        for tool, conf in (("systemd-sysusers", "usr/lib/sysusers.d/zfleet.conf"),
                           ("systemd-tmpfiles", "usr/lib/tmpfiles.d/zfleet.conf")):
            if not shutil.which(tool):
                self.skipTest(tool + " is not installed")
            argv = [tool, "--root=" + scratch] + (["--create"] if tool == "systemd-tmpfiles" else [])
            r = run(argv + [self.rooted(conf)])
            self.assertEqual(r.returncode, 0, tool + r.stderr)
        with open(os.path.join(scratch, "etc/passwd")) as f:
            user = [l.split(":") for l in f.read().splitlines() if l.startswith("zfleet:")]
        self.assertEqual(len(user), 1)
        self.assertLess(int(user[0][2]), 1000)                       # a system user
        self.assertEqual(user[0][5:], ["/var/lib/zfleet", "/usr/sbin/nologin"])
        tasks = os.stat(os.path.join(scratch, "srv/zfleet/tasks"))
        self.assertEqual((tasks.st_uid, oct(tasks.st_mode & 0o7777)), (0, "0o755"))

    # -- the installed files ----------------------------------------------

    def test_installed_binaries_start(self):
        for b in BINARIES:
            path = self.rooted("usr/bin/" + b)
            ldd = run(["ldd", path]).stdout
            self.assertNotIn("not found", ldd, b)
            r = run([path, "--help"])
            self.assertEqual(r.returncode, 0, b + r.stderr)
            self.assertIn("Usage", r.stdout, b)

    def installed_client(self):
        """The zfleet_client module as installed (not clients/python's)."""
        spec = importlib.util.spec_from_file_location("zfleet_client", self.rooted(CLIENT))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def start_installed_broker(self, run_dir, client_module):
        """The broker's ExecStart, re-rooted, on the installed config with
        free loopback ports, journal and script root in run_dir; one local io
        worker is enough here. Returns (broker, config path, client)."""
        tasks = os.path.join(run_dir, "tasks")
        os.makedirs(tasks, exist_ok=True)
        shutil.copy(self.rooted("usr/share/doc/zfleet/examples/tasks/hello.py"), tasks)
        exec_start = shlex.split(dict(self.unit("zfleet-broker.service")["Service"])["ExecStart"])
        with open(self.rooted(CONFIG)) as f:
            installed_text = f.read()
        for attempt in range(3):
            text, ports = installed_text, free_ports(4)
            swaps = [("tcp://127.0.0.1:%d" % p, "tcp://127.0.0.1:%d" % q)
                     for p, q in zip((5555, 5558, 5556, 5557), ports)] + [
                ("/var/lib/zfleet/journal", os.path.join(run_dir, "journal")),
                ("/srv/zfleet/tasks", tasks)]
            # Through placeholders: a free port may be one of the defaults
            # (5556 for the frontend), which a later swap would take again.
            for i, (old, _) in enumerate(swaps):
                self.assertEqual(text.count(old), 1, old)
                text = text.replace(old, "\0swap%d\0" % i)
            for i, (_, new) in enumerate(swaps):
                text = text.replace("\0swap%d\0" % i, new)
            config = os.path.join(run_dir, "fleet.yaml")
            with open(config, "w") as f:
                f.write(text)
            broker = start_process([self.rooted(exec_start[0]), "-c", config,
                                    "--io-processes", "1", "--cpu-processes", "0"],
                                   os.path.join(run_dir, "broker.log"))
            register_broker(broker.pid)
            client = client_module.Client("tcp://127.0.0.1:%d" % ports[0],
                                          "tcp://127.0.0.1:%d" % ports[1])
            ws = poll(lambda: self.live_workers(client, broker),
                      lambda ws: ws is None or len(ws) >= 1, timeout_s=30)
            if ws:
                return broker, config, client
            client.close()
            # exit code 1: most likely a port taken since free_ports; try others
            if ws is None and broker.returncode == 1 and attempt < 2:
                continue
            stop_process(broker, signal.SIGKILL)
            self.fail("installed broker not serving" + self.log(run_dir, "broker.log"))

    @staticmethod
    def live_workers(client, broker):
        """Live workers in the broker's status; None once the broker exited."""
        if broker.poll() is not None:
            return None
        try:
            return [w for w in client.status()["workers"] if w["alive"]]
        except Exception:     # zfleet_client.Timeout while it starts
            return []

    def test_installed_fleet_runs(self):
        """The installed broker on the installed config, a worker started as
        zfleet-worker@mine.service starts it, the installed CLI and client."""
        run_dir = os.path.join(self.tmp, "run")
        broker, config, c = self.start_installed_broker(run_dir, self.installed_client())
        worker = None
        try:
            self.assertEqual(c.get(c.submit("hello.py", ["ann"]), wait_ms=10000), "hello ann")

            exec_start = shlex.split(dict(self.unit("zfleet-worker@.service")["Service"])["ExecStart"])
            argv = [a.replace("%i", "mine") for a in exec_start]
            argv[0], argv[argv.index("-c") + 1] = self.rooted(argv[0]), config
            worker = start_process(argv, os.path.join(run_dir, "worker.log"))
            ws = poll(lambda: self.live_workers(c, broker) or [],
                      lambda ws: any(w["type"] == "mine" for w in ws), timeout_s=30)
            self.assertTrue(any(w["type"] == "mine" for w in ws), self.log(run_dir, "worker.log"))
            r = c.result(c.submit("hello.py", ["bob"], type="mine"), wait_ms=10000)
            self.assertEqual((r.state, r.value), ("done", "hello bob"))
            self.assertTrue(r.worker.startswith("mine-"), r.worker)
            c.close()

            cli = run([self.rooted("usr/bin/zfleet"), "-c", config, "status"])
            self.assertEqual(cli.returncode, 0, cli.stderr)
            self.assertIn("mine", cli.stdout)

            self.assertEqual(stop_process(worker, signal.SIGTERM, timeout=45), 0,
                             self.log(run_dir, "worker.log"))
            self.assertEqual(stop_process(broker, signal.SIGTERM, timeout=30), 0,
                             self.log(run_dir, "broker.log"))
            self.assertTrue(os.listdir(os.path.join(run_dir, "journal")))
        finally:
            c.close()
            for p in (worker, broker):
                if p is not None and p.poll() is None:
                    stop_process(p, signal.SIGKILL)
            for pid in workers_of(broker.pid):
                kill_quietly(pid)

    def test_dpkg_install_remove_purge(self):
        """A real dpkg -i, reinstall, -r and -P, maintainer scripts included,
        in a throw-away copy of this machine: an overlay over / in a private
        mount namespace, chrooted into. Nothing reaches the real system."""
        if os.geteuid() != 0 or not shutil.which("unshare") or not os.path.isdir("/dev/shm"):
            self.skipTest("needs root, unshare and /dev/shm")
        # The overlay's upper layer must not lie on the root file system.
        ov = tempfile.mkdtemp(prefix="zfleet-it-overlay-", dir="/dev/shm")
        try:
            for d in ("upper", "work", "merged"):
                os.mkdir(os.path.join(ov, d))
            shutil.copy(self.deb, os.path.join(ov, "zfleet.deb"))
            inside = r"""
                say() { echo "$1=$2"; }
                dpkg -i /tmp/zfleet.deb >/dev/null 2>&1; say install $?
                say user "$(getent passwd zfleet | cut -d: -f6,7)"
                say tasks "$(stat -c %U:%a /srv/zfleet/tasks)"
                say client "$(cd / && /usr/bin/python3 -c 'import zfleet_client; print(zfleet_client.__file__)')"
                zfleet --help >/dev/null; say cli $?
                echo '# mine' >> /etc/zfleet/fleet.yaml
                dpkg -i /tmp/zfleet.deb >/dev/null 2>&1; say reinstall $?
                say edit_kept "$(tail -n 1 /etc/zfleet/fleet.yaml)"
                dpkg -r zfleet >/dev/null 2>&1; say remove $?
                say removed "$(ls /usr/bin/zfleet-broker /usr/lib/python3/dist-packages/zfleet_client.py \
                                  /usr/lib/python3/dist-packages/__pycache__/zfleet_client* 2>/dev/null | wc -l)"
                say conf_after_remove "$(test -f /etc/zfleet/fleet.yaml && echo yes)"
                dpkg -P zfleet >/dev/null 2>&1; say purge $?
                say conf_after_purge "$(test -e /etc/zfleet && echo yes || echo no)"
                say user_after_purge "$(getent passwd zfleet >/dev/null && echo yes)"
            """
            merged = os.path.join(ov, "merged")
            outside = """
                set -e
                mount -t overlay overlay -o lowerdir=/,upperdir={ov}/upper,workdir={ov}/work {m}
                mount --bind /proc {m}/proc
                mount --bind /dev {m}/dev
                mount -t tmpfs tmpfs {m}/run
                mount -t tmpfs tmpfs {m}/tmp
                cp {ov}/zfleet.deb {m}/tmp/
                exec chroot {m} /bin/sh -c "$1"
            """.format(ov=ov, m=merged)
            r = run(["unshare", "--mount", "--propagation", "private", "sh", "-c", outside,
                     "sh", inside])
            if r.returncode != 0 and "install=" not in r.stdout:
                self.skipTest("no overlay here: " + r.stderr.strip()[-300:])
            got = dict(line.split("=", 1) for line in r.stdout.splitlines() if "=" in line)
            self.assertEqual(got, {
                "install": "0", "user": "/var/lib/zfleet:/usr/sbin/nologin", "tasks": "root:755",
                "client": "/usr/lib/python3/dist-packages/zfleet_client.py", "cli": "0",
                "reinstall": "0", "edit_kept": "# mine", "remove": "0", "removed": "0",
                "conf_after_remove": "yes", "purge": "0", "conf_after_purge": "no",
                "user_after_purge": "yes"}, r.stderr)
        finally:
            shutil.rmtree(ov, ignore_errors=True)

    @staticmethod
    def log(run_dir, name):
        try:
            with open(os.path.join(run_dir, name), errors="replace") as f:
                return "\n--- %s (tail)\n%s" % (name, f.read()[-3000:])
        except OSError:
            return ""


if __name__ == "__main__":
    unittest.main()
