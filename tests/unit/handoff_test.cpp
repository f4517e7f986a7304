// Unit tests of broker/handoff.h, the in-process hand-off messages between
// broker threads: a Notice crosses an inproc PUSH/PULL intact, and one that
// nobody reads is freed with its message. Regression for issue 11 (point 9):
// LeakSanitizer found the dispatcher's last ("stopping") notice leaked when
// the broker's context shut down before a result thread had read it.
#include "broker/handoff.h"

#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "common/sockets.h"

using namespace zfleet::broker;
using zfleet::common::ResultRecord;

namespace {

constexpr const char* kEndpoint = "inproc://handoff-test";

RecordPtr record(const std::string& id) {
  auto rec = std::make_shared<ResultRecord>();
  rec->id = id;
  return rec;
}

Notice sample_notice(RecordPtr rec) {
  Notice n;
  n.records.push_back(std::move(rec));
  n.cancels.push_back({7, zfleet::common::CancelOutcome::unknown});
  n.stopping = true;
  return n;
}

}  // namespace

TEST_SUITE("handoff") {
  TEST_CASE("a notice crosses an inproc PUSH/PULL intact") {
    zmq::context_t ctx;
    auto pull = zfleet::common::make_socket(ctx, zmq::socket_type::pull, zfleet::common::unbounded_options());
    pull.bind(kEndpoint);
    auto push = zfleet::common::make_socket(ctx, zmq::socket_type::push, zfleet::common::unbounded_options());
    push.connect(kEndpoint);
    RecordPtr rec = record("a");
    push.send(pack_notice(sample_notice(rec)), zmq::send_flags::none);

    zmq::message_t m;
    REQUIRE(pull.recv(m, zmq::recv_flags::none));
    Notice got = unpack_notice(m);
    REQUIRE(got.records.size() == 1);
    CHECK(got.records[0] == rec);
    REQUIRE(got.cancels.size() == 1);
    CHECK(got.cancels[0].token == 7);
    CHECK(got.stopping);
    CHECK(rec.use_count() == 2);  // rec and got: unpacking moves, never copies
  }

  TEST_CASE("a message of the wrong size unpacks to an empty notice") {
    zmq::message_t m(std::string("short"));
    CHECK(unpack_notice(m).empty());
  }

  TEST_CASE("a notice nobody reads is freed with its message when the context shuts down") {
    RecordPtr rec = record("b");
    std::weak_ptr<const ResultRecord> watch = rec;
    {
      zmq::context_t ctx;
      auto pull = zfleet::common::make_socket(ctx, zmq::socket_type::pull, zfleet::common::unbounded_options());
      pull.bind(kEndpoint);
      auto push = zfleet::common::make_socket(ctx, zmq::socket_type::push, zfleet::common::unbounded_options());
      push.connect(kEndpoint);
      push.send(pack_notice(sample_notice(std::move(rec))), zmq::send_flags::none);
      ctx.shutdown();  // as the broker does once the dispatcher has stopped
    }  // sockets closed unread, context terminated
    CHECK(watch.expired());
  }
}
