#include "worker/exec/script_path.h"

#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <filesystem>

namespace zfleet::worker {
namespace {

using common::TaskErrorCode;

std::string real_path(const std::string& path) {
  char buf[PATH_MAX];
  if (::realpath(path.c_str(), buf) == nullptr) return {};
  return buf;
}

bool inside(const std::string& path, const std::string& root) {
  if (root == "/") return path.size() > 1 && path[0] == '/';
  return path.size() > root.size() + 1 && path.compare(0, root.size(), root) == 0 &&
         path[root.size()] == '/';
}

bool is_control(char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }

// Names the broker would have refused (empty, absolute, NUL, any `..`
// part), and names with a control character: the broker lets newlines
// through, but no task script needs one, and such a name could forge lines
// in a log or in a message that quotes it.
bool shape_allowed(std::string_view script) {
  if (script.empty() || script.front() == '/') return false;
  for (char c : script) {
    if (is_control(c)) return false;
  }
  for (std::size_t begin = 0; begin <= script.size();) {
    std::size_t end = script.find('/', begin);
    if (end == std::string_view::npos) end = script.size();
    if (script.substr(begin, end - begin) == "..") return false;
    begin = end + 1;
  }
  return true;
}

// 'name', with control characters escaped (\n, \xNN) so a message quoting
// it stays on one line.
std::string quote(std::string_view script) {
  std::string out(1, '\'');  // (not "'" + ...: GCC 12 warns falsely, -Wrestrict)
  for (char c : script) {
    if (c == '\n') {
      out += "\\n";
    } else if (is_control(c)) {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  out += '\'';
  return out;
}

common::TaskError error(TaskErrorCode code, std::string message) {
  return common::TaskError{code, std::move(message), {}, {}};
}

}  // namespace

ScriptResolver::ScriptResolver(std::vector<std::string> roots) {
  roots_.reserve(roots.size());
  for (auto& root : roots) {
    std::string real = real_path(root);
    if (real.empty()) {
      real = std::filesystem::path(root).lexically_normal().string();
      while (real.size() > 1 && real.back() == '/') real.pop_back();
    }
    roots_.push_back(std::move(real));
  }
}

std::string ScriptResolver::real_path_of(const std::string& candidate, const std::string& root,
                                         uint64_t dev, uint64_t ino) const {
  {
    std::shared_lock lock(known_mu_);
    auto it = known_.find(candidate);
    if (it != known_.end() && it->second.dev == dev && it->second.ino == ino) return it->second.real;
  }
  std::string real = real_path(candidate);
  if (!real.empty() && !inside(real, root)) real.clear();
  std::unique_lock lock(known_mu_);
  if (known_.size() >= kMaxKnown) known_.clear();
  known_[candidate] = KnownFile{dev, ino, real};
  return real;
}

Resolution ScriptResolver::resolve(std::string_view script) const {
  const std::string quoted = quote(script);
  if (!shape_allowed(script)) {
    return {std::nullopt,
            error(TaskErrorCode::script_not_allowed,
                  "script " + quoted +
                      " is not a relative path inside a root (no '..', no control characters)")};
  }
  for (const auto& root : roots_) {
    const std::string candidate = root + (root == "/" ? "" : "/") + std::string(script);
    struct stat st{};
    if (::stat(candidate.c_str(), &st) != 0) continue;  // missing or dangling: next root
    std::string real = real_path_of(candidate, root, st.st_dev, st.st_ino);
    if (real.empty()) {
      return {std::nullopt, error(TaskErrorCode::script_not_allowed,
                                  "script " + quoted + " resolves outside its script root")};
    }
    if (!S_ISREG(st.st_mode)) {
      return {std::nullopt,
              error(TaskErrorCode::script_not_found, "script " + quoted + " is not a regular file")};
    }
    FileStamp stamp{int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                    int64_t{st.st_size}};
    return {ResolvedScript{std::move(real), stamp}, {}};
  }
  return {std::nullopt,
          error(TaskErrorCode::script_not_found, "script " + quoted + " not found in any script root")};
}

}  // namespace zfleet::worker
