"use strict";
// One DEALER socket to one broker endpoint, with pipelined requests.
//
// Every request carries a `corr` (an integer unique on this connection) that
// the broker echoes; replies may come back in any order (PROTOCOL.md,
// "Transport and framing") and are matched on it. The body goes out as a
// single frame and the reply is the last frame of what comes back.
//
// * At most `maxInFlight` requests are outstanding at once (the broker holds
//   up to broker.client_hwm unread replies per connection); more wait here,
//   in order, and their timers start when they get a slot.
// * Each request has a deadline: replyTimeoutMs plus the long-poll time it
//   asked for. Past it the request fails with Timeout (which says what the
//   connection last saw: refused connects, a handshake failure) and a late
//   reply to it is dropped.
// * ZMQ_IMMEDIATE: requests are queued only on a completed connection (after
//   the handshake), so a request that timed out while the broker was down is
//   not delivered when it comes back. (A submit that timed out may still have
//   been accepted, if the broker died after reading it: resubmit with the
//   same id and take DuplicateId as "the first attempt got through".)
// * A CURVE handshake the broker refuses (its ZAP handler does not allow our
//   key: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) fails every outstanding request at
//   once with AuthenticationFailed; a handshake protocol error, or three
//   handshakes in a row that the broker broke off (a wrong serverKey, CURVE on
//   one side only), with HandshakeFailed. libzmq does not reconnect after a
//   refused handshake, so the next request opens a fresh socket (and fails
//   the same way, at once, if nothing changed).
// * An error reply without corr (the broker could not read the request, e.g.
//   too_large) goes to the only request in flight, if there is just one;
//   otherwise it cannot be matched and those requests time out.
// * zeromq.js allows one send at a time per socket: sends go through a queue.
const zmq = require("zeromq");
const { encode, decode } = require("./codec");
const { AuthenticationFailed, ClientClosed, HandshakeFailed, Timeout } = require("./errors");

// Handshakes broken off in a row (no success between) that fail the
// outstanding requests with HandshakeFailed instead of letting them time out.
const BROKEN_HANDSHAKES = 3;
const MAX_TIMER_MS = 2 ** 31 - 1;   // setTimeout fires at once past this

class Connection {
  /**
   * @param {string} endpoint  e.g. tcp://127.0.0.1:5555
   * @param {object} opts      {name, curve, replyTimeoutMs, maxInFlight}
   */
  constructor(endpoint, opts) {
    this.endpoint = endpoint;
    this.name = opts.name || endpoint;
    this.replyTimeoutMs = opts.replyTimeoutMs;
    this.maxInFlight = opts.maxInFlight;
    this.curve = opts.curve || null;
    this.closed = false;
    this.seq = 0;
    this.inflight = new Map();   // corr -> request (sent or being sent)
    this.backlog = [];           // requests waiting for a slot
    this.sendQueue = [];         // requests with a slot, not yet handed to zmq
    this.sending = false;
    this.sock = null;
    this.open();
  }

