#include "broker/broker_log.h"
#include "broker/recovery.h"

#include <algorithm>

#include "common/clock.h"

namespace zfleet::broker {

using common::JournalType;

RecoveryState::Entry* RecoveryState::live_entry(const std::string& id) {
  auto it = entries_.find(id);
  return it == entries_.end() || it->second.finished ? nullptr : &it->second;
}

void RecoveryState::apply(uint8_t type, std::string_view payload) {
  switch (static_cast<JournalType>(type)) {
    case JournalType::accept: {
      auto r = common::decode_accept(payload);
      if (!r) break;
      Entry e;
      e.order = ++next_order_;
      e.run_after_wall_ms = r->run_after_wall_ms;
      e.accept = std::move(*r);
      std::string id = e.accept.id;
      entries_.insert_or_assign(std::move(id), std::move(e));
      return;
    }
    case JournalType::dispatch: {
      auto r = common::decode_dispatch(payload);
      if (!r) break;
      if (Entry* e = live_entry(r->id)) {
        e->attempts = r->attempts;
        e->losses = r->losses;
        e->retries_used = r->retries_used;
        e->last_dispatch = r->dispatch;
        e->running = true;
        e->run_after_wall_ms = 0;
      }
      return;
    }
    case JournalType::retry: {
      auto r = common::decode_retry(payload);
      if (!r) break;
      if (Entry* e = live_entry(r->id)) {
        e->attempts = r->attempts;
        e->retries_used = r->retries_used;
        e->losses = r->losses;
        e->running = false;
        e->run_after_wall_ms = r->run_after_wall_ms;
      }
      return;
    }
    case JournalType::finish: {
      auto r = common::decode_finish(payload);
      if (!r) break;
      Entry e;
      e.finished = true;
      e.finish = std::move(*r);
      std::string id = e.finish.rec.id;
      entries_.insert_or_assign(std::move(id), std::move(e));
      return;
    }
  }
  ++undecodable_;
}

std::size_t RecoveryState::live() const {
  return static_cast<std::size_t>(
      std::count_if(entries_.begin(), entries_.end(), [](const auto& kv) { return !kv.second.finished; }));
}

// The newest results first, as many as the cache's limits hold (the cache
// would evict the rest anyway), none past its TTL.
std::vector<const RecoveryState::Entry*> RecoveryState::results_to_keep(uint64_t now_wall_ms) const {
  std::vector<const Entry*> out;
  for (const auto& [id, e] : entries_) {
    if (e.finished && e.finish.finished_wall_ms + limits_.ttl_ms >= now_wall_ms) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) {
    return a->finish.finished_wall_ms > b->finish.finished_wall_ms;
  });
  uint64_t bytes = 0;
  std::size_t keep = 0;
  while (keep < out.size() && keep < limits_.max_entries) {
    bytes += out[keep]->finish.rec.byte_size();
    if (bytes > limits_.max_bytes && keep > 0) break;
    ++keep;
  }
  out.resize(keep);
  return out;
}

// Runs in progress first (they were dispatched before anything still
// queued), then the rest in acceptance order.
std::vector<const RecoveryState::Entry*> RecoveryState::live_in_order() const {
  std::vector<const Entry*> out;
  for (const auto& [id, e] : entries_) {
    if (!e.finished) out.push_back(&e);
  }
  std::sort(out.begin(), out.end(), [](const Entry* a, const Entry* b) {
    if (a->running != b->running) return a->running;
    return a->order < b->order;
  });
  return out;
}

void RecoveryState::write_snapshot(uint64_t now_wall_ms,
                                   const std::function<void(uint8_t, std::string_view)>& emit) const {
  for (const Entry* e : live_in_order()) {
    emit(static_cast<uint8_t>(JournalType::accept), common::encode_journal(e->accept));
    if (e->running) {
      common::DispatchRecord d{e->accept.id, e->last_dispatch, e->attempts, e->losses, e->retries_used};
      emit(static_cast<uint8_t>(JournalType::dispatch), common::encode_journal(d));
    } else if (e->attempts > 0 || e->run_after_wall_ms != e->accept.run_after_wall_ms) {
      common::RetryRecord r{e->accept.id, e->attempts, e->retries_used, e->run_after_wall_ms, e->losses};
      emit(static_cast<uint8_t>(JournalType::retry), common::encode_journal(r));
    }
  }
  for (const Entry* e : results_to_keep(now_wall_ms))
    emit(static_cast<uint8_t>(JournalType::finish), common::encode_journal(e->finish));
}

namespace {

Task* make_task(const common::AcceptRecord& a, const common::PoolNames& pools, uint64_t now_us,
                uint64_t now_wall_ms) {
  auto* t = new Task;
  t->id = a.id;
  t->payload = a.payload;
  auto pool = pools.find(a.pool);
  t->pool = pool.value_or(common::kIoPool);
  t->pool_gone = !pool;
  t->timeout_ms = a.timeout_ms;
  t->max_retries = a.max_retries;
  t->retries = a.retries;
  t->retry_on = a.retry_on;
  t->retry_backoff_ms = a.retry_backoff_ms;
  const uint64_t age_ms = now_wall_ms > a.accepted_wall_ms ? now_wall_ms - a.accepted_wall_ms : 0;
  t->accepted_us = now_us > age_ms * 1000 ? now_us - age_ms * 1000 : 0;
  return t;
}

}  // namespace

void RecoveryFold::write_snapshot(const journal::EmitRecord& emit) {
  state.write_snapshot(common::wall_ms(), emit);
}

RecoveryState::Restored RecoveryState::restore(BrokerState& st, uint64_t now_us,
                                               uint64_t now_wall_ms) const {
  Restored out;
  for (const Entry* e : live_in_order()) {
    Task* t = make_task(e->accept, st.pools, now_us, now_wall_ms);
    t->attempts = e->attempts;
    t->losses = e->losses;
    t->retries_used = e->retries_used;
    if (e->run_after_wall_ms > now_wall_ms)
      t->due_us = t->run_after_us = now_us + (e->run_after_wall_ms - now_wall_ms) * 1000;
    if (!st.live.insert(t)) {  // cannot happen: one entry per id
      delete t;
      continue;
    }
    Metrics::add(st.metrics.pool[t->pool].queue_depth);
    Metrics::add(st.metrics.pool[t->pool].waiting);
    if (t->due_us) {  // counted like a delayed submit (never refused: it was acknowledged)
      t->delay_counted = true;
      Metrics::add(st.metrics.pool[t->pool].held_delayed);
    }
    if (e->running && e->last_dispatch) out.runs.push_back({e->last_dispatch, t->id, t->attempts});
    out.tasks.push_back(t);
  }
  const uint64_t now_ms = now_us / 1000;
  // Oldest first: each put then lands at the young end of its shard's
  // expiry list at once (newest first made every put walk the whole list).
  auto keep = results_to_keep(now_wall_ms);
  std::reverse(keep.begin(), keep.end());
  for (const Entry* e : keep) {
    const uint64_t age_ms = now_wall_ms > e->finish.finished_wall_ms ? now_wall_ms - e->finish.finished_wall_ms : 0;
    st.cache.put(std::make_shared<const common::ResultRecord>(e->finish.rec),
                 now_ms > age_ms ? now_ms - age_ms : 0);
    ++out.results;
  }
  out.expired = finished() - out.results;
  return out;
}

}  // namespace zfleet::broker
