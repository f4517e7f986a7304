// zfleet wait ID... [--timeout-ms N]: long-polls `get` for every id at once
// on one DEALER socket (requests pipelined, replies matched by `corr`), and
// prints each result as one JSON line as soon as its task finishes, so a
// script sees results in the order they come, not the order asked.
//
// Each get parks at the broker for at most kSliceMs (a broker that went away
// is noticed within a slice plus --timeout-ms of the global options, not
// never); a task still pending or running is asked again until N ms have
// passed since the start (no limit without --timeout-ms).
#include <chrono>
#include <deque>
#include <iostream>
#include <unordered_set>

#include "common/msgpack_writer.h"
#include "common/sockets.h"
#include "tools/cli/commands.h"
#include "tools/cli/exit_codes.h"
#include "tools/cli/json_value.h"

namespace zfleet::cli {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr uint64_t kSliceMs = 30000;
// Gets outstanding at once: far under broker.client_hwm (100000) and the
// broker's default max_waiters, whatever the number of ids.
constexpr std::size_t kMaxInFlight = 1000;

class Waiter {
 public:
  Waiter(zmq::context_t& ctx, const Options& o) : o_(o), start_(Clock::now()) {
    common::SocketOptions so;
    so.immediate = true;
    so.curve = o.curve;
    socket_ = common::make_socket(ctx, zmq::socket_type::dealer, so);
    socket_.connect(o.results);
    std::unordered_set<std::string> seen;
    for (const auto& id : o.ids) {
      if (seen.insert(id).second) ids_.push_back(id);
    }
    for (std::size_t i = 0; i < ids_.size(); ++i) todo_.push_back(i);
  }

  int run() {
    while (!todo_.empty() || in_flight_ > 0) {
      if (!send_some()) return no_answer("no broker answering at " + o_.results);
      if (in_flight_ == 0) break;  // every remaining id timed out before it was asked again
      auto reply = receive();
      if (!reply) return std::max(rc_, no_answer(reply.error()));
      handle(*reply);
    }
    if (!timed_out_.empty()) {
      std::cerr << "zfleet: --timeout-ms " << o_.wait_timeout_ms << " passed; still pending or running:";
      for (const auto& id : timed_out_) std::cerr << " " << id;
      std::cerr << "\n";
      rc_ = std::max(rc_, kExitNoAnswer);
    }
    return rc_;
  }

 private:
  // ms left before --timeout-ms passes; nullopt = no limit.
  std::optional<uint64_t> left() const {
    if (o_.wait_timeout_ms == 0) return std::nullopt;
    auto spent = std::chrono::duration_cast<milliseconds>(Clock::now() - start_).count();
    return spent >= int64_t(o_.wait_timeout_ms) ? 0 : o_.wait_timeout_ms - uint64_t(spent);
  }

  // Sends gets for queued ids while fewer than kMaxInFlight are out.
  // Returns false when the socket would not take one within --timeout-ms.
  bool send_some() {
    while (!todo_.empty() && in_flight_ < kMaxInFlight) {
      std::size_t i = todo_.front();
      auto rest = left();
      if (rest && *rest == 0) {
        timed_out_.push_back(ids_[i]);
        todo_.pop_front();
        continue;
      }
      uint64_t wait = rest ? std::min(*rest, kSliceMs) : kSliceMs;
      std::string corr;
      common::MsgpackWriter(corr).u64(i);
      zmq::pollitem_t out[] = {{socket_.handle(), 0, ZMQ_POLLOUT, 0}};
      zmq::poll(out, 1, milliseconds(o_.timeout_ms));
      if (!(out[0].revents & ZMQ_POLLOUT) ||
          !socket_.send(zmq::buffer(common::encode_get(ids_[i], wait, corr)), zmq::send_flags::dontwait))
        return false;
      todo_.pop_front();
      ++in_flight_;
    }
    return true;
  }

  // The next reply; every get out parks at most kSliceMs.
  std::expected<common::Reply, std::string> receive() {
    zmq::pollitem_t in[] = {{socket_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(in, 1, milliseconds(kSliceMs + uint64_t(o_.timeout_ms)));
    if (!(in[0].revents & ZMQ_POLLIN)) return std::unexpected("no reply from " + o_.results + " in time");
    do {  // the body is the last frame
      last_ = zmq::message_t();
      (void)socket_.recv(last_);
    } while (last_.more());
    --in_flight_;
    return common::decode_reply(std::string_view(last_.data<char>(), last_.size()));
  }

  void handle(const common::Reply& r) {
    std::optional<std::size_t> index;
    if (auto corr = common::decode_msgpack(r.corr);
        corr && corr->get().type == msgpack::type::POSITIVE_INTEGER && corr->get().via.u64 < ids_.size())
      index = corr->get().via.u64;
    int code = exit_code_of(r);
    if (code == kExitPending && index) {
      todo_.push_back(*index);  // ask again (or time out in send_some)
      return;
    }
    Json line = msgpack_to_json(r.root());
    line.erase("corr");  // this command's own matching, not part of the result
    std::cout << dump_json(line) << std::endl;  // a line as soon as it is known
    rc_ = std::max(rc_, code);
  }

  const Options& o_;
  Clock::time_point start_;
  zmq::socket_t socket_;
  zmq::message_t last_;  // the reply a Reply points into
  std::vector<std::string> ids_;
  std::deque<std::size_t> todo_;
  std::size_t in_flight_ = 0;
  std::vector<std::string> timed_out_;
  int rc_ = kExitDone;
};

}  // namespace

int do_wait(zmq::context_t& ctx, const Options& o) { return Waiter(ctx, o).run(); }

}  // namespace zfleet::cli
