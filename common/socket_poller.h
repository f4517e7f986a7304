// SocketPoller: waits until one of a few ZeroMQ sockets may have a message,
// with one poll(2) on their ZMQ_FDs instead of zmq_poll.
//
// Why: zmq_poll asks every socket for ZMQ_EVENTS before it sleeps and again
// after, and asking a socket whose command mailbox is empty costs libzmq
// two system calls (its signaler's getpid() fork check and a zero-timeout
// poll of the mailbox's eventfd). With five sockets that is over 20 system
// calls a turn; on this project's VM, where a system call is dear, strace of
// a CPU-bound run counted 13,442 poll and 15,808 getpid calls in the broker
// in 3 s, more CPU than the turns' own work, taken from the tasks.
//
// The contract of ZMQ_FD (zmq_getsockopt(3); libzmq issue 3641): it turns
// readable when commands reach the socket, and any call that processes
// them (a recv, a send, ZMQ_EVENTS) may take that signal while messages stay
// queued. So the caller reads a socket wait() named until EAGAIN or a cap,
// and marks with touched() every socket it has received from or sent on;
// before the next sleep, wait() asks each touched socket ZMQ_EVENTS once.
// Untouched sockets are left to their fd, which nothing has taken.
//
// Thread safety: one poller per thread, the thread that owns its sockets.
#pragma once

#include <poll.h>

#include <cstddef>
#include <vector>

#include <zmq.hpp>

namespace zfleet::common {

class SocketPoller {
 public:
  // Watches `s` for input; returns its index. Starts as touched (nothing
  // is known of it yet).
  std::size_t add(zmq::socket_t& s);
  // The indexes of the sockets that may have a message, in the order they
  // were added. Sleeps up to `timeout_ms` (-1: no limit) only when no
  // touched socket has one; empty on timeout or a signal.
  const std::vector<std::size_t>& wait(long timeout_ms);
  // `i` was received from or sent on since the last wait().
  void touched(std::size_t i) { check_[i] = true; }

 private:
  std::vector<zmq::socket_t*> sockets_;
  std::vector<pollfd> fds_;
  std::vector<bool> check_;
  std::vector<bool> ready_flag_;
  std::vector<std::size_t> ready_;
};

}  // namespace zfleet::common
