// zfleet-journal-bench: the journal storage layer alone (broker/journal/),
// with no broker around it.
//
//   write:  for each fsync policy, N records of ~150-byte payload pushed to a
//           JournalWriter over inproc, one record per batch (the worst case:
//           each a submit of its own), with W batches in flight (sent, not
//           yet reported durable). Reports records/s, group size, fsyncs/s,
//           fsync latency (p50/p99 from the writer's log-linear histogram,
//           upper bucket edges) and commit latency (send -> durable report).
//   replay: writes R records (never policy) and replays them into a fold
//           that only counts, reporting the time (page cache warm, as after
//           a crash of the process; --cold drops the page cache first).
//
// The journal directory is created under --dir (default: the current
// directory) and removed afterwards. fsync figures mean something only on
// a real disk (not tmpfs).
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "broker/journal/files.h"
#include "broker/journal/format.h"
#include "broker/journal/reader.h"
#include "broker/journal/writer.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sockets.h"

namespace j = zfleet::broker::journal;
namespace fs = std::filesystem;

namespace {

struct Args {
  std::string dir = ".";
  uint64_t records = 200'000;
  uint64_t in_flight = 2000;
  uint64_t batch = 1;
  size_t payload = 150;
  uint64_t replay_records = 1'000'000;
  std::vector<std::string> policies = {"always", "every_ms", "never"};
  bool cold = false;
};

j::FsyncPolicy parse_policy(const std::string& p) {
  if (p == "always") return j::FsyncPolicy::always;
  if (p == "every_ms") return j::FsyncPolicy::every_ms;
  return j::FsyncPolicy::never;
}

std::string payload_of(uint64_t i, size_t size) {
  std::string p = fmt::format("task-{:08x}=", i);
  p.resize(size, 'p');
  return p;
}

uint64_t quantile(std::vector<uint64_t>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// A journal writer with a producer PUSH and a report PULL, as the dispatcher has.
struct Rig {
  zmq::context_t ctx{1};
  j::JournalStats stats;
  zmq::socket_t reports, push;
  std::unique_ptr<j::JournalWriter> writer;
  uint64_t seq = 0;      // last batch sent
  uint64_t durable = 0;  // last batch reported durable

  explicit Rig(j::WriterOptions o) {
    reports = zfleet::common::make_socket(ctx, zmq::socket_type::pull, zfleet::common::unbounded_options());
    reports.bind(o.out_endpoint);
    writer = std::make_unique<j::JournalWriter>(ctx, o, stats);
    writer->start();
    push = zfleet::common::make_socket(ctx, zmq::socket_type::push, zfleet::common::unbounded_options());
    push.connect(o.in_endpoint);
  }
  ~Rig() { writer.reset(); }
};

// Sends `count` records in batches of `batch`, keeping `window` batches in
// flight; returns per-batch commit latencies (us). Acks carry the batch's
// send time.
std::vector<uint64_t> drive(Rig& rig, const Args& a, uint64_t count, uint64_t window, uint64_t batch) {
  std::vector<uint64_t> latencies;
  uint64_t records = 0;
  uint64_t last = rig.seq + (count + batch - 1) / batch;
  latencies.reserve(last - rig.seq);
  auto take_report = [&](zmq::recv_flags flags) {
    auto r = j::recv_report(rig.reports, flags);
    if (!r) return false;
    uint64_t now = zfleet::common::now_us();
    for (const auto& ack : r->acks) {
      uint64_t at;
      std::memcpy(&at, ack.data(), sizeof at);
      latencies.push_back(now - at);
    }
    rig.durable = r->sequence;
    return true;
  };
  while (rig.durable < last) {
    while (rig.seq < last && rig.seq - rig.durable < window) {
      std::string blob;
      for (uint64_t i = 0; i < batch && records < count; ++i, ++records) {
        j::append_record(blob, 1, payload_of(records, a.payload));
      }
      uint64_t now = zfleet::common::now_us();
      j::send_batch(rig.push, std::move(blob), ++rig.seq,
                    std::string_view(reinterpret_cast<const char*>(&now), sizeof now));
      if (rig.seq % 64 == 0) while (take_report(zmq::recv_flags::dontwait)) {}
    }
    take_report(zmq::recv_flags::none);
  }
  return latencies;
}

void bench_policy(const Args& a, const std::string& name) {
  fs::path dir = fs::path(a.dir) / fmt::format("zfleet-journal-bench.{}", ::getpid());
  j::WriterOptions o;
  o.directory = dir.string();
  o.fsync = parse_policy(name);
  o.in_endpoint = "inproc://bench-in";
  o.out_endpoint = "inproc://bench-out";
  double secs;
  std::vector<uint64_t> lat;
  uint64_t fsyncs, groups, messages;
  uint64_t p50, p99, mean_fsync, max_fsync;
  {
    Rig rig(o);
    drive(rig, a, std::min<uint64_t>(a.records / 10, 20'000), a.in_flight, a.batch);  // warm-up
    uint64_t f0 = rig.stats.fsyncs, g0 = rig.stats.groups, m0 = rig.stats.messages;
    uint64_t t0 = zfleet::common::now_us();
    lat = drive(rig, a, a.records, a.in_flight, a.batch);
    secs = static_cast<double>(zfleet::common::now_us() - t0) / 1e6;
    fsyncs = rig.stats.fsyncs - f0;
    groups = rig.stats.groups - g0;
    messages = rig.stats.messages - m0;
    p50 = rig.stats.fsync_latency.quantile_us(0.5);
    p99 = rig.stats.fsync_latency.quantile_us(0.99);
    uint64_t n = rig.stats.fsyncs;
    mean_fsync = n ? rig.stats.fsync_total_us / n : 0;
    max_fsync = rig.stats.fsync_max_us;
  }
  fs::remove_all(dir);
  double rate = static_cast<double>(a.records) / secs;
  fmt::print("{:<9} {:>10.0f} rec/s  {:>7.1f} batches/group  {:>7.0f} fsyncs/s  fsync p50 <={} us p99 <={} us "
             "mean {} max {} us  commit p50 {} us p99 {} us\n",
             name, rate, static_cast<double>(messages) / static_cast<double>(std::max<uint64_t>(groups, 1)),
             static_cast<double>(fsyncs) / secs, p50, p99, mean_fsync, max_fsync, quantile(lat, 0.5),
             quantile(lat, 0.99));
}

struct CountingFold : j::Fold {
  uint64_t records = 0, bytes = 0;
  void apply(uint8_t, std::string_view payload) override {
    ++records;
    bytes += payload.size();
  }
  void write_snapshot(const j::EmitRecord&) override {}
};

void bench_replay(const Args& a) {
  fs::path dir = fs::path(a.dir) / fmt::format("zfleet-journal-bench-replay.{}", ::getpid());
  j::WriterOptions o;
  o.directory = dir.string();
  o.fsync = j::FsyncPolicy::never;
  o.in_endpoint = "inproc://bench-replay-in";
  o.out_endpoint = "inproc://bench-replay-out";
  uint64_t bytes;
  {
    Rig rig(o);
    drive(rig, a, a.replay_records, 64, 1000);
    rig.writer->stop();
    bytes = j::journal_bytes(o.directory);
  }
  if (a.cold) {
    ::sync();
    std::ofstream("/proc/sys/vm/drop_caches") << "3\n";
  }
  CountingFold fold;
  uint64_t t0 = zfleet::common::now_us();
  j::ReplayReport r = j::replay(o.directory, fold);
  double secs = static_cast<double>(zfleet::common::now_us() - t0) / 1e6;
  fs::remove_all(dir);
  fmt::print("replay    {} records, {:.1f} MB in {} segments: {:.3f} s ({:.0f} rec/s, {:.0f} MB/s){}{}\n",
             fold.records, static_cast<double>(bytes) / 1e6, r.segments_replayed, secs,
             static_cast<double>(fold.records) / secs, static_cast<double>(bytes) / 1e6 / secs,
             a.cold ? ", page cache dropped" : ", page cache warm", r.damaged ? " DAMAGED" : "");
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"zfleet journal storage benchmark"};
  app.add_option("--dir", a.dir, "parent directory of the temporary journals (a real disk)");
  app.add_option("--records", a.records, "records per policy");
  app.add_option("--in-flight", a.in_flight, "batches sent and not yet reported durable");
  app.add_option("--batch", a.batch, "records per batch (1: one submit per batch)");
  app.add_option("--payload", a.payload, "payload bytes per record");
  app.add_option("--replay-records", a.replay_records, "records to replay (0: skip)");
  app.add_option("--policies", a.policies, "fsync policies to run")->delimiter(',');
  app.add_flag("--cold", a.cold, "drop the page cache before replay (root)");
  CLI11_PARSE(app, argc, argv);
  zfleet::common::set_log_level("warn");
  fmt::print("{} records of {} bytes per policy, batches of {}, {} in flight, in {}\n", a.records, a.payload,
             a.batch, a.in_flight, fs::absolute(a.dir).string());
  for (const auto& p : a.policies) bench_policy(a, p);
  if (a.replay_records > 0) bench_replay(a);
  return 0;
}
