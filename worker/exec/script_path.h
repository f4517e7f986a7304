// ScriptResolver: maps a submitted script name ("sub/x.py") to the file it
// runs, confined to the configured script roots, plus the file's stamp.
//
// Contract: roots are tried in order; the first root where `root/script`
// exists wins. The winner is resolved with realpath() (symlinks followed) and
// must lie inside that root's own real path, else `script_not_allowed`; no
// root holding it -> `script_not_found`. The broker already rejects `..` and
// absolute names; they are refused here too (`script_not_allowed`) so the
// confinement never depends on it. Messages name the script.
//
// Thread safety: immutable after construction; resolve() is safe from any
// thread and never touches Python (it only makes stat/realpath syscalls).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/protocol.h"

namespace zfleet::worker {

// What identifies one version of a file for the module cache.
struct FileStamp {
  int64_t mtime_ns = 0;
  int64_t size = 0;
  bool operator==(const FileStamp&) const = default;
};

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
  std::vector<std::string> roots_;  // real paths, no trailing '/' (except "/")
};

}  // namespace zfleet::worker
