#include "broker/cache_shard.h"

#include <algorithm>
#include <limits>

namespace zfleet::broker {

namespace {

using cache_detail::Budget;
using cache_detail::Key;
using cache_detail::kAge;
using cache_detail::kLru;

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Locks a shard's std::mutex, trying a bounded number of times before
// blocking. A shard is held for well under a microsecond, while glibc's
// mutex puts a waiter to sleep at once (futex wait, then a futex wake by the
// holder): microseconds for a wait of nanoseconds. In cache_bench, 16
// shards from 2 threads, spinning first raised gets from about 8 to 12M/s
// and puts from about 4 to 6M/s. Past the bound (the holder was preempted),
// it blocks as usual.
class ShardLock {
 public:
  explicit ShardLock(std::mutex& mu) : mu_(mu) {
    for (int i = 0; i < kSpins; ++i) {
      if (mu_.try_lock()) return;
      cpu_relax();
    }
    mu_.lock();
  }
  ~ShardLock() { mu_.unlock(); }
  ShardLock(const ShardLock&) = delete;
  ShardLock& operator=(const ShardLock&) = delete;

 private:
  static constexpr int kSpins = 100;
  std::mutex& mu_;
};

// How many referenced entries one pass may move back to the MRU end before
// it evicts the LRU entry anyway: bounds the time a put holds the shard lock
// when every entry has been read since the last eviction.
constexpr int kMaxSecondChances = 64;

}  // namespace

bool CacheShard::put(RecordPtr rec, uint64_t hash, uint64_t now_ms, bool evict_live) {
  const std::size_t bytes = rec->byte_size();
  const common::ResultRecord* keep = rec.get();
  ShardLock lock(mu_);
  auto [it, inserted] = map_.try_emplace(Key{rec->id, hash});
  Entry* e = &it->second;
  std::size_t old_bytes = 0;
  if (!inserted) {
    unlink(e, kLru);
    unlink(e, kAge);
    old_bytes = e->bytes;
    it->first.id = rec->id;  // the old id's bytes die with the old record
  }
  e->rec = std::move(rec);
  e->referenced = false;
  e->hash = hash;
  e->bytes = bytes;
  e->expires_at_ms = cache_detail::saturating_add(now_ms, ttl_ms_);
  bytes_ += bytes - old_bytes;
  link_front(e, kLru);
  link_by_expiry(e);

  // A replace that does not grow the cache cannot push it over a limit: the
  // common re-store costs no shared write at all.
  if (!inserted && bytes <= old_bytes) {
    if (bytes < old_bytes) totals_->bytes.fetch_sub(old_bytes - bytes, std::memory_order_relaxed);
    return false;
  }
  const std::size_t added = inserted ? 1 : 0;
  Budget b{totals_->entries.load(std::memory_order_relaxed) + added,
           totals_->bytes.load(std::memory_order_relaxed) + bytes - old_bytes};
  shed_locked(b, now_ms, keep, evict_live);
  return publish_put(added, bytes - old_bytes, b);
}

// Publishes a put's net change: what it added minus what it removed. When
// the put evicted as much as it added (the steady state of a full cache)
// there is nothing to write. Otherwise the value the atomic add returns is
// exact at that instant, and says whether this put left the whole cache
// over a limit: its shard had nothing more to give, or a racing put took
// the room it saw. A limit this put did not grow is not its to enforce.
bool CacheShard::publish_put(std::size_t added, std::size_t grown_bytes, const Budget& b) {
  bool over = false;
  if (added > b.freed_entries) {
    const std::size_t net = added - b.freed_entries;
    over = totals_->entries.fetch_add(net, std::memory_order_relaxed) + net > totals_->max_entries;
  } else if (b.freed_entries > added) {
    totals_->entries.fetch_sub(b.freed_entries - added, std::memory_order_relaxed);
  }
  if (grown_bytes > b.freed_bytes) {
    const std::size_t net = grown_bytes - b.freed_bytes;
    over |= totals_->bytes.fetch_add(net, std::memory_order_relaxed) + net > totals_->max_bytes;
  } else if (b.freed_bytes > grown_bytes) {
    totals_->bytes.fetch_sub(b.freed_bytes - grown_bytes, std::memory_order_relaxed);
  }
  return over;
}

// With one TTL for all entries and a clock that mostly moves forward, the
// new entry expires last: the loop below usually stops at once. It only
// walks when callers' clocks disagree, which keeps kAge sorted regardless.
void CacheShard::link_by_expiry(Entry* e) {
  Entry* after = &head_;
  while (after->next[kAge] != &head_ && after->next[kAge]->expires_at_ms > e->expires_at_ms) {
    after = after->next[kAge];
  }
  e->prev[kAge] = after;
  e->next[kAge] = after->next[kAge];
  after->next[kAge]->prev[kAge] = e;
  after->next[kAge] = e;
}

// Expired entries go before live ones: evicting a live result while a dead
// one still holds memory would lose data for nothing. Then CLOCK: an entry
// at the LRU end that was read since it got there is moved to the MRU end
// with its mark cleared (the promotion get() deferred), and the first
// unmarked one is evicted. The entry holding `keep` (the record just put) is
// never removed, which is what lets an oversized record stay alone.
void CacheShard::shed_locked(Budget& b, uint64_t now_ms, const common::ResultRecord* keep,
                             bool evict_live) {
  int second_chances = 0;
  while (totals_->over(b.entries, b.bytes)) {
    Entry* oldest = back(kAge);
    if (oldest != nullptr && oldest->rec.get() != keep && expired(*oldest, now_ms)) {
      b.removed(remove(oldest));
      ++expirations_;
      continue;
    }
    if (!evict_live) return;
    Entry* victim = back(kLru);
    if (victim == nullptr) return;
    if (victim->rec.get() == keep) {
      if (map_.size() == 1) return;  // nothing else left here
      unlink(victim, kLru);
      link_front(victim, kLru);
      continue;
    }
    if (victim->referenced && second_chances++ < kMaxSecondChances) {
      victim->referenced = false;
      unlink(victim, kLru);
      link_front(victim, kLru);
      continue;
    }
    b.removed(remove(victim));
    ++evictions_;
  }
}

bool CacheShard::shed(uint64_t now_ms, const common::ResultRecord* keep, bool evict_live) {
  ShardLock lock(mu_);
  Budget b{totals_->entries.load(std::memory_order_relaxed),
           totals_->bytes.load(std::memory_order_relaxed)};
  shed_locked(b, now_ms, keep, evict_live);
  publish_removed(b.freed_entries, b.freed_bytes);
  return totals_->over(b.entries, b.bytes);
}

void CacheShard::publish_removed(std::size_t entries, std::size_t bytes) {
  if (entries > 0) totals_->entries.fetch_sub(entries, std::memory_order_relaxed);
  if (bytes > 0) totals_->bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

std::size_t CacheShard::remove(Entry* e) {
  const std::size_t bytes = e->bytes;
  unlink(e, kLru);
  unlink(e, kAge);
  bytes_ -= bytes;
  // find, then erase by iterator: erase(key) would compare against a key
  // that lives in the very node being destroyed.
  map_.erase(map_.find(Key{e->rec->id, e->hash}));
  return bytes;
}

CacheShard::RecordPtr CacheShard::get(std::string_view id, uint64_t hash, uint64_t now_ms) {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  Entry* e = &it->second;
  if (expired(*e, now_ms)) {
    publish_removed(1, remove(e));
    ++expirations_;
    ++misses_;
    return nullptr;
  }
  // Mark instead of moving to the MRU end now: the move would rewrite the
  // entry, both list neighbours and the sentinel, cache lines the other core
  // must then fetch back; a mark is written once per trip down the list.
  // shed_locked() does the move if the entry ever reaches the LRU end.
  if (!e->referenced) e->referenced = true;
  ++hits_;
  return e->rec;
}

bool CacheShard::contains(std::string_view id, uint64_t hash, uint64_t now_ms) const {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  return it != map_.end() && !expired(it->second, now_ms);
}

bool CacheShard::erase(std::string_view id, uint64_t hash) {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  if (it == map_.end()) return false;
  publish_removed(1, remove(&it->second));
  return true;
}

void CacheShard::clear() {
  Map dropped;  // destroyed after the unlock: freeing is the slow part
  ShardLock lock(mu_);
  publish_removed(map_.size(), bytes_);
  dropped.swap(map_);
  for (int l : {kLru, kAge}) head_.prev[l] = head_.next[l] = &head_;
  bytes_ = 0;
}

std::size_t CacheShard::sweep_expired(uint64_t now_ms, uint64_t* earliest) {
  ShardLock lock(mu_);
  std::size_t n = 0, bytes = 0;
  Entry* e = back(kAge);
  for (; e != nullptr && expired(*e, now_ms); e = back(kAge)) {
    bytes += remove(e);
    ++n;
  }
  if (e != nullptr) *earliest = std::min(*earliest, e->expires_at_ms);
  publish_removed(n, bytes);
  expirations_ += n;
  return n;
}

void CacheShard::add_counters(CacheStats& s) const {
  ShardLock lock(mu_);
  s.hits += hits_;
  s.misses += misses_;
  s.evictions += evictions_;
  s.expirations += expirations_;
}

}  // namespace zfleet::broker
