"use strict";
// CURVE key files as `zfleet keygen PATH` writes them:
//   PATH.key  two lines, `public-key = <Z85>` and `secret-key = <Z85>`
//   PATH.pub  the public key alone, one line of Z85 text
const fs = require("node:fs");

const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

function checkKey(value, what, file) {
  if (typeof value !== "string" || !Z85_KEY.test(value)) {
    throw new TypeError(`${what} in ${file} is not a 40-character Z85 CURVE key`);
  }
  return value;
}

/** {publicKey, secretKey} of a `.key` file. */
function readKeyPair(file) {
  const fields = {};
  for (const line of fs.readFileSync(file, "utf8").split(/\r?\n/)) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    fields[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return {
    publicKey: checkKey(fields["public-key"], "public-key", file),
    secretKey: checkKey(fields["secret-key"], "secret-key", file),
  };
}

/** The Z85 key of a `.pub` file. */
function readPublicKey(file) {
  const line = fs.readFileSync(file, "utf8").split(/\r?\n/).map((l) => l.trim()).find((l) => l);
  return checkKey(line, "the public key", file);
}

/**
 * The client's CURVE settings from the options, or null without CURVE:
 * `key` (path of the client's .key file) and `serverKey` (path of the
 * broker's .pub file) go together; `curve` ({publicKey, secretKey,
 * serverKey}, Z85 strings) is the in-memory alternative.
 */
function curveOptions(opts) {
  if (opts.curve) {
    const { publicKey, secretKey, serverKey } = opts.curve;
    return {
      publicKey: checkKey(publicKey, "curve.publicKey", "the options"),
      secretKey: checkKey(secretKey, "curve.secretKey", "the options"),
      serverKey: checkKey(serverKey, "curve.serverKey", "the options"),
    };
  }
  if (opts.key == null && opts.serverKey == null) return null;
  if (opts.key == null || opts.serverKey == null) {
    throw new TypeError("CURVE needs both `key` (the client's .key file) and " +
                        "`serverKey` (the broker's .pub file)");
  }
  return { ...readKeyPair(opts.key), serverKey: readPublicKey(opts.serverKey) };
}

module.exports = { readKeyPair, readPublicKey, curveOptions };
