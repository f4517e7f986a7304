#include "benchmarks/bench/gnuplot.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

extern char** environ;

namespace zfleet::bench {
namespace {

constexpr std::size_t kStderrKept = 4000;  // the end of gnuplot's stderr, in an error

struct GnuplotRun {
  int status = 0;      // from waitpid, when started
  int spawn_err = 0;   // errno of posix_spawnp: the command could not be started
  std::string err;     // its stderr (the last kStderrKept bytes)
};

// Reads the pipe to its end before waiting, so a child with much to say on
// stderr never blocks on a full pipe.
std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
    if (out.size() > 2 * kStderrKept) out.erase(0, out.size() - kStderrKept);
  }
  if (out.size() > kStderrKept) out.erase(0, out.size() - kStderrKept);
  return out;
}

GnuplotRun run(const std::vector<std::string>& args) {
  GnuplotRun c;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    c.spawn_err = errno;
    return c;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDERR_FILENO);
  // A spawned fleet blocks SIGINT/SIGTERM in this thread to watch them; the
  // child gets a clean mask so that Ctrl-C still stops it.
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  c.spawn_err = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  close(fds[1]);
  if (c.spawn_err == 0) {
    c.err = read_all(fds[0]);
    while (waitpid(pid, &c.status, 0) < 0 && errno == EINTR) {
    }
  }
  close(fds[0]);
  return c;
}

std::string how_it_ended(int status) {
  if (WIFEXITED(status)) return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return std::string("was killed by ") + strsignal(WTERMSIG(status));
  return "ended abnormally";
}

std::string describe(const std::vector<std::string>& args, const GnuplotRun& c) {
  std::string cmd;
  for (const auto& a : args) cmd += (cmd.empty() ? "" : " ") + a;
  if (c.spawn_err)
    return "cannot run `" + cmd + "`: " + std::strerror(c.spawn_err) +
           " (install Debian's gnuplot-nox, or set ZFLEET_GNUPLOT)";
  if (WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0) return "";
  std::string out = "`" + cmd + "` " + how_it_ended(c.status);
  if (!c.err.empty()) out += ":\n" + c.err;
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

}  // namespace

std::string gnuplot_command() {
  const char* env = std::getenv("ZFLEET_GNUPLOT");
  return env && *env ? env : "gnuplot";
}

std::string check_gnuplot() {
  std::vector<std::string> args{gnuplot_command(), "--version"};
  return describe(args, run(args));
}

std::string run_gnuplot(const std::string& script_path) {
  std::vector<std::string> args{gnuplot_command(), script_path};
  return describe(args, run(args));
}

}  // namespace zfleet::bench
