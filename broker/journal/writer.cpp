#include "broker/journal/writer.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>

#include "broker/broker_log.h"
#include "broker/journal/files.h"
#include "broker/journal/format.h"
#include "broker/journal/segment_file.h"
#include "broker/journal/snapshot.h"
#include "broker/journal/syncer.h"
#include "common/clock.h"
#include "common/fail_loudly.h"
#include "common/frames.h"
#include "common/sockets.h"
#include "common/threads.h"
#include "common/tsan.h"

namespace zfleet::broker::journal {
namespace {

constexpr std::string_view kStopMessage = "STOP";

const char* policy_name(FsyncPolicy p) {
  switch (p) {
    case FsyncPolicy::always: return "always";
    case FsyncPolicy::every_ms: return "every_ms";
    case FsyncPolicy::never: return "never";
  }
  return "?";
}

// The first segment number this writer may create: above every segment and
// above what the snapshot covers, so it never reuses a replayed number.
uint64_t first_free_segment(const WriterOptions& o) {
  auto segments = list_segments(o.directory);
  if (!segments) throw std::runtime_error("journal: " + segments.error());
  uint64_t next = std::max<uint64_t>(o.first_segment, 1);
  if (!segments->empty()) next = std::max(next, segments->back().number + 1);
  if (auto covers = read_snapshot_covers(o.directory)) next = std::max(next, *covers + 1);
  return next;
}

}  // namespace

// Everything the journal thread owns. Only that thread touches it between
// setup() and the end of run().
struct JournalWriter::Loop {
  struct Batch {
    zmq::message_t records;
    uint64_t sequence = 0;
    std::optional<zmq::message_t> ack;
  };

  Loop(zmq::context_t& ctx, const WriterOptions& o, JournalStats& s) : ctx(ctx), opts(o), stats(s) {}

  void setup();
  void run() noexcept;

 private:
  bool take_batches();
  void take_one();
  void commit_group();
  void report_group(uint64_t sequence);
  void sync_now();
  void rotate();
  void finish();
  [[noreturn]] void fatal(const std::string& what) const;
  [[noreturn]] void fatal(const char* what, int err) const;

