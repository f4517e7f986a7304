#include "broker/broker_log.h"
#include "broker/router_proxy.h"

#include <future>

#include "common/log.h"
#include "common/sockets.h"
#include "common/thread_name.h"

namespace zfleet::broker {
namespace {
constexpr int kBurst = 512;
}  // namespace

RouterProxy::RouterProxy(zmq::context_t& ctx, ProxyOptions opts, std::atomic<uint64_t>& dropped)
    : ctx_(ctx), opts_(std::move(opts)), dropped_(dropped) {}

RouterProxy::~RouterProxy() { join(); }

void RouterProxy::start() {
  std::promise<void> ready;
  auto bound = ready.get_future();
  thread_ = std::thread([this, &ready] {
    common::name_this_thread(std::string("zf-proxy-") + opts_.name);
    try {
      common::SocketOptions ro;
      ro.router_mandatory = true;  // a refused reply must be seen, to be counted
      ro.sndhwm = opts_.client_hwm;
      ro.rcvhwm = opts_.client_hwm;
      // Bodies up to twice the limit still arrive, so they can be answered
      // with too_large; anything larger makes libzmq drop the connection.
      ro.max_message_bytes = opts_.max_message_bytes * 2 + 65536;
      ro.zmtp_heartbeat_ms = 2000;
      router_ = common::make_socket(ctx_, zmq::socket_type::router, ro);
      common::bind_socket(router_, opts_.public_endpoint);
      dealer_ = common::make_socket(ctx_, zmq::socket_type::dealer, common::unbounded_options());
      dealer_.bind(opts_.inproc_endpoint);
    } catch (...) {
      ready.set_exception(std::current_exception());
      return;
    }
    ready.set_value();
    try {
      loop();
    } catch (const zmq::error_t& e) {
      if (e.num() != ETERM) log()->critical("{} proxy stopped: {}", opts_.name, e.what());
    }
    router_.close();
    dealer_.close();
  });
  bound.get();
}

void RouterProxy::join() {
  if (thread_.joinable()) thread_.join();
}

void RouterProxy::loop() {
  zmq::pollitem_t items[] = {{router_.handle(), 0, ZMQ_POLLIN, 0},
                             {dealer_.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[1].revents & ZMQ_POLLIN) to_clients();
    if (items[0].revents & ZMQ_POLLIN) to_workers();
  }
}

void RouterProxy::to_workers() {
  zmq::message_t frame;
  for (int n = 0; n < kBurst; ++n) {
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

void RouterProxy::to_clients() {
  zmq::message_t frame;
  for (int n = 0; n < kBurst; ++n) {
    if (!dealer_.recv(frame, zmq::recv_flags::dontwait)) return;
    bool first = true, sending = true;
    for (;;) {
      bool more = frame.more();
      if (sending) {
        auto flags = zmq::send_flags::dontwait | (more ? zmq::send_flags::sndmore : zmq::send_flags::none);
        try {
          if (!router_.send(frame, flags) && first) sending = false;  // client's HWM reached
        } catch (const zmq::error_t& e) {
          if (!first || e.num() != EHOSTUNREACH) throw;
          sending = false;  // client gone
        }
        if (!sending) {
          dropped_.fetch_add(1, std::memory_order_relaxed);
          log()->warn("{}: reply dropped (client gone or over client_hwm)", opts_.name);
        }
      }
      first = false;
      if (!more) break;
      (void)dealer_.recv(frame, zmq::recv_flags::none);
    }
  }
}

}  // namespace zfleet::broker
