#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B1: `hookd deploy-local` of the 20,000-file bundle against `tar -xf`
of the same tarball, in the same place (tmpfs, then disk), same run.

Each round deploys into a fresh root (so no release is reused) and
extracts with tar into a fresh directory next to it; the rounds alternate
A B A B and the figure is the ratio of the medians.  The previous round's
trees are removed (and, on disk, `sync` is run) before each timed step,
untimed.  The bundle has no hooks: this measures extraction + release
bookkeeping + the switch.  A .tar.gz row (hookd vs tar -xzf) follows on
tmpfs, since bundles are gzipped in the store.
"""
import os
import subprocess
import sys

import benchlib as bl

GOAL = 1.3


def bundle(ctx):
    nfiles = 2000 if ctx.quick else 20000
    out = ctx.data / f"b{nfiles}"
    subprocess.run([str(bl.BENCH / "gen-bundle"), "--files", str(nfiles),
                    str(out)], check=True, stdout=subprocess.DEVNULL)
    tar = out / "bundle.tar"
    tgz = out / "bundle.tar.gz"
    if not tgz.exists() or tgz.stat().st_mtime < tar.stat().st_mtime:
        with open(str(tgz) + ".tmp", "wb") as f:
            subprocess.run(["gzip", "-n", "-6", "-c", str(tar)], stdout=f,
                           check=True)
        os.rename(str(tgz) + ".tmp", tgz)
    return nfiles, tar, tgz


def compare(ctx, where, src, n, tarflags, budget=None):
    base = ctx.tmpdir(where, "b1-")
    rss = []
    cpu = {"hookd": [], "tar": []}
    try:
        k = [0]

        def clean(name, i):
            # tmpfs: remove the last trees (untimed).  Disk: keep them
            # (removing 20,000 files there costs more than extracting
            # them) and only flush, so that one step's writeback does
            # not land in the next; all goes at the end.
            k[0] += 1
            if where == "disk":
                os.sync()
                return
            for p in base.iterdir():
                bl.drop_dir(p)

        def hookd():
            r = bl.check(bl.timed([ctx.hookd, "deploy-local", "-b",
                                   str(src), "-r", str(base / f"root{k[0]}"),
                                   "-a", "bench", "-k", "1"],
                                  env=bl.base_env()), "hookd deploy-local")
            rss.append(r["maxrss_kib"])
            cpu["hookd"].append(r["cpu"])
            return r["wall"]

        def tar():
            os.mkdir(base / f"x{k[0]}")
            r = bl.check(bl.timed(["tar", "-C", str(base / f"x{k[0]}"),
                                   tarflags, str(src)]), "tar")
            cpu["tar"].append(r["cpu"])
            return r["wall"]

        t = bl.alternate([("hookd", hookd), ("tar", tar)], n, before=clean,
                         budget=budget, log=ctx.log if ctx.verbose else None)
    finally:
        bl.drop_dir(base)
    mh, mt = bl.median(t["hookd"]), bl.median(t["tar"])
    ch, ct = bl.median(cpu["hookd"]), bl.median(cpu["tar"])
    return mh, mt, max(rss), bl.fstype(base.parent), len(t["tar"]), ch, ct


def run(ctx):
    nfiles, tar, tgz = bundle(ctx)
    n = 3 if ctx.quick else 7     # rounds (each: hookd and tar)
    n_disk = 3 if ctx.quick else 5
    rows = []
    size = tar.stat().st_size / 1e6
    places = [("tmpfs", "tmpfs")] if ctx.shm else []
    places.append(("disk", "disk"))
    for where, label in places:
        k = n if where == "tmpfs" else n_disk
        ctx.log(f"B1 {label}: {nfiles} files, {size:.0f} MB, {k} rounds")
        # A slow or busy disk may take a minute per extraction: stop
        # after 150 s (2 rounds at least) and say how many ran.
        mh, mt, rss, fs, k, ch, ct = compare(ctx, where, tar, k, "-xf",
                                     budget=None if where == "tmpfs"
                                     else 150)
        ratio = mh / mt
        rows += [
            bl.Row(f"{label}_hookd_ms", f"deploy-local .tar on {label} "
                   f"({fs})", bl.ms(mh), "ms"),
            bl.Row(f"{label}_tar_ms", f"tar -xf on {label}", bl.ms(mt),
                   "ms"),
            bl.Row(f"{label}_ratio", f"hookd / tar -xf on {label}",
                   round(ratio, 2), "x", f"<= {GOAL}x", ok=ratio <= GOAL,
                   note=f"median of {k} alternating rounds"),
            bl.Row(f"{label}_cpu_ratio", f"CPU (user+sys) hookd / tar on "
                   f"{label}", round(ch / ct, 2), "x",
                   note=f"hookd {bl.ms(ch)} ms, tar {bl.ms(ct)} ms"),
        ]
        if where == "tmpfs":
            rows.append(bl.Row("hookd_maxrss_kib", f"deploy-local peak RSS, "
                               f"{nfiles} files", rss, "KiB"))
    if not ctx.shm:
        rows.append(bl.Row("tmpfs_ratio", "hookd / tar -xf on tmpfs", None,
                           "x", f"<= {GOAL}x",
                           note="not measured: /dev/shm is not a tmpfs"))
    where = "tmpfs" if ctx.shm else "disk"
    ctx.log(f"B1 .tar.gz on {where}")
    mh, mt, _, _, k, ch, ct = compare(ctx, where, tgz, n, "-xzf")
    rows += [
        bl.Row("tgz_hookd_ms", f"deploy-local .tar.gz on {where}",
               bl.ms(mh), "ms"),
        bl.Row("tgz_tar_ms", f"tar -xzf on {where}", bl.ms(mt), "ms"),
        bl.Row("tgz_ratio", f"hookd / tar -xzf on {where}",
               round(mh / mt, 2), "x", f"<= {GOAL}x", ok=mh / mt <= GOAL,
               note=f"median of {k} alternating rounds"),
        bl.Row("tgz_cpu_ratio", f"CPU (user+sys) hookd / tar -xzf (+gzip) "
               f"on {where}", round(ch / ct, 2), "x",
               note=f"hookd {bl.ms(ch)} ms, tar+gzip {bl.ms(ct)} ms"),
    ]
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B1"))
