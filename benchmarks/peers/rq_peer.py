"""RQ (Redis Queue) on the benchmark's Redis (db 2).

RQ's standard Worker runs one job at a time and forks a "work horse" child
per job, so slots = worker processes: topology proc2 = 2 `rq worker`
processes, io40 = 40 `rq worker` processes (4 x 10 slots). The client
enqueues with `Queue.enqueue` per task; RQ has no blocking wait for a result,
so the client polls: pipelined runs fetch the oldest unfinished jobs with
`Job.fetch_many` (500 at a time), round trips poll the job's status every
0.5 ms.
"""
import os
import time

from common import HERE, Outcome, PYTHON, Procs, sequential, submit_all, task_function, wait_until

QUEUE = "peers"
POLL_S = 0.0005


class RqSystem:
    name = "rq"

    def __init__(self, ctx):
        import redis
        from rq import Queue
        self.ctx = ctx
        self.url = ctx.redis_url + "/2"
        self.conn = redis.Redis.from_url(self.url)
        self.queue = Queue(QUEUE, connection=self.conn)
        self.procs = Procs(ctx.logdir, "rq")
        self.nworkers = 0

    def version(self):
        import rq
        return rq.__version__

    @staticmethod
    def describe(topo):
        if topo == "io40":
            return "40 worker processes (fork per job)"
        return "2 worker processes (fork per job)"

    def start(self, topo):
        self.nworkers = 40 if topo == "io40" else 2
        env = dict(os.environ, PYTHONPATH=HERE)
        for i in range(self.nworkers):
            self.procs.spawn(f"w{i}", [PYTHON, "-m", "rq.cli", "worker", "--url", self.url,
                                       "--path", HERE, "--quiet", "--name", f"peers-{topo}-{i}",
                                       QUEUE], env=env)
        wait_until(self._ready, 120, "RQ workers")

    def _ready(self):
        from rq import Worker
        self.procs.check_alive()
        return Worker.count(connection=self.conn, queue=self.queue) >= self.nworkers

    def stop(self):
        self.procs.stop()

    def pipelined(self, func, args, count, limit_s):
        from rq.job import Job, JobStatus
        fn = task_function(func)
        out = Outcome(expected=count)
        t0 = time.perf_counter()
        deadline = t0 + limit_s
        pending = submit_all(count, deadline, out, lambda: self.queue.enqueue(fn, *args).id)
        while pending:
            if time.perf_counter() >= deadline:
                out.capped = True
                break
            head, rest = pending[:500], pending[500:]
            still = []
            for jid, job in zip(head, Job.fetch_many(head, connection=self.conn)):
                status = job.get_status(refresh=False) if job is not None else None
                if status == JobStatus.FINISHED:
                    job.return_value()
                    out.done += 1
                elif status in (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED, None):
                    out.failed += 1
                else:
                    still.append(jid)
            if len(still) == len(head):
                time.sleep(POLL_S)
            pending = still + rest
        out.seconds = time.perf_counter() - t0
        return out

    def round_trips(self, func, args, count, limit_s):
        from rq.job import JobStatus
        fn = task_function(func)
        ended = (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)

        def one(_):
            t0 = time.perf_counter()
            job = self.queue.enqueue(fn, *args)
            while True:
                status = job.get_status()
                if status in ended or time.perf_counter() - t0 > 30:
                    break
                time.sleep(POLL_S)
            if status != JobStatus.FINISHED:
                return False
            job.return_value()
            return True
        return sequential(count, limit_s, one)
