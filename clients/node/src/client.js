"use strict";
// The zfleet client: ZFP/1 (PROTOCOL.md) over two DEALER connections, the
// frontend (submit, submit_batch) and the results endpoint (get, get_many,
// cancel, status, clear_cache). Each is opened on first use, so a producer
// that only submits never connects to the results endpoint (with CURVE its
// key may be allowed on the frontend only).
//
// Same verbs and semantics as the Python client (clients/python): submit,
// submitBatch, get (waitMs, default 0), result, getMany, cancel, map,
// status, clearCache, close; camelCase names and options, promises.
const { Connection } = require("./connection");
const { curveOptions } = require("./keys");
const { mapResults } = require("./map");
const { BatchError, ClientClosed, ProtocolError, requestError } = require("./errors");
const { expectOp, isPlainObject, taskBody, toRecord, valueOf, waitOf } = require("./wire");

const DEFAULT_FRONTEND = "tcp://127.0.0.1:5555";
const DEFAULT_RESULTS = "tcp://127.0.0.1:5558";
const LONG_POLL_MS = 30000;      // longest single wait_ms this client asks for
const CLIENT_OPTIONS = new Set(["frontend", "results", "key", "serverKey", "curve",
                                "replyTimeoutMs", "maxInFlight"]);

class Client {
  /**
   * @param {object} [opts]
   * @param {string} [opts.frontend]        default tcp://127.0.0.1:5555
   * @param {string} [opts.results]         default tcp://127.0.0.1:5558
   * @param {string} [opts.key]             the client's .key file (CURVE), with serverKey
   * @param {string} [opts.serverKey]       the broker's .pub file (CURVE)
   * @param {object} [opts.curve]           {publicKey, secretKey, serverKey} Z85 strings instead
   * @param {number} [opts.replyTimeoutMs]  per request, on top of any wait asked for (10000)
   * @param {number} [opts.maxInFlight]     outstanding requests per connection (10000)
   */
  constructor(opts = {}) {
    for (const key of Object.keys(opts)) {
      if (!CLIENT_OPTIONS.has(key)) throw new TypeError(`unknown client option "${key}"`);
    }
    this.endpoints = {
      frontend: opts.frontend || DEFAULT_FRONTEND,
      results: opts.results || DEFAULT_RESULTS,
    };
    this.curve = curveOptions(opts);
    this.replyTimeoutMs = opts.replyTimeoutMs ?? 10000;
    this.maxInFlight = opts.maxInFlight ?? 10000;
    if (!(this.replyTimeoutMs > 0 && this.replyTimeoutMs <= LONG_POLL_MS * 10)) {
      throw new TypeError(`replyTimeoutMs must be > 0 and <= ${LONG_POLL_MS * 10}`);
    }
    if (!(this.maxInFlight >= 1)) throw new TypeError("maxInFlight must be >= 1");
    this.conns = {};
    this.closed = false;
  }

  // --- frontend --------------------------------------------------------------

  /**
   * Queues one task; resolves with its id. opts: args, kwargs, func, type,
   * id, timeoutMs (the task's run time limit), maxRetries, delayMs, retries,
   * retryOn, retryBackoffMs. Rejects with a RequestError subclass if refused.
   */
  async submit(script, opts) {
    const reply = await this.request("frontend", { op: "submit", ...taskBody(script, opts) });
    return expectOp(reply, "accepted", "submit").id;
  }

  /**
   * Queues many tasks in one request (at most broker.max_batch); tasks:
   * [{script, ...submit options}]. Resolves with the ids, in order. If some
   * tasks are refused it rejects with BatchError (ids, errors, outcomes; the
   * others are queued), or with opts.returnExceptions resolves with the
   * RequestError in their place. A refusal of the whole batch (too_large) is
   * thrown as its RequestError.
   */
  async submitBatch(tasks, opts = {}) {
    const list = Array.from(tasks, (t) => {
      if (!isPlainObject(t)) throw new TypeError("each task must be an object {script, ...options}");
      const { script, ...rest } = t;
      return taskBody(script, rest);
    });
    const reply = expectOp(await this.request("frontend", { op: "submit_batch", tasks: list }),
                           "accepted_batch", "submit_batch");
    const ids = Array.isArray(reply.ids) ? reply.ids : [];
    const errs = Array.isArray(reply.errors) ? reply.errors : [];
    if (ids.length !== list.length) {
      throw new ProtocolError(null, `accepted_batch has ${ids.length} ids for ${list.length} tasks`,
        { reply });
    }
    const errors = list.map((t, i) => (errs[i] ? requestError({ id: t.id, ...errs[i] }) : null));
    if (!errors.some((e) => e)) return ids;
    const clean = ids.map((id) => id ?? null);
    if (opts.returnExceptions) return clean.map((id, i) => errors[i] || id);
    throw new BatchError(clean, errors);
  }

