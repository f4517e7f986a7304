// Micro-benchmarks of broker/result_cache (bar, benchmarks/README.md: at least 10M
// get/put per second from 2 threads; 16 shards beat 1 shard under
// contention). Each case runs on a pre-filled cache with 1 or 16 shards and
// 10k ids (hot set: mostly in the CPU caches) or 100k ids (random access
// over ~30 MB: bound by memory latency), from 1 and 2 threads. Wall-clock
// time is used (UseRealTime), so items_per_second is the total rate of all
// threads. Ids are picked at random (xorshift), a worst case for locality.
//
//   zfleet-cache-bench                       # everything
//   zfleet-cache-bench --benchmark_filter='Get/shards:16'
//   zfleet-cache-bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

#include "broker/result_cache.h"

namespace {

using zfleet::broker::CacheOptions;
using zfleet::broker::ResultCache;

constexpr uint64_t kNow = 1000;  // constant clock: nothing expires during a run

// Ids shaped like common::TaskIdGenerator's ("a1b2c3-1f", inline in
// std::string); small records, a msgpack integer as the result.
std::string make_id(std::size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "a1b2c3-%zx", i);
  return buf;
}

struct Fixture {
  std::unique_ptr<ResultCache> cache;
  std::vector<std::string> ids;
  std::vector<ResultCache::RecordPtr> records;  // one prebuilt record per id, for puts
};

// capacity < keys makes most puts of a new id evict an old one.
Fixture build(std::size_t shards, std::size_t keys, std::size_t capacity) {
  Fixture f;
  f.cache = std::make_unique<ResultCache>(CacheOptions{shards, capacity, 1ull << 32, 3600000});
  for (std::size_t i = 0; i < keys; ++i) {
    auto r = std::make_shared<zfleet::common::ResultRecord>();
    r->id = make_id(i);
    r->result = "\xcd\x01\x02";
    r->worker = "worker-1";
    f.ids.push_back(r->id);
    f.records.push_back(r);
    f.cache->put(r, kNow);
  }
  return f;
}

// Built once per (shards, keys, capacity), untimed, by the first thread to
// get here, and shared by the benchmark's threads.
Fixture& fixture(const benchmark::State& state, bool evicting) {
  const auto shards = static_cast<std::size_t>(state.range(0));
  const auto keys = static_cast<std::size_t>(state.range(1));
  const std::size_t capacity = evicting ? keys / 2 : keys;
  static std::mutex mu;
  static std::map<std::tuple<std::size_t, std::size_t, std::size_t>, Fixture> all;
  std::lock_guard lock(mu);
  auto key = std::make_tuple(shards, keys, capacity);
  auto it = all.find(key);
  if (it == all.end()) it = all.emplace(key, build(shards, keys, capacity)).first;
  return it->second;
}

// Per-thread random walk over the ids (xorshift32): no two threads march in
// step, and the access pattern defeats the CPU's prefetcher like real
// traffic would.
struct Rng {
  uint32_t x;
  std::size_t n;
  explicit Rng(const benchmark::State& state)
      : x(2463534242u + 7919u * static_cast<uint32_t>(state.thread_index())),
        n(static_cast<std::size_t>(state.range(1))) {}
  std::size_t next() {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x % n;
  }
};

void BM_Get(benchmark::State& state) {
  Fixture& f = fixture(state, false);
  Rng rng(state);
  for (auto _ : state) {
    benchmark::DoNotOptimize(f.cache->get(f.ids[rng.next()], kNow));
  }
  state.SetItemsProcessed(state.iterations());
}

// Replaces an existing entry: the common put when results are re-stored.
void BM_PutReplace(benchmark::State& state) {
  Fixture& f = fixture(state, false);
  Rng rng(state);
  for (auto _ : state) {
    f.cache->put(f.records[rng.next()], kNow);
  }
  state.SetItemsProcessed(state.iterations());
}

// The cache holds half the ids, so most puts insert a new entry (one map
// node allocation) and evict the LRU one: the steady state of a full cache.
void BM_PutEvict(benchmark::State& state) {
  Fixture& f = fixture(state, true);
  Rng rng(state);
  for (auto _ : state) {
    f.cache->put(f.records[rng.next()], kNow);
  }
  state.SetItemsProcessed(state.iterations());
}

// 90% get / 10% put (replace), the result-read-heavy mix.
void BM_Mixed90Get10Put(benchmark::State& state) {
  Fixture& f = fixture(state, false);
  Rng rng(state);
  unsigned n = 0;
  for (auto _ : state) {
    const std::size_t k = rng.next();
    if (++n == 10) {
      n = 0;
      f.cache->put(f.records[k], kNow);
    } else {
      benchmark::DoNotOptimize(f.cache->get(f.ids[k], kNow));
    }
  }
  state.SetItemsProcessed(state.iterations());
}

#define ZFLEET_CACHE_BENCH(fn)                                                          \
  BENCHMARK(fn)                                                                         \
      ->ArgNames({"shards", "keys"})                                                    \
      ->ArgsProduct({{1, 16}, {10000, 100000}})                                         \
      ->Threads(1)                                                                      \
      ->Threads(2)                                                                      \
      ->UseRealTime()

ZFLEET_CACHE_BENCH(BM_Get);
ZFLEET_CACHE_BENCH(BM_PutReplace);
ZFLEET_CACHE_BENCH(BM_PutEvict);
ZFLEET_CACHE_BENCH(BM_Mixed90Get10Put);

}  // namespace

BENCHMARK_MAIN();
