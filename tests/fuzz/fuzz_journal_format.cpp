// The journal's storage framing (broker/journal/format.h) and the scans
// replay runs over a segment or a snapshot file (broker/journal/reader.h),
// with a Fold that only counts. The first input byte is a mode: bit 0 set
// rewrites every record checksum the framing reaches to the right value
// before decoding (the fuzzer cannot forge XXH3, and this lets it explore
// lengths, types, reserved bytes and snapshot meta records past the first
// record); the rest is the file.
//
// Properties:
// - the decoder never reads outside its buffer (ASan), and every payload
//   view lies inside it;
// - the records it yields, framed again (append_record), are exactly the
//   bytes of the valid prefix, and count_records agrees on their number;
// - a clean stop consumed the whole buffer, and the decoder stays stopped;
// - repair is sound: a segment cut to its valid prefix, and a snapshot cut
//   to its valid prefix plus a fresh trailer (as replay leaves them), scan
//   clean with the same records.
#include <algorithm>
#include <string>
#include <vector>

#include "broker/journal/fold.h"
#include "broker/journal/format.h"
#include "broker/journal/reader.h"
#include "broker/journal/snapshot.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace zfleet::broker::journal;

class CountingFold final : public Fold {
 public:
  explicit CountingFold(std::string_view file) : file_(file) {}
  void apply(uint8_t type, std::string_view payload) override {
    FUZZ_CHECK(type != kMetaType);
    FUZZ_CHECK(payload.data() >= file_.data() &&
               payload.data() + payload.size() <= file_.data() + file_.size());
    ++records;
  }
  void write_snapshot(const EmitRecord&) override {}
  uint64_t records = 0;

 private:
  std::string_view file_;
};

void fix_checksums(std::vector<char>& buf, size_t pos) {
  while (buf.size() - pos >= kRecordHeaderBytes) {
    uint32_t length = load_le<uint32_t>(buf.data() + pos);
    if (length > buf.size() - pos - kRecordHeaderBytes) return;
    auto type = static_cast<uint8_t>(buf[pos + 4]);
    std::string sum;
    append_le<uint64_t>(sum, record_checksum(type, {buf.data() + pos + kRecordHeaderBytes, length}));
    std::copy(sum.begin(), sum.end(), buf.begin() + static_cast<std::ptrdiff_t>(pos + 8));
    pos += kRecordHeaderBytes + length;
  }
}

void check_blob(std::string_view blob) {
  RecordDecoder dec(blob);
  Record rec;
  std::string reframed;
  size_t n = 0;
  while (dec.next(rec)) {
    FUZZ_CHECK(rec.payload.data() >= blob.data() &&
               rec.payload.data() + rec.payload.size() <= blob.data() + blob.size());
    append_record(reframed, rec.type, rec.payload);
    ++n;
  }
  FUZZ_CHECK(dec.offset() <= blob.size());
  FUZZ_CHECK(reframed == blob.substr(0, dec.offset()));
  FUZZ_CHECK(count_records(reframed) == n);
  if (dec.stop() == StopReason::none) FUZZ_CHECK(dec.offset() == blob.size());
  const size_t end = dec.offset();
  FUZZ_CHECK(!dec.next(rec) && dec.offset() == end);
}

bool header_bad(StopReason s) {
  return s == StopReason::truncated_file_header || s == StopReason::bad_file_header;
}

void check_segment(std::string_view file) {
  CountingFold fold(file);
  FileScan s = scan_segment(file, fold);
  FUZZ_CHECK(s.file_bytes == file.size());
  FUZZ_CHECK(s.records == fold.records);
  if (header_bad(s.stop)) return;
  FUZZ_CHECK(s.valid_bytes <= file.size());
  if (s.stop == StopReason::none) FUZZ_CHECK(s.valid_bytes == file.size());
  std::string_view kept = file.substr(0, s.valid_bytes);
  CountingFold again(kept);
  FileScan s2 = scan_segment(kept, again);
  FUZZ_CHECK(s2.stop == StopReason::none);
  FUZZ_CHECK(s2.records == s.records);
}

void check_snapshot(std::string_view file) {
  CountingFold fold(file);
  FileScan s = scan_snapshot(file, fold);
  FUZZ_CHECK(s.file_bytes == file.size());
  FUZZ_CHECK(s.records == fold.records);
  FUZZ_CHECK(s.valid_bytes <= file.size());
  if (s.stop == StopReason::none) {
    FUZZ_CHECK(s.has_meta);
    FUZZ_CHECK(s.valid_bytes == file.size());
    return;
  }
  if (!s.has_meta) return;  // replay moves such a file aside whole
  std::string repaired(file.substr(0, s.valid_bytes));
  append_snapshot_end(repaired, s.records);
  CountingFold again(repaired);
  FileScan s2 = scan_snapshot(repaired, again);
  FUZZ_CHECK(s2.stop == StopReason::none);
  FUZZ_CHECK(s2.records == s.records);
  FUZZ_CHECK(s2.covers == s.covers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  // An exactly sized copy, so that ASan sees a read one byte past the end.
  std::vector<char> bytes(data + 1, data + size);
  if (data[0] & 1) fix_checksums(bytes, bytes.size() >= kFileHeaderBytes ? kFileHeaderBytes : 0);
  std::string_view file(bytes.data(), bytes.size());

  check_blob(file);
  if (file.size() >= kFileHeaderBytes) check_blob(std::string_view(file).substr(kFileHeaderBytes));
  check_segment(file);
  check_snapshot(file);
  return 0;
}
