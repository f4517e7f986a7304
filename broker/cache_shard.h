// CacheShard: one lock domain of ResultCache (result_cache.h states the
// cache's contract; this header only what a shard adds to it). Internal to
// ResultCache: nothing else includes it.
//
// Owns: a hash map of entries (shared references to immutable
// ResultRecords, keyed by id), an LRU list (CLOCK marks, see
// result_cache.h) and an expiry list, under one std::mutex.
//
// Whole-cache limits: every shard shares one CacheTotals (entries and bytes
// of the whole cache). A shard changes the totals only for what it adds or
// removes itself. When a put pushes the totals over a limit, the putting
// shard removes entries until the whole cache fits again, as far as its own
// entries allow; what it cannot free there, ResultCache frees from other
// shards through shed(), one shard lock at a time.
//
// How the totals stay within the limits without a global lock: a put
// publishes its net change (inserted minus removed) with one atomic add,
// and the value that add returns is exact at that instant. So the put that
// pushes the totals over a limit always sees it, and keeps removing until
// its own view fits. Removals by other threads can make a view too high,
// never too low: at worst a racing put evicts one entry more than needed.
//
// Thread safety: every method may be called from any thread at once; each
// takes this shard's mutex only, and never another shard's.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>

#include "broker/result_cache.h"
#include "common/result_record.h"

namespace zfleet::broker {

// The whole cache's size, shared by all shards; on a cache line of its own
// (puts that grow the cache write it, gets never touch it).
struct alignas(64) CacheTotals {
  std::atomic<std::size_t> entries{0};
  std::atomic<std::size_t> bytes{0};
  // Constant after construction:
  std::size_t max_entries = 0;
  std::size_t max_bytes = 0;

  bool over(std::size_t e, std::size_t b) const { return e > max_entries || b > max_bytes; }
  bool over() const {
    return over(entries.load(std::memory_order_relaxed), bytes.load(std::memory_order_relaxed));
  }
};

namespace cache_detail {

// now + ttl without wrapping: a huge ttl means "never expires".
inline uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

// The map key points into the record's own id (records are immutable and
// the entry holds a reference to its record), so neither insertion nor
// lookup copies the id. It carries the XXH3 hash already computed to pick
// the shard, so the map never hashes the id a second time.
//
// `id` is mutable so that replacing a record can re-point it at the new
// record's id (equal bytes, so the hash and equality the map relies on do not
// change) without taking the node out of the map.
struct Key {
  mutable std::string_view id;
  uint64_t hash;
};
struct KeyHash {
  std::size_t operator()(const Key& k) const noexcept { return static_cast<std::size_t>(k.hash); }
};
struct KeyEq {
  bool operator()(const Key& a, const Key& b) const noexcept {
    return a.hash == b.hash && a.id == b.id;
  }
};

// Each entry sits on two intrusive circular lists through the shard's
// sentinel: kLru by recency (front = MRU) for eviction, and kAge by expiry
// time (front = latest) so sweeping costs only what it removes.
enum ListKind : int { kLru = 0, kAge = 1 };

struct Entry {
  ResultCache::RecordPtr rec;
  uint64_t hash = 0;
  uint64_t expires_at_ms = 0;
  std::size_t bytes = 0;
  Entry* prev[2] = {this, this};
  Entry* next[2] = {this, this};
  bool referenced = false;  // hit since it last reached the LRU end (see get())
};

// What one caller has removed from a shard and how it sees the totals:
// `entries`/`bytes` are the totals as last read, plus what the caller added,
// minus what it removed since. `freed_*` are removals not yet published.
struct Budget {
  std::size_t entries = 0, bytes = 0;
  std::size_t freed_entries = 0, freed_bytes = 0;
  void removed(std::size_t b) {
    entries = entries > 0 ? entries - 1 : 0;  // a view read before others' removals
    bytes = bytes > b ? bytes - b : 0;        // may be lower than ours: never wrap
    ++freed_entries;
    freed_bytes += b;
  }
};

}  // namespace cache_detail

// One lock domain. Aligned to a cache line so two shards' mutexes and
// counters never share one (no false sharing between threads on different
// shards). Counters are plain integers: they only change under mu_.
class alignas(64) CacheShard {
 public:
  using RecordPtr = ResultCache::RecordPtr;

  // Before first use: the totals shared by every shard, and the TTL.
  void configure(CacheTotals* totals, uint64_t ttl_ms) {
    totals_ = totals;
    ttl_ms_ = ttl_ms;
  }

  // Inserts or replaces rec (hash = XXH3 of its id). If the whole cache is
  // then over a limit, removes this shard's expired entries and, when
  // `evict_live`, its CLOCK victims, never the new entry, until it fits.
  // Returns true if the whole cache is still over a limit because of this
  // put: the caller must free room elsewhere (ResultCache::make_room).
  bool put(RecordPtr rec, uint64_t hash, uint64_t now_ms, bool evict_live);

  // Reads the totals afresh and, while they are over a limit, removes this
  // shard's expired entries and then (when `evict_live`) its CLOCK victims,
  // never the entry holding `keep`. Returns true if the cache is still over.
  bool shed(uint64_t now_ms, const common::ResultRecord* keep, bool evict_live);

  RecordPtr get(std::string_view id, uint64_t hash, uint64_t now_ms);
  bool contains(std::string_view id, uint64_t hash, uint64_t now_ms) const;
  bool erase(std::string_view id, uint64_t hash);
  void clear();
  // Removes every expired entry; returns how many. Lowers `*earliest` to the
  // expiry time of the oldest entry left (untouched if none is left).
  std::size_t sweep_expired(uint64_t now_ms, uint64_t* earliest);
  // Adds hits, misses, evictions and expirations (entries and bytes come
  // from the totals).
  void add_counters(CacheStats& s) const;

 private:
  using Map = std::unordered_map<cache_detail::Key, cache_detail::Entry, cache_detail::KeyHash,
                                 cache_detail::KeyEq>;
  using Entry = cache_detail::Entry;

  static bool expired(const Entry& e, uint64_t now_ms) { return now_ms > e.expires_at_ms; }

  void link_front(Entry* e, int l) {
    e->prev[l] = &head_;
    e->next[l] = head_.next[l];
    head_.next[l]->prev[l] = e;
    head_.next[l] = e;
  }
  static void unlink(Entry* e, int l) {
    e->prev[l]->next[l] = e->next[l];
    e->next[l]->prev[l] = e->prev[l];
  }
  Entry* back(int l) { return head_.prev[l] == &head_ ? nullptr : head_.prev[l]; }

  void link_by_expiry(Entry* e);
  std::size_t remove(Entry* e);  // returns its bytes; totals untouched
  void shed_locked(cache_detail::Budget& b, uint64_t now_ms, const common::ResultRecord* keep,
                   bool evict_live);
  bool publish_put(std::size_t added, std::size_t grown_bytes, const cache_detail::Budget& b);
  void publish_removed(std::size_t entries, std::size_t bytes);

  // The mutex and the counters every get() bumps share the shard's first
  // cache line, so a get moves that one line between cores, not two.
  mutable std::mutex mu_;
  // guarded by mu_:
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
  Map map_;
  Entry head_;  // sentinel of both lists; its rec is always null
  std::size_t bytes_ = 0;
  uint64_t evictions_ = 0;
  uint64_t expirations_ = 0;
  // Constant after configure():
  CacheTotals* totals_ = nullptr;
  uint64_t ttl_ms_ = 0;
};

}  // namespace zfleet::broker
