#include "worker/exec/output_buffer.h"

#include <algorithm>

namespace zfleet::worker {

void OutputBuffer::append(std::string_view text) {
  total_ += text.size();
  if (kept_.size() >= max_bytes_) return;
  const std::size_t room = static_cast<std::size_t>(max_bytes_ - kept_.size());
  kept_.append(text.substr(0, std::min(room, text.size())));
}

std::string OutputBuffer::finish() const {
  const std::size_t keep = utf8_prefix(kept_, kept_.size());
  const uint64_t dropped = total_ - keep;
  std::string out = kept_.substr(0, keep);
  if (dropped == 0) return out;
  if (!out.empty() && out.back() != '\n') out += '\n';
  out += "[output truncated: " + std::to_string(dropped) + " bytes dropped]";
  return out;
}

void LineSplitter::append(std::string_view text, const Emit& emit) {
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view piece = text.substr(0, nl);
    // A runaway line goes out in kMaxLine pieces (cut at a character boundary).
    if (partial_.size() + piece.size() > kMaxLine) {
      const std::size_t room = kMaxLine - partial_.size();
      std::size_t take = utf8_prefix(piece, room);
      if (take == 0 && partial_.empty()) take = std::min(room, piece.size());  // not UTF-8 at all
      partial_.append(piece.substr(0, take));
      emit(partial_);
      partial_.clear();
      text.remove_prefix(take);
      continue;
    }
    if (nl == std::string_view::npos) {
      partial_.append(piece);
      return;
    }
    partial_.append(piece);
    emit(partial_);
    partial_.clear();
    text.remove_prefix(nl + 1);
  }
}

void LineSplitter::flush(const Emit& emit) {
  if (partial_.empty()) return;
  emit(partial_);
  partial_.clear();
}

std::string escape_controls(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\t' || (u >= 0x20 && u != 0x7f)) {
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

std::size_t utf8_prefix(std::string_view text, std::size_t limit) {
  const std::size_t end = std::min(limit, text.size());
  if (end == 0) return 0;
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  // The last byte before `end` that is not a continuation byte (10xxxxxx).
  std::size_t lead = end - 1;
  while (lead > 0 && end - lead < 4 && (byte(lead) & 0xC0) == 0x80) --lead;
  const unsigned char b = byte(lead);
  std::size_t need = 1;  // ASCII, or a stray byte: nothing to keep whole
  if ((b & 0xE0) == 0xC0) need = 2;
  else if ((b & 0xF0) == 0xE0) need = 3;
  else if ((b & 0xF8) == 0xF0) need = 4;
  return end - lead >= need ? end : lead;
}

}  // namespace zfleet::worker
