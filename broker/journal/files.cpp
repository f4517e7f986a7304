#include "broker/journal/files.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <system_error>

#include "common/clock.h"

namespace zfleet::broker::journal {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kSegmentPrefix = "seg-";
constexpr std::string_view kSegmentSuffix = ".zfj";
constexpr size_t kSegmentDigits = 16;

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

// "20240501T120000-123": wall time of the move, to the millisecond.
std::string timestamp() {
  uint64_t ms = common::wall_ms();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s-%03u", buf, static_cast<unsigned>(ms % 1000));
  return out;
}

// A path in dir/corrupt/ that does not exist yet, for `name` + suffix.
std::string corrupt_path(const std::string& dir, const std::string& name, std::string_view suffix) {
  std::string corrupt = join_path(dir, kCorruptDir);
  make_dirs(corrupt);
  std::string base = join_path(corrupt, name + "." + timestamp());
  std::string path = base + std::string(suffix);
  for (int i = 1; fs::exists(path); ++i) path = base + "." + std::to_string(i) + std::string(suffix);
  return path;
}

}  // namespace

std::string segment_name(uint64_t number) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "seg-%016llu.zfj", static_cast<unsigned long long>(number));
  return buf;
}

std::optional<uint64_t> parse_segment_name(std::string_view name) {
  if (name.size() != kSegmentPrefix.size() + kSegmentDigits + kSegmentSuffix.size()) return {};
  if (!name.starts_with(kSegmentPrefix) || !name.ends_with(kSegmentSuffix)) return {};
  std::string_view digits = name.substr(kSegmentPrefix.size(), kSegmentDigits);
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) return {};
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (ec != std::errc() || end != digits.data() + digits.size()) return {};
  return n;
}

std::string join_path(const std::string& dir, std::string_view name) {
  std::string out = dir;
  if (!out.empty() && out.back() != '/') out.push_back('/');
  out.append(name);
  return out;
}

std::expected<std::vector<SegmentEntry>, std::string> list_segments(const std::string& dir) {
  std::vector<SegmentEntry> out;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return out;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return std::unexpected("cannot list " + dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return std::unexpected("cannot list " + dir + ": " + ec.message());
    auto number = parse_segment_name(it->path().filename().native());
    if (!number || !it->is_regular_file(ec)) continue;
    out.push_back({*number, it->path().native(), file_size_or_zero(it->path().native())});
  }
  if (ec) return std::unexpected("cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.number < b.number; });
  return out;
}

uint64_t file_size_or_zero(const std::string& path) {
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

uint64_t journal_bytes(const std::string& dir) {
  uint64_t total = file_size_or_zero(join_path(dir, kSnapshotName));
  if (auto segments = list_segments(dir)) {
    for (const auto& s : *segments) total += s.bytes;
  }
  return total;
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw std::system_error(ec, "cannot create journal directory " + dir);
}

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    reset();
    fd_ = o.release();
  }
  return *this;
}

int UniqueFd::reset() {
  if (fd_ < 0) return 0;
  int rc = ::close(fd_);
  fd_ = -1;
  return rc == 0 || errno == EINTR ? 0 : errno;
}

int write_all(int fd, std::span<iovec> iov) {
  size_t first = 0;
  while (first < iov.size()) {
    if (iov[first].iov_len == 0) {
      ++first;
      continue;
    }
    int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
    ssize_t n = ::writev(fd, iov.data() + first, count);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    // Partial write: skip what went out, trim the iovec it stopped in.
    auto left = static_cast<size_t>(n);
    while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
    if (left > 0) {
      iov[first].iov_base = static_cast<char*>(iov[first].iov_base) + left;
      iov[first].iov_len -= left;
    }
  }
  return 0;
}

int write_all(int fd, std::string_view data) {
  iovec one{const_cast<char*>(data.data()), data.size()};
  return write_all(fd, std::span<iovec>(&one, 1));
}

int sync_data(int fd) {
  while (::fdatasync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int sync_all(int fd) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

int fsync_dir(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno;
  return sync_all(fd.get());
}

std::expected<std::string_view, std::string> ReadBuffer::read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return std::unexpected("cannot open " + path + ": " + std::strerror(errno));
  struct stat st{};
  if (::fstat(fd.get(), &st) != 0) return std::unexpected("cannot stat " + path + ": " + std::strerror(errno));
  auto size = static_cast<size_t>(st.st_size);
  if (size > capacity_) {
    data_ = std::make_unique_for_overwrite<char[]>(size);
    capacity_ = size;
  }
  ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::read(fd.get(), data_.get() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;  // shrank since fstat: what was read is the file
    got += static_cast<size_t>(n);
  }
  return std::string_view(data_.get(), got);
}

MovedAside move_aside_whole(const std::string& dir, const std::string& name) {
  std::string from = join_path(dir, name);
  uint64_t bytes = file_size_or_zero(from);
  std::string to = corrupt_path(dir, name, "");
  if (::rename(from.c_str(), to.c_str()) != 0) throw_errno(errno, "cannot move " + from + " to " + to);
  if (int err = fsync_dir(join_path(dir, kCorruptDir))) throw_errno(err, "cannot sync " + dir + "/corrupt");
  if (int err = fsync_dir(dir)) throw_errno(err, "cannot sync " + dir);
  return {to, bytes};
}

MovedAside move_aside_tail(const std::string& dir, const std::string& name, uint64_t valid_bytes) {
  std::string from = join_path(dir, name);
  ReadBuffer buf;
  auto bytes = buf.read_file(from);
  if (!bytes) throw std::system_error(EIO, std::generic_category(), bytes.error());
  if (bytes->size() <= valid_bytes) return {};
  std::string_view tail = bytes->substr(valid_bytes);
  std::string to = corrupt_path(dir, name, ".tail");
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!out) throw_errno(errno, "cannot create " + to);
  if (int err = write_all(out.get(), tail)) throw_errno(err, "cannot write " + to);
  if (int err = sync_all(out.get())) throw_errno(err, "cannot sync " + to);
  if (int err = fsync_dir(join_path(dir, kCorruptDir))) throw_errno(err, "cannot sync " + dir + "/corrupt");
  // Only once the copy is durable may the original lose those bytes.
  UniqueFd file(::open(from.c_str(), O_WRONLY | O_CLOEXEC));
  if (!file) throw_errno(errno, "cannot open " + from);
  if (::ftruncate(file.get(), static_cast<off_t>(valid_bytes)) != 0) throw_errno(errno, "cannot truncate " + from);
  if (int err = sync_all(file.get())) throw_errno(err, "cannot sync " + from);
  return {to, tail.size()};
}

}  // namespace zfleet::broker::journal
