#include "broker/broker_log.h"
#include "broker/result_thread.h"

#include "broker/handoff.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {

void ResultThread::start() {
  auto setup = [this] {
    const auto o = common::unbounded_options();
    notices_ = common::make_socket(st_.ctx, zmq::socket_type::pull, o);
    notices_.bind(notify_endpoint(index_));
    control_ = common::make_socket(st_.ctx, zmq::socket_type::push, o);
    control_.connect(kControlEndpoint);
    if (direct_) {
      client_.open_direct(st_.ctx, *direct_);
    } else {
      client_.open_shared(st_.ctx, kResultsWorkers);
    }
  };
  auto body = [this] {
    try {
      loop();
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) common::die(log(), std::string("result thread stopped: ") + e.what());
    } catch (const std::exception& e) {
      common::die(log(), std::string("result thread stopped: ") + e.what());
    }
    client_.close(service_.stopped() ? kStopLingerMs : 0);
    notices_.close();
    control_.close();
  };
  thread_ = common::start_after_setup("zf-results-" + std::to_string(index_), setup, body);
}

void ResultThread::loop() {
  zmq::pollitem_t items[] = {{notices_.handle(), 0, ZMQ_POLLIN, 0},
                             {client_.socket().handle(), 0, ZMQ_POLLIN, 0}};
  common::Message msg;
  while (!service_.stopped()) {
    const uint64_t wait_us = service_.wait_us(common::now_us());
    const auto timeout = wait_us == UINT64_MAX ? std::chrono::milliseconds(-1)
                                               : std::chrono::milliseconds((wait_us + 999) / 1000);
    zmq::poll(items, 2, timeout);
    if (items[0].revents & ZMQ_POLLIN) on_notices();
    if (service_.stopped()) return;
    if (items[1].revents & ZMQ_POLLIN) {
      for (int n = 0; n < 256; ++n) {
        if (!common::recv_message(client_.socket(), msg, zmq::recv_flags::dontwait)) break;
        service_.on_request(msg);
      }
    }
    service_.on_timers();
  }
}

void ResultThread::on_notices() {
  for (int n = 0; n < 1024; ++n) {
    zmq::message_t m;
    if (!notices_.recv(m, zmq::recv_flags::dontwait)) return;
    service_.take_notice(unpack_notice(m));
  }
}

void ResultThread::clear_scripts(common::Frames clear) { common::send_frames(control_, clear); }

void ResultThread::request_cancel(const CancelRequest& req) {
  auto frames = encode_cancel_request(req);
  common::send_frames(control_, frames);
}

}  // namespace zfleet::broker
