"use strict";
// Shared by the Node client tests: where the fleet is, and assertion helpers.
//
// The fleet is given in the environment (tests/integration/test_client_node.py
// starts it and sets these) or on the command line:
//   --frontend URL   (ZFLEET_FRONTEND)  the broker's frontend endpoint
//   --results URL    (ZFLEET_RESULTS)   the broker's results endpoint
//   --keys DIR       (ZFLEET_KEYS_DIR)  CURVE fleets: the folder holding keys/
//                                       as the harness's Fleet(security=True) writes it
// The fleet's script root must hold test/tasks/node_tasks.py as node_tasks.py.
const assert = require("node:assert/strict");
const net = require("node:net");
const { parseArgs } = require("node:util");

function fleetConfig() {
  const { values } = parseArgs({
    options: {
      frontend: { type: "string", default: process.env.ZFLEET_FRONTEND },
      results: { type: "string", default: process.env.ZFLEET_RESULTS },
      keys: { type: "string", default: process.env.ZFLEET_KEYS_DIR },
    },
    strict: true,
  });
  if (!values.frontend || !values.results) {
    throw new Error("give the fleet: --frontend URL --results URL (or ZFLEET_FRONTEND / ZFLEET_RESULTS)");
  }
  return values;
}

/** A tcp://127.0.0.1:PORT endpoint where nothing listens (a port just freed). */
function freePortEndpoint() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => resolve(`tcp://127.0.0.1:${port}`));
    });
  });
}

/** Asserts that `promise` rejects with an instance of Cls carrying `code`
 *  (a protocol code, or null for the client's own errors); returns the error. */
async function rejectsWith(promise, Cls, code) {
  let caught = null;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught, `expected ${Cls.name} (${code}), but it resolved`);
  assert.ok(caught instanceof Cls,
    `expected ${Cls.name}, got ${caught && caught.name}: ${caught && caught.message}`);
  assert.equal(caught.code, code);
  assert.equal(typeof caught.message, "string");
  assert.ok(caught.message.length > 0);
  return caught;
}

function uniqueId(prefix) {
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

module.exports = { fleetConfig, freePortEndpoint, rejectsWith, uniqueId };
