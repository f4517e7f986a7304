// Unit tests of the pure parts of `zfleet status --watch` (issue 13): human
// units, the column layout, reading a status reply, rates, sorting, and the
// screen at 80, 60 and 40 columns (no line wider than the terminal).
#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include <msgpack.hpp>

#include "tools/cli/human_units.h"
#include "tools/cli/text_columns.h"
#include "tools/cli/watch_model.h"
#include "tools/cli/watch_screen.h"

using namespace zfleet::cli;

namespace {

// A status reply of `workers` workers in pools io and cpu-heavy-pool-name,
// done counts `done_base + i`, at uptime `uptime_ms`.
msgpack::object_handle status_reply(int workers, uint64_t done_base, uint64_t uptime_ms) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pk.pack_map(6);
  pk.pack("op"); pk.pack("status");
  pk.pack("version"); pk.pack("1.2.3");
  pk.pack("uptime_ms"); pk.pack(uptime_ms);
  pk.pack("queues"); pk.pack_map(2);
  for (const char* pool : {"io", "cpu-heavy-pool-name"}) {
    pk.pack(pool); pk.pack_map(6);
    pk.pack("depth"); pk.pack(123456);
    pk.pack("delayed"); pk.pack(2);
    pk.pack("running"); pk.pack(3);
    pk.pack("submitted"); pk.pack(done_base * 2);
    pk.pack("done"); pk.pack(done_base);
    pk.pack("failed"); pk.pack(1);
  }
  pk.pack("workers"); pk.pack_array(static_cast<uint32_t>(workers));
  for (int i = 0; i < workers; ++i) {
    pk.pack_map(8);
    pk.pack("id"); pk.pack("io-a-very-long-host-name.example.org-" + std::to_string(1000 + i));
    pk.pack("type"); pk.pack(i % 2 ? "cpu-heavy-pool-name" : "io");
    pk.pack("host"); pk.pack("a-very-long-host-name.example.org");
    pk.pack("pid"); pk.pack(1000 + i);
    pk.pack("done"); pk.pack(done_base + static_cast<uint64_t>(i));
    pk.pack("alive"); pk.pack(i != 2);
    pk.pack("last_heartbeat_ms"); pk.pack(1500);
    pk.pack("rss_bytes"); pk.pack(uint64_t{35} << 20);
  }
  pk.pack("local_workers"); pk.pack_array(1);
  pk.pack_map(6);
  pk.pack("type"); pk.pack("io"); pk.pack("slot"); pk.pack(0); pk.pack("pid"); pk.pack(1000);
  pk.pack("restarts"); pk.pack(4); pk.pack("crash_looping"); pk.pack(false);
  pk.pack("last_exit"); pk.pack("");
  return msgpack::unpack(buf.data(), buf.size());
}

void check_fits(const std::vector<std::string>& lines, std::size_t width) {
  for (const auto& l : lines) {
    INFO("line: '" << l << "'");
    CHECK(display_width(l) <= width);
  }
}

}  // namespace

