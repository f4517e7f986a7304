"use strict";
// zfleet: the Node.js client of the zfleet task broker (ZFP/1, PROTOCOL.md).
//
//   const { Client } = require("zfleet");
//   const client = new Client({ frontend: "tcp://127.0.0.1:5555",
//                               results: "tcp://127.0.0.1:5558" });
//   const id = await client.submit("hello.py", { args: ["ann"] });
//   console.log(await client.get(id, { waitMs: 5000 }));   // "hello ann"
//   client.close();
//
// See README.md for the whole API, the errors, and how values map between
// JavaScript and msgpack.
// The exports are listed one by one so that ESM can import them by name
// (import { Client, TaskFailed } from "zfleet").
const { Client, DEFAULT_FRONTEND, DEFAULT_RESULTS } = require("./src/client");
const {
  ZfleetError, RequestError, BadRequest, TooLarge, DuplicateId, QueueFull, ShuttingDown,
  TaskFailed, ScriptNotFound, ScriptNotAllowed, ScriptError, FuncNotFound, TaskException,
  UnserializableResult, TaskTimeout, TaskCancelled, WorkerLost, BatchError, TaskPending, TaskUnknown,
  Timeout, HandshakeFailed, AuthenticationFailed, ClientClosed, ProtocolError,
  REQUEST_ERRORS, TASK_ERRORS, requestError, taskFailed,
} = require("./src/errors");
const { encode, decode } = require("./src/codec");
const { readKeyPair, readPublicKey } = require("./src/keys");

// Error class of each request-level code (bad_request, ...), and the
// TaskFailed subclass of each task error code (script_not_found, ...).
const requestErrors = Object.freeze({ ...REQUEST_ERRORS });
const taskErrors = Object.freeze({ ...TASK_ERRORS });
// The msgpack codec the client uses (lossless 64-bit integers).
const codec = Object.freeze({ encode, decode });

// requestError(map): the RequestError of an error map {code, message, id};
// taskFailed(map): the TaskFailed of a failed result map. Unknown codes give
// the base class carrying the code.
module.exports = {
  Client, DEFAULT_FRONTEND, DEFAULT_RESULTS,
  ZfleetError, RequestError, BadRequest, TooLarge, DuplicateId, QueueFull, ShuttingDown,
  TaskFailed, ScriptNotFound, ScriptNotAllowed, ScriptError, FuncNotFound, TaskException,
  UnserializableResult, TaskTimeout, TaskCancelled, WorkerLost, BatchError, TaskPending, TaskUnknown,
  Timeout, HandshakeFailed, AuthenticationFailed, ClientClosed, ProtocolError,
  requestErrors, taskErrors, requestError, taskFailed, codec, readKeyPair, readPublicKey,
};
