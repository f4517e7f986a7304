"""zfleet_client: a synchronous Python client for the zfleet task broker (ZFP/1).

    with Client("tcp://127.0.0.1:5555", "tcp://127.0.0.1:5558") as c:
        tid = c.submit("hello.py", ["ann"])
        print(c.get(tid, wait_ms=5000))

Needs only pyzmq and msgpack (Debian: python3-zmq, python3-msgpack). The
wire contract is PROTOCOL.md / docs/protocol.md.

Errors. Everything raised here for a broker, a task or a missing reply is a
ZfleetError with `.code` (the protocol's error code, or None) and `.message`:
  * RequestError and one subclass per request code (BadRequest, TooLarge,
    DuplicateId, QueueFull, ShuttingDown): the broker refused a request.
  * TaskFailed and one subclass per task error code (ScriptNotFound, ...,
    TaskException, TaskTimeout, TaskCancelled, WorkerLost): `get` of a failed
    task; they also carry type, traceback, attempts, worker and task_id.
  * A code this version does not know maps to RequestError or TaskFailed
    itself, with `.code` set, so newer brokers do not break older clients.
  * TaskPending (state pending/running) and TaskUnknown: `get` of a task
    that has no result (yet, or any more). `result()` never raises these.
  * Timeout (also a builtin TimeoutError): no reply within `timeout_ms`.
    The broker may be down or, with CURVE, may have refused the key (a
    refused handshake is silent). A submit that timed out may or may not
    have been accepted: resubmit with the same `id` and treat DuplicateId
    as "an earlier attempt got through".
  * BatchError: `submit_batch` refused some tasks (see there).

Thread safety: none. A Client owns ZeroMQ sockets, which belong to one
thread; use one Client per thread (they are cheap), never share one.
"""
import itertools
import time

import msgpack
import zmq

__all__ = [
    "Client", "Result", "ZfleetError", "Timeout", "RequestError", "BadRequest", "TooLarge",
    "DuplicateId", "QueueFull", "ShuttingDown", "BatchError", "TaskPending", "TaskUnknown",
    "TaskFailed", "ScriptNotFound", "ScriptNotAllowed", "ScriptError", "FuncNotFound",
    "TaskException", "UnserializableResult", "TaskTimeout", "TaskCancelled", "WorkerLost",
]

DEFAULT_FRONTEND = "tcp://127.0.0.1:5555"
DEFAULT_RESULTS = "tcp://127.0.0.1:5558"
FINAL_STATES = ("done", "failed")
# The submit fields the protocol defines besides script (PROTOCOL.md "submit").
SUBMIT_FIELDS = ("func", "args", "kwargs", "type", "id", "timeout_ms", "max_retries",
                 "delay_ms", "retries", "retry_on", "retry_backoff_ms", "output")


# ---------------------------------------------------------------- errors

class ZfleetError(Exception):
    """Base of every error of this library. `code`: protocol code or None."""

    def __init__(self, message, code=None, task_id=None):
        super().__init__("%s: %s" % (code, message) if code else message)
        self.message, self.code, self.task_id = message, code, task_id


class Timeout(ZfleetError, TimeoutError):
    """No reply within the client's timeout (broker down, or CURVE refused)."""


class RequestError(ZfleetError):
    """The broker refused a request; also any request code unknown here."""


class BadRequest(RequestError): pass
class TooLarge(RequestError): pass
class DuplicateId(RequestError): pass
class QueueFull(RequestError): pass          # back-pressure: retry later
class ShuttingDown(RequestError): pass


class BatchError(ZfleetError):
    """submit_batch refused some tasks. `ids`: one entry per task, None where
    refused; `errors`: None or the RequestError of each task; `outcomes`: the
    id or the RequestError of each task. The accepted tasks are queued."""

    def __init__(self, ids, errors):
        bad = [e for e in errors if e is not None]
        super().__init__("%d of %d tasks refused, first: %s" % (len(bad), len(ids), bad[0]))
        self.ids, self.errors = ids, errors
        self.outcomes = [e if e is not None else i for i, e in zip(ids, errors)]


class TaskPending(ZfleetError):
    """The task has not finished: `state` is "pending" or "running"."""

    def __init__(self, task_id, state, run_after_ms=None):
        super().__init__("task %s is %s" % (task_id, state), task_id=task_id)
        self.state, self.run_after_ms = state, run_after_ms


class TaskUnknown(ZfleetError):
    """The broker does not know the id: never submitted, or its result expired."""

    def __init__(self, task_id):
        super().__init__("task %s is unknown to the broker" % task_id, task_id=task_id)


