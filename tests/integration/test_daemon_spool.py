# SPDX-License-Identifier: ISC
"""`hookd run` with the embedded backends: the spool queue and the file
store.  Real processes; readiness through a NOTIFY_SOCKET the test owns;
every wait is a polled condition with a deadline.
"""
import json
import os
import re
import shutil
import signal
import time

from conftest import binary, run
from daemon_util import (APP, GROUP, INSTANCE, FileStore, Spool, daemon,
                         message, spool_config, wait_status,
                         write_config)  # noqa: F401
from lifecycle_util import (app_bundle, blocked_in, events, mkfifo,
                            pid_alive, wait_for, ws)  # noqa: F401


def prepare(ws, version="v1", **kw):
    store = FileStore(ws.base)
    b = app_bundle(ws, version, fmt="tgz", **kw)
    sha = store.put_bundle(b)
    return store, Spool(ws.base), sha


def test_run_n_checks_the_config(ws):
    good = write_config(ws.base / "good.yml", **spool_config(ws))
    r = run([binary("hookd"), "run", "-n", "-c", str(good)])
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith("configuration OK (the "
                                                "queue")
    assert "deployment group 'production' of application 'app'" in r.stdout
    # the instance id is resolved and printed too, as hookd(8) says
    assert re.search(r"^instance '[^']+' \(from hookd.yml instance_id\)$",
                     r.stdout, re.M), r.stdout
    # each fact once: printed, not also logged on stderr
    assert "deployment group" not in r.stderr, r.stderr
    assert "instance '" not in r.stderr, r.stderr
    # -n resolves the group as the start does: none is 78
    nogroup = write_config(ws.base / "nogroup.yml",
                           **dict(spool_config(ws), deployment_group=None))
    env = {k: v for k, v in os.environ.items()
           if k not in ("DEPLOYMENT_GROUP_NAME",)}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    r = run([binary("hookd"), "run", "-n", "-c", str(nogroup)], env=env)
    assert r.returncode == 78, r.stdout + r.stderr
    assert "hookd: group: no deployment group" in r.stderr
    bad = ws.base / "bad.yml"
    bad.write_text("application: app\nkeep_releases: lots\n")
    r = run([binary("hookd"), "run", "-n", "-c", str(bad)])
    assert r.returncode == 78
    assert f"{bad}:2:" in r.stderr
    assert r.stdout == ""


def test_ready_registers_and_idles(ws, daemon):
    h = daemon(ws, spool_config(ws))
    assert "READY=1" in h.notify.messages
    assert "STATUS=idle" in h.notify.messages
    reg = FileStore(ws.base).registry()
    assert reg["instance"] == INSTANCE and reg["group"] == GROUP
    assert reg["queue"] == f"hookd-{GROUP}-{INSTANCE}"
    assert reg["queue_backend"] == "spool"
    assert reg["last_seen"]
    err = h.stderr()
    assert (f"serving deployment group '{GROUP}' of application '{APP}' "
            "(group from hookd.yml deployment_group)") in err
    assert h.stop() == 0


def test_a_fatal_start_error_is_printed_once(ws, daemon):
    """A second daemon on the same root exits 75, and says why once
    (the stderr logger; not also a "hookd: " line)."""
    h = daemon(ws, spool_config(ws))
    r = run([binary("hookd"), "run", "-d", "-c", str(h.cfgpath)],
            env=h.env)
    assert r.returncode == 75, r.stderr
    lines = [ln for ln in r.stderr.splitlines()
             if f"another 'hookd run' serves {APP}/{GROUP}" in ln]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("hookd["), r.stderr
    assert h.stop() == 0


def start_unreachable(ws, daemon, **kw):
    """hookd run with AWS_ENDPOINT_URL where nothing listens: it exits
    by itself; returns (the Hookd, seconds it ran)."""
    env = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION":
           "us-east-1", "AWS_ACCESS_KEY_ID": "AKIDTEST",
           "AWS_SECRET_ACCESS_KEY": "secret"}
    h = daemon(ws, spool_config(ws, start_timeout=3, **kw), env=env,
               start=False)
    t0 = time.monotonic()
    h.start(wait_ready=False)
    h.proc.wait(timeout=60)
    return h, time.monotonic() - t0


