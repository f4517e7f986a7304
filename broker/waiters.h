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
// Cost: one index entry per pending id, keyed by a view into the parked
// waiter's own ids (no copy). A released waiter has no entries left (each
// notice removes the entries of its id), so only an expired waiter needs
// its remaining entries removed.
//
// Thread safety: owned by one result thread; not synchronized.
#pragma once

#include <cstdint>
#include <memory>
#include <queue>
#include <string>
#include <string_view>
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
  // Parks `w`, waiting on the ids at positions `pending` of w.ids (their
  // w.found entries hold a live state; the others are final already).
  void add(Waiter w, const std::vector<std::size_t>& pending);
  // A task finished: records it in every waiter on its id and returns the
  // waiters this completes (removed).
  std::vector<Waiter> finished(const std::shared_ptr<const common::ResultRecord>& rec);
  // Returns the waiters whose deadline passed (removed).
  std::vector<Waiter> expired(uint64_t now_us);
  // Microseconds until the next deadline (or `cap`).
  uint64_t next_timeout_us(uint64_t now_us, uint64_t cap) const;
  std::size_t size() const { return waiters_.size(); }

 private:
  struct Slot {
    uint64_t serial;
    std::size_t pos;  // index into the waiter's ids / found
  };
  uint64_t next_serial_ = 1;
  std::unordered_map<uint64_t, Waiter> waiters_;  // node-based: ids never move
  std::unordered_multimap<std::string_view, Slot> by_id_;
  using Deadline = std::pair<uint64_t, uint64_t>;  // (deadline_us, serial)
  std::priority_queue<Deadline, std::vector<Deadline>, std::greater<>> deadlines_;
};

}  // namespace zfleet::broker
