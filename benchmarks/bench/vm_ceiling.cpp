#include "benchmarks/bench/vm_ceiling.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <stdexcept>
#include <vector>

extern char** environ;

namespace zfleet::bench {
namespace {

// The loop body is the fleet's own task (config/tasks/math_ops.py burn), so
// both sides run the same bytecode. Each process times its own loop and
// prints the seconds: the interpreter's start-up (tens of ms) is not part of
// the ceiling, as the fleet's start-up is not part of its run.
std::string program(const std::string& scripts, uint64_t n, int calls) {
  return "import sys, time; sys.path.insert(0, " + std::string("'") + scripts + "'" +
         "); from math_ops import burn\n"
         "t = time.perf_counter()\n"
         "for _ in range(" + std::to_string(calls) + "): burn(" + std::to_string(n) + ")\n"
         "print(time.perf_counter() - t)\n";
}

struct PythonChild {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout
};

PythonChild spawn_python(const std::string& code) {
  std::vector<std::string> args{"/usr/bin/python3", "-c", code};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  PythonChild c;
  int rc = posix_spawn(&c.pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(fds[1]);
  if (rc != 0) {
    close(fds[0]);
    throw std::runtime_error("cannot run /usr/bin/python3");
  }
  c.out = fds[0];
  return c;
}

// The loop's seconds the child printed, once it has exited 0.
double wait_seconds(const PythonChild& c) {
  std::string text;
  char buf[256];
  for (ssize_t n; (n = read(c.out, buf, sizeof buf)) != 0;) {
    if (n > 0) text.append(buf, static_cast<std::size_t>(n));
    else if (errno != EINTR) break;
  }
  close(c.out);
  int status = 0;
  char* end = nullptr;
  double s = std::strtod(text.c_str(), &end);
  if (waitpid(c.pid, &status, 0) != c.pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
      end == text.c_str() || !(s > 0))
    throw std::runtime_error("/usr/bin/python3 failed running math_ops.burn (is the script root right?)");
  return s;
}

// The loop times of `processes` python processes started together.
std::vector<double> timed(const std::string& code, int processes) {
  std::vector<PythonChild> children;
  for (int i = 0; i < processes; ++i) children.push_back(spawn_python(code));
  std::vector<double> seconds;
  for (const auto& c : children) seconds.push_back(wait_seconds(c));
  return seconds;
}

}  // namespace

Ceiling python_ceiling(const std::string& scripts, uint64_t n, int calls) {
  const std::string code = program(scripts, n, calls);
  (void)timed(program(scripts, n, 1), 1);  // page cache and .pyc warm
  Ceiling c;
  c.calls = calls;
  c.one_s = timed(code, 1)[0];
  // Two at once: their rates add up; two_s is the time that sum gives
  // 2 x calls in (a process that ends first leaves the other a free CPU for
  // its last calls, which makes the ceiling higher, never lower).
  double per_s = 0;
  for (double s : timed(code, 2)) per_s += calls / s;
  c.two_s = 2 * calls / per_s;
  return c;
}

}  // namespace zfleet::bench
