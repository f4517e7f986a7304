#include "broker/metrics_server.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <stdexcept>

#include "broker/broker_log.h"
#include "common/host_port.h"
#include "common/threads.h"

namespace zfleet::broker {

struct MetricsServer::Impl {
  httplib::Server server;
  std::atomic<bool> listen_returned{false};
};

MetricsServer::MetricsServer(const std::string& address, std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
  std::string host;
  if (!common::split_host_port(address, host, port_))
    throw std::runtime_error("broker.metrics: '" + address + "' is not HOST:PORT");
  auto& s = impl_->server;
  // One handler thread: a scrape is cheap, and scrapers are few.
  s.new_task_queue = [] { return new httplib::ThreadPool(1); };
  s.set_read_timeout(5, 0);
  s.set_write_timeout(5, 0);
  s.Get("/metrics", [render = std::move(render)](const httplib::Request&, httplib::Response& res) {
    res.set_content(render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  if (!s.bind_to_port(host, port_))
    throw std::runtime_error("broker.metrics: cannot listen on " + address + " (in use, or not an address of this host)");
  thread_ = std::thread([this] {
    common::name_this_thread("zf-metrics");
    impl_->server.listen_after_bind();
    impl_->listen_returned = true;
  });
  // stop() is a no-op until listen has started: wait for it, or a broker
  // stopped at once would wait in the destructor for ever.
  while (!impl_->server.is_running() && !impl_->listen_returned) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  log()->info("metrics: Prometheus text on http://{}/metrics", address);
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace zfleet::broker