class TaskFailed(ZfleetError):
    """A task ended failed; also any task error code unknown here.
    `type`/`traceback`: the Python exception's class name and formatted
    traceback (code "exception"), else None."""

    def __init__(self, message, code=None, task_id=None, type=None, traceback=None,
                 attempts=None, worker=None):
        super().__init__(message, code, task_id)
        self.type, self.traceback, self.attempts, self.worker = type, traceback, attempts, worker


class ScriptNotFound(TaskFailed): pass
class ScriptNotAllowed(TaskFailed): pass
class ScriptError(TaskFailed): pass
class FuncNotFound(TaskFailed): pass
class TaskException(TaskFailed): pass
class UnserializableResult(TaskFailed): pass
class TaskTimeout(TaskFailed): pass
class TaskCancelled(TaskFailed): pass
class WorkerLost(TaskFailed): pass


_REQUEST_ERRORS = {"bad_request": BadRequest, "too_large": TooLarge,
                   "duplicate_id": DuplicateId, "queue_full": QueueFull,
                   "shutting_down": ShuttingDown}
_TASK_ERRORS = {"script_not_found": ScriptNotFound, "script_not_allowed": ScriptNotAllowed,
                "script_error": ScriptError, "func_not_found": FuncNotFound,
                "exception": TaskException, "unserializable_result": UnserializableResult,
                "timeout": TaskTimeout, "cancelled": TaskCancelled, "worker_lost": WorkerLost}


def request_error(code, message, task_id=None):
    """The RequestError (subclass) for a request error code."""
    return _REQUEST_ERRORS.get(code, RequestError)(message or "", code, task_id)


def task_error(error, task_id=None, attempts=None, worker=None):
    """The TaskFailed (subclass) for the `error` map of a failed result."""
    error = error or {}
    code = error.get("code")
    return _TASK_ERRORS.get(code, TaskFailed)(
        error.get("message") or "", code, task_id, error.get("type"), error.get("traceback"),
        attempts, worker)


# ---------------------------------------------------------------- results

class Result:
    """One task's result map (a `get` reply), decoded.

    state: pending | running | done | failed | unknown. value: the return
    value (done only). error: the TaskFailed (failed only). worker, attempts,
    queued_us, run_us, run_after_ms: as sent, or None. output: what the task
    printed, when the submit asked for it (or its pool captures output),
    else None. raw: the reply map.
    """

    def __init__(self, reply):
        self.raw = reply
        self.id, self.state = reply.get("id"), reply.get("state")
        self.value = reply.get("result")
        self.worker, self.attempts = reply.get("worker"), reply.get("attempts")
        self.queued_us, self.run_us = reply.get("queued_us"), reply.get("run_us")
        self.run_after_ms = reply.get("run_after_ms")
        self.output = reply.get("output")
        self.error = (task_error(reply.get("error"), self.id, self.attempts, self.worker)
                      if self.state == "failed" else None)

    @property
    def finished(self):
        """True once the state is final (done or failed)."""
        return self.state in FINAL_STATES

    def get(self):
        """The value if done; raises the TaskFailed if failed, TaskPending if
        pending/running, TaskUnknown if unknown."""
        if self.state == "done":
            return self.value
        if self.state == "failed":
            raise self.error
        if self.state in ("pending", "running"):
            raise TaskPending(self.id, self.state, self.run_after_ms)
        if self.state == "unknown":
            raise TaskUnknown(self.id)
        raise ZfleetError("task %s: unexpected state %r" % (self.id, self.state), task_id=self.id)

    def __repr__(self):
        return "Result(id=%r, state=%r)" % (self.id, self.state)


# ---------------------------------------------------------------- client

def _read_keys(key, server_key):
    # Formats written by `zfleet keygen`: PATH.key holds "public-key = <Z85>"
    # and "secret-key = <Z85>" lines, PATH.pub one line of Z85.
    fields = {}
    with open(key) as f:
        for line in f:
            name, sep, value = line.partition("=")
            if sep:
                fields[name.strip()] = value.strip()
    with open(server_key) as f:
        server = f.read().strip()
    keys = (fields.get("public-key"), fields.get("secret-key"), server)
    if not all(k and len(k) == 40 for k in keys):
        raise ValueError("%s or %s is not a zfleet key file (zfleet keygen)" % (key, server_key))
    return tuple(k.encode() for k in keys)


