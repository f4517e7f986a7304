#include "tools/cli/watch.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <optional>
#include <vector>

#include "tools/cli/exit_codes.h"
#include "tools/cli/status_poller.h"
#include "tools/cli/terminal.h"
#include "tools/cli/watch_screen.h"

namespace zfleet::cli {
namespace {

using Clock = StatusPoller::Clock;

std::string local_clock() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%H:%M:%S", &tm);
  return buf;
}

// One watch: the loop, what it last heard, and how it shows it. The one
// place that decides when to ask, when to give up on an answer and when to
// draw.
class WatchLoop {
 public:
  WatchLoop(zmq::context_t& ctx, const Options& o)
      : o_(o),
        poller_(ctx, o.results, o.curve),
        interval_(std::chrono::milliseconds(static_cast<int64_t>(o.interval_s * 1000.0))),
        timeout_(std::chrono::milliseconds(o.timeout_ms)),
        since_(local_clock()) {
    sort_.key = sort_key_named(o.sort).value_or(SortKey::pool);
  }

  int run();

 private:
  void wait_for_events(Clock::time_point now, Clock::time_point next_tick);
  bool on_keys(const std::string& keys);  // true: quit
  void on_reply(std::expected<common::Reply, std::string> r);
  void on_no_answer();
  void draw();
  bool counted_out() const { return o_.count > 0 && refreshes_ >= o_.count; }

  const Options& o_;
  Terminal term_;
  StatusPoller poller_;
  const Clock::duration interval_, timeout_;
  WatchSort sort_;
  std::optional<WatchSnapshot> last_;
  std::string problem_;      // "" while the broker answers
  std::string since_;        // time of the last answer (or of the start)
  uint64_t refreshes_ = 0;   // answered or given up
  bool answered_ = false;    // the last refresh was answered
  bool quit_ = false;
};

int WatchLoop::run() {
  draw();  // at once: the header says what is watched while the first answer comes
  Clock::time_point next_tick = Clock::now();
  while (!quit_) {
    auto now = Clock::now();
    if (!poller_.busy() && now >= next_tick) {
      poller_.start(now + timeout_);
      next_tick = now + interval_;
    }
    if (poller_.expire(now)) on_no_answer();
    if (counted_out()) break;
    wait_for_events(now, next_tick);
    if (counted_out()) break;
  }
  if (quit_) return kExitDone;
  return answered_ ? kExitDone : kExitNoAnswer;
}

// Polls the broker's socket, the signal pipe and the keys until the next
// thing to do (the next request, or the current one's deadline).
void WatchLoop::wait_for_events(Clock::time_point now, Clock::time_point next_tick) {
  auto until = poller_.busy() ? poller_.deadline() : next_tick;
  auto wait = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(until - now),
                       std::chrono::milliseconds(0)) + std::chrono::milliseconds(1);
  std::vector<zmq::pollitem_t> items{poller_.poll_item(), {nullptr, term_.signal_fd(), ZMQ_POLLIN, 0}};
  if (term_.key_fd() >= 0) items.push_back({nullptr, term_.key_fd(), ZMQ_POLLIN, 0});
  try {
    zmq::poll(items.data(), items.size(), wait);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR) throw;  // a signal: its byte is in the pipe
  }
  auto sig = term_.read_signals();
  if (sig.quit) {
    quit_ = true;
    return;
  }
  if (items.size() > 2 && on_keys(term_.read_keys().keys)) {
    quit_ = true;
    return;
  }
  if (sig.resize) draw();
  if (auto reply = poller_.on_ready(items[0].revents)) on_reply(std::move(*reply));
}

bool WatchLoop::on_keys(const std::string& keys) {
  if (keys.empty()) return false;
  for (char c : keys) {
    switch (c) {
      case 'q': case 'Q': return true;
      case 's': case '>': sort_.key = next_sort_key(sort_.key, 1); break;
      case '<': sort_.key = next_sort_key(sort_.key, -1); break;
      case 'r': sort_.reversed = !sort_.reversed; break;
      default: break;  // other keys (and escape sequences) mean nothing here
    }
  }
  draw();
  return false;
}

void WatchLoop::on_reply(std::expected<common::Reply, std::string> r) {
  ++refreshes_;
  if (!r) {
    answered_ = false;
    problem_ = "unreadable answer from " + o_.results + ": " + r.error();
  } else if (r->op != "status") {
    answered_ = false;
    problem_ = o_.results + " answered " + r->code + ": " + r->message;
  } else {
    auto snap = read_snapshot(r->root());
    add_rates(snap, last_ ? &*last_ : nullptr);
    last_ = std::move(snap);
    answered_ = true;
    problem_.clear();
    since_ = local_clock();
  }
  draw();
}

void WatchLoop::on_no_answer() {
  ++refreshes_;
  answered_ = false;
  problem_ = "no answer from " + o_.results + " since " + since_;
  draw();
}

void WatchLoop::draw() {
  WatchView v;
  v.width = term_.width();
  v.height = term_.height();
  v.sort = sort_;
  v.endpoint = o_.results;
  v.clock = local_clock();
  v.problem = problem_;
  v.keys = term_.keys();
  // Printed (not a screen): a stale table again would read as fresh figures.
  bool stale = !term_.screen() && !answered_;
  if (!term_.screen() && refreshes_ == 0) return;  // nothing heard yet: print nothing
  term_.draw(render_watch(last_ && !stale ? &*last_ : nullptr, v));
}

}  // namespace

int do_status_watch(zmq::context_t& ctx, const Options& o) {
  try {
    WatchLoop loop(ctx, o);
    return loop.run();
  } catch (const std::exception& e) {  // the terminal is restored by now
    std::cerr << "zfleet: status --watch: " << e.what() << "\n";
    return kExitNoAnswer;
  }
}

}  // namespace zfleet::cli
