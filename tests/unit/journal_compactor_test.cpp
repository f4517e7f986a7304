// Unit tests of broker/journal/compactor: snapshot + closed segments folded
// into a new snapshot, covered segments deleted, the thresholds, crash
// safety around the rename, bounded size over a long run of overwrites,
// the background thread next to a live writer, and failures that change
// nothing.
#include "journal_test_support.h"

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include <spdlog/fmt/fmt.h>

#include "broker/journal/compactor.h"
#include "broker/journal/snapshot.h"

using State = std::map<std::string, std::string>;

namespace {

jt::j::CompactorOptions compactor_options(const std::string& dir, uint64_t first_open, uint64_t min_bytes) {
  jt::j::CompactorOptions o;
  o.directory = dir;
  o.make_fold = jt::map_fold_factory();
  o.first_open = [first_open] { return first_open; };
  o.min_bytes = min_bytes;
  return o;
}

// Hand-made journal: `segments` closed segments of `per_segment` records
// (overwrites over a few keys), plus an open segment after them.
struct HandJournal {
  jt::TempDir dir;
  State model;
  uint64_t open_segment;
  HandJournal(uint64_t segments, int per_segment) : open_segment(segments + 1) {
    int n = 0;
    for (uint64_t s = 1; s <= segments + 1; ++s) {
      std::string recs;
      for (int i = 0; i < per_segment; ++i, ++n) {
        std::string k = fmt::format("k{}", n % 7), v = n % 5 == 4 ? "" : fmt::format("v{}", n);
        recs += jt::kv(k, v);
        if (v.empty()) model.erase(k); else model[k] = v;
      }
      jt::write_segment(dir, s, recs);
    }
  }
  std::string seg(uint64_t n) const { return dir / jt::j::segment_name(n); }
};

}  // namespace

