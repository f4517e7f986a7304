// JournalStats: counters of the journal writer and compactor, for `status`
// and the benchmarks. One instance is shared by the writer and the compactor
// of a journal directory (both take it by reference; it must outlive them).
//
// Thread safety: every member is a relaxed atomic, written by the journal
// thread (writer fields; the fsync ones also by the sync thread, syncer.h)
// or the compaction thread (compaction fields; directory_bytes by both) and readable from any thread at any time. A read
// of several fields is not an atomic snapshot.
#pragma once

#include <atomic>
#include <cstdint>

#include "broker/latency_histogram.h"

namespace zfleet::broker::journal {

// The counters are statistics: no ordering with other memory is needed.
inline constexpr auto kRelaxed = std::memory_order_relaxed;

// The histogram type, under its old name here (tests use it as journal::).
using LatencyHistogram = broker::LatencyHistogram;

struct JournalStats {
  template <class T>
  using A = std::atomic<T>;

  // Both threads.
  A<uint64_t> directory_bytes{0};    // segments + snapshot in the journal directory

  // Journal thread (writer.h).
  A<uint64_t> records{0};            // records written
  A<uint64_t> messages{0};           // producer messages (batches) written
  A<uint64_t> groups{0};             // group commits (one write, one report each)
  A<uint64_t> bytes_written{0};      // record bytes appended to segments
  A<uint64_t> current_segment{0};    // number of the open segment (0 before start)
  A<uint64_t> rotations{0};
  A<uint64_t> fsyncs{0};             // fdatasync/fsync of segments
  A<uint64_t> fsync_total_us{0};
  A<uint64_t> fsync_max_us{0};
  A<uint64_t> last_fsync_at_us{0};   // common::now_us() when the last one ended
  A<uint64_t> last_fsync_us{0};      // its duration
  A<uint64_t> durable_sequence{0};   // highest sequence reported durable
  LatencyHistogram fsync_latency;

  // Compaction thread (compactor.h).
  A<uint64_t> compactions{0};
  A<uint64_t> compaction_failures{0};
  A<uint64_t> last_compaction_us{0};       // duration of the last compaction
  A<uint64_t> last_snapshot_bytes{0};
  A<uint64_t> last_snapshot_records{0};
  A<uint64_t> segments_deleted{0};

  // Records one fsync that ended at `end_us` and took `took_us`.
  void record_fsync(uint64_t end_us, uint64_t took_us);
};

}  // namespace zfleet::broker::journal
