// Unit tests of broker/journal/writer: batches in over a real inproc PUSH,
// durability reports out over a real PULL; group commit under `always`,
// the other policies (every_ms: its sync thread), rotation at segment_bytes, numbering of new segments,
// and stop() draining what was sent.
#include "journal_test_support.h"

#include <thread>

#include <spdlog/fmt/fmt.h>

using jt::j::FsyncPolicy;

namespace {

jt::j::WriterOptions options(const jt::TempDir& dir, FsyncPolicy policy) {
  jt::j::WriterOptions o;
  o.directory = dir / "journal";
  o.fsync = policy;
  return o;
}

std::string ack_of(uint64_t seq) { return fmt::format("ack-{}", seq); }

// Checks reports are in order and carry every ack exactly once, in order.
void check_reports(const std::vector<jt::j::DurableReport>& reports, uint64_t first, uint64_t last) {
  uint64_t prev = 0, expect = first;
  bool ordered = true, acks_right = true;
  for (const auto& r : reports) {
    ordered = ordered && r.sequence > prev;
    prev = r.sequence;
    for (const auto& a : r.acks) acks_right = acks_right && zfleet::common::view(a) == ack_of(expect++);
    acks_right = acks_right && expect == r.sequence + 1;  // the report covers its last batch
  }
  CHECK(ordered);
  CHECK(acks_right);
  CHECK(expect == last + 1);
  CHECK(prev == last);
}

}  // namespace

