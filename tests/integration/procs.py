"""Process hygiene of the zfleet integration tests: where the binaries are,
how processes are started, watched and stopped, and the cleanup that makes
sure none outlives the test run.

What it owns:
  * Paths (SOURCE_DIR, BIN_DIR, BROKER_BIN, WORKER_BIN, overridable through
    ZFLEET_SOURCE_DIR / ZFLEET_BIN_DIR as ctest sets them) and the start/stop
    timeouts.
  * The registry of every process started here (`start_process`) and of the
    brokers among them (`register_broker`): an atexit `sweep` kills whatever
    is still running, and any zfleet-worker started by one of those brokers
    (`--parent-pid <broker pid>`). Processes started here also get
    PR_SET_PDEATHSIG=SIGKILL, so they die with the test process even if it is
    killed (start them from the main thread only: the death signal follows
    the thread that forked).
  * Small /proc helpers (`pid_alive`, `workers_of`), `poll`, `stop_process`
    and `free_ports`.
  * In sanitizer builds (ZFLEET_SANITIZER_LOGS set, tools/sanitize), a copy
    of the log of every stopped process that holds a sanitizer report.

Kept apart from the fleet and the client so that the cleanup guarantees live
in one place. Uses only Debian's /usr/bin/python3 standard library.
"""
import atexit
import ctypes
import os
import re
import shutil
import signal
import socket
import subprocess
import time

SOURCE_DIR = os.environ.get(
    "ZFLEET_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
BIN_DIR = os.environ.get("ZFLEET_BIN_DIR", os.path.join(SOURCE_DIR, "build", "bin"))
BROKER_BIN = os.path.join(BIN_DIR, "zfleet-broker")
WORKER_BIN = os.path.join(BIN_DIR, "zfleet-worker")

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0

_started = []          # every Popen this module started
_broker_pids = set()   # pids of brokers started here (their workers carry --parent-pid)


def _die_with_parent():
    # prctl(PR_SET_PDEATHSIG, SIGKILL): runs in the child between fork and exec.
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)


def _spawn(argv, log_path, pipes=False, stderr=None):
    log = open(log_path, "ab")
    try:
        # pipes: stdin and stdout are pipes to the caller (stderr still logged,
        # unless `stderr` says where it goes instead, e.g. subprocess.PIPE)
        proc = subprocess.Popen(argv, stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
                                stdout=subprocess.PIPE if pipes else log,
                                stderr=log if stderr is None else stderr,
                                preexec_fn=_die_with_parent, close_fds=True)
    finally:
        log.close()
    proc.zfleet_log = log_path
    _started.append(proc)
    return proc


# Sanitizer builds: ASan writes its reports under ZFLEET_SANITIZER_LOGS
# (log_path in ASAN_OPTIONS), but GCC's UBSan runtime (a separate
# libubsan) always reports on stderr, which is a log file the test deletes
# with its temp dir. So a stopped process's log that holds a report is copied
# there too; tools/sanitize fails the run on any file in that folder.
SANITIZER_LOGS = os.environ.get("ZFLEET_SANITIZER_LOGS")
_SANITIZER_REPORT = re.compile(
    rb"^\S+:\d+:\d+: runtime error: |ERROR: (Address|Leak|Thread|UndefinedBehavior)Sanitizer", re.M)


def keep_sanitizer_reports(proc):
    """Copies the log of `proc` (ended) to ZFLEET_SANITIZER_LOGS if it holds a report."""
    path = getattr(proc, "zfleet_log", None)
    if not SANITIZER_LOGS or not path or proc.poll() is None:
        return
    try:
        with open(path, "rb") as f:
            found = _SANITIZER_REPORT.search(f.read())
    except OSError:
        return
    if found:
        name = "stderr-%d-%s" % (proc.pid, os.path.basename(path))
        os.makedirs(SANITIZER_LOGS, exist_ok=True)
        shutil.copyfile(path, os.path.join(SANITIZER_LOGS, name))


def start_process(argv, log_path, pipes=False, stderr=None):
    """Starts any helper process under the same hygiene (death signal, atexit sweep)."""
    return _spawn(argv, log_path, pipes, stderr)


def register_broker(pid):
    """Marks `pid` as a broker: the sweep also kills the workers it started."""
    _broker_pids.add(pid)


def pid_alive(pid):
    """True while `pid` runs (a zombie, dead but not yet reaped, counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def poll(fetch, pred, timeout_s=20.0, interval_s=0.02):
    """Calls fetch() until pred(value) holds or timeout_s passes; returns the
    last value (the caller asserts on it, so a failure shows what was seen)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = fetch()
        if pred(value) or time.monotonic() > deadline:
            return value
        time.sleep(interval_s)


def _proc_cmdline(pid):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return f.read().split(b"\0")
    except OSError:
        return []


def _proc_ppid(pid):
    try:
        with open("/proc/%s/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def workers_of(broker_pid):
    """Pids of live zfleet-worker processes started by the broker `broker_pid`."""
    pids = []
    want = str(broker_pid).encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        argv = _proc_cmdline(entry)
        if not argv or not argv[0].endswith(b"zfleet-worker"):
            continue
        by_flag = any(a == b"--parent-pid" and b == want for a, b in zip(argv, argv[1:]))
        if by_flag or _proc_ppid(entry) == broker_pid:
            pids.append(int(entry))
    return pids


def kill_quietly(pid, sig=signal.SIGKILL):
    """Sends `sig` to `pid`; a process already gone is not an error."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop_process(proc, sig=signal.SIGTERM, timeout=STOP_TIMEOUT_S):
    """Signals `proc`, waits up to `timeout`, then SIGKILLs it. Returns its exit code."""
    if proc.poll() is None:
        kill_quietly(proc.pid, sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            kill_quietly(proc.pid)
            proc.wait()
    keep_sanitizer_reports(proc)
    return proc.returncode


def sweep():
    """Kills every process started here that still runs, and their workers."""
    for proc in _started:
        if proc.poll() is None:
            kill_quietly(proc.pid)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        keep_sanitizer_reports(proc)
    for broker_pid in _broker_pids:
        for pid in workers_of(broker_pid):
            kill_quietly(pid)


atexit.register(sweep)


def free_ports(n):
    """n distinct free loopback TCP ports (all held open while picking)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def rss_bytes(pid):
    """Resident memory of process `pid`, from /proc (0 if it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
