// Unit tests of the broker's metrics: LatencyHistogram's exact power-of-two
// edges, the Prometheus text writer (escaping, cumulative buckets), and
// render_metrics over a real BrokerState moved by the lifecycle (the rig of
// lifecycle_test_support.h): the figures of one task's life, per pool.
#include <string>

#include "broker/latency_histogram.h"
#include "broker/metrics_text.h"
#include "broker/prom_writer.h"
#include "common/host_port.h"
#include "lifecycle_test_support.h"

using zfleet::broker::LatencyHistogram;
using zfleet::broker::PromWriter;
using zfleet::test::Rig;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.rfind(line + "\n", 0) == 0;
}

}  // namespace

TEST_SUITE("metrics") {
  TEST_CASE("every power of two is a bucket edge: count_below is exact there") {
    LatencyHistogram h;
    for (uint64_t us : {0, 1, 15, 16, 17, 1000, 1024, 1025, 40'000'000}) h.record(us);
    CHECK(h.count() == 9);
    CHECK(h.sum_us() == 0 + 1 + 15 + 16 + 17 + 1000 + 1024 + 1025 + 40'000'000);
    CHECK(h.count_below(16) == 3);    // 0, 1, 15
    CHECK(h.count_below(32) == 5);    // and 16, 17
    CHECK(h.count_below(1024) == 6);  // and 1000
    CHECK(h.count_below(2048) == 8);  // and 1024, 1025
    CHECK(h.count_below(uint64_t{1} << 24) == 8);  // 40 s is past the last edge
    CHECK(h.count_below(uint64_t{1} << 25) == 8);  // in the overflow bucket: below no edge
  }

  TEST_CASE("the text writer escapes label values and writes cumulative buckets in seconds") {
    CHECK(zfleet::broker::prom_escape("a\"b\\c\nd") == "a\\\"b\\\\c\\nd");
    LatencyHistogram h;
    h.record(10);
    h.record(100);
    h.record(3'000'000);
    PromWriter w;
    w.family("x_seconds", "histogram", "help text").histogram("x_seconds", {{"pool", "io"}}, h);
    const std::string t = w.text();
    CHECK(t.rfind("# HELP x_seconds help text\n# TYPE x_seconds histogram\n", 0) == 0);
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"1.6e-05\"} 1"));
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"0.000128\"} 2"));
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"2.097152\"} 2"));
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"4.194304\"} 3"));
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"16.777216\"} 3"));
    CHECK(t.find("le=\"33.554432\"") == std::string::npos);
    CHECK(has_line(t, "x_seconds_bucket{pool=\"io\",le=\"+Inf\"} 3"));
    CHECK(has_line(t, "x_seconds_sum{pool=\"io\"} 3.00011"));
    CHECK(has_line(t, "x_seconds_count{pool=\"io\"} 3"));
  }

  TEST_CASE("render_metrics: one task's life in the figures of its pool") {
    Rig r;
    auto* w = r.worker("w", 2);
    r.submit("a");
    r.submit("b");
    r.step(50);  // both wait 50 us in the queue
    REQUIRE(r.sender.tasks.size() == 2);
    r.answer(w, r.sender.tasks[0], true);
    r.answer(w, r.sender.tasks[1], false);
    const std::string t = zfleet::broker::render_metrics(r.st, r.now);
    CHECK(has_line(t, "zfleet_tasks_submitted_total{pool=\"io\"} 2"));
    CHECK(has_line(t, "zfleet_tasks_done_total{pool=\"io\"} 1"));
    CHECK(has_line(t, "zfleet_tasks_failed_total{pool=\"io\",code=\"exception\"} 1"));
    CHECK(has_line(t, "zfleet_tasks_failed_total{pool=\"io\",code=\"timeout\"} 0"));
    CHECK(has_line(t, "zfleet_tasks_done_total{pool=\"cpu\"} 0"));
    CHECK(has_line(t, "zfleet_tasks_running{pool=\"io\"} 0"));
    CHECK(has_line(t, "zfleet_task_queue_wait_seconds_count{pool=\"io\"} 2"));
    CHECK(has_line(t, "zfleet_task_queue_wait_seconds_bucket{pool=\"io\",le=\"3.2e-05\"} 0"));
    CHECK(has_line(t, "zfleet_task_queue_wait_seconds_bucket{pool=\"io\",le=\"6.4e-05\"} 2"));
    CHECK(has_line(t, "zfleet_task_run_seconds_count{pool=\"io\"} 2"));
    CHECK(has_line(t, "zfleet_invalid_messages_total{endpoint=\"backend\"} 0"));
    CHECK(t.find("zfleet_journal_") == std::string::npos);  // journal off
    // Totals for `status` are the sums over the pools.
    const auto tot = r.st.metrics.totals(r.st.pools.size());
    CHECK(tot.submitted == 2);
    CHECK(tot.done == 1);
    CHECK(tot.failed == 1);
  }

  TEST_CASE("HOST:PORT of broker.metrics") {
    std::string host;
    int port = 0;
    CHECK(zfleet::common::split_host_port("127.0.0.1:9105", host, port));
    CHECK(host == "127.0.0.1");
    CHECK(port == 9105);
    CHECK(zfleet::common::split_host_port("[::1]:80", host, port));
    CHECK(host == "::1");
    CHECK(zfleet::common::split_host_port("localhost:65535", host, port));
    for (const char* bad : {"9105", ":9105", "host:", "host:0", "host:65536", "host:12a", "[::1:80", "h:123456"}) {
      CAPTURE(bad);
      CHECK_FALSE(zfleet::common::split_host_port(bad, host, port));
    }
  }
}
