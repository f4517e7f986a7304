"""Celery with a Redis broker and a Redis result backend.

Topology proc2: one worker, `--pool prefork --concurrency 2` (2 pool
processes). io40: 4 workers, each `--pool threads --concurrency 10`.
Workers run with --without-gossip --without-mingle --without-heartbeat (no
cluster chatter on 2 cores); everything else is Celery's default (prefetch
multiplier 4, early ack). The client sends with `apply_async` per task and
waits with `AsyncResult.get` (the Redis backend delivers results by pub/sub).
"""
import os
import time

from common import HERE, Outcome, PYTHON, Procs, sequential, submit_all, wait_until


class CelerySystem:
    name = "celery"

    def __init__(self, ctx):
        self.ctx = ctx
        os.environ["PEERS_REDIS_URL"] = ctx.redis_url
        import celery_app  # reads PEERS_REDIS_URL
        self.mod = celery_app
        self.app = celery_app.app
        self.procs = Procs(ctx.logdir, "celery")
        self.nworkers = 0

    def version(self):
        import celery
        import kombu
        return f"{celery.__version__} (kombu {kombu.__version__})"

    @staticmethod
    def describe(topo):
        if topo == "io40":
            return "4 workers, --pool threads --concurrency 10"
        return "1 worker, --pool prefork --concurrency 2"

    def start(self, topo):
        env = dict(os.environ, PYTHONPATH=HERE, PEERS_REDIS_URL=self.ctx.redis_url)
        common = [PYTHON, "-m", "celery", "-A", "celery_app", "worker", "--loglevel", "WARNING",
                  "--without-gossip", "--without-mingle", "--without-heartbeat"]
        if topo == "io40":
            shapes = [["--pool", "threads", "--concurrency", "10"]] * 4
        else:
            shapes = [["--pool", "prefork", "--concurrency", "2"]]
        for i, shape in enumerate(shapes):
            self.procs.spawn(f"w{i}", common + shape + ["-n", f"w{i}@127.0.0.1"], env=env)
        self.nworkers = len(shapes)
        wait_until(self._ready, 90, "Celery workers")

    def _ready(self):
        self.procs.check_alive()
        return len(self.app.control.ping(timeout=0.5)) >= self.nworkers

    def stop(self):
        self.procs.stop()

    def pipelined(self, func, args, count, limit_s):
        from celery.exceptions import TimeoutError as CeleryTimeout
        task = getattr(self.mod, func)
        out = Outcome(expected=count)
        t0 = time.perf_counter()
        deadline = t0 + limit_s
        pending = submit_all(count, deadline, out, lambda: task.apply_async(args))
        for r in pending:
            left = deadline - time.perf_counter()
            if left <= 0:
                out.capped = True
                break
            try:
                r.get(timeout=left, propagate=False)
            except CeleryTimeout:
                out.capped = True
                break
            if r.successful():
                out.done += 1
            else:
                out.failed += 1
        out.seconds = time.perf_counter() - t0
        return out

    def round_trips(self, func, args, count, limit_s):
        task = getattr(self.mod, func)

        def one(_):
            r = task.apply_async(args)
            r.get(timeout=30, propagate=False)
            return r.successful()
        return sequential(count, limit_s, one)
