#include "broker/journal/segment_file.h"

#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include "broker/journal/format.h"

namespace zfleet::broker::journal {

std::expected<SegmentFile, std::string> SegmentFile::create(const std::string& dir, uint64_t number) {
  SegmentFile seg;
  seg.number_ = number;
  seg.path_ = join_path(dir, segment_name(number));
  seg.fd_ = UniqueFd(::open(seg.path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644));
  auto failed = [&](const char* what, int err) {
    return std::unexpected(std::string(what) + " " + seg.path_ + ": " + std::strerror(err));
  };
  if (!seg.fd_) return failed("cannot create", errno);
  std::string header;
  append_file_header(header);
  if (int err = write_all(seg.fd_.get(), header)) return failed("cannot write", err);
  if (int err = sync_all(seg.fd_.get())) return failed("cannot sync", err);
  // The new name must survive a crash before any record in it is reported.
  if (int err = fsync_dir(dir)) return failed("cannot sync the directory of", err);
  seg.bytes_ = header.size();
  return seg;
}

int SegmentFile::append(std::span<iovec> iov, uint64_t bytes) {
  int err = write_all(fd_.get(), iov);
  if (err == 0) bytes_ += bytes;
  return err;
}

int SegmentFile::sync_data() { return journal::sync_data(fd_.get()); }

int SegmentFile::close_synced() {
  if (!fd_) return 0;
  int err = sync_all(fd_.get());
  int close_err = fd_.reset();
  return err ? err : close_err;
}

}  // namespace zfleet::broker::journal
