// In-process hand-offs between broker threads, over inproc sockets (never a
// shared socket, never an ad-hoc locked deque):
//
//   intake threads --PUSH--> dispatcher   kDispatchEndpoint: batches of Task*
//   result threads --PUSH--> dispatcher   kControlEndpoint: CLEAR (link format)
//   main thread    --PUSH--> dispatcher   kControlEndpoint: DRAIN / STOP
//   dispatcher --PUSH--> result thread i  notify_endpoint(i): finished tasks
//
// A Task* batch moves ownership of the tasks to the dispatcher. A notice
// carries a heap-allocated batch of shared_ptrs to ResultRecords, whose
// ownership moves to the receiving result thread.
//
// Thread safety: functions only.
#pragma once

#include <cstring>
#include <memory>
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

// A batch of finished tasks (each record carries its id) for one result
// thread: the dispatcher sends one per loop pass, not one per task.
inline zmq::message_t pack_records(RecordBatch batch) {
  auto* holder = new RecordBatch(std::move(batch));
  zmq::message_t m(sizeof holder);
  std::memcpy(m.data(), &holder, sizeof holder);
  return m;
}

inline RecordBatch unpack_records(const zmq::message_t& m) {
  if (m.size() != sizeof(RecordBatch*)) return {};
  RecordBatch* holder;
  std::memcpy(&holder, m.data(), sizeof holder);
  RecordBatch batch = std::move(*holder);
  delete holder;
  return batch;
}

}  // namespace zfleet::broker