class Client:
    """A synchronous ZFP/1 client: one DEALER socket per endpoint.

    frontend / results: the broker's endpoints. key / server_key: paths of
    this client's `.key` file and of the broker's `.pub` file, for a broker
    with CURVE (both or neither). timeout_ms: how long to wait for a reply
    (a long-polling get waits its wait_ms on top of this). context: a
    zmq.Context (default: the process-wide one).

    Each call sends one request and waits for its reply, matched by `corr`.
    After a Timeout the socket is closed and made again at the next call, so
    a late reply or a request still queued for a dead broker cannot turn up
    later. Not thread-safe: one Client per thread. Close it (or use `with`).
    """

    def __init__(self, frontend=DEFAULT_FRONTEND, results=DEFAULT_RESULTS, key=None,
                 server_key=None, timeout_ms=10000, context=None):
        if (key is None) != (server_key is None):
            raise ValueError("key and server_key go together")
        self.endpoints = {"frontend": frontend, "results": results}
        self.timeout_ms = timeout_ms
        self._curve = _read_keys(key, server_key) if key is not None else None
        self._ctx = context if context is not None else zmq.Context.instance()
        self._socks = {}
        self._corr = itertools.count(1)
        self.closed = False

    # -- plumbing

    def _sock(self, name):
        if self.closed:
            raise ZfleetError("client is closed")
        sock = self._socks.get(name)
        if sock is None:
            sock = self._ctx.socket(zmq.DEALER)
            sock.linger = 0               # close() must never block on unsent requests
            if self._curve is not None:
                sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = self._curve
            sock.connect(self.endpoints[name])
            self._socks[name] = sock
        return sock

    def _reset(self, name):
        sock = self._socks.pop(name, None)
        if sock is not None:
            sock.close(0)

    def _call(self, name, body, extra_ms=0):
        """Sends `body` on endpoint `name`; returns the reply map, raises the
        RequestError of an error reply or Timeout."""
        body["corr"] = corr = next(self._corr)
        sock = self._sock(name)
        timeout_ms = self.timeout_ms + extra_ms
        deadline = time.monotonic() + timeout_ms / 1000.0
        try:
            # DEALER, bare framing: [body] out, [reply] back. NOBLOCK: a full
            # pipe (broker gone for long) must time out, not hang.
            sock.send(msgpack.packb(body, use_bin_type=True), zmq.NOBLOCK)
            while True:
                left_ms = int((deadline - time.monotonic()) * 1000)
                if left_ms <= 0 or not sock.poll(left_ms):
                    raise zmq.Again()
                try:
                    reply = msgpack.unpackb(sock.recv_multipart()[-1], raw=False,
                                            strict_map_key=False)
                except ValueError:
                    continue          # not msgpack: not an answer to anything of ours
                if not isinstance(reply, dict):
                    continue
                # A frame-level error (too many frames, too large) carries no
                # corr; with one request in flight it can only be this one's.
                # Any other corr is stale (cannot happen while sockets are
                # reset after a timeout, but costs nothing): dropped.
                if reply.get("corr") == corr or ("corr" not in reply and
                                                 reply.get("op") == "error"):
                    break
        except zmq.Again:
            self._reset(name)
            raise Timeout("no reply from %s within %d ms (broker down, or CURVE key refused?)"
                          % (self.endpoints[name], timeout_ms)) from None
        if reply.get("op") == "error":
            raise request_error(reply.get("code"), reply.get("message"), reply.get("id"))
        return reply

    @staticmethod
    def _task(script, fields):
        # Absent and None are the same to the broker; None is not sent.
        return {k: v for k, v in dict(fields, script=script).items() if v is not None}

    # -- frontend

    def submit(self, script, args=None, kwargs=None, *, func=None, type=None, id=None,
               timeout_ms=None, max_retries=None, delay_ms=None, retries=None,
               retry_on=None, retry_backoff_ms=None, output=None):
        """Queues `func(*args, **kwargs)` of `script` (a path relative to a
        script root, or "builtin:NAME"); returns the task id. timeout_ms here
        is the task's run time limit; type names the pool; output=True asks
        for the task's printed output (Result.output). Raises a RequestError
        if refused."""
        fields = dict(func=func, args=args, kwargs=kwargs, type=type, id=id,
                      timeout_ms=timeout_ms, max_retries=max_retries, delay_ms=delay_ms,
                      retries=retries, retry_on=retry_on, retry_backoff_ms=retry_backoff_ms,
                      output=output)
        body = self._task(script, fields)
        body["op"] = "submit"
        return self._call("frontend", body)["id"]

    def submit_batch(self, tasks, *, return_exceptions=False):
        """Queues many tasks in one request (at most broker.max_batch).

        tasks: dicts with "script" and any submit() field. Each task is judged
        on its own. Returns the list of ids, in order. If some are refused it
        raises BatchError (carrying the ids of the accepted ones), or with
        return_exceptions=True returns the RequestError in their place."""
        tasks = list(tasks)
        body = {"op": "submit_batch", "tasks": [self._task(t.get("script"), t) for t in tasks]}
        reply = self._call("frontend", body)
        ids = reply["ids"]
        errors = [None if e is None else request_error(e.get("code"), e.get("message"),
                                                       tasks[i].get("id"))
                  for i, e in enumerate(reply["errors"])]
        if any(e is not None for e in errors):
            if not return_exceptions:
                raise BatchError(ids, errors)
            return [e if e is not None else i for i, e in zip(ids, errors)]
        return ids

    # -- results endpoint

    def result(self, task_id, wait_ms=0):
        """The task's Result, whatever its state; with wait_ms > 0 the broker
        holds the reply until the task finishes or wait_ms passes."""
        return Result(self._call("results", {"op": "get", "id": task_id, "wait_ms": wait_ms},
                                 extra_ms=wait_ms))

    def get(self, task_id, wait_ms=0):
        """The task's return value. Raises its TaskFailed if it failed,
        TaskPending if not finished (after wait_ms), TaskUnknown if unknown."""
        return self.result(task_id, wait_ms).get()

    def get_many(self, ids, wait_ms=0):
        """Results of many tasks, in the order asked. With wait_ms the reply
        comes when all are finished (or unknown) or wait_ms has passed."""
        reply = self._call("results", {"op": "get_many", "ids": list(ids), "wait_ms": wait_ms},
                           extra_ms=wait_ms)
        return [Result(r) for r in reply["results"]]

    def cancel(self, task_id):
        """Cancels a task; returns the outcome: "cancelled" (it was pending),
        "cancelling" (running: it ends within a second), "too_late" or "unknown"."""
        return self._call("results", {"op": "cancel", "id": task_id})["outcome"]

    def status(self):
        """The broker's status map (queues, tasks, workers, cache, ...)."""
        return self._call("results", {"op": "status"})

    def clear_cache(self, script=None):
        """Makes every worker reload `script` (or every script) at its next task."""
        body = {"op": "clear_cache"}
        if script is not None:
            body["script"] = script
        self._call("results", body)

    # -- map

    def map(self, script, iterable_of_args, *, ordered=False, batch_size=500, window=2000,
            poll_ms=200, return_exceptions=False, **options):
        """Runs `func(*args)` of `script` for each args list of
        `iterable_of_args` and yields the return values: as they finish, or in
        input order with ordered=True.

        options: any submit() field except args and id (same for every task).
        At most `window` tasks are submitted and not yet yielded (at most
        broker.max_batch); they go in submit_batch requests of `batch_size`,
        and are watched with get_many long-polls of poll_ms. A failed or
        refused task raises its error when its turn comes (return_exceptions:
        the error is yielded instead). Tasks already submitted keep running if
        the caller stops early or an error is raised.
        """
        bad = (set(options) - set(SUBMIT_FIELDS)) | (set(options) & {"args", "id"})
        if bad:
            raise TypeError("map() got unexpected options: %s" % ", ".join(sorted(bad)))
        if min(batch_size, window, poll_ms) < 1:
            raise ValueError("map(): batch_size, window and poll_ms must be >= 1")
        items = iter(iterable_of_args)
        running = {}      # task id -> input index, until it finishes
        finished = {}     # input index -> Result or RequestError, until yielded
        submitted = yielded = 0
        exhausted = False
        while True:
            # Top up to `window` tasks in flight (submitted, not yet yielded).
            while not exhausted and submitted - yielded < window:
                chunk = list(itertools.islice(items, min(batch_size, window - submitted + yielded)))
                exhausted = not chunk
                if any(not isinstance(a, (list, tuple)) for a in chunk):
                    raise TypeError("map(): each item must be a list or tuple of args")
                tasks = [dict(options, script=script, args=list(a)) for a in chunk]
                for i, outcome in enumerate(self.submit_batch(tasks, return_exceptions=True)
                                            if tasks else [], submitted):
                    if isinstance(outcome, ZfleetError):
                        finished[i] = outcome
                    else:
                        running[outcome] = i
                submitted += len(chunk)
            if ordered:
                ready = []
                while yielded + len(ready) in finished:
                    ready.append(finished.pop(yielded + len(ready)))
            else:
                ready, finished = list(finished.values()), {}
            for outcome in ready:
                yielded += 1
                if isinstance(outcome, Result):
                    try:
                        outcome = outcome.get()
                    except ZfleetError as e:
                        outcome = e
                if isinstance(outcome, ZfleetError) and not return_exceptions:
                    raise outcome
                yield outcome
            if ready:
                continue
            # Nothing ready. If nothing runs either, everything was yielded: in
            # ordered mode a finished task not yet yielded implies the head of
            # the line is running (else it would have been ready).
            if not running:
                return
            ids = list(running)
            for tid, res in zip(ids, self.get_many(ids, wait_ms=poll_ms)):
                if res.finished or res.state == "unknown":
                    finished[running.pop(tid)] = res

    # -- life cycle

    def close(self):
        """Closes the sockets (unsent requests are dropped). Idempotent."""
        for name in list(self._socks):
            self._reset(name)
        self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
