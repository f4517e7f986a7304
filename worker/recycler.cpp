#include "worker/recycler.h"

#include <unistd.h>

#include <fstream>

namespace zfleet::worker {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;

}  // namespace

std::optional<std::string> Recycler::check(uint64_t tasks_started, uint64_t rss) const {
  if (policy_.max_tasks > 0 && tasks_started >= policy_.max_tasks) {
    return "started " + std::to_string(tasks_started) + " tasks (max_tasks_per_process " +
           std::to_string(policy_.max_tasks) + ")";
  }
  if (policy_.max_rss_bytes > 0 && rss > policy_.max_rss_bytes) {
    return "resident memory " + std::to_string(rss / kMiB) + " MiB is over max_rss_mb " +
           std::to_string(policy_.max_rss_bytes / kMiB);
  }
  return std::nullopt;
}

uint64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace zfleet::worker
