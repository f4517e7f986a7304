#include "tools/cli/watch_model.h"

#include <algorithm>
#include <array>
#include <map>
#include <tuple>

#include "common/msgpack_io.h"

namespace zfleet::cli {
namespace {

int64_t signed_num(const msgpack::object& m, std::string_view key) {
  const auto* v = common::find_field(m, key);
  if (!v) return 0;
  if (v->type == msgpack::type::POSITIVE_INTEGER) return static_cast<int64_t>(v->via.u64);
  if (v->type == msgpack::type::NEGATIVE_INTEGER) return v->via.i64;
  return 0;
}

bool flag(const msgpack::object& m, std::string_view key, bool absent) {
  const auto* v = common::find_field(m, key);
  return v && v->type == msgpack::type::BOOLEAN ? v->via.boolean : absent;
}

// The items of array field `key` (none when absent or not an array).
std::vector<const msgpack::object*> items(const msgpack::object& m, std::string_view key) {
  std::vector<const msgpack::object*> out;
  const auto* v = common::find_field(m, key);
  if (v && v->type == msgpack::type::ARRAY)
    for (uint32_t i = 0; i < v->via.array.size; ++i) out.push_back(&v->via.array.ptr[i]);
  return out;
}

void read_pools(const msgpack::object& s, WatchSnapshot& out) {
  const auto* q = common::find_field(s, "queues");
  if (!q || q->type != msgpack::type::MAP) return;
  for (uint32_t i = 0; i < q->via.map.size; ++i) {
    const auto& kv = q->via.map.ptr[i];
    PoolRow p;
    p.name = kv.key.type == msgpack::type::STR ? std::string(common::as_view(kv.key)) : "?";
    p.depth = common::uint_or_zero(kv.val, "depth");
    p.delayed = common::uint_or_zero(kv.val, "delayed");
    p.running = common::uint_or_zero(kv.val, "running");
    p.submitted = common::uint_or_zero(kv.val, "submitted");
    p.done = common::uint_or_zero(kv.val, "done");
    p.failed = common::uint_or_zero(kv.val, "failed");
    out.pools.push_back(std::move(p));
  }
}

// Workers, with the restart count of the local slot whose process has the
// worker's pid (a hand-started worker has none).
void read_workers(const msgpack::object& s, WatchSnapshot& out) {
  std::map<int64_t, uint64_t> restarts_by_pid;
  for (const auto* l : items(s, "local_workers")) {
    int64_t pid = signed_num(*l, "pid");
    if (pid > 0) restarts_by_pid[pid] = common::uint_or_zero(*l, "restarts");
    bool looping = flag(*l, "crash_looping", false);
    if (pid <= 0 || looping) {
      std::string what = common::str_or_empty(*l, "type") + "#" + std::to_string(common::uint_or_zero(*l, "slot"));
      std::string why = looping ? "crash looping" : "restarting";
      if (auto last = common::str_or_empty(*l, "last_exit"); !last.empty()) why += ", last exit " + last;
      out.restarting.push_back(what + " (" + why + ")");
    }
  }
  for (const auto* w : items(s, "workers")) {
    WorkerRow r;
    r.id = common::str_or_empty(*w, "id");
    r.pool = common::str_or_empty(*w, "type");
    r.host = common::str_or_empty(*w, "host");
    r.pid = signed_num(*w, "pid");
    r.threads = common::uint_or_zero(*w, "threads");
    r.active = common::uint_or_zero(*w, "active");
    r.inflight = common::uint_or_zero(*w, "inflight");
    r.capacity = common::uint_or_zero(*w, "capacity");
    r.done = common::uint_or_zero(*w, "done");
    r.failed = common::uint_or_zero(*w, "failed");
    r.alive = flag(*w, "alive", true);
    r.heartbeat_age_ms = common::uint_or_zero(*w, "last_heartbeat_ms");
    r.rss_bytes = common::uint_or_zero(*w, "rss_bytes");
    if (auto it = restarts_by_pid.find(r.pid); it != restarts_by_pid.end()) r.restarts = it->second;
    out.workers.push_back(std::move(r));
  }
  std::map<std::string, uint64_t> live;
  for (const auto& w : out.workers) live[w.pool] += w.alive ? 1 : 0;
  for (auto& p : out.pools) p.workers = live[p.name];
}

std::optional<double> rate(uint64_t now, uint64_t before, double seconds) {
  if (seconds <= 0 || now < before) return std::nullopt;
  return static_cast<double>(now - before) / seconds;
}

constexpr std::array<std::pair<SortKey, std::string_view>, 12> kSortNames{{
    {SortKey::pool, "pool"}, {SortKey::id, "id"}, {SortKey::host, "host"}, {SortKey::pid, "pid"},
    {SortKey::active, "active"}, {SortKey::inflight, "inflight"}, {SortKey::done, "done"},
    {SortKey::failed, "failed"}, {SortKey::rate, "rate"}, {SortKey::rss, "rss"},
    {SortKey::restarts, "restarts"}, {SortKey::age, "age"}}};

// The number a numeric key sorts by (larger first); text keys return 0.
double metric(const WorkerRow& w, SortKey key) {
  switch (key) {
    case SortKey::pid: return static_cast<double>(w.pid);
    case SortKey::active: return static_cast<double>(w.active);
    case SortKey::inflight: return static_cast<double>(w.inflight);
    case SortKey::done: return static_cast<double>(w.done);
    case SortKey::failed: return static_cast<double>(w.failed);
    case SortKey::rate: return w.done_rate.value_or(-1.0);
    case SortKey::rss: return static_cast<double>(w.rss_bytes);
    case SortKey::restarts: return w.restarts ? static_cast<double>(*w.restarts) : -1.0;
    case SortKey::age: return w.alive ? static_cast<double>(w.heartbeat_age_ms) : 1e18;
    default: return 0;
  }
}

// <0, 0, >0: a before, tied with, after b in the key's natural order.
int compare(const WorkerRow& a, const WorkerRow& b, SortKey key) {
  switch (key) {
    case SortKey::pool: return a.pool.compare(b.pool);
    case SortKey::id: return a.id.compare(b.id);
    case SortKey::host: return a.host.compare(b.host);
    default: {
      double x = metric(a, key), y = metric(b, key);
      return x > y ? -1 : x < y ? 1 : 0;
    }
  }
}

}  // namespace

WatchSnapshot read_snapshot(const msgpack::object& s) {
  WatchSnapshot out;
  out.version = common::str_or_empty(s, "version");
  out.uptime_ms = common::uint_or_zero(s, "uptime_ms");
  if (const auto* t = common::find_field(s, "tasks")) {
    out.submitted = common::uint_or_zero(*t, "submitted");
    out.done = common::uint_or_zero(*t, "done");
    out.failed = common::uint_or_zero(*t, "failed");
    out.running = common::uint_or_zero(*t, "running");
    out.delayed = common::uint_or_zero(*t, "delayed");
    out.retried = common::uint_or_zero(*t, "retried");
    out.cancelled = common::uint_or_zero(*t, "cancelled");
  }
  read_pools(s, out);
  read_workers(s, out);
  return out;
}

void add_rates(WatchSnapshot& now, const WatchSnapshot* before) {
  if (!before || now.uptime_ms <= before->uptime_ms) return;  // first reply, or a new broker
  double seconds = static_cast<double>(now.uptime_ms - before->uptime_ms) / 1000.0;
  now.done_rate = rate(now.done, before->done, seconds);
  std::map<std::string_view, const PoolRow*> pools;
  for (const auto& p : before->pools) pools[p.name] = &p;
  for (auto& p : now.pools) {
    auto it = pools.find(p.name);
    if (it == pools.end()) continue;
    p.done_rate = rate(p.done, it->second->done, seconds);
    p.fail_rate = rate(p.failed, it->second->failed, seconds);
  }
  std::map<std::string_view, const WorkerRow*> workers;
  for (const auto& w : before->workers) workers[w.id] = &w;
  for (auto& w : now.workers) {
    auto it = workers.find(w.id);
    if (it != workers.end()) w.done_rate = rate(w.done, it->second->done, seconds);
  }
}

std::optional<SortKey> sort_key_named(std::string_view name) {
  for (const auto& [key, n] : kSortNames)
    if (n == name) return key;
  return std::nullopt;
}

std::string_view sort_key_name(SortKey key) {
  for (const auto& [k, n] : kSortNames)
    if (k == key) return n;
  return "?";
}

std::vector<std::string> sort_key_names() {
  std::vector<std::string> out;
  for (const auto& [key, n] : kSortNames) out.emplace_back(n);
  return out;
}

SortKey next_sort_key(SortKey key, int step) {
  int n = static_cast<int>(kSortNames.size());
  int i = 0;
  while (i < n && kSortNames[i].first != key) ++i;
  return kSortNames[((i + step) % n + n) % n].first;
}

void sort_workers(std::vector<WorkerRow>& rows, const WatchSort& sort) {
  auto before = [&](const WorkerRow& a, const WorkerRow& b) {
    int c = compare(a, b, sort.key);
    return c != 0 ? c < 0 : std::tie(a.pool, a.id) < std::tie(b.pool, b.id);
  };
  // Reversed is the whole list upside down, ties included, as in top: `r`
  // on a column where every row is equal still visibly does something.
  std::stable_sort(rows.begin(), rows.end(), [&](const WorkerRow& a, const WorkerRow& b) {
    return sort.reversed ? before(b, a) : before(a, b);
  });
}

}  // namespace zfleet::cli
