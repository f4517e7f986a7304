"use strict";
// The Node client against a real fleet without CURVE: submit, get, result,
// getMany, submitBatch, cancel, the typed errors, timeouts, admin calls.
//   ZFLEET_FRONTEND=URL ZFLEET_RESULTS=URL node test/client.test.js
// (see common.js; tests/integration/test_client_node.py runs it with a fleet
// whose broker has max_batch 1000). Exits non-zero if any test fails.
const assert = require("node:assert/strict");
const { after, before, describe, it } = require("node:test");
const zmq = require("zeromq");
const zfleet = require("..");
const { fleetConfig, freePortEndpoint, rejectsWith, uniqueId } = require("./common");

const {
  Client, ZfleetError, RequestError, BadRequest, TooLarge, DuplicateId, BatchError, TaskFailed,
  TaskException, ScriptNotFound, FuncNotFound, TaskTimeout, TaskCancelled, TaskUnknown, TaskPending,
  Timeout, ClientClosed, HandshakeFailed,
} = zfleet;

const SCRIPT = "node_tasks.py";
const W = { waitMs: 20000 };    // long-poll bound for one result: far above normal, never reached
const config = fleetConfig();
let client;

before(() => {
  client = new Client({ frontend: config.frontend, results: config.results, replyTimeoutMs: 15000 });
});
after(() => client.close());