  zmq::context_t& ctx;
  const WriterOptions& opts;
  JournalStats& stats;
  std::optional<zmq::socket_t> in, out;
  SegmentFile seg;
  std::vector<Batch> group;
  std::vector<iovec> iov;
  common::Message msg;
  std::optional<PeriodicSyncer> syncer;  // fsync: every_ms only
  uint64_t last_sequence = 0;
  bool stopping = false;
};

void JournalWriter::Loop::setup() {
  try {
    make_dirs(opts.directory);
    auto first = SegmentFile::create(opts.directory, first_free_segment(opts));
    if (!first) throw std::runtime_error("journal: " + first.error());
    seg = std::move(*first);
    stats.directory_bytes.store(journal_bytes(opts.directory), kRelaxed);
    in.emplace(common::make_socket(ctx, zmq::socket_type::pull, common::unbounded_options()));
    common::bind_socket(*in, opts.in_endpoint);
    out.emplace(common::make_socket(ctx, zmq::socket_type::push, common::unbounded_options()));
    out->connect(opts.out_endpoint);
  } catch (...) {
    in.reset();  // sockets are closed by the thread that made them
    out.reset();
    throw;
  }
  if (opts.fsync == FsyncPolicy::every_ms) {
    syncer.emplace(opts.every_ms, stats);
    syncer->start();
  }
  stats.current_segment.store(seg.number(), std::memory_order_release);
  log()->info("journal: writing {} (fsync {}, every_ms {}, segments of {} bytes)", seg.path(),
              policy_name(opts.fsync), opts.every_ms, opts.segment_bytes);
}

void JournalWriter::Loop::run() noexcept {
  try {
    while (!stopping) {
      zmq::pollitem_t item{in->handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, std::chrono::milliseconds(-1));
      if (item.revents & ZMQ_POLLIN) take_batches();
      if (!group.empty()) commit_group();
    }
    // STOP has been read: every batch sent before stop() is queued by now.
    bool full;
    do {
      full = take_batches();
      if (!group.empty()) commit_group();
    } while (full);
    finish();
  } catch (const std::exception& e) {
    fatal(std::string("journal thread failed: ") + e.what());
  }
}

// Takes every batch queued now (group commit), up to kMaxGroupBatches.
// Returns true when it stopped at that cap (more may be queued).
bool JournalWriter::Loop::take_batches() {
  while (group.size() < kMaxGroupBatches) {
    if (!common::recv_message(*in, msg, zmq::recv_flags::dontwait)) return false;
    take_one();
  }
  return true;
}

void JournalWriter::Loop::take_one() {
  auto& f = msg.frames;
  if (msg.total_frames == 1 && common::view(f[0]) == kStopMessage) {
    stopping = true;
    return;
  }
  if (msg.total_frames < 2 || msg.total_frames > 3 || f[1].size() != sizeof(uint64_t)) {
    fatal("journal: malformed batch from the producer (" + std::to_string(msg.total_frames) + " frames)");
  }
  Batch b;
  b.sequence = load_le<uint64_t>(static_cast<const char*>(f[1].data()));
  if (b.sequence < last_sequence) {
    fatal("journal: batch sequence went back from " + std::to_string(last_sequence) + " to " +
          std::to_string(b.sequence));
  }
  last_sequence = b.sequence;
  b.records = std::move(f[0]);
  common::tsan_acquire(b.records.data());  // released by send_batch (common/tsan.h)
  if (msg.total_frames == 3) b.ack = std::move(f[2]);
  group.push_back(std::move(b));
}

void JournalWriter::Loop::commit_group() {
  iov.clear();
  uint64_t bytes = 0, records = 0;
  for (auto& b : group) {
    if (b.records.size() == 0) continue;
    iov.push_back({b.records.data(), b.records.size()});
    bytes += b.records.size();
    records += count_records(common::view(b.records));
  }
  if (bytes > 0) {
    if (int err = seg.append(iov, bytes)) fatal("cannot write", err);
    if (opts.fsync == FsyncPolicy::always) sync_now();
    if (syncer) syncer->written(seg.fd());
  }
  stats.records.fetch_add(records, kRelaxed);
  stats.messages.fetch_add(group.size(), kRelaxed);
  stats.groups.fetch_add(1, kRelaxed);
  stats.bytes_written.fetch_add(bytes, kRelaxed);
  stats.directory_bytes.fetch_add(bytes, kRelaxed);
  report_group(group.back().sequence);
  group.clear();
  if (seg.bytes() >= opts.segment_bytes) rotate();
}

void JournalWriter::Loop::report_group(uint64_t sequence) {
  std::string seq;
  append_le<uint64_t>(seq, sequence);
  size_t acks = std::count_if(group.begin(), group.end(), [](const Batch& b) { return b.ack.has_value(); });
  auto more = [&](size_t left) { return left > 0 ? zmq::send_flags::sndmore : zmq::send_flags::none; };
  stats.durable_sequence.store(sequence, kRelaxed);  // before the report: whoever reads it sees it
  // No high-water mark on this PUSH: sends queue, never block or fail.
  if (!out->send(zmq::buffer(seq), more(acks))) fatal("journal: report not queued");
  for (auto& b : group) {
    if (!b.ack) continue;
    if (!out->send(*b.ack, more(--acks))) fatal("journal: report not queued");
  }
}

void JournalWriter::Loop::sync_now() {
  uint64_t begin = common::now_us();
  if (int err = seg.sync_data()) fatal("cannot fdatasync", err);
  uint64_t end = common::now_us();
  stats.record_fsync(end, end - begin);
}

void JournalWriter::Loop::rotate() {
  uint64_t closed = seg.number();
  if (syncer) syncer->detach();
  uint64_t begin = common::now_us();
  if (int err = seg.close_synced()) fatal("cannot fsync", err);
  uint64_t end = common::now_us();
  stats.record_fsync(end, end - begin);
  auto next = SegmentFile::create(opts.directory, closed + 1);
  if (!next) fatal("journal: " + next.error());
  seg = std::move(*next);
  stats.directory_bytes.fetch_add(seg.bytes(), kRelaxed);
  stats.rotations.fetch_add(1, kRelaxed);
  stats.current_segment.store(seg.number(), std::memory_order_release);
  log()->debug("journal: segment {} closed, writing {}", closed, seg.path());
  if (opts.on_rotate) opts.on_rotate(closed);
}

void JournalWriter::Loop::finish() {
  if (syncer) syncer->stop();
  uint64_t begin = common::now_us();
  if (int err = seg.close_synced()) fatal("cannot fsync", err);
  uint64_t end = common::now_us();
  stats.record_fsync(end, end - begin);
  in.reset();
  out.reset();
  log()->info("journal: stopped at sequence {} ({} records written)", last_sequence,
              stats.records.load(kRelaxed));
}

void JournalWriter::Loop::fatal(const std::string& what) const { common::die(log(), what); }

void JournalWriter::Loop::fatal(const char* what, int err) const {
  common::die(log(), std::string("journal: ") + what + " " + seg.path() + ": " + std::strerror(err) +
                         " (a record that cannot be made durable must not be acknowledged)");
}

JournalWriter::JournalWriter(zmq::context_t& ctx, WriterOptions options, JournalStats& stats)
    : ctx_(ctx), options_(std::move(options)), stats_(stats) {}

JournalWriter::~JournalWriter() { stop(); }

void JournalWriter::start() {
  if (thread_.joinable()) return;
  loop_ = std::make_unique<Loop>(ctx_, options_, stats_);
  Loop* loop = loop_.get();
  thread_ = common::start_after_setup(
      "zf-journal", [loop] { loop->setup(); }, [loop] { loop->run(); });
  stop_push_.emplace(common::make_socket(ctx_, zmq::socket_type::push, common::unbounded_options()));
  stop_push_->connect(options_.in_endpoint);
}

void JournalWriter::stop() {
  if (!thread_.joinable()) return;
  stop_push_->send(zmq::buffer(kStopMessage), zmq::send_flags::none);
  thread_.join();
  stop_push_.reset();  // closed after the journal thread has read the STOP
  loop_.reset();
}

// ---- producer helpers ----

zmq::message_t take_string(std::string&& bytes) {
  if (bytes.size() < 256) return zmq::message_t(bytes.data(), bytes.size());
  auto* held = new std::string(std::move(bytes));
  return zmq::message_t(
      held->data(), held->size(),
      [](void* data, void* hint) {
        common::tsan_acquire(data);  // also when freed unread, by libzmq's reaper thread
        delete static_cast<std::string*>(hint);
      },
      held);
}

bool send_batch(zmq::socket_t& push, std::string&& records, uint64_t sequence,
                std::optional<std::string_view> ack) {
  std::string seq;
  append_le<uint64_t>(seq, sequence);
  auto more = zmq::send_flags::sndmore | zmq::send_flags::dontwait;
  zmq::message_t batch = take_string(std::move(records));
  common::tsan_release(batch.data());  // the journal thread reads these bytes
  if (!push.send(batch, more)) return false;
  if (!ack) return push.send(zmq::buffer(seq), zmq::send_flags::dontwait).has_value();
  push.send(zmq::buffer(seq), more);
  push.send(zmq::buffer(*ack), zmq::send_flags::dontwait);
  return true;
}

std::optional<DurableReport> recv_report(zmq::socket_t& pull, zmq::recv_flags flags) {
  zmq::message_t frame;
  if (!pull.recv(frame, flags)) return std::nullopt;
  DurableReport report;
  bool ok = frame.size() == sizeof(uint64_t);
  if (ok) report.sequence = load_le<uint64_t>(static_cast<const char*>(frame.data()));
  bool more = frame.more();
  while (more) {  // the rest of a message is already queued: never blocks
    zmq::message_t part;
    (void)pull.recv(part, zmq::recv_flags::none);
    more = part.more();
    report.acks.push_back(std::move(part));
  }
  if (!ok) return std::nullopt;
  return report;
}

}  // namespace zfleet::broker::journal
