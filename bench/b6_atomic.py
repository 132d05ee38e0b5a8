#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B6: atomic switch.  A reader process (bench/atomic_reader.py) reads
the files `a` and `b` of the release `current` points to, in a tight
loop, while 200 `hookd deploy-local` runs switch `current` back and
forth between two bundles (A and B: each file is 64 KiB of one version
marker).  Counts mixed-version pairs, reads with no `current`, and
incomplete files; all must be 0.  tests/integration/test_atomic_switch.py
runs the same thing (switch_run) as a test.
"""
import json
import pathlib
import signal
import subprocess
import sys
import time

import benchlib as bl

SIZE = 64 * 1024
READER = pathlib.Path(__file__).resolve().parent / "atomic_reader.py"


def make_bundles(base):
    out = []
    for v in ("A", "B"):
        d = base / f"bundle-{v}"
        marker = (v * 8).encode()
        d.mkdir(parents=True)
        (d / "appspec.yml").write_text("version: 0.0\nos: linux\n")
        (d / "a").write_bytes(marker * (SIZE // 8))
        (d / "b").write_bytes(marker * (SIZE // 8))
        out.append(d)
    return out


def switch_run(hookd, base, n, env=None, app="sw", timeout=600,
               max_seconds=None):
    """Deploy the A and B bundles n times, alternately, into base/root
    while the reader reads through current.  Returns the reader's counts
    plus "deploys" and "seconds".  With max_seconds, stops early once
    that much time went by (after 20 deploys at least).  Raises if a
    deployment fails."""
    base = pathlib.Path(base)
    bundles = make_bundles(base)
    root = base / "root"
    current = root / app / "local" / "current"
    argv = [hookd, "deploy-local", "-r", str(root), "-a", app, "-k", "3"]
    r = subprocess.run(argv + ["-b", str(bundles[0])], env=env,
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"first deploy exited {r.returncode}: "
                           f"{r.stderr[-400:]}")
    rd = subprocess.Popen([sys.executable, str(READER), str(current),
                           str(SIZE)], stdout=subprocess.PIPE, text=True)
    try:
        assert rd.stdout.readline().strip() == "READY"
        t0 = time.monotonic()
        done = 0
        for i in range(1, n + 1):
            if max_seconds is not None and i > 20 and \
                    time.monotonic() - t0 > max_seconds:
                break
            r = subprocess.run(argv + ["-b", str(bundles[i % 2])], env=env,
                               capture_output=True, text=True,
                               timeout=timeout)
            if r.returncode != 0:
                raise RuntimeError(f"deploy {i} exited {r.returncode}: "
                                   f"{r.stderr[-400:]}")
            done = i
        secs = time.monotonic() - t0
    finally:
        rd.send_signal(signal.SIGTERM)
        out, _ = rd.communicate(timeout=30)
    counts = json.loads(out.strip().splitlines()[-1])
    counts["deploys"] = done
    counts["seconds"] = round(secs, 2)
    return counts


def run(ctx):
    rows = []
    for where in (["tmpfs"] if ctx.shm else []) + ["disk"]:
        # 200 on tmpfs; 100 on disk, where each deployment fsyncs.
        n = 40 if ctx.quick else (200 if where == "tmpfs" else 100)
        base = ctx.tmpdir(where, "b6-")
        try:
            c = switch_run(ctx.hookd, base, n, env=bl.base_env())
        finally:
            bl.drop_dir(base)
        bad = c["mixed"] + c["missing"] + c["partial"]
        rows += [
            bl.Row(f"{where}_bad_reads", f"mixed/missing/partial reads "
                   f"({where}, {n} deploys)", bad, "reads", "0",
                   ok=bad == 0,
                   note=f"mixed {c['mixed']}, missing {c['missing']}, "
                   f"partial {c['partial']}; pruned under reader "
                   f"{c['pruned']}"),
            bl.Row(f"{where}_pairs", f"pairs read ({where})", c["pairs"],
                   "pairs", note=f"{c['switches_seen']} switches seen by "
                   f"the reader, {c['seconds']} s"),
        ]
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B6"))
