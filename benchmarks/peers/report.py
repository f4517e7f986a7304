"""The header (date, machine, versions) and the output of the peers
benchmark: one text table with ratios, or JSON."""
import datetime
import json
import os
import platform
import time

NAMES = {"zfleet": "zfleet", "celery": "Celery", "rq": "RQ", "dask": "Dask"}
IO_SLOTS, IO_SLEEP_MS = 40, 10


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def _cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def _mem_gib():
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    return round(kb / 1024 / 1024, 1)


def burn_ms(n):
    """Median of 21 calls of tasks.burn(n) here, in ms: the CPU workload's
    per-task cost (2 processes can finish about 2000/ms tasks/s)."""
    import tasks
    times = []
    for _ in range(21):
        t = time.perf_counter()
        tasks.burn(n)
        times.append(time.perf_counter() - t)
    return sorted(times)[10] * 1000


def header(a):
    import msgpack
    import redis
    import zmq
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "cpu": _cpu_model(), "mem_gib": _mem_gib(),
                    "kernel": platform.release()},
        "load_start": loadavg(),
        "versions": {"python": platform.python_version(), "redis-server": a.redis_version,
                     "redis-py": redis.__version__,
                     "pyzmq": f"{zmq.__version__} (libzmq {zmq.zmq_version()})",
                     "msgpack": ".".join(map(str, msgpack.version))},
        "quick": a.quick,
        "bin_dir": a.bin_dir,
    }


def _summary(o):
    """An Outcome (or error string) as a JSON-ready dict."""
    if isinstance(o, str):
        return {"error": o}
    d = {"expected": o.expected, "done": o.done, "failed": o.failed,
         "unfinished": o.unfinished, "seconds": round(o.seconds, 3), "capped": o.capped}
    if o.seconds:
        d["tasks_per_s"] = round(o.rate, 1)
    if o.latencies_us:
        d["p50_us"] = round(o.percentile_us(0.50))
        d["p99_us"] = round(o.percentile_us(0.99))
    if hasattr(o, "p50"):
        d["p50_us"], d["p99_us"] = o.p50, o.p99
    if o.note:
        d["note"] = o.note
    return d


def to_json(ctx):
    out = {"header": ctx["header"], "time_limit_s": ctx["time_limit"],
           "burn_20000_ms": round(ctx["burn_ms"], 3),
           "workloads": [{k: (list(v) if isinstance(v, tuple) else v) for k, v in w.items()}
                         for w in ctx["workloads"]],
           "config": ctx["topos"], "results": {}}
    for s, per in ctx["results"].items():
        out["results"][s] = {k: _summary(o) for k, o in per.items()}
    return json.dumps(out, indent=2)


def _metric(o, metric):
    """The number a cell shows (None when there is none)."""
    if isinstance(o, str) or o is None:
        return None
    if metric == "rate":
        return o.rate if o.seconds else None
    if metric == "slots":
        return 100.0 * o.rate / (IO_SLOTS * 1000 / IO_SLEEP_MS) if o.seconds else None
    if hasattr(o, "p50"):
        return o.p50 if metric == "p50" else o.p99
    q = 0.5 if metric == "p50" else 0.99
    return o.percentile_us(q)


def _fmt(v, metric):
    if v is None:
        return "-"
    if metric == "rate":
        return f"{v:,.0f}" if v >= 10 else f"{v:.1f}"
    if metric == "slots":
        return f"{v:.1f}%"
    return f"{v:,.0f} us" if v < 10000 else f"{v / 1000:,.1f} ms"


def _mark(o):
    if isinstance(o, str):
        return " E"
    m = ""
    if o.capped:
        m += "*"
    if o.failed or (o.unfinished and not o.capped):
        m += "!"
    return f" {m}" if m else ""


def _ratio(z, p, metric):
    if z is None or p is None or z <= 0 or p <= 0 or metric == "slots":
        return ""
    r = z / p if metric == "rate" else p / z
    return f"{r:,.1f}x" if r < 100 else f"{r:,.0f}x"


def _rows(ctx):
    w = {x["key"]: x for x in ctx["workloads"]}
    n = {k: f"{w[k]['count']:,}" for k in w}
    return [
        ("noop", "rate", f"1. no-op x{n['noop']}, pipelined: tasks/s"),
        ("io", "rate", f"2. sleep 10 ms x{n['io']}, 4x10 slots: tasks/s"),
        ("io", "slots", "   % of the 4,000/s slot limit"),
        ("cpu", "rate", f"3. burn(20000) x{n['cpu']}, 2 processes: tasks/s"),
        ("rtt", "p50", f"4. {n['rtt']} sequential round trips: p50"),
        ("rtt", "p99", "   p99"),
    ]


