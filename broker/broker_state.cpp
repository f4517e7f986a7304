#include "broker/broker_state.h"

#include "common/clock.h"

namespace zfleet::broker {

namespace {
CacheOptions cache_options(const config::FleetConfig& c) {
  CacheOptions o;
  o.shards = static_cast<std::size_t>(c.cache.shards);
  o.max_entries = c.cache.max_entries;
  o.max_bytes = c.cache.max_bytes;
  o.ttl_ms = c.cache.ttl_s * 1000;
  return o;
}
}  // namespace

// One ZeroMQ I/O thread: profiles show one of two doing nearly all the work
// at 80k tasks/s, and a thread fewer on the request path means fewer
// cross-CPU wake-ups, which dominate an idle round trip.
BrokerState::BrokerState(const config::FleetConfig& c)
    : config(c), ctx(1), pools(c.workers.named()), cache(cache_options(c)), started_us(common::now_us()), keys(load_broker_keys(c)) {
  codec_limits.max_batch = c.broker.max_batch;
  codec_limits.max_delay_ms = c.broker.max_delay_ms;
  codec_limits.pools = &pools;
}

}  // namespace zfleet::broker
