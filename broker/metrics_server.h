// MetricsServer: the Prometheus endpoint (broker.metrics: HOST:PORT). Serves
// GET /metrics with whatever `render` returns (metrics_text.h), on one
// thread of its own, over cpp-httplib; any other path is 404. Scrapes
// never touch the serving threads: render reads shared atomics and boards.
//
// Contract: the constructor binds (throws std::runtime_error naming the
// address when it cannot) and starts the thread; the destructor stops it
// and joins. `render` must be callable from that thread.
//
// Thread safety: construct and destroy on one thread (the broker's main).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

namespace zfleet::broker {

class MetricsServer {
 public:
  MetricsServer(const std::string& address, std::function<std::string()> render);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }

 private:
  struct Impl;  // keeps httplib.h (large) out of every broker file
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
  std::thread thread_;
};

}  // namespace zfleet::broker
