#include "broker/broker_log.h"
#include "broker/intake_thread.h"

#include "broker/handoff.h"
#include "common/fail_loudly.h"
#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {

void IntakeThread::start() {
  auto setup = [this] {
    if (direct_) {
      client_.open_direct(st_.ctx, *direct_);
    } else {
      client_.open_shared(st_.ctx, kFrontendWorkers);
    }
    dispatch_ = common::make_socket(st_.ctx, zmq::socket_type::push, common::unbounded_options());
    dispatch_.connect(kDispatchEndpoint);
    if (st_.config.broker.journal.enabled()) {
      acks_ = common::make_socket(st_.ctx, zmq::socket_type::pull, common::unbounded_options());
      acks_.bind(intake_ack_endpoint(index_));
    }
  };
  auto body = [this] {
    try {
      loop();
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) common::die(log(), std::string("intake thread stopped: ") + e.what());
    } catch (const std::exception& e) {
      common::die(log(), std::string("intake thread stopped: ") + e.what());
    }
    client_.close();
    dispatch_.close();
    if (acks_) acks_.close();
  };
  thread_ = common::start_after_setup("zf-intake", setup, body);
}

void IntakeThread::loop() {
  common::Message msg;
  if (!acks_) {
    for (;;) {
      if (!common::recv_message(client_.socket(), msg)) return;  // context shut down
      intake_.on_request(msg);
    }
  }
  zmq::pollitem_t items[] = {{client_.socket().handle(), 0, ZMQ_POLLIN, 0},
                             {acks_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) {
      zmq::message_t m;
      while (acks_.recv(m, zmq::recv_flags::dontwait)) intake_.acked_all(m);
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int n = 0; n < 256; ++n) {
        if (!common::recv_message(client_.socket(), msg, zmq::recv_flags::dontwait)) break;
        intake_.on_request(msg);
      }
    }
  }
}

void IntakeThread::take_tasks(const std::vector<Task*>& batch, std::optional<AckRequest> ack) {
  if (!ack) {
    dispatch_.send(pack_tasks(batch), zmq::send_flags::none);
    return;
  }
  dispatch_.send(pack_tasks(batch), zmq::send_flags::sndmore);
  dispatch_.send(pack_ack_request(*ack), zmq::send_flags::none);
}

}  // namespace zfleet::broker
