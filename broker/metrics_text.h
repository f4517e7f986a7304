// render_metrics: the broker's figures as Prometheus text (GET /metrics).
// Names follow Prometheus conventions: zfleet_ prefix, _total for counters,
// base units (_seconds, _bytes). docs/operations.md lists every family.
//
// Thread safety: reads only thread-safe members of BrokerState (through
// gather_status and the atomics of Metrics); call from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "broker/broker_state.h"

namespace zfleet::broker {

std::string render_metrics(const BrokerState& st, uint64_t now_us);

}  // namespace zfleet::broker