TEST_SUITE("journal_writer") {
  TEST_CASE("one batch: written, synced, reported with its ack; replay reads it") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::always);
    {
      jt::WriterRig rig(o);
      CHECK(jt::fs::is_directory(o.directory));  // created with its parents
      CHECK(rig.writer->current_segment() == 1);
      uint64_t seq = rig.send(jt::kv("a", "1") + jt::kv("b", "2"), ack_of(1));
      auto r = rig.report();
      REQUIRE(r.has_value());
      CHECK(r->sequence == seq);
      REQUIRE(r->acks.size() == 1);
      CHECK(zfleet::common::view(r->acks[0]) == "ack-1");
      CHECK(rig.stats.records == 2);
      CHECK(rig.stats.groups == 1);
      CHECK(rig.stats.fsyncs >= 1);
      CHECK(rig.stats.durable_sequence == seq);
      CHECK(rig.stats.last_fsync_at_us > 0);
      CHECK(rig.stats.fsync_latency.count() == rig.stats.fsyncs);
      CHECK(rig.stats.directory_bytes == jt::j::journal_bytes(o.directory));
    }
    CHECK(jt::replay_state(o.directory) == std::map<std::string, std::string>{{"a", "1"}, {"b", "2"}});
  }

  TEST_CASE("always: many batches sent at once share few fsyncs; reports are monotonic and cover all") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::always);
    constexpr uint64_t kBatches = 3000;
    jt::WriterRig rig(o);
    for (uint64_t i = 1; i <= kBatches; ++i) rig.send(jt::kv(fmt::format("k{}", i % 100), std::string(150, 'v')), ack_of(i));
    auto reports = rig.wait_for(kBatches);
    check_reports(reports, 1, kBatches);
    CHECK(rig.stats.messages == kBatches);
    CHECK(rig.stats.records == kBatches);
    CHECK(rig.stats.groups == reports.size());
    CHECK(rig.stats.groups < kBatches);
    CHECK(rig.stats.fsyncs < kBatches);
    MESSAGE(fmt::format("{} batches in {} groups, {} fsyncs", kBatches, rig.stats.groups.load(), rig.stats.fsyncs.load()));
  }

  TEST_CASE("every_ms and never: reported at write, everything durable after stop") {
    for (FsyncPolicy p : {FsyncPolicy::every_ms, FsyncPolicy::never}) {
      CAPTURE(static_cast<int>(p));
      jt::TempDir dir;
      auto o = options(dir, p);
      o.every_ms = 5;
      std::map<std::string, std::string> model;
      {
        jt::WriterRig rig(o);
        for (uint64_t i = 1; i <= 500; ++i) {
          std::string k = fmt::format("k{}", i % 37), v = std::to_string(i);
          model[k] = v;
          rig.send(jt::kv(k, v), ack_of(i));
        }
        check_reports(rig.wait_for(500), 1, 500);
        rig.stop();
        if (p == FsyncPolicy::never) CHECK(rig.stats.fsyncs == 1);  // the one at stop
        CHECK(rig.stats.fsyncs <= rig.stats.groups + 1);
      }
      CHECK(jt::replay_state(o.directory) == model);
    }
  }

  TEST_CASE("every_ms: the sync thread syncs unsynced bytes on its own, and never while clean") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::every_ms);
    o.every_ms = 20;
    jt::WriterRig rig(o);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(rig.stats.fsyncs == 0);  // nothing written: nothing to sync
    rig.send(jt::kv("a", "1"), ack_of(1));
    check_reports(rig.wait_for(1), 1, 1);
    // No more writes: only the sync thread can make this sync happen.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (rig.stats.fsyncs == 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    CHECK(rig.stats.fsyncs == 1);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    CHECK(rig.stats.fsyncs == 1);  // clean again: no sync until the next write
  }

  TEST_CASE("every_ms: rotations while the sync thread runs; every record replays") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::every_ms);
    o.every_ms = 1;
    o.segment_bytes = 4096;
    std::map<std::string, std::string> model;
    {
      jt::WriterRig rig(o);
      for (uint64_t i = 1; i <= 400; ++i) {
        std::string k = fmt::format("k{}", i % 50), v = fmt::format("{}{}", i, std::string(100, '.'));
        model[k] = v;
        rig.send(jt::kv(k, v), ack_of(i));
        if (i % 10 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      check_reports(rig.wait_for(400), 1, 400);
      rig.stop();
      CHECK(rig.stats.rotations > 5);
      CHECK(rig.stats.fsyncs > rig.stats.rotations);  // the sync thread's, besides rotations'
    }
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(o.directory, &r) == model);
    CHECK_FALSE(r.damaged);
  }

  TEST_CASE("batches without records or without an ack are reported too") {
    jt::TempDir dir;
    jt::WriterRig rig(options(dir, FsyncPolicy::always));
    rig.send("", std::string("only-ack"));
    rig.send(jt::kv("a", "1"));
    auto reports = rig.wait_for(2);
    size_t acks = 0;
    for (const auto& r : reports) acks += r.acks.size();
    CHECK(acks == 1);
    CHECK(reports.back().sequence == 2);
    CHECK(rig.stats.records == 1);
  }

  TEST_CASE("rotation at segment_bytes: closed segments, on_rotate, replay in order") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::never);
    o.segment_bytes = 4096;
    std::vector<uint64_t> rotated;  // journal thread writes, read after stop
    o.on_rotate = [&rotated](uint64_t closed) { rotated.push_back(closed); };
    std::string batch;
    {
      jt::WriterRig rig(o);
      for (int i = 0; i < 200; ++i) {
        rig.send(jt::kv("k", fmt::format("{}{}", i, std::string(150, '.'))));
        rig.wait_for(rig.next_seq);  // one batch per group: segments end near 4096 bytes
      }
      rig.stop();
      auto segments = jt::j::list_segments(o.directory);
      REQUIRE(segments.has_value());
      REQUIRE(segments->size() > 5);
      CHECK(rig.stats.rotations == segments->size() - 1);
      CHECK(rig.writer->current_segment() == segments->back().number);
      for (size_t i = 0; i + 1 < segments->size(); ++i) {
        CHECK((*segments)[i].number == i + 1);
        CHECK((*segments)[i].bytes >= 4096);
        CHECK((*segments)[i].bytes < 4096 + 200);
      }
      CHECK(rotated.size() == segments->size() - 1);
      for (size_t i = 0; i < rotated.size(); ++i) CHECK(rotated[i] == i + 1);
    }
    jt::j::ReplayReport r;
    auto state = jt::replay_state(o.directory, &r);
    CHECK(state.at("k") == fmt::format("199{}", std::string(150, '.')));
    CHECK(r.records_applied == 200);
    CHECK_FALSE(r.damaged);
  }

  TEST_CASE("a new writer never reuses a segment number: after the last segment and the snapshot's covers") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::always);
    jt::fs::create_directories(o.directory);
    jt::write_bytes(jt::j::join_path(o.directory, jt::j::segment_name(7)), "");
    {
      jt::WriterRig rig(o);
      CHECK(rig.writer->current_segment() == 8);
    }
    o.first_segment = 20;
    {
      jt::WriterRig rig(o);
      CHECK(rig.writer->current_segment() == 20);
    }
    {
      jt::WriterRig rig(o);
      CHECK(rig.writer->current_segment() == 21);
    }
  }

  TEST_CASE("stop() writes and reports every batch sent before it") {
    jt::TempDir dir;
    auto o = options(dir, FsyncPolicy::always);
    constexpr uint64_t kBatches = 1000;
    std::map<std::string, std::string> model;
    {
      jt::WriterRig rig(o);
      for (uint64_t i = 1; i <= kBatches; ++i) {
        std::string key = fmt::format("k{}", i);
        model.emplace(key, "v");
        rig.send(jt::kv(key, "v"), ack_of(i));
      }
      rig.stop();
      std::vector<jt::j::DurableReport> reports;
      while (auto r = rig.report(0)) reports.push_back(std::move(*r));
      check_reports(reports, 1, kBatches);
    }
    CHECK(jt::replay_state(o.directory) == model);
  }

  TEST_CASE("start() fails loudly when the directory cannot be made") {
    jt::TempDir dir;
    jt::write_bytes(dir / "file", "x");
    jt::j::WriterOptions o;
    o.directory = dir / "file/journal";
    zmq::context_t ctx;
    jt::j::JournalStats stats;
    jt::j::JournalWriter w(ctx, o, stats);
    CHECK_THROWS(w.start());
  }
}
