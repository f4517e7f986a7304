// TaskIdGenerator: ids for tasks submitted without one. "~" and 14
// characters of base64url: 84 bits from the kernel's CSPRNG (getrandom),
// so an id cannot be guessed or claimed in advance by another client (a
// counter after a known prefix could be), and ids stay unique across
// restarts without any state. Client-chosen ids may not start with "~"
// (kGeneratedIdPrefix), so the two spaces never meet. 15 characters, so
// std::string keeps them inline (no heap allocation per queued task).
//
// Thread safety: next() is safe from any thread (a random buffer per thread).
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace zfleet::common {

inline constexpr char kGeneratedIdPrefix = '~';

class TaskIdGenerator {
 public:
  std::string next();
};

// True when `id` is acceptable as a client-chosen task id: 1..128 bytes of
// valid UTF-8 with no NUL.
bool valid_task_id(std::string_view id);

// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace zfleet::common
