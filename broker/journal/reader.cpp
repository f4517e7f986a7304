#include "broker/journal/reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "broker/broker_log.h"
#include "broker/journal/files.h"
#include "broker/journal/snapshot.h"
#include "common/clock.h"

namespace zfleet::broker::journal {
namespace {

[[noreturn]] void fail(const std::string& what) { throw std::runtime_error("journal replay: " + what); }

std::string_view read_or_throw(ReadBuffer& buf, const std::string& path) {
  auto bytes = buf.read_file(path);
  if (!bytes) fail(bytes.error());
  return *bytes;
}

void note_moved(ReplayReport& report, MovedAside moved) {
  report.bytes_moved_aside += moved.bytes;
  if (!moved.path.empty()) report.moved_aside.push_back(std::move(moved.path));
}

void note_damage(ReplayReport& report, const std::string& path, const FileScan& scan) {
  report.damaged = true;
  report.damaged_file = path;
  report.damaged_offset = scan.valid_bytes;
  report.reason = scan.stop;
}

// Keeps the valid prefix of a damaged snapshot as a whole snapshot again
// (moved-aside tail, fresh trailer), or moves it aside when even its start
// is bad, so that disk holds exactly what the fold was given.
void repair_snapshot(const std::string& dir, const FileScan& scan, ReplayReport& report) {
  std::string name(kSnapshotName);
  if (!scan.has_meta) {
    note_moved(report, move_aside_whole(dir, name));
    return;
  }
  note_moved(report, move_aside_tail(dir, name, scan.valid_bytes));
  std::string path = join_path(dir, name);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC));
  if (!fd) throw std::system_error(errno, std::generic_category(), "cannot open " + path);
  std::string trailer;
  append_snapshot_end(trailer, scan.records);
  if (int err = write_all(fd.get(), trailer)) throw std::system_error(err, std::generic_category(), "cannot write " + path);
  if (int err = sync_data(fd.get())) throw std::system_error(err, std::generic_category(), "cannot sync " + path);
}

void repair_segment(const std::string& dir, const SegmentEntry& seg, const FileScan& scan,
                    ReplayReport& report) {
  std::string name = segment_name(seg.number);
  bool header_bad = scan.stop == StopReason::truncated_file_header ||
                    scan.stop == StopReason::bad_file_header;
  note_moved(report, header_bad ? move_aside_whole(dir, name)
                                : move_aside_tail(dir, name, scan.valid_bytes));
}

// Throws when `dir` exists but cannot be read (permissions).
bool journal_dir_exists(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    if (ec) fail("cannot access " + dir + ": " + ec.message());
    return false;
  }
  if (::access(dir.c_str(), R_OK | W_OK | X_OK) != 0) {
    throw std::system_error(errno, std::generic_category(), "journal replay: cannot use " + dir);
  }
  return true;
}

void log_report(const ReplayReport& r) {
  if (r.damaged) {
    log()->warn("journal: damage in {} at offset {} ({}): valid prefix kept; {} bytes moved aside into {} "
                "file(s) under {}/corrupt", r.damaged_file, r.damaged_offset, to_string(r.reason),
                r.bytes_moved_aside, r.moved_aside.size(),
                std::filesystem::path(r.damaged_file).parent_path().native());
  }
  log()->info("journal: {}", r.summary());
}

}  // namespace

FileScan scan_segment(std::string_view file, Fold& fold) {
  FileScan s;
  s.file_bytes = file.size();
  s.stop = check_file_header(file);
  if (s.stop != StopReason::none) return s;
  RecordDecoder dec(file.substr(kFileHeaderBytes));
  Record rec;
  while (dec.next(rec)) {
    if (rec.type == kMetaType) continue;  // the journal's own: none expected in segments
    fold.apply(rec.type, rec.payload);
    ++s.records;
  }
  s.stop = dec.stop();
  s.valid_bytes = kFileHeaderBytes + dec.offset();
  return s;
}

