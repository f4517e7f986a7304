"""broker.metrics (issue 13): Prometheus text on GET /metrics, scraped from a
real fleet over HTTP. The text must parse (prom_check: a strict reader plus
Debian's prometheus_client parser), every family the issue names must be
there, and the values must move by exactly what the test did."""
import os
import socket
import subprocess
import time
import unittest
import urllib.request

import prom_check
from harness import BROKER_BIN, Fleet, FleetTestCase, free_ports, poll, pack

SCRIPTS = {
    "fail.py": """
        def main():
            raise ValueError("meant to fail")
    """,
    "nap.py": """
        import time
        def main(s):
            time.sleep(s)
            return s
    """,
}

# Every family issue 13 names, by the name it is exported under.
REQUIRED = {
    "zfleet_tasks_submitted_total": "counter", "zfleet_tasks_done_total": "counter",
    "zfleet_tasks_failed_total": "counter", "zfleet_tasks_retried_total": "counter",
    "zfleet_tasks_cancelled_total": "counter", "zfleet_tasks_running": "gauge",
    "zfleet_queue_depth": "gauge", "zfleet_queue_delayed": "gauge",
    "zfleet_task_queue_wait_seconds": "histogram", "zfleet_task_run_seconds": "histogram",
    "zfleet_worker_inflight": "gauge", "zfleet_worker_capacity": "gauge", "zfleet_worker_up": "gauge",
    "zfleet_worker_heartbeat_age_seconds": "gauge",
    "zfleet_cache_entries": "gauge", "zfleet_cache_bytes": "gauge", "zfleet_cache_hits_total": "counter",
    "zfleet_cache_misses_total": "counter", "zfleet_cache_evictions_total": "counter",
    "zfleet_replies_dropped_total": "counter", "zfleet_invalid_messages_total": "counter",
    "zfleet_log_messages_dropped_total": "counter",
}
JOURNAL = {"zfleet_journal_bytes": "gauge", "zfleet_journal_records_total": "counter",
           "zfleet_journal_fsync_seconds": "histogram"}


def metrics_fleet_args(**extra):
    port = free_ports(1)[0]
    broker = {"metrics": "127.0.0.1:%d" % port}
    broker.update(extra)
    return dict(broker=broker, scripts=SCRIPTS)


