#include "broker/journal/format.h"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

namespace zfleet::broker::journal {
namespace {

// Records whose type + payload fit here are hashed in one XXH3 call over a
// stack copy; the streaming state costs more than the copy for them.
constexpr size_t kStackHashBytes = 1024;

}  // namespace

const char* to_string(StopReason reason) {
  switch (reason) {
    case StopReason::none: return "clean end";
    case StopReason::truncated_file_header: return "truncated file header";
    case StopReason::bad_file_header: return "bad file header";
    case StopReason::truncated_header: return "truncated record header";
    case StopReason::truncated_payload: return "record length beyond the remaining bytes";
    case StopReason::length_over_cap: return "record length over the sanity cap";
    case StopReason::bad_reserved: return "record reserved bytes not zero";
    case StopReason::checksum_mismatch: return "checksum mismatch";
    case StopReason::bad_snapshot_meta: return "snapshot without a valid meta record";
    case StopReason::snapshot_incomplete: return "snapshot trailer missing or wrong";
  }
  return "unknown";
}

uint64_t record_checksum(uint8_t type, std::string_view payload) {
  if (payload.size() < kStackHashBytes) {
    char buf[kStackHashBytes];
    buf[0] = static_cast<char>(type);
    std::memcpy(buf + 1, payload.data(), payload.size());
    return XXH3_64bits(buf, payload.size() + 1);
  }
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, &type, 1);
  XXH3_64bits_update(&state, payload.data(), payload.size());
  return XXH3_64bits_digest(&state);
}

void append_file_header(std::string& out) {
  out.append(kMagic);
  append_le<uint32_t>(out, kFormatVersion);
  append_le<uint32_t>(out, 0);
}

void append_record(std::string& out, uint8_t type, std::string_view payload) {
  out.reserve(out.size() + kRecordHeaderBytes + payload.size());
  append_le<uint32_t>(out, static_cast<uint32_t>(payload.size()));
  out.push_back(static_cast<char>(type));
  out.append(3, '\0');
  append_le<uint64_t>(out, record_checksum(type, payload));
  out.append(payload);
}

StopReason check_file_header(std::string_view file) {
  if (file.size() < kFileHeaderBytes) return StopReason::truncated_file_header;
  if (file.substr(0, kMagic.size()) != kMagic) return StopReason::bad_file_header;
  if (load_le<uint32_t>(file.data() + 8) != kFormatVersion) return StopReason::bad_file_header;
  if (load_le<uint32_t>(file.data() + 12) != 0) return StopReason::bad_file_header;
  return StopReason::none;
}

bool RecordDecoder::next(Record& out) {
  if (done_) return false;
  size_t left = buf_.size() - pos_;
  auto stop = [&](StopReason why) {
    stop_ = why;
    done_ = true;
    return false;
  };
  if (left == 0) return stop(StopReason::none);
  if (left < kRecordHeaderBytes) return stop(StopReason::truncated_header);
  const char* h = buf_.data() + pos_;
  uint32_t length = load_le<uint32_t>(h);
  if (length > kMaxPayloadBytes) return stop(StopReason::length_over_cap);
  if (length > left - kRecordHeaderBytes) return stop(StopReason::truncated_payload);
  if (h[5] != 0 || h[6] != 0 || h[7] != 0) return stop(StopReason::bad_reserved);
  auto type = static_cast<uint8_t>(h[4]);
  std::string_view payload(h + kRecordHeaderBytes, length);
  if (record_checksum(type, payload) != load_le<uint64_t>(h + 8)) {
    return stop(StopReason::checksum_mismatch);
  }
  out.type = type;
  out.payload = payload;
  pos_ += kRecordHeaderBytes + length;
  return true;
}

size_t count_records(std::string_view blob) {
  size_t n = 0, pos = 0;
  while (blob.size() - pos >= kRecordHeaderBytes) {
    uint64_t length = load_le<uint32_t>(blob.data() + pos);
    if (length > blob.size() - pos - kRecordHeaderBytes) break;
    pos += kRecordHeaderBytes + length;
    ++n;
  }
  return n;
}

}  // namespace zfleet::broker::journal
