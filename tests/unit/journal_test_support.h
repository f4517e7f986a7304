// Shared helpers of the journal unit tests (journal_*_test.cpp): a temporary
// directory, a key/value test fold, hand-made segment files, and a rig that
// runs a real JournalWriter over inproc sockets.
#pragma once

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include "broker/journal/files.h"
#include "broker/journal/fold.h"
#include "broker/journal/format.h"
#include "broker/journal/reader.h"
#include "broker/journal/stats.h"
#include "broker/journal/writer.h"
#include "common/frames.h"
#include "common/sockets.h"

namespace jt {

namespace fs = std::filesystem;
namespace j = zfleet::broker::journal;

// A fresh directory under /tmp, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "zfleet-journal-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return j::join_path(path_, name); }

 private:
  std::string path_;
};

inline constexpr uint8_t kKv = 1;

// Record payload "k=v" sets k, "k=" erases it.
class MapFold : public j::Fold {
 public:
  std::map<std::string, std::string> state;
  uint64_t applied = 0;

  void apply(uint8_t type, std::string_view payload) override {
    ++applied;
    REQUIRE(type == kKv);
    auto eq = payload.find('=');
    REQUIRE(eq != std::string_view::npos);
    std::string key(payload.substr(0, eq));
    if (eq + 1 == payload.size()) {
      state.erase(key);
    } else {
      state[key] = std::string(payload.substr(eq + 1));
    }
  }
  void write_snapshot(const j::EmitRecord& emit) override {
    std::string payload;
    for (const auto& [k, v] : state) {
      payload.assign(k).append("=").append(v);
      emit(kKv, payload);
    }
  }
};

inline j::FoldFactory map_fold_factory() {
  return [] { return std::make_unique<MapFold>(); };
}

inline std::string kv(std::string_view k, std::string_view v) {
  std::string out;
  std::string payload(k);
  payload += '=';
  payload += v;
  j::append_record(out, kKv, payload);
  return out;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_bytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes DIR/seg-<number>.zfj with a header and `records` (a framed blob).
inline std::string write_segment(const TempDir& dir, uint64_t number, std::string_view records) {
  std::string bytes;
  j::append_file_header(bytes);
  bytes.append(records);
  std::string path = dir / j::segment_name(number);
  write_bytes(path, bytes);
  return path;
}

inline std::map<std::string, std::string> replay_state(const std::string& dir,
                                                       j::ReplayReport* report = nullptr) {
  MapFold fold;
  j::ReplayReport r = j::replay(dir, fold);
  if (report) *report = r;
  return fold.state;
}

inline size_t files_in(const std::string& dir) {
  if (!fs::exists(dir)) return 0;
  return static_cast<size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

// A JournalWriter with a producer PUSH and a report PULL in one context.
struct WriterRig {
  zmq::context_t ctx{1};
  j::JournalStats stats;
  zmq::socket_t reports;  // the producer's PULL for durability reports
  zmq::socket_t push;     // the producer's PUSH of batches
  std::unique_ptr<j::JournalWriter> writer;
  uint64_t next_seq = 0;
  uint64_t durable = 0;  // highest sequence reported so far

  explicit WriterRig(j::WriterOptions opts) {
    opts.in_endpoint = "inproc://journal-test-in";
    opts.out_endpoint = "inproc://journal-test-out";
    reports = zfleet::common::make_socket(ctx, zmq::socket_type::pull, zfleet::common::unbounded_options());
    reports.bind(opts.out_endpoint);
    writer = std::make_unique<j::JournalWriter>(ctx, opts, stats);
    writer->start();
    push = zfleet::common::make_socket(ctx, zmq::socket_type::push, zfleet::common::unbounded_options());
    push.connect(opts.in_endpoint);
  }
  ~WriterRig() { writer.reset(); }

  // Sends one batch; returns its sequence number.
  uint64_t send(std::string records, std::optional<std::string> ack = std::nullopt) {
    uint64_t seq = ++next_seq;
    REQUIRE(j::send_batch(push, std::move(records), seq, ack));
    return seq;
  }
  std::optional<j::DurableReport> report(int timeout_ms = 10'000) {
    reports.set(zmq::sockopt::rcvtimeo, timeout_ms);
    return j::recv_report(reports);
  }
  // Reads reports until `seq` is covered; returns every report read.
  std::vector<j::DurableReport> wait_for(uint64_t seq) {
    std::vector<j::DurableReport> out;
    while (durable < seq) {
      auto r = report();
      REQUIRE(r.has_value());
      durable = r->sequence;
      out.push_back(std::move(*r));
    }
    return out;
  }
  void stop() { writer->stop(); }
};

}  // namespace jt
