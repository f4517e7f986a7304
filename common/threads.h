// Thread helpers shared by the broker and the worker.
//
// name_this_thread: names the calling thread (up to 15 characters, the
// kernel's limit), so that `top -H`, perf and gdb tell the threads apart.
//
// start_after_setup: starts a thread that first runs `setup` (typically:
// create and bind its sockets, which must happen on the thread that will
// own them) and then `body`; returns only once `setup` has finished, and
// rethrows its exception on the caller's thread, so a failed bind stops
// start-up instead of leaving a thread that never serves.
//
// Thread safety: name_this_thread affects the calling thread only.
#pragma once

#include <pthread.h>

#include <exception>
#include <future>
#include <string>
#include <string_view>
#include <thread>

namespace zfleet::common {

inline void name_this_thread(std::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

template <class Setup, class Body>
std::thread start_after_setup(std::string name, Setup setup, Body body) {
  std::promise<void> ready;
  auto done = ready.get_future();
  std::thread t([&ready, name = std::move(name), setup = std::move(setup),
                 body = std::move(body)]() mutable {
    name_this_thread(name);
    try {
      setup();
    } catch (...) {
      ready.set_exception(std::current_exception());
      return;
    }
    ready.set_value();  // `ready` lives on the caller's stack: not touched after this
    body();
  });
  try {
    done.get();
  } catch (...) {
    t.join();
    throw;
  }
  return t;
}

}  // namespace zfleet::common
