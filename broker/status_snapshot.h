// gather_status: what `status` replies and /metrics exports, read from the
// broker's shared state (metrics, worker boards, cache, journal counters) in
// one place, so the two never disagree on what a figure means.
//
// Thread safety: reads only thread-safe members of BrokerState; call from
// any thread (a result thread for `status`, the metrics thread for /metrics).
#pragma once

#include <cstdint>

#include "broker/broker_state.h"
#include "common/status.h"

namespace zfleet::broker {

common::StatusSnapshot gather_status(const BrokerState& st, uint64_t now_us);

}  // namespace zfleet::broker
