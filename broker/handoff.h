// In-process hand-offs between broker threads, over inproc sockets (never a
// shared socket, never an ad-hoc locked deque):
//
//   intake threads --PUSH--> dispatcher   kDispatchEndpoint: batches of Task*
//                                         [+ an ack token when the journal is on]
//   dispatcher --PUSH--> journal thread   kJournalIn: record batches
//   journal thread --PUSH--> dispatcher   kJournalDurable: durable sequence + acks
//   dispatcher --PUSH--> intake thread i  intake_ack_endpoint(i): durable ack tokens
//   result threads --PUSH--> dispatcher   kControlEndpoint: CLEAR (link format), CANCEL
//   main thread    --PUSH--> dispatcher   kControlEndpoint: DRAIN / STOP
//   dispatcher --PUSH--> result thread i  notify_endpoint(i): Notice (finished
//                                         tasks, cancel outcomes)
//
// A Task* batch moves ownership of the tasks to the dispatcher. A notice
// carries a heap-allocated Notice owned by the message itself (zero-copy,
// with a free function): the receiving result thread moves its contents out,
// and a notice nobody reads (one still queued when the broker stops) is freed
// with its message.
//
// Thread safety: functions only.
#pragma once

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "broker/task.h"
#include "common/result_record.h"
#include "common/tsan.h"

