// ResultRecord: the final outcome of one task, as stored in the broker's
// result cache and encoded into a `result` reply by common/codec.
//
// `result` holds the task's return value already msgpack-encoded (exactly the
// bytes the worker produced), so the broker never decodes or re-encodes it.
//
// Thread safety: a plain value. Once shared (std::shared_ptr<const
// ResultRecord>) it is immutable and may be read from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "common/protocol.h"

namespace zfleet::common {

struct ResultRecord {
  std::string id;
  TaskState state = TaskState::done;  // done or failed
  std::string result;                 // msgpack bytes of the return value (state == done)
  TaskError error;                    // state == failed
  std::string worker;                 // id of the worker that ran it last ("" if none)
  uint32_t attempts = 0;              // dispatches made (1 for a task run once)
  uint64_t queued_us = 0;             // time waiting in the broker
  uint64_t run_us = 0;                // time on the worker
  std::string output;                 // the task's stdout/stderr, when asked for ("" = none)

  // Approximate heap footprint, for the cache's byte limit.
  std::size_t byte_size() const {
    return sizeof(ResultRecord) + id.size() + result.size() + error.message.size() +
           error.type.size() + error.traceback.size() + worker.size() + output.size();
  }
};

}  // namespace zfleet::common
