#include "benchmarks/bench/transport.h"

#include <cstdio>
#include <stdexcept>
#include <string>

#include <zmq.hpp>

#include "common/clock.h"
#include "common/frames.h"

namespace zfleet::bench {
namespace {

// About the size of a small submit body.
const std::string kPayload(64, 'x');
constexpr std::string_view kStop = "STOP";

void forward(zmq::socket_t& from, zmq::socket_t& to, const zmq::message_t* prefix) {
  common::Message m;
  if (!common::recv_message(from, m)) return;
  if (prefix) to.send(zmq::buffer(prefix->data(), prefix->size()), zmq::send_flags::sndmore);
  for (std::size_t i = 0; i < m.frames.size(); ++i) {
    to.send(m.frames[i], i + 1 < m.frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

zmq::message_t recv_one(zmq::socket_t& s) {
  zmq::message_t m;
  (void)s.recv(m);
  return m;
}

}  // namespace

int run_forwarder() {
  zmq::context_t ctx(1);
  zmq::socket_t front(ctx, zmq::socket_type::router), back(ctx, zmq::socket_type::router);
  front.set(zmq::sockopt::linger, 0);
  back.set(zmq::sockopt::linger, 0);
  front.bind("tcp://127.0.0.1:*");
  back.bind("tcp://127.0.0.1:*");
  std::printf("%s %s\n", front.get(zmq::sockopt::last_endpoint).c_str(),
              back.get(zmq::sockopt::last_endpoint).c_str());
  std::fflush(stdout);
  // The echo process says hello first, so its identity is known.
  zmq::message_t echo_id = recv_one(back);
  (void)recv_one(back);
  zmq::pollitem_t items[] = {{front.handle(), 0, ZMQ_POLLIN, 0}, {back.handle(), 0, ZMQ_POLLIN, 0}};
  for (;;) {
    zmq::poll(items, 2, std::chrono::milliseconds(-1));
    if (items[0].revents & ZMQ_POLLIN) forward(front, back, &echo_id);      // [client][body]
    if (items[1].revents & ZMQ_POLLIN) {
      common::Message m;  // [echo][client][body]
      if (!common::recv_message(back, m) || m.frames.size() != 3) continue;
      bool stop = common::view(m.frames[2]) == kStop;
      front.send(m.frames[1], zmq::send_flags::sndmore);
      front.send(m.frames[2], zmq::send_flags::none);
      if (stop) return 0;
    }
  }
}

int run_echo(const char* backend) {
  zmq::context_t ctx(1);
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 1000);
  s.connect(backend);
  s.send(zmq::str_buffer("hello"), zmq::send_flags::none);
  for (;;) {
    common::Message m;  // [client][body]
    if (!common::recv_message(s, m) || m.frames.size() != 2) continue;
    bool stop = common::view(m.frames[1]) == kStop;
    s.send(m.frames[0], zmq::send_flags::sndmore);
    s.send(m.frames[1], zmq::send_flags::none);
    if (stop) return 0;
  }
}

TransportResult measure_transport(const char* self_exe, std::size_t count, std::size_t window) {
  std::string fwd_cmd = std::string(self_exe) + " transport-forwarder";
  FILE* fwd = popen(fwd_cmd.c_str(), "r");
  char front[128] = {}, back[128] = {};
  if (!fwd || std::fscanf(fwd, "%127s %127s", front, back) != 2)
    throw std::runtime_error("transport forwarder did not start");
  std::string echo_cmd = std::string(self_exe) + " transport-echo " + back;
  FILE* echo = popen(echo_cmd.c_str(), "r");
  if (!echo) throw std::runtime_error("transport echo did not start");

  TransportResult r;
  {
    zmq::context_t ctx(1);
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 1000);
    s.connect(front);
    for (int warm = 0; warm < 200; ++warm) {  // connections up, caches warm
      s.send(zmq::buffer(kPayload), zmq::send_flags::none);
      (void)recv_one(s);
    }
    for (std::size_t i = 0; i < count; ++i) {
      uint64_t t0 = common::now_us();
      s.send(zmq::buffer(kPayload), zmq::send_flags::none);
      (void)recv_one(s);
      r.round_trip_us.record(common::now_us() - t0);
    }
    std::size_t sent = 0, got = 0, total = count * 10;
    uint64_t t0 = common::now_us();
    while (got < total) {
      while (sent < total && sent - got < window) {
        s.send(zmq::buffer(kPayload), zmq::send_flags::none);
        ++sent;
      }
      (void)recv_one(s);
      ++got;
    }
    r.pipelined_per_s = static_cast<double>(total) * 1e6 / static_cast<double>(common::now_us() - t0);
    s.send(zmq::buffer(kStop), zmq::send_flags::none);
    (void)recv_one(s);
  }
  pclose(echo);
  pclose(fwd);
  return r;
}

}  // namespace zfleet::bench