def scrape(fleet):
    url = "http://%s/metrics" % fleet.broker_cfg["metrics"]
    with urllib.request.urlopen(url, timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        return r.status, ctype, r.read().decode("utf-8")


class Metrics(FleetTestCase):
    FLEET = metrics_fleet_args()

    def families(self):
        status, ctype, text = scrape(self.fleet)
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return prom_check.parse(text)

    def test_every_named_family_is_there_and_parses(self):
        fams = self.families()
        for name, kind in REQUIRED.items():
            self.assertIn(name, fams)
            self.assertEqual(fams[name]["type"], kind, name)
        for name in JOURNAL:
            self.assertNotIn(name, fams, "journal off: no journal figures")
        # Every pool and every failure code has its series from the start.
        for pool in ("io", "cpu"):
            prom_check.value(fams, "zfleet_queue_depth", pool=pool)
            for code in ("exception", "timeout", "cancelled", "worker_lost", "script_not_found"):
                prom_check.value(fams, "zfleet_tasks_failed_total", pool=pool, code=code)
        for endpoint in ("frontend", "results", "backend", "status"):
            prom_check.value(fams, "zfleet_invalid_messages_total", endpoint=endpoint)

    def test_one_series_per_worker_alive_with_its_capacity(self):
        fams = self.families()
        st = self.client.status()
        alive = [w for w in st["workers"] if w["alive"]]
        self.assertEqual(len(alive), 3)
        for w in alive:
            labels = dict(worker=w["id"], pool=w["type"], host=w["host"])
            self.assertEqual(prom_check.value(fams, "zfleet_worker_up", **labels), 1)
            self.assertEqual(prom_check.value(fams, "zfleet_worker_threads", **labels), w["threads"])
            self.assertGreaterEqual(prom_check.value(fams, "zfleet_worker_capacity", **labels), w["threads"])
            self.assertLess(prom_check.value(fams, "zfleet_worker_heartbeat_age_seconds", **labels), 30)

    def test_values_move_by_what_was_done(self):
        v = prom_check.value
        before = self.families()
        ids = [self.client.submit_ok("builtin:echo", [i]) for i in range(20)]
        ids += [self.client.submit_ok("fail.py") for _ in range(3)]
        ids += [self.client.submit_ok("builtin:echo", [1], type="cpu")]
        ids.append(self.client.submit_ok("nap.py", [5], timeout_ms=200))  # times out
        delayed = self.client.submit_ok("builtin:echo", [0], delay_ms=600000)
        cancel = self.client.request("results", {"op": "cancel", "id": delayed})
        self.assertEqual(cancel["outcome"], "cancelled", cancel)
        results = self.client.wait_many(ids)
        self.assertEqual([r["state"] for r in results], ["done"] * 20 + ["failed"] * 3 + ["done", "failed"])
        self.client.get(ids[0])                       # a hit
        self.client.get("never-submitted-id")         # a miss
        self.client.raw("frontend", b"\xc1 not msgpack")
        self.client.raw("results", pack([1, 2, 3]))
        after = poll(self.families, lambda f: v(f, "zfleet_tasks_running", pool="io") == 0)

        def delta(name, **labels):
            return v(after, name, **labels) - v(before, name, **labels)
        self.assertEqual(delta("zfleet_tasks_submitted_total", pool="io"), 20 + 3 + 1 + 1)
        self.assertEqual(delta("zfleet_tasks_submitted_total", pool="cpu"), 1)
        self.assertEqual(delta("zfleet_tasks_done_total", pool="io"), 20)
        self.assertEqual(delta("zfleet_tasks_done_total", pool="cpu"), 1)
        self.assertEqual(delta("zfleet_tasks_failed_total", pool="io", code="exception"), 3)
        self.assertEqual(delta("zfleet_tasks_failed_total", pool="io", code="timeout"), 1)
        self.assertEqual(delta("zfleet_tasks_failed_total", pool="io", code="cancelled"), 1)
        self.assertEqual(delta("zfleet_tasks_cancelled_total", pool="io"), 1)
        # 24 io runs (the cancelled one never ran), 1 cpu run: one queue wait
        # and one run time each.
        self.assertEqual(delta("zfleet_task_queue_wait_seconds_count", pool="io"), 24)
        self.assertEqual(delta("zfleet_task_run_seconds_count", pool="io"), 24)
        self.assertEqual(delta("zfleet_task_run_seconds_count", pool="cpu"), 1)
        # The timed-out run lasted its 200 ms deadline: it sits above 0.131 s.
        self.assertGreaterEqual(delta("zfleet_task_run_seconds_sum", pool="io"), 0.2)
        slow = (delta("zfleet_task_run_seconds_count", pool="io") -
                delta("zfleet_task_run_seconds_bucket", pool="io", le="0.131072"))
        self.assertEqual(slow, 1)
        self.assertEqual(delta("zfleet_invalid_messages_total", endpoint="frontend"), 1)
        self.assertEqual(delta("zfleet_invalid_messages_total", endpoint="results"), 1)
        self.assertGreaterEqual(delta("zfleet_cache_hits_total"), 1)
        self.assertGreaterEqual(delta("zfleet_cache_misses_total"), 1)
        self.assertGreaterEqual(delta("zfleet_cache_entries"), len(ids))
        self.assertEqual(v(after, "zfleet_queue_depth", pool="io"), 0)
        self.assertEqual(v(after, "zfleet_queue_delayed", pool="io"), 0)

    def test_status_reads_the_same_figures(self):
        self.client.wait_many([self.client.submit_ok("builtin:echo", [i], type="cpu") for i in range(5)])
        fams = self.families()
        st = self.client.status()
        for pool in ("io", "cpu"):
            q = st["queues"][pool]
            self.assertEqual(q["submitted"], prom_check.value(fams, "zfleet_tasks_submitted_total", pool=pool))
            self.assertEqual(q["done"], prom_check.value(fams, "zfleet_tasks_done_total", pool=pool))

    def test_running_and_queue_depth_while_busy(self):
        # 2 io workers x 4 threads, prefetch aside: 12 naps keep 8 running.
        ids = [self.client.submit_ok("nap.py", [1.5]) for _ in range(12)]
        self.addCleanup(self.client.wait_many, ids)  # nothing left running for the next test

        def io_inflight(f):
            return sum(v for n, ls, v in f["zfleet_worker_inflight"]["samples"] if ls["pool"] == "io")
        # The per-worker figures come from the dispatcher's board, published
        # a little after the pool gauges move: wait for both to agree.
        fams = poll(self.families, lambda f: prom_check.value(f, "zfleet_tasks_running", pool="io") >= 8
                    and io_inflight(f) == 12 - prom_check.value(f, "zfleet_queue_depth", pool="io"))
        self.assertGreaterEqual(prom_check.value(fams, "zfleet_tasks_running", pool="io"), 8)
        self.assertEqual(io_inflight(fams), 12 - prom_check.value(fams, "zfleet_queue_depth", pool="io"))

    def test_other_paths_are_404(self):
        url = "http://%s/nothing" % self.fleet.broker_cfg["metrics"]
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url, timeout=10)
        self.assertEqual(e.exception.code, 404)


