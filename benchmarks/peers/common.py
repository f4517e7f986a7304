"""Shared pieces of the peers benchmark: the processes it starts (and always
stops), free loopback ports, and the outcome of one measured workload.

Every process is started in its own session (process group), so stopping it
also stops its children (Celery pool processes, RQ work horses). A registry
stops whatever is left at exit, on an error and on SIGTERM/SIGINT.
"""
import atexit
import math
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field

PYTHON = "/usr/bin/python3"  # Debian's interpreter, which has the packages
HERE = os.path.dirname(os.path.abspath(__file__))


def free_ports(n):
    """n distinct free TCP ports on 127.0.0.1 (held open together so they
    differ; the small race until the server binds is acceptable here)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Procs:
    """The processes one system runs; stop() ends them all (TERM, then KILL)."""

    live = []  # every Procs with processes still running, for the exit hook
    interrupted = False  # set on SIGTERM/SIGINT: stop with a short grace

    def __init__(self, logdir, tag):
        self.logdir = logdir
        self.tag = tag
        self.procs = []

    def spawn(self, name, argv, env=None, cwd=None):
        log = open(os.path.join(self.logdir, f"{self.tag}-{name}.log"), "ab")
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd or HERE, start_new_session=True)
        log.close()
        p.zfleet_name = name
        self.procs.append(p)
        if self not in Procs.live:
            Procs.live.append(self)
        return p

    def check_alive(self):
        """Raises if any started process has exited (a crash before timing)."""
        for p in self.procs:
            if p.poll() is not None:
                raise RuntimeError(f"{self.tag}: {p.zfleet_name} exited with {p.returncode}; "
                                   f"see {self.logdir}/{self.tag}-{p.zfleet_name}.log")

    def stop(self, grace_s=10.0):
        if Procs.interrupted:
            grace_s = min(grace_s, 2.0)
        for p in self.procs:
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        for p in self.procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for p in self.procs:  # the process itself or leftover children
            _signal_group(p, signal.SIGKILL)
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        self.procs = []
        if self in Procs.live:
            Procs.live.remove(self)


def _signal_group(p, sig):
    try:
        os.killpg(p.pid, sig)  # the session we created: its id is the child's pid
    except ProcessLookupError:
        pass


def _stop_everything():
    for procs in list(Procs.live):
        procs.stop(grace_s=3.0)


def install_cleanup():
    """Stop every started process at exit, on SIGTERM and on Ctrl-C."""
    atexit.register(_stop_everything)

    def on_term(signum, _frame):
        Procs.interrupted = True
        raise SystemExit(128 + signum)

    def on_int(_signum, _frame):
        Procs.interrupted = True
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_term)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, on_int)


def wait_until(pred, timeout_s, what, interval_s=0.1):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(interval_s)
    raise RuntimeError(f"timed out after {timeout_s}s waiting for {what}")


@dataclass
class Outcome:
    """One measured workload on one system."""
    expected: int
    done: int = 0
    failed: int = 0
    seconds: float = 0.0
    capped: bool = False            # stopped at the time limit
    latencies_us: list = field(default_factory=list)
    note: str = ""

    @property
    def unfinished(self):
        return self.expected - self.done - self.failed

    @property
    def rate(self):
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def percentile_us(self, q):
        xs = sorted(self.latencies_us)
        if not xs:
            return None
        return xs[min(len(xs) - 1, max(0, math.ceil(q * len(xs)) - 1))]  # nearest rank


def submit_all(count, deadline, out, submit):
    """Calls submit() up to `count` times and returns what it returned; past
    `deadline` (checked every 256 calls) it stops and marks `out.capped`."""
    handles = []
    for i in range(count):
        if i % 256 == 0 and time.perf_counter() >= deadline:
            out.capped = True
            break
        handles.append(submit())
    return handles


def task_function(name):
    """The shared task `name` from tasks.py (imported late: workers set PYTHONPATH)."""
    import tasks
    return getattr(tasks, name)


def sequential(count, limit_s, one):
    """`count` round trips one at a time, each `one(i)`: True when the task
    came back done, False when it failed, None when neither (not counted).
    Latency is measured around each `one(i)` that returned True."""
    out = Outcome(expected=count)
    t_start = time.perf_counter()
    deadline = t_start + limit_s
    for i in range(count):
        if time.perf_counter() >= deadline:
            out.capped = True
            break
        t0 = time.perf_counter()
        ok = one(i)
        t1 = time.perf_counter()
        if ok:
            out.done += 1
            out.latencies_us.append((t1 - t0) * 1e6)
        elif ok is False:
            out.failed += 1
    out.seconds = time.perf_counter() - t_start
    return out
