// The input of `zfleet submit-batch`: JSON lines, one submit object per line
// with the fields of the protocol's submit (script, func, args, kwargs, type,
// id, timeout_ms, max_retries, delay_ms, retries, retry_on,
// retry_backoff_ms, output; "op": "submit" is allowed and ignored). Blank
// lines are skipped. args and kwargs follow the CLI's JSON rule
// (json_value.h: "base64:..." strings become bin).
//
// Every line is checked before anything is sent: a malformed line (not
// JSON, not an object, an unknown field, a field of the wrong type, no
// script) is reported with its line number and the batch is not sent at
// all, so a typo never leaves half a batch submitted. What the broker alone
// can judge (script shape, pool names, retry_on codes, ids in use) is left
// to it and comes back per task.
//
// Thread safety: functions only.
#pragma once

#include <cstddef>
#include <expected>
#include <istream>
#include <string>
#include <vector>

#include "common/codec.h"
#include "tools/cli/json_value.h"

namespace zfleet::cli {

struct BatchTask {
  std::size_t line = 0;  // 1-based line number in the input
  common::SubmitArgs args;
};

struct BatchInput {
  std::vector<BatchTask> tasks;     // the well-formed lines, in order
  std::vector<std::string> errors;  // "line N: what is wrong", in order
};

// One submit object; the error says what is wrong (no line number).
std::expected<common::SubmitArgs, std::string> submit_from_json(const Json& object);

// Reads every line of `in`.
BatchInput read_batch_lines(std::istream& in);

}  // namespace zfleet::cli
