// Intake: serving the frontend (submit, submit_batch): decode and validate,
// register in the live table, hand the tasks to the dispatcher, then
// acknowledge (DESIGN decision 3). The logic only: whose thread runs it and
// how the tasks reach the dispatcher are the caller's (TaskSink):
//   - IntakeThread (intake_thread.h) runs it on a thread of its own and
//     PUSHes the batches over inproc, for broker.queue_threads > 1 or
//     result_threads > 1;
//   - with one intake and one result thread (the defaults) the dispatcher
//     runs it on its own thread (inline_clients.h) and takes the batches
//     with a call: no hand-off between threads at all (issue 14).
//
// Contract: a task is acknowledged (`accepted`) only after it is in the live
// table and handed to the sink, so a `get` right after the acknowledgement
// finds it; with the journal on, also only once its ACCEPT record is durable
// under the fsync policy (the reply waits, parked under a token, until
// acked(token), while serving goes on). Refusals: duplicate_id (live or
// cached id), queue_full (type's queue at broker.max_queued, its delayed
// tasks at broker.max_delayed, or the live table at broker.max_live; the
// message names the key), shutting_down (draining).
//
// Thread safety: one thread, the one that owns `client`.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/handoff.h"
#include "common/frames.h"

namespace zfleet::broker {

// Where admitted tasks go: ownership of every Task* moves with the call.
// `ack` is set when the journal is on: the token to hand back through
// Intake::acked once the batch's records are durable.
class TaskSink {
 public:
  virtual void take_tasks(const std::vector<Task*>& batch, std::optional<AckRequest> ack) = 0;

 protected:
  ~TaskSink() = default;
};

class Intake {
 public:
  Intake(BrokerState& state, unsigned index, ClientSocket& client, TaskSink& sink, bool journaled)
      : st_(state), index_(index), client_(client), sink_(sink), journaled_(journaled) {}

  // One request from the client socket: answered now, or parked until acked.
  void on_request(common::Message& msg);
  // The batch under `token` is durable: its acknowledgement goes out.
  void acked(uint64_t token);
  // A blob of 8-byte tokens (the inproc form of a durability report).
  void acked_all(const zmq::message_t& tokens);

 private:
  std::string handle(std::string_view body, bool& admitted);
  std::optional<common::WireError> reserve(const common::TaskSpec& spec);
  std::expected<std::string, common::WireError> admit(common::TaskSpec&& spec, std::vector<Task*>& batch);

  BrokerState& st_;
  unsigned index_;
  ClientSocket& client_;
  TaskSink& sink_;
  bool journaled_;
  struct Parked {
    std::vector<zmq::message_t> envelope;
    std::string reply;
  };
  std::unordered_map<uint64_t, Parked> parked_;  // by ack token
  uint64_t next_token_ = 1;
  uint64_t token_ = 0;  // the token of the request being handled (0: none)
};

}  // namespace zfleet::broker
