// ProcCpu: the CPU time and context switches of a set of processes, read
// from /proc, for `zfleet-bench cpu-per-task`: what a task costs all the
// processes of the path together (bench, broker, workers), and how often an
// idle fleet wakes up.
//
// Thread safety: functions only; reading /proc is safe from any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace zfleet::bench {

struct CpuSample {
  uint64_t cpu_us = 0;              // user + system, all threads
  uint64_t voluntary_switches = 0;  // all threads: sleeps that ended in a wake-up
  uint64_t involuntary_switches = 0;
};

// One process (all its threads). A process that has gone reads as zeros.
CpuSample read_process_cpu(pid_t pid);
// The live children of `parent` (a broker's local workers).
std::vector<pid_t> children_of(pid_t parent);

// A named group of processes, sampled together.
struct CpuGroup {
  std::string name;
  std::vector<pid_t> pids;
  CpuSample sample() const;
};

inline CpuSample operator-(const CpuSample& a, const CpuSample& b) {
  return {a.cpu_us - b.cpu_us, a.voluntary_switches - b.voluntary_switches,
          a.involuntary_switches - b.involuntary_switches};
}

}  // namespace zfleet::bench
