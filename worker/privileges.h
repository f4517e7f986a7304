// Running a worker as an unprivileged user: `zfleet-worker --user NAME`
// (issue 11, point 8; docs/security.md, "Running workers unprivileged").
//
// Contract of drop_privileges(name):
// - Started as root (effective uid 0): initgroups(name, its group), then
//   setgid, then setuid, in that order (once the uid is not 0 the groups
//   can no longer be changed). Then it checks that the real, effective and
//   saved uid and gid are the user's, that the process is not root any
//   more, and that setuid(0) fails (root cannot be regained). Any failure
//   is an error: the worker must not run.
// - Not root: NAME must be the user the worker already runs as (nothing to
//   do); another user is a usage error (exit code 2), since only root can
//   switch users.
// - NAME must name an existing user, and not root itself.
// Call it in the main thread before any other thread starts and before the
// Python interpreter starts: setuid changes only the calling thread's
// credentials at the kernel level (glibc broadcasts it to the others), and
// no task may ever run as root. It resets the parent-death signal
// (PR_SET_PDEATHSIG), so set that afterwards.
//
// Thread safety: main thread, before any other thread exists.
#pragma once

#include <string>

namespace zfleet::worker {

struct PrivilegeDrop {
  bool ok = true;
  int exit_code = 0;  // when !ok: 2 for a bad --user, 1 when the drop itself failed
  std::string error;  // when !ok
};

PrivilegeDrop drop_privileges(const std::string& name);

}  // namespace zfleet::worker
