// In-process hand-offs between broker threads, over inproc sockets (never a
// shared socket, never an ad-hoc locked deque):
//
//   intake threads --PUSH--> dispatcher   kDispatchEndpoint: batches of Task*
//   result threads --PUSH--> dispatcher   kControlEndpoint: CLEAR (link format), CANCEL
//   main thread    --PUSH--> dispatcher   kControlEndpoint: DRAIN / STOP
//   dispatcher --PUSH--> result thread i  notify_endpoint(i): Notice (finished
//                                         tasks, cancel outcomes)
//
// A Task* batch moves ownership of the tasks to the dispatcher. A notice
// carries a heap-allocated Notice, whose ownership moves to the receiving
// result thread.
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

namespace zfleet::broker {

inline constexpr const char* kDispatchEndpoint = "inproc://zfleet-dispatch";
inline constexpr const char* kControlEndpoint = "inproc://zfleet-control";
inline constexpr const char* kFrontendWorkers = "inproc://zfleet-frontend";
inline constexpr const char* kResultsWorkers = "inproc://zfleet-results";
inline std::string notify_endpoint(unsigned i) { return "inproc://zfleet-notify-" + std::to_string(i); }

// Control commands (single frame) besides CLEAR.
inline constexpr std::string_view kDrainCommand = "DRAIN";
inline constexpr std::string_view kStopCommand = "STOP";

inline zmq::message_t pack_tasks(const std::vector<Task*>& tasks) {
  zmq::message_t m(tasks.size() * sizeof(Task*));
  if (!tasks.empty()) std::memcpy(m.data(), tasks.data(), m.size());
  return m;
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
  bool empty() const { return records.empty() && cancels.empty(); }
};

inline zmq::message_t pack_notice(Notice notice) {
  auto* holder = new Notice(std::move(notice));
  zmq::message_t m(sizeof holder);
  std::memcpy(m.data(), &holder, sizeof holder);
  return m;
}

inline Notice unpack_notice(const zmq::message_t& m) {
  if (m.size() != sizeof(Notice*)) return {};
  Notice* holder;
  std::memcpy(&holder, m.data(), sizeof holder);
  Notice notice = std::move(*holder);
  delete holder;
  return notice;
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
