// SegmentFile: the one segment a JournalWriter appends to. Created fresh
// (never reopened: a writer never appends after bytes it did not write, so a
// torn tail left by a crash is never followed by new records), with its
// header synced and its directory entry synced before the first append.
//
// Errors are errno values (0 = success); the writer treats any as fatal.
//
// Thread safety: belongs to the journal thread.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <expected>
#include <span>
#include <string>

#include "broker/journal/files.h"

namespace zfleet::broker::journal {

class SegmentFile {
 public:
  SegmentFile() = default;

  // Creates DIR/seg-<number>.zfj (O_EXCL), writes and syncs its header and
  // syncs DIR. An error message when any step fails.
  static std::expected<SegmentFile, std::string> create(const std::string& dir, uint64_t number);

  // Appends every byte of `iov` (`bytes` in all). 0 or errno.
  int append(std::span<iovec> iov, uint64_t bytes);
  // fdatasync. 0 or errno.
  int sync_data();
  // fsync and close (rotation and stop). 0 or errno.
  int close_synced();

  int fd() const { return fd_.get(); }  // for PeriodicSyncer (syncer.h)
  bool is_open() const { return static_cast<bool>(fd_); }
  uint64_t number() const { return number_; }
  uint64_t bytes() const { return bytes_; }
  const std::string& path() const { return path_; }

 private:
  UniqueFd fd_;
  uint64_t number_ = 0;
  uint64_t bytes_ = 0;
  std::string path_;
};

}  // namespace zfleet::broker::journal
