#!/usr/bin/python3
"""zfleet side by side with Celery, RQ and Dask: the same four workloads on
each, one table with ratios. Started by benchmarks/peers/run, which installs
the Debian packages and starts the Redis this uses; run that, not this.

    benchmarks/peers/run [--quick] [--json] [--only zfleet,celery,rq,dask]
                         [--time-limit S] [--bin-dir DIR]

Every workload is timed from the first submit to the last result fetched,
after a warm-up of the same task on the same, already running, workers.
"""
import argparse
import os
import sys
import time
import traceback

import redis

import report
from common import HERE, Outcome, install_cleanup

# Table order. topo: proc2 = 2 worker processes x 1 slot, io40 = 4 x 10 slots.
WORKLOADS = [
    {"key": "noop", "topo": "proc2", "kind": "pipelined", "func": "noop", "args": (),
     "count": 20000, "warm": 200},
    {"key": "io", "topo": "io40", "kind": "pipelined", "func": "sleep_ms", "args": (10,),
     "count": 4000, "warm": 200},
    {"key": "cpu", "topo": "proc2", "kind": "pipelined", "func": "burn", "args": (20000,),
     "count": 2000, "warm": 20},
    {"key": "rtt", "topo": "proc2", "kind": "round_trips", "func": "noop", "args": (),
     "count": 2000, "warm": 50},
]
SYSTEMS = ["zfleet", "celery", "rq", "dask"]


def log(msg):
    print(f"[peers {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def parse_args():
    repo = os.path.dirname(os.path.dirname(HERE))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--redis-url", required=True, help="redis://127.0.0.1:PORT (started by run)")
    ap.add_argument("--bin-dir", default=os.path.join(repo, "build", "bin"),
                    help="where zfleet-broker, zfleet-worker, zfleet-bench are")
    ap.add_argument("--repo", default=repo)
    ap.add_argument("--logdir", required=True, help="folder for process logs and configs")
    ap.add_argument("--only", default=",".join(SYSTEMS), help="comma-separated systems")
    ap.add_argument("--quick", action="store_true", help="10x fewer tasks, 30 s time limit")
    ap.add_argument("--time-limit", type=float, default=None,
                    help="seconds per workload before it is cut (default 120, --quick 30)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    a = ap.parse_args()
    a.only = [s.strip().lower() for s in a.only.split(",") if s.strip()]
    bad = [s for s in a.only if s not in SYSTEMS]
    if bad:
        ap.error(f"unknown system(s) {bad}; choose from {SYSTEMS}")
    a.bin_dir = os.path.abspath(a.bin_dir)
    if a.time_limit is None:
        a.time_limit = 30.0 if a.quick else 120.0
    return a


def make_system(name, ctx):
    if name == "zfleet":
        from zfleet_peer import ZfleetSystem
        return ZfleetSystem(ctx)
    if name == "celery":
        from celery_peer import CelerySystem
        return CelerySystem(ctx)
    if name == "rq":
        from rq_peer import RqSystem
        return RqSystem(ctx)
    from dask_peer import DaskSystem
    return DaskSystem(ctx)


def run_workload(system, w, ctx):
    """Warm-up, then the measured run. Returns the Outcome."""
    run = getattr(system, w["kind"])
    warm = run(w["func"], w["args"], w["warm"], 60.0)
    if warm.done < warm.expected:
        log(f"  warm-up: {warm.done}/{warm.expected} done, {warm.failed} failed")
    out = run(w["func"], w["args"], w["count"], ctx.time_limit)
    if warm.done < warm.expected:
        out.note = f"warm-up finished {warm.done}/{warm.expected}"
    return out


def run_system(name, ctx, flush):
    """All workloads on one system, grouped by topology (one start each, and
    a restart after a workload that was cut at the time limit). Returns
    ({workload key: Outcome or error string}, {topo: description}, version)."""
    results, topos = {}, {}
    try:
        system = make_system(name, ctx)
    except Exception as e:  # noqa: BLE001 - a missing peer must not stop the others
        log(f"{name}: cannot load: {e}")
        return {w["key"]: f"cannot load: {e}" for w in WORKLOADS}, {}, "?"
    for topo in ("proc2", "io40"):
        todo = [w for w in WORKLOADS if w["topo"] == topo]
        topos[topo] = system.describe(topo)
        started = False
        try:
            for w in todo:
                if not started:
                    log(f"{name}: starting {system.describe(topo)}")
                    t = time.perf_counter()
                    system.start(topo)
                    started = True
                    log(f"{name}: ready in {time.perf_counter() - t:.1f} s")
                log(f"{name}: {w['key']} ({w['count']} tasks)")
                out = run_workload(system, w, ctx)
                results[w["key"]] = out
                log(f"{name}: {w['key']}: {out.done} done, {out.failed} failed, "
                    f"{out.unfinished} unfinished in {out.seconds:.2f} s"
                    f"{' (time limit)' if out.capped else ''}")
                if out.capped:  # leftovers would skew the next workload
                    system.stop()
                    flush()
                    started = False
                if name == "zfleet" and started:
                    extra_cpp(system, w, results)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as e:  # noqa: BLE001 - report it in the table, go on
            e = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            log(f"{name}: {topo}: error: {e}")
            traceback.print_exc(file=sys.stderr)
            for w in todo:
                results.setdefault(w["key"], f"error: {e}")
        finally:
            system.stop()
            flush()
    return results, topos, system.version()


def extra_cpp(system, w, results):
    """zfleet-bench (C++ client) on the same fleet for workloads 1 and 4."""
    if w["key"] == "noop":
        j = system.cpp_bench("throughput", "py-noop", w["count"])
        if j:
            o = Outcome(expected=w["count"], done=j["done"], failed=j["failed"],
                        seconds=j["seconds"])
            results["cpp_noop"] = o
    elif w["key"] == "rtt":
        j = system.cpp_bench("latency", "py-noop", w["count"])
        if j:
            o = Outcome(expected=w["count"], done=w["count"] - j["errors"], failed=j["errors"])
            o.p50, o.p99 = j["round_trip"]["p50_us"], j["round_trip"]["p99_us"]
            results["cpp_rtt"] = o


def main():
    a = parse_args()
    install_cleanup()
    if a.quick:
        for w in WORKLOADS:
            w["count"] //= 10
            w["warm"] = max(10, w["warm"] // 4)
    r = redis.Redis.from_url(a.redis_url)
    r.ping()
    a.redis_version = r.info("server")["redis_version"]
    header = report.header(a)
    cpu_ms = report.burn_ms(20000)
    log(f"burn(20000) in one process: {cpu_ms:.2f} ms; systems: {', '.join(a.only)}")
    results, topos, versions = {}, {}, {}
    t0 = time.perf_counter()
    header["load_per_system"] = {}
    for name in a.only:
        t, load0 = time.perf_counter(), report.loadavg().split()[0]
        results[name], topos[name], versions[name] = run_system(name, a, r.flushall)
        header["load_per_system"][name] = f"{load0} -> {report.loadavg().split()[0]}"
        log(f"{name}: finished in {time.perf_counter() - t:.0f} s")
    header["load_end"] = report.loadavg()
    header["total_s"] = round(time.perf_counter() - t0)
    header["versions"].update(versions)
    ctx = {"header": header, "workloads": WORKLOADS, "systems": a.only, "topos": topos,
           "results": results, "burn_ms": cpu_ms, "time_limit": a.time_limit}
    if a.json:
        print(report.to_json(ctx))
    else:
        print(report.to_text(ctx))


if __name__ == "__main__":
    main()
