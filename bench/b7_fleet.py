#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B7: fleet.  N `hookd run` daemons on this machine (spool queue, one
shared file store, distinct instance ids and roots) serve group
"production"; `deployer production HEAD` deploys a trivial app (four
`exit 0` hooks) to all of them, AllAtOnce and then OneAtATime, for
N = 10, 50 and 200.  Figures: the deployer's wall time (git archive,
upload, fan-out, waiting for every instance's outcome), the time per
instance, and the deployer's own peak RSS (its VmHWM, sampled every
10 ms; its git children are not counted).

N = 200 daemons on 2 cores is heavy: they are started in parallel and
cost only their idle memory (a few MiB private each); BENCH_FLEET_MAX
caps N (default 200).  Each spool daemon holds an inotify instance and
fs.inotify.max_user_instances is often 128: run as root, the bench raises
it for the run and puts it back; otherwise N is capped and the row says
why.
"""
import os
import re
import shutil
import subprocess
import sys
import threading
import time

import benchlib as bl

APP, GROUP = "fleet", "production"
DEP_ID = re.compile(r"deployment (d-[A-Z0-9]{9})")
GOAL_S = 10
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
EVENTS = ["ApplicationStop", "BeforeInstall", "AfterInstall",
          "ApplicationStart", "ValidateService"]


def git(repo, *args):
    env = dict(bl.base_env(), **GIT_ENV)
    r = subprocess.run(["git", "-C", str(repo)] + list(args), env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {args[0]}: {r.stderr.strip()[:200]}")
    return r.stdout.strip()


def deployer_yml(store, queue, config):
    return (f"application: {APP}\nstore: {store}\nqueue: {queue}\n"
            f"queue_prefix: hookd\ngroups:\n  {GROUP}:\n"
            f"    deployment_config: {config}\n"
            f"    rollback_on_failure: false\n    timeout: 600\n")


def make_repo(repo, store, queue):
    bl.write(repo / "appspec.yml", bl.appspec(EVENTS))
    bl.write(repo / "scripts" / "hook.sh", "#!/bin/sh\nexit 0\n", 0o755)
    bl.write(repo / "VERSION", "0\n")
    bl.write(repo / "deployer.yml", deployer_yml(store, queue, "AllAtOnce"))
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v0")


def commit(repo, version, store, queue, config):
    bl.write(repo / "VERSION", f"{version}\n")
    bl.write(repo / "deployer.yml", deployer_yml(store, queue, config))
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", f"v{version}")


def run_deployer(ctx, repo, args, timeout=900):
    env = dict(bl.base_env(), **GIT_ENV)
    hwm = [0]
    t0 = time.monotonic()
    p = subprocess.Popen([ctx.deployer] + args, cwd=str(repo), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            try:
                st = bl.proc_status(p.pid)
                if st.get("State", "").startswith("Z"):
                    break
                hwm[0] = max(hwm[0], bl.kib(st["VmHWM"]))
            except (OSError, KeyError):
                break
            stop.wait(0.01)
    th = threading.Thread(target=sample, daemon=True)
    th.start()
    try:
        out, err = p.communicate(timeout=timeout)
    finally:
        stop.set()
        th.join()
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"deployer exited {p.returncode}: "
                           f"{(out + err).strip()[-400:]}")
    return wall, hwm[0], out


def inotify_room():
    """(free inotify instances for this user, the limit): each spool
    daemon holds one, and fs.inotify.max_user_instances is per user."""
    with open("/proc/sys/fs/inotify/max_user_instances") as f:
        limit = int(f.read())
    used = 0
    uid = os.getuid()
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            if os.stat(f"/proc/{pid}").st_uid != uid:
                continue
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == \
                        "anon_inode:inotify":
                    used += 1
        except OSError:
            continue
    return limit - used, limit


INOTIFY_LIMIT = "/proc/sys/fs/inotify/max_user_instances"


def raise_inotify_limit(need, raised):
    """As root, raise fs.inotify.max_user_instances so `need` more
    instances fit; the first old value is kept in raised[0] for the
    caller to restore.  True if there is room now."""
    room, limit = inotify_room()
    if need <= room - 4:
        return True
    if os.geteuid() != 0:
        return False
    try:
        with open(INOTIFY_LIMIT, "w") as f:
            f.write(f"{limit + need - room + 16}\n")
    except OSError:
        return False
    if not raised:
        raised.append(limit)
    return True


def fleet_sizes(ctx):
    cap = int(os.environ.get("BENCH_FLEET_MAX", "200"))
    sizes = [3, 6] if ctx.quick else [10, 50, 200]
    return [n for n in sizes if n <= cap] or [min(sizes[0], cap)]


def run(ctx):
    rows = []
    base = ctx.tmpdir("disk", "b7-")
    store, queue = base / "store", base / "queue"
    store_url, queue_url = f"file://{store}", f"file://{queue}"
    repo = base / "repo"
    daemons = []
    version = 0
    raised = []
    try:
        make_repo(repo, store_url, queue_url)
        for n in fleet_sizes(ctx):
            # All daemons run as this user: each holds one inotify
            # instance, so N is capped by fs.inotify.max_user_instances;
            # as root the bench raises it for the run (and restores it).
            raise_inotify_limit(n - len(daemons), raised)
            room, limit = inotify_room()
            if n - len(daemons) > room - 4:
                want = n
                n = len(daemons) + max(0, room - 4)
                n -= n % 10
                if n <= len(daemons):
                    rows.append(bl.Row(f"n{want}_allatonce_s", f"N={want} "
                                       "AllAtOnce: total", None, "s",
                                       note=f"not measured: needs more "
                                       f"inotify instances "
                                       f"(fs.inotify.max_user_instances="
                                       f"{limit}, {room} free)"))
                    break
                rows.append(bl.Row(f"n{want}_capped", f"N={want} capped "
                                   f"to N={n}", n, "daemons",
                                   note=f"all daemons run as one user and "
                                   f"each holds an inotify instance: "
                                   f"fs.inotify.max_user_instances={limit}"
                                   f", {room} were free; raise it (sysctl)"
                                   f" to run N={want}"))
            # Grow the fleet to n daemons (started together, then each
            # waited for).
            t0 = time.monotonic()
            new = []
            for i in range(len(daemons), n):
                name = f"i-{i:04d}"
                d = base / "hosts" / name
                cfg = {"application": APP, "deployment_group": GROUP,
                       "store": store_url, "queue": queue_url,
                       "root": str(d / "root"), "instance_id": name,
                       "keep_releases": 2}
                new.append(bl.Daemon(ctx, d, cfg, wait_ready=False))
            daemons += new
            for dm in new:
                dm.wait_ready(120)
            start_s = time.monotonic() - t0
            reg = store / "groups" / APP / GROUP / "instances"
            bl.wait_for(lambda: reg.is_dir() and
                        len(list(reg.glob("i-*.json"))) >= n, 60,
                        f"{n} registry entries", 0.05)
            pss = sum((bl.daemon_memory(dm.pid)["pss"] or 0)
                      for dm in daemons)
            pd = sum((bl.daemon_memory(dm.pid)["private_dirty"] or 0)
                     for dm in daemons)
            rows.append(bl.Row(f"n{n}_daemons", f"N={n}: daemons started "
                               "and ready", round(start_s, 2), "s",
                               note=f"sum Pss {pss // 1024} MiB, sum "
                               f"Private_Dirty {pd // 1024} MiB"))
            for config in ("AllAtOnce", "OneAtATime"):
                version += 1
                commit(repo, version, store_url, queue_url, config)
                ctx.log(f"B7 N={n} {config}")
                wall, hwm, out = run_deployer(ctx, repo, [GROUP, "HEAD"])
                if f"{n} succeeded" not in out:
                    raise RuntimeError(f"deployer: {out.strip()[-300:]}")
                key = f"n{n}_{config.lower()}"
                goal = ok = None
                if config == "AllAtOnce" and n >= 200:
                    goal, ok = f"<= {GOAL_S} s", wall <= GOAL_S
                rows += [
                    bl.Row(f"{key}_s", f"N={n} {config}: total", round(
                        wall, 2), "s", goal, ok=ok),
                    bl.Row(f"{key}_per_instance_ms", f"N={n} {config}: "
                           "per instance", bl.ms(wall / n), "ms"),
                    bl.Row(f"{key}_deployer_rss_kib", f"N={n} {config}: "
                           "deployer VmHWM", hwm, "KiB"),
                ]
    finally:
        for dm in daemons:
            if dm.proc.poll() is None:
                dm.proc.terminate()
        for dm in daemons:
            dm.stop()
        shutil.rmtree(base, ignore_errors=True)
        if raised:
            with open(INOTIFY_LIMIT, "w") as f:
                f.write(f"{raised[0]}\n")
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B7"))
