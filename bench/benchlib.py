# SPDX-License-Identifier: ISC
"""Shared helpers of the benchmarks (bench/b*.py, driven by bench/run).

Timing runs a child with fork/exec and reaps it with wait4(2), so one
call gives the wall time (monotonic clock), the CPU times and the peak
resident set (ru_maxrss: the largest of the process and the children it
waited for).  Ratios are measured side by side: alternate() runs the
contenders A B A B ... so that a noisy neighbour hurts both equally, and
the figures are medians.  Nothing here passes or fails on time.
"""
import json
import os
import pathlib
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

TOP = pathlib.Path(__file__).resolve().parents[1]
BENCH = TOP / "bench"
sys.path.insert(0, str(TOP / "tests" / "peers"))


class Ctx:
    """What every benchmark gets: the build, the scratch places, quick."""

    def __init__(self, build, quick=False, verbose=False):
        self.build = pathlib.Path(build).resolve()
        self.quick = quick
        self.verbose = verbose
        self.hookd = str(self.build / "bin" / "hookd")
        self.deployer = str(self.build / "bin" / "deployer")
        self.data = self.build / "bench-data"
        self.disk_tmp = self.build / "bench-tmp"
        self.shm = "/dev/shm" if is_tmpfs("/dev/shm") else None
        # Lists of records a benchmark adds for other tools, written to
        # the results JSON under their key ("B7-sim").
        self.records = {}

    def log(self, msg):
        print(f"    {time.strftime('%H:%M:%S')} {msg}", file=sys.stderr,
              flush=True)

    def tmpdir(self, where="disk", prefix="hookd-bench-"):
        if where == "tmpfs":
            base = self.shm
        else:
            self.disk_tmp.mkdir(parents=True, exist_ok=True)
            base = str(self.disk_tmp)
        return pathlib.Path(tempfile.mkdtemp(prefix=prefix, dir=base))


def is_tmpfs(path):
    try:
        with open("/proc/self/mounts") as f:
            for line in f:
                p = line.split()
                if p[1] == path and p[2] == "tmpfs":
                    return True
    except OSError:
        pass
    return False


def fstype(path):
    r = subprocess.run(["stat", "-f", "-c", "%T", str(path)],
                       capture_output=True, text=True)
    return r.stdout.strip() or "?"


TIME = "/usr/bin/time"


def timed(argv, cwd=None, env=None, stdout=subprocess.DEVNULL,
          stderr=subprocess.DEVNULL, timeout=600):
    """Run argv to completion.  Returns {wall, user, sys, maxrss_kib, rc}.

    The peak RSS comes from /usr/bin/time's wait4(): a child forked from
    this (large) Python process would carry Python's high-water mark
    across its execve() into ru_maxrss."""
    rssf = None
    if os.access(TIME, os.X_OK):
        fd, rssf = tempfile.mkstemp(prefix="bench-rss-")
        os.close(fd)
        argv = [TIME, "-f", "%M", "-o", rssf] + list(argv)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                         stdout=stdout, stderr=stderr)
    _, status, ru = os.wait4(p.pid, 0)
    t1 = time.monotonic()
    p.returncode = os.waitstatus_to_exitcode(status)
    rss = None
    if rssf is not None:
        try:
            with open(rssf) as f:
                for line in f:
                    if line.strip().isdigit():
                        rss = int(line)
        finally:
            os.unlink(rssf)
    return {"wall": t1 - t0, "user": ru.ru_utime, "sys": ru.ru_stime,
            "cpu": ru.ru_utime + ru.ru_stime, "maxrss_kib": rss,
            "rc": p.returncode}


def check(r, what):
    if r["rc"] != 0:
        raise RuntimeError(f"{what} exited {r['rc']}")
    return r


