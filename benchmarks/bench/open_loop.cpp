#include "benchmarks/bench/open_loop.h"

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <cmath>
#include <ctime>

#include "benchmarks/bench/progress.h"
#include "common/clock.h"
#include "common/frames.h"
#include "common/msgpack_writer.h"
#include "common/sockets.h"

namespace zfleet::bench {
namespace {

constexpr uint64_t kMaxWaitUs = 10'000;      // wake at least this often (progress, deadline)
constexpr uint64_t kGraceUs = 5'000'000;     // replies still in flight after the deadline

std::string corr_of(std::size_t i) {
  std::string out;
  common::MsgpackWriter(out).u64(i);
  return out;
}

// The task index carried in a reply's `corr`, or SIZE_MAX.
std::size_t index_of(const common::Reply& r) {
  auto c = common::uint_field(r.root(), "corr");
  return c && *c ? static_cast<std::size_t>(**c) : SIZE_MAX;
}

}  // namespace

OpenLoop::OpenLoop(zmq::context_t& ctx, const std::string& frontend, const std::string& results,
                   const common::CurveOptions& curve) {
  auto o = common::unbounded_options();
  o.curve = curve;
  front_ = common::make_socket(ctx, zmq::socket_type::dealer, o);
  front_.connect(frontend);
  results_ = common::make_socket(ctx, zmq::socket_type::dealer, o);
  results_.connect(results);
  // Wake at the due time, not up to 50 us later (the default timer slack):
  // the send lag is part of every measured latency.
  prctl(PR_SET_TIMERSLACK, 1UL);
  front_fd_ = front_.get(zmq::sockopt::fd);
  results_fd_ = results_.get(zmq::sockopt::fd);
}

uint64_t OpenLoop::intended_us(std::size_t i) const {
  return t0_ + static_cast<uint64_t>(std::llround(static_cast<double>(i) * 1e6 / p_.rate));
}

RateResult OpenLoop::run(const TaskKind& kind, const RateParams& p, Progress* progress) {
  task_ = {};
  task_.script = kind.script;
  task_.func = kind.func;
  task_.args_msgpack = kind.args_msgpack;
  task_.type = kind.type;
  p_ = p;
  r_ = {};
  r_.count = p.count;
  final_.assign(p.count, 0);
  next_ = resolved_ = 0;
  t0_ = common::now_us() + 1000;  // the first task is due in 1 ms
  r_.t0_us = t0_;
  uint64_t last_due = p.count ? intended_us(p.count - 1) : t0_;
  deadline_us_ = last_due + p.wait_ms * 1000;
  last_send_us_ = last_result_us_ = t0_;
  while (resolved_ < p.count) {
    uint64_t now = common::now_us();
    if (now > deadline_us_ + kGraceUs) break;
    send_due(now);
    while (drain(front_, true) + drain(results_, false) > 0) {
    }
    if (progress) progress->update(r_.done + r_.failed, "done");
    uint64_t wake = next_ < p.count ? intended_us(next_) : now + kMaxWaitUs;
    wait_for_io(std::min(wake, now + kMaxWaitUs));
  }
  r_.lost += p.count - resolved_;  // never answered in time
  double span = static_cast<double>(last_due - t0_) / 1e6;
  r_.offered_per_s = span > 0 ? static_cast<double>(p.count - 1) / span : 0;
  double sent = static_cast<double>(last_send_us_ - t0_) / 1e6;
  r_.sent_per_s = sent > 0 ? static_cast<double>(p.count - 1) / sent : 0;
  r_.seconds = static_cast<double>(last_result_us_ - t0_) / 1e6;
  r_.achieved_per_s = r_.seconds > 0 ? static_cast<double>(r_.done) / r_.seconds : 0;
  return r_;
}

void OpenLoop::send_due(uint64_t now) {
  while (next_ < p_.count && intended_us(next_) <= now) {
    std::string body = common::encode_submit(task_, corr_of(next_));
    front_.send(zmq::buffer(body), zmq::send_flags::none);
    last_send_us_ = common::now_us();
    r_.sent.add(last_send_us_ - std::min(last_send_us_, t0_));
    r_.send_lag_us.record(last_send_us_ - std::min(last_send_us_, intended_us(next_)));
    ++next_;
  }
}

std::size_t OpenLoop::drain(zmq::socket_t& s, bool front) {
  std::size_t n = 0;
  zmq::message_t m;
  while (s.recv(m, zmq::recv_flags::dontwait)) {
    front ? on_ack(m) : on_result(m);
    ++n;
  }
  return n;
}

void OpenLoop::on_ack(const zmq::message_t& m) {
  auto r = common::decode_reply(common::view(m));
  if (!r) return;
  std::size_t i = index_of(*r);
  if (i >= p_.count || final_[i]) return;
  if (r->op == "accepted") {
    ++r_.accepted;
    send_get(r->id, i);
  } else {
    ++r_.rejected;  // queue_full, shutting_down, ...: counted as an error
    finish(i);
  }
}

void OpenLoop::on_result(const zmq::message_t& m) {
  uint64_t now = common::now_us();
  auto r = common::decode_reply(common::view(m));
  if (!r) return;
  std::size_t i = index_of(*r);
  if (i >= p_.count || final_[i]) return;
  if (r->state == "done") {
    ++r_.done;
    r_.latency_us.record(now - std::min(now, intended_us(i)));
    r_.completed.add(now - std::min(now, t0_));
    auto queued = common::uint_field(r->root(), "queued_us");
    if (queued && *queued) {
      r_.queued_us.record(**queued);
      r_.queued_at.emplace_back(static_cast<double>(intended_us(i) - t0_) / 1e6,
                                static_cast<double>(**queued) / 1e3);
    }
  } else if (r->state == "failed") {
    ++r_.failed;
  } else if ((r->state == "pending" || r->state == "running") && now < deadline_us_) {
    send_get(r->id, i);  // the long poll ran out before the task finished: ask again
    return;
  } else {
    ++r_.lost;  // unknown, an error reply, or still pending at the deadline
  }
  last_result_us_ = now;
  finish(i);
}

void OpenLoop::send_get(const std::string& id, std::size_t i) {
  uint64_t now = common::now_us();
  uint64_t wait_ms = now < deadline_us_ ? std::max<uint64_t>(1, (deadline_us_ - now) / 1000) : 1;
  std::string body = common::encode_get(id, wait_ms, corr_of(i));
  results_.send(zmq::buffer(body), zmq::send_flags::none);
}

void OpenLoop::finish(std::size_t i) {
  final_[i] = 1;
  ++resolved_;
}

// Sleeps until `until_us` or until either socket may have something to read.
// The ZMQ_FD of a socket signals "look at the socket": drain() read each one
// until EAGAIN before this is called, which is what re-arms it.
void OpenLoop::wait_for_io(uint64_t until_us) {
  uint64_t now = common::now_us();
  if (until_us <= now) return;
  uint64_t us = until_us - now;
  timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>((us % 1'000'000) * 1000)};
  pollfd fds[2] = {{front_fd_, POLLIN, 0}, {results_fd_, POLLIN, 0}};
  (void)ppoll(fds, 2, &ts, nullptr);
}

}  // namespace zfleet::bench