class JournalMetrics(FleetTestCase):
    FLEET = None

    def test_journal_figures_when_on(self):
        # A relative journal path is relative to the config file: the fleet's folder.
        fleet = self.new_fleet(**metrics_fleet_args(journal={"path": "journal", "fsync": "always"}))
        client = fleet.client()
        fams0 = prom_check.parse(scrape(fleet)[2])
        client.wait_many([client.submit_ok("builtin:echo", [i]) for i in range(10)])
        fams = prom_check.parse(scrape(fleet)[2])
        for name, kind in JOURNAL.items():
            self.assertEqual(fams[name]["type"], kind, name)
        v = prom_check.value
        self.assertGreater(v(fams, "zfleet_journal_bytes"), 0)
        # An ACCEPT and a FINISH (at least) per task, each synced.
        self.assertGreaterEqual(v(fams, "zfleet_journal_records_total") - v(fams0, "zfleet_journal_records_total"), 20)
        self.assertGreater(v(fams, "zfleet_journal_fsync_seconds_count"),
                           v(fams0, "zfleet_journal_fsync_seconds_count"))


class MetricsStartErrors(unittest.TestCase):
    def run_broker(self, *args):
        return subprocess.run([BROKER_BIN, "--io-processes", "0", "--cpu-processes", "0"] + list(args),
                              capture_output=True, text=True, timeout=30)

    def test_not_host_port_is_a_config_error_naming_file_line_and_key(self):
        path = os.path.join(self.tmp(), "bad.yaml")
        with open(path, "w") as f:
            f.write("broker:\n  metrics: 9105\n")
        r = self.run_broker("-c", path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(path, r.stderr)
        self.assertIn(":2", r.stderr)
        self.assertIn("broker.metrics", r.stderr)

    def test_address_in_use_stops_the_start(self):
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        self.addCleanup(holder.close)
        port = holder.getsockname()[1]
        ends = ["tcp://127.0.0.1:%d" % p for p in free_ports(4)]
        start = time.monotonic()
        r = self.run_broker("--frontend", ends[0], "--results", ends[1], "--backend", ends[2],
                            "--status", ends[3], "--metrics", "127.0.0.1:%d" % port)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("cannot listen on 127.0.0.1:%d" % port, r.stderr)
        self.assertLess(time.monotonic() - start, 20)

    def tmp(self):
        import tempfile
        d = tempfile.mkdtemp(prefix="zfleet-it-metrics-")
        self.addCleanup(__import__("shutil").rmtree, d, True)
        return d


if __name__ == "__main__":
    unittest.main()