describe("submit and get", () => {
  it("runs a Python task with args and kwargs", async () => {
    const id = await client.submit(SCRIPT, { args: [2, 3], kwargs: { scale: 10 } });
    assert.equal(typeof id, "string");
    assert.ok(id.length > 0);
    assert.deepEqual(await client.get(id, W), { sum: 50 });
    const rec = await client.result(id);
    assert.equal(rec.id, id);
    assert.equal(rec.state, "done");
    assert.equal(rec.finished, true);
    assert.deepEqual(rec.value, { sum: 50 });
    assert.equal(rec.attempts, 1);
    assert.match(rec.worker, /^io/);
    assert.ok(Number.isInteger(rec.queuedUs) && rec.queuedUs >= 0);
    assert.ok(Number.isInteger(rec.runUs) && rec.runUs >= 0);
    assert.equal(rec.error, undefined);
    assert.equal(rec.raw.op, "result");
  });

  it("keeps a client-chosen id and runs another func", async () => {
    const wanted = uniqueId("node-own");
    const id = await client.submit(SCRIPT, { id: wanted, func: "square", args: [12] });
    assert.equal(id, wanted);
    assert.equal(await client.get(id, W), 144);
  });

  it("runs on the cpu pool too (type option)", async () => {
    const id = await client.submit(SCRIPT, { args: [1, 1], type: "cpu" });
    assert.deepEqual(await client.get(id, W), { sum: 2 });
  });

  it("returns the task's output when asked", async () => {
    const rec = await client.result(await client.submit(SCRIPT, { func: "chatty", args: [7], output: true }), W);
    assert.equal(rec.value, 7);
    assert.match(rec.output, /chatty 7/);
    const quiet = await client.result(await client.submit(SCRIPT, { func: "chatty", args: [8] }), W);
    assert.equal(quiet.output, undefined);
  });

  it("maps JavaScript values to Python types and back", async () => {
    const bytes = Buffer.from([0, 1, 254, 255]);
    const args = [1, 2 ** 40, 2n ** 64n - 1n, -(2n ** 63n), 1.5, "ü✓", bytes, [1, [2]],
                  { k: null }, true, null];
    const id = await client.submit(SCRIPT, { func: "describe", args, kwargs: { raw: new Uint8Array([7]) } });
    const out = await client.get(id, W);
    assert.deepEqual(out.types,
      ["int", "int", "int", "int", "float", "str", "bytes", "list", "dict", "bool", "NoneType"]);
    assert.equal(out.args[0], 1);
    assert.equal(out.args[1], 2 ** 40);
    assert.equal(out.args[2], 18446744073709551615n);
    assert.equal(out.args[3], -9223372036854775808n);
    assert.equal(out.args[4], 1.5);
    assert.equal(out.args[5], "ü✓");
    assert.ok(out.args[6] instanceof Uint8Array);
    assert.deepEqual([...out.args[6]], [0, 1, 254, 255]);
    assert.deepEqual(out.args.slice(7), [[1, [2]], { k: null }, true, null]);
    assert.deepEqual([...out.kwargs.raw], [7]);
  });

  it("round-trips bin, str, nested values and 64-bit integers through builtin:echo", async () => {
    const value = {
      big: 2n ** 64n - 1n, neg: -(2n ** 63n), safe: Number.MAX_SAFE_INTEGER, unsafe: 2n ** 53n + 1n,
      small: -7, bin: Buffer.from("zfleet"), str: "naïve ✓ 日本", empty: "", list: [0.25, "x"],
      nested: { a: [{ b: [1, { c: Buffer.from([0, 9]) }] }, [], {}], deep: [[[["down"]]]] },
    };
    const out = await client.get(await client.submit("builtin:echo", { args: [value] }), W);
    assert.equal(out.big, 18446744073709551615n);
    assert.equal(out.neg, -9223372036854775808n);
    assert.equal(out.safe, 9007199254740991);
    assert.equal(typeof out.safe, "number");
    assert.equal(out.unsafe, 9007199254740993n);
    assert.equal(out.small, -7);
    assert.ok(out.bin instanceof Uint8Array);
    assert.equal(Buffer.from(out.bin).toString(), "zfleet");
    assert.equal(out.str, "naïve ✓ 日本");
    assert.equal(out.empty, "");
    assert.deepEqual(out.list, [0.25, "x"]);
    assert.deepEqual([...out.nested.a[0].b[1].c], [0, 9]);
    out.nested.a[0].b[1].c = "bin";
    assert.deepEqual(out.nested, { a: [{ b: [1, { c: "bin" }] }, [], {}], deep: [[[["down"]]]] });
    // A bare bin or str as the whole value, too.
    assert.deepEqual([...await client.get(await client.submit("builtin:echo",
      { args: [new Uint8Array([1, 2, 3])] }), W)], [1, 2, 3]);
    assert.equal(await client.get(await client.submit("builtin:echo", { args: ["just a str"] }), W),
                 "just a str");
  });

  it("pipelines many submits and gets on one connection", async () => {
    const ids = await Promise.all(Array.from({ length: 300 }, (_, i) =>
      client.submit("builtin:echo", { args: [i] })));
    assert.equal(new Set(ids).size, 300);
    const values = await Promise.all(ids.map((id) => client.get(id, W)));
    assert.deepEqual(values, Array.from({ length: 300 }, (_, i) => i));
  });

  it("getMany answers in the order asked, unknown ids included", async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await client.submit(SCRIPT, { func: "square", args: [i] }));
    const missing = uniqueId("node-missing");
    const recs = await client.getMany([...ids, missing], W);
    assert.deepEqual(recs.map((r) => r.id), [...ids, missing]);
    assert.deepEqual(recs.map((r) => r.state), ["done", "done", "done", "done", "done", "unknown"]);
    assert.deepEqual(recs.slice(0, 5).map((r) => r.value), [0, 1, 4, 9, 16]);
  });
});

