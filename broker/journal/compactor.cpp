#include "broker/journal/compactor.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "broker/broker_log.h"
#include "broker/journal/files.h"
#include "broker/journal/reader.h"
#include "broker/journal/snapshot.h"
#include "common/clock.h"
#include "common/threads.h"

namespace zfleet::broker::journal {
namespace {


// Thrown inside a pass that found damage (already logged and counted).
struct Damaged {};

}  // namespace

struct Compactor::Closed {
  std::vector<SegmentEntry> segments;  // closed and not covered, by number
  uint64_t bytes = 0;
};

Compactor::Compactor(CompactorOptions options, JournalStats& stats)
    : options_(std::move(options)), stats_(stats) {}

Compactor::~Compactor() { stop(); }

void Compactor::start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = common::start_after_setup("zf-compact", [] {}, [this] { loop(); });
}

void Compactor::stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Compactor::request() {
  {
    std::lock_guard lock(mu_);
    requested_ = true;
  }
  cv_.notify_one();
}

void Compactor::loop() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, std::chrono::milliseconds(options_.check_ms),
                 [this] { return requested_ || stopping_; });
    if (stopping_) break;
    requested_ = false;
    lock.unlock();
    run_once();
    lock.lock();
  }
}

bool Compactor::run_once() {
  if (disabled_) return false;
  const std::string& dir = options_.directory;
  try {
    auto covers = read_snapshot_covers(dir);
    if (covers) delete_covered(*covers);  // left over from a crash after a rename
    auto listed = list_segments(dir);
    if (!listed) throw std::runtime_error(listed.error());
    uint64_t first_open = options_.first_open ? options_.first_open() : 0;
    Closed closed;
    for (const auto& s : *listed) {
      if (s.number <= covers.value_or(0) || s.number >= first_open) continue;
      closed.segments.push_back(s);
      closed.bytes += s.bytes;
    }
    uint64_t snapshot_bytes = file_size_or_zero(join_path(dir, kSnapshotName));
    auto threshold = std::max<uint64_t>(
        options_.min_bytes, static_cast<uint64_t>(options_.snapshot_ratio * static_cast<double>(snapshot_bytes)));
    if (closed.segments.empty() || closed.bytes <= threshold) return false;
    return compact(closed, snapshot_bytes);
  } catch (const std::exception& e) {
    stats_.compaction_failures.fetch_add(1, kRelaxed);
    log()->error("journal: compaction of {} failed, will retry: {}", dir, e.what());
  } catch (...) {
    stats_.compaction_failures.fetch_add(1, kRelaxed);
    log()->error("journal: compaction of {} failed, will retry", dir);
  }
  return false;
}

bool Compactor::compact(const Closed& closed, uint64_t snapshot_bytes) {
  uint64_t begin_us = common::now_us();
  const std::string& dir = options_.directory;
  std::unique_ptr<Fold> fold = options_.make_fold();
  if (!fold) throw std::runtime_error("the fold factory returned no fold");
  ReadBuffer buf;
  auto fold_file = [&](const std::string& path, bool snapshot) {
    auto bytes = buf.read_file(path);
    if (!bytes) throw std::runtime_error(bytes.error());
    FileScan scan = snapshot ? scan_snapshot(*bytes, *fold) : scan_segment(*bytes, *fold);
    if (scan.stop == StopReason::none) return;
    disabled_ = true;
    stats_.compaction_failures.fetch_add(1, kRelaxed);
    log()->error("journal: {} is damaged at offset {} ({}); compaction is off until the next start, "
                 "whose replay will move the damage aside", path, scan.valid_bytes, to_string(scan.stop));
    throw Damaged{};
  };
  try {
    std::string snapshot = join_path(dir, kSnapshotName);
    if (std::filesystem::exists(snapshot)) fold_file(snapshot, true);
    for (const auto& s : closed.segments) fold_file(s.path, false);
  } catch (const Damaged&) {
    return false;
  }
  uint64_t covers = closed.segments.back().number;
  auto writer = SnapshotWriter::begin(dir, covers);
  if (!writer) throw std::runtime_error(writer.error());
  fold->write_snapshot([&](uint8_t type, std::string_view payload) { writer->add(type, payload); });
  auto written = writer->commit();
  if (!written) throw std::runtime_error(written.error());
  stats_.directory_bytes.fetch_add(*written, kRelaxed);
  stats_.directory_bytes.fetch_sub(std::min(snapshot_bytes, stats_.directory_bytes.load(kRelaxed)), kRelaxed);
  delete_covered(covers);
  uint64_t took = common::now_us() - begin_us;
  stats_.compactions.fetch_add(1, kRelaxed);
  stats_.last_compaction_us.store(took, kRelaxed);
  stats_.last_snapshot_bytes.store(*written, kRelaxed);
  stats_.last_snapshot_records.store(writer->records(), kRelaxed);
  log()->info("journal: compacted {} segments ({} bytes) through segment {} into a snapshot of {} records "
              "({} bytes) in {} ms", closed.segments.size(), closed.bytes, covers, writer->records(),
              *written, took / 1000);
  return true;
}

// Deletes every segment numbered <= covers (folded into the snapshot).
void Compactor::delete_covered(uint64_t covers) {
  auto listed = list_segments(options_.directory);
  if (!listed) throw std::runtime_error(listed.error());
  bool deleted = false;
  for (const auto& s : *listed) {
    if (s.number > covers) break;
    if (::unlink(s.path.c_str()) != 0) {
      throw std::runtime_error("cannot delete " + s.path + ": " + std::strerror(errno));
    }
    deleted = true;
    stats_.segments_deleted.fetch_add(1, kRelaxed);
    stats_.directory_bytes.fetch_sub(std::min(s.bytes, stats_.directory_bytes.load(kRelaxed)), kRelaxed);
  }
  if (!deleted) return;
  if (int err = fsync_dir(options_.directory)) {
    throw std::runtime_error("cannot sync " + options_.directory + ": " + std::strerror(err));
  }
}

}  // namespace zfleet::broker::journal
