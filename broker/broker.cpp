#include "broker/broker_log.h"
#include "broker/broker.h"

#include <signal.h>

#include <memory>
#include <vector>

#include "broker/dispatcher.h"
#include "broker/handoff.h"
#include "broker/inline_clients.h"
#include "broker/intake_thread.h"
#include "broker/journal_service.h"
#include "broker/metrics_server.h"
#include "broker/metrics_text.h"
#include "broker/result_thread.h"
#include "broker/router_proxy.h"
#include "broker/pool_scaler.h"
#include "broker/supervisor.h"
#include "broker/zap_handler.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/sockets.h"

namespace zfleet::broker {
namespace {

// Waits up to `ms` (< 0: for ever) for a signal of `set` (SIGINT, SIGTERM,
// SIGCHLD); returns it, or 0.
int wait_signal(const sigset_t& set, long ms) {
  if (ms < 0) {
    int sig = sigwaitinfo(&set, nullptr);
    return sig > 0 ? sig : 0;
  }
  timespec ts{ms / 1000, (ms % 1000) * 1'000'000};
  int sig = sigtimedwait(&set, nullptr, &ts);
  return sig > 0 ? sig : 0;
}

bool stop_signal(int sig) { return sig == SIGINT || sig == SIGTERM; }

// Until the supervisor's or the scaler's next timed work, in ms for wait_signal.
long until_due(const Supervisor& supervisor, const PoolScaler& scaler) {
  const uint64_t due = std::min(supervisor.next_due_us(), scaler.next_due_us()), now = common::now_us();
  if (due == UINT64_MAX) return -1;
  return due > now ? static_cast<long>((due - now + 999) / 1000) : 0;
}

uint64_t outstanding(const Metrics& m) {
  const auto t = m.totals();
  return t.running + t.queue_depth;
}

}  // namespace

int Broker::run() {
  // Signals are taken synchronously by this thread only: block them before
  // any other thread exists, so every thread inherits the mask.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  // A local worker's exit wakes the main thread (the supervisor), instead
  // of a poll every 100 ms.
  sigaddset(&sigs, SIGCHLD);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);

  BrokerState st(cfg_);
  return serve(st, sigs);
}

namespace {

// Every serving thread of the broker, started in dependency order and
// stopped in reverse. One thread serving an endpoint owns its public ROUTER
// (no proxy hop); several share it through a RouterProxy (client_socket.h).
struct ServingThreads {
  std::vector<std::unique_ptr<ResultThread>> results;
  std::unique_ptr<Dispatcher> dispatcher;
  std::vector<std::unique_ptr<IntakeThread>> intake;
  std::unique_ptr<RouterProxy> frontend, results_proxy;

  std::unique_ptr<JournalService> journal;
  std::unique_ptr<ZapHandler> zap;

  void start(BrokerState& st) {
    const auto& b = st.config.broker;
    if (st.keys) {
      // Before any CURVE socket binds: with no ZAP handler, libzmq would
      // let every client key in.
      zap = std::make_unique<ZapHandler>(st.ctx, st.keys->allowed);
      zap->start();
      const auto& a = st.keys->allowed;
      log()->info("security: CURVE on every endpoint; {} producer, {} client and {} worker key(s) allowed",
                  a.at("frontend").size(), a.at("results").size(), a.at("backend").size());
    }
    RecoveryState::Restored restored;
    if (b.journal.enabled()) {
      // Replayed before any thread serves: what was acknowledged before a
      // crash is back in the tables before the first request is read.
      journal = std::make_unique<JournalService>(st);
      restored = journal->recover();
      journal->start();
    }
    const PublicEndpoint front_pub = frontend_endpoint(st), results_pub = results_endpoint(st);
    auto direct = [](int threads, const PublicEndpoint& pub) {
      return threads == 1 ? std::optional<PublicEndpoint>(pub) : std::nullopt;
    };
    // With one intake and one result thread the dispatcher serves both
    // endpoints itself (inline_clients.h).
    const bool separate = !serves_clients_inline(b);
    // Result threads bind the notice endpoints the dispatcher connects to;
    // the frontend is bound last, once tasks can be dispatched.
    for (int i = 0; i < b.result_threads && separate; ++i) {
      results.push_back(std::make_unique<ResultThread>(st, static_cast<unsigned>(i),
                                                       direct(b.result_threads, results_pub)));
      results.back()->start();
    }
    dispatcher = std::make_unique<Dispatcher>(st);
    dispatcher->adopt(std::move(restored.tasks), std::move(restored.runs));
    dispatcher->start();
    for (int i = 0; i < b.queue_threads && separate; ++i) {
      intake.push_back(std::make_unique<IntakeThread>(st, static_cast<unsigned>(i),
                                                      direct(b.queue_threads, front_pub)));
      intake.back()->start();
    }
    if (b.result_threads > 1) {
      results_proxy = std::make_unique<RouterProxy>(
          st.ctx, ProxyOptions{results_pub, kResultsWorkers}, st.metrics.replies_dropped);
      results_proxy->start();
    }
    if (b.queue_threads > 1) {
      frontend = std::make_unique<RouterProxy>(st.ctx, ProxyOptions{front_pub, kFrontendWorkers},
                                               st.metrics.replies_dropped);
      frontend->start();
    }
  }

