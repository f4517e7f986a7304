"""zfleet-bench --plot FILE.png (issue 13): small real runs draw PNGs with
gnuplot. Each PNG is checked by reading it (signature, IHDR size, pixels:
the data colours cover part of the image, so it is not an empty frame) and,
with --plot-script, the gnuplot script kept next to it holds the points the
run measured. Errors (missing or read-only folder, no gnuplot, gnuplot
failing after the run) must be clear and exit non-zero. Nothing here
depends on timings."""
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import tempfile
import unittest
import zlib

from harness import BIN_DIR, SOURCE_DIR, FleetTestCase

BENCH = os.path.join(BIN_DIR, "zfleet-bench")
TASKS_DIR = os.path.join(SOURCE_DIR, "config", "tasks")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
W, H = 480, 200  # --plot-size of these tests: one panel; panels are stacked


def read_png(path):
    """(width, height, rows of (r, g, b) tuples), for 8-bit RGB/RGBA PNGs
    (what gnuplot's pngcairo writes)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == PNG_SIGNATURE, "not a PNG: %r" % data[:8]
    pos, idat, ihdr = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, color, _, _, interlace = ihdr
    assert depth == 8 and color in (2, 6) and interlace == 0, ihdr
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, prev = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        unfilter(kind, line, prev, bpp)
        rows.append([tuple(line[x:x + 3]) for x in range(0, stride, bpp)])
        prev = line
    return width, height, rows


def unfilter(kind, line, prev, bpp):
    for i in range(len(line)):
        a = line[i - bpp] if i >= bpp else 0
        b = prev[i]
        c = prev[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + a) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + b) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (a + b) // 2) & 0xFF
        elif kind == 4:
            p = a + b - c
            pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            line[i] = (line[i] + pred) & 0xFF


def coloured_share(rows):
    """Share of pixels that are coloured (not white, grey or black): the drawn
    data and the legend's samples. Axes, grid, text and markers are grey."""
    n = sum(1 for row in rows for (r, g, b) in row if max(r, g, b) - min(r, g, b) > 30)
    return n / float(len(rows) * len(rows[0]))


def data_blocks(script):
    """{name: [(x, y), ...]} of the inline data blocks of a gnuplot script."""
    blocks = {}
    for name, body in re.findall(r"^(\$\w+) << EOD\n(.*?)^EOD$", script, re.S | re.M):
        blocks[name] = [tuple(float(v) for v in line.split()) for line in body.splitlines()]
    return blocks


class PlotChecks:
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zfleet-it-plot-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_bench(self, args, env=None, expect_rc=0, prefix=()):
        proc = subprocess.run([*prefix, BENCH, "--no-progress", *args], capture_output=True,
                              text=True, timeout=240, env=dict(os.environ, **(env or {})))
        wanted = expect_rc if isinstance(expect_rc, tuple) else (expect_rc,)
        self.assertIn(proc.returncode, wanted, proc.stdout + proc.stderr)
        return proc

    def plot_args(self, name="plot.png"):
        self.png = os.path.join(self.dir, name)
        return ["--plot", self.png, "--plot-size", "%dx%d" % (W, H), "--plot-script"]

    def assertPlot(self, path, panels, min_share=0.006):
        """Returns the data blocks of the script kept next to it."""
        width, height, rows = read_png(path)
        self.assertEqual((width, height), (W, H * panels))
        # Not blank: at 480x200, the same frames with every point at y = 0
        # (axes, text, legend samples) have 0.0026 of their pixels coloured
        # with the latency legend (a filled sample), 0.0007 with scaling's; a
        # latency distribution of 100 tasks has 0.017, the two scaling points
        # and their lines 0.005.
        self.assertGreater(coloured_share(rows), min_share, path)
        with open(os.path.splitext(path)[0] + ".gp") as f:
            script = f.read()
        self.assertIn("set terminal pngcairo size %d,%d" % (W, H * panels), script)
        return data_blocks(script)

    def assertLatencyBlocks(self, blocks, panel, count):
        bins, cumulative = blocks["$d%d_0" % panel], blocks["$d%d_1" % panel]
        self.assertGreaterEqual(len(bins), 4)                    # at least one bar
        self.assertEqual((bins[0][1], bins[-1][1]), (0.0, 0.0))  # outline closed at 0
        self.assertEqual(cumulative[-1][1], 100.0)
        xs = [x for x, _ in cumulative]
        self.assertEqual(xs, sorted(xs))
        self.assertLessEqual(len(cumulative), count + 1)


