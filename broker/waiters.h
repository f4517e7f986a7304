// Waiters: the long-poll `get` / `get_many` requests parked on one result
// thread, without a thread per waiter (PROTOCOL.md "get"). Each waiter keeps
// the request's envelope to answer later, its ids, what is already known of
// each id (Found), and a deadline; finished-task notices fill in the
// records, and the last one (or the deadline) releases the waiter.
//
// Why records are kept here: a get_many of a thousand ids would otherwise
// look every id up again in the live table and the result cache when it is
// answered; the notices already carry the records.
//
// Cost: every operation is O(1) per waiter and id, plus O(log N) per waiter
// for its deadline (a binary heap), whatever the number of waiters on one
// id. The index maps each id to a bucket: an intrusive list of slots, one
// per (waiter, pending id), held in the parked waiter itself. finished(id)
// walks the bucket of its id; an expiring waiter unlinks just its own
// slots, O(1) each. (Defect 8: the index used to
// be one multimap that each expiring waiter scanned for its own entries,
// so N waiters on one id cost O(N^2): 100,000 took 91 s.) A bucket is
// dropped as soon as it is empty, so an id nobody waits on any more costs
// nothing.
//
// Latency: a burst of waiters expiring together is answered in batches of
// kMaxExpiredPerCall (earliest deadline first), kExpiryPauseUs apart, so a
// result thread serves other requests (status, new gets) between batches
// instead of stalling for the whole burst. The pause matters as much as the
// batch: with several result threads every reply leaves through one proxy
// thread (router_proxy.h), in order, so threads answering a burst as fast
// as they can would queue tens of thousands of replies ahead of a status
// reply there. At 128 per ms per thread (at most 128,000 a second) the
// proxy keeps up on a 2-core machine: in test_waiters_scale, 100,000
// waiters expiring together on 2 result threads are all answered within
// about 0.55 s, each at most that late, while status answers in a few ms.
//
// Thread safety: owned by one result thread; not synchronized.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "common/protocol.h"
#include "common/result_record.h"

namespace zfleet::broker {

// What is known of one id: a finished task's record, or the state of a
// live (or unknown) one.
struct Found {
  common::TaskState state = common::TaskState::unknown;
  std::shared_ptr<const common::ResultRecord> rec;  // set when finished
  std::optional<uint64_t> run_after_ms;             // pending: delayed or waiting for a retry
  bool final() const { return rec || state == common::TaskState::unknown; }
};

struct Waiter {
  std::vector<zmq::message_t> envelope;
  std::string corr;
  std::vector<std::string> ids;
  std::vector<Found> found;   // one per id
  bool many = false;          // get_many: answer with `results`
  std::size_t remaining = 0;  // pending ids not finished yet
  uint64_t deadline_us = 0;
};

class Waiters {
 public:
  // Most waiters one expired() call returns, and the pause before the next
  // batch when a call left due waiters behind (see "Latency" above).
  static constexpr std::size_t kMaxExpiredPerCall = 128;
  static constexpr uint64_t kExpiryPauseUs = 1000;

  // Parks `w`, waiting on the ids at positions `pending` of w.ids (their
  // w.found entries hold a live state; the others are final already).
  void add(Waiter w, const std::vector<std::size_t>& pending);
  // A task finished: records it in every waiter on its id and returns the
  // waiters this completes (removed).
  std::vector<Waiter> finished(const std::shared_ptr<const common::ResultRecord>& rec) {
    bool more = false;
    return finished(rec, SIZE_MAX, more);
  }
  // The same for at most `max_slots` of the id's waiters (oldest first);
  // `more` tells whether some are left for another call with the same
  // record. Lets a result thread answer 100,000 waiters of one id in
  // groups, serving other requests between them.
  std::vector<Waiter> finished(const std::shared_ptr<const common::ResultRecord>& rec,
                               std::size_t max_slots, bool& more);
  // Returns waiters whose deadline passed (removed), earliest first: at
  // most kMaxExpiredPerCall, and none within kExpiryPauseUs of a call that
  // left due waiters behind. Call it again when next_timeout_us() runs out.
  std::vector<Waiter> expired(uint64_t now_us);
  // Microseconds until expired() has waiters to return (or `cap`): 0 if
  // some are due now.
  uint64_t next_timeout_us(uint64_t now_us, uint64_t cap) const;
  std::size_t size() const { return waiters_.size(); }
  // Removes and returns every parked waiter (the broker is stopping).
  std::vector<Waiter> take_all();
  // Ids with at least one waiter, and deadlines held (including those of
  // waiters already answered): for tests of the cleanup.
  std::size_t indexed_ids() const { return by_id_.size(); }
  std::size_t deadlines_held() const { return deadlines_.size(); }

 private:
  struct Parked;
  struct Bucket;
  // One pending id of a parked waiter, linked into its id's bucket: an
  // intrusive list, so parking costs no node of its own and a waiter
  // unlinks its slots in O(1) with no lookup.
  struct SlotRef {
    std::size_t pos = 0;       // into the waiter's ids / found
    Parked* owner = nullptr;
    Bucket* bucket = nullptr;  // null once unlinked
    SlotRef* prev = nullptr;
    SlotRef* next = nullptr;
  };
  // The slots waiting on one id, oldest first.
  struct Bucket {
    SlotRef* head = nullptr;
    SlotRef* tail = nullptr;
    std::size_t size = 0;
  };
  // Node-based map values: a Parked and its slots array never move while
  // the waiter is parked (the array is sized once, in add()).
  struct Parked {
    uint64_t serial = 0;
    Waiter w;
    std::vector<SlotRef> slots;
  };
  void unlink(SlotRef& ref);
  void unindex(Parked& p);
  void drop_stale_deadlines();

  // Stale deadlines tolerated before drop_stale_deadlines() rebuilds the heap.
  static constexpr std::size_t kMinStaleDeadlines = 1024;

  uint64_t next_serial_ = 1;
  uint64_t next_batch_us_ = 0;  // expired() returns nothing before this
  std::unordered_map<uint64_t, Parked> waiters_;
  // id -> its waiters' slots. Node-based: a Bucket* stays valid until its
  // id's entry is erased, which happens as soon as the bucket is empty.
  std::unordered_map<std::string, Bucket> by_id_;
  using Deadline = std::pair<uint64_t, uint64_t>;  // (deadline_us, serial)
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace zfleet::broker
