"""Defect 7: the result cache's limits hold for the whole cache.

max_bytes and max_entries used to be divided evenly among the shards: three
15 MiB results whose ids hashed to one shard evicted 137 finished results
with the cache at 5.9% of max_bytes, and max_entries: 3 held 11 results.

The tests pick task ids (submit's `id`) that the broker files under one
cache shard, computing the same hash it does (XXH3_64bits of the id, masked
by shards - 1) through Debian's libxxhash.
"""
import ctypes
import ctypes.util

from harness import FleetTestCase

SHARDS = 16
MIB = 1 << 20

BIG = """
def main(n):
    return "x" * n
"""


def _xxh3():
    lib = ctypes.CDLL(ctypes.util.find_library("xxhash") or "libxxhash.so.0")
    lib.XXH3_64bits.restype = ctypes.c_uint64
    lib.XXH3_64bits.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    return lambda data: lib.XXH3_64bits(data, len(data))


XXH3 = _xxh3()


def ids_on_shard(shard, n, prefix):
    """n task ids the broker's cache files under `shard` (of SHARDS)."""
    out, i = [], 0
    while len(out) < n:
        tid = "%s-%d" % (prefix, i)
        if XXH3(tid.encode()) & (SHARDS - 1) == shard:
            out.append(tid)
        i += 1
    return out


class WholeCacheBytes(FleetTestCase):
    FLEET = dict(cache={"shards": SHARDS, "max_bytes": 64 * MIB},
                 workers={"io": {"processes": 1, "threads": 4}, "cpu": {"processes": 0}},
                 scripts={"big.py": BIG})

    def test_big_results_on_one_shard_evict_nothing_under_max_bytes(self):
        client = self.client
        small = ids_on_shard(5, 200, "small")
        big = ids_on_shard(5, 3, "big")
        reply = client.submit_batch([{"script": "builtin:echo", "args": [tid], "id": tid}
                                     for tid in small])
        self.assertEqual(reply["ids"], small, reply)
        self.assertEqual([r["state"] for r in client.wait_many(small)], ["done"] * 200)
        for tid in big:
            client.submit_ok("big.py", [15 * MIB], id=tid)
            res = client.wait(tid, timeout_s=60)
            self.assertEqual((res["state"], len(res["result"])), ("done", 15 * MIB), res["state"])

        cache = client.status()["cache"]
        self.assertEqual(cache["evictions"], 0, cache)
        self.assertGreater(cache["bytes"], 45 * MIB, cache)
        self.assertLess(cache["bytes"], 64 * MIB, cache)
        results = client.get_many(small)["results"]
        self.assertEqual([(r["state"], r["result"]) for r in results],
                         [("done", tid) for tid in small])
        self.assertEqual([client.get(tid)["state"] for tid in big], ["done"] * 3)


class WholeCacheEntries(FleetTestCase):
    FLEET = dict(cache={"shards": SHARDS, "max_entries": 3},
                 workers={"io": {"processes": 1, "threads": 4}, "cpu": {"processes": 0}})

    def test_max_entries_3_holds_at_most_3_results(self):
        client = self.client
        ids = ["spread-%d" % i for i in range(40)]
        for tid in ids:
            client.submit_ok("builtin:echo", [tid], id=tid)
            self.assertEqual(client.wait(tid)["state"], "done")
            self.assertLessEqual(client.status()["cache"]["entries"], 3)
        cache = client.status()["cache"]
        self.assertEqual(cache["entries"], 3, cache)
        self.assertEqual(cache["evictions"], len(ids) - 3, cache)
        kept = [r for r in client.get_many(ids)["results"] if r["state"] == "done"]
        self.assertEqual(len(kept), 3, kept)
        self.assertEqual(kept[-1]["id"], ids[-1])   # the latest result is never the one evicted
