#include "broker/result_cache.h"

#include <xxhash.h>

#include <bit>
#include <limits>
#include <stdexcept>
#include <string>

#include "broker/cache_shard.h"

namespace zfleet::broker {

namespace {

uint64_t hash_id(std::string_view id) { return XXH3_64bits(id.data(), id.size()); }

}  // namespace

ResultCache::ResultCache(CacheOptions options) {
  if (options.shards == 0 || options.shards > kMaxShards) {
    throw std::invalid_argument("cache.shards must be in [1, " + std::to_string(kMaxShards) +
                                "], got " + std::to_string(options.shards));
  }
  if (options.max_entries == 0) throw std::invalid_argument("cache.max_entries must be >= 1");
  if (options.max_bytes == 0) throw std::invalid_argument("cache.max_bytes must be >= 1");
  if (options.ttl_ms == 0) throw std::invalid_argument("cache ttl must be >= 1 ms");
  const std::size_t n = std::bit_ceil(options.shards);
  shard_mask_ = n - 1;
  ttl_ms_ = options.ttl_ms;
  totals_ = std::make_unique<CacheTotals>();
  totals_->max_entries = options.max_entries;
  totals_->max_bytes = options.max_bytes;
  shards_ = std::make_unique<CacheShard[]>(n);
  for (std::size_t i = 0; i < n; ++i) shards_[i].configure(totals_.get(), options.ttl_ms);
}

ResultCache::~ResultCache() = default;

CacheShard& ResultCache::shard_for(uint64_t hash) const { return shards_[hash & shard_mask_]; }

void ResultCache::put(RecordPtr rec, uint64_t now_ms) {
  if (!rec) return;
  const uint64_t h = hash_id(rec->id);
  const common::ResultRecord* keep = rec.get();
  // Lowered before the entry exists, so the floor stays a lower bound.
  lower_expiry_floor(cache_detail::saturating_add(now_ms, ttl_ms_));
  // While an expired entry may sit in another shard, the own shard drops
  // only its expired entries under this first lock; live ones wait until
  // make_room() has swept the others (expired anywhere goes first).
  const bool expired_elsewhere =
      now_ms > hints_.expiry_floor_ms.load(std::memory_order_relaxed);
  CacheShard& own = shard_for(h);
  if (own.put(std::move(rec), h, now_ms, !expired_elsewhere)) {
    make_room(own, keep, now_ms, expired_elsewhere);
  }
}

void ResultCache::lower_expiry_floor(uint64_t expires_at_ms) {
  uint64_t floor = hints_.expiry_floor_ms.load(std::memory_order_relaxed);
  while (expires_at_ms < floor &&
         !hints_.expiry_floor_ms.compare_exchange_weak(floor, expires_at_ms,
                                                       std::memory_order_relaxed)) {
  }
}

// The slow path of a put that left the whole cache over a limit: its own
// shard had nothing more to give (only the new entry, or nothing but live
// entries while expired ones may be elsewhere), or a racing put took the
// room it made. Visits one shard at a time and never holds two shard locks,
// so puts working from different shards cannot deadlock.
void ResultCache::make_room(CacheShard& own, const common::ResultRecord* keep, uint64_t now_ms,
                            bool sweep_first) {
  if (sweep_first) {
    sweep_expired(now_ms);
    if (!totals_->over()) return;
  }
  if (!own.shed(now_ms, keep, true)) return;
  const std::size_t start = hints_.victim_cursor.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t i = 0; i <= shard_mask_; ++i) {
    CacheShard& s = shards_[(start + i) & shard_mask_];
    if (&s != &own && !s.shed(now_ms, keep, true)) return;
  }
  // Still over: every other entry is gone, and the new record is larger
  // than max_bytes by itself (or racing puts keep adding; each of them
  // makes room for what it adds).
}

ResultCache::RecordPtr ResultCache::get(std::string_view id, uint64_t now_ms) {
  const uint64_t h = hash_id(id);
  return shard_for(h).get(id, h, now_ms);
}

bool ResultCache::contains(std::string_view id, uint64_t now_ms) const {
  const uint64_t h = hash_id(id);
  return shard_for(h).contains(id, h, now_ms);
}

bool ResultCache::erase(std::string_view id) {
  const uint64_t h = hash_id(id);
  return shard_for(h).erase(id, h);
}

void ResultCache::clear() {
  for (std::size_t i = 0; i <= shard_mask_; ++i) shards_[i].clear();
}

std::size_t ResultCache::sweep_expired(uint64_t now_ms) {
  uint64_t seen = hints_.expiry_floor_ms.load(std::memory_order_relaxed);
  uint64_t earliest = std::numeric_limits<uint64_t>::max();
  std::size_t n = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) n += shards_[i].sweep_expired(now_ms, &earliest);
  // The floor rises to what this sweep saw, unless a put lowered it
  // meanwhile (then that lower value stays).
  hints_.expiry_floor_ms.compare_exchange_strong(seen, earliest, std::memory_order_relaxed);
  return n;
}

CacheStats ResultCache::stats() const {
  CacheStats s;
  s.shards = shard_mask_ + 1;
  s.entries = totals_->entries.load(std::memory_order_relaxed);
  s.bytes = totals_->bytes.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i <= shard_mask_; ++i) shards_[i].add_counters(s);
  return s;
}

}  // namespace zfleet::broker
