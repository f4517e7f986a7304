// A socket-free rig for TaskLifecycle tests: real BrokerState (cache, live
// table, metrics), a real WorkerRegistry and TaskFinisher, and a TaskSender
// that records what would have gone to workers. Tasks are made and
// admitted the way intake does it (LiveTable::insert with the cache).
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "broker/task_lifecycle.h"
#include "config/config_loader.h"

namespace zfleet::test {

struct Sent {
  std::string worker;
  std::string id;
  uint64_t dispatch;
  uint32_t attempt;
};

class RecordingSender final : public broker::TaskSender {
 public:
  bool send_task(broker::WorkerEntry& w, const broker::Task& t, uint64_t d) override {
    if (unreachable) return false;
    tasks.push_back({w.info.id, t.id, d, t.attempts});
    return true;
  }
  void send_cancel(broker::WorkerEntry& w, uint64_t d) override {
    cancels.push_back({w.info.id, "", d, 0});
  }
  std::vector<Sent> tasks, cancels;
  bool unreachable = false;
};

inline config::FleetConfig rig_config() {
  config::FleetConfig c = config::default_config();
  c.broker.result_threads = 1;
  c.broker.max_retry_backoff_ms = 60'000;
  c.workers.prefetch = 0;  // capacity == threads: slot arithmetic stays obvious
  return c;
}

// What a test submit may set (the rest as intake's defaults).
struct Spec {
  uint32_t timeout_ms = 30'000;
  uint64_t delay_ms = 0;
  uint8_t retries = 0;
  common::TaskErrorSet retry_on = common::kDefaultRetryOn;
  uint32_t backoff_ms = 1000;
  uint8_t max_retries = 1;
};

struct Rig {
  config::FleetConfig cfg = rig_config();
  broker::BrokerState st{cfg};
  broker::WorkerRegistry registry{broker::RegistryOptions{0, 1'000'000, 10'000'000, 1000}};
  broker::TaskJournal journal{false, st.pools};
  broker::TaskFinisher finisher{st, 1, journal};
  RecordingSender sender;
  broker::TaskLifecycle life{finisher, registry, sender, broker::LifecycleOptions{60'000, 1 << 20, 1'000'000, 42}};
  uint64_t now = 1'000'000'000;  // us; tests move it by hand

  broker::WorkerEntry* worker(const std::string& id, uint32_t threads, uint64_t incarnation = 7,
                              common::PoolId pool = common::kIoPool) {
    common::WorkerInfo info;
    info.id = id;
    info.pool = pool == common::kIoPool ? "io" : "cpu";
    info.threads = threads;
    info.capacity = threads;
    info.incarnation = incarnation;
    return registry.join(info, "route-" + info.id, now, pool);
  }
  // Admits a task as intake does; nullptr when refused (duplicate id).
  broker::Task* submit(const std::string& id, Spec s = Spec()) {
    auto* t = new broker::Task;
    t->id = id;
    t->payload.assign(1, 'p');
    t->timeout_ms = s.timeout_ms;
    t->retries = s.retries;
    t->retry_on = s.retry_on;
    t->retry_backoff_ms = s.backoff_ms;
    t->max_retries = s.max_retries;
    t->accepted_us = now;
    if (s.delay_ms) t->due_us = t->run_after_us = now + s.delay_ms * 1000;
    if (!st.live.insert(t, st.cache, now / 1000)) {
      delete t;
      return nullptr;
    }
    if (s.delay_ms) {  // intake's reservation under broker.max_delayed
      t->delay_counted = true;
      broker::Metrics::add(st.metrics.pool[0].held_delayed);
    }
    broker::Metrics::add(st.metrics.pool[0].queue_depth);
    broker::Metrics::add(st.metrics.pool[0].waiting);
    broker::Metrics::add(st.metrics.pool[0].submitted);
    life.accept(t, now);
    return t;
  }
  void step(uint64_t us = 0) {
    now += us;
    life.on_timers(now);
    life.dispatch_ready(now);
  }
  void answer(broker::WorkerEntry* w, const Sent& s, bool ok, common::TaskErrorCode code = common::TaskErrorCode::exception) {
    common::ResultMessage r;
    r.id = s.id;
    r.dispatch = s.dispatch;
    r.attempt = s.attempt;
    r.ok = ok;
    r.run_us = 10;
    if (ok) {
      r.result = std::string("\xa2ok", 3);
    } else {
      r.error = {code, "boom", "", ""};
    }
    life.on_result(w, std::move(r), now);
    life.dispatch_ready(now);
  }
  // The task's state as a client sees it, and its record when finished.
  common::TaskState state(const std::string& id) {
    if (auto s = st.live.state(id)) return *s;
    auto rec = st.cache.get(id, now / 1000);
    return rec ? rec->state : common::TaskState::unknown;
  }
  std::shared_ptr<const common::ResultRecord> record(const std::string& id) {
    return st.cache.get(id, now / 1000);
  }
  uint64_t metric(const std::atomic<uint64_t>& m) const { return broker::Metrics::get(m); }
};

}  // namespace zfleet::test
