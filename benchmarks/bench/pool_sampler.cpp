#include "benchmarks/bench/pool_sampler.h"

#include <stdexcept>

#include "benchmarks/bench/load_client.h"
#include "common/clock.h"
#include "common/msgpack_io.h"

namespace zfleet::bench {
namespace {

uint64_t u(const msgpack::object& map, std::string_view key) {
  auto v = common::uint_field(map, key);
  return v && *v ? **v : 0;
}

// One sample from a `status` reply; false when the pool is not in it.
bool read_sample(const msgpack::object& root, const std::string& pool, PoolSample& s) {
  const auto* queues = common::find_field(root, "queues");
  const auto* q = queues ? common::find_field(*queues, pool) : nullptr;
  if (!q) return false;
  s.depth = u(*q, "depth");
  s.running = u(*q, "running");
  uint64_t alive = 0;
  const auto* workers = common::find_field(root, "workers");
  for (uint32_t i = 0; workers && workers->type == msgpack::type::ARRAY && i < workers->via.array.size; ++i) {
    const auto& w = workers->via.array.ptr[i];
    auto type = common::str_field(w, "type");
    const auto* live = common::find_field(w, "alive");
    if (!type || !*type || **type != pool) continue;
    if (!live || live->type != msgpack::type::BOOLEAN || !live->via.boolean) continue;
    ++alive;
    s.rss_bytes += u(w, "rss_bytes");
  }
  // An adaptive pool counts the processes it runs (retiring ones included);
  // a fixed one has no `processes`: its live workers are the count.
  s.processes = common::find_field(*q, "processes") ? u(*q, "processes") : alive;
  return true;
}

}  // namespace

PoolSampler::PoolSampler(zmq::context_t& ctx, std::string frontend, std::string results,
                         std::string pool, std::chrono::milliseconds period, uint64_t t0_us)
    : ctx_(ctx),
      frontend_(std::move(frontend)),
      results_(std::move(results)),
      pool_(std::move(pool)),
      period_(period),
      t0_us_(t0_us),
      thread_([this] { run(); }) {}

PoolSampler::~PoolSampler() { stop(); }

std::vector<PoolSample> PoolSampler::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return samples_;
}

void PoolSampler::run() {
  LoadClient client(ctx_, frontend_, results_);
  for (uint64_t due = common::now_us(); !stop_.load(); due += period_.count() * 1000) {
    try {
      common::Reply r = client.status(period_ * 10);
      PoolSample s;
      s.t_s = static_cast<double>(common::now_us() - t0_us_) / 1e6;
      if (read_sample(r.root(), pool_, s)) samples_.push_back(s);
    } catch (const std::runtime_error&) {
      // no answer in time: a gap (a late answer is read by the next ask)
    }
    uint64_t now = common::now_us();
    if (due > now) std::this_thread::sleep_for(std::chrono::microseconds(due - now));
  }
}

}  // namespace zfleet::bench