def alternate(contenders, n, before=None, budget=None, min_rounds=2,
              log=None):
    """contenders: [(name, fn)], fn() -> seconds.  Runs them A B A B ...
    n times each (B A on odd rounds); before(name, i) runs untimed ahead
    of each one.  With budget (s), stops after a round once that much
    time went by and min_rounds are done.  Returns {name: [seconds]}."""
    out = {name: [] for name, _ in contenders}
    t0 = time.monotonic()
    for i in range(n):
        order = contenders if i % 2 == 0 else contenders[::-1]
        for name, fn in order:
            if before is not None:
                before(name, i)
            out[name].append(fn())
        if log is not None:
            log("round %d: %s" % (i + 1, ", ".join(
                f"{k} {v[-1] * 1000:.0f} ms" for k, v in out.items())))
        if budget is not None and i + 1 >= min_rounds and \
                time.monotonic() - t0 > budget:
            break
    return out


def median(xs):
    return statistics.median(xs) if xs else None


def percentile(xs, p):
    """Nearest-rank percentile (p in 0..100)."""
    if not xs:
        return None
    s = sorted(xs)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def ms(x):
    return None if x is None else round(x * 1000.0, 2)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def kib(field):
    """'1234 kB' -> 1234."""
    return int(field.split()[0])


def smaps_rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if v.endswith("kB"):
                out[k] = int(v.split()[0])
    return out


def drop_dir(path):
    shutil.rmtree(path, ignore_errors=True)


def write(path, text, mode=None):
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if mode is not None:
        os.chmod(path, mode)


def appspec(hooks, timeout=60):
    """appspec.yml with each event in hooks running scripts/hook.sh."""
    lines = ["version: 0.0", "os: linux", "hooks:"]
    for ev in hooks:
        lines += [f"  {ev}:", "    - location: scripts/hook.sh",
                  f"      timeout: {timeout}"]
    return "\n".join(lines) + "\n"


def make_tgz(src, out):
    subprocess.run(["tar", "-C", str(src), "--sort=name", "--mtime=@0",
                    "--owner=0", "--group=0", "--numeric-owner", "-czf",
                    str(out), "."], check=True)
    return out


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in
           ("NOTIFY_SOCKET", "HOOKD_ROOT")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


# --------------------------------------------------------------------------
# hookd run

def new_id():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    raw = uuid.uuid4().int
    return "d-" + "".join(alphabet[(raw >> (5 * i)) & 31] for i in range(9))


def message(location, sha, seq, app, group, dep_id=None):
    return {"schema": "hookd.deployment/1",
            "deployment_id": dep_id or new_id(), "application": app,
            "group": group, "sequence": seq,
            "revision": {"location": location, "sha256": sha,
                         "format": "tgz"},
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                        time.gmtime()),
            "created_by": "bench@localhost"}


