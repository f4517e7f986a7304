// ScriptResolver: maps a submitted script name ("sub/x.py") to the file it
// runs, confined to the configured script roots, plus the file's stamp.
//
// Contract: roots are tried in order; the first root where `root/script`
// exists wins. The winner is resolved with realpath() (symlinks followed) and
// must lie inside that root's own real path, else `script_not_allowed`; no
// root holding it -> `script_not_found`, naming the roots searched. An
// absolute name is accepted when its real path lies inside one of the roots
// (any of them), else `script_not_allowed` naming the roots (the broker
// refuses absolute names today, PROTOCOL.md; a worker does not rely on it).
// The broker already rejects `..` and NUL; they are refused here too
// (`script_not_allowed`) so the confinement never depends on it, as are
// names with any other control character (newline included: the broker lets
// it through). Messages name the script, control characters escaped.
//
// Cost: every call stat()s the candidates (that is how an edited script is
// noticed). realpath() walks every component with a syscall each, so its
// answer is remembered per candidate path together with the file's device
// and inode, and reused while stat() still finds that same file there.
// (Any change that puts another file at the path changes the inode.)
//
// Thread safety: resolve() is safe from any thread (the realpath memo has
// its own lock) and never touches Python.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/protocol.h"

namespace zfleet::worker {

// What identifies one version of a file for the module cache. ctime moves
// on every write, rename and utime (and cannot be set back), and the inode
// changes when a file is renamed over the old one, so two versions that
// share mtime and size (an edit within one clock tick) still differ.
struct FileStamp {
  int64_t mtime_ns = 0;
  int64_t size = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  bool operator==(const FileStamp&) const = default;
};

// The stamp of the file `st` describes.
FileStamp file_stamp(const struct stat& st);

struct ResolvedScript {
  std::string path;  // realpath of the file, inside a root
  FileStamp stamp;   // of that file, taken during resolution
};

// Either a resolved script or the task error saying why not.
struct Resolution {
  std::optional<ResolvedScript> script;
  common::TaskError error;  // meaningful when !script
};

class ScriptResolver {
 public:
  // `roots`: directories, ideally absolute. Each is reduced to its real path
  // now (a root that does not exist yet is kept as given and simply never
  // matches until it does).
  explicit ScriptResolver(std::vector<std::string> roots);

  Resolution resolve(std::string_view script) const;

  const std::vector<std::string>& roots() const { return roots_; }

 private:
  struct KnownFile {
    uint64_t dev = 0, ino = 0;
    std::string real;  // its realpath ("" if that failed)
  };
  // Bounded: names are client-chosen ("x.py", "./x.py", ...), so the memo
  // starts over when it reaches this size.
  static constexpr std::size_t kMaxKnown = 4096;

  std::string real_path_of(const std::string& candidate, const std::string& root,
                           uint64_t dev, uint64_t ino) const;
  Resolution resolve_absolute(const std::string& script, const std::string& quoted) const;
  std::string roots_list() const;  // "r1, r2" for messages

  std::vector<std::string> roots_;  // real paths, no trailing '/' (except "/")
  mutable std::shared_mutex known_mu_;
  mutable std::unordered_map<std::string, KnownFile> known_;  // guarded by known_mu_
};

}  // namespace zfleet::worker
