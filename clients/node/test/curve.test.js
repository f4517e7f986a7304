"use strict";
// The Node client against a real fleet with CURVE (harness Fleet(security=True)):
//   ZFLEET_FRONTEND=URL ZFLEET_RESULTS=URL ZFLEET_KEYS_DIR=FLEET_DIR node test/curve.test.js
// FLEET_DIR/keys holds broker.pub and the key pairs `zfleet keygen` wrote:
// both/admin (frontend and results), producers/p1 (frontend only),
// clients/c1 (results only), stranger (nowhere). Exits non-zero on failure.
const assert = require("node:assert/strict");
const path = require("node:path");
const { after, describe, it } = require("node:test");
const zmq = require("zeromq");
const {
  Client, AuthenticationFailed, HandshakeFailed, Timeout, ZfleetError, readKeyPair, readPublicKey,
} = require("..");
const { fleetConfig, rejectsWith } = require("./common");

const config = fleetConfig();
assert.ok(config.keys, "ZFLEET_KEYS_DIR (or --keys FLEET_DIR) is required");
const keyFile = (name) => path.join(config.keys, "keys", name);
const SERVER = keyFile("broker.pub");
const W = { waitMs: 20000 };

const clients = [];
function client(opts) {
  const c = new Client({ frontend: config.frontend, results: config.results, replyTimeoutMs: 15000,
                         ...opts });
  clients.push(c);
  return c;
}
after(() => { for (const c of clients) c.close(); });

/** Asserts a refused key: a Timeout subclass with a message naming the endpoint and the cause. */
async function refused(promise, Cls, endpoint) {
  const err = await rejectsWith(promise, Cls, null);
  assert.ok(err instanceof Timeout && err instanceof ZfleetError);
  assert.equal(err.endpoint, endpoint);
  assert.ok(err.message.includes(endpoint), err.message);
  assert.match(err.message, /CURVE|key/);
  return err;
}

describe("CURVE", () => {
  it("reads the key files zfleet keygen writes", () => {
    const pair = readKeyPair(keyFile("both/admin.key"));
    assert.match(pair.publicKey, /^.{40}$/);
    assert.match(pair.secretKey, /^.{40}$/);
    assert.notEqual(pair.publicKey, pair.secretKey);
    assert.equal(readPublicKey(keyFile("both/admin.pub")), pair.publicKey);
    assert.match(readPublicKey(SERVER), /^.{40}$/);
  });

  it("works end to end with a key allowed on both endpoints", async () => {
    const admin = client({ key: keyFile("both/admin.key"), serverKey: SERVER });
    const id = await admin.submit("node_tasks.py", { args: [20, 22] });
    assert.deepEqual(await admin.get(id, W), { sum: 42 });
    const ids = await admin.submitBatch([{ script: "builtin:echo", args: [Buffer.from("b")] },
                                         { script: "builtin:echo", args: [{ n: [1, "s"] }] }]);
    assert.deepEqual([...await admin.get(ids[0], W)], [98]);
    assert.deepEqual(await admin.get(ids[1], W), { n: [1, "s"] });
    const squares = [];
    for await (const v of admin.map("node_tasks.py", [[1], [2], [3]], { func: "square" })) squares.push(v);
    assert.deepEqual(squares.sort(), [1, 4, 9]);
    assert.ok((await admin.status()).workers.some((w) => w.alive));
  });

  it("a producer submits and a results client reads, each only where allowed", async () => {
    const producer = client({ key: keyFile("producers/p1.key"), serverKey: SERVER });
    const reader = client({ key: keyFile("clients/c1.key"), serverKey: SERVER });
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push(await producer.submit("builtin:echo", { args: [`p1-${i}`] }));
    assert.deepEqual(await Promise.all(ids.map((id) => reader.get(id, W))),
      ["p1-0", "p1-1", "p1-2", "p1-3", "p1-4"]);
    // The producer's key is refused on the results endpoint, the client's on the frontend.
    await refused(producer.get(ids[0]), AuthenticationFailed, config.results);
    await refused(reader.submit("builtin:echo", { args: [1] }), AuthenticationFailed, config.frontend);
  });

  it("a key allowed nowhere is refused: AuthenticationFailed, a Timeout", async () => {
    const stranger = client({ key: keyFile("stranger.key"), serverKey: SERVER });
    const err = await refused(stranger.submit("builtin:echo", { args: [1] }), AuthenticationFailed,
                              config.frontend);
    assert.ok(err instanceof HandshakeFailed);
    assert.match(err.message, /refused this client's CURVE key/);
    await refused(stranger.status(), AuthenticationFailed, config.results);
    // Again, on the next reconnect: the client stays usable and keeps saying why.
    await refused(stranger.status(), AuthenticationFailed, config.results);
  });

  it("a key pair made in memory but not allowed is refused the same way", async () => {
    const fresh = zmq.curveKeyPair();
    const c = client({ curve: { ...fresh, serverKey: readPublicKey(SERVER) } });
    await refused(c.status(), AuthenticationFailed, config.results);
  });

  it("in-memory keys (curve option) work like key files", async () => {
    const pair = readKeyPair(keyFile("both/admin.key"));
    const c = client({ curve: { ...pair, serverKey: readPublicKey(SERVER) } });
    assert.equal(await c.get(await c.submit("builtin:echo", { args: ["mem"] }), W), "mem");
  });

  it("no CURVE, or the wrong server key, is HandshakeFailed, a Timeout", async () => {
    const plain = client({});
    await refused(plain.submit("builtin:echo", { args: [1] }), HandshakeFailed, config.frontend);
    const wrongServer = client({ key: keyFile("both/admin.key"), serverKey: keyFile("stranger.pub") });
    await refused(wrongServer.status(), HandshakeFailed, config.results);
  });

  it("with a short replyTimeoutMs a refused key is still a Timeout naming the endpoint", async () => {
    const c = client({ key: keyFile("stranger.key"), serverKey: SERVER, replyTimeoutMs: 200 });
    await refused(c.status(), Timeout, config.results);
  });

  it("key and serverKey go together, and must be key files", () => {
    assert.throws(() => new Client({ key: keyFile("both/admin.key") }), TypeError);
    assert.throws(() => new Client({ serverKey: SERVER }), TypeError);
    assert.throws(() => new Client({ key: SERVER, serverKey: SERVER }), /public-key/);
  });
});
