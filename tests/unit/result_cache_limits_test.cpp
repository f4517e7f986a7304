// Regression tests of defect 7: result cache limits must hold for the WHOLE
// cache. max_bytes and max_entries used to be split evenly among the shards,
// so three 15 MiB results whose ids hashed to one shard evicted 137 finished
// results while the cache was at 5.9% of max_bytes, and max_entries: 3 with
// 16 shards held 11 entries (each shard had a budget of 3 / 16, rounded up
// to 1).
//
// Ids are chosen by brute force so that they land on a given shard (the
// cache picks a shard by XXH3_64bits(id) & (shards - 1)).
#include "broker/result_cache.h"

#include <doctest/doctest.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

using zfleet::broker::CacheOptions;
using zfleet::broker::CacheStats;
using zfleet::broker::ResultCache;
using zfleet::common::ResultRecord;

namespace {

constexpr std::size_t kShards = 16;
constexpr std::size_t kMiB = 1 << 20;

std::size_t shard_of(const std::string& id) {
  return XXH3_64bits(id.data(), id.size()) & (kShards - 1);
}

// `n` distinct ids, all on shard `shard` of a 16-shard cache.
std::vector<std::string> ids_on_shard(std::size_t shard, std::size_t n, const std::string& prefix) {
  std::vector<std::string> out;
  for (uint64_t i = 0; out.size() < n; ++i) {
    std::string id = prefix + std::to_string(i);
    if (shard_of(id) == shard) out.push_back(std::move(id));
  }
  return out;
}

ResultCache::RecordPtr limits_rec(const std::string& id, std::size_t payload = 8) {
  auto r = std::make_shared<ResultRecord>();
  r->id = id;
  r->result.assign(payload, 'x');
  return r;
}

// Recounts what is really in the cache for `ids` and checks the totals that
// stats() reports (the counters the limits are enforced against).
void check_accounting(ResultCache& cache, const std::vector<std::string>& ids) {
  std::size_t present = 0, bytes = 0;
  for (const auto& id : ids) {
    if (auto r = cache.get(id, 0)) {
      ++present;
      bytes += r->byte_size();
    }
  }
  CacheStats s = cache.stats();
  CHECK(s.entries == present);
  CHECK(s.bytes == bytes);
}

}  // namespace

