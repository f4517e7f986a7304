#include "tools/cli/terminal.h"

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>

#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "tools/cli/human_units.h"

namespace zfleet::cli {
namespace {

// The self-pipe: written by the handler, read by the loop. Both ends are
// non-blocking, so a burst of signals can never block the handler.
int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
  int saved = errno;  // write() may change it under the interrupted code
  unsigned char b = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = ::write(g_pipe[1], &b, 1);
  errno = saved;
}

constexpr std::array<int, 6> kSignals{SIGINT, SIGTERM, SIGHUP, SIGWINCH, SIGTSTP, SIGCONT};
std::array<struct sigaction, kSignals.size()> g_old{};

// A signal this watch does not catch keeps its old disposition: without a
// screen, SIGWINCH means nothing and Ctrl-Z should just stop the process.
bool catches(int sig, bool screen) { return screen || sig == SIGINT || sig == SIGTERM || sig == SIGHUP; }

void install(bool screen) {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupt the poll at once
  for (std::size_t i = 0; i < kSignals.size(); ++i)
    if (catches(kSignals[i], screen)) sigaction(kSignals[i], &sa, &g_old[i]);
}

void uninstall(bool screen) {
  for (std::size_t i = 0; i < kSignals.size(); ++i)
    if (catches(kSignals[i], screen)) sigaction(kSignals[i], &g_old[i], nullptr);
}

void put(const std::string& s) {
  std::fwrite(s.data(), 1, s.size(), stdout);
  std::fflush(stdout);
}

}  // namespace

Terminal::Terminal() {
  screen_ = isatty(STDOUT_FILENO) == 1;
  keys_ = screen_ && isatty(STDIN_FILENO) == 1 && tcgetattr(STDIN_FILENO, &saved_) == 0;
  if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  install(screen_);
  take();
}

Terminal::~Terminal() {
  give_back();
  uninstall(screen_);
  for (int& fd : g_pipe) {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
}

int Terminal::signal_fd() const { return g_pipe[0]; }

std::size_t Terminal::width() const {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  return 80;
}

std::size_t Terminal::height() const {
  winsize ws{};
  if (screen_ && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) return ws.ws_row;
  return 0;
}

void Terminal::take() {
  if (taken_ || !screen_) return;
  if (keys_) {
    termios raw = saved_;
    raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;  // read() returns what there is, never waits
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
  }
  put("\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J");  // alternate screen, hide the cursor, clear
  taken_ = true;
}

void Terminal::give_back() {
  if (!taken_) return;
  put("\x1b[?25h\x1b[?1049l");  // show the cursor, back to the normal screen
  if (keys_) tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  taken_ = false;
}

void Terminal::suspend() {
  give_back();
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  sigemptyset(&dfl.sa_mask);
  struct sigaction ours {};
  sigaction(SIGTSTP, &dfl, &ours);
  raise(SIGTSTP);  // stops here until SIGCONT
  sigaction(SIGTSTP, &ours, nullptr);
  take();
}

Terminal::Input Terminal::read_keys() {
  Input in;
  char buf[64];
  ssize_t n;
  while (keys_ && (n = ::read(STDIN_FILENO, buf, sizeof buf)) > 0) in.keys.append(buf, static_cast<std::size_t>(n));
  return in;
}

Terminal::Input Terminal::read_signals() {
  Input in;
  unsigned char buf[64];
  ssize_t n;
  while (g_pipe[0] >= 0 && (n = ::read(g_pipe[0], buf, sizeof buf)) > 0) {
    for (ssize_t i = 0; i < n; ++i) {
      int sig = buf[i];
      if (sig == SIGTSTP) {
        suspend();
      } else if (sig == SIGCONT) {
        // Stopped by someone else (SIGSTOP) and continued: the shell may
        // have reset the terminal meanwhile, so take it again.
        taken_ = false;
        take();
      } else if (sig != SIGWINCH) {
        in.quit = true;
        continue;
      }
      in.resize = true;
    }
  }
  return in;
}

void Terminal::draw(const std::vector<std::string>& lines) {
  std::string out;
  if (screen_) {
    out = "\x1b[H";
    const std::size_t cols = width();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      out += lines[i];
      // Clear what the previous refresh left on this line; not after a full
      // line, where the cursor waits on the last column and xterm would
      // erase the character under it.
      if (display_width(lines[i]) < cols) out += "\x1b[K";
      if (i + 1 < lines.size()) out += "\r\n";  // never a newline on the last: it would scroll
    }
    out += "\x1b[J";  // and the lines below
  } else {
    for (const auto& l : lines) (out += l) += "\n";
    out += "\n";
  }
  put(out);
}

}  // namespace zfleet::cli
