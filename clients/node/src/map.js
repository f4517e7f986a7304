"use strict";
// Client.map: many calls of one task function, results as they finish. The
// same semantics as the Python client's map (clients/python/zfleet_client.py):
// tasks go out in submit_batch requests and are watched with get_many
// long-polls; at most `window` tasks are submitted and not yet yielded.
const { ZfleetError } = require("./errors");
const { taskBody, valueOf } = require("./wire");

// map's own options, with their defaults; every other option is a submit
// option shared by all the tasks (not args or id).
const DEFAULTS = {
  ordered: false,          // yield in input order instead of completion order
  batchSize: 500,          // tasks per submit_batch and ids per get_many (<= broker.max_batch)
  window: 2000,            // tasks submitted and not yet yielded
  pollMs: 200,             // the wait of each get_many long-poll
  returnExceptions: false, // yield a failed or refused task's error instead of throwing it
  withIndex: false,        // yield {index, value}: index is the position in argsIterable
  idPrefix: undefined,     // task i gets the id idPrefix + i (default: the broker's ids)
  cancelOnExit: false,     // cancel the tasks still running if the loop ends early
};

function splitOptions(opts) {
  const mopts = { ...DEFAULTS };
  const shared = {};
  for (const [key, value] of Object.entries(opts)) {
    if (Object.hasOwn(DEFAULTS, key)) {
      if (value !== undefined) mopts[key] = value;
    } else {
      shared[key] = value;
    }
  }
  if ("id" in shared || "args" in shared) {
    throw new TypeError("map: `id` and `args` cannot be shared options (args come from argsIterable)");
  }
  for (const key of ["batchSize", "window", "pollMs"]) {
    if (!Number.isInteger(mopts[key]) || mopts[key] < 1) {
      throw new RangeError(`map: ${key} must be an integer >= 1`);
    }
  }
  return { mopts, shared };
}

function iteratorOf(iterable) {
  if (iterable && typeof iterable[Symbol.asyncIterator] === "function") {
    return iterable[Symbol.asyncIterator]();
  }
  if (iterable && typeof iterable[Symbol.iterator] === "function") return iterable[Symbol.iterator]();
  throw new TypeError("map: argsIterable must be an iterable or async iterable of args arrays");
}

/**
 * The async generator behind Client.map. A failed task (TaskFailed) or a
 * refused one (RequestError) is thrown when its turn comes, with `index`
 * set, or yielded with returnExceptions. Tasks already submitted keep
 * running if the caller stops early or an error is thrown, unless
 * cancelOnExit.
 */
async function* mapResults(client, script, argsIterable, opts) {
  const { mopts, shared } = splitOptions(opts);
  taskBody(script, shared);             // checks the shared options before anything is sent
  const source = iteratorOf(argsIterable);
  const running = new Map();            // task id -> input index, until it finishes
  const finished = new Map();           // input index -> {rec} or {error}, until yielded
  let submitted = 0;
  let yielded = 0;
  let exhausted = false;
  let completed = false;
  try {
    for (;;) {
      // Top up to `window` tasks submitted and not yet yielded.
      while (!exhausted && submitted - yielded < mopts.window) {
        const room = Math.min(mopts.batchSize, mopts.window - (submitted - yielded));
        const chunk = [];
        while (chunk.length < room) {
          const item = await source.next();
          if (item.done) { exhausted = true; break; }
          const index = submitted + chunk.length;
          if (!Array.isArray(item.value)) throw new TypeError(`map: element ${index} is not an args array`);
          const task = { ...shared, script, args: item.value };
          if (mopts.idPrefix !== undefined) task.id = `${mopts.idPrefix}${index}`;
          chunk.push(task);
        }
        if (!chunk.length) break;
        const outcomes = await client.submitBatch(chunk, { returnExceptions: true });
        outcomes.forEach((outcome, k) => {
          if (outcome instanceof ZfleetError) finished.set(submitted + k, { error: outcome });
          else running.set(outcome, submitted + k);
        });
        submitted += chunk.length;
      }
      let ready;
      if (mopts.ordered) {
        ready = [];
        while (finished.has(yielded + ready.length)) {
          const index = yielded + ready.length;
          ready.push([index, finished.get(index)]);
          finished.delete(index);
        }
      } else {
        ready = [...finished];
        finished.clear();
      }
      for (const [index, outcome] of ready) {
        yielded++;
        let value;
        let error = outcome.error;
        if (!error) {
          try { value = valueOf(outcome.rec); } catch (err) { error = err; }
        }
        if (error) {
          error.index = index;
          if (!mopts.returnExceptions) throw error;
          value = error;
        }
        yield mopts.withIndex ? { index, value } : value;
      }
      if (ready.length) continue;
      // Nothing ready and nothing running: everything was yielded.
      if (!running.size) { completed = true; return; }
      // get_many takes at most broker.max_batch ids, like submit_batch: ask
      // in pipelined requests of batchSize ids each.
      const ids = [...running.keys()];
      const parts = [];
      for (let i = 0; i < ids.length; i += mopts.batchSize) {
        parts.push(client.getMany(ids.slice(i, i + mopts.batchSize), { waitMs: mopts.pollMs }));
      }
      const recs = (await Promise.all(parts)).flat();
      recs.forEach((rec, k) => {
        if (rec.finished || rec.state === "unknown") {
          finished.set(running.get(ids[k]), { rec });
          running.delete(ids[k]);
        }
      });
    }
  } finally {
    if (!completed && mopts.cancelOnExit && running.size && !client.closed) {
      await Promise.allSettled([...running.keys()].map((id) => client.cancel(id)));
    }
    if (!exhausted && typeof source.return === "function") {
      try { await source.return(); } catch { /* the source's own trouble */ }
    }
  }
}

module.exports = { mapResults, MAP_DEFAULTS: DEFAULTS };
