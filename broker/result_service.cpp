#include "broker/broker_log.h"
#include "broker/result_service.h"
#include "broker/status_snapshot.h"

#include <algorithm>

#include "broker/handoff.h"
#include "broker/request_frames.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/worker_link.h"

namespace zfleet::broker {
namespace {
constexpr uint64_t kMaxWaitMs = 3'600'000;  // one hour: longer waits are clamped
}  // namespace

void ResultService::on_request(common::Message& msg) {
  common::fault_point("broker-results");  // a test hook: once per request
  std::string corr;
  auto body = request_body(msg, st_.config.broker.max_message_bytes, &corr);
  if (!body) {
    st_.metrics.invalid_on(Endpoint::results);
    auto envelope = take_envelope(msg);
    client_.reply(envelope, common::encode_error(body.error(), {}, corr));
    return;
  }
  std::string reply;
  bool parked = false;
  try {
    auto req = common::decode_request(*body, st_.codec_limits);
    if (!req) st_.metrics.invalid_on(Endpoint::results);
    reply = req ? handle(*req, msg, parked)
                : common::encode_error(req.error(), {}, common::recover_corr(*body));
  } catch (const std::exception& e) {
    log()->error("results: unexpected error: {}", e.what());
    reply = common::encode_error({common::ErrorCode::bad_request, "internal error"}, {},
                                 common::recover_corr(*body));
  }
  if (parked) return;
  auto envelope = take_envelope(msg);
  client_.reply(envelope, reply);
}

std::string ResultService::handle(const common::Request& req, common::Message& msg, bool& parked) {
  switch (req.op) {
    case common::Op::get:
    case common::Op::get_many:
      return handle_get(req, msg, parked);
    case common::Op::status:
      return status_reply(req);
    case common::Op::cancel:
      park_cancel(req, msg);
      parked = true;
      return {};
    case common::Op::clear_cache:
      sink_.clear_scripts(common::encode_clear(req.script));
      return common::encode_ok(req.corr);
    default:
      return common::encode_error({common::ErrorCode::bad_request,
                                   "op '" + std::string(common::to_string(req.op)) +
                                       "' is served on the frontend endpoint"},
                                  {}, req.corr);
  }
}

void ResultService::park_cancel(const common::Request& req, common::Message& msg) {
  CancelRequest r{next_cancel_token_++, index_, req.ids.front()};
  cancels_.emplace(r.token, ParkedCancel{take_envelope(msg), r.id, req.corr});
  sink_.request_cancel(r);
}

Found ResultService::lookup(const std::string& id) {
  // Live table before cache: a finishing task enters the cache before it
  // leaves the table (in one step, LiveTable::finish), so this order
  // cannot miss it.
  if (auto v = st_.live.view(id)) {
    Found f{v->state, nullptr, std::nullopt};
    if (v->run_after_us) {
      uint64_t now = common::now_us();
      f.run_after_ms = v->run_after_us > now ? (v->run_after_us - now + 999) / 1000 : 0;
    }
    return f;
  }
  if (auto rec = st_.cache.get(id, common::now_ms())) return {rec->state, std::move(rec), std::nullopt};
  return {common::TaskState::unknown, nullptr, std::nullopt};
}

// A parked get holds its envelope and ids for up to an hour: across all
// result threads their number is held to broker.max_waiters (reserved here,
// released when the waiter is answered: reply_parked).
bool ResultService::reserve_waiter() {
  return Metrics::reserve(st_.metrics.waiters, st_.config.broker.max_waiters);
}

void ResultService::reply_parked(Waiter& w, const std::string& body) {
  client_.reply(w.envelope, body);
  Metrics::sub(st_.metrics.waiters);
}

std::string ResultService::handle_get(const common::Request& req, common::Message& msg,
                                     bool& parked) {
  Waiter w;
  w.corr = req.corr;
  w.ids = req.ids;
  w.many = req.op == common::Op::get_many;
  w.found.resize(w.ids.size());
  // At the limit a get is still answered when it need not wait (finished
  // or unknown ids): only one that would park is refused.
  const bool may_park = req.wait_ms > 0 && reserve_waiter();
  std::vector<std::size_t> pending;
  for (std::size_t i = 0; i < w.ids.size(); ++i) {
    std::optional<common::TaskState> live;
    if (may_park) live = st_.live.watch(w.ids[i], index_);
    if (live) {
      w.found[i].state = *live;
      pending.push_back(i);
    } else {
      w.found[i] = lookup(w.ids[i]);
    }
  }
  if (pending.empty()) {
    if (may_park) Metrics::sub(st_.metrics.waiters);
    const bool all_final = std::all_of(w.found.begin(), w.found.end(), [](const Found& f) { return f.final(); });
    if (req.wait_ms > 0 && !may_park && !all_final) {
      const common::WireError err{common::ErrorCode::queue_full,
                                  "too many parked gets (broker.max_waiters = " +
                                      std::to_string(st_.config.broker.max_waiters) + "); retry later"};
      return common::encode_error(err, w.many ? std::string_view() : w.ids.front(), w.corr);
    }
    return answer(w);
  }
  w.envelope = take_envelope(msg);
  w.deadline_us = common::now_us() + std::min(req.wait_ms, kMaxWaitMs) * 1000;
  waiters_.add(std::move(w), pending);
  parked = true;
  return {};
}

std::string ResultService::answer(Waiter& w) {
  // Ids still live (the wait ran out) are looked up again for their
  // current state; finished ones use the record already held.
  for (std::size_t i = 0; i < w.ids.size(); ++i) {
    if (!w.found[i].final()) w.found[i] = lookup(w.ids[i]);
  }
  if (!w.many)
    return common::encode_result(w.ids.front(), w.found[0].state, w.found[0].rec.get(), w.corr,
                                 w.found[0].run_after_ms);
  std::vector<common::ResultEntry> entries;
  entries.reserve(w.ids.size());
  for (std::size_t i = 0; i < w.ids.size(); ++i)
    entries.push_back({w.ids[i], w.found[i].state, w.found[i].rec.get(), w.found[i].run_after_ms});
  return common::encode_results(entries, w.corr);
}

void ResultService::take_notice(Notice notice) {
  for (RecordPtr& rec : notice.records) finished_.push_back(std::move(rec));
  if (notice.stopping) on_stopping();  // the dispatcher's last notice
  for (const CancelReply& c : notice.cancels) {
    auto it = cancels_.find(c.token);
    if (it == cancels_.end()) continue;
    client_.reply(it->second.envelope, common::encode_cancel_reply(it->second.id, c.outcome, it->second.corr));
    cancels_.erase(it);
  }
}

// Completed waiters are answered in groups, paced like expiring ones
// (Waiters::kMaxExpiredPerCall, kExpiryPauseUs apart): one task finishing
// with 100,000 gets parked on it must not hold up every other request (a
// status behind it) for the whole burst.
void ResultService::answer_ready() {
  const uint64_t now = common::now_us();
  if ((ready_.empty() && finished_.empty()) || now < next_ready_us_) return;
  std::size_t budget = Waiters::kMaxExpiredPerCall;
  while (budget > 0 && !(ready_.empty() && finished_.empty())) {
    if (ready_.empty()) {
      bool more = false;
      for (Waiter& w : waiters_.finished(finished_.front(), budget, more)) ready_.push_back(std::move(w));
      if (!more) finished_.pop_front();
    }
    for (; budget > 0 && !ready_.empty(); --budget) {
      Waiter& w = ready_.front();
      reply_parked(w, answer(w));
      ready_.pop_front();
    }
  }
  next_ready_us_ = ready_.empty() && finished_.empty() ? 0 : now + Waiters::kExpiryPauseUs;
}

// The broker stops: what is already decided is answered, every other
// parked request gets `shutting_down` (PROTOCOL "Errors") instead of
// silence when the process goes.
void ResultService::on_stopping() {
  for (const auto& rec : finished_) {
    for (Waiter& w : waiters_.finished(rec)) ready_.push_back(std::move(w));
  }
  finished_.clear();
  for (Waiter& w : ready_) reply_parked(w, answer(w));
  ready_.clear();
  const common::WireError err{common::ErrorCode::shutting_down, "the broker is shutting down"};
  for (Waiter& w : waiters_.take_all()) {
    reply_parked(w, common::encode_error(err, w.many ? std::string_view() : w.ids.front(), w.corr));
  }
  for (auto& [token, c] : cancels_) client_.reply(c.envelope, common::encode_error(err, c.id, c.corr));
  cancels_.clear();
  stopped_ = true;
}

void ResultService::on_timers() {
  if (stopped_) return;
  for (Waiter& w : waiters_.expired(common::now_us())) reply_parked(w, answer(w));
  answer_ready();
}

// No timer when nothing waits: an idle broker sleeps until a message
// (every wake-up has a reason: issue 14).
uint64_t ResultService::wait_us(uint64_t now) const {
  uint64_t wait = waiters_.next_timeout_us(now, UINT64_MAX);
  if (!ready_.empty() || !finished_.empty()) wait = std::min(wait, next_ready_us_ > now ? next_ready_us_ - now : 0);
  return wait;
}

std::string ResultService::status_reply(const common::Request& req) {
  return common::encode_status(gather_status(st_, common::now_us()), req.corr);
}

}  // namespace zfleet::broker
