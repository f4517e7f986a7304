#include "broker/broker_keys.h"

#include <stdexcept>

namespace zfleet::broker {
namespace {

std::set<std::string> allowed(const std::vector<std::string>& entries, const char* key) {
  auto keys = common::read_allowed_keys(entries);
  if (!keys) throw std::runtime_error(std::string(key) + ": " + keys.error());
  return {keys->begin(), keys->end()};
}

}  // namespace

common::CurveOptions BrokerKeys::server_curve(std::string_view domain) const {
  common::CurveOptions c;
  c.secret_key = server.secret_z85;
  c.public_key = server.public_z85;
  c.zap_domain = std::string(domain);
  return c;
}

std::optional<BrokerKeys> load_broker_keys(const config::FleetConfig& cfg) {
  const auto& s = cfg.security;
  if (!s.enabled()) return std::nullopt;
  auto pair = common::read_key_pair(s.secret_key);
  if (!pair) throw std::runtime_error("security.secret_key: " + pair.error());
  BrokerKeys keys;
  keys.server = std::move(*pair);
  keys.allowed["frontend"] = allowed(s.producers, "security.producers");
  keys.allowed["results"] = allowed(s.clients, "security.clients");
  keys.allowed["backend"] = allowed(s.workers, "security.workers");
  keys.allowed["status"] = keys.allowed["backend"];
  return keys;
}

}  // namespace zfleet::broker