class BenchPlotOnFleet(PlotChecks, FleetTestCase):
    FLEET = dict(workers={"io": {"processes": 1, "threads": 2}, "cpu": {"processes": 0}})

    def fleet_args(self):
        e = self.fleet.endpoints
        return ["--frontend", e["frontend"], "--results", e["results"]]

    def test_latency(self):
        proc = self.run_bench([*self.fleet_args(), *self.plot_args(), "latency", "--count", "200"])
        self.assertIn("round trip", proc.stdout)         # the table, as without --plot
        self.assertIn("plot: " + self.png, proc.stdout)
        blocks = self.assertPlot(self.png, panels=1)
        self.assertLatencyBlocks(blocks, 0, 200)

    def test_rate_over_time(self):
        self.run_bench([*self.fleet_args(), *self.plot_args(), "rate", "--task", "echo",
                        "--rate", "500", "--duration", "1"])
        blocks = self.assertPlot(self.png, panels=2)
        done, sent, offered = blocks["$d0_0"], blocks["$d0_1"], blocks["$d0_2"]
        # 100 ms bins, points in their middle; the last task is due at 0.998 s
        # and cannot be sent or done earlier, so there are at least 10 bins.
        for points in (done, sent):
            self.assertGreaterEqual(len(points), 10)
            xs = [x for x, _ in points]
            self.assertAlmostEqual(xs[0], 0.05)
            for a, b in zip(xs[:-2], xs[1:-1]):  # the last bin may be narrower
                self.assertAlmostEqual(b - a, 0.1)
        self.assertEqual(offered, [(0.0, 500.0), (0.998, 500.0)])
        self.assertLatencyBlocks(blocks, 1, 500)

    def test_no_result_draws_no_data(self):
        # py-sleep on a fleet without sleepy.py: every task fails, so there
        # is no latency to draw; the panel says so and the PNG is still made.
        self.run_bench([*self.fleet_args(), *self.plot_args(), "rate", "--task", "py-sleep:1",
                        "--rate", "500", "--count", "50"])
        width, height, _ = read_png(self.png)
        self.assertEqual((width, height), (W, 2 * H))
        with open(self.png[:-4] + ".gp") as f:
            script = f.read()
        self.assertEqual(script.count("set label 'no data'"), 1)
        blocks = data_blocks(script)
        self.assertEqual(blocks["$d0_0"], [])         # no result of a done task
        self.assertTrue(blocks["$d0_1"])              # the sends (0.1 s: one bin, a point)

    def test_throughput_with_json(self):
        proc = self.run_bench([*self.fleet_args(), "--json", *self.plot_args(), "throughput",
                               "--count", "300"])
        self.assertEqual(json.loads(proc.stdout)["done"], 300)  # stdout stays one JSON object
        blocks = self.assertPlot(self.png, panels=2)
        self.assertLatencyBlocks(blocks, 0, 300)  # queued
        self.assertLatencyBlocks(blocks, 1, 300)  # run

    def test_script_is_temporary_without_plot_script(self):
        png = os.path.join(self.dir, "bare.png")
        self.run_bench([*self.fleet_args(), "--plot", png, "latency", "--count", "20"])
        width, height, _ = read_png(png)
        self.assertEqual((width, height), (900, 340))  # the default --plot-size
        self.assertEqual(os.listdir(self.dir), ["bare.png"])

    def test_gnuplot_failing_after_the_run(self):
        # A stand-in that answers --version but fails to draw, as a broken
        # gnuplot would: the run's own output comes first, then the error.
        fake = os.path.join(self.dir, "fake-gnuplot")
        with open(fake, "w") as f:
            f.write('#!/bin/sh\n[ "$1" = --version ] && exit 0\n'
                    'echo "line 7: unknown terminal type" >&2\nexit 3\n')
        os.chmod(fake, 0o755)
        proc = self.run_bench([*self.fleet_args(), *self.plot_args(), "latency", "--count", "20"],
                              env={"ZFLEET_GNUPLOT": fake}, expect_rc=1)
        self.assertIn("round trip", proc.stdout)
        self.assertIn("`%s %s` exited with code 3" % (fake, self.png[:-4] + ".gp"), proc.stderr)
        self.assertIn("line 7: unknown terminal type", proc.stderr)
        self.assertFalse(os.path.exists(self.png))