namespace zfleet::broker {

inline constexpr const char* kDispatchEndpoint = "inproc://zfleet-dispatch";
inline constexpr const char* kControlEndpoint = "inproc://zfleet-control";
inline constexpr const char* kFrontendWorkers = "inproc://zfleet-frontend";
inline constexpr const char* kResultsWorkers = "inproc://zfleet-results";
// The journal (issue 10): the dispatcher PUSHes record batches to the
// journal thread, which PUSHes durability reports back.
inline constexpr const char* kJournalIn = "inproc://zfleet-journal-in";
inline constexpr const char* kJournalDurable = "inproc://zfleet-journal-durable";
// dispatcher -> intake thread i: acknowledgement tokens whose records are durable.
inline std::string intake_ack_endpoint(unsigned i) { return "inproc://zfleet-intake-ack-" + std::to_string(i); }
inline std::string notify_endpoint(unsigned i) { return "inproc://zfleet-notify-" + std::to_string(i); }

// Control commands (single frame) besides CLEAR.
inline constexpr std::string_view kDrainCommand = "DRAIN";
inline constexpr std::string_view kStopCommand = "STOP";
// Scale-down (main thread -> dispatcher, issue 15): ["RETIRE"][pid] drains
// the local worker of that process (no new tasks; STOP once it holds
// none); ["KEEP"][pid] cancels that if STOP has not gone yet.
inline constexpr std::string_view kRetireCommand = "RETIRE";
inline constexpr std::string_view kKeepCommand = "KEEP";

inline std::vector<zmq::message_t> encode_retire(bool retire, int64_t pid) {
  std::vector<zmq::message_t> f;
  const std::string_view cmd = retire ? kRetireCommand : kKeepCommand;
  f.emplace_back(cmd.data(), cmd.size());
  f.emplace_back(&pid, sizeof pid);
  return f;
}

inline std::optional<int64_t> decode_retire_pid(const std::vector<zmq::message_t>& f) {
  if (f.size() != 2 || f[1].size() != sizeof(int64_t)) return std::nullopt;
  int64_t pid;
  std::memcpy(&pid, f[1].data(), sizeof pid);
  return pid;
}

inline zmq::message_t pack_tasks(const std::vector<Task*>& tasks) {
  zmq::message_t m(tasks.size() * sizeof(Task*));
  if (!tasks.empty()) std::memcpy(m.data(), tasks.data(), m.size());
  return m;
}

// The optional second frame of a Task* batch: which intake thread wants an
// acknowledgement token back once the batch's records are durable.
struct AckRequest {
  uint64_t token = 0;
  uint32_t intake = 0;
};

inline zmq::message_t pack_ack_request(AckRequest a) {
  zmq::message_t m(sizeof a.token + sizeof a.intake);
  std::memcpy(m.data(), &a.token, sizeof a.token);
  std::memcpy(static_cast<char*>(m.data()) + sizeof a.token, &a.intake, sizeof a.intake);
  return m;
}

inline std::optional<AckRequest> unpack_ack_request(const zmq::message_t& m) {
  AckRequest a;
  if (m.size() != sizeof a.token + sizeof a.intake) return std::nullopt;
  std::memcpy(&a.token, m.data(), sizeof a.token);
  std::memcpy(&a.intake, static_cast<const char*>(m.data()) + sizeof a.token, sizeof a.intake);
  return a;
}

inline std::vector<Task*> unpack_tasks(const zmq::message_t& m) {
  std::vector<Task*> tasks(m.size() / sizeof(Task*));
  if (!tasks.empty()) std::memcpy(tasks.data(), m.data(), tasks.size() * sizeof(Task*));
  return tasks;
}

using RecordPtr = std::shared_ptr<const common::ResultRecord>;
using RecordBatch = std::vector<RecordPtr>;

// The dispatcher's answer to one CANCEL control message.
struct CancelReply {
  uint64_t token = 0;  // the result thread's own number for the parked request
  common::CancelOutcome outcome = common::CancelOutcome::unknown;
};

// What the dispatcher tells one result thread per loop pass: the finished
// tasks it waits for (each record carries its id) and cancel outcomes.
struct Notice {
  RecordBatch records;
  std::vector<CancelReply> cancels;
  bool stopping = false;  // the broker stops: answer every parked request shutting_down
  bool empty() const { return records.empty() && cancels.empty() && !stopping; }
};

// inproc passes the message's data pointer through unchanged, so the
// receiver sees the Notice itself; libzmq calls the free function when the
// last reference to the message goes, whichever thread that is.
// (tsan_release/acquire tell ThreadSanitizer about that hand-off: common/tsan.h.)
inline zmq::message_t pack_notice(Notice notice) {
  auto* holder = new Notice(std::move(notice));
  common::tsan_release(holder);
  return zmq::message_t(holder, sizeof(Notice), [](void* data, void*) {
    common::tsan_acquire(data);
    delete static_cast<Notice*>(data);
  });
}

inline Notice unpack_notice(zmq::message_t& m) {
  if (m.size() != sizeof(Notice)) return {};
  common::tsan_acquire(m.data());
  return std::move(*static_cast<Notice*>(m.data()));
}

// CANCEL control message, result thread -> dispatcher:
//   ["N"][token: 8 bytes][result thread index: 4 bytes][task id]
inline constexpr std::string_view kCancelCommand = "N";

struct CancelRequest {
  uint64_t token = 0;
  uint32_t thread = 0;
  std::string id;
};

inline std::vector<zmq::message_t> encode_cancel_request(const CancelRequest& r) {
  std::vector<zmq::message_t> f;
  f.emplace_back(kCancelCommand.data(), kCancelCommand.size());
  f.emplace_back(&r.token, sizeof r.token);
  f.emplace_back(&r.thread, sizeof r.thread);
  f.emplace_back(r.id.data(), r.id.size());
  return f;
}

inline std::optional<CancelRequest> decode_cancel_request(const std::vector<zmq::message_t>& f) {
  if (f.size() != 4 || f[1].size() != sizeof(uint64_t) || f[2].size() != sizeof(uint32_t))
    return std::nullopt;
  CancelRequest r;
  std::memcpy(&r.token, f[1].data(), sizeof r.token);
  std::memcpy(&r.thread, f[2].data(), sizeof r.thread);
  r.id.assign(static_cast<const char*>(f[3].data()), f[3].size());
  return r;
}

}  // namespace zfleet::broker
