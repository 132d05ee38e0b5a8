# SPDX-License-Identifier: ISC
"""The benchmark driver behind bench/run (and `make bench`).

Runs the benchmarks (bench/b1_*.py ... b9_*.py; each module has
run(ctx) -> [benchlib.Row]), prints one table, and writes
bench/results/latest.json: the figures with their goals, the machine,
the date and the git commit.  A benchmark whose subject is missing or
broken becomes a row saying so; figures never make the run fail.
"""
import argparse
import datetime
import importlib
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
import traceback

import benchlib as bl

BENCHMARKS = [
    ("B1", "b1_extract", "deploy-local of a 20,000-file bundle vs tar -xf"),
    ("B2", "b2_tiny", "tiny bundle, four trivial hooks: wall time, RSS"),
    ("B3", "b3_idle", "hookd run idle: RSS, wake-ups, requests/min; "
     "RSS after 200 deployments"),
    ("B4", "b4_pickup", "pickup latency: message -> first hook"),
    ("B5", "b5_rollback", "rollback: failed ValidateService -> previous "
     "release live"),
    ("B6", "b6_atomic", "atomic switch: mixed-version reads"),
    ("B7", "b7_fleet", "fleet: deployer to N local daemons"),
    ("B7-sim", "b7_sim", "fleet: deployer to N simulated instances over "
     "S3 and SQS, 20 ms per request"),
    ("B8", "b8_deployer", "deployer client side, 100 MB repository"),
    ("B9", "b9_traffic", "HAProxy rollout of three instances under load: "
     "failed requests, p99, Block/AllowTraffic time"),
    ("B10", "b10_bluegreen", "blue/green of 3 instances on the fleet "
     "peer: to traffic on green, rollback swap"),
]


def git(*args):
    r = subprocess.run(["git", "-C", str(bl.TOP)] + list(args),
                       capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def machine():
    model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = None
    try:
        with open("/proc/meminfo") as f:
            mem = int(f.readline().split()[1]) // 1024
    except OSError:
        pass
    return {"hostname": platform.node(), "cpus": os.cpu_count(),
            "cpu_model": model, "mem_mib": mem, "kernel": platform.release(),
            "loadavg_start": os.getloadavg()[0]}


def run_one(ctx, bid, modname, title):
    t0 = time.monotonic()
    entry = {"title": title}
    try:
        mod = importlib.import_module(modname)
        rows = mod.run(ctx)
        entry["status"] = ("measured" if any(r.value is not None
                                             for r in rows)
                           else "not measured")
    except Exception as e:  # a broken subject is a row, not a crash
        if ctx.verbose:
            traceback.print_exc()
        rows = [bl.Row("error", "error", None, None,
                       note=f"not measured: {type(e).__name__}: "
                       f"{' / '.join(str(e).splitlines())[:300]}")]
        entry["status"] = "error"
    entry["seconds"] = round(time.monotonic() - t0, 1)
    entry["figures"] = {r.key: r.json() for r in rows}
    return entry, rows


def fmt(v):
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 100 else f"{v:.0f}"
    return str(v)


def table(results):
    lines = [f"{'#':<3} {'figure':<52} {'value':>10} {'unit':<5} "
             f"{'goal':<14} note"]
    for bid, entry in results.items():
        for key, f in entry["figures"].items():
            goal = f["goal"] or ""
            if f["meets_goal"] is not None and goal:
                goal += " ok" if f["meets_goal"] else " MISS"
            lines.append(f"{bid:<3} {f['label'][:52]:<52} "
                         f"{fmt(f['value']):>10} {f['unit'] or '':<5} "
                         f"{goal:<14} {f['note'] or ''}".rstrip())
    return "\n".join(lines)


def main(argv=None, only_default=None):
    ap = argparse.ArgumentParser(prog="bench/run",
                                 description="run the hookd benchmarks")
    ap.add_argument("--build", default=os.environ.get(
        "HOOKD_BUILD", str(bl.TOP / "build" / "bench")))
    ap.add_argument("--quick", action="store_true",
                    default=os.environ.get("BENCH_QUICK", "") not in
                    ("", "0"))
    ap.add_argument("--only", default=only_default or
                    os.environ.get("BENCH_ONLY"),
                    help="comma-separated ids, e.g. B1,B2")
    ap.add_argument("--out", default=None,
                    help="default: bench/results/latest.json "
                    "(quick.json with --quick)")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args(argv)
    if a.out is None:
        a.out = str(bl.BENCH / "results" /
                    ("quick.json" if a.quick else "latest.json"))
    ctx = bl.Ctx(a.build, quick=a.quick, verbose=a.verbose)
    if not os.access(ctx.hookd, os.X_OK):
        print(f"bench/run: no hookd at '{ctx.hookd}' (make BUILD=... "
              "first)", file=sys.stderr)
        return 66
    only = {x.strip().upper() for x in a.only.split(",")} if a.only \
        else None
    doc = {"schema": "hookd.bench/1",
           "date": datetime.datetime.now(datetime.timezone.utc)
           .strftime("%Y-%m-%dT%H:%M:%SZ"),
           "commit": git("rev-parse", "HEAD"),
           "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
           "build": str(ctx.build), "quick": ctx.quick,
           "machine": machine(), "benchmarks": {}}
    t0 = time.monotonic()
    for bid, mod, title in BENCHMARKS:
        if only is not None and bid.upper() not in only:
            continue
        print(f"== {bid} {title}", file=sys.stderr, flush=True)
        entry, _ = run_one(ctx, bid, mod, title)
        doc["benchmarks"][bid] = entry
        print(f"   {entry['status']} in {entry['seconds']} s",
              file=sys.stderr, flush=True)
    # Records a benchmark keeps for other tools (B7-sim: one per run),
    # under their own top-level key.
    for k, v in ctx.records.items():
        doc[k] = v
    doc["seconds"] = round(time.monotonic() - t0, 1)
    doc["machine"]["loadavg_end"] = os.getloadavg()[0]
    out = pathlib.Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(doc, indent=2) + "\n")
    os.replace(tmp, out)
    m = doc["machine"]
    print(f"hookd benchmarks, {doc['date']}, commit "
          f"{(doc['commit'] or '?')[:12]}{' (dirty)' if doc['dirty'] else ''}"
          f", {m['cpus']} x {m['cpu_model']}, {m['mem_mib']} MiB"
          f"{', QUICK' if ctx.quick else ''}")
    print(table(doc["benchmarks"]))
    print(f"({doc['seconds']} s; figures in {out})")
    return 0


def standalone(bid):
    """`bench/bN_x.py [options]`: run one benchmark through the driver,
    writing bench/results/BN.json instead of latest.json."""
    argv = sys.argv[1:]
    if "--out" not in argv:
        argv += ["--out", str(bl.BENCH / "results" / f"{bid}.json")]
    return main(argv, only_default=bid)
