// Unit tests of broker/result_cache: LRU, limits, TTL, counters, sharding and
// concurrent use of one ResultCache from several threads.
#include "broker/result_cache.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using zfleet::broker::CacheOptions;
using zfleet::broker::CacheStats;
using zfleet::broker::ResultCache;
using zfleet::common::ResultRecord;

namespace {

ResultCache::RecordPtr make_rec(std::string id, std::size_t payload = 8, std::string worker = "") {
  auto r = std::make_shared<ResultRecord>();
  r->id = std::move(id);
  r->result.assign(payload, 'x');
  r->worker = std::move(worker);
  return r;
}

CacheOptions one_shard(std::size_t max_entries, std::size_t max_bytes = 1 << 30,
                       uint64_t ttl_ms = 1000) {
  return CacheOptions{1, max_entries, max_bytes, ttl_ms};
}

}  // namespace

TEST_SUITE("result_cache") {
  TEST_CASE("put then get returns the same record; unknown id is a miss") {
    ResultCache cache(CacheOptions{});
    auto a = make_rec("a", 100);
    cache.put(a, 0);
    CHECK(cache.get("a", 1) == a);
    CHECK(cache.get("b", 1) == nullptr);
    CacheStats s = cache.stats();
    CHECK(s.entries == 1);
    CHECK(s.bytes == a->byte_size());
    CHECK(s.hits == 1);
    CHECK(s.misses == 1);
  }

  TEST_CASE("replace: same id keeps one entry with the new record and its size") {
    ResultCache cache(CacheOptions{4, 100, 1 << 20, 1000});
    auto v1 = make_rec("a", 10, "w1");
    auto v2 = make_rec("a", 50, "w2");
    cache.put(v1, 0);
    auto held = cache.get("a", 0);
    cache.put(v2, 0);
    CHECK(cache.get("a", 0) == v2);
    CHECK(held->worker == "w1");  // a reader's record is untouched by replace
    CacheStats s = cache.stats();
    CHECK(s.entries == 1);
    CHECK(s.bytes == v2->byte_size());
    CHECK(s.evictions == 0);
  }

  TEST_CASE("replace restarts the TTL; reading does not") {
    ResultCache cache(one_shard(10, 1 << 20, 100));
    cache.put(make_rec("a"), 0);
    cache.put(make_rec("a"), 50);
    CHECK(cache.get("a", 140) != nullptr);  // read at 140 does not extend past 150
    CHECK(cache.get("a", 150) != nullptr);
    CHECK(cache.get("a", 151) == nullptr);
  }

  TEST_CASE("LRU: a touched entry survives, the least recently used goes") {
    ResultCache cache(one_shard(3));
    for (const char* id : {"a", "b", "c"}) cache.put(make_rec(id), 0);
    REQUIRE(cache.get("a", 0) != nullptr);  // order now (MRU->LRU): a c b
    cache.put(make_rec("d"), 0);
    CHECK(cache.contains("a", 0));
    CHECK_FALSE(cache.contains("b", 0));
    CHECK(cache.contains("c", 0));
    CHECK(cache.contains("d", 0));
    cache.put(make_rec("e"), 0);  // now c is LRU
    CHECK_FALSE(cache.contains("c", 0));
    CHECK(cache.stats().evictions == 2);
  }

  TEST_CASE("LRU: when every entry was read, the oldest read goes first") {
    ResultCache cache(one_shard(3));
    for (const char* id : {"a", "b", "c"}) cache.put(make_rec(id), 0);
    for (const char* id : {"a", "b", "c"}) REQUIRE(cache.get(id, 0) != nullptr);
    cache.put(make_rec("d"), 0);
    CHECK_FALSE(cache.contains("a", 0));
    for (const char* id : {"b", "c", "d"}) CHECK(cache.contains(id, 0));
    CHECK(cache.stats().evictions == 1);
  }

  TEST_CASE("LRU: a read entry that is not read again is evicted in its turn") {
    ResultCache cache(one_shard(2));
    cache.put(make_rec("a"), 0);
    cache.put(make_rec("b"), 0);
    REQUIRE(cache.get("a", 0) != nullptr);
    cache.put(make_rec("c"), 0);  // b goes; a is promoted, unmarked
    cache.put(make_rec("d"), 0);  // c goes
    cache.put(make_rec("e"), 0);  // a goes: its one read bought one round
    CHECK_FALSE(cache.contains("a", 0));
    CHECK(cache.contains("d", 0));
    CHECK(cache.contains("e", 0));
    CHECK(cache.stats().evictions == 3);
  }

  TEST_CASE("entry limit: one shard keeps the newest max_entries") {
    ResultCache cache(one_shard(5));
    for (int i = 0; i < 10; ++i) cache.put(make_rec("id" + std::to_string(i)), 0);
    CacheStats s = cache.stats();
    CHECK(s.entries == 5);
    CHECK(s.evictions == 5);
    for (int i = 0; i < 10; ++i) CHECK(cache.contains("id" + std::to_string(i), 0) == (i >= 5));
  }

  TEST_CASE("entry limit holds for the whole cache, not per shard") {
    // 4 shards, 10 entries: exactly 10 in all once 1000 ids fill every shard.
    ResultCache cache(CacheOptions{4, 10, 1 << 30, 1000});
    for (int i = 0; i < 1000; ++i) {
      cache.put(make_rec("id" + std::to_string(i)), 0);
      REQUIRE(cache.stats().entries == std::min(i + 1, 10));
    }
    CHECK(cache.stats().evictions == 1000 - 10);
  }

  TEST_CASE("byte limit evicts LRU entries until the cache fits") {
    const std::size_t unit = make_rec("a", 100)->byte_size();
    ResultCache cache(one_shard(100, 3 * unit));
    for (const char* id : {"a", "b", "c"}) cache.put(make_rec(id, 100), 0);
    CHECK(cache.stats().bytes == 3 * unit);
    cache.put(make_rec("d", 100), 0);
    CHECK_FALSE(cache.contains("a", 0));
    CHECK(cache.stats().entries == 3);
    // A record of just under two units pushes out the two oldest, not d.
    cache.put(make_rec("big", 100 + unit - 10), 0);  // 2 * unit - 8 bytes
    CacheStats s = cache.stats();
    CHECK(s.bytes <= 3 * unit);
    CHECK(cache.contains("big", 0));
    CHECK(cache.contains("d", 0));
    CHECK_FALSE(cache.contains("b", 0));
    CHECK_FALSE(cache.contains("c", 0));
    CHECK(s.evictions == 3);
  }

  TEST_CASE("a record larger than max_bytes is stored alone") {
    ResultCache cache(one_shard(100, 1000));
    cache.put(make_rec("a", 10), 0);
    cache.put(make_rec("b", 10), 0);
    auto huge = make_rec("huge", 5000);
    cache.put(huge, 0);
    CacheStats s = cache.stats();
    CHECK(s.entries == 1);
    CHECK(s.bytes == huge->byte_size());
    CHECK(s.evictions == 2);
    CHECK(cache.get("huge", 0) == huge);
    // The next put evicts it, since it alone is over budget.
    cache.put(make_rec("c", 10), 0);
    CHECK_FALSE(cache.contains("huge", 0));
    CHECK(cache.contains("c", 0));
    CHECK(cache.stats().bytes <= 1000);
  }

  TEST_CASE("TTL: an entry older than ttl is absent, removed by get and counted") {
    ResultCache cache(one_shard(10, 1 << 20, 100));
    cache.put(make_rec("a"), 1000);
    CHECK(cache.get("a", 1100) != nullptr);  // age == ttl: not older yet
    CHECK_FALSE(cache.contains("a", 1101));
    CHECK(cache.stats().entries == 1);       // contains() never removes
    CHECK(cache.get("a", 1101) == nullptr);
    CacheStats s = cache.stats();
    CHECK(s.entries == 0);
    CHECK(s.bytes == 0);
    CHECK(s.expirations == 1);
    CHECK(s.hits == 1);
    CHECK(s.misses == 1);
  }

  TEST_CASE("sweep_expired drops exactly the expired entries of every shard") {
    ResultCache cache(CacheOptions{8, 1000, 1 << 20, 100});
    for (int i = 0; i < 20; ++i) cache.put(make_rec("old" + std::to_string(i)), 0);
    for (int i = 0; i < 30; ++i) cache.put(make_rec("new" + std::to_string(i)), 50);
    CHECK(cache.sweep_expired(100) == 0);
    CHECK(cache.sweep_expired(101) == 20);
    CHECK(cache.stats().entries == 30);
    CHECK(cache.contains("new0", 101));
    CHECK(cache.sweep_expired(151) == 30);
    CacheStats s = cache.stats();
    CHECK(s.entries == 0);
    CHECK(s.bytes == 0);
    CHECK(s.expirations == 50);
  }

  TEST_CASE("sweep_expired is exact even when callers' clocks disagree") {
    ResultCache cache(one_shard(10, 1 << 20, 100));
    cache.put(make_rec("late"), 100);   // expires after 200
    cache.put(make_rec("early"), 50);   // put later by a thread whose clock lags
    CHECK(cache.sweep_expired(151) == 1);
    CHECK(cache.contains("late", 151));
    CHECK_FALSE(cache.contains("early", 151));
  }

  TEST_CASE("over the limit, an expired entry goes before a live LRU one") {
    ResultCache cache(one_shard(2, 1 << 20, 100));
    cache.put(make_rec("a"), 0);
    cache.put(make_rec("b"), 60);
    REQUIRE(cache.get("a", 70) != nullptr);  // b is now LRU, but a expires first
    cache.put(make_rec("c"), 105);
    CHECK(cache.contains("b", 105));
    CHECK(cache.contains("c", 105));
    CacheStats s = cache.stats();
    CHECK(s.entries == 2);
    CHECK(s.evictions == 0);
    CHECK(s.expirations == 1);
  }

  TEST_CASE("contains() touches neither the LRU mark nor counters") {
    ResultCache cache(one_shard(2));
    cache.put(make_rec("a"), 0);
    cache.put(make_rec("b"), 0);
    CHECK(cache.contains("a", 0));
    CHECK_FALSE(cache.contains("zz", 0));
    cache.put(make_rec("c"), 0);  // a was not marked by contains(): it goes
    CHECK_FALSE(cache.contains("a", 0));
    CacheStats s = cache.stats();
    CHECK(s.hits == 0);
    CHECK(s.misses == 0);
  }

  TEST_CASE("erase removes one entry and keeps the lists usable") {
    ResultCache cache(one_shard(3));
    auto b = make_rec("b", 40);
    cache.put(make_rec("a"), 0);
    cache.put(b, 0);
    cache.put(make_rec("c"), 0);
    CHECK(cache.erase("b"));
    CHECK_FALSE(cache.erase("b"));
    CHECK(cache.get("b", 0) == nullptr);
    CacheStats s = cache.stats();
    CHECK(s.entries == 2);
    CHECK(s.bytes == 2 * make_rec("a")->byte_size());
    for (const char* id : {"d", "e"}) cache.put(make_rec(id), 0);  // evicts a only
    CHECK_FALSE(cache.contains("a", 0));
    CHECK(cache.contains("c", 0));
    CHECK(cache.stats().evictions == 1);
  }

  TEST_CASE("clear empties every shard and keeps the counters") {
    ResultCache cache(CacheOptions{4, 100, 1 << 20, 1000});
    for (int i = 0; i < 10; ++i) cache.put(make_rec("id" + std::to_string(i)), 0);
    REQUIRE(cache.get("id3", 0) != nullptr);
    cache.clear();
    CacheStats s = cache.stats();
    CHECK(s.entries == 0);
    CHECK(s.bytes == 0);
    CHECK(s.hits == 1);
    CHECK(cache.get("id3", 0) == nullptr);
    cache.put(make_rec("id3"), 0);
    CHECK(cache.get("id3", 0) != nullptr);
  }

  TEST_CASE("stats counters are exact") {
    ResultCache cache(one_shard(2, 1 << 20, 10));
    cache.put(make_rec("a"), 0);
    cache.put(make_rec("b"), 0);
    cache.get("a", 0);            // hit
    cache.get("a", 1);            // hit
    cache.get("x", 1);            // miss
    cache.put(make_rec("c"), 1);  // evicts b
    cache.get("b", 1);            // miss
    cache.get("a", 11);           // expired: miss + expiration
    CacheStats s = cache.stats();
    CHECK(s.shards == 1);
    CHECK(s.entries == 1);
    CHECK(s.bytes == make_rec("c")->byte_size());
    CHECK(s.hits == 2);
    CHECK(s.misses == 3);
    CHECK(s.evictions == 1);
    CHECK(s.expirations == 1);
  }

  TEST_CASE("shards are rounded up to a power of two; bad options throw") {
    const std::pair<std::size_t, std::size_t> cases[] = {
        {1, 1}, {2, 2}, {3, 4}, {5, 8}, {16, 16}, {17, 32}};
    for (auto [asked, got] : cases) {
      ResultCache cache(CacheOptions{asked, 1000, 1 << 20, 1000});
      CHECK(cache.shard_count() == got);
      CHECK(cache.stats().shards == got);
    }
    CHECK_THROWS_AS(ResultCache(CacheOptions{0, 1, 1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(ResultCache(CacheOptions{1, 0, 1, 1}), std::invalid_argument);
    CHECK_THROWS_AS(ResultCache(CacheOptions{1, 1, 0, 1}), std::invalid_argument);
    CHECK_THROWS_AS(ResultCache(CacheOptions{1, 1, 1, 0}), std::invalid_argument);
    CHECK_THROWS_AS(ResultCache(CacheOptions{ResultCache::kMaxShards + 1, 1, 1, 1}),
                    std::invalid_argument);
  }

  TEST_CASE("concurrent get/put/erase/sweep from 4 threads keep the invariants") {
    constexpr int kThreads = 4;
    constexpr int kOps = 50000;
    constexpr int kIds = 1000;
    constexpr std::size_t kMaxEntries = 256;  // of 1000 ids: evictions happen
    ResultCache cache(CacheOptions{16, kMaxEntries, 1 << 30, 150});
    std::vector<std::string> ids;
    for (int i = 0; i < kIds; ++i) ids.push_back("task-" + std::to_string(i));
    auto payload_of = [](const std::string& id) { return id + "/" + id; };

    std::atomic<uint64_t> clock{0};  // shared clock: entries expire during the run
    std::atomic<uint64_t> gets{0};
    std::atomic<uint64_t> torn{0};  // doctest asserts stay on the main thread
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        uint64_t my_gets = 0;
        uint32_t x = 2654435761u * (t + 1);  // per-thread xorshift: overlapping ids
        for (int i = 0; i < kOps; ++i) {
          x ^= x << 13, x ^= x >> 17, x ^= x << 5;
          const std::string& id = ids[x % kIds];
          const uint64_t now = clock.fetch_add(1, std::memory_order_relaxed) / 8;
          switch (x >> 28) {
            case 0: cache.erase(id); break;
            case 1: cache.contains(id, now); break;
            case 2: if (t == 0) cache.sweep_expired(now); break;
            case 3: case 4: case 5: case 6: {
              auto r = std::make_shared<ResultRecord>();
              r->id = id;
              r->result = payload_of(id);
              r->worker = {'t', static_cast<char>('0' + t)};
              cache.put(std::move(r), now);
              break;
            }
            default: {
              ++my_gets;
              auto r = cache.get(id, now);
              if (r && (r->id != id || r->result != payload_of(id))) torn.fetch_add(1);
            }
          }
        }
        gets.fetch_add(my_gets);
      });
    }
    for (auto& th : threads) th.join();

    CacheStats s = cache.stats();
    CHECK(torn.load() == 0);
    CHECK(s.entries <= kMaxEntries);
    CHECK(s.hits + s.misses == gets.load());
    CHECK(s.evictions > 0);
    CHECK(s.expirations > 0);

    // Every record still present is intact and filed under its own id, and
    // the byte and entry accounting matches what is actually there.
    const uint64_t now = clock.load() / 8;
    cache.sweep_expired(now);
    std::size_t present = 0, bytes = 0;
    for (const auto& id : ids) {
      auto r = cache.get(id, now);
      if (!r) continue;
      ++present;
      bytes += r->byte_size();
      CHECK(r->id == id);
      CHECK(r->result == payload_of(id));
      CHECK(r->worker.size() == 2);
    }
    CacheStats after = cache.stats();
    CHECK(after.entries == present);
    CHECK(after.bytes == bytes);
    CHECK(after.hits + after.misses == gets.load() + kIds);
  }

  TEST_CASE("null record is ignored") {
    ResultCache cache(CacheOptions{});
    cache.put(nullptr, 0);
    CHECK(cache.stats().entries == 0);
  }
}
