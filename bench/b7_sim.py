#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B7-sim: the deployer against a simulated fleet (issue 19).

tests/peers/fleetsim.py plays S3, SQS and N instances in one process: it
speaks the wire formats the deployer uses, checks every request's SigV4,
answers each request after a fixed 20 ms (a real network's round trip),
and each instance, once its queue gets its message, writes a Succeeded
progress document after 1 s.  `deployer production HEAD` deploys a
trivial app from a git repository whose deployer.yml points at it
(s3:// store, sqs queue), for N = 100, 1,000 and 10,000: first the
group's first deployment (untimed: with no target.json yet it reads every
registry entry, the reset check; its requests per instance are a row),
then AllAtOnce and HalfAtATime, timed.  Unlike B7 (real daemons on the spool, on this machine),
no hookd runs: this measures the deployer's side of a rollout alone.

Figures per run: send_s (the time spent sending: for each batch, its
first to its last SendMessage seen by the fleet, added up),
outcome_lag_s (the last instance's Succeeded document written -> the
deployer's exit), requests_per_instance (every request the deployer
made, bundle upload and records included, over N), cpu_s (the
deployer's user + sys) and rss_mib (its peak RSS, /usr/bin/time %M).
Goals at N = 10,000: sent <= 5 s, outcome known <= 2 s after the last
report, <= 3 requests per instance, RSS <= 64 MiB.  The records also go
to results JSON under the key "B7-sim" (driver.py), one per run.

BENCH_SIM_MAX caps N (default 10000); a run whose deployer would need
longer than BENCH_SIM_BUDGET seconds (default 900, estimated from the
previous size's requests and time) is not run and its row says so.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import benchlib as bl

APP, GROUP = "fleet", "production"
KEY, SECRET = "AKIDFLEETSIM", "fleetsim-secret"
LATENCY_S = 0.02
DELAY_S = 1.0
GOAL_SEND_S, GOAL_LAG_S, GOAL_RPI, GOAL_RSS_MIB = 5, 2, 3, 64
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}
EVENTS = ["ApplicationStop", "BeforeInstall", "AfterInstall",
          "ApplicationStart", "ValidateService"]
SIM = bl.TOP / "tests" / "peers" / "fleetsim.py"


def git(repo, *args):
    env = dict(bl.base_env(), **GIT_ENV)
    r = subprocess.run(["git", "-C", str(repo)] + list(args), env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"git {args[0]}: {r.stderr.strip()[:200]}")
    return r.stdout.strip()


def deployer_yml(config):
    return (f"application: {APP}\nstore: s3://fleet/deploys\nqueue: sqs\n"
            f"queue_prefix: hookd\nregion: us-east-1\ngroups:\n"
            f"  {GROUP}:\n    deployment_config: {config}\n"
            f"    rollback_on_failure: false\n    timeout: 1800\n")


class Fleet:
    """One fleetsim process with n instances."""

    def __init__(self, n, logfile):
        self.log = open(logfile, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", str(SIM), "--instances", str(n),
             "--latency", str(LATENCY_S), "--delay", str(DELAY_S),
             "--access-key", KEY, "--secret-key", SECRET],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self.log, start_new_session=True)
        line = self.proc.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "READY":
            self.stop()
            raise RuntimeError(f"fleetsim did not start; see {logfile}")
        self.url = f"http://127.0.0.1:{line[1]}"

    def call(self, path, method="GET"):
        req = urllib.request.Request(self.url + path, method=method,
                                     data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"{}")

    def env(self):
        return {"AWS_ENDPOINT_URL": self.url, "AWS_ACCESS_KEY_ID": KEY,
                "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
                "AWS_CONFIG_FILE": "/nonexistent"}

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def run_deployer(ctx, repo, fleet, timeout):
    """(wall, cpu_s, maxrss_kib, exit time, output) of one deployment."""
    env = dict(bl.base_env(), **GIT_ENV)
    env.update(fleet.env())
    tfile = repo.parent / "time.out"
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-o", str(tfile), "-f",
                        "%U %S %M", ctx.deployer, GROUP, "HEAD"],
                       cwd=str(repo), env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=timeout)
    t_exit = time.time()
    wall = time.monotonic() - t0
    out = p.stdout + p.stderr
    if p.returncode != 0:
        raise RuntimeError(f"deployer exited {p.returncode}: "
                           f"{out.strip()[-400:]}")
    u, s, m = tfile.read_text().split()[-3:]
    return wall, float(u) + float(s), int(m), t_exit, out


def sizes(ctx):
    cap = int(os.environ.get("BENCH_SIM_MAX", "10000"))
    ns = [20, 100] if ctx.quick else [100, 1000, 10000]
    return [n for n in ns if n <= cap] or [min(ns[0], cap)]


