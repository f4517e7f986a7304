// ResultThread: one of broker.result_threads threads serving the results
// endpoint: get (with long-poll wait_ms), get_many, status, cancel,
// clear_cache.
//
// Owns (its own thread only): its ClientSocket (the public results ROUTER
// when it is the only result thread, else a DEALER on the results proxy's
// inproc endpoint), a PULL bound at notify_endpoint(index) for finished-task
// notices from the dispatcher, a PUSH to the dispatcher's control endpoint
// (for clear_cache), and its Waiters.
//
// Contract: a get for a live task registers its interest in the LiveTable
// atomically with reading the state (LiveTable::watch), so a completion is
// either seen now or notified later, never missed. Waiting costs a map entry,
// not a thread; a get that would park beyond broker.max_waiters (all result
// threads together) is refused with queue_full. A cancel is decided by the dispatcher, which owns task
// states: the request is parked here under a token, sent as CANCEL on the
// control socket, and answered when the outcome comes back in a Notice.
//
// Stopping: the dispatcher's last Notice says `stopping`; the thread then
// answers every parked request (`shutting_down` where nothing is decided),
// leaves its loop and closes its client socket with a linger, so join()
// returns once those replies are handed to libzmq. The broker joins result
// threads before it shuts the context down (broker.cpp).
//
// Thread safety: start()/join() from the owning thread.
#pragma once

#include <deque>
#include <optional>
#include <thread>
#include <unordered_map>

#include <zmq.hpp>

#include "broker/broker_state.h"
#include "broker/client_socket.h"
#include "broker/waiters.h"
#include "common/frames.h"

namespace zfleet::broker {

class ResultThread {
 public:
  // `direct`: the results endpoint this thread serves alone (nullopt: behind
  // the proxy).
  ResultThread(BrokerState& state, unsigned index, std::optional<PublicEndpoint> direct)
      : st_(state), index_(index), direct_(std::move(direct)), client_(state.metrics.replies_dropped) {}
  ~ResultThread() { join(); }
  void start();
  void join() {
    if (thread_.joinable()) thread_.join();
  }

 private:
  void loop();
  void on_request(common::Message& msg);
  void on_notice();
  void on_expired();
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
  std::optional<PublicEndpoint> direct_;
  std::thread thread_;
  ClientSocket client_;
  zmq::socket_t notices_, control_;
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
