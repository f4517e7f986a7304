"""Dask distributed: a `dask scheduler` process and `dask worker` processes
(no nanny, no dashboard), all on 127.0.0.1.

Topology proc2 = 2 workers x 1 thread; io40 = 4 workers x 10 threads. The
client submits with `Client.submit(fn, *args, pure=False)` per task (pure=False
so identical calls are not merged into one), waits with `distributed.wait`,
then fetches every result with one `Client.gather`.
"""
import os
import time

from common import (HERE, Outcome, PYTHON, Procs, free_ports,
                    sequential, submit_all, task_function, wait_until)


class DaskSystem:
    name = "dask"

    def __init__(self, ctx):
        self.ctx = ctx
        self.procs = Procs(ctx.logdir, "dask")
        self.client = None

    def version(self):
        import dask
        import distributed
        return f"{distributed.__version__} (dask {dask.__version__})"

    @staticmethod
    def describe(topo):
        if topo == "io40":
            return "4 workers x 10 threads (no nanny)"
        return "2 workers x 1 thread (no nanny)"

    def start(self, topo):
        from distributed import Client
        (port,) = free_ports(1)
        addr = f"tcp://127.0.0.1:{port}"
        env = dict(os.environ, PYTHONPATH=HERE)
        self.procs.spawn("scheduler", [PYTHON, "-m", "distributed.cli.dask_scheduler", "--host",
                                       "127.0.0.1", "--port", str(port), "--no-dashboard"], env=env)
        nworkers, nthreads = (4, 10) if topo == "io40" else (2, 1)
        for i in range(nworkers):
            self.procs.spawn(f"w{i}", [PYTHON, "-m", "distributed.cli.dask_worker", addr,
                                       "--host", "127.0.0.1", "--nthreads", str(nthreads),
                                       "--no-nanny", "--no-dashboard", "--name", f"w{i}"], env=env)
        deadline = time.monotonic() + 60
        while self.client is None:
            self.procs.check_alive()
            try:
                self.client = Client(addr, timeout=5)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.client.wait_for_workers(nworkers, timeout=60)
        wait_until(lambda: len(self.client.scheduler_info()["workers"]) >= nworkers, 10,
                   "Dask workers")

    def stop(self):
        if self.client is not None:
            try:
                self.client.close(timeout=10)
            except Exception:  # noqa: BLE001 - the processes are killed next anyway
                pass
            self.client = None
        self.procs.stop()

    def pipelined(self, func, args, count, limit_s):
        from distributed import wait
        fn = task_function(func)
        out = Outcome(expected=count)
        t0 = time.perf_counter()
        deadline = t0 + limit_s
        futs = submit_all(count, deadline, out, lambda: self.client.submit(fn, *args, pure=False))
        try:
            wait(futs, timeout=max(0.001, deadline - time.perf_counter()))
        except TimeoutError:
            out.capped = True
        finished = [f for f in futs if f.status == "finished"]
        self.client.gather(finished)
        out.done = len(finished)
        out.failed = sum(f.status == "error" for f in futs)
        out.seconds = time.perf_counter() - t0
        self.client.cancel([f for f in futs if f.status == "pending"])
        del futs, finished
        return out

    def round_trips(self, func, args, count, limit_s):
        fn = task_function(func)

        def one(_):
            try:
                self.client.submit(fn, *args, pure=False).result(timeout=30)
                return True
            except Exception:  # noqa: BLE001 - a task error counts as failed
                return False
        return sequential(count, limit_s, one)