  // After the dispatcher has been told to STOP.
  void join(BrokerState& st) {
    dispatcher->join();
    if (journal) journal->stop();  // after the dispatcher's last batch
    // Result threads leave once they have answered every parked request
    // after the dispatcher's last (stopping) notice; their replies are sent
    // before the context shuts down, not cut off by it.
    for (auto& t : results) t->join();
    if (results_proxy) results_proxy->finish();
    st.ctx.shutdown();  // every other thread's blocking call returns ETERM
    if (frontend) frontend->join();
    for (auto& t : intake) t->join();
    if (zap) zap->join();
  }
};

// The drain of DESIGN decision 7: refuse new tasks, let the dispatcher finish
// what is queued and running, up to drain_timeout_ms or a second signal.
void drain(BrokerState& st, const sigset_t& sigs, Supervisor& supervisor,
           zmq::socket_t& control) {
  st.draining = true;
  control.send(zmq::buffer(kDrainCommand), zmq::send_flags::dontwait);
  uint64_t deadline = common::now_us() + st.config.broker.drain_timeout_ms * 1000;
  while (outstanding(st.metrics) > 0 && common::now_us() < deadline) {
    if (stop_signal(wait_signal(sigs, 20))) {
      log()->warn("second signal: stopping now");
      break;
    }
    supervisor.poll(common::now_us());
  }
  if (uint64_t left = outstanding(st.metrics)) log()->warn("stopping with {} tasks unfinished", left);
}

}  // namespace

int Broker::serve(BrokerState& st, const sigset_t& sigs) {
  const auto& b = cfg_.broker;
  ServingThreads threads;
  // Declared after the threads, so destroyed before them: when a bind fails
  // part-way, it shuts the context down so the threads already running stop
  // and can be joined, instead of the broker hanging at start.
  struct ShutdownOnThrow {
    zmq::context_t& ctx;
    ~ShutdownOnThrow() {
      if (std::uncaught_exceptions() > 0) ctx.shutdown();
    }
  } guard{st.ctx};
  // First: a metrics address in use stops the start before any endpoint
  // is bound. It serves until the end, through the drain.
  std::unique_ptr<MetricsServer> metrics;
  if (!b.metrics.empty()) {
    metrics = std::make_unique<MetricsServer>(b.metrics, [&st] { return render_metrics(st, common::now_us()); });
  }
  threads.start(st);
  log()->info("zfleet-broker {} serving: frontend {}, results {}, backend {}, status {}",
              common::kVersion, b.frontend, b.results, b.backend, b.status);

  // The main thread's PUSH to the dispatcher: scale-downs (RETIRE, KEEP),
  // then DRAIN and STOP at the end.
  zmq::socket_t control = common::make_socket(st.ctx, zmq::socket_type::push, {});
  control.connect(kControlEndpoint);
  Supervisor supervisor(cfg_, opts_.worker_bin, &st.local_board,
                        st.keys ? st.keys->server.public_z85 : std::string());
  PoolScaler scaler(st, supervisor, [&control](bool retire, int64_t pid) {
    auto frames = encode_retire(retire, pid);
    common::send_frames(control, frames);
  });
  supervisor.start_all();
  int sig = 0;
  while (!stop_signal(sig = wait_signal(sigs, until_due(supervisor, scaler)))) {
    const uint64_t now = common::now_us();
    supervisor.poll(now);
    scaler.tick(now);
  }

  log()->info("signal {}: draining (new tasks refused, up to {} ms for running ones)", sig,
              b.drain_timeout_ms);
  drain(st, sigs, supervisor, control);
  supervisor.stop_all(3000);
  control.send(zmq::buffer(kStopCommand), zmq::send_flags::dontwait);
  threads.join(st);  // (control stays open until the dispatcher has read STOP)
  control.close();
  log()->info("stopped");
  return 0;
}

}  // namespace zfleet::broker
