#include "benchmarks/bench/vm_ceiling.h"

#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace zfleet::bench {
namespace {

// The loop body is the fleet's own task (config/tasks/math_ops.py burn), so
// both sides run the same bytecode.
std::string program(const std::string& scripts, uint64_t n, int calls) {
  return "import sys; sys.path.insert(0, " + std::string("'") + scripts + "'" +
         "); from math_ops import burn\n"
         "for _ in range(" + std::to_string(calls) + "): burn(" + std::to_string(n) + ")\n";
}

pid_t spawn_python(const std::string& code) {
  std::vector<std::string> args{"/usr/bin/python3", "-c", code};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0)
    throw std::runtime_error("cannot run /usr/bin/python3");
  return pid;
}

void wait_ok(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error("/usr/bin/python3 failed running math_ops.burn (is the script root right?)");
}

double timed(const std::string& code, int processes) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<pid_t> pids;
  for (int i = 0; i < processes; ++i) pids.push_back(spawn_python(code));
  for (pid_t p : pids) wait_ok(p);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

Ceiling python_ceiling(const std::string& scripts, uint64_t n, int calls) {
  const std::string code = program(scripts, n, calls);
  (void)timed(program(scripts, n, 1), 1);  // page cache and .pyc warm
  Ceiling c;
  c.calls = calls;
  c.one_s = timed(code, 1);
  c.two_s = timed(code, 2);
  return c;
}

}  // namespace zfleet::bench