def run(ctx):
    rows, records = [], []
    base = ctx.tmpdir("disk", "b7sim-")
    repo = base / "repo"
    budget = float(os.environ.get("BENCH_SIM_BUDGET", "900"))
    per_req = None      # seconds per deployer request, last measured
    version = 0
    try:
        bl.write(repo / "appspec.yml", bl.appspec(EVENTS))
        bl.write(repo / "scripts" / "hook.sh", "#!/bin/sh\nexit 0\n", 0o755)
        bl.write(repo / "VERSION", "0\n")
        bl.write(repo / "deployer.yml", deployer_yml("AllAtOnce"))
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "v0")
        for n in sizes(ctx):
            fleet = Fleet(n, base / f"fleetsim-{n}.log")
            try:
                # The group's first deployment: it has no target.json,
                # so it reads every registry entry once (the reset
                # check).  Untimed; its requests are a row of their own.
                version += 1
                bl.write(repo / "VERSION", f"{version}\n")
                bl.write(repo / "deployer.yml", deployer_yml("AllAtOnce"))
                git(repo, "add", "-A")
                git(repo, "commit", "-q", "-m", f"v{version}")
                fleet.call("/__sim/reset", "POST")
                ctx.log(f"B7-sim N={n} first deployment")
                run_deployer(ctx, repo, fleet, timeout=budget * 2 + 120)
                st = fleet.call("/__sim/stats")
                rows.append(bl.Row(
                    f"n{n}_first_requests_per_instance", f"N={n} the "
                    "group's first deployment: requests per instance",
                    round(st["total"] / n, 2), "req",
                    note="no target.json yet: every registry entry read "
                    "(the reset check); untimed"))
                for config in ("AllAtOnce", "HalfAtATime"):
                    key = f"n{n}_{config.lower()}"
                    if per_req is not None and \
                            per_req * n * last_rpi > budget:
                        est = per_req * n * last_rpi
                        rows.append(bl.Row(f"{key}_send_s", f"N={n} "
                                           f"{config}: not run", None, "s",
                                           note=f"estimated {est:.0f} s "
                                           f"(> BENCH_SIM_BUDGET {budget:.0f}"
                                           f" s) from the last run's "
                                           f"{last_rpi:.1f} requests per "
                                           f"instance at {per_req * 1000:.1f}"
                                           " ms each"))
                        continue
                    version += 1
                    bl.write(repo / "VERSION", f"{version}\n")
                    bl.write(repo / "deployer.yml", deployer_yml(config))
                    git(repo, "add", "-A")
                    git(repo, "commit", "-q", "-m", f"v{version}")
                    fleet.call("/__sim/reset", "POST")
                    ctx.log(f"B7-sim N={n} {config}")
                    wall, cpu, rss, t_exit, out = run_deployer(
                        ctx, repo, fleet, timeout=budget * 2 + 120)
                    st = fleet.call("/__sim/stats")
                    if st["outcomes"] != n or f"{n} succeeded" not in out:
                        raise RuntimeError(f"N={n} {config}: "
                                           f"{st['outcomes']} outcomes; "
                                           f"{out.strip()[-300:]}")
                    # Sending time: each batch's run of sends, added
                    # up (HalfAtATime waits for the first half between).
                    bursts = st["send_bursts"]
                    send = sum(b - a for a, b in bursts)
                    span = st["last_send"] - st["first_send"]
                    lag = t_exit - st["last_outcome"]
                    rpi = st["total"] / n
                    per_req = wall / max(st["total"], 1)
                    last_rpi = rpi
                    rec = {"n": n, "config": config,
                           "send_s": round(send, 3),
                           "outcome_lag_s": round(lag, 3),
                           "requests_per_instance": round(rpi, 3),
                           "cpu_s": round(cpu, 3),
                           "rss_mib": round(rss / 1024, 1),
                           "wall_s": round(wall, 2),
                           "cpu_ms_per_instance": round(cpu * 1000 / n, 3),
                           "requests": st["requests"]}
                    records.append(rec)
                    big = n >= 10000
                    kinds = ", ".join(f"{k} {v}" for k, v in
                                      sorted(st["requests"].items(),
                                             key=lambda kv: -kv[1]))
                    rows += [
                        bl.Row(f"{key}_send_s", f"N={n} {config}: all "
                               "messages sent", round(send, 2), "s",
                               f"<= {GOAL_SEND_S} s" if big else None,
                               ok=send <= GOAL_SEND_S if big else None,
                               note=f"{len(bursts)} batch(es); first to "
                               f"last send {span:.2f} s; deployer wall "
                               f"{wall:.1f} s"),
                        bl.Row(f"{key}_outcome_lag_s", f"N={n} {config}: "
                               "last report -> deployer exit",
                               round(lag, 2), "s",
                               f"<= {GOAL_LAG_S} s" if big else None,
                               ok=lag <= GOAL_LAG_S if big else None),
                        bl.Row(f"{key}_requests_per_instance",
                               f"N={n} {config}: requests per instance",
                               round(rpi, 2), "req",
                               f"<= {GOAL_RPI}" if big else None,
                               ok=rpi <= GOAL_RPI if big else None,
                               note=kinds),
                        bl.Row(f"{key}_cpu_s", f"N={n} {config}: deployer "
                               "CPU (user+sys)", round(cpu, 2), "s",
                               note=f"{cpu * 1000 / n:.2f} ms per instance"),
                        bl.Row(f"{key}_rss_mib", f"N={n} {config}: deployer "
                               "peak RSS", round(rss / 1024, 1), "MiB",
                               f"<= {GOAL_RSS_MIB} MiB" if big else None,
                               ok=rss / 1024 <= GOAL_RSS_MIB if big
                               else None),
                    ]
            finally:
                fleet.stop()
    finally:
        shutil.rmtree(base, ignore_errors=True)
        ctx.records["B7-sim"] = records
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B7-sim"))
