#include "benchmarks/bench/proc_cpu.h"

#include <unistd.h>

#include <dirent.h>

#include <fstream>
#include <sstream>

namespace zfleet::bench {
namespace {

// Fields 14 and 15 of /proc/PID/stat (utime, stime), in clock ticks; the
// comm field (2) may hold spaces, so fields are counted after its ")".
bool read_stat(pid_t pid, uint64_t& ticks, pid_t* ppid = nullptr) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(f, line)) return false;
  auto close = line.rfind(')');
  if (close == std::string::npos) return false;
  std::istringstream rest(line.substr(close + 2));
  std::string field;
  uint64_t utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 4 && ppid) *ppid = static_cast<pid_t>(std::stoll(field));
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  ticks = utime + stime;
  return true;
}

uint64_t status_field(const std::string& text, const std::string& key) {
  auto at = text.find("\n" + key + ":");
  if (at == std::string::npos) return 0;
  return std::stoull(text.substr(at + key.size() + 2));
}

}  // namespace

CpuSample read_process_cpu(pid_t pid) {
  CpuSample s;
  uint64_t ticks = 0;
  if (!read_stat(pid, ticks)) return s;
  s.cpu_us = ticks * 1'000'000 / static_cast<uint64_t>(sysconf(_SC_CLK_TCK));
  // Context switches are per thread: sum /proc/PID/task/*/status.
  const std::string tasks = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(tasks.c_str());
  if (!d) return s;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(tasks + "/" + e->d_name + "/status");
    std::stringstream text;
    text << "\n" << f.rdbuf();
    s.voluntary_switches += status_field(text.str(), "voluntary_ctxt_switches");
    s.involuntary_switches += status_field(text.str(), "nonvoluntary_ctxt_switches");
  }
  closedir(d);
  return s;
}

std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> out;
  DIR* d = opendir("/proc");
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    char* end = nullptr;
    const long pid = std::strtol(e->d_name, &end, 10);
    if (pid <= 0 || *end) continue;
    uint64_t ticks = 0;
    pid_t ppid = 0;
    if (read_stat(static_cast<pid_t>(pid), ticks, &ppid) && ppid == parent) out.push_back(static_cast<pid_t>(pid));
  }
  closedir(d);
  return out;
}

CpuSample CpuGroup::sample() const {
  CpuSample total;
  for (pid_t p : pids) {
    const CpuSample s = read_process_cpu(p);
    total.cpu_us += s.cpu_us;
    total.voluntary_switches += s.voluntary_switches;
    total.involuntary_switches += s.involuntary_switches;
  }
  return total;
}

}  // namespace zfleet::bench