TEST_SUITE("cli_watch") {
  TEST_CASE("human units fit in 5 columns") {
    CHECK(human_count(0) == "0");
    CHECK(human_count(99999) == "99999");
    CHECK(human_count(123456) == "123k");
    CHECK(human_count(1234567) == "1.2M");
    CHECK(human_count(UINT64_MAX).size() <= 5);
    CHECK(human_bytes(512) == "512");
    CHECK(human_bytes(uint64_t{35} << 20) == "35M");
    CHECK(human_bytes(1536) == "1.5k");
    CHECK(human_bytes(UINT64_MAX).size() <= 5);
    CHECK(human_rate(std::nullopt) == "-");
    CHECK(human_rate(0.0) == "0");
    CHECK(human_rate(0.5) == "0.5");
    CHECK(human_rate(12.0) == "12");
    CHECK(human_rate(123.4) == "123");
    CHECK(human_rate(1234567.0) == "1.2M");
    CHECK(human_duration_ms(320) == "320ms");
    CHECK(human_duration_ms(1500) == "1.5s");
    CHECK(human_duration_ms(42000) == "42s");
    CHECK(human_duration_ms(12 * 60000) == "12m");
    CHECK(human_duration_ms(3 * 3600000) == "3h");
    CHECK(human_uptime_ms(3723000) == "1h02m");
  }

  TEST_CASE("cutting text with an ellipsis, by columns") {
    CHECK(fit_end("hostname", 8) == "hostname");
    CHECK(display_width(fit_end("hostname", 5)) == 5);
    CHECK(fit_end("hostname", 5).substr(0, 4) == "host");
    std::string mid = fit_middle("io-host-12345", 9);
    CHECK(display_width(mid) == 9);
    CHECK(mid.substr(0, 4) == "io-h");
    CHECK(mid.substr(mid.size() - 4) == "2345");  // the pid end stays
    CHECK(display_width("\xC3\xA9t\xC3\xA9") == 3);
    CHECK(display_width(fit_end("\xC3\xA9t\xC3\xA9-long", 4)) == 4);
  }

  TEST_CASE("columns: flexible ones grow, droppable ones go first, nothing overflows") {
    TextTable t({{"NAME", 4, true, true, 0, TextColumn::Cut::end},
                 {"A", 5, false, false, 2, TextColumn::Cut::end},
                 {"B", 5, false, false, 1, TextColumn::Cut::end}});
    t.add_row({"a-rather-long-name", "1", "2"});
    CHECK(t.render(80)[1] == "a-rather-long-name     1     2");
    CHECK(t.shown_headers(12) == std::vector<std::string>{"NAME", "B"});  // A (rank 2) went first
    CHECK(t.shown_headers(4) == std::vector<std::string>{"NAME"});
    check_fits(t.render(12), 12);
    check_fits(t.render(3), 3);  // narrower than even NAME: cut
  }

  TEST_CASE("a status reply read, with restarts matched by pid") {
    auto h = status_reply(4, 10, 5000);
    auto s = read_snapshot(h.get());
    CHECK(s.version == "1.2.3");
    REQUIRE(s.pools.size() == 2);
    CHECK(s.pools[0].name == "io");
    CHECK(s.pools[0].workers == 1);  // workers 0 and 2, and 2 is dead: live ones count
    CHECK(s.pools[1].workers == 2);
    REQUIRE(s.workers.size() == 4);
    CHECK(s.workers[0].restarts == 4u);
    CHECK_FALSE(s.workers[1].restarts.has_value());
    CHECK_FALSE(s.workers[2].alive);
  }

  TEST_CASE("rates from two replies, by the broker's uptime") {
    auto a = status_reply(2, 10, 5000), b = status_reply(2, 30, 7000);
    auto before = read_snapshot(a.get()), now = read_snapshot(b.get());
    add_rates(now, &before);
    REQUIRE(now.pools[0].done_rate.has_value());
    CHECK(*now.pools[0].done_rate == doctest::Approx(10.0));
    CHECK(*now.workers[1].done_rate == doctest::Approx(10.0));
    auto restarted = read_snapshot(a.get());  // uptime went back: a new broker
    add_rates(restarted, &now);
    CHECK_FALSE(restarted.pools[0].done_rate.has_value());
  }

  TEST_CASE("sorting: numbers largest first, text A-Z, r reverses, ties by pool and id") {
    auto h = status_reply(4, 10, 5000);
    auto rows = read_snapshot(h.get()).workers;
    sort_workers(rows, {SortKey::done, false});
    CHECK(rows.front().pid == 1003);
    sort_workers(rows, {SortKey::done, true});
    CHECK(rows.front().pid == 1000);
    sort_workers(rows, {SortKey::pool, false});
    CHECK(rows.front().pool == "cpu-heavy-pool-name");
    CHECK(sort_key_named("rss") == SortKey::rss);
    CHECK_FALSE(sort_key_named("nope").has_value());
    CHECK(next_sort_key(SortKey::age, 1) == SortKey::pool);
    CHECK(next_sort_key(SortKey::pool, -1) == SortKey::age);
    CHECK(sort_key_names().size() == 12);
  }

  TEST_CASE("the screen fits 80, 60 and 40 columns and the terminal's height") {
    auto h = status_reply(6, 123456789, 3723000);
    auto s = read_snapshot(h.get());
    for (std::size_t width : {80u, 60u, 40u, 20u}) {
      WatchView v;
      v.width = width;
      v.endpoint = "tcp://broker.example.org:5558";
      v.clock = "12:34:56";
      v.problem = "no answer from tcp://broker.example.org:5558 since 12:34:50";
      v.keys = true;
      CAPTURE(width);
      auto lines = render_watch(&s, v);
      check_fits(lines, width);
      v.height = 12;
      auto cut = render_watch(&s, v);
      CHECK(cut.size() <= 12);
      check_fits(cut, width);
    }
    WatchView v;
    auto lines = render_watch(&s, v);
    CHECK(lines[0].find("zfleet 1.2.3  up 1h02m") == 0);
    bool hint = lines.back() == "workers by pool";  // no keys read: no key hint
    CHECK(hint);
    CHECK(render_watch(nullptr, v).size() == 1);  // no reply yet: the header only
  }
}