def test_a_queue_unreachable_at_start_exits_69_after_start_timeout(
        ws, daemon):
    """operations.md section 3: each try logged with its reason, then 69
    at start_timeout (systemd restarts it), never READY=1."""
    h, took = start_unreachable(ws, daemon, queue="sqs")
    err = h.stderr()
    assert h.proc.returncode == 69, err
    assert 3 <= took < 20, (took, err)
    tries = [ln for ln in err.splitlines()
             if ln.split(": ", 1)[-1].startswith("queue unavailable: ")]
    assert len(tries) >= 2, err
    assert all("Couldn't connect to server; trying again in " in ln
               for ln in tries), err
    last = err.splitlines()[-1]
    assert f"queue 'hookd-{GROUP}-{INSTANCE}' still unavailable after 3 " \
        "s (start_timeout), giving up: " in last, err
    assert "READY=1" not in h.notify.messages


def test_a_store_unreachable_at_start_exits_69_after_start_timeout(
        ws, daemon):
    h, took = start_unreachable(ws, daemon, store="s3://bucket/deploys")
    err = h.stderr()
    assert h.proc.returncode == 69, err
    assert 3 <= took < 20, (took, err)
    assert err.count("store unavailable: ") >= 2, err
    assert "store 's3://bucket/deploys' still unavailable after 3 s " \
        "(start_timeout), giving up: " in err.splitlines()[-1], err
    assert "READY=1" not in h.notify.messages


HEAVY_LIBRARIES = ("libcurl", "libarchive", "libxml2", "libcrypto")


def mapped_libraries(pid):
    with open(f"/proc/{pid}/maps") as f:
        return {os.path.basename(line.split()[-1]) for line in f
                if ".so" in line}


def test_idle_spool_daemon_loads_no_network_or_archive_library(ws, daemon):
    """libcurl, libarchive, libxml2 and libcrypto are most of a linked
    process's memory: a daemon on a spool queue maps none of them, and
    deploys as usual (the deployment process loads them and takes them
    with it when it ends: test_deploy_child.py)."""
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws))
    idle = mapped_libraries(h.proc.pid)
    assert any(x.startswith("libc.so") for x in idle), idle
    assert not [x for x in idle if x.startswith(HEAVY_LIBRARIES)], idle
    m = message(store.url, sha, 1)
    spool.send(m)
    wait_status(store, m["deployment_id"], "Succeeded")
    after = mapped_libraries(h.proc.pid)
    assert not [x for x in after if x.startswith(HEAVY_LIBRARIES)], after
    assert h.stop() == 0


def test_a_spool_queue_removed_while_running_is_made_again(ws, daemon):
    """rm -r of the queue directory: the daemon says so once, makes it
    again (not in the removed directory it still held open), and takes
    the next message from the new one."""
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws))
    # rm -r, made atomic: the daemon would make the directory again
    # while rmtree is still emptying it (then rmdir fails, as rm -r does)
    gone = ws.base / "removed-queue"
    os.rename(spool.dir, gone)
    shutil.rmtree(gone)
    name = f"hookd-{GROUP}-{INSTANCE}"
    h.wait_log(f"queue '{name}' does not exist .*; creating it again")
    h.wait_log(f"queue '{name}' created again")
    for sub in ("tmp", "new", "cur", "failed"):
        assert (spool.dir / sub).is_dir(), sub
    m = message(store.url, sha, 1)
    spool.send(m)
    wait_status(store, m["deployment_id"], "Succeeded")
    err = h.stderr()
    assert err.count("does not exist") == 1, err
    assert "queue unavailable" not in err, err
    assert h.stop() == 0


def test_group_from_flag_and_environment(ws, daemon):
    cfg = spool_config(ws, deployment_group=None)
    h = daemon(ws, cfg, env={"DEPLOYMENT_GROUP_NAME": GROUP})
    assert "(group from $DEPLOYMENT_GROUP_NAME)" in h.stderr()
    assert h.stop() == 0
    h = daemon(ws, cfg, args=["--group", GROUP])
    assert "(group from --group)" in h.stderr()
    assert h.stop() == 0


