// Reply encoding: typed broker answers -> bytes for a producer or client.
// Maps are written with their exact entry count up front; raw msgpack values
// (corr, task results) are appended as they are.
#include "common/codec.h"
#include "common/msgpack_writer.h"

namespace zfleet::common {
namespace {

using Writer = MsgpackWriter;

void write_task_error(Writer& w, const TaskError& e) {
  bool python = !e.type.empty() || !e.traceback.empty();
  w.map(python ? 4 : 2).kv("code", to_string(e.code)).kv("message", e.message);
  if (python) w.kv("type", e.type).kv("traceback", e.traceback);
}

void write_error(Writer& w, const WireError& e) {
  w.map(2).kv("code", to_string(e.code)).kv("message", e.message);
}

void write_worker(Writer& w, const WorkerStatus& ws) {
  w.map(13).kv("id", ws.id).kv("type", ws.type).kv("host", ws.host);
  w.str("pid").i64(ws.pid).ku("threads", ws.threads).ku("active", ws.active);
  w.ku("inflight", ws.inflight).ku("capacity", ws.capacity).ku("done", ws.done).ku("failed", ws.failed);
  w.str("alive").boolean(ws.alive).ku("last_heartbeat_ms", ws.last_heartbeat_ms);
  w.ku("rss_bytes", ws.rss_bytes);
}

void write_journal(Writer& w, const JournalStatus& j) {
  w.str("journal").map(13).kv("path", j.path).kv("fsync", j.fsync).ku("bytes", j.bytes);
  w.ku("records", j.records).ku("fsyncs", j.fsyncs).ku("last_fsync_ms", j.last_fsync_ms);
  w.ku("fsync_p99_us", j.fsync_p99_us).ku("compactions", j.compactions);
  w.ku("replayed_records", j.replayed_records).ku("replay_ms", j.replay_ms);
  w.ku("restored_tasks", j.restored_tasks).ku("restored_results", j.restored_results);
  w.kv("damage", j.damage);
}

}  // namespace

std::string encode_accepted(std::string_view id, std::string_view corr) {
  std::string out;
  out.reserve(32 + id.size() + corr.size());
  Writer w(out);
  w.map(corr.empty() ? 2 : 3).kv("op", "accepted").kv("id", id);
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

std::string encode_accepted_batch(const std::vector<std::expected<std::string, WireError>>& ids,
                                  std::string_view corr) {
  std::string out;
  out.reserve(32 + ids.size() * 20 + corr.size());
  Writer w(out);
  w.map(corr.empty() ? 3 : 4).kv("op", "accepted_batch");
  w.str("ids").array(static_cast<uint32_t>(ids.size()));
  for (const auto& r : ids) r ? (void)w.str(*r) : (void)w.nil();
  w.str("errors").array(static_cast<uint32_t>(ids.size()));
  for (const auto& r : ids) r ? (void)w.nil() : write_error(w, r.error());
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

std::string encode_error(const WireError& e, std::string_view id, std::string_view corr) {
  std::string out;
  Writer w(out);
  w.map(3 + (id.empty() ? 0 : 1) + (corr.empty() ? 0 : 1));
  w.kv("op", "error").kv("code", to_string(e.code)).kv("message", e.message);
  if (!id.empty()) w.kv("id", id);
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

std::string encode_ok(std::string_view corr) {
  std::string out;
  Writer w(out);
  w.map(corr.empty() ? 1 : 2).kv("op", "ok");
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

void append_result(std::string& out, std::string_view id, TaskState state,
                   const ResultRecord* rec, std::string_view corr,
                   std::optional<uint64_t> run_after_ms) {
  Writer w(out);
  if (rec) state = rec->state;
  if (rec || state != TaskState::pending) run_after_ms.reset();
  uint32_t n = 3 + (corr.empty() ? 0 : 1) + (rec ? 5 : 0) + run_after_ms.has_value() +
               (rec && !rec->output.empty());
  w.map(n).kv("op", "result").kv("id", id).kv("state", to_string(state));
  if (run_after_ms) w.ku("run_after_ms", *run_after_ms);
  if (rec) {
    if (rec->state == TaskState::done) {
      w.str("result").raw(rec->result.empty() ? std::string_view("\xc0", 1) : rec->result);
    } else {
      w.str("error");
      write_task_error(w, rec->error);
    }
    w.kv("worker", rec->worker).ku("attempts", rec->attempts);
    w.ku("queued_us", rec->queued_us).ku("run_us", rec->run_us);
    if (!rec->output.empty()) w.kv("output", rec->output);
  }
  if (!corr.empty()) w.str("corr").raw(corr);
}

std::string encode_result(std::string_view id, TaskState state, const ResultRecord* rec,
                          std::string_view corr, std::optional<uint64_t> run_after_ms) {
  std::string out;
  out.reserve(96 + id.size() + (rec ? rec->result.size() : 0));
  append_result(out, id, state, rec, corr, run_after_ms);
  return out;
}

std::string encode_results(const std::vector<ResultEntry>& entries, std::string_view corr) {
  std::string out;
  Writer w(out);
  w.map(corr.empty() ? 2 : 3).kv("op", "results").str("results");
  w.array(static_cast<uint32_t>(entries.size()));
  for (const auto& e : entries) append_result(out, e.id, e.state, e.rec, {}, e.run_after_ms);
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

std::string encode_cancel_reply(std::string_view id, CancelOutcome outcome, std::string_view corr) {
  std::string out;
  Writer w(out);
  w.map(corr.empty() ? 3 : 4).kv("op", "cancel").kv("id", id).kv("outcome", to_string(outcome));
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

std::string encode_status(const StatusSnapshot& s, std::string_view corr) {
  std::string out;
  Writer w(out);
  w.map((corr.empty() ? 11 : 12) + (s.journal ? 1 : 0)).kv("op", "status").kv("version", s.version);
  w.ku("uptime_ms", s.uptime_ms);
  w.str("queues").map(static_cast<uint32_t>(s.queues.size()));
  for (const auto& q : s.queues) {
    const auto& sc = q.scaling;
    w.str(q.name).map(6 + (sc ? 3 + (sc->has_last ? 1 : 0) : 0));
    w.ku("depth", q.depth).ku("delayed", q.delayed).ku("running", q.running);
    w.ku("submitted", q.submitted).ku("done", q.done).ku("failed", q.failed);
    if (!sc) continue;
    w.ku("processes", sc->processes).ku("min_processes", sc->min_processes).ku("max_processes", sc->max_processes);
    if (!sc->has_last) continue;
    w.str("last_scaling").map(4).ku("at_ms", sc->at_ms).ku("from", sc->from).ku("to", sc->to);
    w.kv("reason", sc->reason);
  }
  w.str("tasks").map(8).ku("submitted", s.submitted).ku("done", s.done).ku("failed", s.failed);
  w.ku("retried", s.retried).ku("running", s.running).ku("cancelled", s.cancelled);
  w.ku("delayed", s.delayed).ku("stale_results", s.stale_results);
  w.str("workers").array(static_cast<uint32_t>(s.workers.size()));
  for (const auto& ws : s.workers) write_worker(w, ws);
  w.str("cache").map(6).ku("shards", s.cache_shards).ku("entries", s.cache_entries);
  w.ku("bytes", s.cache_bytes).ku("hits", s.cache_hits).ku("misses", s.cache_misses);
  w.ku("evictions", s.cache_evictions);
  w.ku("replies_dropped", s.replies_dropped);
  w.ku("live", s.live).ku("waiters", s.waiters);
  w.str("local_workers").array(static_cast<uint32_t>(s.local_workers.size()));
  for (const auto& l : s.local_workers) {
    w.map(6).kv("type", l.type).ku("slot", l.slot).str("pid").i64(l.pid);
    w.ku("restarts", l.restarts).str("crash_looping").boolean(l.crash_looping);
    w.kv("last_exit", l.last_exit);
  }
  if (s.journal) write_journal(w, *s.journal);
  if (!corr.empty()) w.str("corr").raw(corr);
  return out;
}

}  // namespace zfleet::common
