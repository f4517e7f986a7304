#!/usr/bin/python3
"""Why the journal is an append-only segmented log and not LMDB (issue 10,
docs/architecture.md "Durability"): the same durable-write pattern in both,
from Python, on the same disk (Debian's python3-lmdb, LMDB 0.9.24).

    /usr/bin/python3 benchmarks/py/lmdb_compare.py [--dir /var/tmp] [--records 100000]

For group sizes 1, 10 and 100 records (150-byte payloads), it writes the
records with one durable commit per group: an LMDB write transaction
(sync=True: LMDB fsyncs its data pages and its meta page per commit) versus
one write() + fdatasync() on an append-only file. Then it reads 1,000,000
records back from each (LMDB cursor vs sequential file read + length
framing). Prints one JSON line per measurement.
"""
import argparse
import json
import os
import shutil
import struct
import tempfile
import time

import lmdb

PAYLOAD = b"x" * 150


def lmdb_write(path, records, group):
    env = lmdb.open(path, map_size=8 << 30, sync=True, metasync=True)
    t0 = time.monotonic()
    key = 0
    while key < records:
        with env.begin(write=True) as txn:
            for _ in range(group):
                txn.put(struct.pack(">Q", key), PAYLOAD, append=True)
                key += 1
    elapsed = time.monotonic() - t0
    env.close()
    return elapsed


def log_write(path, records, group):
    fd = os.open(os.path.join(path, "seg"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    frame = struct.pack("<I", len(PAYLOAD)) + PAYLOAD
    t0 = time.monotonic()
    for _ in range(0, records, group):
        os.write(fd, frame * group)
        os.fdatasync(fd)
    elapsed = time.monotonic() - t0
    os.close(fd)
    return elapsed


def lmdb_read(path, records):
    env = lmdb.open(path, map_size=8 << 30)
    with env.begin(write=True) as txn:
        for key in range(records):
            txn.put(struct.pack(">Q", key), PAYLOAD, append=True)
    t0 = time.monotonic()
    n = 0
    with env.begin() as txn:
        for _k, _v in txn.cursor():
            n += 1
    elapsed = time.monotonic() - t0
    env.close()
    return elapsed, n


def log_read(path, records):
    frame = struct.pack("<I", len(PAYLOAD)) + PAYLOAD
    with open(os.path.join(path, "seg"), "wb") as f:
        f.write(frame * records)
    t0 = time.monotonic()
    with open(os.path.join(path, "seg"), "rb") as f:
        data = f.read()
    at, n = 0, 0
    while at + 4 <= len(data):
        (length,) = struct.unpack_from("<I", data, at)
        at += 4 + length
        n += 1
    return time.monotonic() - t0, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/var/tmp")
    ap.add_argument("--records", type=int, default=20000)
    a = ap.parse_args()
    for group in (1, 10, 100):
        n = min(a.records, 2000 * group)
        for name, fn in (("lmdb", lmdb_write), ("log", log_write)):
            d = tempfile.mkdtemp(dir=a.dir)
            try:
                s = fn(d, n, group)
            finally:
                shutil.rmtree(d)
            print(json.dumps({"store": name, "group": group, "records": n,
                              "records_per_s": round(n / s), "commits_per_s": round(n / group / s)}))
    for name, fn in (("lmdb", lmdb_read), ("log", log_read)):
        d = tempfile.mkdtemp(dir=a.dir)
        try:
            s, n = fn(d, 1_000_000)
        finally:
            shutil.rmtree(d)
        print(json.dumps({"store": name, "read_records": n, "seconds": round(s, 2)}))


if __name__ == "__main__":
    main()
