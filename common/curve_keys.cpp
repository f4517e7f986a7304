#include "common/curve_keys.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace zfleet::common {
namespace {

namespace fs = std::filesystem;
using Err = std::unexpected<std::string>;

constexpr std::string_view kPublicLine = "public-key";
constexpr std::string_view kSecretLine = "secret-key";
constexpr std::size_t kMaxKeyFileBytes = 4096;  // a key file is ~110 bytes

std::string trim(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::expected<std::string, std::string> read_small_file(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Err(path + ": is a folder, not a key file");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Err(path + ": cannot read (" + std::strerror(errno) + ")");
  std::string text(kMaxKeyFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxKeyFileBytes) return Err(path + ": too large for a key file");
  return text;
}

// The value of `name = value` in a .key file's text; empty when absent.
std::string field(const std::string& text, std::string_view name) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    auto eq = line.find('=');
    if (eq == std::string::npos || trim(std::string_view(line).substr(0, eq)) != name) continue;
    return trim(std::string_view(line).substr(eq + 1));
  }
  return {};
}

std::expected<void, std::string> write_file(const std::string& path, const std::string& text, mode_t mode) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return Err(tmp + ": cannot create (" + std::strerror(errno) + ")");
  bool ok = ::fchmod(fd, mode) == 0 && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    if (ok) err = errno;
    ::unlink(tmp.c_str());
    return Err(path + ": cannot write (" + std::strerror(err) + ")");
  }
  return {};
}

}  // namespace

bool is_curve_key(std::string_view z85) {
  if (z85.size() != kCurveKeyZ85Size) return false;
  std::string text(z85);
  uint8_t raw[32];
  return zmq_z85_decode(raw, text.c_str()) != nullptr;
}

std::expected<CurveKeyPair, std::string> generate_key_pair() {
  char pub[41], sec[41];
  if (zmq_curve_keypair(pub, sec) != 0) {
    return Err(std::string("cannot make a CURVE key pair: ") + zmq_strerror(zmq_errno()) +
               " (libzmq built without libsodium?)");
  }
  return CurveKeyPair{pub, sec};
}

std::expected<void, std::string> write_key_pair(const std::string& path, const CurveKeyPair& keys) {
  std::string key_text = "public-key = " + keys.public_z85 + "\nsecret-key = " + keys.secret_z85 + "\n";
  if (auto r = write_file(path + ".key", key_text, 0600); !r) return r;
  return write_file(path + ".pub", keys.public_z85 + "\n", 0644);
}

std::expected<CurveKeyPair, std::string> read_key_pair(const std::string& key_file) {
  auto text = read_small_file(key_file);
  if (!text) return Err(text.error());
  CurveKeyPair keys{field(*text, kPublicLine), field(*text, kSecretLine)};
  if (!is_curve_key(keys.secret_z85)) {
    return Err(key_file + ": no valid `secret-key = <40 Z85 characters>` line (write one with `zfleet keygen`)");
  }
  char derived[41];
  if (zmq_curve_public(derived, keys.secret_z85.c_str()) != 0) {
    return Err(key_file + ": cannot derive the public key of its secret key");
  }
  if (!keys.public_z85.empty() && keys.public_z85 != derived) {
    return Err(key_file + ": its public-key does not belong to its secret-key");
  }
  keys.public_z85 = derived;
  return keys;
}

std::expected<std::string, std::string> read_public_key(const std::string& file) {
  auto text = read_small_file(file);
  if (!text) return Err(text.error());
  std::string key = field(*text, kPublicLine);
  if (key.empty()) key = trim(*text);
  if (!is_curve_key(key)) {
    return Err(file + ": not a public key (one line of 40 Z85 characters, as `zfleet keygen` writes to PATH.pub)");
  }
  return key;
}

std::expected<std::vector<std::string>, std::string> read_allowed_keys(const std::vector<std::string>& entries) {
  std::vector<std::string> keys;
  for (const std::string& entry : entries) {
    std::error_code ec;
    if (!fs::is_directory(entry, ec)) {
      auto key = read_public_key(entry);
      if (!key) return Err(key.error());
      keys.push_back(std::move(*key));
      continue;
    }
    std::vector<std::string> files;
    for (const auto& f : fs::directory_iterator(entry, ec)) {
      if (f.path().extension() == ".pub") files.push_back(f.path().string());
    }
    if (ec) return Err(entry + ": cannot list (" + ec.message() + ")");
    if (files.empty()) return Err(entry + ": a folder with no .pub file in it");
    std::sort(files.begin(), files.end());
    for (const std::string& f : files) {
      auto key = read_public_key(f);
      if (!key) return Err(key.error());
      keys.push_back(std::move(*key));
    }
  }
  return keys;
}

std::expected<CurveOptions, std::string> client_curve(const std::string& key_file,
                                                      const std::string& server_key_file) {
  if (key_file.empty() && server_key_file.empty()) return CurveOptions{};
  if (key_file.empty() || server_key_file.empty()) {
    return Err("--key and --server-key go together (own .key file, the broker's .pub file)");
  }
  auto own = read_key_pair(key_file);
  if (!own) return Err(own.error());
  auto server = read_public_key(server_key_file);
  if (!server) return Err(server.error());
  CurveOptions c;
  c.secret_key = own->secret_z85;
  c.public_key = own->public_z85;
  c.server_key = *server;
  return c;
}

}  // namespace zfleet::common