describe("submitBatch", () => {
  it("queues the good tasks and throws BatchError naming the bad one", async () => {
    const tasks = [
      { script: SCRIPT, args: [1, 2] },
      { script: "../outside.py", args: [] },          // bad shape: a `..` component
      { script: "builtin:echo", args: ["third"] },
      { script: SCRIPT, func: "square", args: [9] },
    ];
    const err = await rejectsWith(client.submitBatch(tasks), BatchError, null);
    assert.ok(err instanceof ZfleetError);
    assert.equal(err.ids.length, 4);
    assert.equal(err.ids[1], null);
    assert.deepEqual(err.errors.map((e) => e === null), [true, false, true, true]);
    assert.ok(err.errors[1] instanceof BadRequest && err.errors[1] instanceof RequestError);
    assert.equal(err.errors[1].code, "bad_request");
    assert.ok(err.errors[1].message.length > 0);
    assert.equal(err.outcomes[1], err.errors[1]);
    assert.equal(err.outcomes[3], err.ids[3]);
    assert.deepEqual(await client.get(err.ids[0], W), { sum: 3 });
    assert.equal(await client.get(err.ids[2], W), "third");
    assert.equal(await client.get(err.ids[3], W), 81);
  });

  it("returnExceptions puts the errors in place of the ids", async () => {
    const outcomes = await client.submitBatch([
      { script: "builtin:echo", args: ["a"] },
      { script: "builtin:echo", args: ["b"], type: "no-such-pool" },
      { script: "/etc/passwd" },
    ], { returnExceptions: true });
    assert.equal(outcomes.length, 3);
    assert.ok(outcomes[1] instanceof BadRequest);
    assert.ok(outcomes[2] instanceof BadRequest);
    assert.equal(await client.get(outcomes[0], W), "a");
  });

  it("resolves with the ids when all are queued; [] for []", async () => {
    const ids = await client.submitBatch(Array.from({ length: 5 }, (_, i) =>
      ({ script: SCRIPT, func: "square", args: [i] })));
    assert.deepEqual(await Promise.all(ids.map((id) => client.get(id, W))), [0, 1, 4, 9, 16]);
    assert.deepEqual(await client.submitBatch([]), []);
  });

  it("refuses a batch over broker.max_batch as a whole with TooLarge", async () => {
    const tasks = Array.from({ length: 1001 }, (_, i) => ({ script: "builtin:echo", args: [i] }));
    await rejectsWith(client.submitBatch(tasks), TooLarge, "too_large");
  });
});

describe("typed errors", () => {
  it("an exception in the task is TaskException with its Python details", async () => {
    const id = await client.submit(SCRIPT, { func: "boom", args: ["kaput 42"] });
    const err = await rejectsWith(client.get(id, W), TaskException, "exception");
    assert.ok(err instanceof TaskFailed && err instanceof ZfleetError && err instanceof Error);
    assert.equal(err.taskId, id);
    assert.equal(err.type, "ValueError");
    assert.equal(err.message, "kaput 42");
    assert.equal(typeof err.traceback, "string");
    assert.match(err.traceback, /raise ValueError\(message\)/);
    assert.match(err.traceback, /in boom/);
    assert.equal(err.attempts, 1);
    assert.match(err.worker, /^io/);
    const rec = await client.result(id);
    assert.equal(rec.state, "failed");
    assert.ok(rec.error instanceof TaskException);
  });

  it("a missing script is ScriptNotFound; a missing func FuncNotFound", async () => {
    const id = await client.submit("no_such_script_for_node.py", { args: [1] });
    const err = await rejectsWith(client.get(id, W), ScriptNotFound, "script_not_found");
    assert.equal(err.taskId, id);
    assert.equal(err.type, undefined);
    const id2 = await client.submit(SCRIPT, { func: "no_such_func", args: [1] });
    await rejectsWith(client.get(id2, W), FuncNotFound, "func_not_found");
  });

  it("a task past its timeoutMs is TaskTimeout", async () => {
    const id = await client.submit("builtin:sleep", { args: [5000], timeoutMs: 200 });
    await rejectsWith(client.get(id, W), TaskTimeout, "timeout");
  });

  it("an unknown id is TaskUnknown, at once and with a wait", async () => {
    const missing = uniqueId("node-never");
    const err = await rejectsWith(client.get(missing), TaskUnknown, null);
    assert.equal(err.taskId, missing);
    await rejectsWith(client.get(missing, { waitMs: 5000 }), TaskUnknown, null);
    const rec = await client.result(missing);
    assert.equal(rec.state, "unknown");
    assert.equal(rec.finished, false);
  });

  it("a reused id is DuplicateId; the first task stands", async () => {
    const id = uniqueId("node-dup");
    assert.equal(await client.submit("builtin:echo", { id, args: [1] }), id);
    const err = await rejectsWith(client.submit("builtin:echo", { id, args: [2] }), DuplicateId,
                                  "duplicate_id");
    assert.ok(err instanceof RequestError && err instanceof ZfleetError);
    assert.equal(err.taskId, id);
    assert.equal(await client.get(id, W), 1);
  });

  it("a bad submit is BadRequest: unknown pool, absolute or escaping script", async () => {
    const err = await rejectsWith(client.submit("builtin:echo", { type: "no-such-pool", args: [1] }),
                                  BadRequest, "bad_request");
    assert.match(err.message, /io/);
    await rejectsWith(client.submit("/etc/passwd"), BadRequest, "bad_request");
    await rejectsWith(client.submit("../up.py"), BadRequest, "bad_request");
    await rejectsWith(client.submit("not_python.sh"), BadRequest, "bad_request");
  });

  it("bad options are TypeErrors before anything is sent", async () => {
    await assert.rejects(client.submit(SCRIPT, { arg: [1] }), TypeError);
    await assert.rejects(client.submit(SCRIPT, { args: 1 }), TypeError);
    await assert.rejects(client.submit("", {}), TypeError);
    await assert.rejects(client.get("x", { waitMs: -1 }), TypeError);
    await assert.rejects(client.submit("builtin:echo", { args: [2n ** 64n] }), RangeError);
  });
});

