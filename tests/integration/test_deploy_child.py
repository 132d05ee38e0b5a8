# SPDX-License-Identifier: ISC
"""Each deployment of `hookd run` runs in a process of its own.

What an operator sees: the hook's parent is a deployment process whose
parent is the daemon; nothing is left behind after a deployment; the
daemon never maps the libraries a deployment loads (libarchive, libxml2,
libcrypto), so its memory stays at its idle size; and a deployment
process that dies (SIGKILL, a crash in extraction) is handled like a
daemon crash: the previous release is put back, the deployment is
recorded Interrupted, and its message is delivered again (and set aside
after QUEUE_MAX_RECEIVES deliveries).  Every wait is a polled condition.
"""
import os
import signal

from daemon_util import (APP, GROUP, FileStore, Spool, daemon,  # noqa: F401
                         message, spool_config, wait_status)
from lifecycle_util import (app_bundle, appspec, blocked_in,  # noqa: F401
                            make_bundle, mkfifo, pid_alive, release_of,
                            wait_for, ws)

HEAVY = ("libarchive", "libxml2", "libcrypto", "libcurl")
QUEUE_MAX_RECEIVES = 10         # lib/caps.h


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        # The name may hold spaces and ')': split after the last ')'.
        return int(f.read().rsplit(")", 1)[1].split()[1])


def children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(x) for x in f.read().split()]
    return out


def mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(ln.split()[-1]) for ln in f if ".so" in ln}


def heavy(pid):
    return sorted(x for x in mapped(pid) if x.startswith(HEAVY))


def vmrss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return None


def put(ws, store, version, **kw):
    return store.put_bundle(app_bundle(ws, version, fmt="tgz", **kw))


def unblock(ws):
    with open(ws.out / "fifo", "w"):
        pass


def held_in(ws, daemon, event, **kw):
    """A daemon deploying v1, held in its `event` hook (which blocks on
    the FIFO): (daemon, store, spool, message, the hook's pid).  kw go
    to the daemon fixture (args, env)."""
    store, spool = FileStore(ws.base), Spool(ws.base)
    sha = put(ws, store, "v1")
    mkfifo(ws)
    (ws.out / f"block.{event}.v1").write_text("")
    h = daemon(ws, spool_config(ws), **kw)
    m = message(store.url, sha, 1)
    spool.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    return h, store, spool, m, int((ws.out / "blocked.pid").read_text())


def test_deployment_runs_in_a_child_of_the_daemon(ws, daemon):
    h, store, spool, m, hook = held_in(ws, daemon, "ApplicationStart")
    dep = ppid(hook)
    assert dep != h.pid()
    assert ppid(dep) == h.pid()
    assert children(h.pid()) == [dep]
    (ws.out / "block.ApplicationStart.v1").unlink()
    unblock(ws)
    wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(lambda: not children(h.pid()), 10,
             what="the deployment process to be gone")
    assert not pid_alive(dep)
    assert f"deployment {m['deployment_id']} runs in process {dep}" in \
        h.stderr()
    # The deployment's log lines carry its own pid.
    assert f"hookd[{dep}]: deployment {m['deployment_id']} succeeded" in \
        h.stderr()
    assert h.stop() == 0


def test_daemon_never_maps_what_deployments_load(ws, daemon):
    """The daemon's memory is what it was idle: after several
    deployments it maps none of the heavy libraries and its VmRSS is
    within a small margin of the idle one."""
    store, spool = FileStore(ws.base), Spool(ws.base)
    shas = [put(ws, store, f"v{i}") for i in (1, 2, 3)]
    h = daemon(ws, spool_config(ws))
    assert heavy(h.pid()) == []
    idle = vmrss_kib(h.pid())
    asan = any(x.startswith("libasan") for x in mapped(h.pid()))
    for seq, sha in enumerate(shas, 1):
        m = message(store.url, sha, seq)
        spool.send(m)
        wait_status(store, m["deployment_id"], "Succeeded")
        wait_for(spool.empty, 10, what="the message to be deleted")
        assert heavy(h.pid()) == [], f"after deployment {seq}"
    after = vmrss_kib(h.pid())
    if not asan:    # ASan's shadow memory and quarantine grow as they like
        assert after - idle <= 1024, (idle, after)
    assert h.stop() == 0


