"use strict";
// msgpack as ZFP/1 has it, with JavaScript's numbers made lossless:
//
// * Decoding: integers within Number.MAX_SAFE_INTEGER (2^53 - 1) come back as
//   `number`; integers beyond (the wire carries up to -2^63 .. 2^64-1) come
//   back as `bigint`, never rounded. bin comes back as a Uint8Array (a view
//   into the received message), str as a string, float as a number.
// * Encoding: a `bigint` goes out as a msgpack int64/uint64 (RangeError
//   outside -2^63 .. 2^64-1); an integral `number` goes out as the smallest
//   msgpack integer, any other number as float64; Uint8Array / Buffer /
//   ArrayBuffer as bin; `undefined` map values are left out.
//
// @msgpack/msgpack alone offers either "numbers only" (64-bit values past
// 2^53 silently rounded) or "useBigInt64" (every 64-bit value a bigint, and
// integral numbers past 2^32 encoded as floats): neither is what a
// Python task expects, so both directions are adjusted here.
const { Encoder, Decoder } = require("@msgpack/msgpack");

const plainEncoder = new Encoder({ ignoreUndefined: true });
const wideEncoder = new Encoder({ ignoreUndefined: true, useBigInt64: true });
const decoder = new Decoder({ useBigInt64: true });

const INT32_MIN = -0x80000000;
const UINT32_MAX = 0xffffffff;
const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;

function isPlainContainer(v) {
  return Array.isArray(v) || v instanceof Map ||
    (v !== null && typeof v === "object" && !ArrayBuffer.isView(v) && !(v instanceof ArrayBuffer) &&
     !(v instanceof Date));
}

function containsBigInt(v, depth = 0) {
  if (typeof v === "bigint") return true;
  if (depth > 100 || !isPlainContainer(v)) return false;
  const values = v instanceof Map ? v.values() : Array.isArray(v) ? v : Object.values(v);
  for (const x of values) if (containsBigInt(x, depth + 1)) return true;
  return false;
}

// A copy in which bigints are checked and the integral numbers that
// wideEncoder would turn into floats are bigints too.
function widen(v) {
  if (typeof v === "bigint") {
    if (v < INT64_MIN || v > UINT64_MAX) {
      throw new RangeError(`integer ${v} is outside msgpack's range (-2^63 .. 2^64-1)`);
    }
    return v;
  }
  if (typeof v === "number") {
    return Number.isSafeInteger(v) && (v < INT32_MIN || v > UINT32_MAX) ? BigInt(v) : v;
  }
  if (!isPlainContainer(v)) return v;
  if (Array.isArray(v)) return v.map(widen);
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, widen(x)]));
  const out = {};
  for (const [k, x] of Object.entries(v)) out[k] = widen(x);
  return out;
}

/** One msgpack body (Uint8Array). */
function encode(value) {
  try {
    return plainEncoder.encode(value);
  } catch (err) {
    if (!containsBigInt(value)) throw err;
    return wideEncoder.encode(widen(value));
  }
}

// In place: bigints that fit a number become numbers.
function narrow(v, depth = 0) {
  if (typeof v === "bigint") return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
  if (v === null || typeof v !== "object" || ArrayBuffer.isView(v) || depth > 200) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = narrow(v[i], depth + 1);
  } else {
    for (const k of Object.keys(v)) v[k] = narrow(v[k], depth + 1);
  }
  return v;
}

/** Decodes one msgpack body (Buffer / Uint8Array). */
function decode(bytes) {
  const value = decoder.decode(bytes);
  // Only int64 (0xd3) and uint64 (0xcf) decode to bigint: a body without
  // either byte anywhere needs no walk.
  if (bytes.indexOf(0xcf) < 0 && bytes.indexOf(0xd3) < 0) return value;
  return narrow(value);
}

module.exports = { encode, decode };
