"""The broker journal at start-up (issue 10): a damaged last segment (torn,
flipped or with garbage after it) is cut at the last whole record, the rest
moved to DIR/corrupt/ and reported, and everything before it is restored;
a journal of a million records replays; many results come back.

Every test runs its own fleet with `broker.journal` and stops or kills it on
purpose. Journal files are read and damaged with the layout of
broker/journal/format.h: a 16-byte file header ("ZFJOURN1", version, 0),
then records of a 16-byte header (u32 payload length, u8 type, 3 zero
bytes, u64 XXH3) and the payload.
"""
import glob
import os
import signal
import struct
import sys
import time

import zmq

from harness import CTX, FleetTestCase, pack, poll, unpack

FILE_HEADER = 16
RECORD_HEADER = 16
ACCEPT = 1                      # common/journal_codec.h JournalType


def journal(fsync="always"):
    return {"journal": {"path": "journal", "fsync": fsync}, "drain_timeout_ms": 300}


def segments(jdir):
    return sorted(glob.glob(os.path.join(jdir, "seg-*.zfj")))


def records(path):
    """(file bytes, [(start, end, type, payload)]) of a segment's whole records."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"ZFJOURN1", data[:16]
    out, pos = [], FILE_HEADER
    while pos + RECORD_HEADER <= len(data):
        length, type_ = struct.unpack_from("<IB", data, pos)
        end = pos + RECORD_HEADER + length
        if end > len(data):
            break
        out.append((pos, end, type_, data[pos + RECORD_HEADER:end]))
        pos = end
    assert pos == len(data), "%s: %d trailing bytes before any damage" % (path, len(data) - pos)
    return data, out


def corrupt_files(jdir):
    """{name: bytes} of what replay moved aside."""
    out = {}
    for path in sorted(glob.glob(os.path.join(jdir, "corrupt", "*"))):
        with open(path, "rb") as f:
            out[os.path.basename(path)] = f.read()
    return out


class DamagedJournal(FleetTestCase):
    FLEET = None
    QUEUED = 10

    def prepare(self):
        """A fleet that ran 5 tasks to their results and holds QUEUED cpu tasks
        (no cpu workers), submitted one by one (one record each), then stopped
        cleanly. Returns (fleet, journal dir, results by id)."""
        fleet = self.new_fleet(broker=journal(), workers={"io": {"processes": 1, "threads": 2},
                                                          "cpu": {"processes": 0}})
        client = fleet.client()
        done = {}
        for i in range(5):
            res = client.run("builtin:echo", [{"n": i, "blob": bytes(range(i, 40))}], id="done-%d" % i)
            self.assertEqual(res["state"], "done", res)
            done[res["id"]] = res
        for i in range(self.QUEUED):
            client.submit_ok("builtin:echo", [i], id="q-%d" % i, type="cpu")
        self.assertEqual(fleet.stop_broker(), 0, fleet.log_tail())
        jdir = os.path.join(fleet.dir, "journal")
        return fleet, jdir, done

    def last_segment(self, jdir):
        """The newest segment holding records, its bytes and records; the last
        record is the ACCEPT of q-<QUEUED-1>."""
        for path in reversed(segments(jdir)):
            data, recs = records(path)
            if recs:
                self.assertEqual(recs[-1][2], ACCEPT)
                self.assertIn(b"q-%d" % (self.QUEUED - 1), recs[-1][3])
                return path, data, recs
        self.fail("no segment with records in %s" % os.listdir(jdir))

    def restart_and_check(self, fleet, jdir, done, kept, moved):
        """Starts the broker on the damaged journal: it serves, reports the
        damage, moved exactly `moved` aside, restored the results and the
        queued tasks q-0..q-<kept-1>, and no later ones."""
        fleet.start_broker(1)
        client = fleet.client()
        st = client.status()["journal"]
        self.assertIn("DAMAGE", st["damage"], st)
        self.assertEqual(b"".join(corrupt_files(jdir).values()), moved)
        self.assertEqual(st["restored_tasks"], kept, st)
        self.assertEqual(st["restored_results"], len(done), st)
        for tid, res in done.items():
            self.assertEqual(client.get(tid), res)
        queued = ["q-%d" % i for i in range(self.QUEUED)]
        got = [r["state"] for r in client.get_many(queued)["results"]]
        self.assertEqual(got, ["pending"] * kept + ["unknown"] * (self.QUEUED - kept))
        self.assertServing(client)
        with open(fleet.log_path, "rb") as f:
            self.assertIn(b"DAMAGE", f.read())
        # The repair is on disk: the next start replays the same, with no damage
        # (and the result of the serving check above).
        self.assertEqual(fleet.stop_broker(), 0)
        fleet.start_broker(1)
        st = fleet.client().status()["journal"]
        self.assertEqual((st["damage"], st["restored_tasks"], st["restored_results"]),
                         ("", kept, len(done) + 1), st)

    def assertServing(self, client):
        res = client.run("builtin:echo", ["after the damage"])
        self.assertEqual((res["state"], res["result"]), ("done", "after the damage"), res)

    def test_truncated_mid_record(self):
        fleet, jdir, done = self.prepare()
        path, data, recs = self.last_segment(jdir)
        start, end = recs[-1][:2]
        cut = start + RECORD_HEADER + (end - start - RECORD_HEADER) // 2
        os.truncate(path, cut)
        self.restart_and_check(fleet, jdir, done, self.QUEUED - 1, data[start:cut])

    def test_truncated_in_a_record_header(self):
        fleet, jdir, done = self.prepare()
        path, data, recs = self.last_segment(jdir)
        start = recs[-1][0]
        os.truncate(path, start + 7)
        self.restart_and_check(fleet, jdir, done, self.QUEUED - 1, data[start:start + 7])

    def test_flipped_bytes_in_the_last_record(self):
        fleet, jdir, done = self.prepare()
        path, data, recs = self.last_segment(jdir)
        start, end = recs[-1][:2]
        bad = bytearray(data)
        bad[end - 3] ^= 0x5A
        with open(path, "wb") as f:
            f.write(bad)
        self.restart_and_check(fleet, jdir, done, self.QUEUED - 1, bytes(bad[start:]))

    def test_garbage_appended(self):
        fleet, jdir, done = self.prepare()
        path, data, recs = self.last_segment(jdir)
        garbage = b"\x07\x00\x00\x00\x01\x00\x00\x00not a record, or half of one"
        with open(path, "ab") as f:
            f.write(garbage)
        self.restart_and_check(fleet, jdir, done, self.QUEUED, garbage)

    def test_flipped_byte_in_a_middle_record(self):
        # Damage is not only at the tail: replay keeps the prefix before it.
        fleet, jdir, done = self.prepare()
        path, data, recs = self.last_segment(jdir)
        q4 = [r for r in recs if r[2] == ACCEPT and b"q-4" in r[3]]
        self.assertEqual(len(q4), 1)
        start, end = q4[0][:2]
        bad = bytearray(data)
        bad[start + RECORD_HEADER + 2] ^= 0x01
        with open(path, "wb") as f:
            f.write(bad)
        self.restart_and_check(fleet, jdir, done, 4, bytes(bad[start:]))

    def test_damage_in_an_older_segment_sets_later_ones_aside(self):
        # Each start opens a new segment: q-* of the second run are in a later
        # one, which replay moves aside whole (its records may depend on the
        # lost ones). Documented behaviour: they are reported, not restored.
        fleet, jdir, done = self.prepare()
        first, data, recs = self.last_segment(jdir)
        fleet.start_broker(1)
        client = fleet.client()
        for i in range(3):
            client.submit_ok("builtin:echo", [i], id="later-%d" % i, type="cpu")
        self.assertEqual(fleet.stop_broker(), 0)
        later = [p for p in segments(jdir) if p > first and records(p)[1]]
        self.assertEqual(len(later), 1, segments(jdir))
        with open(later[0], "rb") as f:
            later_bytes = f.read()
        start = recs[-1][0]
        os.truncate(first, start + 20)
        fleet.start_broker(1)
        client = fleet.client()
        st = client.status()["journal"]
        self.assertIn("DAMAGE", st["damage"], st)
        moved = corrupt_files(jdir)
        self.assertEqual(sorted(moved.values()), sorted([data[start:start + 20], later_bytes]))
        self.assertEqual(st["restored_tasks"], self.QUEUED - 1, st)
        got = [r["state"] for r in client.get_many(["q-8", "q-9", "later-0"])["results"]]
        self.assertEqual(got, ["pending", "unknown", "unknown"])
        self.assertServing(client)


class BigJournal(FleetTestCase):
    FLEET = None

    def submit_batches(self, fleet, task, n, batch=10000):
        """Submits n copies of `task` in pipelined submit_batch requests; returns the ids."""
        sock = CTX.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.connect(fleet.endpoints["frontend"])
        body = pack({"op": "submit_batch", "tasks": [task] * batch})
        ids, sent, got = [], 0, 0
        try:
            while got < n // batch:
                while sent < n // batch and sent - got < 8:
                    sock.send(body)
                    sent += 1
                self.assertTrue(sock.poll(60000), "no accepted_batch within 60 s")
                reply = unpack(sock.recv_multipart()[-1])
                got += 1
                self.assertEqual(reply["op"], "accepted_batch", reply)
                ids.extend(i for i in reply["ids"] if i is not None)
        finally:
            sock.close(0)
        self.assertEqual(len(ids), n)
        return ids

    def test_a_million_records_replay(self):
        n = 1000000
        fleet = self.new_fleet(broker=journal("never"), ready_workers=0,
                               workers={"io": {"processes": 0}, "cpu": {"processes": 0}})
        self.submit_batches(fleet, {"script": "builtin:echo", "args": [1], "delay_ms": 3600000}, n)
        fleet.stop_broker(signal.SIGKILL)
        t0 = time.monotonic()
        fleet.start_broker(0)
        client = fleet.client()
        st = poll(client.status, lambda s: s["queues"]["io"]["delayed"] == n, timeout_s=60)
        ready_s = time.monotonic() - t0
        j = st["journal"]
        self.assertEqual((j["replayed_records"], j["restored_tasks"], j["damage"]), (n, n, ""), j)
        self.assertEqual((st["queues"]["io"]["depth"], st["queues"]["io"]["delayed"]), (0, n), st["queues"])
        sys.stderr.write("\n[replay] %d records (%d bytes) replayed in %d ms; %d tasks back in "
                         "their queues %.1f s after the start\n" % (
                             j["replayed_records"], j["bytes"], j["replay_ms"], n, ready_s))

    def test_many_results_come_back(self):
        # Results restored in bulk must not cost more than the tasks did.
        n = 200000
        fleet = self.new_fleet(broker=journal("never"),
                               workers={"io": {"processes": 2, "threads": 8}, "cpu": {"processes": 0}})
        client = fleet.client()
        ids = self.submit_batches(fleet, {"script": "builtin:echo", "args": ["r"]}, n)
        st = poll(client.status, lambda s: s["tasks"]["done"] == n, timeout_s=120)
        self.assertEqual(st["tasks"]["done"], n)
        fleet.stop_broker(signal.SIGKILL)
        t0 = time.monotonic()
        try:
            fleet.start_broker(2)
        except AssertionError as e:
            self.fail("broker not serving %.0f s after a start with %d results to restore: %s"
                      % (time.monotonic() - t0, n, str(e)[-2000:]))
        ready_s = time.monotonic() - t0
        j = client.status()["journal"]
        sys.stderr.write("\n[results] %d results restored; broker ready %.1f s after the start\n"
                         % (j["restored_results"], ready_s))
        self.assertEqual(j["restored_results"], n, j)
        self.assertLess(ready_s, 15, "restoring %d results took %.1f s" % (n, ready_s))
        got = client.get_many(ids[-1000:])["results"]
        self.assertEqual(set((r["state"], r["result"]) for r in got), {("done", "r")})
