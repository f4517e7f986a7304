#include "common/socket_poller.h"

namespace zfleet::common {

std::size_t SocketPoller::add(zmq::socket_t& s) {
  sockets_.push_back(&s);
  fds_.push_back({s.get(zmq::sockopt::fd), POLLIN, 0});
  check_.push_back(true);
  ready_flag_.push_back(false);
  return sockets_.size() - 1;
}

const std::vector<std::size_t>& SocketPoller::wait(long timeout_ms) {
  ready_.clear();
  bool any = false;
  for (std::size_t i = 0; i < sockets_.size(); ++i) {
    ready_flag_[i] = false;
    if (!check_[i]) continue;
    check_[i] = false;
    if (sockets_[i]->get(zmq::sockopt::events) & ZMQ_POLLIN) ready_flag_[i] = any = true;
  }
  // Even with a touched socket ready, the others' fds are looked at (without
  // sleeping): a busy socket must not starve them.
  const int timeout = any ? 0 : (timeout_ms < 0 ? -1 : static_cast<int>(timeout_ms));
  if (::poll(fds_.data(), fds_.size(), timeout) > 0) {
    for (std::size_t i = 0; i < fds_.size(); ++i)
      if (fds_[i].revents & POLLIN) ready_flag_[i] = true;
  }
  for (std::size_t i = 0; i < sockets_.size(); ++i)
    if (ready_flag_[i]) ready_.push_back(i);
  return ready_;
}

}  // namespace zfleet::common
