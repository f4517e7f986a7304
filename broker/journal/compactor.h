// Compactor: keeps a journal directory's size bounded by folding the closed
// segments into a snapshot (snapshot.h) and deleting them, on its own thread
// ("zf-compact"), never blocking the writer.
//
// Contract of one pass (run_once()):
// - Closed segments are those numbered below first_open() (the writer's
//   current_segment(): the writer never touches them again) and above the
//   current snapshot's `covers`. Segments <= covers are leftovers of a crash
//   between a snapshot's rename and their deletion: deleted at once.
// - It compacts when the closed segments total more than
//   max(min_bytes, snapshot_ratio x the current snapshot's size): it folds
//   snapshot + closed segments, in order, into a fresh fold (make_fold),
//   reading files only; writes the fold's write_snapshot() records to
//   snapshot.zfj.tmp with covers = the last closed segment's number;
//   fdatasyncs it, renames it over snapshot.zfj, fsyncs the directory; then
//   deletes the covered segments and fsyncs the directory again. At every
//   moment a replay sees the old snapshot + every segment after it, or the
//   new snapshot + the segments after it.
// - Damage in what it reads (bytes that went bad on disk since replay)
//   stops the pass without changing anything, is logged at error once and
//   counted in compaction_failures, and disables compaction until restart
//   (replay at the next start moves the damage aside). I/O errors and
//   exceptions from the fold fail the pass the same way but are retried at
//   the next check. Nothing here is fatal: the broker serves on, the
//   journal just grows.
// - Stats (JournalStats): compactions, compaction_failures,
//   last_compaction_us, last_snapshot_bytes/records, segments_deleted, and
//   directory_bytes adjusted by what it writes and deletes.
//
// Thread safety: start()/stop()/run_once() from one owning thread, and
// run_once() only while the thread is not started (tests). request() from
// any thread (e.g. the writer's on_rotate). first_open and make_fold are
// called on the compaction thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "broker/journal/fold.h"
#include "broker/journal/stats.h"

namespace zfleet::broker::journal {

struct CompactorOptions {
  std::string directory;
  FoldFactory make_fold;
  std::function<uint64_t()> first_open;  // segments >= this are the writer's
  uint64_t min_bytes = 64ull << 20;
  double snapshot_ratio = 2.0;
  uint32_t check_ms = 1000;  // how often the thread looks without a request()
};

class Compactor {
 public:
  Compactor(CompactorOptions options, JournalStats& stats);
  ~Compactor();
  Compactor(const Compactor&) = delete;
  Compactor& operator=(const Compactor&) = delete;

  void start();
  void stop();
  // Wakes the thread for a pass now (cheap; any thread).
  void request();

  // One pass on the calling thread. Returns true when it wrote a snapshot.
  bool run_once();

 private:
  struct Closed;  // compactor.cpp
  void loop();
  bool compact(const Closed& closed, uint64_t snapshot_bytes);
  void delete_covered(uint64_t covers);

  CompactorOptions options_;
  JournalStats& stats_;
  bool disabled_ = false;  // damage found: no more passes until restart

  std::mutex mu_;
  std::condition_variable cv_;
  bool requested_ = false;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::thread thread_;
};

}  // namespace zfleet::broker::journal