def test_signature_check_leaves_libcrypto_out_of_the_daemon(ws, daemon):
    """With message_key_file, the HMAC is checked in a process of its
    own: the verdict is the same (bad signature rejected with its reason,
    a good one deployed), and the daemon still maps no libcrypto."""
    key = b"k" * 32
    keyfile = ws.base / "message.key"
    keyfile.write_bytes(key)
    os.chmod(keyfile, 0o600)
    store, spool = FileStore(ws.base), Spool(ws.base)
    sha = put(ws, store, "v1")
    h = daemon(ws, spool_config(ws, message_key_file=str(keyfile)))
    spool.send(message(store.url, sha, 1, key=b"wrong key"))
    wait_for(lambda: spool.failed_reasons(), 20,
             what="the badly signed message set aside")
    assert "bad message signature" in "\n".join(spool.failed_reasons())
    assert "rejected (delivery 1): bad message signature" in h.stderr()
    good = message(store.url, sha, 2, key=key)
    spool.send(good)
    wait_status(store, good["deployment_id"], "Succeeded")
    assert heavy(h.pid()) == []
    assert h.stop() == 0


def test_killed_deployment_process_is_recovered_and_redelivered(ws, daemon):
    store, spool = FileStore(ws.base), Spool(ws.base)
    sha1, sha2 = put(ws, store, "v1"), put(ws, store, "v2")
    mkfifo(ws)
    h = daemon(ws, spool_config(ws))
    m1 = message(store.url, sha1, 1)
    spool.send(m1)
    wait_status(store, m1["deployment_id"], "Succeeded")
    v1 = release_of(ws, APP, m1["deployment_id"], GROUP)
    assert v1 is not None and ws.current(APP, GROUP) == v1
    (ws.out / "block.ApplicationStart.v2").write_text("")
    m2 = message(store.url, sha2, 2)
    spool.send(m2)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    hook = int((ws.out / "blocked.pid").read_text())
    dep = ppid(hook)
    assert ppid(dep) == h.pid()
    assert ws.current(APP, GROUP) == release_of(ws, APP, m2["deployment_id"],
                                                GROUP)
    # The redelivery stops before Install, so 'current' can be looked at.
    (ws.out / "block.ApplicationStart.v2").unlink()
    (ws.out / "block.BeforeInstall.v2").write_text("")
    os.kill(dep, signal.SIGKILL)
    wait_for(lambda: len(blocked_in(ws)) == 2, 30,
             what="the redelivered deployment to block in BeforeInstall")
    assert not pid_alive(hook)      # died with its deployment process
    assert h.proc.poll() is None
    err = h.stderr()
    assert (f"deployment {m2['deployment_id']}: its process {dep} was "
            "killed by signal Killed (SIGKILL); recovering as after a "
            "crash") in err
    assert f"recovering interrupted deployment {m2['deployment_id']}" \
        in err
    assert "(delivery 2)" in err
    # The previous release is live again, and was started again.
    assert ws.current(APP, GROUP) == v1
    st = ws.state(APP, GROUP)
    assert st["current"]["deployment_id"] == m1["deployment_id"]
    assert [x["status"] for x in st["history"]
            if x["deployment_id"] == m2["deployment_id"]] == ["Interrupted"]
    assert ("ApplicationStart", "v1", str(v1)) in [
        tuple(ln.split(" ", 2)) for ln in
        (ws.out / "events").read_text().splitlines()[-4:]]
    # Let the redelivery finish: it deploys.
    (ws.out / "block.BeforeInstall.v2").unlink()
    unblock(ws)
    wait_status(store, m2["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    st = ws.state(APP, GROUP)
    assert st["current"]["deployment_id"] == m2["deployment_id"]
    assert [x["status"] for x in st["history"]
            if x["deployment_id"] == m2["deployment_id"]] == \
        ["Succeeded", "Interrupted"]
    assert h.proc.poll() is None
    assert heavy(h.pid()) == []     # the recovery did not load them either
    assert h.stop() == 0


def test_deployment_that_always_crashes_is_set_aside(ws, daemon):
    """A hook that kills its deployment process every time: each
    delivery is recovered and recorded, and after QUEUE_MAX_RECEIVES
    deliveries the spool sets the message aside; the daemon serves on."""
    store, spool = FileStore(ws.base), Spool(ws.base)
    sha1 = put(ws, store, "v1")
    h = daemon(ws, spool_config(ws))
    m1 = message(store.url, sha1, 1)
    spool.send(m1)
    wait_status(store, m1["deployment_id"], "Succeeded")
    v1 = ws.current(APP, GROUP)
    assert v1 is not None
    tree = {"appspec.yml": appspec({"BeforeInstall": ["scripts/crash.sh"]}),
            "scripts/crash.sh": "#!/bin/sh\n"
                                "echo crash >> " + str(ws.out / "crashes") +
                                "\nkill -KILL $PPID\nexec sleep 30\n"}
    bad = store.put_bundle(make_bundle(ws, "crash", tree, fmt="tgz"))
    m2 = message(store.url, bad, 2)
    spool.send(m2)
    wait_for(lambda: spool.names("failed"), 120,
             what="the message to be set aside")
    crashes = (ws.out / "crashes").read_text().count("crash")
    assert crashes == QUEUE_MAX_RECEIVES
    h.wait_log("set aside as failed/")
    reason = "\n".join(spool.failed_reasons())
    assert str(QUEUE_MAX_RECEIVES) in reason
    assert h.stderr().count("(SIGKILL); recovering as after a crash") == \
        QUEUE_MAX_RECEIVES
    assert ws.current(APP, GROUP) == v1
    assert store.progress(m2["deployment_id"])["status"] == "Interrupted"
    st = ws.state(APP, GROUP)
    assert st["current"]["deployment_id"] == m1["deployment_id"]
    # Still serving.
    m3 = message(store.url, sha1, 3)
    spool.send(m3)
    wait_status(store, m3["deployment_id"], "Succeeded")
    assert h.stop() == 0


def test_sigterm_reaches_the_deployment_process(ws, daemon):
    h, store, spool, m, hook = held_in(ws, daemon, "ApplicationStart",
                                       args=["--grace", "1"])
    dep = ppid(hook)
    assert h.stop(signal.SIGTERM, timeout=30) == 0
    assert not pid_alive(hook) and not pid_alive(dep)
    assert f"passing SIGTERM to deployment process {dep}" in h.stderr()
    assert store.progress(m["deployment_id"])["status"] == "Interrupted"
    assert spool.names("cur") or spool.names("new")


def test_kill9_of_the_daemon_takes_the_deployment_process_along(ws, daemon):
    """The deployment process dies with the daemon (PR_SET_PDEATHSIG),
    and a daemon started again at once recovers and resumes."""
    h, store, spool, m, hook = held_in(ws, daemon, "AfterInstall")
    dep = ppid(hook)
    (ws.out / "block.AfterInstall.v1").unlink()
    h.kill9()
    h.start()       # at once: the dying process may still hold the lock
    wait_for(lambda: not pid_alive(dep) and not pid_alive(hook), 15,
             what="the deployment process and its hook to die")
    wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    assert f"recovering interrupted deployment {m['deployment_id']}" in \
        h.stderr()
    assert h.stop() == 0


def test_watchdog_is_pinged_while_a_hook_runs(ws, daemon):
    """While a deployment runs, its process pings the watchdog (the
    daemon waits without pinging, so a hung deployment is caught)."""
    h, store, spool, m, _ = held_in(ws, daemon, "ApplicationStart",
                                    env={"WATCHDOG_USEC": "1000000"})
    n = h.notify.drain().count("WATCHDOG=1")
    wait_for(lambda: h.notify.drain().count("WATCHDOG=1") >= n + 3, 10,
             what="three WATCHDOG=1 while the hook blocks")
    (ws.out / "block.ApplicationStart.v1").unlink()
    unblock(ws)
    wait_status(store, m["deployment_id"], "Succeeded")
    assert h.stop() == 0
