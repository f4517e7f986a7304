// Pools: the names of the worker pools a broker serves (PROTOCOL.md: a
// task's `type` names a pool: io, cpu or one of workers.pools) and the small
// number (PoolId) the broker uses for them inside, as the index of its
// per-pool queues, counters and scheduler sets.
//
// PoolId order is fixed by the configuration: io = 0, cpu = 1, then
// workers.pools in file order. Ids never cross the wire or reach the
// journal: names do, so a restart with pools reordered still routes each
// task to its pool.
//
// Thread safety: immutable after construction; share it const& freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zfleet::common {

using PoolId = uint8_t;
inline constexpr PoolId kIoPool = 0;
inline constexpr PoolId kCpuPool = 1;
// The most pools a broker serves (io and cpu included): the size of its
// per-pool arrays. config/validate.cpp refuses more.
inline constexpr int kMaxPools = 64;
// Longest pool name (config/validate.cpp checks the characters).
inline constexpr std::size_t kMaxPoolNameBytes = 64;
// What valid_pool_name() accepts, in words, for every error that refuses a name.
inline constexpr const char* kPoolNameRule = "a pool name is 1..64 letters, digits, '_' or '-'";

class PoolNames {
 public:
  // io and cpu only: what a broker without workers.pools serves.
  PoolNames();
  // `named`: the workers.pools names, in file order (io and cpu are added
  // first). At most kMaxPools in all; callers validated the names.
  explicit PoolNames(const std::vector<std::string>& named);

  std::optional<PoolId> find(std::string_view name) const;
  std::string_view name(PoolId id) const { return names_[id]; }
  int size() const { return static_cast<int>(names_.size()); }
  // "io, cpu, gpu": for the messages that refuse an unknown name.
  std::string list() const;

 private:
  std::vector<std::string> names_;
};

// Letters, digits, '_' and '-', 1..kMaxPoolNameBytes bytes: a pool name is
// a YAML key, a log word and a metric label, so nothing that needs quoting.
bool valid_pool_name(std::string_view name);

}  // namespace zfleet::common