TEST_SUITE("journal_compactor") {
  TEST_CASE("closed segments fold into a snapshot; covered segments go; the open one is untouched") {
    HandJournal j(4, 30);
    std::string open_bytes = jt::read_bytes(j.seg(5));
    jt::j::JournalStats stats;
    stats.directory_bytes = jt::j::journal_bytes(j.dir.path());
    jt::j::Compactor c(compactor_options(j.dir.path(), j.open_segment, 1), stats);
    CHECK(c.run_once());
    for (uint64_t s = 1; s <= 4; ++s) CHECK_FALSE(jt::fs::exists(j.seg(s)));
    CHECK(jt::read_bytes(j.seg(5)) == open_bytes);
    CHECK(jt::j::read_snapshot_covers(j.dir.path()) == 4u);
    CHECK(stats.compactions == 1);
    CHECK(stats.segments_deleted == 4);
    CHECK(stats.last_snapshot_bytes == jt::fs::file_size(j.dir / "snapshot.zfj"));
    CHECK(stats.directory_bytes == jt::j::journal_bytes(j.dir.path()));
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(j.dir.path(), &r) == j.model);
    CHECK(r.segments_replayed == 1);
    CHECK(r.snapshot_records == stats.last_snapshot_records);
    CHECK_FALSE(c.run_once());  // nothing closed left
  }

  TEST_CASE("thresholds: over min_bytes, then over twice the last snapshot's size") {
    jt::TempDir dir;
    State model;
    std::string seg1;
    for (int i = 0; i < 100; ++i) {
      std::string k = fmt::format("key{}", i), v = fmt::format("{:0>20}", i);
      seg1 += jt::kv(k, v);
      model[k] = v;
    }
    uint64_t closed = jt::fs::file_size(jt::write_segment(dir, 1, seg1));
    jt::j::JournalStats stats;
    {
      jt::j::Compactor c(compactor_options(dir.path(), 2, closed), stats);
      CHECK_FALSE(c.run_once());  // exactly min_bytes: not over it
    }
    {
      jt::j::Compactor c(compactor_options(dir.path(), 2, closed - 1), stats);
      REQUIRE(c.run_once());
    }
    uint64_t snap = jt::fs::file_size(dir / "snapshot.zfj");
    std::string rec = jt::kv("key0", "x");
    std::string small;  // a segment of `small` is at most the snapshot's size
    while (16 + small.size() + rec.size() <= snap) small += rec;
    model["key0"].assign(1, 'x');
    jt::write_segment(dir, 2, small);
    jt::write_segment(dir, 3, "");
    jt::j::Compactor c(compactor_options(dir.path(), 4, 1), stats);
    CHECK_FALSE(c.run_once());  // closed <= snap + 16 <= 2 x snap
    jt::write_segment(dir, 3, small + small);
    CHECK(c.run_once());  // closed about 3 x snap
    CHECK(jt::j::read_snapshot_covers(dir.path()) == 3u);
    CHECK(stats.compactions == 2);
    CHECK(jt::replay_state(dir.path()) == model);
  }

  TEST_CASE("crash between rename and delete: replay skips the covered segments, the next pass deletes them") {
    HandJournal j(4, 25);
    std::map<uint64_t, std::string> before;
    for (uint64_t s = 1; s <= 4; ++s) before[s] = jt::read_bytes(j.seg(s));
    jt::j::JournalStats stats;
    jt::j::Compactor c(compactor_options(j.dir.path(), j.open_segment, 1), stats);
    REQUIRE(c.run_once());
    for (const auto& [s, bytes] : before) jt::write_bytes(j.seg(s), bytes);  // as if never deleted
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(j.dir.path(), &r) == j.model);
    CHECK(r.segments_skipped == 4);
    CHECK(r.next_segment == 6);
    CHECK_FALSE(c.run_once());
    for (uint64_t s = 1; s <= 4; ++s) CHECK_FALSE(jt::fs::exists(j.seg(s)));
    CHECK(jt::replay_state(j.dir.path()) == j.model);
  }

  TEST_CASE("crash before the rename: the old snapshot and every segment still hold") {
    HandJournal j(4, 25);
    jt::j::JournalStats stats;
    jt::j::Compactor c(compactor_options(j.dir.path(), 3, 1), stats);
    REQUIRE(c.run_once());  // a first snapshot, covering 1..2
    std::string old_snapshot = jt::read_bytes(j.dir / "snapshot.zfj");
    std::string seg3 = jt::read_bytes(j.seg(3)), seg4 = jt::read_bytes(j.seg(4));
    jt::j::Compactor c2(compactor_options(j.dir.path(), 5, 1), stats);
    REQUIRE(c2.run_once());
    // Put back the state before the rename, with the new snapshot as a tmp file.
    jt::fs::rename(j.dir / "snapshot.zfj", j.dir / "snapshot.zfj.tmp");
    jt::write_bytes(j.dir / "snapshot.zfj", old_snapshot);
    jt::write_bytes(j.seg(3), seg3);
    jt::write_bytes(j.seg(4), seg4);
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(j.dir.path(), &r) == j.model);
    CHECK(r.snapshot_covers == 2u);
    CHECK(r.segments_replayed == 3);
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj.tmp"));
  }

  TEST_CASE("journal size stays bounded over a long run of overwrites through a live writer") {
    jt::TempDir dir;
    jt::j::WriterOptions wo;
    wo.directory = dir / "journal";
    wo.fsync = jt::j::FsyncPolicy::never;
    wo.segment_bytes = 4096;
    State model;
    std::mt19937 rng(7);
    uint64_t max_bytes = 0, written = 0;
    {
      jt::WriterRig rig(wo);
      jt::j::CompactorOptions co = compactor_options(wo.directory, 0, 8192);
      co.first_open = [&rig] { return rig.writer->current_segment(); };
      jt::j::Compactor c(co, rig.stats);
      for (int round = 0; round < 400; ++round) {
        for (int i = 0; i < 50; ++i) {
          std::string k = fmt::format("key{}", rng() % 100);
          std::string v = rng() % 10 == 0 ? "" : fmt::format("{:0>100}", rng());
          if (v.empty()) model.erase(k); else model[k] = v;
          rig.send(jt::kv(k, v));
        }
        rig.wait_for(rig.next_seq);
        c.run_once();
        max_bytes = std::max(max_bytes, jt::j::journal_bytes(wo.directory));
      }
      written = rig.stats.bytes_written;
      CHECK(rig.stats.compactions > 10);
      CHECK(rig.stats.compaction_failures == 0);
      rig.stop();
      CHECK(rig.stats.directory_bytes == jt::j::journal_bytes(wo.directory));
    }
    MESSAGE(fmt::format("{} bytes written, journal at most {} bytes", written, max_bytes));
    CHECK(written > 2'000'000);
    CHECK(max_bytes < 80'000);
    CHECK(jt::replay_state(wo.directory) == model);
  }

  TEST_CASE("the compaction thread works next to a live writer, woken by rotations") {
    jt::TempDir dir;
    jt::j::WriterOptions wo;
    wo.directory = dir / "journal";
    wo.fsync = jt::j::FsyncPolicy::every_ms;
    wo.every_ms = 2;
    wo.segment_bytes = 2048;
    std::atomic<jt::j::Compactor*> compactor{nullptr};
    wo.on_rotate = [&compactor](uint64_t) {
      if (auto* c = compactor.load()) c->request();
    };
    State model;
    {
      jt::WriterRig rig(wo);
      jt::j::CompactorOptions co = compactor_options(wo.directory, 0, 4096);
      co.first_open = [&rig] { return rig.writer->current_segment(); };
      co.check_ms = 20;
      jt::j::Compactor c(co, rig.stats);
      c.start();
      compactor = &c;
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      for (int i = 0; rig.stats.compactions < 3 && std::chrono::steady_clock::now() < deadline; ++i) {
        std::string k = fmt::format("k{}", i % 50), v = fmt::format("{:0>60}", i);
        model[k] = v;
        rig.send(jt::kv(k, v));
        if (i % 100 == 99) rig.wait_for(rig.next_seq);
      }
      rig.wait_for(rig.next_seq);
      compactor = nullptr;
      c.stop();
      rig.stop();
      CHECK(rig.stats.compactions >= 3);
      CHECK(rig.stats.compaction_failures == 0);
    }
    CHECK(jt::replay_state(wo.directory) == model);
  }

  TEST_CASE("damage in a closed segment: nothing changes, compaction stays off") {
    HandJournal j(3, 20);
    std::string bytes = jt::read_bytes(j.seg(2));
    bytes[40] ^= 0x01;
    jt::write_bytes(j.seg(2), bytes);
    jt::j::JournalStats stats;
    jt::j::Compactor c(compactor_options(j.dir.path(), j.open_segment, 1), stats);
    CHECK_FALSE(c.run_once());
    CHECK_FALSE(c.run_once());
    CHECK(stats.compaction_failures == 1);
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj"));
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj.tmp"));
    for (uint64_t s = 1; s <= 4; ++s) CHECK(jt::fs::exists(j.seg(s)));
  }

  TEST_CASE("a fold that throws or emits the reserved type fails the pass; the next pass retries") {
    HandJournal j(2, 10);
    struct BadFold : jt::MapFold {
      bool reserved = false;
      void write_snapshot(const jt::j::EmitRecord& emit) override {
        if (reserved) emit(0, "x");
        else throw std::runtime_error("fold failed");
      }
    };
    int calls = 0;
    jt::j::JournalStats stats;
    auto o = compactor_options(j.dir.path(), j.open_segment, 1);
    o.make_fold = [&calls]() -> std::unique_ptr<jt::j::Fold> {
      if (++calls == 3) return std::make_unique<jt::MapFold>();
      auto f = std::make_unique<BadFold>();
      f->reserved = calls == 2;
      return f;
    };
    jt::j::Compactor c(o, stats);
    CHECK_FALSE(c.run_once());
    CHECK_FALSE(c.run_once());
    CHECK(stats.compaction_failures == 2);
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj"));
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj.tmp"));
    CHECK(c.run_once());
    CHECK(jt::replay_state(j.dir.path()) == j.model);
  }
}
