// The broker's replay fold (broker::RecoveryState::apply) fed arbitrary
// records, as a journal whose checksums hold but whose contents are anything
// (a bug in an older broker, a hand-edited file). The input is a sequence of
// records: u8 type, u16 little-endian length, payload (cut short at the end
// of the input).
//
// Properties (with limits that keep every result, and the clock at 0 so
// none has expired):
// - every record write_snapshot emits decodes (a fresh fold counts none
//   undecodable) and rebuilds as many live tasks and results;
// - compaction is stable: the snapshot of the rebuilt fold holds the same
//   records (compared as sorted lists: results with the same finish time
//   come out in hash-map order).
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "broker/recovery.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet::broker;
using Records = std::vector<std::pair<uint8_t, std::string>>;

Records snapshot_of(const RecoveryState& s) {
  Records out;
  s.write_snapshot(0, [&out](uint8_t type, std::string_view payload) {
    out.emplace_back(type, std::string(payload));
  });
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  RecoveryLimits limits;
  limits.max_entries = UINT64_MAX;
  limits.max_bytes = UINT64_MAX;
  RecoveryState state(limits);
  size_t pos = 0;
  while (size - pos >= 3) {
    uint8_t type = data[pos];
    size_t length = data[pos + 1] | (size_t{data[pos + 2]} << 8);
    pos += 3;
    length = std::min(length, size - pos);
    state.apply(type, zfleet::fuzz::as_view(data + pos, length));
    pos += length;
  }

  Records snap = snapshot_of(state);
  RecoveryState rebuilt(limits);
  for (const auto& [type, payload] : snap) rebuilt.apply(type, payload);
  FUZZ_CHECK(rebuilt.undecodable() == 0);
  FUZZ_CHECK(rebuilt.live() == state.live());
  FUZZ_CHECK(rebuilt.finished() == state.finished());

  Records again = snapshot_of(rebuilt);
  std::sort(snap.begin(), snap.end());
  std::sort(again.begin(), again.end());
  FUZZ_CHECK(again == snap);
  return 0;
}
