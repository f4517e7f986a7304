// Unit tests of broker/request_frames: ZFP/1 framing (at most 8 client
// frames, body last, size limit) and the envelope a reply travels back on,
// over real ZeroMQ sockets: a client DEALER or REQ talks to the broker's
// ClientSocket (direct mode: the public ROUTER itself) in one thread over
// inproc, and the test checks the frames that come out.
#include "broker/request_frames.h"

#include "broker/client_socket.h"

#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using zfleet::broker::request_body;
using zfleet::broker::ClientSocket;
using zfleet::broker::PublicEndpoint;
using zfleet::broker::take_envelope;
using zfleet::common::ErrorCode;
using zfleet::common::Message;

namespace {

std::string str(const zmq::message_t& m) { return std::string(zfleet::common::view(m)); }

// The broker side (a ClientSocket owning its ROUTER) and one client
// connected to it over inproc.
struct Pair {
  zmq::context_t ctx;
  std::atomic<uint64_t> dropped{0};
  ClientSocket server{dropped};
  zmq::socket_t& router;
  zmq::socket_t client;
  explicit Pair(zmq::socket_type type, const char* endpoint)
      : router((server.open_direct(ctx, PublicEndpoint{endpoint, 1000, 1 << 20, "test", {}}),
                server.socket())),
        client(ctx, type) {
    client.set(zmq::sockopt::linger, 0);
    client.connect(endpoint);
  }
  void send(const std::vector<std::string>& frames) {
    for (std::size_t i = 0; i < frames.size(); ++i) {
      auto flags = i + 1 < frames.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      REQUIRE(client.send(zmq::buffer(frames[i]), flags));
    }
  }
  Message receive() {  // what the broker's request thread sees
    Message m;
    REQUIRE(zfleet::common::recv_message(router, m));
    return m;
  }
  // Answers along the envelope of `m` (a Message) or `env` (a taken envelope).
  void reply(Message& m, const std::string& body) {
    auto env = take_envelope(m);
    server.reply(env, body);
  }
  void reply(std::vector<zmq::message_t>& env, const std::string& body) { server.reply(env, body); }
  std::vector<std::string> client_receives() {
    std::vector<std::string> out;
    for (;;) {
      zmq::message_t f;
      REQUIRE(client.recv(f));
      out.push_back(str(f));
      if (!f.more()) return out;
    }
  }
};

}  // namespace

