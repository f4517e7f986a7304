#include "tools/cli/status_view.h"

#include <cstdio>
#include <sstream>

#include "common/msgpack_io.h"

namespace zfleet::cli {
namespace {

const msgpack::object& sub(const msgpack::object& m, std::string_view key) {
  static const msgpack::object empty;
  const auto* v = common::find_field(m, key);
  return v ? *v : empty;
}

// One line per pool, in the order the broker lists them (every configured
// pool, PROTOCOL.md "status"), the same entries `status --json` shows.
// Adaptive pools add their processes (now, min-max) and, below the table,
// their last scaling decision with its reason.
std::string queue_table(const msgpack::object& queues) {
  std::ostringstream out, decisions;
  char line[512];
  std::snprintf(line, sizeof line, "%-16s %10s %10s %12s\n", "QUEUE", "DEPTH", "DELAYED", "PROCESSES");
  out << line;
  if (queues.type == msgpack::type::MAP) {
    for (uint32_t i = 0; i < queues.via.map.size; ++i) {
      const auto& kv = queues.via.map.ptr[i];
      std::string name = kv.key.type == msgpack::type::STR ? std::string(common::as_view(kv.key)) : "?";
      std::string procs;
      if (common::find_field(kv.val, "max_processes")) {
        procs = std::to_string(common::uint_or_zero(kv.val, "processes")) + " (" + std::to_string(common::uint_or_zero(kv.val, "min_processes")) +
                "-" + std::to_string(common::uint_or_zero(kv.val, "max_processes")) + ")";
      }
      std::snprintf(line, sizeof line, "%-16s %10llu %10llu %12s\n", name.c_str(),
                    (unsigned long long)common::uint_or_zero(kv.val, "depth"), (unsigned long long)common::uint_or_zero(kv.val, "delayed"),
                    procs.c_str());
      out << line;
      if (const auto* last = common::find_field(kv.val, "last_scaling")) {
        decisions << "  " << name << ": " << common::uint_or_zero(*last, "from") << " -> " << common::uint_or_zero(*last, "to") << " processes, "
                  << common::str_or_empty(*last, "reason") << "\n";
      }
    }
  }
  if (!decisions.str().empty()) out << "last scaling:\n" << decisions.str();
  out << "\n";
  return out.str();
}

}  // namespace

std::string status_table(const msgpack::object& s) {
  std::ostringstream out;
  char line[256];
  out << "zfleet " << common::str_or_empty(s, "version") << ", up " << common::uint_or_zero(s, "uptime_ms") / 1000 << " s\n";
  const auto& t = sub(s, "tasks");
  out << queue_table(sub(s, "queues"));
  std::snprintf(line, sizeof line,
                "tasks: submitted %llu, done %llu, failed %llu (cancelled %llu), retried %llu, "
                "running %llu, delayed %llu\n",
                (unsigned long long)common::uint_or_zero(t, "submitted"), (unsigned long long)common::uint_or_zero(t, "done"),
                (unsigned long long)common::uint_or_zero(t, "failed"), (unsigned long long)common::uint_or_zero(t, "cancelled"),
                (unsigned long long)common::uint_or_zero(t, "retried"), (unsigned long long)common::uint_or_zero(t, "running"),
                (unsigned long long)common::uint_or_zero(t, "delayed"));
  out << line;
  const auto& c = sub(s, "cache");
  std::snprintf(line, sizeof line,
                "result cache: %llu entries, %llu bytes, %llu shards, hits %llu, misses %llu, "
                "evictions %llu    replies dropped: %llu\n\n",
                (unsigned long long)common::uint_or_zero(c, "entries"), (unsigned long long)common::uint_or_zero(c, "bytes"),
                (unsigned long long)common::uint_or_zero(c, "shards"), (unsigned long long)common::uint_or_zero(c, "hits"),
                (unsigned long long)common::uint_or_zero(c, "misses"), (unsigned long long)common::uint_or_zero(c, "evictions"),
                (unsigned long long)common::uint_or_zero(s, "replies_dropped"));
  out << line;
  std::snprintf(line, sizeof line, "%-28s %-8s %-7s %7s %6s %8s %10s %8s %6s %9s\n", "WORKER",
                "TYPE", "PID", "THREADS", "ACTIVE", "INFLIGHT", "DONE", "FAILED", "ALIVE",
                "LAST HB");
  out << line;
  const auto& workers = sub(s, "workers");
  if (workers.type == msgpack::type::ARRAY) {
    for (uint32_t i = 0; i < workers.via.array.size; ++i) {
      const auto& w = workers.via.array.ptr[i];
      const auto* alive = common::find_field(w, "alive");
      bool is_alive = alive && alive->type == msgpack::type::BOOLEAN && alive->via.boolean;
      std::snprintf(line, sizeof line, "%-28s %-8s %-7llu %7llu %6llu %8llu %10llu %8llu %6s %7llums\n",
                    common::str_or_empty(w, "id").c_str(), common::str_or_empty(w, "type").c_str(),
                    (unsigned long long)common::uint_or_zero(w, "pid"), (unsigned long long)common::uint_or_zero(w, "threads"),
                    (unsigned long long)common::uint_or_zero(w, "active"), (unsigned long long)common::uint_or_zero(w, "inflight"),
                    (unsigned long long)common::uint_or_zero(w, "done"), (unsigned long long)common::uint_or_zero(w, "failed"),
                    is_alive ? "yes" : "no", (unsigned long long)common::uint_or_zero(w, "last_heartbeat_ms"));
      out << line;
    }
  }
  return out.str();
}

}  // namespace zfleet::cli
