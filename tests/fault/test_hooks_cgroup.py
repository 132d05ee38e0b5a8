# SPDX-License-Identifier: ISC
"""Root hooks bounded by a cgroup (lib/cgroup.c): RLIMIT_NPROC does not
apply to root, so `hookd run` puts each hook in a cgroup of its own with
pids.max = hook_max_procs, and a timeout or stop kills every member of
it, including what left the hook's process group with setsid.

Each test makes a scratch cgroup itself, as an operator would delegate
one, and points hookd at it with hook_cgroup: under cgroup v2 when the
pids controller is in the unified hierarchy, and under the v1 "pids"
hierarchy when it is mounted (hybrid hosts; this build machine). A kind
the machine lacks is skipped with the reason; so is everything when we
are not root.  The daemon test runs real deployments from the spool."""
import os
import pathlib
import subprocess
import time
import uuid

import pytest

from daemon_util import (FileStore, Spool, daemon,  # noqa: F401
                         message, spool_config)
from lifecycle_util import appspec, make_bundle, wait_for, ws  # noqa: F401

APP = "app"
LIMIT = 64


def mounts():
    """(mountpoint, fstype, super options) of every cgroup mount."""
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = left.split()
            rfields = right.split()
            if rfields and rfields[0] in ("cgroup", "cgroup2"):
                out.append((fields[4], rfields[0],
                            rfields[2] if len(rfields) > 2 else ""))
    return out


def make_base(kind):
    """A fresh cgroup for hookd to delegate into, or pytest.skip."""
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    name = f"hookd-test-{uuid.uuid4().hex[:8]}"
    if kind == "v2":
        m = [p for p, t, _ in mounts() if t == "cgroup2"]
        if not m:
            pytest.skip("no cgroup2 file system is mounted")
        root = pathlib.Path(m[0])
        ctl = (root / "cgroup.controllers").read_text().split()
        if "pids" not in ctl:
            pytest.skip(f"cgroup2 at {root} has no pids controller (it "
                        f"is bound to a v1 hierarchy; controllers: "
                        f"{' '.join(ctl) or 'none'})")
        try:
            sub = (root / "cgroup.subtree_control").read_text().split()
            if "pids" not in sub:
                (root / "cgroup.subtree_control").write_text("+pids")
            base = root / name
            base.mkdir()
        except OSError as e:
            pytest.skip(f"cannot make a cgroup v2 under {root}: {e}")
        return base
    m = [p for p, t, o in mounts() if t == "cgroup" and
         "pids" in o.split(",")]
    if not m:
        pytest.skip("no cgroup v1 pids hierarchy is mounted")
    base = pathlib.Path(m[0]) / name
    try:
        base.mkdir()
    except OSError as e:
        pytest.skip(f"cannot make a cgroup under {m[0]}: {e}")
    return base


