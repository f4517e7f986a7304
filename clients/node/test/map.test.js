"use strict";
// Client.map against a real fleet without CURVE:
//   ZFLEET_FRONTEND=URL ZFLEET_RESULTS=URL node test/map.test.js
// (see common.js). Exits non-zero if any test fails.
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { after, before, describe, it } = require("node:test");
const { Client, BadRequest, TaskCancelled, TaskException, TaskPending } = require("..");
const { fleetConfig, rejectsWith, uniqueId } = require("./common");

const SCRIPT = "node_tasks.py";
const config = fleetConfig();
const squares = (n) => Array.from({ length: n }, (_, i) => i * i);
let client;
let tmp;

before(() => {
  client = new Client({ frontend: config.frontend, results: config.results, replyTimeoutMs: 15000 });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "zfleet-node-map-"));
});
after(() => {
  client.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function collect(iterable) {
  const out = [];
  for await (const v of iterable) out.push(v);
  return out;
}

describe("map", () => {
  it("yields all 200 results as they finish", async () => {
    function* inputs() { for (let i = 0; i < 200; i++) yield [i]; }
    const seen = await collect(client.map(SCRIPT, inputs(), { func: "square", window: 64, batchSize: 25 }));
    assert.equal(seen.length, 200);
    assert.deepEqual(seen.sort((a, b) => a - b), squares(200));
  });

  it("ordered: yields 200 results in input order", async () => {
    const inputs = Array.from({ length: 200 }, (_, i) => [i]);
    assert.deepEqual(await collect(client.map(SCRIPT, inputs, { func: "square", ordered: true,
                                                                 window: 60, batchSize: 25 })),
                     squares(200));
    assert.deepEqual(await collect(client.map(SCRIPT, [])), []);
  });

  it("yields in completion order: a held task comes after the others", async () => {
    const gate = path.join(tmp, uniqueId("gate"));
    const items = [[gate, "slow"], ...Array.from({ length: 20 }, (_, i) => ["", i])];
    const it = client.map(SCRIPT, items, { func: "gate", batchSize: 8, pollMs: 100 })[Symbol.asyncIterator]();
    try {
      const first = await it.next();
      assert.notEqual(first.value, "slow", "the first task is still held by its gate");
      fs.writeFileSync(gate, "");
      const rest = [];
      for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value);
      const all = [first.value, ...rest];
      assert.equal(all.length, 21);
      assert.deepEqual(all.filter((v) => v !== "slow").sort((a, b) => a - b),
                       Array.from({ length: 20 }, (_, i) => i));
    } finally {
      fs.writeFileSync(gate, "");     // frees the worker thread whatever happened
    }
  });

  it("withIndex ties each result to its input; shared kwargs; an async iterable", async () => {
    async function* inputs() { for (const a of [[3, 4], [10, 20], [-1, 1], [0, 0]]) yield a; }
    const got = new Map();
    for await (const { index, value } of client.map(SCRIPT, inputs(), { withIndex: true,
                                                                        kwargs: { scale: 2 } })) {
      assert.ok(!got.has(index), `index ${index} yielded twice`);
      got.set(index, value.sum);
    }
    assert.deepEqual([0, 1, 2, 3].map((i) => got.get(i)), [14, 60, 0, 0]);
  });

  it("a failing task throws its TaskException with the input index, or is yielded", async () => {
    const items = [[1], [2], ["x"], [4]];   // "x" * "x" raises TypeError in Python
    const outcomes = await collect(client.map(SCRIPT, items, { func: "square", ordered: true,
                                                               returnExceptions: true }));
    assert.deepEqual([0, 1, 3].map((i) => outcomes[i]), [1, 4, 16]);
    assert.ok(outcomes[2] instanceof TaskException);
    assert.equal(outcomes[2].type, "TypeError");
    assert.equal(outcomes[2].index, 2);
    const err = await rejectsWith(collect(client.map(SCRIPT, items, { func: "square", ordered: true })),
                                  TaskException, "exception");
    assert.equal(err.index, 2);
  });

  it("refused tasks are their RequestError at their turn", async () => {
    const refused = await collect(client.map(SCRIPT, [[1], [2]], { func: "square", type: "no-such-pool",
                                                                   returnExceptions: true }));
    assert.equal(refused.length, 2);
    for (const r of refused) assert.ok(r instanceof BadRequest, String(r));
    await rejectsWith(collect(client.map(SCRIPT, [[1]], { type: "no-such-pool" })), BadRequest,
                      "bad_request");
  });

  it("stopping early leaves the tasks running; cancelOnExit cancels them", async () => {
    for (const cancelOnExit of [false, true]) {
      const prefix = uniqueId("node-map-break") + "-";
      const items = [[0], [60000], [60000]];   // builtin:sleep ms: one at once, two for a minute
      let first;
      for await (const v of client.map("builtin:sleep", items, { withIndex: true, idPrefix: prefix,
                                                                 cancelOnExit })) {
        first = v;
        break;
      }
      assert.deepEqual(first, { index: 0, value: null });
      for (const i of [1, 2]) {
        if (cancelOnExit) {
          const err = await rejectsWith(client.get(prefix + i, { waitMs: 5000 }), TaskCancelled, "cancelled");
          assert.equal(err.taskId, prefix + i);
        } else {
          await rejectsWith(client.get(prefix + i), TaskPending, null);
          assert.match(await client.cancel(prefix + i), /^(cancelled|cancelling)$/);
        }
      }
      assert.equal(await client.cancel(prefix + 0), "too_late");
    }
  });

  it("refuses bad input: a non-array element, a shared id or args, a bad window", async () => {
    await assert.rejects(collect(client.map("builtin:echo", [5])), TypeError);
    await assert.rejects(collect(client.map("builtin:echo", [[1]], { id: "fixed" })), TypeError);
    await assert.rejects(collect(client.map("builtin:echo", [[1]], { args: [1] })), TypeError);
    await assert.rejects(collect(client.map("builtin:echo", [[1]], { window: 0 })), RangeError);
    await assert.rejects(collect(client.map("builtin:echo", 5)), TypeError);
  });
});
