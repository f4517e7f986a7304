#include "broker/broker_log.h"
#include "broker/router_proxy.h"

#include "common/log.h"
#include "common/sockets.h"
#include "common/threads.h"

namespace zfleet::broker {
namespace {
constexpr int kProxyBurst = 512;
// finish() is seen within this: the proxy's only periodic wake-up.
constexpr auto kFinishCheck = std::chrono::milliseconds(100);
}  // namespace

RouterProxy::RouterProxy(zmq::context_t& ctx, ProxyOptions opts, std::atomic<uint64_t>& dropped)
    : ctx_(ctx), opts_(std::move(opts)), dropped_(dropped) {}

RouterProxy::~RouterProxy() { join(); }

void RouterProxy::start() {
  auto setup = [this] {
    router_ = bind_public_router(ctx_, opts_.pub);
    dealer_ = common::make_socket(ctx_, zmq::socket_type::dealer, common::unbounded_options());
    dealer_.bind(opts_.inproc_endpoint);
  };
  auto body = [this] {
    try {
      loop();
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) log()->critical("{} proxy stopped: {}", opts_.pub.name, e.what());
    }
    if (finishing_.load(std::memory_order_acquire)) router_.set(zmq::sockopt::linger, kStopLingerMs);
    router_.close();
    dealer_.close();
  };
  thread_ = common::start_after_setup(std::string("zf-proxy-") + opts_.pub.name, setup, body);
}

void RouterProxy::finish() {
  finishing_.store(true, std::memory_order_release);
  join();
}

void RouterProxy::join() {
  if (thread_.joinable()) thread_.join();
}

void RouterProxy::loop() {
  zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                             {dealer_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, kFinishCheck);
    if (items[1].revents & ZMQ_POLLIN) to_clients();
    if (items[0].revents & ZMQ_POLLIN) to_workers();
    if (finishing_.load(std::memory_order_acquire)) {
      while (to_clients()) {
      }
      return;
    }
  }
}

void RouterProxy::to_workers() {
  zmq::message_t frame;
  for (int n = 0; n < kProxyBurst; ++n) {
    if (!router_.recv(frame, zmq::recv_flags::dontwait)) return;
    // Forward frame by frame; the inproc DEALER has no HWM so never blocks.
    for (;;) {
      bool more = frame.more();
      dealer_.send(frame, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
      if (!more) break;
      (void)router_.recv(frame, zmq::recv_flags::none);
    }
  }
}

// Returns true when it stopped at kProxyBurst (more may be waiting).
bool RouterProxy::to_clients() {
  zmq::message_t frame;
  for (int n = 0; n < kProxyBurst; ++n) {
    if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) return false;
    bool first = true, sending = true;
    for (;;) {
      bool more = frame.more();
      if (sending && !send_client_frame(router_, frame, more, first)) {
        sending = false;
        dropped_.fetch_add(1, std::memory_order_relaxed);
        log()->warn("{}: reply dropped (client gone or over client_hwm)", opts_.pub.name);
      }
      first = false;
      if (!more) break;
      (void)dealer_.recv(frame, zmq::recv_flags::none);
    }
  }
  return true;
}

}  // namespace zfleet::broker
