// TaskIdGenerator: ids for tasks submitted without one. Unique within one
// broker run and, with a random per-process prefix, across restarts in
// practice. At most 15 characters, so std::string keeps them inline (no heap
// allocation per queued task).
//
// Thread safety: next() is lock-free and safe from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace zfleet::common {

class TaskIdGenerator {
 public:
  TaskIdGenerator();
  std::string next();

 private:
  uint32_t prefix_;  // 24 random bits, printed as 6 hex digits
  std::atomic<uint64_t> counter_{0};
};

// True when `id` is acceptable as a client-chosen task id: 1..128 bytes of
// valid UTF-8 with no NUL.
bool valid_task_id(std::string_view id);

// True when `s` is well-formed UTF-8.
bool valid_utf8(std::string_view s);

}  // namespace zfleet::common
