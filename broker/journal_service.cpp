#include "broker/broker_log.h"
#include "broker/journal_service.h"

#include "broker/handoff.h"
#include "common/clock.h"

namespace zfleet::broker {
namespace {

journal::FsyncPolicy policy_of(const std::string& name) {
  if (name == "every_ms") return journal::FsyncPolicy::every_ms;
  if (name == "never") return journal::FsyncPolicy::never;
  return journal::FsyncPolicy::always;
}

}  // namespace

JournalService::JournalService(BrokerState& st) : st_(st) {}

JournalService::~JournalService() { stop(); }

RecoveryLimits JournalService::limits() const {
  const auto& c = st_.config.cache;
  return RecoveryLimits{c.ttl_s * 1000, c.max_entries, c.max_bytes};
}

RecoveryState::Restored JournalService::recover() {
  const auto& j = st_.config.broker.journal;
  RecoveryFold fold(limits());
  report_ = journal::replay(j.path, fold);  // logs what it found, damage included
  const uint64_t now = common::now_us();
  RecoveryState::Restored out = fold.state.restore(st_, now, common::wall_ms());
  log()->info("journal: restored {} tasks and {} results ({} results past their TTL dropped, "
              "{} undecodable records) in {} ms",
              out.tasks.size(), out.results, out.expired, fold.state.undecodable(),
              (common::now_us() - now + report_.elapsed_us) / 1000);
  auto& s = st_.journal.at_start;
  s.path = j.path;
  s.fsync = j.fsync;
  s.replayed_records = report_.records_applied;
  s.replay_ms = report_.elapsed_us / 1000;
  s.restored_tasks = out.tasks.size();
  s.restored_results = out.results;
  if (report_.damaged) s.damage = report_.summary();
  st_.journal.stats = &stats_;
  return out;
}

void JournalService::start() {
  const auto& j = st_.config.broker.journal;
  journal::CompactorOptions c;
  c.directory = j.path;
  c.make_fold = [limits = limits()] { return std::make_unique<RecoveryFold>(limits); };
  // Segments below the writer's open one are closed: the compactor's to fold.
  c.first_open = [this] { return writer_ ? writer_->current_segment() : 0; };
  compactor_ = std::make_unique<journal::Compactor>(std::move(c), stats_);
  journal::WriterOptions w;
  w.directory = j.path;
  w.fsync = policy_of(j.fsync);
  w.every_ms = static_cast<uint32_t>(j.every_ms);
  w.in_endpoint = kJournalIn;
  w.out_endpoint = kJournalDurable;
  w.first_segment = report_.next_segment;
  w.on_rotate = [this](uint64_t) { compactor_->request(); };
  writer_ = std::make_unique<journal::JournalWriter>(st_.ctx, std::move(w), stats_);
  writer_->start();
  compactor_->start();
}

void JournalService::stop() {
  if (writer_) writer_->stop();
  if (compactor_) compactor_->stop();
  writer_.reset();
  compactor_.reset();
}

}  // namespace zfleet::broker