TEST_SUITE("request_frames") {
  TEST_CASE("[identity, body] from a DEALER: the body, and a reply with no envelope") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-plain");
    p.send({"BODY"});
    Message m = p.receive();
    REQUIRE(m.frames.size() == 2);
    auto body = request_body(m, 1 << 20);
    REQUIRE(body.has_value());
    CHECK(*body == "BODY");
    p.reply(m, "REPLY");
    CHECK(p.client_receives() == std::vector<std::string>{"REPLY"});
  }

  TEST_CASE("[identity, \"\", body] from a DEALER keeps the empty delimiter") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-delim");
    p.send({"", "BODY"});
    Message m = p.receive();
    auto body = request_body(m, 1 << 20);
    REQUIRE(body.has_value());
    CHECK(*body == "BODY");
    p.reply(m, "REPLY");
    CHECK(p.client_receives() == std::vector<std::string>{"", "REPLY"});
  }

  TEST_CASE("a REQ client gets its reply") {
    Pair p(zmq::socket_type::req, "inproc://rf-req");
    p.send({"BODY"});
    Message m = p.receive();
    REQUIRE(m.frames.size() == 3);  // identity, "", body
    CHECK(m.frames[1].size() == 0);
    auto body = request_body(m, 1 << 20);
    REQUIRE(body.has_value());
    CHECK(*body == "BODY");
    p.reply(m, "REPLY");
    CHECK(p.client_receives() == std::vector<std::string>{"REPLY"});  // REQ strips ""
  }

  TEST_CASE("a longer envelope comes back unchanged, also when answered later") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-env");
    std::vector<std::string> sent{"hop-1", std::string("\0\xff", 2), "", "hop-4", "", "BODY"};
    p.send(sent);
    Message m = p.receive();
    auto body = request_body(m, 1 << 20);
    REQUIRE(body.has_value());
    CHECK(*body == "BODY");
    auto env = take_envelope(m);  // parked, as a long-poll get is
    REQUIRE(env.size() == sent.size());  // identity + 5 client frames
    p.send({"SECOND"});  // another request in between
    Message m2 = p.receive();
    p.reply(m2, "R2");
    p.reply(env, "LATE");
    CHECK(p.client_receives() == std::vector<std::string>{"R2"});
    std::vector<std::string> want(sent.begin(), sent.end() - 1);
    want.push_back("LATE");
    CHECK(p.client_receives() == want);
  }

  TEST_CASE("exactly 8 client frames is fine; 9 is bad_request with the envelope trimmed") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-count");
    std::vector<std::string> eight{"", "a", "b", "c", "d", "e", "f", "BODY"};
    p.send(eight);
    Message ok = p.receive();
    CHECK(request_body(ok, 1 << 20).has_value());

    std::vector<std::string> nine{"", "a", "b", "c", "d", "e", "f", "g", "BODY"};
    p.send(nine);
    Message m = p.receive();
    auto body = request_body(m, 1 << 20);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::bad_request);
    CHECK(body.error().message.find("9") != std::string::npos);
    REQUIRE(m.frames.size() == 3);  // identity, "", placeholder body
    p.reply(m, "ERR");
    CHECK(p.client_receives() == std::vector<std::string>{"", "ERR"});

    // Without a leading delimiter, only the identity is kept.
    std::vector<std::string> no_delim{"x", "a", "b", "c", "d", "e", "f", "g", "BODY"};
    p.send(no_delim);
    Message m3 = p.receive();
    REQUIRE_FALSE(request_body(m3, 1 << 20).has_value());
    REQUIRE(m3.frames.size() == 2);
    p.reply(m3, "ERR");
    CHECK(p.client_receives() == std::vector<std::string>{"ERR"});
  }

  TEST_CASE("a message with more frames than are kept is refused, and the client answered") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-many");
    std::vector<std::string> lots(40, "f");
    lots[0] = "";
    p.send(lots);
    Message m = p.receive();
    CHECK(m.truncated());
    CHECK(m.total_frames == 41);
    auto body = request_body(m, 1 << 20);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::bad_request);
    p.reply(m, "ERR");
    CHECK(p.client_receives() == std::vector<std::string>{"", "ERR"});
  }

  TEST_CASE("over max_message_bytes is too_large; a body of exactly the limit is accepted") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-size");
    constexpr std::size_t kMax = 1000;
    p.send({"", std::string(kMax, 'b')});
    Message at_limit = p.receive();
    auto ok = request_body(at_limit, kMax);
    REQUIRE(ok.has_value());
    CHECK(ok->size() == kMax);

    p.send({"", std::string(kMax + 1, 'b')});
    Message m = p.receive();
    auto body = request_body(m, kMax);
    REQUIRE_FALSE(body.has_value());
    CHECK(body.error().code == ErrorCode::too_large);
    CHECK_FALSE(body.error().message.empty());
    p.reply(m, "BIG");
    CHECK(p.client_receives() == std::vector<std::string>{"", "BIG"});

    // Envelope bytes count too: they come back with the reply.
    p.send({std::string(600, 'e'), std::string(600, 'b')});
    Message env_heavy = p.receive();
    CHECK(request_body(env_heavy, kMax).error().code == ErrorCode::too_large);
  }

  TEST_CASE("a reply to a client that has gone is dropped and counted, not blocking") {
    Pair p(zmq::socket_type::dealer, "inproc://rf-gone");
    p.send({"BODY"});
    Message m = p.receive();
    REQUIRE(request_body(m, 1000).has_value());
    p.client.close();
    // ROUTER_MANDATORY refuses the identity once the peer is gone; the
    // disconnect reaches the ROUTER asynchronously, so try a few times.
    for (int i = 0; i < 200 && p.dropped.load() == 0; ++i) {
      auto env = std::vector<zmq::message_t>();
      env.emplace_back(m.frames.front().data(), m.frames.front().size());
      p.reply(env, "LOST");
      if (p.dropped.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(p.dropped.load() == 1);
  }

  TEST_CASE("request_body on a Message assembled by hand") {
    Message m;
    for (std::string_view f : {std::string_view("id"), std::string_view("BODY")}) {
      m.frames.emplace_back(f.data(), f.size());
      ++m.total_frames;
      m.total_bytes += f.size();
    }
    auto body = request_body(m, 100);
    REQUIRE(body.has_value());
    CHECK(*body == "BODY");
    auto env = take_envelope(m);
    REQUIRE(env.size() == 1);
    CHECK(str(env[0]) == "id");
  }
}
