#include "broker/journal/snapshot.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "broker/journal/format.h"

namespace zfleet::broker::journal {
namespace {

constexpr size_t kFlushBytes = 1 << 20;

std::string meta_payload(char kind, uint64_t value) {
  std::string p(1, kind);
  append_le<uint64_t>(p, value);
  return p;
}

std::optional<uint64_t> parse_meta(std::string_view payload, char kind) {
  if (payload.size() != 9 || payload[0] != kind) return {};
  return load_le<uint64_t>(payload.data() + 1);
}

std::string errno_text(const std::string& what, int err) { return what + ": " + std::strerror(err); }

}  // namespace

void append_snapshot_begin(std::string& out, uint64_t covers) {
  append_record(out, kMetaType, meta_payload('B', covers));
}

void append_snapshot_end(std::string& out, uint64_t records) {
  append_record(out, kMetaType, meta_payload('E', records));
}

std::optional<uint64_t> parse_snapshot_begin(std::string_view payload) { return parse_meta(payload, 'B'); }
std::optional<uint64_t> parse_snapshot_end(std::string_view payload) { return parse_meta(payload, 'E'); }

std::optional<uint64_t> read_snapshot_covers(const std::string& dir) {
  UniqueFd fd(::open(join_path(dir, kSnapshotName).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  char buf[kFileHeaderBytes + kRecordHeaderBytes + 9];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::pread(fd.get(), buf + got, sizeof buf - got, static_cast<off_t>(got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return {};
    got += static_cast<size_t>(n);
  }
  std::string_view file(buf, sizeof buf);
  if (check_file_header(file) != StopReason::none) return {};
  RecordDecoder dec(file.substr(kFileHeaderBytes));
  Record rec;
  if (!dec.next(rec) || rec.type != kMetaType) return {};
  return parse_snapshot_begin(rec.payload);
}

std::expected<SnapshotWriter, std::string> SnapshotWriter::begin(const std::string& dir, uint64_t covers) {
  SnapshotWriter w;
  w.dir_ = dir;
  std::string tmp = join_path(dir, kSnapshotTmpName);
  ::unlink(tmp.c_str());
  w.fd_ = UniqueFd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!w.fd_) return std::unexpected(errno_text("cannot create " + tmp, errno));
  append_file_header(w.buf_);
  append_snapshot_begin(w.buf_, covers);
  return w;
}

SnapshotWriter& SnapshotWriter::operator=(SnapshotWriter&& o) noexcept {
  if (this == &o) return *this;
  dir_ = std::exchange(o.dir_, {});  // the moved-from writer owns no temporary file
  fd_ = std::move(o.fd_);
  buf_ = std::move(o.buf_);
  records_ = o.records_;
  bytes_ = o.bytes_;
  error_ = std::move(o.error_);
  committed_ = o.committed_;
  return *this;
}

SnapshotWriter::~SnapshotWriter() {
  if (committed_ || dir_.empty()) return;
  fd_.reset();
  ::unlink(join_path(dir_, kSnapshotTmpName).c_str());
}

void SnapshotWriter::add(uint8_t type, std::string_view payload) {
  if (!error_.empty()) return;
  if (type == kMetaType) {
    error_ = "the fold emitted a record of the journal's reserved type 0";
    return;
  }
  if (payload.size() > kMaxPayloadBytes) {
    error_ = "the fold emitted a record over the payload cap";
    return;
  }
  append_record(buf_, type, payload);
  ++records_;
  if (buf_.size() >= kFlushBytes) flush();
}

void SnapshotWriter::flush() {
  if (!error_.empty() || buf_.empty()) return;
  if (int err = write_all(fd_.get(), buf_)) error_ = errno_text("cannot write " + std::string(kSnapshotTmpName), err);
  // Start writeback of this chunk now, so the final fdatasync does not push
  // the whole snapshot at once in front of the writer's own syncs.
  ::sync_file_range(fd_.get(), static_cast<off_t>(bytes_), static_cast<off_t>(buf_.size()), SYNC_FILE_RANGE_WRITE);
  bytes_ += buf_.size();
  buf_.clear();
}

std::expected<uint64_t, std::string> SnapshotWriter::commit() {
  append_snapshot_end(buf_, records_);
  flush();
  if (!error_.empty()) return std::unexpected(error_);
  std::string tmp = join_path(dir_, kSnapshotTmpName);
  if (int err = sync_data(fd_.get())) return std::unexpected(errno_text("cannot sync " + tmp, err));
  if (int err = fd_.reset()) return std::unexpected(errno_text("cannot close " + tmp, err));
  std::string final_path = join_path(dir_, kSnapshotName);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    return std::unexpected(errno_text("cannot rename " + tmp, errno));
  }
  committed_ = true;
  if (int err = fsync_dir(dir_)) return std::unexpected(errno_text("cannot sync " + dir_, err));
  return bytes_;
}

}  // namespace zfleet::broker::journal

