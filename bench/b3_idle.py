#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B3: `hookd run` at rest, and after 200 deployments.

Two daemons idle side by side for 60 s: one on the spool queue and file
store, one on SQS + S3 (moto, through the recording proxy, which counts
the requests).  For each: its own memory (Private_Clean + Private_Dirty
from /proc/PID/smaps_rollup: what only this process holds; the rest is
shared library pages, the distribution's, shared with every process),
its Pss, VmRSS beside them, and the wake-ups (voluntary context switches
per minute).  Then the spool daemon runs 200 deployments of a trivial
app (five hooks) back to back and its memory is read every 50: its own
memory must stay flat.
"""
import re
import sys
import time

import benchlib as bl
import daemonbench as db

GOAL_KIB = 4096         # RSS, the old goal: shown beside, not judged
GOAL_OWN_KIB = 2048     # own memory (issue 19)
GOAL_RPM = 4


def run(ctx):
    secs = 5 if ctx.quick else 60
    ndep = 20 if ctx.quick else 200
    rows = []
    with db.Scene(ctx, ctx.tmpdir("disk", "b3-")) as sc:
        spool, sqs = sc.spool(), None
        try:
            sqs = sc.sqs()
        except Exception as e:
            sqs = None
            sqs_err = f"{type(e).__name__}: {str(e)[:200]}"
        time.sleep(2)           # settle: the first long poll, registration
        hosts = [h for h in (spool, sqs) if h is not None]
        a = {h.kind: bl.daemon_memory(h.daemon.pid) for h in hosts}
        n0 = len(sc.peers.proxy.log()) if sqs else 0
        ctx.log(f"B3 idle {secs} s")
        time.sleep(secs)
        b = {h.kind: bl.daemon_memory(h.daemon.pid) for h in hosts}
        log = sc.peers.proxy.log()[n0:] if sqs else []
        per_min = 60.0 / secs
        for h in hosts:
            k, m = h.kind, b[h.kind]
            rows += [
                bl.Row(f"{k}_idle_own_kib", f"idle own memory ({k}; "
                       "Private_Clean + Private_Dirty)", m["own"], "KiB",
                       f"<= {GOAL_OWN_KIB} KiB",
                       ok=m["own"] is not None and m["own"] <= GOAL_OWN_KIB,
                       note=f"Private_Clean {m['private_clean']} KiB, "
                       f"Private_Dirty {m['private_dirty']} KiB"),
                bl.Row(f"{k}_idle_pss_kib", f"idle Pss ({k})", m["pss"],
                       "KiB"),
                bl.Row(f"{k}_idle_rss_kib", f"idle RSS ({k})", m["rss"],
                       "KiB", note="shared library pages included"),
                bl.Row(f"{k}_idle_private_dirty_kib", f"idle Private_Dirty "
                       f"({k})", m["private_dirty"], "KiB"),
                bl.Row(f"{k}_wakeups_per_min", f"wake-ups/min ({k}; "
                       "voluntary ctx switches)",
                       round((m["vol"] - a[k]["vol"]) * per_min, 1), "/min",
                       note=f"+{(m['invol'] - a[k]['invol']) * per_min:.1f}"
                       " involuntary/min"),
            ]
        if sqs:
            acts = {}
            for e in log:
                key = e.get("action") or f"{e.get('method')} " \
                    f"{e.get('service', '')}".strip()
                acts[key] = acts.get(key, 0) + 1
            rpm = round(len(log) * per_min, 1)
            rows.append(bl.Row("sqs_requests_per_min", "requests/min, idle "
                               "(SQS + S3 via moto)", rpm, "/min",
                               f"<= {GOAL_RPM}/min", ok=rpm <= GOAL_RPM,
                               note=", ".join(f"{k} {v}" for k, v in
                                              sorted(acts.items())) +
                               f" in {secs} s"))
            sqs.stop()
        else:
            rows.append(bl.Row("sqs_requests_per_min", "requests/min, idle "
                               "(SQS)", None, "/min", f"<= {GOAL_RPM}/min",
                               note=f"not measured: {sqs_err}"))
        # 200 deployments on the spool daemon.
        ctx.log(f"B3 {ndep} deployments")
        rss = [bl.daemon_memory(spool.daemon.pid)]
        step = max(1, ndep // 4)

        def each(i):
            if i == 1 or i % step == 0:
                rss.append(bl.daemon_memory(spool.daemon.pid))
        t0 = time.monotonic()
        lat = db.series(spool, ndep, on_each=each)
        dt = time.monotonic() - t0
        # rss: idle, after the 1st, then every step-th deployment.  Each
        # deployment runs in a process of its own, which loads libarchive
        # and libcrypto and takes them with it: growth is counted from
        # the first.  The daemon logs each one's peak RSS (wait4).
        r0, r1 = rss[1]["rss"], rss[-1]["rss"]
        d0, d1 = rss[1]["private_dirty"], rss[-1]["private_dirty"]
        o0, o1 = rss[1]["own"] or 0, rss[-1]["own"] or 0
        grow = r1 - r0
        peaks = [int(x) for x in re.findall(r"peak RSS (\d+) KiB",
                                             spool.daemon.stderr())]
        rows += [
            bl.Row("own_after_deploys_kib", f"own memory after {ndep} "
                   "deployments (spool)", o1, "KiB",
                   f"<= {GOAL_OWN_KIB} KiB, flat",
                   ok=o1 <= GOAL_OWN_KIB and o1 - o0 <= 256,
                   note=f"own memory idle, after 1, then every {step}: " +
                   " ".join(str(x["own"]) for x in rss) + " KiB; Pss " +
                   " ".join(str(x["pss"]) for x in rss) + " KiB"),
            bl.Row("own_growth_kib", f"own memory growth, deployment 1 -> "
                   f"{ndep}", o1 - o0, "KiB"),
            bl.Row("rss_after_deploys_kib", f"RSS after {ndep} deployments "
                   "(spool)", r1, "KiB", "flat (growth ~0)",
                   ok=grow <= 256,
                   note=f"RSS idle, after 1, then every {step}: " +
                   " ".join(str(x["rss"]) for x in rss) + " KiB"),
            bl.Row("rss_growth_kib", f"RSS growth, deployment 1 -> {ndep}",
                   grow, "KiB"),
            bl.Row("private_dirty_after_kib", f"Private_Dirty after {ndep} "
                   "deployments", d1, "KiB",
                   note=f"after the 1st: {d0} KiB; idle: "
                   f"{rss[0]['private_dirty']} KiB; VmHWM {rss[-1]['hwm']}"
                   " KiB"),
            bl.Row("deploy_process_peak_rss_kib", "peak RSS of a "
                   "deployment process (spool), median", bl.median(peaks)
                   if peaks else None, "KiB",
                   note=f"max {max(peaks)} KiB over {len(peaks)} "
                   "deployments; it exits when the deployment ends"
                   if peaks else "not in the daemon's log"),
            bl.Row("deploys_per_s", f"{ndep} trivial deployments, "
                   "back to back", round(ndep / dt, 1), "/s",
                   note=f"spool pickup p50 {bl.ms(bl.median(lat))} ms"),
        ]
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B3"))