FileScan scan_snapshot(std::string_view file, Fold& fold) {
  FileScan s;
  s.file_bytes = file.size();
  s.stop = check_file_header(file);
  if (s.stop != StopReason::none) return s;
  RecordDecoder dec(file.substr(kFileHeaderBytes));
  Record rec;
  if (!dec.next(rec) || rec.type != kMetaType || !parse_snapshot_begin(rec.payload)) {
    s.stop = dec.stop() != StopReason::none ? dec.stop() : StopReason::bad_snapshot_meta;
    s.valid_bytes = kFileHeaderBytes;
    return s;
  }
  s.has_meta = true;
  s.covers = *parse_snapshot_begin(rec.payload);
  for (;;) {
    size_t before = dec.offset();
    if (!dec.next(rec)) {
      // A clean end without a trailer is a snapshot cut at a record boundary.
      s.stop = dec.stop() != StopReason::none ? dec.stop() : StopReason::snapshot_incomplete;
      s.valid_bytes = kFileHeaderBytes + dec.offset();
      return s;
    }
    if (rec.type != kMetaType) {
      fold.apply(rec.type, rec.payload);
      ++s.records;
      continue;
    }
    auto count = parse_snapshot_end(rec.payload);
    Record extra;
    bool last = !dec.next(extra) && dec.stop() == StopReason::none;
    s.valid_bytes = kFileHeaderBytes + before;
    s.stop = count && *count == s.records && last ? StopReason::none : StopReason::snapshot_incomplete;
    if (s.stop == StopReason::none) s.valid_bytes = file.size();
    return s;
  }
}

std::string ReplayReport::summary() const {
  std::string s = fmt::format("replayed {} records ({} from the snapshot, {} segments, {} bytes) in {} ms",
                              records_applied, snapshot_records, segments_replayed, bytes_read,
                              elapsed_us / 1000);
  if (segments_skipped) s += fmt::format("; {} segments covered by the snapshot skipped", segments_skipped);
  if (damaged) {
    s += fmt::format("; DAMAGE in {} at offset {} ({}), {} bytes in {} files moved aside", damaged_file,
                     damaged_offset, to_string(reason), bytes_moved_aside, moved_aside.size());
  }
  return s;
}

ReplayReport replay(const std::string& dir, Fold& fold) {
  uint64_t start_us = common::now_us();
  ReplayReport report;
  if (!journal_dir_exists(dir)) return report;
  ::unlink(join_path(dir, kSnapshotTmpName).c_str());  // a compaction that never committed
  auto listed = list_segments(dir);
  if (!listed) fail(listed.error());
  const std::vector<SegmentEntry>& segments = *listed;
  uint64_t covers = 0;
  bool stopped = false;
  ReadBuffer buf;
  std::string snapshot = join_path(dir, kSnapshotName);
  if (std::filesystem::exists(snapshot)) {
    FileScan scan = scan_snapshot(read_or_throw(buf, snapshot), fold);
    report.bytes_read += scan.file_bytes;
    report.snapshot_records = report.records_applied = scan.records;
    if (scan.has_meta) report.snapshot_covers = covers = scan.covers;
    if (scan.stop != StopReason::none) {
      note_damage(report, snapshot, scan);
      repair_snapshot(dir, scan, report);
      stopped = true;
    }
  }
  size_t i = 0;
  for (; !stopped && i < segments.size(); ++i) {
    const SegmentEntry& seg = segments[i];
    if (seg.number <= covers) {
      ++report.segments_skipped;
      continue;
    }
    FileScan scan = scan_segment(read_or_throw(buf, seg.path), fold);
    report.bytes_read += scan.file_bytes;
    report.records_applied += scan.records;
    ++report.segments_replayed;
    if (scan.stop != StopReason::none) {
      note_damage(report, seg.path, scan);
      repair_segment(dir, seg, scan, report);
      stopped = true;
    }
  }
  for (; i < segments.size(); ++i) note_moved(report, move_aside_whole(dir, segment_name(segments[i].number)));
  uint64_t last = segments.empty() ? 0 : segments.back().number;
  report.next_segment = std::max(last, covers) + 1;
  report.elapsed_us = common::now_us() - start_us;
  log_report(report);
  return report;
}

}  // namespace zfleet::broker::journal
