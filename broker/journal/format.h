// Journal framing: the byte layout of segment and snapshot files, and the
// one encoder and decoder of it. Generic over record contents: a record type
// is an opaque byte here (the broker defines types 1..N; type 0 is reserved
// for this layer's own snapshot meta records, see snapshot.h).
//
// File layout (all integers little-endian):
//   header, 16 bytes: magic "ZFJOURN1", u32 format version (1), u32 reserved (0)
//   records, each:    u32 payload length, u8 type, 3 bytes reserved (0),
//                     u64 XXH3_64 of (type byte + payload), then the payload
//
// Contract:
// - append_record() appends exactly one framed record; records of one blob
//   may be concatenated freely (a blob of records is itself valid framing).
// - The decoder never throws and never reads past the buffer it is given.
//   It yields records in order while they are whole and valid, and at the
//   first one that is not, stops and reports where the valid prefix ends
//   (offset) and why (StopReason). A payload view points into the caller's
//   buffer and lives as long as it.
// - Nothing here allocates per record (a record whose type + payload fits a
//   stack buffer is hashed in one call, a larger one with XXH3's streaming
//   state, giving the same value).
//
// Thread safety: functions are pure; a RecordDecoder is a plain value used by
// one thread at a time.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace zfleet::broker::journal {

inline constexpr std::string_view kMagic = "ZFJOURN1";
inline constexpr uint32_t kFormatVersion = 1;
inline constexpr size_t kFileHeaderBytes = 16;
inline constexpr size_t kRecordHeaderBytes = 16;
// A sanity cap: a length over it is corruption, not a record to allocate for.
inline constexpr uint32_t kMaxPayloadBytes = 256u << 20;

// Why decoding stopped. `none` means the buffer ended exactly at a record
// boundary (a clean end).
enum class StopReason : uint8_t {
  none,
  truncated_file_header,  // fewer than 16 bytes (a zero-length file included)
  bad_file_header,        // wrong magic, version or reserved field
  truncated_header,       // fewer than 16 bytes left for a record header
  truncated_payload,      // the length runs past the end of the buffer
  length_over_cap,        // the length is over kMaxPayloadBytes
  bad_reserved,           // a record's reserved bytes are not zero
  checksum_mismatch,      // XXH3 of type + payload differs from the stored one
  bad_snapshot_meta,      // snapshot: no valid meta record first (snapshot.h)
  snapshot_incomplete,    // snapshot: trailer missing, misplaced or with a wrong count
};

const char* to_string(StopReason reason);

struct Record {
  uint8_t type = 0;
  std::string_view payload;
};

// Little-endian integer coding, shared by the framing, the writer's
// sequence frames and the snapshot meta records.
template <class T>
inline T load_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  return v;
}

template <class T>
inline void append_le(std::string& out, T v) {
  if constexpr (std::endian::native == std::endian::big) v = std::byteswap(v);
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

// Appends the 16-byte file header.
void append_file_header(std::string& out);

// Appends one framed record. payload.size() must be <= kMaxPayloadBytes.
void append_record(std::string& out, uint8_t type, std::string_view payload);

// XXH3_64 of the type byte followed by the payload.
uint64_t record_checksum(uint8_t type, std::string_view payload);

// Checks the 16-byte header at the start of `file`: none when it is valid.
StopReason check_file_header(std::string_view file);

// Decodes the records of a buffer (a blob, or a file's bytes after its
// header).
class RecordDecoder {
 public:
  explicit RecordDecoder(std::string_view records) : buf_(records) {}

  // Fills `out` with the next valid record and returns true; returns false
  // at the end of the valid prefix, after which stop() says why and
  // offset() is where the prefix ends (and stays there).
  bool next(Record& out);

  // Bytes of the buffer consumed by the records yielded so far.
  size_t offset() const { return pos_; }
  StopReason stop() const { return stop_; }

 private:
  std::string_view buf_;
  size_t pos_ = 0;
  StopReason stop_ = StopReason::none;
  bool done_ = false;
};

// Number of records in a well-formed blob, by walking the length fields
// only (no checksums). Stops at the first header that does not fit.
size_t count_records(std::string_view blob);

}  // namespace zfleet::broker::journal