  /** Sends one request map; resolves with the reply map (its corr removed). */
  request(body, extraMs = 0) {
    if (this.closed) return Promise.reject(new ClientClosed(null, "the client is closed"));
    if (this.refused) this.open();     // the last handshake was refused: try a fresh socket
    const corr = ++this.seq;
    const frame = encode({ ...body, corr });
    return new Promise((resolve, reject) => {
      this.backlog.push({ corr, frame, op: body.op, resolve, reject, timer: null,
                          timeoutMs: Math.min(this.replyTimeoutMs + Math.max(0, extraMs), MAX_TIMER_MS) });
      this.pump();
    });
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new ClientClosed(null, "the client was closed before the reply came"));
    this.sock.close();
  }

  // --- internals -----------------------------------------------------------

  /** (Re)opens the socket; requests not yet sent go out on the new one. */
  open() {
    if (this.sock) this.sock.close();
    this.refused = false;          // a handshake was refused: libzmq will not retry
    this.connectTrouble = null;    // what the socket monitor last reported amiss: connecting
    this.handshakeTrouble = null;  //   ... the handshake (kept until one succeeds)
    this.brokenHandshakes = 0;     // handshakes broken off in a row
    const sockOpts = { linger: 0, immediate: true, sendTimeout: this.replyTimeoutMs };
    if (this.curve) {
      sockOpts.curveServerKey = this.curve.serverKey;
      sockOpts.curvePublicKey = this.curve.publicKey;
      sockOpts.curveSecretKey = this.curve.secretKey;
    }
    const sock = new zmq.Dealer(sockOpts);
    this.sock = sock;
    this.watch(sock);
    sock.connect(this.endpoint);
    this.receiveLoop(sock);
  }

  pump() {
    while (this.backlog.length && this.inflight.size < this.maxInFlight) {
      const req = this.backlog.shift();
      this.inflight.set(req.corr, req);
      req.timer = setTimeout(() => this.expire(req), req.timeoutMs);
      this.sendQueue.push(req);
    }
    if (!this.sending && this.sendQueue.length) this.drainSends();
  }

  async drainSends() {
    this.sending = true;
    try {
      while (this.sendQueue.length && !this.closed) {
        const req = this.sendQueue.shift();
        if (this.inflight.get(req.corr) !== req) continue;   // timed out or failed meanwhile
        const sock = this.sock;
        try {
          await sock.send(req.frame);
        } catch (err) {
          if (this.closed) break;
          if (sock !== this.sock) {         // reopened meanwhile: send it on the new socket
            this.sendQueue.unshift(req);
            continue;
          }
          this.settle(req, null, new Timeout(null,
            `could not send ${req.op} to ${this.name} (${this.endpoint}): ${err.message}` +
            this.troubleNote(), { endpoint: this.endpoint, op: req.op }));
        }
      }
    } finally {
      this.sending = false;
    }
  }

  async receiveLoop(sock) {
    while (!this.closed && sock === this.sock) {
      let frames;
      try {
        frames = await sock.receive();
      } catch (err) {
        if (this.closed || sock.closed) return;
        continue;   // EAGAIN-like hiccup: keep reading
      }
      let reply;
      try {
        reply = decode(frames[frames.length - 1]);
      } catch (err) {
        continue;   // not ours to understand: no request can be matched to it
      }
      if (reply === null || typeof reply !== "object") continue;
      let req = this.inflight.get(reply.corr);
      if (!req && reply.corr === undefined && reply.op === "error" && this.inflight.size === 1) {
        [req] = this.inflight.values();
      }
      if (!req) continue;   // a late reply to a request that timed out
      delete reply.corr;
      this.settle(req, reply, null);
    }
  }

  settle(req, reply, err) {
    if (this.inflight.get(req.corr) !== req) return;
    this.inflight.delete(req.corr);
    clearTimeout(req.timer);
    if (err) req.reject(err);
    else req.resolve(reply);
    this.pump();
  }

  expire(req) {
    this.settle(req, null, new Timeout(null,
      `no reply to ${req.op} from ${this.name} (${this.endpoint}) within ${req.timeoutMs} ms` +
      (this.troubleNote() || " (is the broker up? with CURVE, are key and serverKey right?)"),
      { endpoint: this.endpoint, op: req.op, timeoutMs: req.timeoutMs }));
  }

  failAll(err) {
    const reqs = [...this.inflight.values(), ...this.backlog];
    this.backlog = [];
    for (const req of reqs) {
      if (this.inflight.get(req.corr) === req) {
        this.inflight.delete(req.corr);
        clearTimeout(req.timer);
      }
      req.reject(err);
    }
  }

  troubleNote() {
    const trouble = this.handshakeTrouble || this.connectTrouble;
    return trouble ? ` (last seen on the connection: ${trouble})` : "";
  }

  watch(sock) {
    const events = sock.events;
    // Events of a socket replaced since are stale.
    const on = (name, fn) => events.on(name, (e) => { if (sock === this.sock) fn(e); });
    on("connect", () => { this.connectTrouble = null; });
    on("handshake", () => {
      this.connectTrouble = null;
      this.handshakeTrouble = null;
      this.brokenHandshakes = 0;
    });
    on("connect:retry", () => {
      this.connectTrouble = "connection refused or not reachable, retrying";
    });
    on("disconnect", () => { this.connectTrouble = "disconnected"; });
    on("handshake:error:other", (e) => {
      // The broker closed the connection during the handshake: with CURVE
      // the usual cause is a serverKey that is not the broker's, or CURVE on
      // one side only. Some times in a row with no success is taken as that.
      const detail = e.error ? e.error.message : "no detail";
      this.handshakeTrouble = `handshake broken off (${detail}): ${this.curveHint()}`;
      if (++this.brokenHandshakes >= BROKEN_HANDSHAKES) {
        this.brokenHandshakes = 0;
        this.failAll(new HandshakeFailed(null,
          `${this.name} (${this.endpoint}) broke off the handshake ${BROKEN_HANDSHAKES} times in a row ` +
          `(${detail}): ${this.curveHint()}`, { endpoint: this.endpoint }));
      }
    });
    on("handshake:error:auth", (e) => {
      const status = e.error && e.error.status;
      this.handshakeTrouble = `the broker refused this client's CURVE key (ZAP status ${status})`;
      this.refused = true;
      this.failAll(new AuthenticationFailed(null,
        `${this.name} (${this.endpoint}) refused this client's CURVE key ` +
        `(ZAP status ${status}): is its public key among those the broker allows there?`,
        { endpoint: this.endpoint, status }));
    });
    on("handshake:error:protocol", (e) => {
      const detail = e.error ? e.error.message : "protocol error";
      this.handshakeTrouble = `handshake protocol error (${detail}): ${this.curveHint()}`;
      this.refused = true;
      this.failAll(new HandshakeFailed(null,
        `handshake with ${this.name} (${this.endpoint}) failed: ${detail}: ${this.curveHint()}`,
        { endpoint: this.endpoint }));
    });
  }

  curveHint() {
    return this.curve
      ? "is serverKey the broker's public key, and does the broker use CURVE (a security section)?"
      : "does the broker require CURVE (a security section)? Then give key and serverKey";
  }
}

module.exports = { Connection };
