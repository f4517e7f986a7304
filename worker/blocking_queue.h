// BlockingQueue<T>: the named hand-off from a worker's I/O thread to its
// pool threads. push() never blocks (the broker bounds how many tasks a
// worker holds: its capacity); pop() blocks until an item arrives or the
// queue is closed. After close(), pop() drains what is left, then returns
// nullopt.
//
// Thread safety: internally synchronized; any number of producers and
// consumers.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace zfleet::worker {

template <typename T>
class BlockingQueue {
 public:
  void push(T item) {
    {
      std::lock_guard lock(mu_);
      items_.push_back(std::move(item));
    }
    cv_.notify_one();
  }

  std::optional<T> pop() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return closed_ || !items_.empty(); });
    if (items_.empty()) return std::nullopt;
    T item = std::move(items_.front());
    items_.pop_front();
    return item;
  }

  void close() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return items_.size();
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> items_;  // guarded by mu_
  bool closed_ = false;  // guarded by mu_
};

}  // namespace zfleet::worker
