// JournalWriter: appends framed records to the journal's segment files on
// its own thread ("zf-journal"), with group commit, and tells the producer
// which records are durable.
//
// Hand-off in (the writer binds a PULL at options.in_endpoint; one producer,
// typically the dispatcher, PUSHes to it with no high-water mark), one
// message per batch:
//   frame 0  a blob of records framed with append_record() (may be empty);
//            record types 1..255 (type 0 is the journal's own, fold.h)
//   frame 1  u64 LE sequence number of the batch's last record; the producer
//            numbers its batches, never decreasing (a batch with no records
//            may repeat the previous number)
//   frame 2  optional opaque "ack" blob, passed back unchanged
// Report out (the writer connects a PUSH to options.out_endpoint, where the
// producer binds a PULL), one message per group commit:
//   frame 0     u64 LE highest durable sequence (that of the group's last batch)
//   frames 1..n the ack blobs of the group's batches, in order
//
// Contract:
// - Group commit: the journal thread waits for one batch, then takes every
//   batch already queued (up to kMaxGroupBatches), writes them all with
//   writev, and then per policy:
//     always    one fdatasync covering the group, then the report;
//     every_ms  the report right after the write (the OS holds the bytes);
//               a sync thread (syncer.h) runs fdatasync at most every
//               `every_ms` while unsynced bytes exist, beside the writes
//               (so a crash of the machine, not of the process, loses at
//               most about every_ms plus one sync of reported records);
//     never     the report after the write, no sync except at rotation/stop.
//   A batch is reported only after its bytes are in the segment file (and,
//   under `always`, synced). Reports come in sequence order.
// - A write or sync error is fatal: logged at critical, then the process
//   exits through common::die (an acknowledged record that cannot be made
//   durable must not be acknowledged, and an unacknowledged one must not
//   wait forever). So are a malformed batch (a producer bug) and any
//   ZeroMQ error on the journal thread.
// - Segments: named seg-%016llu.zfj, numbered from max(options.first_segment,
//   1 + the highest segment or snapshot `covers` found in the directory),
//   so a writer never appends to a segment it did not create. Once the
//   open segment is past segment_bytes (checked after each group), it is
//   fsynced and closed, the next one created and the directory fsynced.
//   Every segment numbered below current_segment() is closed and never
//   touched again by the writer (the compactor's rule, compactor.h);
//   options.on_rotate(closed number) is called on the journal thread right
//   after each rotation (it must be quick: e.g. Compactor::request()).
// - The journal thread never blocks the producer: the PULL has no
//   high-water mark, and the thread only reads from it.
// - Replay the directory (reader.h) before starting a writer on it: replay
//   is what cuts a torn tail off the last segment, and a tail left there
//   would make a later replay set aside every segment after it.
// - start() creates the directory (with parents) and the first segment,
//   binds and connects, and returns once they are ready; it throws on any
//   failure. stop() (also run by the destructor) asks the thread to stop
//   through the PULL, which then writes every batch sent before stop() was
//   called, reports it, syncs and closes the segment, and joins. Call it
//   after the producer has sent its last batch and before the context is
//   closed.
//
// Thread safety: start() and stop() from one owning thread; stats and
// current_segment() from any thread. The sockets and the file belong to the
// journal thread.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include "broker/journal/stats.h"

namespace zfleet::broker::journal {

enum class FsyncPolicy : uint8_t { always, every_ms, never };

struct WriterOptions {
  std::string directory;
  FsyncPolicy fsync = FsyncPolicy::always;
  uint32_t every_ms = 50;
  uint64_t segment_bytes = 64ull << 20;
  std::string in_endpoint = "inproc://zfleet-journal";
  std::string out_endpoint = "inproc://zfleet-journal-durable";
  uint64_t first_segment = 1;  // e.g. ReplayReport::next_segment
  std::function<void(uint64_t closed_segment)> on_rotate;
};

// A group never takes more batches than this (the rest make the next group).
inline constexpr size_t kMaxGroupBatches = 65536;

class JournalWriter {
 public:
  JournalWriter(zmq::context_t& ctx, WriterOptions options, JournalStats& stats);
  ~JournalWriter();
  JournalWriter(const JournalWriter&) = delete;
  JournalWriter& operator=(const JournalWriter&) = delete;

  void start();
  void stop();

  // Number of the open segment: every segment below it is closed. 0 before
  // start().
  uint64_t current_segment() const { return stats_.current_segment.load(std::memory_order_acquire); }
  const JournalStats& stats() const { return stats_; }

 private:
  struct Loop;  // the journal thread's state (writer.cpp)

  zmq::context_t& ctx_;
  WriterOptions options_;
  JournalStats& stats_;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::optional<zmq::socket_t> stop_push_;  // the owner's: carries STOP to the journal thread
};

// Producer helpers.
// A message that takes `bytes` without copying them.
zmq::message_t take_string(std::string&& bytes);
// Sends one batch (frames as above) without blocking; false when it could
// not be queued (no high-water mark on the producer's PUSH: never).
bool send_batch(zmq::socket_t& push, std::string&& records, uint64_t sequence,
                std::optional<std::string_view> ack = std::nullopt);

struct DurableReport {
  uint64_t sequence = 0;
  std::vector<zmq::message_t> acks;
};
// Decodes one report from `pull`; nullopt when none is waiting (dontwait)
// or it is malformed.
std::optional<DurableReport> recv_report(zmq::socket_t& pull,
                                         zmq::recv_flags flags = zmq::recv_flags::none);

}  // namespace zfleet::broker::journal
