#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B2: a tiny bundle's whole deployment with four trivial hooks
(BeforeInstall, AfterInstall, ApplicationStart, ValidateService, each
`#!/bin/sh` + `exit 0`): wall time and peak RSS of `hookd deploy-local`,
first install into a fresh root, .tar.gz bundle on tmpfs.

Beside it, side by side (alternating), the floor no agent can beat: the
same four scripts run one after the other by one `sh`.  The peak RSS is
/usr/bin/time's %M (hookd's own: the hooks' dash processes are smaller);
`hookd --version` is timed too, as the cost of starting the process
with its shared libraries.
One more, untimed, run copies hookd's /proc/PID/smaps from inside its
ValidateService hook (the hook's parent is hookd), which splits the
resident set into the process's own memory (Private_Clean +
Private_Dirty: heap, stack, relocated data, pages only it maps; the goal,
issue 19) and shared library pages (clean, shared with every other
process mapping the same libraries); its Pss and RSS are shown beside.
"""
import os
import subprocess
import sys

import benchlib as bl

EVENTS = ["BeforeInstall", "AfterInstall", "ApplicationStart",
          "ValidateService"]
HOOK = "#!/bin/sh\nexit 0\n"
PROBE = """#!/bin/sh
if [ "$LIFECYCLE_EVENT" = ValidateService ]; then
	cat /proc/$PPID/comm > @OUT@/comm
	cat /proc/$PPID/status > @OUT@/status
	cat /proc/$PPID/smaps > @OUT@/smaps
	cat /proc/$PPID/smaps_rollup > @OUT@/smaps_rollup
