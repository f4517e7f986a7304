"use strict";
// Parts of the Node client that need no fleet: the msgpack codec, the error
// classes of every code, key files. Run: node test/unit.test.js
const assert = require("node:assert/strict");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { describe, it } = require("node:test");
const zfleet = require("..");

const { codec } = zfleet;
const roundTrip = (v) => codec.decode(Buffer.from(codec.encode(v)));

describe("codec", () => {
  it("keeps integers exact: numbers where safe, bigints beyond", () => {
    const cases = [
      [0, 0], [-1, -1], [127, 127], [2 ** 31, 2 ** 31], [2 ** 32, 2 ** 32], [-(2 ** 40), -(2 ** 40)],
      [Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER], [-Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER],
      [2n ** 53n + 1n, 2n ** 53n + 1n], [2n ** 64n - 1n, 2n ** 64n - 1n], [-(2n ** 63n), -(2n ** 63n)],
      [5n, 5], [-(2n ** 40n), -(2 ** 40)],     // bigints that fit come back as numbers
    ];
    for (const [input, expected] of cases) {
      const out = roundTrip(input);
      assert.equal(typeof out, typeof expected, `${input}`);
      assert.equal(out, expected, `${input}`);
    }
  });

  it("encodes integral numbers as msgpack integers and bigints as 64-bit integers", () => {
    assert.deepEqual([...codec.encode(2 ** 32)], [0xcf, 0, 0, 0, 1, 0, 0, 0, 0]);
    assert.deepEqual([...codec.encode(-1)], [0xff]);
    assert.deepEqual([...codec.encode(1.5)], [0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]);
    // A number past 2^32 beside a bigint stays an integer too (not a float).
    assert.deepEqual([...codec.encode([2 ** 32, 1n])],
      [0x92, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert.throws(() => codec.encode(2n ** 64n), RangeError);
    assert.throws(() => codec.encode(-(2n ** 63n) - 1n), RangeError);
  });

  it("round-trips bin, strings, floats, nesting; drops undefined map values", () => {
    const value = { bin: new Uint8Array([0, 255]), s: "héllo ✓", f: -2.25, nested: [[1n << 60n], { a: null }],
                    gone: undefined };
    const out = roundTrip(value);
    assert.ok(out.bin instanceof Uint8Array);
    assert.deepEqual([...out.bin], [0, 255]);
    assert.equal(out.s, "héllo ✓");
    assert.equal(out.f, -2.25);
    assert.deepEqual(out.nested, [[1n << 60n], { a: null }]);
    assert.ok(!("gone" in out));
  });

  it("reads and writes the bytes Python's msgpack makes (bin vs str, uint64, float64)", () => {
    // /usr/bin/python3: msgpack.packb({"b": b"\x00", "s": "x", "n": [None, True, -1, 2**64-1, 1.5]},
    //                                 use_bin_type=True).hex()
    const hex = "83a162c40100a173a178a16e95c0c3ffcfffffffffffffffffcb3ff8000000000000";
    const value = codec.decode(Buffer.from(hex, "hex"));
    assert.ok(value.b instanceof Uint8Array);
    assert.deepEqual([...value.b], [0]);
    assert.equal(value.s, "x");
    assert.deepEqual(value.n, [null, true, -1, 2n ** 64n - 1n, 1.5]);
    assert.equal(Buffer.from(codec.encode(value)).toString("hex"), hex);
  });
});

describe("errors", () => {
  it("maps every request-level code to its class", () => {
    const want = { bad_request: "BadRequest", too_large: "TooLarge", duplicate_id: "DuplicateId",
                   queue_full: "QueueFull", shutting_down: "ShuttingDown" };
    assert.deepEqual(Object.keys(zfleet.requestErrors).sort(), Object.keys(want).sort());
    for (const [code, name] of Object.entries(want)) {
      const Cls = zfleet.requestErrors[code];
      assert.equal(Cls, zfleet[name]);
      const err = new Cls(code, "m");
      assert.ok(err instanceof zfleet.RequestError && err instanceof zfleet.ZfleetError);
      assert.equal(err.name, name);
      assert.equal(err.code, code);
    }
  });

  it("maps every task error code to a TaskFailed subclass", () => {
    const want = { script_not_found: "ScriptNotFound", script_not_allowed: "ScriptNotAllowed",
                   script_error: "ScriptError", func_not_found: "FuncNotFound", exception: "TaskException",
                   unserializable_result: "UnserializableResult", timeout: "TaskTimeout",
                   cancelled: "TaskCancelled", worker_lost: "WorkerLost" };
    assert.deepEqual(Object.keys(zfleet.taskErrors).sort(), Object.keys(want).sort());
    for (const [code, name] of Object.entries(want)) {
      const Cls = zfleet.taskErrors[code];
      assert.equal(Cls, zfleet[name]);
      assert.ok(new Cls(code, "m") instanceof zfleet.TaskFailed);
      assert.ok(new Cls(code, "m") instanceof zfleet.ZfleetError);
    }
  });
});

describe("unknown codes and error fields", () => {
  it("an unknown request code is a RequestError carrying it", () => {
    const e = zfleet.requestError({ code: "brand_new_code", message: "from a newer broker", id: "t9" });
    assert.equal(e.constructor, zfleet.RequestError);
    assert.deepEqual([e.code, e.message, e.taskId], ["brand_new_code", "from a newer broker", "t9"]);
    const d = zfleet.requestError({ code: "duplicate_id", message: "m" });
    assert.ok(d instanceof zfleet.DuplicateId);
    assert.equal(zfleet.requestError({ code: "toString", message: "m" }).constructor, zfleet.RequestError);
    assert.equal(zfleet.requestError({}).code, null);
  });

  it("a failed result map becomes its TaskFailed with the task's details", () => {
    const t = zfleet.taskFailed({ id: "t1", attempts: 2, worker: "io-1",
                                  error: { code: "brand_new_failure", message: "m" } });
    assert.equal(t.constructor, zfleet.TaskFailed);
    assert.deepEqual([t.code, t.message, t.taskId, t.attempts, t.worker], ["brand_new_failure", "m", "t1", 2, "io-1"]);
    const x = zfleet.taskFailed({ id: "t2", error: { code: "exception", message: "boom", type: "ValueError",
                                                     traceback: "Traceback ..." } });
    assert.ok(x instanceof zfleet.TaskException && x instanceof zfleet.TaskFailed);
    assert.deepEqual([x.type, x.traceback, x.name], ["ValueError", "Traceback ...", "TaskException"]);
    assert.equal(zfleet.taskFailed({ id: "t3" }).code, null);
  });

  it("client-side errors have a null code and their own fields", () => {
    const p = new zfleet.TaskPending("t", "running", undefined);
    assert.deepEqual([p.code, p.taskId, p.state], [null, "t", "running"]);
    const u = new zfleet.TaskUnknown("t");
    assert.deepEqual([u.code, u.taskId], [null, "t"]);
    assert.ok(new zfleet.AuthenticationFailed(null, "m") instanceof zfleet.HandshakeFailed);
    assert.ok(new zfleet.HandshakeFailed(null, "m") instanceof zfleet.Timeout);
    const b = new zfleet.BatchError(["a", null], [null, zfleet.requestError({ code: "bad_request", message: "no" })]);
    assert.deepEqual(b.outcomes[0], "a");
    assert.ok(b.outcomes[1] instanceof zfleet.BadRequest);
    assert.match(b.message, /1 of 2 tasks refused, first: bad_request: no/);
  });
});

describe("key files", () => {
  it("parses a .key and a .pub file, and refuses a malformed one", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "zfleet-node-keys-"));
    try {
      const pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
      const sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6";
      fs.writeFileSync(path.join(dir, "c.key"), `public-key = ${pub}\nsecret-key = ${sec}\n`);
      fs.writeFileSync(path.join(dir, "c.pub"), `${pub}\n`);
      fs.writeFileSync(path.join(dir, "bad.key"), "public-key = short\nsecret-key = short\n");
      assert.deepEqual(zfleet.readKeyPair(path.join(dir, "c.key")), { publicKey: pub, secretKey: sec });
      assert.equal(zfleet.readPublicKey(path.join(dir, "c.pub")), pub);
      assert.throws(() => zfleet.readKeyPair(path.join(dir, "bad.key")), /Z85/);
      assert.throws(() => new zfleet.Client({ key: path.join(dir, "c.key") }), /serverKey/);
      const c = new zfleet.Client({ key: path.join(dir, "c.key"), serverKey: path.join(dir, "c.pub") });
      c.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("refuses unknown client options", () => {
    assert.throws(() => new zfleet.Client({ timeout: 5 }), /unknown client option "timeout"/);
  });
});

describe("module", () => {
  it("ESM imports every export by name", async () => {
    const esm = await import("../index.js");
    for (const name of Object.keys(zfleet)) assert.equal(esm[name], zfleet[name], name);
    assert.equal(typeof esm.Client, "function");
  });
});
