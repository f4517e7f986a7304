#include "broker/broker_log.h"
#include "broker/intake.h"

#include <algorithm>
#include <cstring>

#include "broker/handoff.h"
#include "broker/request_frames.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/log.h"

namespace zfleet::broker {

void Intake::on_request(common::Message& msg) {
  common::fault_point("broker-intake");
  std::string reply, corr;
  bool admitted = false;
  auto body = request_body(msg, st_.config.broker.max_message_bytes, &corr);
  if (!body) {
    st_.metrics.invalid_on(Endpoint::frontend);
    reply = common::encode_error(body.error(), {}, corr);
  } else {
    try {
      reply = handle(*body, admitted);
    } catch (const std::exception& e) {
      // Nothing a client sends may stop the broker: answer and go on.
      log()->error("intake: unexpected error: {}", e.what());
      reply = common::encode_error({common::ErrorCode::bad_request, "internal error"}, {},
                                   common::recover_corr(*body));
    }
  }
  auto envelope = take_envelope(msg);
  if (admitted && journaled_) {
    // Journal on: the reply waits until the batch's ACCEPT records are durable.
    parked_.emplace(token_, Parked{std::move(envelope), std::move(reply)});
    return;
  }
  client_.reply(envelope, reply);
}

void Intake::acked(uint64_t token) {
  auto it = parked_.find(token);
  if (it == parked_.end()) return;
  client_.reply(it->second.envelope, it->second.reply);
  parked_.erase(it);
}

void Intake::acked_all(const zmq::message_t& m) {
  for (std::size_t at = 0; at + sizeof(uint64_t) <= m.size(); at += sizeof(uint64_t)) {
    uint64_t token;
    std::memcpy(&token, static_cast<const char*>(m.data()) + at, sizeof token);
    acked(token);
  }
}

namespace {

common::WireError full(const std::string& what) {
  return {common::ErrorCode::queue_full, what + "; retry later"};
}

// The Task for an admitted spec (intake writes it before LiveTable::admit,
// whose lock publishes it).
Task* new_task(common::TaskSpec&& spec, const config::BrokerConfig& b, common::TaskIdGenerator& ids) {
  auto* t = new Task;
  t->id = spec.id.empty() ? ids.next() : std::move(spec.id);
  t->payload = std::move(spec.payload);
  t->pool = spec.pool;
  uint64_t timeout = spec.timeout_ms ? spec.timeout_ms : b.task_timeout_ms;
  t->timeout_ms = static_cast<uint32_t>(std::min<uint64_t>(timeout, UINT32_MAX));
  t->max_retries = static_cast<uint8_t>(std::min<uint32_t>(spec.max_retries, 255));
  t->retries = static_cast<uint8_t>(std::min<uint32_t>(spec.retries, 255));
  t->retry_on = spec.retry_on;
  t->retry_backoff_ms = static_cast<uint32_t>(std::min<uint64_t>(spec.retry_backoff_ms, UINT32_MAX));
  t->accepted_us = common::now_us();
  if (spec.delay_ms) t->due_us = t->run_after_us = t->accepted_us + spec.delay_ms * 1000;
  t->delay_counted = spec.delay_ms > 0;
  return t;
}

}  // namespace

// Takes the task's place under broker.max_queued and, for a delayed task,
// broker.max_delayed; or names the limit that refused it, with nothing
// left taken. Each is a reservation in its counter (Metrics::reserve), so
// concurrent intake threads never overshoot a limit.
std::optional<common::WireError> Intake::reserve(const common::TaskSpec& spec) {
  const auto& b = st_.config.broker;
  const int type = spec.pool;
  const std::string pool(st_.pools.name(spec.pool));
  auto& waiting = st_.metrics.pool[type].waiting;
  if (!Metrics::reserve(waiting, b.max_queued)) {
    return full("the " + pool + " queue is full (broker.max_queued = " + std::to_string(b.max_queued) + ")");
  }
  if (spec.delay_ms == 0) return std::nullopt;
  auto& held = st_.metrics.pool[type].held_delayed;
  if (!Metrics::reserve(held, b.max_delayed)) {
    Metrics::sub(waiting);
    return full("the " + pool + " queue holds broker.max_delayed = " + std::to_string(b.max_delayed) +
                " delayed tasks");
  }
  return std::nullopt;
}

std::expected<std::string, common::WireError> Intake::admit(common::TaskSpec&& spec,
                                                                  std::vector<Task*>& batch) {
  using common::ErrorCode;
  if (st_.draining.load(std::memory_order_relaxed))
    return std::unexpected(common::WireError{ErrorCode::shutting_down, "the broker is shutting down"});
  if (auto refused = reserve(spec)) return std::unexpected(std::move(*refused));
  const int type = spec.pool;
  Metrics::add(st_.metrics.pool[type].queue_depth);
  Task* t = new_task(std::move(spec), st_.config.broker, st_.ids);
  // "Live or cached" in one step (LiveTable::admit): a refused duplicate
  // never enters the table, where a parked get could have watched it.
  const uint64_t max_live = st_.config.broker.max_live;
  const auto admitted = st_.live.admit(t, st_.cache, t->accepted_us / 1000, max_live);
  if (admitted != LiveTable::Admission::inserted) {
    Metrics::sub(st_.metrics.pool[type].queue_depth);
    Metrics::sub(st_.metrics.pool[type].waiting);
    if (t->delay_counted) Metrics::sub(st_.metrics.pool[type].held_delayed);
    std::string id = std::move(t->id);
    delete t;
    if (admitted == LiveTable::Admission::full)
      return std::unexpected(full("the broker holds broker.max_live = " + std::to_string(max_live) + " live tasks"));
    return std::unexpected(common::WireError{ErrorCode::duplicate_id, "task id '" + id + "' is already known"});
  }
  Metrics::add(st_.metrics.pool[type].submitted);
  batch.push_back(t);
  // t is the dispatcher's from here on (a cancel may already finish it):
  // read nothing else of it. Its id bytes stay until the dispatcher has
  // received the batch (TaskLifecycle::accept deletes a cancelled one).
  return std::string(t->id);
}

std::string Intake::handle(std::string_view body, bool& admitted) {
  auto req = common::decode_request(body, st_.codec_limits);
  if (!req) {
    st_.metrics.invalid_on(Endpoint::frontend);
    return common::encode_error(req.error(), {}, common::recover_corr(body));
  }
  if (req->op != common::Op::submit && req->op != common::Op::submit_batch) {
    st_.metrics.invalid_on(Endpoint::frontend);
    return common::encode_error(
        {common::ErrorCode::bad_request,
         "op '" + std::string(common::to_string(req->op)) + "' is served on the results endpoint"},
        {}, req->corr);
  }
  std::vector<Task*> batch;
  batch.reserve(req->tasks.size());
  std::vector<std::expected<std::string, common::WireError>> ids;
  ids.reserve(req->tasks.size());
  std::string first_id = (req->tasks.size() == 1 && req->tasks[0]) ? req->tasks[0]->id : "";
  for (auto& spec : req->tasks) {
    if (!spec) {
      ids.push_back(std::unexpected(std::move(spec.error())));
      continue;
    }
    ids.push_back(admit(std::move(*spec), batch));
  }
  if (!batch.empty()) {
    admitted = true;
    std::optional<AckRequest> ack;
    if (journaled_) ack = AckRequest{token_ = next_token_++, index_};
    sink_.take_tasks(batch, ack);
  }
  if (req->op == common::Op::submit_batch) return common::encode_accepted_batch(ids, req->corr);
  auto& r = ids.front();
  if (!r) {
    // Echo the client's id (if any) with the error, to match it up.
    return common::encode_error(r.error(), first_id, req->corr);
  }
  return common::encode_accepted(*r, req->corr);
}

}  // namespace zfleet::broker
