// Unit tests of worker/thread_pool: cancel by dispatch number on a real pool
// running builtins (no Python in this process). A task still queued comes
// back at once as a `cancelled` RESULT; a running one is interrupted and
// answers `cancelled` itself; an unknown or already answered dispatch
// changes nothing. Waits are generous upper bounds on events that must
// happen; nothing asserts on elapsed time.
#include "tests/unit/msgpack_test_support.h"
#include "worker/thread_pool.h"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <msgpack.hpp>

#include "common/clock.h"
#include "common/codec.h"
#include "common/frames.h"
#include "common/sockets.h"
#include "common/worker_link.h"

using namespace zfleet::worker;
using namespace std::chrono_literals;
namespace common = zfleet::common;

namespace {

constexpr const char* kRoute = "route-of-this-worker";

using zfleet::testing::packed;

// A TASK message as the I/O thread would queue it.
PendingTask task(const std::string& id, uint64_t dispatch, const std::string& script,
                 const std::string& args) {
  PendingTask p;
  p.message.frames = common::encode_task(id, dispatch, 1, 0,
                                         common::encode_task_payload(script, "main", args, ""));
  p.message.total_frames = p.message.frames.size();
  p.received_us = common::now_us();
  return p;
}

template <class Pred>
bool wait_until(Pred pred) {
  const auto give_up = std::chrono::steady_clock::now() + 30s;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

common::SocketOptions results_options() {
  common::SocketOptions o;
  o.routing_id = kRoute;
  o.sndhwm = 0;
  return o;
}

// Binds the ROUTER standing for the broker's backend to a loopback port
// chosen now. TCP as in a fleet, not inproc: over inproc a frame's buffer
// moves between threads through libzmq's pipes, which ThreadSanitizer cannot
// see (common/tsan.h), and a real worker never sends its results that way.
std::string bind_backend(zmq::socket_t& backend) {
  backend.bind("tcp://127.0.0.1:*");
  return backend.get(zmq::sockopt::last_endpoint);
}

// A pool of `threads` builtin-only threads and the ROUTER standing for the
// broker's backend, where each pool thread sends its RESULTs itself.
struct Pool {
  explicit Pool(int threads)
      : backend(ctx, zmq::socket_type::router),
        endpoint(bind_backend(backend)),
        pool(ctx, runner, results_options(), endpoint, threads, 1 << 20) {
    backend.set(zmq::sockopt::rcvtimeo, 30'000);
    backend.set(zmq::sockopt::linger, 0);
    pool.start();
  }
  ~Pool() { pool.stop(); }

  void push(std::vector<PendingTask> tasks) { pool.queue().push(tasks); }

  // The next RESULT a pool thread sends, on a socket named after the
  // worker's route and the thread.
  std::vector<common::ResultMessage> next_results() {
    std::vector<common::ResultMessage> out;
    common::Message msg;
    if (!common::recv_message(backend, msg)) return out;
    REQUIRE(msg.frames.size() >= 2);
    const std::string rid(common::view(msg.frames[0]));
    auto owner = common::result_route_owner(rid);
    REQUIRE(owner);
    CHECK(*owner == kRoute);
    auto r = common::decode_result(msg.frames, 1);
    REQUIRE(r);
    out.push_back(*r);
    return out;
  }

  zmq::context_t ctx{1};
  zmq::socket_t backend;
  std::string endpoint;
  TaskRunner runner{std::vector<std::string>{}};
  ThreadPool pool;
};

}  // namespace

TEST_SUITE("thread_pool") {
  TEST_CASE("a queued task is answered `cancelled` at once and never runs") {
    Pool p(1);
    std::vector<PendingTask> batch;
    batch.push_back(task("long", 1, "builtin:sleep", packed(std::make_tuple(86'400'000))));
    batch.push_back(task("queued", 2, "builtin:echo", packed(std::make_tuple("never"))));
    p.push(std::move(batch));
    REQUIRE(wait_until([&] { return p.pool.active.load() == 1; }));  // the sleep holds the thread

    auto answer = p.pool.cancel(2, common::now_us());
    REQUIRE(answer);
    auto r = common::decode_result(*answer, 0);
    REQUIRE(r);
    CHECK(r->id == "queued");
    CHECK(r->dispatch == 2);
    CHECK(r->attempt == 1);
    CHECK_FALSE(r->ok);
    CHECK(r->error.code == common::TaskErrorCode::cancelled);
    CHECK(r->error.message == "cancelled before it started");
    CHECK(r->run_us == 0);
    CHECK(p.pool.queue().size() == 0);
    CHECK_FALSE(p.pool.cancel(2, common::now_us()));  // already answered: nothing

    // The running sleep: interrupted, it answers for itself.
    CHECK_FALSE(p.pool.cancel(1, common::now_us()));
    auto results = p.next_results();
    REQUIRE(results.size() == 1);
    CHECK(results[0].dispatch == 1);
    CHECK(results[0].error.code == common::TaskErrorCode::cancelled);
    CHECK(p.pool.failed.load() == 2);
    CHECK(p.pool.done.load() == 0);
  }

  TEST_CASE("cancelling a finished task is a no-op; the pool keeps serving") {
    Pool p(1);
    std::vector<PendingTask> batch;
    batch.push_back(task("first", 7, "builtin:echo", packed(std::make_tuple(1))));
    p.push(std::move(batch));
    auto results = p.next_results();
    REQUIRE(results.size() == 1);
    CHECK(results[0].ok);
    CHECK_FALSE(p.pool.cancel(7, common::now_us()));
    CHECK_FALSE(p.pool.cancel(999, common::now_us()));

    std::vector<PendingTask> more;
    more.push_back(task("second", 8, "builtin:sleep", packed(std::make_tuple(1))));
    p.push(std::move(more));
    results = p.next_results();
    REQUIRE(results.size() == 1);
    CHECK(results[0].dispatch == 8);
    CHECK(results[0].ok);
    CHECK_FALSE(p.pool.has_stuck_task(common::now_us(), 0));
  }

  TEST_CASE("a cancelled sleep ends at once and leaves nothing stuck") {
    Pool p(1);
    std::vector<PendingTask> batch;
    batch.push_back(task("long", 3, "builtin:sleep", packed(std::make_tuple(86'400'000))));
    p.push(std::move(batch));
    REQUIRE(wait_until([&] { return p.pool.active.load() == 1; }));
    CHECK_FALSE(p.pool.has_stuck_task(common::now_us() + 3'600'000'000ULL, 1000));  // no deadline
    const uint64_t at = common::now_us();
    p.pool.cancel(3, at);
    auto results = p.next_results();  // the sleep wakes on the cancel
    REQUIRE(results.size() == 1);
    CHECK(results[0].error.code == common::TaskErrorCode::cancelled);
    REQUIRE(wait_until([&] { return p.pool.active.load() == 0; }));
    CHECK_FALSE(p.pool.has_stuck_task(at + 3'600'000'000ULL, 1000));  // over: not stuck
  }
}