def spool_send(queue_base, group, instance, body, prefix="hookd"):
    """Deliver body into the spool queue of one daemon (tmp/ + rename)."""
    d = pathlib.Path(queue_base) / f"{prefix}-{group}-{instance}"
    for sub in ("tmp", "new", "cur", "failed"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    mid = uuid.uuid4().hex
    (d / "tmp" / mid).write_text(json.dumps(body))
    os.rename(d / "tmp" / mid, d / "new" / mid)


def progress(store_dir, app, group, dep_id, instance):
    p = (pathlib.Path(store_dir) / "deployments" / app / group / dep_id /
         "instances" / f"{instance}.json")
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def wait_for(cond, timeout, what, interval=0.002):
    """Poll cond() until it returns something true, or raise."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout} s waiting for "
                               f"{what}")
        time.sleep(interval)


class Daemon:
    """One `hookd run -d`, ready once READY=1 arrived on its notify
    socket (which is then closed: nobody reads STATUS= afterwards)."""

    def __init__(self, ctx, workdir, cfg, env=None, wait_ready=True):
        self.dir = pathlib.Path(workdir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.cfgpath = self.dir / "hookd.yml"
        self.cfgpath.write_text("".join(f"{k}: {v}\n"
                                        for k, v in cfg.items()))
        self.notify = str(self.dir / "notify")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.notify)
        e = dict(env or base_env(), NOTIFY_SOCKET=self.notify)
        self.errf = open(self.dir / "hookd.stderr", "wb")
        self.proc = subprocess.Popen(
            [ctx.hookd, "run", "-d", "-c", str(self.cfgpath)], env=e,
            stdin=subprocess.DEVNULL, stdout=self.errf,
            stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise RuntimeError(
                    f"hookd run not ready (exit {self.proc.poll()}): " +
                    self.stderr()[-800:])
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(4096).decode()
            except socket.timeout:
                continue
            if "READY=1" in data.splitlines():
                break
        self.sock.close()
        self.sock = None

    def stderr(self):
        try:
            return (self.dir / "hookd.stderr").read_text(errors="replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.sock is not None:
            self.sock.close()
        self.errf.close()


class Row:
    """One figure: value (number or None), unit, goal text, note."""

    def __init__(self, key, label, value, unit, goal=None, note=None,
                 ok=None):
        self.key, self.label, self.value, self.unit = key, label, value, unit
        self.goal, self.note, self.ok = goal, note, ok

    def json(self):
        return {"label": self.label, "value": self.value, "unit": self.unit,
                "goal": self.goal, "meets_goal": self.ok, "note": self.note}


def not_measured(key, label, needs):
    return Row(key, label, None, None, note=f"not measured yet: needs {needs}")


# --------------------------------------------------------------------------
# Peers (tests/peers/): moto_server and the recording proxy

class Peers:
    """moto_server (signature checking on) and a recording proxy in front
    of it; stop() ends both."""

    def __init__(self, logdir):
        import fixtures
        import moto as moto_peer
        self.procs = fixtures._Procs()
        pathlib.Path(logdir).mkdir(parents=True, exist_ok=True)
        try:
            self.moto = moto_peer.Moto(str(logdir)).start(self.procs)
            self.proxy = fixtures.Proxy(self.procs, str(logdir),
                                        self.moto.url, 0)
        except Exception:
            self.procs.stop_all()
            raise

    def env(self, through_proxy=True):
        e = base_env()
        e.update(self.moto.env(self.proxy.url if through_proxy else None))
        return e

    def stop(self):
        self.procs.stop_all()


# --------------------------------------------------------------------------
# A trivial app for the daemon benchmarks

HOOK_EVENTS = ["ApplicationStop", "BeforeInstall", "AfterInstall",
               "ApplicationStart", "ValidateService"]

# Records when the first hook of each deployment started (bash's
# $EPOCHREALTIME, realtime clock, microseconds) in OUT/t.DEPLOYMENT_ID.
STAMP_HOOK = r"""#!/bin/bash
f=@OUT@/t.$DEPLOYMENT_ID
[ -e "$f" ] || echo "$EPOCHREALTIME" > "$f"
exit 0
"""


def stamp_bundle(base, out, name="app"):
    """A .tar.gz whose five hooks run STAMP_HOOK writing into out."""
    d = pathlib.Path(base) / f"src-{name}"
    write(d / "appspec.yml", appspec(HOOK_EVENTS))
    write(d / "scripts" / "hook.sh", STAMP_HOOK.replace("@OUT@", str(out)),
          0o755)
    write(d / "VERSION", "1\n")
    return make_tgz(d, pathlib.Path(base) / f"{name}.tar.gz")


def daemon_memory(pid):
    st = proc_status(pid)
    try:
        roll = smaps_rollup(pid)
    except OSError:
        roll = {}
    own = None
    if "Private_Dirty" in roll:
        own = roll["Private_Dirty"] + roll.get("Private_Clean", 0)
    return {"rss": kib(st["VmRSS"]), "hwm": kib(st["VmHWM"]),
            "anon": kib(st["RssAnon"]), "pss": roll.get("Pss"),
            "private_dirty": roll.get("Private_Dirty"),
            "private_clean": roll.get("Private_Clean"),
            # A process's own memory (issue 19): what only it holds,
            # Private_Clean + Private_Dirty; the shared library pages
            # are the distribution's, shared with every process.
            "own": own,
            "vol": int(st["voluntary_ctxt_switches"]),
            "invol": int(st["nonvoluntary_ctxt_switches"])}
