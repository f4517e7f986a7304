// Unit tests of common/socket_poller: waiting on real ZeroMQ sockets'
// ZMQ_FDs. Over TCP on loopback, as the broker's sockets are. Waits are
// generous upper bounds on events that must happen; nothing asserts on
// elapsed time.
#include "common/socket_poller.h"

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <zmq.hpp>

using zfleet::common::SocketPoller;

namespace {

constexpr long kLongMs = 10'000;

// A PULL bound on a free loopback port and a PUSH connected to it.
struct Pipe {
  explicit Pipe(zmq::context_t& ctx) : in(ctx, zmq::socket_type::pull), out(ctx, zmq::socket_type::push) {
    in.set(zmq::sockopt::linger, 0);
    out.set(zmq::sockopt::linger, 0);
    in.bind("tcp://127.0.0.1:*");
    out.connect(in.get(zmq::sockopt::last_endpoint));
  }
  void send(const std::string& s) { out.send(zmq::buffer(s), zmq::send_flags::none); }
  int drain() {
    int n = 0;
    zmq::message_t m;
    while (in.recv(m, zmq::recv_flags::dontwait)) ++n;
    return n;
  }
  zmq::socket_t in, out;
};

// One reader turn: drains every socket the wait names (a name may be
// spurious: ZMQ_FD also signals libzmq's own commands) and marks it.
struct Reader {
  SocketPoller& p;
  std::vector<Pipe*> pipes;
  std::vector<int> got = std::vector<int>(pipes.size(), 0);
  bool turn(long timeout_ms) {
    const auto& ready = p.wait(timeout_ms);
    for (std::size_t i : ready) {
      got[i] += pipes[i]->drain();
      p.touched(i);
    }
    return !ready.empty();
  }
  // Turns until a wait that does not sleep names nothing.
  bool settles() {
    for (int i = 0; i < 10; ++i)
      if (!turn(0)) return true;
    return false;
  }
};

}  // namespace

TEST_SUITE("socket_poller") {
  TEST_CASE("a message wakes the wait; drained sockets let it sleep") {
    zmq::context_t ctx(1);
    Pipe a(ctx), b(ctx);
    SocketPoller p;
    CHECK(p.add(a.in) == 0);
    CHECK(p.add(b.in) == 1);
    Reader r{p, {&a, &b}};
    CHECK(r.settles());
    b.send("x");
    for (int i = 0; i < 100 && r.got[1] == 0; ++i) r.turn(kLongMs);
    CHECK(r.got == std::vector<int>{0, 1});
    CHECK(r.settles());
    a.send("y");
    b.send("z");
    for (int i = 0; i < 100 && r.got[0] + r.got[1] < 3; ++i) r.turn(kLongMs);
    CHECK(r.got == std::vector<int>{1, 2});
    CHECK(r.settles());
  }

  TEST_CASE("a socket read only in part is named again once marked touched") {
    zmq::context_t ctx(1);
    Pipe a(ctx);
    SocketPoller p;
    p.add(a.in);
    for (int i = 0; i < 3; ++i) a.send("m");
    zmq::message_t m;
    int got = 0;
    // One message per wait, as a reader with a cap of 1 would: the first
    // read took the fd's signal, so only touched() brings the rest back.
    for (int i = 0; i < 100 && got < 3; ++i) {
      for (std::size_t at : p.wait(kLongMs)) {
        CHECK(at == 0);
        if (a.in.recv(m, zmq::recv_flags::dontwait)) ++got;
        p.touched(at);
      }
    }
    CHECK(got == 3);
    CHECK(a.drain() == 0);
  }
}
