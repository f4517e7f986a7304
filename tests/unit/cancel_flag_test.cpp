// Unit tests of worker/exec/cancel_flag: the per-task cancel request shared
// by the I/O thread and the code running the task. Waits are generous upper
// bounds on events that must happen; nothing asserts on elapsed time.
#include "worker/exec/cancel_flag.h"

#include <doctest/doctest.h>

#include <chrono>
#include <thread>

using zfleet::worker::CancelFlag;
using namespace std::chrono_literals;

namespace {

struct CountingListener final : CancelFlag::Listener {
  int calls = 0;
  void on_cancel() override { ++calls; }
};

std::chrono::steady_clock::time_point in(std::chrono::milliseconds d) {
  return std::chrono::steady_clock::now() + d;
}

}  // namespace

TEST_SUITE("cancel_flag") {
  TEST_CASE("request() wakes a waiter at once; reset() re-arms") {
    CancelFlag flag;
    CHECK_FALSE(flag.requested());
    CHECK_FALSE(flag.wait_until(in(1ms)));  // not raised: the wait runs out
    bool woke = false;
    std::thread waiter([&] { woke = flag.wait_until(in(60s)); });
    std::this_thread::sleep_for(10ms);
    flag.request();
    waiter.join();  // would take a minute without the wake-up
    CHECK(woke);
    CHECK(flag.requested());
    CHECK(flag.wait_until(in(60s)));  // already raised: returns at once
    flag.reset();
    CHECK_FALSE(flag.requested());
  }

  TEST_CASE("the attached listener hears one request, however many come") {
    CancelFlag flag;
    CountingListener listener;
    flag.attach(listener);
    CHECK(listener.calls == 0);
    flag.request();
    flag.request();
    CHECK(listener.calls == 1);
    flag.detach();
  }

  TEST_CASE("a listener attached after the request hears it at once") {
    CancelFlag flag;
    flag.request();
    CountingListener listener;
    flag.attach(listener);
    CHECK(listener.calls == 1);
    flag.detach();
  }

  TEST_CASE("a detached listener hears nothing more") {
    CancelFlag flag;
    CountingListener listener;
    flag.attach(listener);
    flag.detach();
    flag.request();
    CHECK(listener.calls == 0);
    CHECK(flag.requested());
  }
}
