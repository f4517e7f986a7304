// Terminal: the terminal side of `zfleet status --watch`, owned for the
// length of the watch and restored by its destructor on every way out
// (q, Ctrl-C, SIGTERM, SIGHUP, an exception unwinding through it).
//
// When stdout is a terminal (screen()), it switches to the alternate screen
// and hides the cursor; draw() then repaints in place (cursor home, each
// line cleared to its end, the rest of the screen cleared). When stdin is a
// terminal too (keys()), stdin goes to non-canonical mode without echo so
// single key presses arrive at once; ISIG stays on, so Ctrl-C is still
// SIGINT. Otherwise draw() just prints the lines, followed by a blank line.
//
// Signals (SIGINT, SIGTERM, SIGHUP; with a screen also SIGWINCH, SIGTSTP and
// SIGCONT) are caught by a handler that only writes the signal's number into
// a pipe (the self-pipe trick): the watch loop polls signal_fd() next to the
// broker's socket, so a signal never races a blocking wait, and everything
// else happens on the loop's thread. Ctrl-Z restores the terminal before the
// process stops and takes it again when it continues.
//
// Thread safety: one per process (it installs signal handlers), used from
// one thread.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include <termios.h>

namespace zfleet::cli {

class Terminal {
 public:
  Terminal();
  ~Terminal();
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;

  bool screen() const { return screen_; }
  bool keys() const { return keys_; }
  // Columns and rows of stdout's terminal; 80 and 0 (no limit) when it is
  // not a terminal or does not say.
  std::size_t width() const;
  std::size_t height() const;

  // The fds to poll for input: stdin (-1 without keys) and the signal pipe.
  int key_fd() const { return keys_ ? 0 : -1; }
  int signal_fd() const;

  // What arrived since the last call, read after a poll said so.
  struct Input {
    std::string keys;     // key presses, as bytes
    bool quit = false;    // SIGINT, SIGTERM or SIGHUP
    bool resize = false;  // SIGWINCH, or back from a stop: draw again
  };
  Input read_keys();
  Input read_signals();

  void draw(const std::vector<std::string>& lines);

 private:
  void take();     // raw keys, alternate screen, hidden cursor
  void give_back();
  void suspend();  // Ctrl-Z: give the terminal back, stop, take it again

  bool screen_ = false;
  bool keys_ = false;
  bool taken_ = false;
  termios saved_{};
};

}  // namespace zfleet::cli
