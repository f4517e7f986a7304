#include "worker/exec/fork_guard.h"

#include <Python.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace zfleet::worker::fork_guard {
namespace {

std::atomic<bool> forked_child{false};

// Runs in the child inside fork(), before Python's own after-fork code:
// only async-signal-safe work is allowed here.
void mark_child() noexcept { forked_child.store(true, std::memory_order_relaxed); }

// The exit status the pending Python error asks for: a SystemExit's code
// (None -> 0, an int -> that int), anything else 1. GIL held.
int status_of_pending_error() noexcept {
  if (!PyErr_ExceptionMatches(PyExc_SystemExit)) return 1;
  PyObject *type = nullptr, *value = nullptr, *tb = nullptr;
  PyErr_Fetch(&type, &value, &tb);
  PyErr_NormalizeException(&type, &value, &tb);
  int status = 1;
  PyObject* code = value ? PyObject_GetAttrString(value, "code") : nullptr;
  if (code == Py_None) {
    status = 0;
  } else if (code && PyLong_Check(code)) {
    status = static_cast<int>(PyLong_AsLong(code) & 0xff);
  }
  // No decrefs: the process ends now, and a __del__ could run task code.
  return status;
}

}  // namespace

void install() {
  static std::once_flag once;
  std::call_once(once, [] { pthread_atfork(nullptr, nullptr, mark_child); });
}

bool in_forked_child() noexcept { return forked_child.load(std::memory_order_relaxed); }

void exit_child(bool raised) noexcept {
  const int status = raised ? status_of_pending_error() : 0;
  // write(2), not the logger: the logger's mutex may be held by a thread
  // that does not exist in this process.
  static constexpr char kLine[] =
      "zfleet-worker: a task forked and its child returned into the worker: the child exits\n";
  ssize_t ignored = ::write(STDERR_FILENO, kLine, sizeof kLine - 1);
  (void)ignored;
  ::_exit(status);
}

}  // namespace zfleet::worker::fork_guard
