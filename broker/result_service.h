// ResultService: serving the results endpoint: get (with long-poll
// wait_ms), get_many, status, cancel, clear_cache. The logic only, like
// Intake: whose thread runs it and how it reaches the dispatcher are the
// caller's (ControlSink, and notices given to take_notice):
//   - ResultThread (result_thread.h) runs it on a thread of its own, with
//     inproc sockets to and from the dispatcher;
//   - with one intake and one result thread (the defaults) the dispatcher
//     runs it on its own thread (inline_clients.h): a finished task's
//     notice, a cancel and a clear are calls, not hand-offs (issue 14).
//
// Contract: a get for a live task registers its interest in the LiveTable
// atomically with reading the state (LiveTable::watch), so a completion is
// either seen now or notified later, never missed. Waiting costs a map entry,
// not a thread; a get that would park beyond broker.max_waiters (all result
// services together) is refused with queue_full. A cancel is decided by the
// dispatcher, which owns task states: the request is parked here under a
// token, handed to the sink, and answered when the outcome comes back in a
// Notice. A notice marked `stopping` answers every parked request
// (`shutting_down` where nothing is decided); stopped() is then true.
//
// Thread safety: one thread, the one that owns `client`.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/handoff.h"
#include "broker/waiters.h"
#include "common/frames.h"
#include "common/worker_link.h"

namespace zfleet::broker {

// What the result service asks of the dispatcher.
class ControlSink {
 public:
  // clear_cache: the CLEAR to broadcast to every worker (link format).
  virtual void clear_scripts(common::Frames clear) = 0;
  // cancel: decided by the dispatcher, answered in a later Notice.
  virtual void request_cancel(const CancelRequest& req) = 0;

 protected:
  ~ControlSink() = default;
};

class ResultService {
 public:
  ResultService(BrokerState& state, unsigned index, ClientSocket& client, ControlSink& sink)
      : st_(state), index_(index), client_(client), sink_(sink) {}

  void on_request(common::Message& msg);
  // Finished tasks and cancel outcomes from the dispatcher.
  void take_notice(Notice notice);
  // Answers waiters whose time ran out and paced groups of completed ones;
  // call after every wake-up.
  void on_timers();
  // How long the owner may sleep (UINT64_MAX: until a message comes).
  uint64_t wait_us(uint64_t now_us) const;
  bool stopped() const { return stopped_; }

 private:
  void answer_ready();
  void on_stopping();
  void park_cancel(const common::Request& req, common::Message& msg);
  std::string handle(const common::Request& req, common::Message& msg, bool& parked);
  std::string handle_get(const common::Request& req, common::Message& msg, bool& parked);
  bool reserve_waiter();
  void reply_parked(Waiter& w, const std::string& body);
  std::string status_reply(const common::Request& req);
  Found lookup(const std::string& id);
  std::string answer(Waiter& w);

  BrokerState& st_;
  unsigned index_;
  ClientSocket& client_;
  ControlSink& sink_;
  Waiters waiters_;
  std::deque<std::shared_ptr<const common::ResultRecord>> finished_;  // notices whose waiters are not all handled yet
  std::deque<Waiter> ready_;        // completed, answered by answer_ready()
  uint64_t next_ready_us_ = 0;
  struct ParkedCancel {
    std::vector<zmq::message_t> envelope;
    std::string id, corr;
  };
  std::unordered_map<uint64_t, ParkedCancel> cancels_;  // by token
  bool stopped_ = false;  // the stopping notice came: every parked request answered
  uint64_t next_cancel_token_ = 1;
};

}  // namespace zfleet::broker