class BenchPlotSpawned(PlotChecks, unittest.TestCase):
    def test_scaling(self):
        self.run_bench(["--scripts", TASKS_DIR, *self.plot_args(), "scaling", "--task", "echo",
                        "--workers", "1,2", "--threads", "2", "--count", "100", "--warmup", "10"])
        blocks = self.assertPlot(self.png, panels=1, min_share=0.003)
        measured, linear = blocks["$d0_0"], blocks["$d0_1"]
        self.assertEqual([x for x, _ in measured], [1.0, 2.0])
        self.assertTrue(all(y > 0 for _, y in measured), measured)
        self.assertEqual(linear[0], measured[0])
        self.assertAlmostEqual(linear[1][1], 2 * measured[0][1], delta=1)

    def test_suite_writes_one_file_per_figure(self):
        proc = self.run_bench(["--scripts", TASKS_DIR, "--spawn-io", "1x2", "--spawn-cpu", "1",
                               "--transport-count", "100", *self.plot_args("suite.png"), "suite",
                               "--count", "400"], expect_rc=(0, 3))  # 3: a bar not met (tiny run)
        for name in ("latency", "scaling"):
            path = os.path.join(self.dir, "suite-%s.png" % name)
            self.assertIn("plot: " + path, proc.stdout)
            self.assertPlot(path, panels=1, min_share=0.003)
        self.assertFalse(os.path.exists(self.png))

    def test_burst(self):
        # Two spawned fleets with one pool of 2-thread processes: fixed at 1,
        # and adaptive 1-2. The figures depend on timing; what is checked is
        # that each panel draws what the JSON reports: one queue-wait point
        # per task done, and a process count within the pool's bounds.
        proc = self.run_bench(["--scripts", TASKS_DIR, "--json", *self.plot_args(), "burst",
                               "--task", "sleep:20", "--rate", "150", "--duration", "1",
                               "--min", "1", "--max", "2", "--threads", "2", "--lead", "0.3",
                               "--tail", "1", "--modes", "fixed-min,adaptive"])
        report = json.loads(proc.stdout)
        self.assertEqual(report["scenario"], "burst")
        modes = report["modes"]
        self.assertEqual([m["mode"] for m in modes], ["fixed-min", "adaptive"])
        self.assertEqual([m["processes"] for m in modes], ["1", "1-2"])
        blocks = self.assertPlot(self.png, panels=2, min_share=0.003)
        for panel, m in enumerate(modes):
            self.assertEqual((m["tasks"], m["done"], m["lost"], m["failed"]), (150, 150, 0, 0), m)
            self.assertGreater(m["mean_rss_mib"], 0, m)
            waits, processes = blocks["$d%d_0" % panel], blocks["$d%d_1" % panel]
            self.assertEqual(len(waits), 150)
            self.assertTrue(all(0.3 <= t and w >= 0 for t, w in waits), waits[:5])
            counts = {int(y) for _, y in processes}
            self.assertEqual(max(counts), m["max_processes"], m)
            self.assertTrue(counts <= ({1} if panel == 0 else {1, 2}), counts)
            times = [t for t, _ in processes]
            self.assertEqual(times, sorted(times))
        self.assertLessEqual(modes[0]["queue_wait_p50_ms"], modes[0]["queue_wait_max_ms"])

    def test_transport(self):
        self.run_bench([*self.plot_args(), "transport", "--count", "100"])
        self.assertLatencyBlocks(self.assertPlot(self.png, panels=1), 0, 100)


class BenchPlotRefused(PlotChecks, unittest.TestCase):
    """Problems found before the run: exit 2 at once, saying what is wrong."""

    def refused(self, *args, env=None, as_user=()):
        proc = self.run_bench(["--spawn", *args, "latency", "--count", "10"], env=env,
                              expect_rc=2, prefix=as_user)
        self.assertEqual(proc.stdout, "")
        return proc.stderr

    def test_missing_folder(self):
        png = os.path.join(self.dir, "no-such-folder", "x.png")
        err = self.refused("--plot", png)
        self.assertIn("--plot %s: folder %s does not exist" % (png, os.path.dirname(png)), err)

    def test_folder_is_a_file(self):
        open(os.path.join(self.dir, "file"), "w").close()
        err = self.refused("--plot", os.path.join(self.dir, "file", "x.png"))
        self.assertIn("is not a folder", err)

    def test_read_only_folder(self):
        # Root writes in read-only folders: run the bench as nobody then.
        as_user = ()
        if os.geteuid() == 0:
            if not shutil.which("setpriv"):
                self.skipTest("root, and no setpriv to run as another user")
            as_user = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
            if subprocess.run([*as_user, BENCH, "--help"], capture_output=True).returncode != 0:
                self.skipTest("root, and nobody cannot run %s" % BENCH)
            os.chmod(self.dir, 0o755)
        folder = os.path.join(self.dir, "ro")
        os.mkdir(folder)
        os.chmod(folder, stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP |
                 stat.S_IROTH | stat.S_IXOTH)
        err = self.refused("--plot", os.path.join(folder, "x.png"), as_user=as_user)
        self.assertIn("cannot write in folder %s: Permission denied" % folder, err)

    def test_no_gnuplot(self):
        err = self.refused("--plot", os.path.join(self.dir, "x.png"),
                           env={"ZFLEET_GNUPLOT": "/nonexistent/gnuplot"})
        self.assertIn("cannot run `/nonexistent/gnuplot --version`", err)
        self.assertIn("gnuplot-nox", err)

    def test_bad_size(self):
        err = self.refused("--plot", os.path.join(self.dir, "x.png"), "--plot-size", "12x9000")
        self.assertIn("--plot-size 12x9000", err)

    def test_balance_has_no_plot(self):
        proc = self.run_bench(["--spawn", "--plot", os.path.join(self.dir, "x.png"), "balance"],
                              expect_rc=2)
        self.assertIn("balance has nothing to plot", proc.stderr)


if __name__ == "__main__":
    unittest.main()
