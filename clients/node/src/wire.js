"use strict";
// The request and reply maps of ZFP/1 as the client builds and reads them:
// submit options -> task maps, result maps -> records, records -> values or
// errors. No sockets here (src/connection.js), no msgpack (src/codec.js).
const { ProtocolError, TaskPending, TaskUnknown, requestError, taskFailed } = require("./errors");

const FINAL = new Set(["done", "failed"]);

// submit options: camelCase (or the wire's own snake_case) -> wire key.
const SUBMIT_FIELDS = {
  args: "args", kwargs: "kwargs", func: "func", type: "type", id: "id",
  timeoutMs: "timeout_ms", maxRetries: "max_retries", delayMs: "delay_ms",
  retries: "retries", retryOn: "retry_on", retryBackoffMs: "retry_backoff_ms",
  output: "output",
};
for (const wire of Object.values(SUBMIT_FIELDS)) SUBMIT_FIELDS[wire] = wire;

function isPlainObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !ArrayBuffer.isView(v) &&
    !(v instanceof Map);
}

/** The wire map of one task (without "op"); TypeError for a bad option. */
function taskBody(script, opts) {
  if (typeof script !== "string" || script === "") {
    throw new TypeError("script must be a non-empty string (a path under a script root, or builtin:NAME)");
  }
  const body = { script };
  if (opts == null) return body;
  if (!isPlainObject(opts)) throw new TypeError("submit options must be an object");
  for (const [key, value] of Object.entries(opts)) {
    const wire = Object.hasOwn(SUBMIT_FIELDS, key) ? SUBMIT_FIELDS[key] : undefined;
    if (wire === undefined) throw new TypeError(`unknown submit option "${key}"`);
    if (value === undefined || value === null) continue;   // absent, as in the Python client
    if (wire === "args" && !Array.isArray(value)) throw new TypeError("args must be an array");
    if (wire === "kwargs" && !isPlainObject(value)) throw new TypeError("kwargs must be a plain object");
    body[wire] = value;
  }
  return body;
}

function expectOp(reply, op, what) {
  if (reply.op === "error") throw requestError(reply);
  if (reply.op !== op) {
    throw new ProtocolError(null,
      `unexpected reply to ${what}: op ${JSON.stringify(reply.op)}, wanted ${op}`, { reply });
  }
  return reply;
}

/**
 * The result record of a result map (as Python's Result): {id, state,
 * finished, value (done), error (failed: the TaskFailed, not thrown), worker,
 * attempts, queuedUs, runUs, runAfterMs, output, raw}; absent fields are undefined.
 */
function toRecord(map) {
  return {
    id: map.id,
    state: map.state,
    finished: FINAL.has(map.state),
    value: map.state === "done" ? map.result : undefined,
    error: map.state === "failed" ? taskFailed(map) : undefined,
    worker: map.worker,
    attempts: map.attempts,
    queuedUs: map.queued_us,
    runUs: map.run_us,
    runAfterMs: map.run_after_ms,
    output: map.output,
    raw: map,
  };
}

/** The value of a record, or throws the error it stands for. */
function valueOf(rec) {
  switch (rec.state) {
    case "done": return rec.value;
    case "failed": throw rec.error;
    case "unknown": throw new TaskUnknown(rec.id);
    case "pending": case "running": throw new TaskPending(rec.id, rec.state, rec.runAfterMs);
    default:
      throw new ProtocolError(null, `task ${JSON.stringify(rec.id)}: unexpected state ` +
        JSON.stringify(rec.state), { reply: rec.raw });
  }
}

function waitOf(opts) {
  const waitMs = (opts && opts.waitMs) ?? 0;
  if (typeof waitMs !== "number" || !(waitMs >= 0)) {
    throw new TypeError("waitMs must be a number >= 0 (Infinity: until it finishes)");
  }
  return waitMs;
}

module.exports = { SUBMIT_FIELDS, isPlainObject, taskBody, expectOp, toRecord, valueOf, waitOf };
