// Journal files: the names in a journal directory, listing them, and the
// low-level POSIX I/O every part of the journal uses (whole writes that
// survive partial writes and EINTR, syncs of files and directories, whole
// reads into a reusable buffer, moving damaged bytes aside).
//
// A journal directory holds:
//   seg-%016llu.zfj     segments, by increasing number (writer.h)
//   snapshot.zfj        the last snapshot (snapshot.h), if any
//   snapshot.zfj.tmp    a snapshot being written (removed when found stale)
//   corrupt/            bytes moved aside by replay (reader.h), never read back
//
// Errors: functions used at start-up throw std::system_error; functions used
// on the journal and compaction threads return an errno value (0 = success)
// or a std::expected with a message, and never throw.
//
// Thread safety: functions only; a UniqueFd or ReadBuffer belongs to one
// thread at a time.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <expected>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zfleet::broker::journal {

inline constexpr std::string_view kSnapshotName = "snapshot.zfj";
inline constexpr std::string_view kSnapshotTmpName = "snapshot.zfj.tmp";
inline constexpr std::string_view kCorruptDir = "corrupt";

std::string segment_name(uint64_t number);
// The number of a segment file name, or nullopt for any other name.
std::optional<uint64_t> parse_segment_name(std::string_view name);
std::string join_path(const std::string& dir, std::string_view name);

struct SegmentEntry {
  uint64_t number = 0;
  std::string path;
  uint64_t bytes = 0;
};

// The segments of `dir`, sorted by number. An error when `dir` cannot be
// listed (a missing directory is an empty list).
std::expected<std::vector<SegmentEntry>, std::string> list_segments(const std::string& dir);

// Size of a file, 0 when it does not exist.
uint64_t file_size_or_zero(const std::string& path);

// Bytes of the journal proper in `dir`: segments + snapshot.
uint64_t journal_bytes(const std::string& dir);

// Creates `dir` and its parents if missing; throws std::system_error.
void make_dirs(const std::string& dir);

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }
  // Closes the descriptor; returns close()'s errno (0 = fine).
  int reset();

 private:
  int fd_ = -1;
};

// Writes every byte of `iov` (modified in place), looping over partial
// writes, EINTR and IOV_MAX. Returns 0 or the errno of the failed write.
int write_all(int fd, std::span<iovec> iov);
int write_all(int fd, std::string_view data);

// fsync of a directory, so that entries created, renamed or removed in it
// survive a crash. Returns 0 or an errno.
int fsync_dir(const std::string& dir);

// fdatasync / fsync that retry EINTR. Return 0 or an errno.
int sync_data(int fd);
int sync_all(int fd);

// Reads whole files into one buffer kept across calls (no zero-filling,
// grown as needed), so replay costs one large read per file.
class ReadBuffer {
 public:
  // The file's bytes, valid until the next read_file(); an error message
  // when it cannot be opened or read.
  std::expected<std::string_view, std::string> read_file(const std::string& path);

 private:
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
};

struct MovedAside {
  std::string path;  // where the bytes are now ("" when nothing was moved)
  uint64_t bytes = 0;
};

// Moves `dir/name` whole into `dir/corrupt/` (as `name.<timestamp>`).
// Throws std::system_error.
MovedAside move_aside_whole(const std::string& dir, const std::string& name);

// Copies bytes [valid_bytes, end) of `dir/name` to
// `dir/corrupt/name.<timestamp>.tail`, syncs the copy, then truncates the
// file to valid_bytes and syncs it. Throws std::system_error.
MovedAside move_aside_tail(const std::string& dir, const std::string& name, uint64_t valid_bytes);

}  // namespace zfleet::broker::journal