fi
exit 0
"""
GOAL_MS = 30
GOAL_OWN_KIB = 2048     # own memory, Private_Clean + Private_Dirty (issue 19)


def make_bundle(dst, hook):
    src = dst.parent / (dst.name + ".d")
    bl.write(src / "appspec.yml", bl.appspec(EVENTS))
    bl.write(src / "scripts" / "hook.sh", hook, 0o755)
    bl.write(src / "index.html", "<p>hello</p>\n")
    bl.write(src / "VERSION", "1\n")
    return bl.make_tgz(src, dst)


def parse_smaps(path):
    """{mapping name: {field: kB}} summed, and totals."""
    per, cur = {}, None
    for line in open(path):
        parts = line.split()
        if not parts:
            continue
        if not parts[0].endswith(":") or "-" in parts[0]:
            name = parts[5] if len(parts) > 5 else "[anon]"
            cur = per.setdefault(os.path.basename(name), {})
            continue
        if len(parts) >= 3 and parts[2] == "kB":
            k = parts[0][:-1]
            cur[k] = cur.get(k, 0) + int(parts[1])
    return per


def memory_split(ctx, base):
    out = base / "probe-out"
    out.mkdir()
    b = make_bundle(base / "probe.tar.gz",
                    PROBE.replace("@OUT@", str(out)))
    bl.check(bl.timed([ctx.hookd, "deploy-local", "-b", str(b), "-r",
                       str(base / "probe-root"), "-a", "tiny"],
                      env=bl.base_env()), "deploy-local (probe)")
    if (out / "comm").read_text().strip() != "hookd":
        return None
    roll = {}
    for line in open(out / "smaps_rollup"):
        p = line.split()
        if len(p) >= 3 and p[-1] == "kB":
            roll[p[0][:-1]] = int(p[1])
    st = {}
    for line in open(out / "status"):
        k, _, v = line.partition(":")
        st[k] = v.strip()
    per = parse_smaps(out / "smaps")
    top = sorted(per.items(), key=lambda kv: -kv[1].get("Rss", 0))[:8]
    return roll, st, [(k, v.get("Rss", 0), v.get("Private_Dirty", 0))
                      for k, v in top]


def nlibs_of(exe):
    r = subprocess.run(["ldd", exe], capture_output=True, text=True)
    return sum(1 for ln in r.stdout.splitlines() if ".so" in ln and
               "vdso" not in ln)


def run(ctx):
    def nlibs():
        return nlibs_of(ctx.hookd)

    n = 5 if ctx.quick else 21
    where = "tmpfs" if ctx.shm else "disk"
    base = ctx.tmpdir(where, "b2-")
    rows = []
    try:
        b = make_bundle(base / "tiny.tar.gz", HOOK)
        hook = base / "tiny.tar.gz.d" / "scripts" / "hook.sh"
        rss, rss_v = [], []
        cpu = {"hookd": [], "floor": [], "version": []}
        k = [0]

        def hookd():
            k[0] += 1
            r = bl.check(bl.timed([ctx.hookd, "deploy-local", "-b", str(b),
                                   "-r", str(base / f"root{k[0]}"),
                                   "-a", "tiny"], env=bl.base_env()),
                         "hookd deploy-local")
            rss.append(r["maxrss_kib"])
            cpu["hookd"].append(r["cpu"])
            return r["wall"]

        def floor():
            s = "; ".join([str(hook)] * 4)
            r = bl.check(bl.timed(["/bin/sh", "-c", s]), "sh")
            cpu["floor"].append(r["cpu"])
            return r["wall"]

        def version():
            r = bl.check(bl.timed([ctx.hookd, "--version"]), "--version")
            cpu["version"].append(r["cpu"])
            rss_v.append(r["maxrss_kib"])
            return r["wall"]

        t = bl.alternate([("hookd", hookd), ("floor", floor),
                          ("version", version)], n)
        mh = bl.median(t["hookd"])
        rows += [
            bl.Row("wall_ms", f"deploy-local, 4 trivial hooks ({where}), "
                   f"median of {n}", bl.ms(mh), "ms", f"<= {GOAL_MS} ms",
                   ok=mh * 1000 <= GOAL_MS),
            bl.Row("floor_ms", "floor: the 4 scripts run by one sh",
                   bl.ms(bl.median(t["floor"])), "ms"),
            bl.Row("cpu_ms", "CPU (user+sys, hookd + hooks), median",
                   bl.ms(bl.median(cpu["hookd"])), "ms"),
            bl.Row("floor_cpu_ms", "floor CPU (4 scripts by one sh)",
                   bl.ms(bl.median(cpu["floor"])), "ms"),
            bl.Row("version_ms", "hookd --version (process start-up "
                   "alone), median", bl.ms(bl.median(t["version"])), "ms"),
            bl.Row("version_cpu_ms", "hookd --version CPU, median",
                   bl.ms(bl.median(cpu["version"])), "ms"),
            bl.Row("maxrss_kib", "peak RSS (/usr/bin/time %M)", max(rss),
                   "KiB", note="shared library pages included; the goal "
                   "is on own memory (below)"),
            bl.Row("version_maxrss_kib", "peak RSS of hookd --version "
                   f"({nlibs()} shared libraries mapped)", max(rss_v),
                   "KiB"),
        ]
        split = memory_split(ctx, base)
        if split is None:
            rows.append(bl.Row("private_dirty_kib", "hookd private dirty",
                               None, "KiB", note="not measured: the hook's "
                               "parent is not hookd"))
        else:
            roll, st, top = split
            own = roll.get("Private_Dirty", 0) + \
                roll.get("Private_Clean", 0)
            rows += [
                bl.Row("own_kib", "own memory during ValidateService "
                       "(Private_Clean + Private_Dirty)", own, "KiB",
                       f"<= {GOAL_OWN_KIB} KiB", ok=own <= GOAL_OWN_KIB,
                       note=f"Private_Clean {roll.get('Private_Clean', 0)}"
                       f" KiB, Private_Dirty "
                       f"{roll.get('Private_Dirty', 0)} KiB"),
                bl.Row("pss_kib", "Pss (shared pages divided by sharers)",
                       roll.get("Pss"), "KiB"),
                bl.Row("rss_at_hook_kib", "RSS during ValidateService",
                       roll.get("Rss"), "KiB"),
                bl.Row("private_dirty_kib", "Private_Dirty",
                       roll.get("Private_Dirty", 0), "KiB"),
                bl.Row("shared_clean_kib", "Shared_Clean + Private_Clean "
                       "(library/exe pages)",
                       roll.get("Shared_Clean", 0) +
                       roll.get("Private_Clean", 0), "KiB"),
                bl.Row("anon_kib", "RssAnon (heap, stacks)",
                       bl.kib(st["RssAnon"]), "KiB"),
                bl.Row("top_mappings", "largest mappings (Rss/PrivDirty "
                       "KiB)", None, None,
                       note=", ".join(f"{n} {r}/{d}" for n, r, d in top)),
            ]
    finally:
        bl.drop_dir(base)
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B2"))
