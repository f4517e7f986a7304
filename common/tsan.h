// Happens-before annotations for ThreadSanitizer, for hand-offs it cannot
// see. Debian's libzmq is not built with TSan: a message moves from one
// thread to another through libzmq's lock-free pipes, whose atomics TSan
// never observes, so the receiver's reads of what the sender wrote look like
// a race. A hand-off that passes our own memory (a zero-copy message, or a
// pointer inside one) marks it: tsan_release(key) on the sending side after
// the last write, tsan_acquire(key) on the receiving side before the first
// read, with the same key (the address handed over). Copied frames need
// nothing: tests/sanitizers/tsan.supp covers libzmq's own copies.
//
// Both are no-ops unless the build has -fsanitize=thread (tools/sanitize).
//
// Thread safety: functions only.
#pragma once

#if defined(__SANITIZE_THREAD__)
#define ZFLEET_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZFLEET_TSAN 1
#endif
#endif

#ifdef ZFLEET_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace zfleet::common {

inline void tsan_release([[maybe_unused]] const void* key) {
#ifdef ZFLEET_TSAN
  __tsan_release(const_cast<void*>(key));
#endif
}

inline void tsan_acquire([[maybe_unused]] const void* key) {
#ifdef ZFLEET_TSAN
  __tsan_acquire(const_cast<void*>(key));
#endif
}

}  // namespace zfleet::common
