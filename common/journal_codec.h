// The records of the broker's journal (issue 10): one per lifecycle
// transition that matters after a crash (docs/architecture.md, "Task
// lifecycle" and "Durability"). This is their payload encoding (msgpack
// arrays); the framing on disk (length, type, checksum) is the journal
// storage layer's (broker/journal/format.h).
//
//   ACCEPT    a task was admitted: everything needed to run it again
//   DISPATCH  a run started (attempts and losses so far, its dispatch number)
//   RETRY     a run failed and the task waits for its backoff
//   FINISH    the task's one final outcome (done or failed, cancelled included)
//
// Times that must survive a restart are wall-clock milliseconds (the
// steady clock starts again with the process). Decoding never throws:
// a payload that does not decode is reported, as a torn record would be.
//
// Thread safety: functions only; safe from any thread.
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>

#include "common/protocol.h"
#include "common/result_record.h"

namespace zfleet::common {

enum class JournalType : uint8_t { accept = 1, dispatch = 2, retry = 3, finish = 4 };

struct AcceptRecord {
  std::string id;
  std::string pool;             // its pool's name (common/pools.h)
  std::string payload;          // the worker-bound payload, as intake built it
  uint32_t timeout_ms = 0;
  uint8_t max_retries = 1;
  uint8_t retries = 0;
  TaskErrorSet retry_on = 0;
  uint32_t retry_backoff_ms = 0;
  uint64_t accepted_wall_ms = 0;
  uint64_t run_after_wall_ms = 0;  // 0: runnable at once
};

struct DispatchRecord {
  std::string id;
  uint64_t dispatch = 0;
  uint16_t attempts = 0;  // runs so far, this one included
  uint8_t losses = 0;
  uint8_t retries_used = 0;
};

struct RetryRecord {
  std::string id;
  uint16_t attempts = 0;
  uint8_t retries_used = 0;
  uint64_t run_after_wall_ms = 0;
  uint8_t losses = 0;  // workers lost so far (max_retries counts them)
};

struct FinishRecord {
  ResultRecord rec;  // rec.id is the task id
  uint64_t finished_wall_ms = 0;
};

std::string encode_journal(const AcceptRecord& r);
std::string encode_journal(const DispatchRecord& r);
std::string encode_journal(const RetryRecord& r);
std::string encode_journal(const FinishRecord& r);

std::expected<AcceptRecord, std::string> decode_accept(std::string_view payload);
std::expected<DispatchRecord, std::string> decode_dispatch(std::string_view payload);
std::expected<RetryRecord, std::string> decode_retry(std::string_view payload);
std::expected<FinishRecord, std::string> decode_finish(std::string_view payload);

}  // namespace zfleet::common
