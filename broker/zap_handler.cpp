#include "broker/zap_handler.h"

#include <zmq.h>

#include <vector>

#include "broker/broker_log.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/threads.h"

namespace zfleet::broker {
namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
constexpr std::size_t kRequestFrames = 6;  // version .. mechanism; credentials follow
constexpr uint64_t kLogEveryUs = 1'000'000;

std::string text(const zmq::message_t& m) { return std::string(static_cast<const char*>(m.data()), m.size()); }

std::string z85_of(const zmq::message_t& key) {
  if (key.size() != 32) return {};
  char out[41];
  if (zmq_z85_encode(out, static_cast<const uint8_t*>(key.data()), 32) == nullptr) return {};
  return out;
}

}  // namespace

void ZapHandler::start() {
  auto setup = [this] {
    socket_ = zmq::socket_t(ctx_, zmq::socket_type::rep);
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind(kZapEndpoint);
  };
  auto body = [this] {
    try {
      loop();
    } catch (const zmq::error_t& e) {
      // A dead ZAP handler would stall every handshake: fail loudly.
      if (e.num() != ETERM) common::die(log(), std::string("ZAP handler stopped: ") + e.what());
    }
    socket_.close();
  };
  thread_ = common::start_after_setup("zf-zap", setup, body);
}

void ZapHandler::join() {
  if (thread_.joinable()) thread_.join();
}

void ZapHandler::loop() {
  std::vector<zmq::message_t> request;
  for (;;) {
    request.clear();
    do {
      request.emplace_back();
      (void)socket_.recv(request.back(), zmq::recv_flags::none);
    } while (request.back().more() && request.size() < 16);
    while (request.back().more()) {  // never more than RFC 27 sends; drop any rest
      zmq::message_t extra;
      (void)socket_.recv(extra, zmq::recv_flags::none);
      if (!extra.more()) break;
    }
    answer(request);
  }
}

// Request: version, request id, domain, address, identity, mechanism,
// credentials (CURVE: the 32-byte public key). Reply: version, request id,
// status code, status text, user id, metadata.
void ZapHandler::answer(std::vector<zmq::message_t>& request) {
  std::string id = request.size() > 1 ? text(request[1]) : std::string();
  std::string status = "400", reason = "refused", user;
  if (request.size() >= kRequestFrames && text(request[0]) == "1.0") {
    std::string domain = text(request[2]), mechanism = text(request[5]);
    std::string key = mechanism == "CURVE" && request.size() > kRequestFrames ? z85_of(request[6]) : std::string();
    auto allowed = allowed_.find(domain);
    if (!key.empty() && allowed != allowed_.end() && allowed->second.count(key) != 0) {
      status = "200";
      reason = "OK";
      user = key;
    } else {
      note_refusal(domain, text(request[3]), key.empty() ? mechanism : key);
    }
  } else {
    note_refusal("?", "?", "malformed ZAP request");
  }
  const std::string parts[] = {"1.0", id, status, reason, user, ""};
  for (std::size_t i = 0; i < 6; ++i) {
    socket_.send(zmq::buffer(parts[i]), i < 5 ? zmq::send_flags::sndmore : zmq::send_flags::none);
  }
}

void ZapHandler::note_refusal(const std::string& domain, const std::string& address, const std::string& key) {
  refused_.fetch_add(1, std::memory_order_relaxed);
  uint64_t now = common::now_us();
  if (now < last_log_us_ + kLogEveryUs) {
    ++unlogged_;
    return;
  }
  log()->warn("refused a connection to the {} endpoint from {} (key {}){}", domain, address, key,
              unlogged_ > 0 ? " and " + std::to_string(unlogged_) + " more since the last report" : "");
  last_log_us_ = now;
  unlogged_ = 0;
}

}  // namespace zfleet::broker
