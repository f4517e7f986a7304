// Journal replay: folds a journal directory (snapshot, then segments in
// number order) into a Fold at start-up, and repairs a damaged journal so
// that what is on disk is exactly what was applied.
//
// Contract of replay(dir, fold):
// - Reads DIR/snapshot.zfj first (if any), then every segment numbered
//   above the snapshot's `covers` in increasing number order, calling
//   fold.apply() per record (type 0 records are the journal's own and are
//   not passed on). Segments <= covers are left over from a crash between a
//   snapshot's rename and their deletion: skipped, left for the compactor.
// - Stops at the first damage anywhere (bad or short file header, short
//   record header, length past the end or over the cap, non-zero reserved
//   bytes, checksum mismatch, snapshot meta or trailer wrong). Everything
//   before it has been applied. The damaged file keeps its valid prefix:
//   the rest is copied to DIR/corrupt/<name>.<timestamp>.tail, synced, and
//   the file truncated (a file whose header is bad is moved aside whole; a
//   damaged snapshot also gets a fresh trailer). Every later segment is
//   moved whole into DIR/corrupt/, since its records may depend on what
//   was lost. A stale snapshot.zfj.tmp is removed.
// - So a second replay of the same directory applies the same records and
//   reports no damage. A writer started afterwards must open a new segment
//   numbered at least report.next_segment (JournalWriter does so), never
//   append to a replayed one.
// - Never refuses to start because of damaged bytes. Throws
//   (std::system_error / std::runtime_error) only when the directory or a
//   file in it cannot be listed, read or repaired (permissions, I/O
//   errors), and lets the fold's own exceptions through. A missing
//   directory is an empty journal.
//
// Thread safety: replay() runs on the caller's thread; it must not run while
// a JournalWriter or Compactor works on the same directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/journal/fold.h"
#include "broker/journal/format.h"

namespace zfleet::broker::journal {

// What one pass over one file's bytes found (no effect on files).
struct FileScan {
  uint64_t file_bytes = 0;
  uint64_t valid_bytes = 0;  // length of the valid prefix, file header included
  uint64_t records = 0;      // records passed to the fold
  StopReason stop = StopReason::none;
  bool has_meta = false;     // snapshot: a valid begin record was read
  uint64_t covers = 0;       // snapshot: from the begin record
};

// Apply the valid prefix of a segment's / a snapshot's bytes to `fold`.
FileScan scan_segment(std::string_view file, Fold& fold);
FileScan scan_snapshot(std::string_view file, Fold& fold);

struct ReplayReport {
  bool damaged = false;
  std::string damaged_file;           // path of the file where replay stopped
  uint64_t damaged_offset = 0;        // where its valid prefix ends
  StopReason reason = StopReason::none;
  uint64_t bytes_moved_aside = 0;
  std::vector<std::string> moved_aside;  // paths created in DIR/corrupt/
  uint64_t records_applied = 0;          // snapshot records included
  uint64_t snapshot_records = 0;
  std::optional<uint64_t> snapshot_covers;
  uint64_t segments_replayed = 0;
  uint64_t segments_skipped = 0;         // covered by the snapshot
  uint64_t bytes_read = 0;
  uint64_t next_segment = 1;             // lowest number a new segment may take
  uint64_t elapsed_us = 0;

  std::string summary() const;  // one line for the log and `status`
};

ReplayReport replay(const std::string& dir, Fold& fold);

}  // namespace zfleet::broker::journal
