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

// Names the broker would have refused (empty, NUL, any `..` part), and
// names with a control character: the broker lets newlines through, but no
// task script needs one, and such a name could forge lines in a log or in a
// message that quotes it. Absolute names pass here: resolve() accepts them
// only inside a root.
bool shape_allowed(std::string_view script) {
  if (script.empty() || script == "/") return false;
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

FileStamp file_stamp(const struct stat& st) {
  return FileStamp{int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec,
                   int64_t{st.st_size},
                   int64_t{st.st_ctim.tv_sec} * 1'000'000'000 + st.st_ctim.tv_nsec,
                   static_cast<uint64_t>(st.st_ino)};
}

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
    if (it != known_.end() && it->second.dev == dev && it->second.ino == ino) {
      return inside(it->second.real, root) ? it->second.real : std::string();
    }
  }
  std::string real = real_path(candidate);
  {
    std::unique_lock lock(known_mu_);
    if (known_.size() >= kMaxKnown) known_.clear();
    known_[candidate] = KnownFile{dev, ino, real};
  }
  return inside(real, root) ? real : std::string();
}

std::string ScriptResolver::roots_list() const {
  std::string out;
  for (const auto& root : roots_) out += (out.empty() ? "" : ", ") + root;
  return out.empty() ? "none" : out;
}

Resolution ScriptResolver::resolve(std::string_view script) const {
  const std::string quoted = quote(script);
  if (!shape_allowed(script)) {
    return {std::nullopt,
            error(TaskErrorCode::script_not_allowed,
                  "script " + quoted +
                      " is not a path inside a script root (no '..', no control characters)")};
  }
  if (script.front() == '/') return resolve_absolute(std::string(script), quoted);
  for (const auto& root : roots_) {
    const std::string candidate = root + (root == "/" ? "" : "/") + std::string(script);
    struct stat st{};
    if (::stat(candidate.c_str(), &st) != 0) continue;  // missing or dangling: next root
    std::string real = real_path_of(candidate, root, st.st_dev, st.st_ino);
    if (real.empty()) {
      return {std::nullopt, error(TaskErrorCode::script_not_allowed,
                                  "script " + quoted + " resolves outside its script root " + root)};
    }
    if (!S_ISREG(st.st_mode)) {
      return {std::nullopt,
              error(TaskErrorCode::script_not_found, "script " + quoted + " is not a regular file")};
    }
    return {ResolvedScript{std::move(real), file_stamp(st)}, {}};
  }
  return {std::nullopt, error(TaskErrorCode::script_not_found,
                              "script " + quoted + " not found in any script root (searched: " +
                                  roots_list() + ")")};
}

// An absolute name runs when, symlinks followed, it is a file inside one of
// the roots; a name that is not there at all is script_not_found if it lies
// under a root as written, else script_not_allowed.
Resolution ScriptResolver::resolve_absolute(const std::string& script, const std::string& quoted) const {
  struct stat st{};
  if (::stat(script.c_str(), &st) != 0) {
    for (const auto& root : roots_) {
      if (inside(script, root)) {
        return {std::nullopt, error(TaskErrorCode::script_not_found,
                                    "script " + quoted + " not found (script roots: " + roots_list() + ")")};
      }
    }
    return {std::nullopt, error(TaskErrorCode::script_not_allowed,
                                "script " + quoted + " is outside every script root (" + roots_list() + ")")};
  }
  for (const auto& root : roots_) {
    std::string real = real_path_of(script, root, st.st_dev, st.st_ino);
    if (real.empty()) continue;
    if (!S_ISREG(st.st_mode)) {
      return {std::nullopt,
              error(TaskErrorCode::script_not_found, "script " + quoted + " is not a regular file")};
    }
    return {ResolvedScript{std::move(real), file_stamp(st)}, {}};
  }
  return {std::nullopt, error(TaskErrorCode::script_not_allowed,
                              "script " + quoted + " resolves outside every script root (" +
                                  roots_list() + ")")};
}

}  // namespace zfleet::worker
