// ResultCache: the broker's store of finished task results (DESIGN.md
// decision 4), read by the result threads and written by the dispatcher.
//
// Owns: shared references to immutable ResultRecords, keyed by record id,
// split over N shards (N = options.shards rounded up to a power of two). A
// shard is picked by XXH3_64bits(id) & (N - 1) and has its own mutex, LRU
// list, expiry list and hash map, so threads working on different ids rarely
// meet on a lock (the layout of leveldb's ShardedLRUCache).
//
// Contract:
// - Limits hold for the WHOLE cache: it never holds more than max_entries
//   entries nor more than max_bytes bytes (ResultRecord::byte_size()), and a
//   result is evicted only when the whole cache would otherwise be over a
//   limit. Shards have no budget of their own: one shard may hold most of
//   the cache. (Under concurrent puts, a racing put may evict one entry
//   more than strictly needed, leaving the cache just under the limit; the
//   limits hold whenever no put is in progress.)
// - Which entries go, when a put pushes the whole cache over a limit:
//   1. expired entries, anywhere: those of the put's own shard, and those
//      of every shard (one sweep) when any may be expired;
//   2. the put's own shard's least recently used entries (CLOCK, below);
//   3. if its shard has nothing left, other shards' LRU entries, one shard
//      at a time, starting from a round-robin cursor so no shard is always
//      the victim.
//   The entry just put is never the one evicted by its own put. Every
//   entry evicted to respect a limit is counted in `evictions`, every
//   expired one removed in `expirations`.
// - LRU with lazy promotion (CLOCK, "second chance"): put() places an entry
//   at the MRU end; a get() hit only marks it. When a put must evict, a
//   marked entry found at the LRU end is unmarked and moved to the MRU end
//   instead (the promotion the hit deferred), and the first unmarked one is
//   evicted. So an entry read since it was put or last promoted always
//   survives the next eviction in its shard, as under strict LRU; eviction
//   order differs from strict LRU only among entries that were all read.
//   LRU order is kept per shard, not across shards.
//   Why: moving on every hit rewrites the entry, both list neighbours and
//   the list head, lines the other core then has to fetch back; it cut
//   2-thread get throughput about 3x in cache_bench. One put moves at most
//   64 marked entries before it evicts regardless, to bound lock hold time.
// - Oversized records: a record larger than max_bytes by itself is STILL
//   stored, evicting every other entry of the cache, so a finished task
//   never turns into `unknown` the moment it completes. It is then the only
//   entry (the one case where bytes exceed max_bytes), and a record is
//   bounded by the broker's max_message_bytes. The next put evicts it.
// - TTL: an entry put at time t is expired once now_ms > t + ttl_ms (it is
//   older than ttl). Expired entries are treated as absent by get() and
//   contains(); get(), sweep_expired() and a put() that needs room remove
//   them (counted in `expirations`). Replacing an entry restarts its TTL;
//   reading does not. Callers pass a clock in milliseconds; it need not be
//   strictly monotonic across threads.
// - get() counts exactly one hit or one miss per call (an expired entry is a
//   miss and an expiration) and marks a hit as recently used. contains()
//   only looks: no mark, no counter. erase()/clear() count nothing; counters
//   are cumulative for the cache's lifetime (clear() does not reset them).
//
// Thread safety: internally synchronized (one std::mutex per shard, tried
// briefly before blocking; no lock covers the whole cache, and no thread
// ever holds two shard locks). The whole cache's entry and byte totals are
// two atomics that puts growing the cache update (gets never touch them).
// Every method may be called from any thread at once. stats() reads the
// totals and sums the shards' counters one shard at a time, so under
// concurrent writes it is a near-snapshot, not an atomic one.
//
// Ownership: records are shared; a RecordPtr returned by get() stays valid
// (and unchanged) after the entry is evicted, replaced or erased.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "common/result_record.h"

namespace zfleet::broker {

class CacheShard;    // cache_shard.h
struct CacheTotals;  // cache_shard.h

struct CacheOptions {
  std::size_t shards = 16;             // rounded up to a power of two; >= 1
  std::size_t max_entries = 1000000;   // whole cache; >= 1
  std::size_t max_bytes = 536870912;   // whole cache; >= 1
  uint64_t ttl_ms = 3600000;           // >= 1
};

struct CacheStats {
  std::size_t shards = 0;
  std::size_t entries = 0;
  std::size_t bytes = 0;
  uint64_t hits = 0;
  uint64_t misses = 0;
  uint64_t evictions = 0;    // live entries dropped to respect max_entries / max_bytes
  uint64_t expirations = 0;  // dropped because older than ttl
};

class ResultCache {
 public:
  using RecordPtr = std::shared_ptr<const common::ResultRecord>;

  // Upper bound on options.shards, so rounding up cannot overflow and a typo
  // cannot allocate millions of mutexes.
  static constexpr std::size_t kMaxShards = 65536;

  // Throws std::invalid_argument if shards is 0 or above kMaxShards, or if
  // max_entries, max_bytes or ttl_ms is 0 (start-up configuration errors).
  explicit ResultCache(CacheOptions options);
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  // Inserts, or replaces the entry with the same rec->id; the entry becomes
  // MRU (unmarked) with a fresh TTL. May remove expired entries and evict
  // LRU ones when the whole cache is over a limit (see the header comment).
  // A null rec is ignored.
  void put(RecordPtr rec, uint64_t now_ms);

  // The record for id, or nullptr if absent or expired. A hit marks the
  // entry as recently used. Does not allocate.
  RecordPtr get(std::string_view id, uint64_t now_ms);

  // True if id is present and not expired. Touches neither the LRU mark nor
  // counters, and never removes: for duplicate-id checks.
  bool contains(std::string_view id, uint64_t now_ms) const;

  // Removes id; true if it was present (expired or not).
  bool erase(std::string_view id);

  // Removes every entry; counters are kept.
  void clear();

  // Removes every expired entry of every shard, one shard lock at a time;
  // returns how many. Cost is one lock per shard plus the number removed.
  std::size_t sweep_expired(uint64_t now_ms);

  CacheStats stats() const;

  std::size_t shard_count() const { return shard_mask_ + 1; }

 private:
  CacheShard& shard_for(uint64_t hash) const;
  void lower_expiry_floor(uint64_t expires_at_ms);
  void make_room(CacheShard& own, const common::ResultRecord* keep, uint64_t now_ms,
                 bool sweep_first);

  // Constant after construction:
  std::unique_ptr<CacheTotals> totals_;  // the whole cache's size and limits
  std::unique_ptr<CacheShard[]> shards_;
  std::size_t shard_mask_ = 0;
  uint64_t ttl_ms_ = 0;

  // Written rarely (by puts that must make room, sweeps, and a put whose
  // entry expires before all others): kept off the cache line that every
  // get reads (shards_, shard_mask_).
  struct alignas(64) Hints {
    // No entry expires before this (a hint: a put racing a sweep may leave
    // it a little high; then its expired entry waits for the next sweep or
    // a put to its own shard). Lets a put know, without visiting the
    // shards, whether an expired entry may sit in another shard.
    std::atomic<uint64_t> expiry_floor_ms{UINT64_MAX};
    // Where the next search for a victim in other shards starts.
    std::atomic<std::size_t> victim_cursor{0};
  };
  Hints hints_;
};

}  // namespace zfleet::broker
