"use strict";
// The errors of the zfleet Node client, the same classes as the Python
// client's (clients/python/zfleet_client.py). Every error this library raises
// on purpose is a ZfleetError with `code` (the protocol's error code, or null)
// and `message`:
//
//   ZfleetError
//   ├── RequestError            the broker refused a request ({"op": "error"})
//   │   ├── BadRequest          bad_request
//   │   ├── TooLarge            too_large
//   │   ├── DuplicateId         duplicate_id
//   │   ├── QueueFull           queue_full (back-pressure: retry later)
//   │   └── ShuttingDown        shutting_down
//   ├── TaskFailed              a task ended in state "failed" (its error.code)
//   │   ├── ScriptNotFound      script_not_found
//   │   ├── ScriptNotAllowed    script_not_allowed
//   │   ├── ScriptError         script_error
//   │   ├── FuncNotFound        func_not_found
//   │   ├── TaskException       exception (type, traceback: the Python exception's)
//   │   ├── UnserializableResult unserializable_result
//   │   ├── TaskTimeout         timeout
//   │   ├── TaskCancelled       cancelled
//   │   └── WorkerLost          worker_lost
//   ├── BatchError              submitBatch: some tasks refused (null code)
//   ├── TaskPending             get: not finished within waitMs (null code)
//   ├── TaskUnknown             get: the broker does not know the id (null code)
//   ├── Timeout                 no reply within replyTimeoutMs (null code)
//   │   └── HandshakeFailed     no reply will come: the ZMTP/CURVE handshake fails
//   │       └── AuthenticationFailed  the broker's ZAP handler refused our key
//   ├── ClientClosed            close() was called (null code)
//   └── ProtocolError           a reply this client cannot read (null code)
//
// A code the client does not know yet (a newer broker) still gives a
// RequestError or a TaskFailed carrying that code.

class ZfleetError extends Error {
  constructor(code, message, fields) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    if (fields) Object.assign(this, fields);
  }
}

// --- request level ---------------------------------------------------------

class RequestError extends ZfleetError {}
class BadRequest extends RequestError {}
class TooLarge extends RequestError {}
class DuplicateId extends RequestError {}
class QueueFull extends RequestError {}
class ShuttingDown extends RequestError {}

const REQUEST_ERRORS = {
  bad_request: BadRequest,
  too_large: TooLarge,
  duplicate_id: DuplicateId,
  queue_full: QueueFull,
  shutting_down: ShuttingDown,
};

/** The error for an {"op": "error"} reply, or an error map of accepted_batch. */
function requestError(map) {
  const code = typeof map.code === "string" ? map.code : null;
  const Cls = (code && Object.hasOwn(REQUEST_ERRORS, code) && REQUEST_ERRORS[code]) || RequestError;
  const message = typeof map.message === "string" && map.message ? map.message : `${code || "error"}`;
  return new Cls(code, message, map.id !== undefined ? { taskId: map.id } : undefined);
}

// --- task level ------------------------------------------------------------

/**
 * A task that failed. Fields: code, message, type and traceback (Python
 * exceptions, else undefined), attempts, worker, taskId.
 */
class TaskFailed extends ZfleetError {}
class ScriptNotFound extends TaskFailed {}
class ScriptNotAllowed extends TaskFailed {}
class ScriptError extends TaskFailed {}
class FuncNotFound extends TaskFailed {}
class TaskException extends TaskFailed {}
class UnserializableResult extends TaskFailed {}
class TaskTimeout extends TaskFailed {}
class TaskCancelled extends TaskFailed {}
class WorkerLost extends TaskFailed {}

const TASK_ERRORS = {
  script_not_found: ScriptNotFound,
  script_not_allowed: ScriptNotAllowed,
  script_error: ScriptError,
  func_not_found: FuncNotFound,
  exception: TaskException,
  unserializable_result: UnserializableResult,
  timeout: TaskTimeout,
  cancelled: TaskCancelled,
  worker_lost: WorkerLost,
};

/** The TaskFailed for a result map in state "failed". */
function taskFailed(result) {
  const error = result.error && typeof result.error === "object" ? result.error : {};
  const code = typeof error.code === "string" ? error.code : null;
  const Cls = (code && Object.hasOwn(TASK_ERRORS, code) && TASK_ERRORS[code]) || TaskFailed;
  const message = typeof error.message === "string" && error.message ? error.message : `${code || "failed"}`;
  return new Cls(code, message, {
    taskId: result.id,
    type: error.type,
    traceback: error.traceback,
    attempts: result.attempts,
    worker: result.worker,
  });
}

// --- client side (code null) ------------------------------------------------

/** submitBatch refused some tasks: ids (null where refused), errors (null or
 *  the RequestError of each task), outcomes (the id or the error of each). */
class BatchError extends ZfleetError {
  constructor(ids, errors) {
    const bad = errors.filter((e) => e);
    super(null, `${bad.length} of ${ids.length} tasks refused, first: ${bad[0].code}: ${bad[0].message}`,
      { ids, errors, outcomes: ids.map((id, i) => errors[i] || id) });
  }
}

/** get: the task has not finished (state "pending" or "running"). */
class TaskPending extends ZfleetError {
  constructor(taskId, state, runAfterMs) {
    super(null, `task ${JSON.stringify(taskId)} is ${state}`, { taskId, state, runAfterMs });
  }
}

/** get: the broker does not know the id (never submitted, or expired from its cache). */
class TaskUnknown extends ZfleetError {
  constructor(taskId) {
    super(null, `task ${JSON.stringify(taskId)} is unknown to the broker`, { taskId });
  }
}

class Timeout extends ZfleetError {}
class HandshakeFailed extends Timeout {}
class AuthenticationFailed extends HandshakeFailed {}
class ClientClosed extends ZfleetError {}
class ProtocolError extends ZfleetError {}

module.exports = {
  ZfleetError,
  RequestError, BadRequest, TooLarge, DuplicateId, QueueFull, ShuttingDown,
  TaskFailed, ScriptNotFound, ScriptNotAllowed, ScriptError, FuncNotFound, TaskException,
  UnserializableResult, TaskTimeout, TaskCancelled, WorkerLost,
  BatchError, TaskPending, TaskUnknown, Timeout, HandshakeFailed, AuthenticationFailed,
  ClientClosed, ProtocolError,
  REQUEST_ERRORS, TASK_ERRORS,
  requestError, taskFailed,
};
