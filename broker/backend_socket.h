// The broker's backend ROUTER, where workers connect: its options in one
// place, so the dispatcher binds it and a test can bind the very same socket.
//
// Thread safety: the socket returned belongs to the thread that called
// bind_backend_router (the dispatcher thread in the broker).
#pragma once

#include <zmq.hpp>

#include "common/curve_keys.h"
#include "config/fleet_config.h"

namespace zfleet::broker {

// A ROUTER bound at b.backend (CURVE server when `curve` is set) with the
// broker's options for worker connections: mandatory routing, handover,
// broker.worker_hwm per connection, a frame cap of twice
// broker.max_message_bytes, kernel TCP keepalive (never ZMTP heartbeats,
// common/sockets.h). Throws zmq::error_t when the endpoint cannot be bound.
zmq::socket_t bind_backend_router(zmq::context_t& ctx, const config::BrokerConfig& b,
                                  const common::CurveOptions& curve);

}  // namespace zfleet::broker
