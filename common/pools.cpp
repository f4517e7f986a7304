#include "common/pools.h"

namespace zfleet::common {

PoolNames::PoolNames() : names_{"io", "cpu"} {}

PoolNames::PoolNames(const std::vector<std::string>& named) : PoolNames() {
  names_.insert(names_.end(), named.begin(), named.end());
}

std::optional<PoolId> PoolNames::find(std::string_view name) const {
  for (std::size_t i = 0; i < names_.size(); ++i) {
    if (names_[i] == name) return static_cast<PoolId>(i);
  }
  return std::nullopt;
}

std::string PoolNames::list() const {
  std::string out;
  for (const auto& n : names_) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool valid_pool_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxPoolNameBytes) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace zfleet::common