def test_message_is_run_reported_and_deleted(ws, daemon):
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws))
    m = message(store.url, sha, 1)
    spool.send(m)
    p = wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    assert [e["event"] for e in p["events"] if e["status"] == "Succeeded"
            ][-1] == "ValidateService"
    assert p["sequence"] == 1 and p["sha256"] == sha
    assert [e[0] for e in events(ws)] == ["BeforeInstall", "AfterInstall",
                                          "ApplicationStart",
                                          "ValidateService"]
    st = ws.state(APP, GROUP)
    assert st["current"]["deployment_id"] == m["deployment_id"]
    msgs = h.notify.drain()
    assert any(x.startswith(f"STATUS=deploying {m['deployment_id']} ")
               for x in msgs)
    assert h.stop() == 0


def test_duplicate_and_older_sequence_are_not_run(ws, daemon):
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws))
    m = message(store.url, sha, 5)
    spool.send(m)
    wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    n = len(events(ws))
    spool.send(m)
    old = message(store.url, sha, 4)
    spool.send(old)
    h.wait_log(f"deployment {m['deployment_id']} not run: deployment "
               f"{m['deployment_id']} already finished here")
    h.wait_log(f"deployment {old['deployment_id']} not run: sequence 4 is "
               "not above the installed sequence 5")
    wait_for(spool.empty, 10, what="both messages to be acknowledged")
    assert len(events(ws)) == n
    # the deployer hears why at once: Skipped, with the reason
    p = store.progress(old["deployment_id"])
    assert p["status"] == "Skipped", p
    assert p["message"] == ("Skipped: sequence 4 is not above the "
                            "installed sequence 5")
    assert h.stop() == 0


def test_bad_messages_are_rejected_and_serving_goes_on(ws, daemon):
    key = b"k" * 32
    keyfile = ws.base / "msg.key"
    keyfile.write_bytes(key)
    os.chmod(keyfile, 0o600)
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws, message_key_file=str(keyfile)))
    spool.send("{not json")
    spool.send(message(store.url, sha, 1, group="staging", key=key))
    spool.send(message(store.url, sha, 1, key=key,
                       location="file:///etc/passwd"))
    bad = message(store.url, sha, 1, key=b"wrong key")
    spool.send(bad)
    wait_for(lambda: len(spool.names("failed")) == 8, 20,
             what="four messages in failed/ with their reasons")
    reasons = "\n".join(spool.failed_reasons())
    assert "staging" in reasons and GROUP in reasons
    assert "bad message signature" in reasons
    err = h.stderr()
    assert err.count(" rejected (delivery 1): ") == 4
    assert "message is for 'app/staging'" in err or "staging" in err
    # Still serving.
    good = message(store.url, sha, 2, key=key)
    spool.send(good)
    wait_status(store, good["deployment_id"], "Succeeded")
    assert h.proc.poll() is None
    assert h.stop() == 0


def test_catch_up_from_target_before_ready(ws, daemon):
    store, spool, sha = prepare(ws)
    m = message(store.url, sha, 3)
    store.put_json(f"groups/{APP}/{GROUP}/target.json", m)
    h = daemon(ws, spool_config(ws))
    # READY=1 comes after the catch-up ran.
    p = store.progress(m["deployment_id"])
    assert p is not None and p["status"] == "Succeeded"
    assert ws.state(APP, GROUP)["last_sequence"] == 3
    h.stop()
    # A restart does not run it again.
    n = len(events(ws))
    h.start()
    h.wait_log("target.json for deployment .* not run")
    assert len(events(ws)) == n
    assert h.stop() == 0


def test_kill9_during_hook_then_restart_resumes_once(ws, daemon):
    store, spool, sha = prepare(ws)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, spool_config(ws))
    m = message(store.url, sha, 1)
    spool.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    hook_pid = int((ws.out / "blocked.pid").read_text())
    h.kill9()
    wait_for(lambda: not pid_alive(hook_pid), 15,
             what="the hook to die with hookd")
    (ws.out / "block.ApplicationStart.v1").unlink()
    h.start()
    p = wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    err = h.stderr()
    assert f"recovering interrupted deployment {m['deployment_id']}" in err
    st = ws.state(APP, GROUP)
    assert st["current"]["deployment_id"] == m["deployment_id"]
    outcomes = [x["status"] for x in st["history"]
                if x["deployment_id"] == m["deployment_id"]]
    assert outcomes.count("Succeeded") == 1
    assert p["status"] == "Succeeded"
    assert h.stop() == 0


