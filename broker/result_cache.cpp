#include "broker/result_cache.h"

#include <xxhash.h>

#include <bit>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace zfleet::broker {

namespace {

uint64_t hash_id(std::string_view id) { return XXH3_64bits(id.data(), id.size()); }

uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > std::numeric_limits<uint64_t>::max() - b ? std::numeric_limits<uint64_t>::max()
                                                      : a + b;
}

std::size_t ceil_div(std::size_t a, std::size_t b) { return a / b + (a % b != 0); }

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

// How many referenced entries one put may move back to the MRU end before
// it evicts the LRU entry anyway: bounds the time a put holds the shard lock
// when every entry has been read since the last eviction.
constexpr int kMaxSecondChances = 64;

}  // namespace

// One lock domain. Aligned to a cache line so two shards' mutexes and
// counters never share one (no false sharing between threads on different
// shards). Counters are plain integers: they only change under mu_.
class alignas(64) ResultCache::Shard {
 public:
  void configure(std::size_t max_entries, std::size_t max_bytes, uint64_t ttl_ms) {
    max_entries_ = max_entries;
    max_bytes_ = max_bytes;
    ttl_ms_ = ttl_ms;
  }

  void put(RecordPtr rec, uint64_t hash, uint64_t now_ms);
  RecordPtr get(std::string_view id, uint64_t hash, uint64_t now_ms);
  bool contains(std::string_view id, uint64_t hash, uint64_t now_ms) const;
  bool erase(std::string_view id, uint64_t hash);
  void clear();
  std::size_t sweep_expired(uint64_t now_ms);
  void add_stats(CacheStats& s) const;

 private:
  using Map = std::unordered_map<Key, Entry, KeyHash, KeyEq>;

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
  void remove(Entry* e);
  void enforce_limits(Entry* keep, uint64_t now_ms);

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
  // Constant after construction:
  std::size_t max_entries_ = 0;
  std::size_t max_bytes_ = 0;
  uint64_t ttl_ms_ = 0;
};

void ResultCache::Shard::put(RecordPtr rec, uint64_t hash, uint64_t now_ms) {
  const std::size_t bytes = rec->byte_size();
  ShardLock lock(mu_);
  auto [it, inserted] = map_.try_emplace(Key{rec->id, hash});
  Entry* e = &it->second;
  if (!inserted) {
    unlink(e, kLru);
    unlink(e, kAge);
    bytes_ -= e->bytes;
    it->first.id = rec->id;  // the old id's bytes die with the old record
  }
  e->rec = std::move(rec);
  e->referenced = false;
  e->hash = hash;
  e->bytes = bytes;
  e->expires_at_ms = saturating_add(now_ms, ttl_ms_);
  bytes_ += bytes;
  link_front(e, kLru);
  link_by_expiry(e);
  enforce_limits(e, now_ms);
}

// With one TTL for all entries and a clock that mostly moves forward, the
// new entry expires last: the loop below usually stops at once. It only
// walks when callers' clocks disagree, which keeps kAge sorted regardless.
void ResultCache::Shard::link_by_expiry(Entry* e) {
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
// unmarked one is evicted. `keep` (the entry just put) is never evicted,
// which is what lets an oversized record stay alone.
void ResultCache::Shard::enforce_limits(Entry* keep, uint64_t now_ms) {
  int second_chances = 0;
  while (map_.size() > max_entries_ || bytes_ > max_bytes_) {
    Entry* oldest = back(kAge);
    if (oldest != keep && oldest != nullptr && expired(*oldest, now_ms)) {
      remove(oldest);
      ++expirations_;
      continue;
    }
    Entry* victim = back(kLru);
    if (victim == nullptr || map_.size() == 1) break;
    if (victim == keep || (victim->referenced && second_chances++ < kMaxSecondChances)) {
      victim->referenced = false;
      unlink(victim, kLru);
      link_front(victim, kLru);
      continue;
    }
    remove(victim);
    ++evictions_;
  }
}

void ResultCache::Shard::remove(Entry* e) {
  unlink(e, kLru);
  unlink(e, kAge);
  bytes_ -= e->bytes;
  // find, then erase by iterator: erase(key) would compare against a key
  // that lives in the very node being destroyed.
  map_.erase(map_.find(Key{e->rec->id, e->hash}));
}

ResultCache::RecordPtr ResultCache::Shard::get(std::string_view id, uint64_t hash,
                                               uint64_t now_ms) {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  if (it == map_.end()) {
    ++misses_;
    return nullptr;
  }
  Entry* e = &it->second;
  if (expired(*e, now_ms)) {
    remove(e);
    ++expirations_;
    ++misses_;
    return nullptr;
  }
  // Mark instead of moving to the MRU end now: the move would rewrite the
  // entry, both list neighbours and the sentinel, cache lines the other core
  // must then fetch back; a mark is written once per trip down the list.
  // enforce_limits() does the move if the entry ever reaches the LRU end.
  if (!e->referenced) e->referenced = true;
  ++hits_;
  return e->rec;
}

bool ResultCache::Shard::contains(std::string_view id, uint64_t hash, uint64_t now_ms) const {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  return it != map_.end() && !expired(it->second, now_ms);
}

bool ResultCache::Shard::erase(std::string_view id, uint64_t hash) {
  ShardLock lock(mu_);
  auto it = map_.find(Key{id, hash});
  if (it == map_.end()) return false;
  remove(&it->second);
  return true;
}

void ResultCache::Shard::clear() {
  Map dropped;  // destroyed after the unlock: freeing is the slow part
  ShardLock lock(mu_);
  dropped.swap(map_);
  for (int l : {kLru, kAge}) head_.prev[l] = head_.next[l] = &head_;
  bytes_ = 0;
}

std::size_t ResultCache::Shard::sweep_expired(uint64_t now_ms) {
  ShardLock lock(mu_);
  std::size_t n = 0;
  for (Entry* e = back(kAge); e != nullptr && expired(*e, now_ms); e = back(kAge)) {
    remove(e);
    ++n;
  }
  expirations_ += n;
  return n;
}

void ResultCache::Shard::add_stats(CacheStats& s) const {
  ShardLock lock(mu_);
  s.entries += map_.size();
  s.bytes += bytes_;
  s.hits += hits_;
  s.misses += misses_;
  s.evictions += evictions_;
  s.expirations += expirations_;
}

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
  shards_ = std::make_unique<Shard[]>(n);
  for (std::size_t i = 0; i < n; ++i) {
    shards_[i].configure(ceil_div(options.max_entries, n), ceil_div(options.max_bytes, n),
                         options.ttl_ms);
  }
}

ResultCache::~ResultCache() = default;

ResultCache::Shard& ResultCache::shard_for(uint64_t hash) const {
  return shards_[hash & shard_mask_];
}

void ResultCache::put(RecordPtr rec, uint64_t now_ms) {
  if (!rec) return;
  const uint64_t h = hash_id(rec->id);
  shard_for(h).put(std::move(rec), h, now_ms);
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
  std::size_t n = 0;
  for (std::size_t i = 0; i <= shard_mask_; ++i) n += shards_[i].sweep_expired(now_ms);
  return n;
}

CacheStats ResultCache::stats() const {
  CacheStats s;
  s.shards = shard_mask_ + 1;
  for (std::size_t i = 0; i <= shard_mask_; ++i) shards_[i].add_stats(s);
  return s;
}

}  // namespace zfleet::broker