TEST_SUITE("result_cache_limits") {
  TEST_CASE("big and small results on one shard: nothing evicted under max_bytes") {
    ResultCache cache(CacheOptions{kShards, 100000, 64 * kMiB, 1000000});
    auto ids = ids_on_shard(3, 203, "t-");
    for (std::size_t i = 0; i < 200; ++i) cache.put(limits_rec(ids[i], 1000), 0);
    for (std::size_t i = 200; i < 203; ++i) cache.put(limits_rec(ids[i], 15 * kMiB), 0);
    CacheStats s = cache.stats();
    CHECK(s.entries == 203);
    CHECK(s.evictions == 0);
    CHECK(s.bytes < 64 * kMiB);
    CHECK(s.bytes > 45 * kMiB);
    for (const auto& id : ids) CHECK(cache.contains(id, 0));
  }

  TEST_CASE("max_entries 3 with 16 shards holds at most 3, wherever the ids land") {
    ResultCache cache(CacheOptions{kShards, 3, 1 << 30, 1000000});
    std::vector<std::string> ids;
    for (int i = 0; i < 500; ++i) ids.push_back("id-" + std::to_string(i));
    for (std::size_t i = 0; i < ids.size(); ++i) {
      cache.put(limits_rec(ids[i]), 0);
      REQUIRE(cache.stats().entries == std::min<std::size_t>(i + 1, 3));
      REQUIRE(cache.contains(ids[i], 0));  // a put never evicts its own record
    }
    CHECK(cache.stats().evictions == 500 - 3);
    check_accounting(cache, ids);
  }

  TEST_CASE("a full cache evicts from the putting shard first, then from the others") {
    ResultCache cache(CacheOptions{kShards, 4, 1 << 30, 1000000});
    auto a = ids_on_shard(1, 3, "a-");
    auto b = ids_on_shard(2, 3, "b-");
    for (const auto& id : {a[0], a[1], b[0], b[1]}) cache.put(limits_rec(id), 0);
    cache.put(limits_rec(b[2]), 0);  // own shard has room to give: b[0] goes
    CHECK_FALSE(cache.contains(b[0], 0));
    for (const auto& id : {a[0], a[1], b[1], b[2]}) CHECK(cache.contains(id, 0));
    // Shard 5 holds nothing but the new entry: another shard gives.
    auto c = ids_on_shard(5, 1, "c-");
    cache.put(limits_rec(c[0]), 0);
    CacheStats s = cache.stats();
    CHECK(s.entries == 4);
    CHECK(s.evictions == 2);
    CHECK(cache.contains(c[0], 0));
    check_accounting(cache, {a[0], a[1], b[0], b[1], b[2], c[0]});
  }

  TEST_CASE("an expired entry in another shard goes before a live one in the own shard") {
    ResultCache cache(CacheOptions{kShards, 3, 1 << 30, 100});
    auto a = ids_on_shard(1, 1, "a-");
    auto b = ids_on_shard(2, 3, "b-");
    cache.put(limits_rec(a[0]), 0);     // expires after 100
    cache.put(limits_rec(b[0]), 60);
    cache.put(limits_rec(b[1]), 60);
    cache.put(limits_rec(b[2]), 101);   // full; a[0] is expired, b's are live
    for (const auto& id : {b[0], b[1], b[2]}) CHECK(cache.contains(id, 101));
    CacheStats s = cache.stats();
    CHECK(s.entries == 3);
    CHECK(s.evictions == 0);
    CHECK(s.expirations == 1);
  }

  TEST_CASE("bytes never exceed max_bytes, except one oversized record alone") {
    const std::size_t max_bytes = 200000;
    ResultCache cache(CacheOptions{kShards, 100000, max_bytes, 1000000});
    // A third of the ids on shard 7, to skew the shards.
    std::vector<std::string> all;
    for (int i = 0; i < 3000; ++i) {
      std::string id = "u-" + std::to_string(i);
      all.push_back(i % 3 == 0 ? ids_on_shard(7, 1, id + "-").front() : id);
    }
    uint32_t x = 12345;
    for (const std::string& id : all) {
      x ^= x << 13, x ^= x >> 17, x ^= x << 5;
      // Mostly small, some large, one in 200 larger than the whole budget.
      std::size_t size = x % 200 == 0 ? max_bytes + 1000 : x % 10 == 0 ? 30000 : x % 500;
      auto rec = limits_rec(id, size);
      cache.put(rec, 0);
      CacheStats s = cache.stats();
      if (rec->byte_size() > max_bytes) {
        REQUIRE(s.entries == 1);  // everything else made room
        REQUIRE(s.bytes == rec->byte_size());
        REQUIRE(cache.get(id, 0) == rec);
      } else {
        REQUIRE(s.bytes <= max_bytes);
        REQUIRE(cache.contains(id, 0));  // a put never evicts its own record
      }
    }
    check_accounting(cache, all);
  }

  TEST_CASE("evictions are exact: one per entry over max_entries, none before") {
    ResultCache cache(CacheOptions{kShards, 100, 1 << 30, 1000000});
    auto hot = ids_on_shard(0, 150, "hot-");
    for (std::size_t i = 0; i < 100; ++i) cache.put(limits_rec(hot[i]), 0);
    CHECK(cache.stats().evictions == 0);
    for (std::size_t i = 0; i < 100; i += 2) cache.put(limits_rec(hot[i], 20), 0);  // replace
    CHECK(cache.stats().evictions == 0);
    CHECK(cache.stats().entries == 100);
    for (std::size_t i = 100; i < 150; ++i) cache.put(limits_rec("cold-" + std::to_string(i)), 0);
    CacheStats s = cache.stats();
    CHECK(s.entries == 100);
    CHECK(s.evictions == 50);
    CHECK(s.expirations == 0);
    std::vector<std::string> ids = hot;
    for (std::size_t i = 100; i < 150; ++i) ids.push_back("cold-" + std::to_string(i));
    check_accounting(cache, ids);
  }

  TEST_CASE("erase, clear and sweeps give their room back to the whole cache") {
    ResultCache cache(CacheOptions{kShards, 4, 1 << 30, 100});
    auto a = ids_on_shard(4, 4, "a-");
    for (const auto& id : a) cache.put(limits_rec(id), 0);
    CHECK(cache.erase(a[0]));
    auto b = ids_on_shard(9, 2, "b-");
    cache.put(limits_rec(b[0]), 0);  // fills the freed slot: no eviction
    CHECK(cache.stats().evictions == 0);
    CHECK(cache.sweep_expired(101) == 4);
    CHECK(cache.stats().entries == 0);
    CHECK(cache.stats().bytes == 0);
    for (const auto& id : a) cache.put(limits_rec(id), 200);
    cache.clear();
    cache.put(limits_rec(b[1]), 200);
    CacheStats s = cache.stats();
    CHECK(s.entries == 1);
    CHECK(s.bytes == limits_rec(b[1])->byte_size());
    CHECK(s.evictions == 0);
  }

  TEST_CASE("concurrent puts on colliding and spread ids keep the whole-cache limits") {
    constexpr int kThreads = 4;
    constexpr std::size_t kMaxEntries = 64;
    constexpr std::size_t kMaxBytes = 40000;
    ResultCache cache(CacheOptions{kShards, kMaxEntries, kMaxBytes, 1000000});
    std::vector<std::string> ids = ids_on_shard(11, 300, "c-");
    for (int i = 0; i < 300; ++i) ids.push_back("s-" + std::to_string(i));
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        uint32_t x = 2654435761u * (t + 1);
        for (int i = 0; i < 20000; ++i) {
          x ^= x << 13, x ^= x >> 17, x ^= x << 5;
          cache.put(limits_rec(ids[x % ids.size()], (x >> 8) % 1200), 0);
          if (x % 3 == 0) cache.get(ids[(x >> 4) % ids.size()], 0);
        }
      });
    }
    for (auto& th : threads) th.join();
    // At rest the limits hold exactly, and the totals match the content.
    CacheStats s = cache.stats();
    CHECK(s.entries <= kMaxEntries);
    CHECK(s.bytes <= kMaxBytes);
    CHECK(s.evictions > 0);
    check_accounting(cache, ids);
  }
}