def to_text(ctx):
    h, systems, res = ctx["header"], ctx["systems"], ctx["results"]
    peers = [s for s in systems if s != "zfleet"] if "zfleet" in systems else []
    cols = [NAMES[s] for s in systems] + [f"zfleet vs {NAMES[p]}" for p in peers]
    table = []
    for key, metric, label in _rows(ctx):
        vals = {s: _metric(res[s].get(key), metric) for s in systems}
        cells = [_fmt(vals[s], metric) + _mark(res[s].get(key)) for s in systems]
        cells += [_ratio(vals.get("zfleet"), vals[p], metric) for p in peers]
        table.append([label] + cells)
    if "zfleet" in systems:
        z = res["zfleet"]
        if "cpp_noop" in z:
            table.append(["   1. with zfleet-bench (C++ client)",
                          _fmt(_metric(z["cpp_noop"], "rate"), "rate")] + [""] * (len(cols) - 1))
        if "cpp_rtt" in z:
            table.append(["   4. with zfleet-bench (C++): p50 / p99",
                          f"{_fmt(z['cpp_rtt'].p50, 'p50')} / {_fmt(z['cpp_rtt'].p99, 'p99')}"]
                         + [""] * (len(cols) - 1))
    widths = [max(len(r[i]) for r in table + [["workload"] + cols]) for i in range(len(cols) + 1)]
    line = lambda r: "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])  # noqa: E731
                               for i, c in enumerate(r)).rstrip()
    v = h["versions"]
    m = h["machine"]
    out = [
        "zfleet vs Celery, RQ, Dask (benchmarks/peers/run" + (" --quick)" if h["quick"] else ")"),
        f"date     {h['date']}",
        f"machine  {m['nproc']} cores, {m['cpu']}, {m['mem_gib']} GiB, Linux {m['kernel']}",
        f"load     {h['load_start']} at start, {h.get('load_end', '?')} at end "
        f"(1/5/15 min; the machine is shared), total {h.get('total_s', '?')} s",
        "         1-min load from start to end of each system: " + ", ".join(
            f"{NAMES[s]} {x}" for s, x in h.get("load_per_system", {}).items()),
        "versions " + ", ".join(f"{NAMES.get(k, k)} {val}" for k, val in v.items()),
        "",
        line(["workload"] + cols),
        line(["-" * widths[0]] + ["-" * x for x in widths[1:]]),
    ]
    out += [line(r) for r in table]
    out += [""] + _notes(ctx)
    return "\n".join(out)


def _notes(ctx):
    res, topos = ctx["results"], ctx["topos"]
    notes = ["Each figure: wall time from the first submit to the last result fetched, Python",
             "client (zfleet: pyzmq DEALER, plain submits, window 256), after a warm-up on the",
             "same workers. Ratio: how many times zfleet is faster (throughput zfleet/peer,",
             "latency peer/zfleet).",
             f"burn(20000) takes {ctx['burn_ms']:.2f} ms (median) in one process here: 2 "
             f"processes finish at most about {2000 / ctx['burn_ms']:,.0f} tasks/s."]
    notes.append("Workers: workloads 1, 3, 4 on 2 processes x 1 slot; workload 2 on 4 x 10:")
    for s, t in topos.items():
        if t:
            notes.append(f"  {NAMES[s]:7} {t.get('proc2', '?')}; {t.get('io40', '?')}")
    flagged = []
    for s, per in res.items():
        for k, o in per.items():
            if isinstance(o, str):
                flagged.append(f"  E {NAMES[s]} {k}: {o}")
                continue
            if o.capped:
                flagged.append(f"  * {NAMES[s]} {k}: cut at the {ctx['time_limit']:.0f} s limit: "
                               f"{o.done:,} of {o.expected:,} done in {o.seconds:.1f} s, rate over those")
            if o.failed or (o.unfinished and not o.capped):
                flagged.append(f"  ! {NAMES[s]} {k}: {o.failed} failed, {o.unfinished} lost "
                               f"of {o.expected:,}")
            if o.note:
                flagged.append(f"    {NAMES[s]} {k}: {o.note}")
    if flagged:
        notes.append("Marks:")
        notes += flagged
    else:
        notes.append("Every task of every workload finished without error.")
    return notes
