#include "worker/privileges.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace zfleet::worker {
namespace {

PrivilegeDrop refuse(int exit_code, std::string error) { return {false, exit_code, std::move(error)}; }

std::string os_error(const char* call) { return std::string(call) + ": " + std::strerror(errno); }

// All three uids and gids are the target's, and root cannot come back.
bool dropped_for_good(uid_t uid, gid_t gid) {
  uid_t ruid = 0, euid = 0, suid = 0;
  gid_t rgid = 0, egid = 0, sgid = 0;
  if (getresuid(&ruid, &euid, &suid) != 0 || getresgid(&rgid, &egid, &sgid) != 0) return false;
  if (ruid != uid || euid != uid || suid != uid) return false;
  if (rgid != gid || egid != gid || sgid != gid) return false;
  if (euid == 0) return false;
  return setuid(0) != 0;  // must fail now
}

}  // namespace

PrivilegeDrop drop_privileges(const std::string& name) {
  errno = 0;
  const passwd* pw = getpwnam(name.c_str());
  if (pw == nullptr) {
    return refuse(2, "--user " + name + ": no such user" +
                         (errno ? std::string(" (") + std::strerror(errno) + ")" : ""));
  }
  const uid_t uid = pw->pw_uid;
  const gid_t gid = pw->pw_gid;
  if (uid == 0) return refuse(2, "--user " + name + ": that is root; name an unprivileged user");
  if (geteuid() != 0) {
    if (getuid() == uid && geteuid() == uid) return {};  // already that user
    return refuse(2, "--user " + name + ": only root can switch to another user (this worker "
                         "runs as uid " + std::to_string(geteuid()) + ")");
  }
  // Order matters: groups first, while still root.
  if (initgroups(pw->pw_name, gid) != 0) return refuse(1, os_error("initgroups"));
  if (setgid(gid) != 0) return refuse(1, os_error("setgid"));
  if (setuid(uid) != 0) return refuse(1, os_error("setuid"));
  if (!dropped_for_good(uid, gid)) {
    return refuse(1, "--user " + name + ": the privilege drop did not hold (still root, or root "
                         "can be regained)");
  }
  return {};
}

}  // namespace zfleet::worker
