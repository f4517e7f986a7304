// Names the calling thread (up to 15 characters, the kernel's limit), so
// that `top -H`, perf and gdb tell the broker's and worker's threads apart.
//
// Thread safety: affects the calling thread only.
#pragma once

#include <pthread.h>

#include <string>
#include <string_view>

namespace zfleet::common {

inline void name_this_thread(std::string_view name) {
  std::string n(name.substr(0, 15));
  pthread_setname_np(pthread_self(), n.c_str());
}

}  // namespace zfleet::common
