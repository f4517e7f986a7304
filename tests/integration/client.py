"""The ZFP/1 client side of the zfleet integration tests: msgpack encoding,
the shared zmq context, and `Client`, REQ sockets with receive timeouts.

What it owns:
  * `pack` / `unpack`: msgpack as the wire contract (PROTOCOL.md) has it.
  * `CTX`: the process-wide zmq context every test socket is made from.
  * `recv_frames` / `recv_body`: a bounded receive on a raw socket, raising
    `ReplyTimeout` instead of blocking a test forever.
  * `Client`: one REQ socket per broker endpoint and the ZFP/1 requests
    (submit, get, get_many, status, ...), each with a receive timeout.

Kept apart from the fleet so that a client can run where no fleet is (the
multihost test runs one in a proxy process inside a network namespace).
Uses only Debian's /usr/bin/python3 with python3-zmq and python3-msgpack.
"""
import time

import msgpack
import zmq

FINAL_STATES = ("done", "failed")
REPLY_TIMEOUT_MS = 15000     # generous: a reply normally comes in milliseconds


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


class ReplyTimeout(AssertionError):
    pass


CTX = zmq.Context.instance()


def recv_frames(sock, timeout_ms=REPLY_TIMEOUT_MS):
    """All frames of the next message, or raises ReplyTimeout."""
    if not sock.poll(timeout_ms, zmq.POLLIN):
        raise ReplyTimeout("no reply within %d ms" % timeout_ms)
    return sock.recv_multipart()


def recv_body(sock, timeout_ms=REPLY_TIMEOUT_MS):
    """Decoded last frame of the next message."""
    return unpack(recv_frames(sock, timeout_ms)[-1])


class CurveKeys:
    """A client's CURVE settings: its own key pair and the broker's public
    key, all Z85 text (as `zfleet keygen` writes them)."""

    def __init__(self, public, secret, server_public):
        self.public, self.secret, self.server_public = public, secret, server_public

    @classmethod
    def from_files(cls, key_file, server_pub_file):
        fields = {}
        with open(key_file) as f:
            for line in f:
                name, _, value = line.partition("=")
                fields[name.strip()] = value.strip()
        with open(server_pub_file) as f:
            server = f.read().strip()
        return cls(fields["public-key"], fields["secret-key"], server)

    def apply(self, sock):
        """Sets the CURVE client options; before connect."""
        sock.curve_publickey = self.public.encode()
        sock.curve_secretkey = self.secret.encode()
        sock.curve_serverkey = self.server_public.encode()


class Client:
    """ZFP/1 over REQ sockets (one per endpoint), with a receive timeout.

    After a timeout the REQ socket is replaced, so one lost reply does not
    wedge the rest of a test. Not thread safe: one Client per thread.
    """

    def __init__(self, endpoints, timeout_ms=REPLY_TIMEOUT_MS, curve=None):
        self.endpoints = endpoints
        self.timeout_ms = timeout_ms
        self.curve = curve      # CurveKeys for a broker with `security`, or None
        self.socks = {}

    def _sock(self, name):
        s = self.socks.get(name)
        if s is None:
            s = CTX.socket(zmq.REQ)
            s.setsockopt(zmq.LINGER, 0)
            if self.curve is not None:
                self.curve.apply(s)
            s.connect(self.endpoints[name])
            self.socks[name] = s
        return s

    def close(self):
        for s in self.socks.values():
            s.close(0)
        self.socks = {}

    def raw(self, endpoint_name, data, timeout_ms=None):
        """Sends raw bytes as the body; returns the decoded reply map."""
        s = self._sock(endpoint_name)
        s.send(data)
        timeout_ms = timeout_ms or self.timeout_ms
        if not s.poll(timeout_ms, zmq.POLLIN):
            s.close(0)
            del self.socks[endpoint_name]
            raise ReplyTimeout("no reply on %s within %d ms" % (endpoint_name, timeout_ms))
        return unpack(s.recv())

    def request(self, endpoint_name, body, timeout_ms=None):
        return self.raw(endpoint_name, pack(body), timeout_ms)

    # frontend
    def submit(self, script, args=None, **fields):
        body = {"op": "submit", "script": script}
        if args is not None:
            body["args"] = args
        body.update(fields)
        return self.request("frontend", body)

    def submit_ok(self, script, args=None, **fields):
        reply = self.submit(script, args, **fields)
        if reply.get("op") != "accepted":
            raise AssertionError("submit of %s refused: %r" % (script, reply))
        return reply["id"]

    def submit_batch(self, tasks, **fields):
        body = {"op": "submit_batch", "tasks": tasks}
        body.update(fields)
        return self.request("frontend", body)

    # results
    def get(self, task_id, wait_ms=0, **fields):
        body = {"op": "get", "id": task_id, "wait_ms": wait_ms}
        body.update(fields)
        extra = wait_ms + self.timeout_ms
        return self.request("results", body, timeout_ms=extra)

    def get_many(self, ids, wait_ms=0, **fields):
        body = {"op": "get_many", "ids": ids, "wait_ms": wait_ms}
        body.update(fields)
        return self.request("results", body, timeout_ms=wait_ms + self.timeout_ms)

    def wait(self, task_id, timeout_s=30.0):
        """Long-polls until the task is done or failed; returns the result map."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            reply = self.get(task_id, wait_ms=max(1, min(5000, left_ms)))
            if reply.get("state") in FINAL_STATES or left_ms <= 0:
                return reply

    def wait_many(self, ids, timeout_s=60.0):
        """get_many with wait until every task is final; returns the result maps."""
        deadline = time.monotonic() + timeout_s
        while True:
            left_ms = int((deadline - time.monotonic()) * 1000)
            reply = self.get_many(ids, wait_ms=max(1, min(10000, left_ms)))
            results = reply["results"]
            # "unknown" never changes by waiting: it ends the wait like a final state.
            if all(r["state"] in FINAL_STATES + ("unknown",) for r in results) or left_ms <= 0:
                return results

    def run(self, script, args=None, **fields):
        """Submits one task and waits for its final result map."""
        return self.wait(self.submit_ok(script, args, **fields))

    def status(self):
        return self.request("results", {"op": "status"})

    def clear_cache(self, script=None):
        body = {"op": "clear_cache"}
        if script is not None:
            body["script"] = script
        return self.request("results", body)
