// Unit tests of broker/journal/reader (replay): a clean journal, and every
// kind of damage (torn tail at every offset, flipped bytes, bad header,
// zero-length and garbage segments, damaged snapshot): the valid prefix is
// applied, the rest moved aside, the report says so, and a later writer and
// replay carry on from the same state.
#include "journal_test_support.h"

#include "broker/journal/snapshot.h"

using jt::j::StopReason;

namespace {

// Three segments: a=1 b=2 | c=3 a=4 | d=5 e=6 (segment 2's second record
// and segment 3 come after the damage in most cases below).
struct ThreeSegments {
  jt::TempDir dir;
  std::string rec_c = jt::kv("c", "3"), rec_a4 = jt::kv("a", std::string(40, '4'));
  std::string seg1, seg2, seg3;
  ThreeSegments() {
    seg1 = jt::write_segment(dir, 1, jt::kv("a", "1") + jt::kv("b", "2"));
    seg2 = jt::write_segment(dir, 2, rec_c + rec_a4);
    seg3 = jt::write_segment(dir, 3, jt::kv("d", "5") + jt::kv("e", "6"));
  }
  std::string corrupt() const { return dir / "corrupt"; }
};

using State = std::map<std::string, std::string>;

}  // namespace

TEST_SUITE("journal_replay") {
  TEST_CASE("a clean journal replays every record in segment order") {
    ThreeSegments j;
    jt::j::ReplayReport r;
    State s = jt::replay_state(j.dir.path(), &r);
    CHECK(s == State{{"a", std::string(40, '4')}, {"b", "2"}, {"c", "3"}, {"d", "5"}, {"e", "6"}});
    CHECK_FALSE(r.damaged);
    CHECK(r.records_applied == 6);
    CHECK(r.segments_replayed == 3);
    CHECK(r.bytes_read == jt::fs::file_size(j.seg1) + jt::fs::file_size(j.seg2) + jt::fs::file_size(j.seg3));
    CHECK(r.next_segment == 4);
    CHECK(r.moved_aside.empty());
    CHECK_FALSE(jt::fs::exists(j.corrupt()));
    CHECK(r.summary().find("replayed 6 records") != std::string::npos);
  }

  TEST_CASE("a missing directory is an empty journal; an unlistable one is an error") {
    jt::TempDir dir;
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(dir / "nope", &r).empty());
    CHECK(r.next_segment == 1);
    CHECK_FALSE(jt::fs::exists(dir / "nope"));
    jt::write_bytes(dir / "file", "x");
    jt::MapFold fold;
    CHECK_THROWS(jt::j::replay(dir / "file", fold));
  }

  TEST_CASE("torn tail at every byte offset of the last record") {
    std::string prefix = jt::kv("a", "1") + jt::kv("b", "2");
    std::string last = jt::kv("c", std::string(30, 'c'));
    for (size_t cut = 0; cut < last.size(); ++cut) {
      CAPTURE(cut);
      jt::TempDir dir;
      jt::write_segment(dir, 1, jt::kv("x", "0"));
      std::string path = jt::write_segment(dir, 2, prefix + last.substr(0, cut));
      jt::j::ReplayReport r;
      State s = jt::replay_state(dir.path(), &r);
      CHECK(s == State{{"a", "1"}, {"b", "2"}, {"x", "0"}});
      CHECK(r.records_applied == 3);
      uint64_t valid = 16 + prefix.size();
      CHECK(jt::fs::file_size(path) == valid);
      if (cut == 0) {  // the file ends at a record boundary: nothing is torn
        CHECK_FALSE(r.damaged);
        continue;
      }
      CHECK(r.damaged);
      CHECK(r.damaged_file == path);
      CHECK(r.damaged_offset == valid);
      CHECK(r.reason == (cut < 16 ? StopReason::truncated_header : StopReason::truncated_payload));
      CHECK(r.bytes_moved_aside == cut);
      REQUIRE(r.moved_aside.size() == 1);
      CHECK(jt::fs::path(r.moved_aside[0]).parent_path() == jt::fs::path(dir / "corrupt"));
      CHECK(r.moved_aside[0].ends_with(".tail"));
      CHECK(jt::read_bytes(r.moved_aside[0]) == last.substr(0, cut));
      jt::j::ReplayReport again;
      CHECK(jt::replay_state(dir.path(), &again) == s);
      CHECK_FALSE(again.damaged);
    }
  }

  TEST_CASE("a flipped byte in a middle record: prefix applied, the rest and later segments moved aside") {
    for (size_t i = 0; i < 16 + 41 + 1; i += 3) {  // over the header and payload of seg 2's 2nd record
      CAPTURE(i);
      ThreeSegments j;
      std::string bytes = jt::read_bytes(j.seg2);
      size_t at = 16 + j.rec_c.size() + i;
      REQUIRE(at < bytes.size());
      bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
      jt::write_bytes(j.seg2, bytes);
      uint64_t seg3_bytes = jt::fs::file_size(j.seg3);
      jt::j::ReplayReport r;
      State s = jt::replay_state(j.dir.path(), &r);
      CHECK(s == State{{"a", "1"}, {"b", "2"}, {"c", "3"}});
      CHECK(r.damaged);
      CHECK(r.damaged_file == j.seg2);
      CHECK(r.damaged_offset == 16 + j.rec_c.size());
      CHECK(r.bytes_moved_aside == j.rec_a4.size() + seg3_bytes);
      CHECK(r.moved_aside.size() == 2);
      CHECK(jt::fs::file_size(j.seg2) == 16 + j.rec_c.size());
      CHECK_FALSE(jt::fs::exists(j.seg3));
      CHECK(jt::files_in(j.corrupt()) == 2);
      CHECK(r.next_segment == 4);  // after every number seen, moved aside or not
      jt::j::ReplayReport again;
      CHECK(jt::replay_state(j.dir.path(), &again) == s);
      CHECK_FALSE(again.damaged);
    }
  }

  TEST_CASE("bad header, zero-length file and garbage segments are moved aside whole") {
    struct Case {
      const char* name;
      std::string seg2;
      StopReason why;
    };
    std::string header;
    jt::j::append_file_header(header);
    std::string wrong_version = header;
    wrong_version[8] = 2;
    std::vector<Case> cases = {
        {"zero length", "", StopReason::truncated_file_header},
        {"short header", header.substr(0, 9), StopReason::truncated_file_header},
        {"wrong version", wrong_version + jt::kv("c", "3"), StopReason::bad_file_header},
        {"garbage", std::string(4096, '\x5a'), StopReason::bad_file_header},
    };
    for (const auto& c : cases) {
      CAPTURE(c.name);
      ThreeSegments j;
      jt::write_bytes(j.seg2, c.seg2);
      uint64_t seg3_bytes = jt::fs::file_size(j.seg3);
      jt::j::ReplayReport r;
      State s = jt::replay_state(j.dir.path(), &r);
      CHECK(s == State{{"a", "1"}, {"b", "2"}});
      CHECK(r.reason == c.why);
      CHECK(r.damaged_offset == 0);
      CHECK(r.bytes_moved_aside == c.seg2.size() + seg3_bytes);
      CHECK_FALSE(jt::fs::exists(j.seg2));
      CHECK_FALSE(jt::fs::exists(j.seg3));
      CHECK(jt::files_in(j.corrupt()) == 2);
      CHECK(jt::replay_state(j.dir.path()) == s);
    }
  }

  TEST_CASE("after a damaged replay a writer starts a new segment; replay sees the state plus its records") {
    ThreeSegments j;
    std::string bytes = jt::read_bytes(j.seg3);
    jt::write_bytes(j.seg3, bytes.substr(0, bytes.size() - 3));  // torn tail
    jt::j::ReplayReport r;
    State s = jt::replay_state(j.dir.path(), &r);
    REQUIRE(r.damaged);
    uint64_t seg3_size = jt::fs::file_size(j.seg3);
    {
      jt::j::WriterOptions o;
      o.directory = j.dir.path();
      o.first_segment = r.next_segment;
      jt::WriterRig rig(o);
      CHECK(rig.writer->current_segment() == 4);
      rig.wait_for(rig.send(jt::kv("f", "7") + jt::kv("a", "")));
    }
    CHECK(jt::fs::file_size(j.seg3) == seg3_size);  // never appended to
    CHECK(jt::fs::exists(j.dir / jt::j::segment_name(4)));
    jt::j::ReplayReport again;
    State after = jt::replay_state(j.dir.path(), &again);
    s["f"] = "7";
    s.erase("a");
    CHECK(after == s);
    CHECK_FALSE(again.damaged);
    CHECK(again.next_segment == 5);
  }

  TEST_CASE("segments covered by the snapshot are skipped; a stale snapshot.tmp is removed") {
    ThreeSegments j;
    std::string snap;
    jt::j::append_file_header(snap);
    jt::j::append_snapshot_begin(snap, 2);
    snap += jt::kv("z", "26") + jt::kv("a", "snap");
    jt::j::append_snapshot_end(snap, 2);
    jt::write_bytes(j.dir / "snapshot.zfj", snap);
    jt::write_bytes(j.dir / "snapshot.zfj.tmp", "half a snapshot");
    jt::j::ReplayReport r;
    State s = jt::replay_state(j.dir.path(), &r);
    CHECK(s == State{{"a", "snap"}, {"d", "5"}, {"e", "6"}, {"z", "26"}});
    CHECK(r.snapshot_records == 2);
    CHECK(r.snapshot_covers == 2u);
    CHECK(r.segments_skipped == 2);
    CHECK(r.segments_replayed == 1);
    CHECK_FALSE(r.damaged);
    CHECK_FALSE(jt::fs::exists(j.dir / "snapshot.zfj.tmp"));
    CHECK(jt::j::read_snapshot_covers(j.dir.path()) == 2u);
  }

  TEST_CASE("a damaged snapshot keeps its valid prefix as a whole snapshot; every segment moves aside") {
    jt::TempDir dir;
    std::string head;
    jt::j::append_file_header(head);
    jt::j::append_snapshot_begin(head, 1);
    std::string recs = jt::kv("a", "1") + jt::kv("b", "2");
    std::string tail;
    jt::j::append_snapshot_end(tail, 2);
    std::string seg2 = jt::write_segment(dir, 2, jt::kv("c", "3"));
    SUBCASE("cut inside the trailer") {
      jt::write_bytes(dir / "snapshot.zfj", head + recs + tail.substr(0, 10));
    }
    SUBCASE("no trailer at all") { jt::write_bytes(dir / "snapshot.zfj", head + recs); }
    SUBCASE("a record after the trailer") {
      jt::write_bytes(dir / "snapshot.zfj", head + recs + tail + jt::kv("q", "9"));
    }
    jt::j::ReplayReport r;
    State s = jt::replay_state(dir.path(), &r);
    CHECK(s == State{{"a", "1"}, {"b", "2"}});
    CHECK(r.damaged);
    CHECK((r.reason == StopReason::snapshot_incomplete || r.reason == StopReason::truncated_header));
    CHECK_FALSE(jt::fs::exists(seg2));
    jt::j::ReplayReport again;
    CHECK(jt::replay_state(dir.path(), &again) == s);
    CHECK_FALSE(again.damaged);
    CHECK(again.snapshot_covers == 1u);
  }

  TEST_CASE("a snapshot with a bad start is moved aside whole, with every segment") {
    jt::TempDir dir;
    std::string snap;
    jt::j::append_file_header(snap);
    snap += jt::kv("a", "1");  // no begin record
    jt::write_bytes(dir / "snapshot.zfj", snap);
    jt::write_segment(dir, 5, jt::kv("c", "3"));
    jt::j::ReplayReport r;
    CHECK(jt::replay_state(dir.path(), &r).empty());
    CHECK(r.reason == StopReason::bad_snapshot_meta);
    CHECK(jt::files_in(dir / "corrupt") == 2);
    CHECK(r.next_segment == 6);
    CHECK(jt::replay_state(dir.path()).empty());
  }
}
