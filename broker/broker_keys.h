// BrokerKeys: the broker's CURVE identity and, per public endpoint, the
// client keys allowed there, read from the config's `security` section at
// start-up (PROTOCOL.md "security"; docs/security.md).
//
//   endpoint (ZAP domain)   allowed keys
//   frontend                security.producers
//   results                 security.clients
//   backend, status         security.workers
//
// Thread safety: built once before any thread starts, read-only after.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "broker/zap_handler.h"
#include "common/curve_keys.h"
#include "config/fleet_config.h"

namespace zfleet::broker {

struct BrokerKeys {
  common::CurveKeyPair server;
  AllowedKeys allowed;  // by ZAP domain (= endpoint name)

  // Server-side options of the socket bound at endpoint `domain`.
  common::CurveOptions server_curve(std::string_view domain) const;
};

// nullopt without `security`. Throws std::runtime_error naming the key and
// the file on an unreadable or malformed key (the loader has checked them
// once already; this catches files changed since).
std::optional<BrokerKeys> load_broker_keys(const config::FleetConfig& cfg);

}  // namespace zfleet::broker
