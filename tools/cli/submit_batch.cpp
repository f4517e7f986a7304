// zfleet submit-batch [FILE]: JSON lines (batch_lines.h) sent as
// submit_batch requests of at most --chunk tasks (default broker.max_batch).
// Output: one line per task, in input order: its id, or
// "line N: CODE: message" when the broker refused it.
#include <fstream>
#include <iostream>

#include "tools/cli/batch_lines.h"
#include "tools/cli/client.h"
#include "tools/cli/commands.h"
#include "tools/cli/exit_codes.h"

namespace zfleet::cli {
namespace {

// A chunk also ends before it would pass this many bytes of task data, well
// under broker.max_message_bytes' default of 16 MiB, so a batch of large
// args is split rather than refused as too_large.
constexpr std::size_t kChunkBytes = 4u << 20;

std::size_t task_bytes(const common::SubmitArgs& a) {
  return 64 + a.script.size() + a.func.size() + a.args_msgpack.size() + a.kwargs_msgpack.size() +
         a.type.size() + a.id.size();
}

// The tasks [begin, end) of one request.
std::size_t chunk_end(const std::vector<BatchTask>& tasks, std::size_t begin, std::size_t max_tasks) {
  std::size_t end = begin, bytes = 0;
  while (end < tasks.size() && end - begin < max_tasks) {
    bytes += task_bytes(tasks[end].args);
    if (end > begin && bytes > kChunkBytes) break;
    ++end;
  }
  return end;
}

// Sends tasks [begin, end); prints one line per task. Returns the exit code
// of this chunk (0 or kExitRefused), or kExitNoAnswer.
int send_chunk(Client& frontend, const std::vector<BatchTask>& tasks, std::size_t begin, std::size_t end) {
  std::vector<common::SubmitArgs> args;
  for (std::size_t i = begin; i < end; ++i) args.push_back(tasks[i].args);
  auto r = frontend.call(common::encode_submit_batch(args, {}));
  if (!r) {
    return no_answer(r.error() + "; lines " + std::to_string(tasks[begin].line) + " and after may or "
                     "may not have been accepted");
  }
  std::vector<common::BatchEntry> entries;
  if (r->op == "error") {  // the whole request refused (too_large, shutting_down, ...)
    entries.assign(end - begin, common::BatchEntry{"", r->code, r->message});
  } else {
    auto decoded = common::decode_accepted_batch(*r);
    if (!decoded || decoded->size() != end - begin) {
      std::cerr << "zfleet: unexpected reply to submit_batch: "
                << (decoded ? "wrong number of entries" : decoded.error()) << "\n";
      return kExitRefused;
    }
    entries = std::move(*decoded);
  }
  int rc = kExitDone;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& e = entries[i];
    if (!e.id.empty()) {
      std::cout << e.id << "\n";
    } else {
      std::cout << "line " << tasks[begin + i].line << ": " << e.code << ": " << e.message << "\n";
      rc = kExitRefused;
    }
  }
  return rc;
}

}  // namespace

int do_submit_batch(zmq::context_t& ctx, const Options& o) {
  BatchInput input;
  if (o.batch_file == "-") {
    input = read_batch_lines(std::cin);
  } else {
    std::ifstream file(o.batch_file);
    if (!file) {
      std::cerr << "zfleet: cannot read " << o.batch_file << "\n";
      return kExitUsage;
    }
    input = read_batch_lines(file);
  }
  if (!input.errors.empty()) {
    for (const auto& e : input.errors) std::cerr << "zfleet: " << e << "\n";
    std::cerr << "zfleet: nothing sent (" << input.errors.size() << " malformed line"
              << (input.errors.size() == 1 ? "" : "s") << ")\n";
    return kExitUsage;
  }
  Client frontend(ctx, o.frontend, std::chrono::milliseconds(o.timeout_ms), o.curve);
  int rc = kExitDone;
  for (std::size_t begin = 0; begin < input.tasks.size();) {
    std::size_t end = chunk_end(input.tasks, begin, std::max<uint32_t>(o.chunk, 1));
    int chunk_rc = send_chunk(frontend, input.tasks, begin, end);
    if (chunk_rc == kExitNoAnswer) return chunk_rc;
    rc = std::max(rc, chunk_rc);
    begin = end;
  }
  return rc;
}

}  // namespace zfleet::cli