describe("cancel and waiting", () => {
  it("cancels a delayed task", async () => {
    const id = await client.submit("builtin:echo", { args: ["never"], delayMs: 60000 });
    const pending = await rejectsWith(client.get(id), TaskPending, null);
    assert.equal(pending.state, "pending");
    assert.equal(pending.taskId, id);
    assert.ok(pending.runAfterMs > 0, `runAfterMs ${pending.runAfterMs}`);
    assert.equal((await client.result(id)).state, "pending");
    assert.equal(await client.cancel(id), "cancelled");
    const err = await rejectsWith(client.get(id), TaskCancelled, "cancelled");
    assert.ok(err instanceof TaskFailed);
    assert.equal(await client.cancel(id), "too_late");
    assert.equal(await client.cancel(uniqueId("node-nothing")), "unknown");
  });

  it("get with waitMs holds until the task finishes, or gives TaskPending after waitMs", async () => {
    const id = await client.submit(SCRIPT, { func: "nap", args: [300, "woke"] });
    assert.equal(await client.get(id, { waitMs: 30000 }), "woke");
    const later = await client.submit("builtin:echo", { args: [1], delayMs: 60000 });
    const t0 = Date.now();
    const err = await rejectsWith(client.get(later, { waitMs: 400 }), TaskPending, null);
    assert.ok(Date.now() - t0 >= 350, `answered after ${Date.now() - t0} ms, asked to wait 400`);
    assert.equal(err.state, "pending");
    assert.equal(await client.cancel(later), "cancelled");
  });

  it("cancels a running task", async () => {
    const id = await client.submit(SCRIPT, { func: "nap", args: [20000, "late"] });
    let rec = await client.result(id);
    for (let i = 0; i < 400 && rec.state === "pending"; i++) rec = await client.result(id, { waitMs: 50 });
    assert.equal(rec.state, "running");
    assert.equal(await client.cancel(id), "cancelling");
    await rejectsWith(client.get(id, W), TaskCancelled, "cancelled");
  });

  it("close() fails outstanding requests with ClientClosed", async () => {
    const other = new Client({ frontend: config.frontend, results: config.results });
    const id = await other.submit("builtin:echo", { args: [1], delayMs: 60000 });
    const pending = other.get(id, { waitMs: Infinity });   // a task that will not run for a minute
    await new Promise((r) => setTimeout(r, 50));
    other.close();
    await rejectsWith(pending, ClientClosed, null);
    await rejectsWith(other.status(), ClientClosed, null);
    assert.equal(await client.cancel(id), "cancelled");
  });

  it("no reply in time is Timeout naming the endpoint", async () => {
    const silent = new zmq.Router({ linger: 0 });     // takes requests, never answers
    await silent.bind("tcp://127.0.0.1:*");
    const endpoint = silent.lastEndpoint;
    const nobody = await freePortEndpoint();          // nothing listens there
    const c = new Client({ frontend: endpoint, results: nobody, replyTimeoutMs: 300 });
    try {
      const err = await rejectsWith(c.submit("builtin:echo", { args: [1] }), Timeout, null);
      assert.ok(err.message.includes(endpoint), err.message);
      assert.equal(err.endpoint, endpoint);
      assert.equal(err.op, "submit");
      for (const call of [() => c.status(), () => c.get("x", { waitMs: 200 }), () => c.cancel("x")]) {
        const e = await rejectsWith(call(), Timeout, null);
        assert.ok(e.message.includes(nobody), e.message);
      }
    } finally {
      c.close();
      silent.close();
    }
  });

  it("a request that timed out while nothing listened is not delivered later", async () => {
    const endpoint = await freePortEndpoint();
    const c = new Client({ frontend: endpoint, results: endpoint, replyTimeoutMs: 300 });
    const broker = new zmq.Router({ linger: 0 });      // a stand-in broker, started late
    try {
      const err = await rejectsWith(c.submit("builtin:echo", { args: ["stale"] }), Timeout, null);
      assert.match(err.message, /connection refused|is the broker up/);
      await broker.bind(endpoint);
      const fresh = c.submit("builtin:echo", { args: ["fresh"] });
      const [routingId, body] = await broker.receive();
      const req = zfleet.codec.decode(body);
      assert.deepEqual(req.args, ["fresh"], "the timed-out submit must not arrive first");
      await broker.send([routingId, zfleet.codec.encode({ op: "accepted", id: "t-fresh", corr: req.corr })]);
      assert.equal(await fresh, "t-fresh");
    } finally {
      c.close();
      broker.close();
    }
  });

  it("CURVE keys against a broker without CURVE: HandshakeFailed (a Timeout), not a silent wait", async () => {
    const mine = zmq.curveKeyPair();
    const c = new Client({ frontend: config.frontend, results: config.results, replyTimeoutMs: 20000,
                           curve: { ...mine, serverKey: zmq.curveKeyPair().publicKey } });
    try {
      const err = await rejectsWith(c.status(), HandshakeFailed, null);
      assert.ok(err instanceof Timeout);
      assert.equal(err.endpoint, config.results);
      assert.match(err.message, /CURVE/);
    } finally {
      c.close();
    }
  });
});

describe("admin", () => {
  it("status lists the pools and live workers", async () => {
    const s = await client.status();
    assert.equal(s.op, "status");
    assert.equal(typeof s.version, "string");
    assert.ok(s.uptime_ms >= 0);
    assert.ok("io" in s.queues && "cpu" in s.queues, JSON.stringify(s.queues));
    assert.ok(s.workers.filter((w) => w.alive && w.type === "io").length >= 1);
    assert.ok(s.tasks.submitted >= 1);
    assert.equal(s.corr, undefined);
  });

  it("clearCache drops one script or all, and tasks still run", async () => {
    assert.equal(await client.clearCache(SCRIPT), undefined);
    assert.equal(await client.clearCache(), undefined);
    assert.equal(await client.get(await client.submit(SCRIPT, { func: "square", args: [5] }), W), 25);
  });
});
