// Fork guard: what happens when task code forks the worker process
// (issue 11, point 3).
//
// A child of os.fork() holds a copy of the whole worker, but only the
// forking pool thread runs in it: the I/O thread, the other pool threads,
// the watchdog and libzmq's threads are gone, and every lock one of them
// held at the fork stays locked. A child that returns from the task (or
// from a module body) into the worker would go on to take those locks and
// use the copied ZeroMQ sockets: it hangs, as an orphan holding the
// worker's connections.
//
// Contract:
// - install() registers (once per process) a pthread_atfork child handler
//   that marks the process as a forked child; PythonRuntime calls it before
//   any Python code runs.
// - exit_if_forked_child(raised) does nothing in the worker itself. In a
//   forked child it writes one line to stderr (with write(2): no logger, no
//   lock) and calls _exit at once: status 0 when the call returned, the
//   code of a SystemExit it raised (sys.exit(n) in the child), else 1. It
//   is called, with the GIL held, wherever a Python call made by task code
//   returns into C++ (the task function, a module body), before any lock or
//   socket is touched; `raised`: the call returned NULL (a Python error is
//   set).
// - A child that does its own work and ends with os._exit (the
//   multiprocessing way) never comes back to C++ and is not affected; a
//   child that execs is not either.
//
// Thread safety: any thread; the flag is one atomic written only in the
// child, before any other code runs there.
#pragma once

namespace zfleet::worker::fork_guard {

void install();

bool in_forked_child() noexcept;

[[noreturn]] void exit_child(bool raised) noexcept;

inline void exit_if_forked_child(bool raised) noexcept {
  if (in_forked_child()) exit_child(raised);
}

}  // namespace zfleet::worker::fork_guard
