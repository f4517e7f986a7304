// Unit tests of broker/journal/format (record framing and its decoder),
// the segment file names and the fsync latency histogram.
#include <xxhash.h>

#include "journal_test_support.h"

using jt::j::RecordDecoder;
using jt::j::StopReason;

namespace {

struct Decoded {
  std::vector<std::pair<uint8_t, std::string>> records;
  size_t offset = 0;
  StopReason stop = StopReason::none;
};

Decoded decode(std::string_view buf) {
  Decoded out;
  RecordDecoder dec(buf);
  jt::j::Record rec;
  while (dec.next(rec)) out.records.emplace_back(rec.type, std::string(rec.payload));
  out.offset = dec.offset();
  out.stop = dec.stop();
  jt::j::Record again;
  CHECK_FALSE(dec.next(again));  // stays stopped
  return out;
}

bool is_record_damage(StopReason r) {
  return r == StopReason::truncated_header || r == StopReason::truncated_payload ||
         r == StopReason::length_over_cap || r == StopReason::bad_reserved ||
         r == StopReason::checksum_mismatch;
}

}  // namespace

TEST_SUITE("journal_format") {
  TEST_CASE("records round trip, empty to large payloads, every type") {
    std::vector<std::pair<uint8_t, std::string>> in;
    for (size_t size : {0, 1, 150, 1022, 1023, 1024, 5000, 300'000}) {
      std::string p(size, '\0');
      for (size_t i = 0; i < size; ++i) p[i] = static_cast<char>(i * 31 + size);
      in.emplace_back(static_cast<uint8_t>(size % 256), p);
    }
    for (int t = 0; t < 256; ++t) in.emplace_back(static_cast<uint8_t>(t), std::string(static_cast<size_t>(t % 7), 'x'));
    std::string blob;
    for (const auto& [t, p] : in) jt::j::append_record(blob, t, p);
    Decoded d = decode(blob);
    CHECK(d.records == in);
    CHECK(d.stop == StopReason::none);
    CHECK(d.offset == blob.size());
    CHECK(jt::j::count_records(blob) == in.size());
  }

  TEST_CASE("record layout: length, type, zero reserved bytes, XXH3 of type + payload") {
    std::string blob;
    jt::j::append_record(blob, 7, "hello");
    REQUIRE(blob.size() == 16 + 5);
    CHECK(jt::j::load_le<uint32_t>(blob.data()) == 5);
    CHECK(blob[4] == 7);
    CHECK(blob.substr(5, 3) == std::string(3, '\0'));
    CHECK(jt::j::load_le<uint64_t>(blob.data() + 8) == XXH3_64bits("\x07hello", 6));
    std::string big(5000, 'z');
    std::string cat = "\x09" + big;
    CHECK(jt::j::record_checksum(9, big) == XXH3_64bits(cat.data(), cat.size()));  // streaming path
  }

  TEST_CASE("file header: valid, short, wrong magic, version or reserved field") {
    std::string h;
    jt::j::append_file_header(h);
    REQUIRE(h.size() == 16);
    CHECK(h.substr(0, 8) == "ZFJOURN1");
    CHECK(jt::j::check_file_header(h) == StopReason::none);
    for (size_t n = 0; n < 16; ++n) CHECK(jt::j::check_file_header(h.substr(0, n)) == StopReason::truncated_file_header);
    for (size_t i = 0; i < 16; ++i) {
      std::string bad = h;
      bad[i] ^= 0x20;
      CHECK(jt::j::check_file_header(bad) == StopReason::bad_file_header);
    }
  }

  TEST_CASE("truncation at every offset keeps exactly the whole records before it") {
    std::string blob = jt::kv("a", "1") + jt::kv("bb", "22") + jt::kv("ccc", std::string(200, 'c'));
    std::vector<size_t> ends;
    for (size_t pos = 0; pos < blob.size();) {
      pos += 16 + jt::j::load_le<uint32_t>(blob.data() + pos);
      ends.push_back(pos);
    }
    for (size_t cut = 0; cut <= blob.size(); ++cut) {
      CAPTURE(cut);
      Decoded d = decode(std::string_view(blob).substr(0, cut));
      size_t whole = 0;
      while (whole < ends.size() && ends[whole] <= cut) ++whole;
      CHECK(d.records.size() == whole);
      CHECK(d.offset == (whole ? ends[whole - 1] : 0));
      bool boundary = cut == d.offset;
      CHECK(d.stop == (boundary ? StopReason::none
                       : cut - d.offset < 16 ? StopReason::truncated_header
                                             : StopReason::truncated_payload));
    }
  }

  TEST_CASE("a flipped byte anywhere in a record stops the decoder before it") {
    std::string first = jt::kv("key", "value");
    std::string second = jt::kv("other", std::string(100, 'v'));
    std::string blob = first + second + jt::kv("z", "9");
    for (size_t i = first.size(); i < first.size() + second.size(); ++i) {
      for (uint8_t bit : {0x01, 0x80}) {
        CAPTURE(i);
        std::string bad = blob;
        bad[i] = static_cast<char>(bad[i] ^ bit);
        Decoded d = decode(bad);
        CHECK(d.records.size() == 1);
        CHECK(d.offset == first.size());
        CHECK(is_record_damage(d.stop));
      }
    }
  }

  TEST_CASE("length over the sanity cap, reserved bytes and checksum are each reported") {
    std::string rec = jt::kv("k", "v");
    std::string over = rec;
    over[3] = '\x7f';  // length ~2 GiB
    CHECK(decode(over).stop == StopReason::length_over_cap);
    std::string reserved = rec;
    reserved[6] = 1;
    CHECK(decode(reserved).stop == StopReason::bad_reserved);
    std::string sum = rec;
    sum[9] ^= 1;
    CHECK(decode(sum).stop == StopReason::checksum_mismatch);
    std::string payload = rec;
    payload.back() ^= 1;
    CHECK(decode(payload).stop == StopReason::checksum_mismatch);
    std::string garbage(1000, '\xff');
    Decoded g = decode(garbage);
    CHECK(g.records.empty());
    CHECK(g.offset == 0);
    CHECK(is_record_damage(g.stop));
    CHECK(std::string(jt::j::to_string(StopReason::checksum_mismatch)) == "checksum mismatch");
  }

  TEST_CASE("segment names") {
    CHECK(jt::j::segment_name(42) == "seg-0000000000000042.zfj");
    CHECK(jt::j::parse_segment_name("seg-0000000000000042.zfj") == 42u);
    CHECK(jt::j::parse_segment_name(jt::j::segment_name(9999999999999999)) == 9999999999999999u);
    CHECK_FALSE(jt::j::parse_segment_name("seg-000000000000004x.zfj"));
    CHECK_FALSE(jt::j::parse_segment_name("seg-42.zfj"));
    CHECK_FALSE(jt::j::parse_segment_name("snapshot.zfj"));
    CHECK_FALSE(jt::j::parse_segment_name("seg-0000000000000042.zfj.20240101T000000-000.tail"));
  }

  TEST_CASE("latency histogram: buckets cover every value, quantiles are upper bounds") {
    using H = jt::j::LatencyHistogram;
    for (uint64_t us = 0; us < 100'000; us = us < 64 ? us + 1 : us * 5 / 4) {
      int b = H::bucket_of(us);
      CAPTURE(us);
      CHECK(us < H::bucket_upper_us(b));
      if (b > 0) CHECK(us >= H::bucket_upper_us(b - 1));
    }
    H h;
    CHECK(h.quantile_us(0.5) == 0);
    for (int i = 0; i < 99; ++i) h.record(400);
    h.record(5000);
    CHECK(h.count() == 100);
    CHECK(h.quantile_us(0.5) >= 400);
    CHECK(h.quantile_us(0.5) <= 500);
    CHECK(h.quantile_us(1.0) >= 5000);
    CHECK(h.quantile_us(1.0) <= 6000);
  }
}