def cg_pids(d):
    try:
        return [int(x) for x in (d / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def live(pid):
    """Alive and not a zombie."""
    try:
        st = pathlib.Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return st.rpartition(")")[2].split()[0] not in ("Z", "X")


def remove_base(base):
    """Kill what is left in the subtree, then remove it, leaves first."""
    for d in sorted(base.rglob("*"), key=lambda p: -len(p.parts)) + [base]:
        if not d.is_dir():
            continue
        for _ in range(50):
            pids = [p for p in cg_pids(d) if live(p)]
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, 9)
                except OSError:
                    pass
            time.sleep(0.05)
        try:
            d.rmdir()
        except OSError:
            pass


@pytest.fixture(params=["v2", "v1"])
def cgbase(request):
    base = make_base(request.param)
    yield base
    remove_base(base)


def hook_cgroups(base):
    return sorted(p for p in base.glob("hook-*") if p.is_dir())


def deploy_one(ws, daemon, base, script, event="BeforeInstall", timeout=5,
               seq=1, h=None, **cfgkw):
    store = FileStore(ws.base)
    b = make_bundle(ws, APP, {
        "appspec.yml": appspec({event: [{"location": "scripts/x.sh",
                                         "timeout": timeout}]}),
        "scripts/x.sh": script}, fmt="tgz", subdir=f"s{seq}")
    sha = store.put_bundle(b)
    if h is None:
        cfg = spool_config(ws, hook_cgroup=str(base),
                           hook_max_procs=LIMIT, **cfgkw)
        h = daemon(ws, cfg)
    m = message(store.url, sha, seq)
    Spool(ws.base).send(m)
    return h, store, m


def wait_outcome(store, m, timeout=90):
    def done():
        p = store.progress(m["deployment_id"])
        return p if p is not None and p["status"] in (
            "Succeeded", "Failed") else None
    return wait_for(done, timeout, what="the deployment's outcome")


# A bounded bomb: up to 10,000 background sleeps, far above the limit;
# bash retries a failed fork, so it keeps pushing until the timeout.
BOMB = r"""#!/bin/bash
cat /proc/self/cgroup > @OUT@/cgroup
for i in $(seq 1 10000); do sleep 60 & done
wait
"""


def test_fork_bomb_of_a_root_hook_is_bounded_by_the_cgroup(ws, daemon,
                                                           cgbase):
    h, store, m = deploy_one(ws, daemon, cgbase,
                             BOMB.replace("@OUT@", str(ws.out)))
    assert "each hook runs in its own cgroup under" in h.stderr()
    seen_max, seen, refused = 0, set(), 0
    cg = None
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        p = store.progress(m["deployment_id"])
        if p is not None and p["status"] in ("Succeeded", "Failed"):
            break
        for d in hook_cgroups(cgbase):
            cg = d
            pids = cg_pids(d)
            seen.update(pids)
            seen_max = max(seen_max, len(pids))
            for f in ("pids.current", "pids.peak"):    # peak: Linux 6.1+
                try:
                    seen_max = max(seen_max, int((d / f).read_text()))
                except (OSError, ValueError):
                    pass
            try:
                ev = (d / "pids.events").read_text().split()
                refused = max(refused, int(ev[ev.index("max") + 1]))
            except (OSError, ValueError, IndexError):
                pass
        time.sleep(0.05)
    p = wait_outcome(store, m)
    assert p["status"] == "Failed", p
    text = str(p)
    assert "timed out after 5 s" in text, text
    # The hook ran in a cgroup of ours, and the bomb hit the limit.
    assert cg is not None, "no hook cgroup appeared"
    assert cg.name in (ws.out / "cgroup").read_text()
    assert seen_max <= LIMIT, f"{seen_max} processes in the hook cgroup"
    assert seen_max >= LIMIT - 4, \
        f"the bomb never reached the limit ({seen_max} of {LIMIT})"
    assert refused > 0, "the kernel never refused a fork (pids.events)"
    print(f"max pids observed: {seen_max} (limit {LIMIT}); "
          f"{len(seen)} distinct pids; forks refused: {refused}")
    # Nothing of the hook survives the deployment; its cgroup is gone.
    wait_for(lambda: not [x for x in seen if live(x)], 20,
             what="every bomb process to be gone")
    wait_for(lambda: not cg.exists(), 10, what="the hook cgroup removed")
    assert h.stop() == 0


ESCAPE = r"""#!/bin/bash
setsid sleep 300 < /dev/null > /dev/null 2>&1 &
echo $! > @OUT@/escaped
sleep 300
"""


def test_timeout_kills_what_left_the_process_group(ws, daemon, cgbase):
    h, store, m = deploy_one(ws, daemon, cgbase,
                             ESCAPE.replace("@OUT@", str(ws.out)),
                             timeout=2)
    p = wait_outcome(store, m)
    assert p["status"] == "Failed" and "timed out after 2 s" in str(p)
    pid = int((ws.out / "escaped").read_text())
    # A session of its own: out of reach of the process-group kill.
    wait_for(lambda: not live(pid), 15, what="the setsid child killed")
    assert hook_cgroups(cgbase) == []
    assert h.stop() == 0


SERVER = r"""#!/bin/bash
setsid sleep 300 < /dev/null > /dev/null 2>&1 &
echo $! > @OUT@/server
"""


def test_a_hook_that_exits_leaves_what_it_started(ws, daemon, cgbase):
    h, store, m = deploy_one(ws, daemon, cgbase,
                             SERVER.replace("@OUT@", str(ws.out)),
                             event="ApplicationStart")
    p = wait_outcome(store, m)
    assert p["status"] == "Succeeded", p
    pid = int((ws.out / "server").read_text())
    assert live(pid), "ApplicationStart's server was killed"
    cgs = hook_cgroups(cgbase)
    assert len(cgs) == 1 and pid in cg_pids(cgs[0])
    assert h.stop() == 0
    os.kill(pid, 9)
    wait_for(lambda: not live(pid), 10, what="the server gone")


def test_without_a_cgroup_root_hooks_are_reported_unbounded(ws, daemon):
    if os.geteuid() != 0:
        pytest.skip("the notice is for hookd running as root")
    own = pathlib.Path("/proc/self/cgroup").read_text()
    h = daemon(ws, spool_config(ws))
    err = h.stderr()
    if "each hook runs in its own cgroup" in err:
        pytest.skip(f"this host delegates a cgroup to us: {own!r}")
    assert "root hooks are not process-bounded (" in err, err
    assert "Delegate=yes" in err and "hook_cgroup" in err
    assert err.count("not process-bounded") == 1
    assert h.stop() == 0


def test_a_configured_cgroup_that_is_not_one_is_refused(ws, daemon):
    cfg = spool_config(ws, hook_cgroup=str(ws.base))
    h = daemon(ws, cfg, start=False)
    h.start(wait_ready=False)
    assert h.proc.wait(30) == 78
    err = h.stderr()
    assert f"hook_cgroup: '{ws.base}' is not a cgroup directory" in err, err


def test_a_delegated_cgroup_is_found_by_itself(ws):
    """Without hook_cgroup, hookd uses its own cgroup v2 when systemd
    marked it delegated (the trusted.delegate xattr, as Delegate=yes
    does): start hookd inside a scratch cgroup carrying that mark."""
    if os.geteuid() != 0:
        pytest.skip("making a cgroup needs root")
    m = [p for p, t, _ in mounts() if t == "cgroup2"]
    if not m:
        pytest.skip("no cgroup2 file system is mounted")
    root = pathlib.Path(m[0])
    base = root / f"hookd-test-{uuid.uuid4().hex[:8]}"
    try:
        ctl = (root / "cgroup.controllers").read_text().split()
        if "pids" in ctl and "pids" not in \
                (root / "cgroup.subtree_control").read_text().split():
            (root / "cgroup.subtree_control").write_text("+pids")
        base.mkdir()
        os.setxattr(base, "trusted.delegate", b"1")
    except OSError as e:
        remove_base(base)
        pytest.skip(f"cannot make a delegated cgroup under {root}: {e}")
    from conftest import binary
    from daemon_util import write_config
    cfgpath = ws.base / "hookd.yml"
    write_config(cfgpath, **spool_config(ws, hook_max_procs=LIMIT))
    errpath = ws.base / "hookd.stderr"
    env = {k: v for k, v in os.environ.items()
           if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    with open(errpath, "wb") as err:
        p = subprocess.Popen(["/bin/sh", "-c",
                      'echo $$ > "$1/cgroup.procs" && shift && exec "$@"',
                      "sh", str(base), binary("hookd"), "run", "-d", "-c",
                      str(cfgpath)], stdin=subprocess.DEVNULL,
                             stdout=err, stderr=err, env=env)
    try:
        def said():
            t = errpath.read_text(errors="replace")
            return t if ("each hook runs in its own cgroup" in t or
                         "not process-bounded" in t) else None
        text = wait_for(said, 30, what="hookd's word on the hook cgroup")
        if "pids" in ctl:
            assert (f"each hook runs in its own cgroup under cgroup v2 "
                    f"{base} (pids.max {LIMIT})") in text, text
            own = pathlib.Path(f"/proc/{p.pid}/cgroup").read_text()
            assert own.strip().endswith(f"/{base.name}/supervisor"), own
            assert "pids" in (base / "cgroup.subtree_control").read_text()
        else:
            # Found and delegated, but this hierarchy has no pids.
            assert (f"root hooks are not process-bounded (the pids "
                    f"controller is not available in '{base}'") in text, \
                text
    finally:
        p.terminate()
        p.wait(30)
        remove_base(base)