  // --- results endpoint --------------------------------------------------------

  /**
   * The return value of a task. opts.waitMs (default 0, Infinity allowed):
   * how long the broker may hold the reply until the task finishes. Rejects
   * with the task's TaskFailed subclass if it failed, TaskPending if it has
   * not finished by then, TaskUnknown if the broker does not know the id.
   */
  async get(id, opts) {
    return valueOf(await this.result(id, opts));
  }

  /** The task's result record whatever its state (never rejects for it); opts.waitMs as get. */
  async result(id, opts) {
    const deadline = Date.now() + waitOf(opts);
    for (;;) {
      const chunk = Math.min(Math.max(0, deadline - Date.now()), LONG_POLL_MS);
      const reply = await this.request("results", { op: "get", id, wait_ms: Math.round(chunk) },
                                       chunk);
      const rec = toRecord(expectOp(reply, "result", "get"));
      if (rec.finished || rec.state !== "pending" && rec.state !== "running" ||
          Date.now() >= deadline) {
        return rec;
      }
    }
  }

  /**
   * Result records of many tasks, in the order asked; with opts.waitMs, the
   * reply comes when all are finished (or unknown) or waitMs has passed.
   */
  async getMany(ids, opts) {
    const list = Array.from(ids);
    const deadline = Date.now() + waitOf(opts);
    for (;;) {
      const chunk = Math.min(Math.max(0, deadline - Date.now()), LONG_POLL_MS);
      const reply = expectOp(await this.request("results",
        { op: "get_many", ids: list, wait_ms: Math.round(chunk) }, chunk), "results", "get_many");
      if (!Array.isArray(reply.results) || reply.results.length !== list.length) {
        throw new ProtocolError(null, "get_many answered with the wrong number of results",
          { reply });
      }
      const recs = reply.results.map(toRecord);
      if (recs.every((r) => r.finished || r.state === "unknown") || Date.now() >= deadline) {
        return recs;
      }
    }
  }

  /** Cancels a task: "cancelled" (it was pending), "cancelling" (running: it
   *  ends within a second), "too_late" (already finished) or "unknown". */
  async cancel(id) {
    return expectOp(await this.request("results", { op: "cancel", id }), "cancel", "cancel").outcome;
  }

  /** The broker's status map (PROTOCOL.md, status), as the broker sends it. */
  async status() {
    return expectOp(await this.request("results", { op: "status" }), "status", "status");
  }

  /** Makes every live worker reload `script` (or every script) at its next task. */
  async clearCache(script) {
    const body = { op: "clear_cache" };
    if (script !== undefined) body.script = script;
    expectOp(await this.request("results", body), "ok", "clear_cache");
  }

  /**
   * Runs func(...args) of `script` once per element of argsIterable (an
   * iterable or async iterable of args arrays) and yields the return values
   * as they finish (async iterator). See src/map.js for the options.
   */
  map(script, argsIterable, opts) {
    return mapResults(this, script, argsIterable, opts || {});
  }

  /** Closes both connections; requests still outstanding reject with ClientClosed. Idempotent. */
  close() {
    this.closed = true;
    for (const conn of Object.values(this.conns)) conn.close();
    this.conns = {};
  }

  // --- internals ---------------------------------------------------------------

  request(endpointName, body, extraMs = 0) {
    if (this.closed) return Promise.reject(new ClientClosed(null, "the client is closed"));
    let conn = this.conns[endpointName];
    if (!conn) {
      conn = new Connection(this.endpoints[endpointName], {
        name: endpointName, curve: this.curve, replyTimeoutMs: this.replyTimeoutMs,
        maxInFlight: this.maxInFlight,
      });
      this.conns[endpointName] = conn;
    }
    return conn.request(body, extraMs);
  }
}

module.exports = { Client, DEFAULT_FRONTEND, DEFAULT_RESULTS };
