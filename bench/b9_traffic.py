#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B9: a OneAtATime rollout of three static-site daemons behind a real
HAProxy under load (tests/tools/loadgen.py, about 200 requests/s, one
new connection each), with traffic control (BlockTraffic drains the
server, AllowTraffic readies it once its check passes; HAProxy checks
/healthz every second, "retries 0" so no request is hidden by a retry).
Figures: requests served and failed during the rollout (goal 0 failed),
p99 latency during the rollout against the 5 s before it, and what
BlockTraffic + AllowTraffic add per instance (their durations, from the
progress documents; goal: at most one health-check interval + 100 ms;
CodeDeploy sits out the deregistration delay, 300 s by default).  Then
the same rollout with --no-traffic-control, for its failures.
The setup is tests/integration/traffic_util.py's SiteFleet.
"""
import os
import shutil
import sys
import time
import types

import benchlib as bl

CHECK_INTER_MS = 1000


def rollout(f, tu, mark, extra=()):
    load = f.start_load(rate=200, duration=600, mark=mark)
    time.sleep(5)       # the "before" sample of latencies
    mark.touch()
    t0 = time.monotonic()
    r = f.deployer(*extra, tu.GROUP, "HEAD")
    wall = time.monotonic() - t0
    res = f.stop_load(load)
    if r.returncode != 0:
        raise RuntimeError(f"deployer exited {r.returncode}: "
                           f"{(r.stdout + r.stderr)[-400:]}")
    return r, wall, res


def traffic_ms(f, did):
    """Per instance: BlockTraffic + AllowTraffic duration, ms."""
    out = []
    for nm in f.names:
        p = f.progress(did, nm)
        out.append(sum(e.get("duration", 0) for e in p["events"]
                       if e["event"] in ("BlockTraffic", "AllowTraffic")
                       and not e.get("rollback")) * 1000.0)
    return out


def run(ctx):
    if shutil.which("haproxy") is None and \
            not os.path.exists("/usr/sbin/haproxy"):
        return [bl.not_measured("failed", "B9 HAProxy rollout under load",
                                "haproxy (scripts/deps.sh)")]
    os.environ["HOOKD_BUILD"] = str(ctx.build)
    sys.path.insert(0, str(bl.TOP / "tests" / "integration"))
    import traffic_util as tu
    from daemon_util import Hookd
    base = ctx.tmpdir("disk", "b9-")
    made = []

    def factory(fws, cfg, env=None, start=False):
        h = Hookd(fws, cfg, env)
        made.append(h)
        return h
    f = None
    try:
        f = tu.SiteFleet(types.SimpleNamespace(base=base), factory,
                         check_inter_ms=CHECK_INTER_MS)
        f.wait_registered()
        ctx.log("B9 first install")
        r = f.deployer(tu.GROUP, "HEAD")
        if r.returncode != 0:
            raise RuntimeError(f"first deploy: {r.stdout + r.stderr}")
        f.wait_all_up()
        f.commit_version("v2")
        ctx.log("B9 rollout with traffic control under load")
        r, wall, res = rollout(f, tu, base / "mark1")
        did = tu_dep_id(r.stdout)
        per = traffic_ms(f, did)
        f.wait_all_up()
        f.commit_version("v3")
        ctx.log("B9 rollout with --no-traffic-control under load")
        _, wall2, res2 = rollout(f, tu, base / "mark2",
                                 ("--no-traffic-control",))
    finally:
        if f is not None:
            f.close()
        for h in made:
            h.close()
        shutil.rmtree(base, ignore_errors=True)
    goal = CHECK_INTER_MS + 100
    return [
        bl.Row("served", "requests served during the rollout",
               res["served"], "req",
               note=f"{res['rate']} req/s over {res['seconds']} s; "
               f"rollout {wall:.1f} s"),
        bl.Row("failed", "requests failed during the rollout",
               res["failed"], "req", "0", ok=res["failed"] == 0),
        bl.Row("p99_before_ms", "p99 latency before the rollout",
               res["before"]["p99_ms"], "ms"),
        bl.Row("p99_during_ms", "p99 latency during the rollout",
               res["during"]["p99_ms"], "ms"),
        bl.Row("traffic_max_ms", "Block+AllowTraffic per instance (max)",
               round(max(per), 1), "ms", f"<= {goal}",
               ok=max(per) <= goal,
               note="each: " + ", ".join(f"{x:.0f}" for x in per) +
               f" ms; health check every {CHECK_INTER_MS} ms"),
        bl.Row("failed_no_tc", "failed with --no-traffic-control",
               res2["failed"], "req",
               note=f"of {res2['requests']}; rollout {wall2:.1f} s; "
               f"{res2['statuses'] or res2['errors']}"),
    ]


def tu_dep_id(out):
    import re
    m = re.search(r"deployment (d-[A-Z0-9]{9}) \(sequence", out)
    if m is None:
        raise RuntimeError(f"no deployment id in {out[-300:]}")
    return m.group(1)
