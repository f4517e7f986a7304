// Snapshot file (DIR/snapshot.zfj): the folded state of every segment up to
// a number, so that those segments can be deleted (compactor.h).
//
// Layout, in the journal framing (format.h):
//   file header
//   record type 0, payload "B" + u64 covers: every segment numbered <= covers
//                  is folded in (replay skips them; they may still exist
//                  after a crash between the rename and their deletion)
//   the fold's records (types 1..255), from Fold::write_snapshot
//   record type 0, payload "E" + u64 count of the fold's records
// The trailer makes a snapshot cut short at a record boundary detectable.
//
// Crash safety: SnapshotWriter writes DIR/snapshot.zfj.tmp, fdatasyncs it,
// renames it over snapshot.zfj and fsyncs the directory, so a reader sees the
// old snapshot or the new one, whole.
//
// Thread safety: a SnapshotWriter belongs to one thread; functions are
// reentrant.
#pragma once

#include <cstdint>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "broker/journal/files.h"

namespace zfleet::broker::journal {

inline constexpr uint8_t kMetaType = 0;

void append_snapshot_begin(std::string& out, uint64_t covers);
void append_snapshot_end(std::string& out, uint64_t records);
// The value of a "B" / "E" meta payload, or nullopt when it is not one.
std::optional<uint64_t> parse_snapshot_begin(std::string_view payload);
std::optional<uint64_t> parse_snapshot_end(std::string_view payload);

// The `covers` of DIR/snapshot.zfj from its first record only; nullopt when
// there is no snapshot or its start is damaged.
std::optional<uint64_t> read_snapshot_covers(const std::string& dir);

class SnapshotWriter {
 public:
  // Creates DIR/snapshot.zfj.tmp (replacing a stale one) and writes its
  // header and begin record.
  static std::expected<SnapshotWriter, std::string> begin(const std::string& dir, uint64_t covers);

  SnapshotWriter(SnapshotWriter&& o) noexcept { *this = std::move(o); }
  SnapshotWriter& operator=(SnapshotWriter&& o) noexcept;
  ~SnapshotWriter();  // removes the temporary file unless committed

  // Adds one record of the fold (type != 0; type 0 fails the commit).
  // Buffered; an I/O error is kept and returned by commit().
  void add(uint8_t type, std::string_view payload);

  // Appends the trailer, syncs, renames over snapshot.zfj, syncs the
  // directory. Returns the snapshot's size in bytes.
  std::expected<uint64_t, std::string> commit();

  uint64_t records() const { return records_; }

 private:
  SnapshotWriter() = default;
  void flush();

  std::string dir_;
  UniqueFd fd_;
  std::string buf_;
  uint64_t records_ = 0;
  uint64_t bytes_ = 0;
  std::string error_;
  bool committed_ = false;
};

}  // namespace zfleet::broker::journal