def test_sigterm_during_hook_stops_cleanly(ws, daemon):
    store, spool, sha = prepare(ws)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, spool_config(ws), args=["--grace", "1"])
    m = message(store.url, sha, 1)
    spool.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    hook_pid = int((ws.out / "blocked.pid").read_text())
    assert h.stop(signal.SIGTERM, timeout=30) == 0
    assert not pid_alive(hook_pid)
    # The message was not deleted; the deployment is recorded.
    assert spool.names("cur") or spool.names("new")
    st = ws.state(APP, GROUP)
    assert st["history"][0]["deployment_id"] == m["deployment_id"]
    assert st["history"][0]["status"] == "Interrupted"
    assert store.progress(m["deployment_id"])["status"] == "Interrupted"
    # Started again, it runs the deployment to the end.
    (ws.out / "block.ApplicationStart.v1").unlink()
    h.start()
    wait_status(store, m["deployment_id"], "Succeeded")
    wait_for(spool.empty, 10, what="the message to be deleted")
    assert h.stop() == 0


def test_sighup_reloads_between_deployments(ws, daemon):
    h = daemon(ws, spool_config(ws))
    cfg = dict(h.cfg, keep_releases=2)
    write_config(h.cfgpath, **cfg)
    h.send_signal(signal.SIGHUP)
    h.wait_log("configuration reloaded")
    assert h.proc.poll() is None
    assert h.stop() == 0


def test_registry_json_is_valid(ws, daemon):
    h = daemon(ws, spool_config(ws))
    reg = FileStore(ws.base).registry()
    json.dumps(reg)
    assert reg["schema"] == "hookd.instance/1"
    assert reg["pid"] == h.pid()
    assert h.stop() == 0


def test_watchdog_is_pinged_at_half_its_interval(ws, daemon):
    h = daemon(ws, spool_config(ws), env={"WATCHDOG_USEC": "1000000"})
    wait_for(lambda: h.notify.drain().count("WATCHDOG=1") >= 3, 10,
             what="three WATCHDOG=1 in about 1.5 s")
    assert h.stop() == 0


def test_identity_and_group_from_instance_metadata(ws, daemon, imds):
    imds.configure(instance_id="i-0feedc0ffee",
                   tags={"hookd:deployment-group": GROUP})
    cfg = spool_config(ws, deployment_group=None, instance_id=None)
    h = daemon(ws, cfg, env={"AWS_EC2_METADATA_DISABLED": "false",
                             "AWS_EC2_METADATA_SERVICE_ENDPOINT": imds.url})
    err = h.stderr()
    assert "(group from EC2 tag hookd:deployment-group)" in err
    assert "instance 'i-0feedc0ffee' (from instance metadata)" in err
    reg = FileStore(ws.base).registry(instance="i-0feedc0ffee")
    assert reg["queue"] == f"hookd-{GROUP}-i-0feedc0ffee"
    assert h.stop() == 0


def test_strict_hookd_yml_fails_a_deployment_with_warnings(ws, daemon):
    """strict: true in hookd.yml makes the appspec's warnings errors in
    the daemon: the deployment fails before any hook runs, says why in
    its progress document, and a later deployment without warnings
    still installs."""
    store = FileStore(ws.base)
    spool = Spool(ws.base)
    bad = store.put_bundle(app_bundle(ws, "v1", fmt="tgz",
                                      appspec_extra="colour: blue\n"))
    h = daemon(ws, spool_config(ws, strict=True))
    m = message(store.url, bad, 1)
    spool.send(m)
    p = wait_status(store, m["deployment_id"], "Failed")
    assert "colour: unknown key" in json.dumps(p), p
    assert "strict" in json.dumps(p), p
    assert events(ws) == []
    good = store.put_bundle(app_bundle(ws, "v2", fmt="tgz"))
    m2 = message(store.url, good, 2)
    spool.send(m2)
    wait_status(store, m2["deployment_id"], "Succeeded")
    assert h.stop() == 0
