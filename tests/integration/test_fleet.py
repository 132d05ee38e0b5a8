# SPDX-License-Identifier: ISC
"""The fleet control plane: live membership, hosts that say
why they do not run a message, the last good revision as target, one
driver with a lease (stop, resume, Ctrl-C, kill -9), honest exit codes.
`deployer` against real `hookd run` daemons on a file store and spool
queues (a few on S3 and SQS: test_fleet_aws.py)."""
import json
import os
import pathlib
import random
import re
import shutil
import signal
import time

import pytest

from daemon_util import Spool, daemon, message  # noqa: F401
from deployer_util import APP, GROUP, Fleet, deployer_on_pty
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import wait_for, ws  # noqa: F401

FAILING_VALIDATE = ("#!/bin/bash\necho 'validate: health check failed'\n"
                    "exit 3\n", 0o755)
SLOW_APPSPEC = """version: 0.0
os: linux
hooks:
  ApplicationStop:
    - location: scripts/stop_worker.sh
      timeout: 30
  AfterInstall:
    - location: scripts/slow.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start_worker.sh
      timeout: 30
  ValidateService:
    - location: scripts/check_heartbeat.sh
      timeout: 30
"""


def fleet(ws, daemon, **kw):
    f = Fleet(ws, daemon, **kw)
    f.wait_registered(list(f.daemons))
    return f


def slow(f, seconds):
    """Commit an AfterInstall hook that sleeps: a rollout that lasts."""
    return f.commit(f"slow {seconds}", {
        "appspec.yml": SLOW_APPSPEC,
        "scripts/slow.sh": (f"#!/bin/sh\nsleep {seconds}\n", 0o755)})


def runs(f, name, did):
    """How many times host name started deployment did."""
    return len(re.findall(rf"deployment {did} (?:of \S+ )?\(sequence "
                          r"\d+.*started",
                          f.daemons[name].stderr(all_runs=True)))


# --- live membership ---------------------------------------------------

def test_leftover_queue_of_a_dead_host_is_skipped_not_waited_on(ws, daemon):
    f = fleet(ws, daemon, n=2, timeout=60)
    (f.queue_dir / "hookd-production-i-dead" / "new").mkdir(parents=True)
    r = f.deployer("instances", GROUP)
    assert re.search(r"^i-dead\s.*unregistered", r.stdout, re.M), r.stdout
    t0 = time.monotonic()
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t0 < 30
    assert "skipping i-dead: queue 'hookd-production-i-dead' has no " \
        "registry entry" in r.stdout
    # it may be a live host of another application: the line says so
    assert "or a host of another application with this queue_prefix " \
        "and group name" in r.stdout
    assert "2 instances," in r.stdout
    d = f.deployment(dep_id(r.stdout))
    assert sorted(i["instance"] for i in d["instances"]) == ["i-1", "i-2"]


def test_stale_registry_entry_with_a_queue_is_skipped(ws, daemon):
    f = fleet(ws, daemon, n=1)
    old = {"schema": "hookd.instance/1", "instance": "i-old",
           "application": APP, "group": GROUP,
           "queue": "hookd-production-i-old", "queue_backend": "spool",
           "last_seen": "2020-01-01T00:00:00.000Z", "current": None,
           "in_progress": None}
    p = f.store_dir / "groups" / APP / GROUP / "instances" / "i-old.json"
    p.write_text(json.dumps(old))
    (f.queue_dir / "hookd-production-i-old" / "new").mkdir(parents=True)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "skipping i-old: its registry entry was last seen " \
        "2020-01-01T00:00:00" in r.stdout
    assert "1 instance," in r.stdout


def test_two_daemons_with_one_instance_id_are_reported(ws, daemon):
    import types
    f = fleet(ws, daemon, n=1)
    d = f.base / "hosts" / "twin"
    root = d / "root"
    root.mkdir(parents=True)
    cfg = dict(f.daemons["i-1"].cfg, root=str(root))
    twin = daemon(types.SimpleNamespace(base=d, root=root), cfg)
    twin.wait_log("another hookd .* writes the registry entry of "
                  "instance 'i-1'")
    r = f.deployer("instances", "--json", GROUP)
    row = [x for x in json.loads(r.stdout) if x["instance"] == "i-1"][0]
    assert row["state"] == "duplicate", row
    # a host with nothing installed is not "idle"
    f.add_daemon("i-2")
    f.wait_registered(["i-2"])
    r = f.deployer("instances", GROUP)
    assert re.search(r"^i-2\s.*\sempty\s", r.stdout, re.M), r.stdout
    assert row["duplicate"]
    r = f.deployer(GROUP, "HEAD")
    assert "warning: instance id 'i-1' is used by two daemons" in r.stdout
    # The next deployment reads no entry for the sequence (target.json
    # holds it): the daemon's mark under duplicates/ names the entry.
    assert (f.store_dir / "groups" / APP / GROUP / "duplicates" /
            "i-1.json").exists()
    f.commit("v2", {"VERSION": "2\n"})
    r = f.deployer(GROUP, "HEAD")
    assert "warning: instance id 'i-1' is used by two daemons" in r.stdout


# --- hosts say why -----------------------------------------------------

def test_a_host_that_rejects_the_message_fails_it_at_once(ws, daemon):
    f = fleet(ws, daemon, n=1, timeout=60, config="AllAtOnce")
    # i-2 wants signed messages; deployer.yml has no key
    f.keyfile = f.base / "host.key"
    f.keyfile.write_bytes(b"k" * 32)
    os.chmod(f.keyfile, 0o600)
    f.add_daemon("i-2")
    f.keyfile = None
    f.wait_registered(["i-2"])
    t0 = time.monotonic()
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    assert time.monotonic() - t0 < 20
    assert "i-2: Rejected: message is not signed" in r.stdout
    did = dep_id(r.stdout)
    p = f.progress(did, "i-2")
    assert p["status"] == "Rejected"
    assert f.deployment(did)["status"] == "Failed"


def test_a_host_that_rejected_it_is_not_rolled_back(ws, daemon):
    """A host that refused the message changed nothing: the automatic
    rollback goes to the others only, and succeeds."""
    f = fleet(ws, daemon, n=1, timeout=60, config="AllAtOnce")
    assert f.deployer(GROUP, "HEAD").returncode == 0
    f.keyfile = f.base / "host.key"
    f.keyfile.write_bytes(b"k" * 32)
    os.chmod(f.keyfile, 0o600)
    f.add_daemon("i-2")
    f.keyfile = None
    f.wait_registered(["i-2"])
    f.commit("v2", {"VERSION": "2.0.0\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "i-2: Rejected: message is not signed" in r.stdout
    d = f.deployment(dep_id(r.stdout))
    assert d["rolled_back_by"], r.stdout
    assert f"failed; rolled back by {d['rolled_back_by']}" in r.stderr
    rb = f.deployment(d["rolled_back_by"])
    assert rb["status"] == "Succeeded"
    assert [i["instance"] for i in rb["instances"]] == ["i-1"]
    assert f.current_version("i-1") == "1.0.0"


def test_a_host_that_skips_a_message_says_why(ws, daemon):
    f = fleet(ws, daemon, n=1)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    sha = f.deployment(did)["revision"]["sha256"]
    m = message(f.store, sha, 1, app=APP)
    Spool(f.base, instance="i-1").send(m)
    p = wait_for(lambda: f.progress(m["deployment_id"], "i-1"), 30,
                 what="the Skipped document")
    assert p["status"] == "Skipped"
    assert p["message"] == ("Skipped: sequence 1 is not above the "
                            "installed sequence 1")
    # a repeat of a finished deployment keeps its outcome
    Spool(f.base, instance="i-1").send(f.deployment(did)["message"])
    f.daemons["i-1"].wait_log(f"deployment {did} already finished here")
    assert f.progress(did, "i-1")["status"] == "Succeeded"


def test_a_reset_store_continues_above_the_hosts_sequences(ws, daemon):
    f = fleet(ws, daemon, n=1)
    for i in range(2):
        f.commit(f"v{i}", {"VERSION": f"1.{i}\n"})
        r = f.deployer(GROUP, "HEAD")
        assert r.returncode == 0, r.stdout + r.stderr
    # the store is lost; the host registers again when it restarts
    shutil.rmtree(f.store_dir)
    f.store_dir.mkdir()
    f.daemons["i-1"].stop()
    f.daemons["i-1"].start()
    f.wait_registered(["i-1"])
    f.commit("v9", {"VERSION": "9\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the store lost its records" in r.stdout
    assert "(sequence 3)" in r.stdout
    assert f.current_version("i-1") == "9"


# --- the target is the last good revision ------------------------------

def test_after_a_failed_deployment_new_hosts_get_the_last_good(ws, daemon):
    f = fleet(ws, daemon, n=1, rollback=False)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    f.commit("broken", {"VERSION": "2\n",
                        "scripts/check_heartbeat.sh": FAILING_VALIDATE})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    bad = dep_id(r.stdout)
    assert "new instances of group 'production' will install" in r.stdout
    t = f.target()
    assert t["deployment_id"] == good
    assert t["sequence"] == f.deployment(bad)["sequence"]
    f.add_daemon("i-new")
    wait_for(lambda: (f.state("i-new") or {}).get("current", {}).get(
        "deployment_id") == good, 60, interval=0.1,
        what="the new host on the last good revision")
    assert f.current_version("i-new") == "1.0.0"
    # the catch-up is visible in the deployment it ran
    r = f.deployer("status", good)
    assert "caught up at boot: i-new Succeeded" in r.stdout, r.stdout
    r = f.deployer("status", "--json", good)
    assert json.loads(r.stdout)["caught_up"][0]["instance"] == "i-new"
    # the group's counter goes on
    f.commit("fixed", {"VERSION": "3\n",
                       "scripts/check_heartbeat.sh": ("#!/bin/sh\n",
                                                      0o755)})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"(sequence {t['sequence'] + 1})" in r.stdout


# --- exit codes --------------------------------------------------------

def test_a_group_with_no_live_instance_fails_unless_allowed(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"group '{GROUP}' has no live instance" in r.stderr
    assert "--allow-empty" in r.stderr
    assert f.target() is None
    r = f.deployer("--allow-empty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.target() is not None


def test_status_watch_exits_1_for_a_failed_deployment(ws, daemon):
    f = fleet(ws, daemon, n=1, rollback=False)
    f.commit("broken", {"scripts/check_heartbeat.sh": FAILING_VALIDATE})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1
    did = dep_id(r.stdout)
    r = f.deployer("status", did, "--watch")
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"deployment {did} failed" in r.stderr


def test_the_last_line_says_when_the_rollback_failed_too(ws, daemon):
    f = fleet(ws, daemon, n=2, timeout=3)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    f.daemons["i-2"].stop()
    f.commit("v2", {"VERSION": "2\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    last = r.stderr.strip().splitlines()[-1]
    assert re.search(r"failed; rollback d-\w+ FAILED on 1 of 2 instances",
                     last), last
    # i-2 comes back and runs what it was sent: status says so
    did = dep_id(r.stdout)
    f.daemons["i-2"].start()
    wait_for(lambda: (f.progress(did, "i-2") or {}).get("status"), 30,
             what="i-2's answer")
    r = f.deployer("status", did)
    assert re.search(r"^i-2\s+1\s+(Succeeded|Failed)", r.stdout, re.M), \
        r.stdout


def test_group_name_typo_suggests_the_group(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    r = f.deployer("prodution", "HEAD")
    assert r.returncode == 64
    assert "did you mean 'production'?" in r.stderr


# --- one driver: stop, resume, Ctrl-C, kill -9 --------------------------

def start_deploy(f, *args):
    """Popen a deployer and wait for its first line (the deployment is
    recorded then); returns (proc, id, lines read)."""
    p = f.popen_deployer(*args)
    lines = []
    while True:
        line = p.stdout.readline()
        assert line, (lines, p.stderr.read())
        lines.append(line)
        m = DEP_ID.search(line)
        if m:
            return p, m.group(1), lines


def batch_one_running(f):
    """A slow OneAtATime rollout of HEAD started, its first host
    deploying; returns (deployer proc, deployment id)."""
    slow(f, 1)
    p, did, _ = start_deploy(f, GROUP, "HEAD")
    wait_for(lambda: f.progress(did, "i-1"), 20, what="batch 1 running")
    return p, did


def test_stop_from_a_second_process(ws, daemon):
    f = fleet(ws, daemon, n=3, config="OneAtATime")
    p, did = batch_one_running(f)
    r = f.deployer("stop", did)
    assert r.returncode == 0, r.stdout + r.stderr
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, out + err
    assert f"deployment {did} was stopped by" in err
    d = f.deployment(did)
    assert d["status"] == "Stopped" and d["stopped_by"]
    st = {i["instance"]: i["status"] for i in d["instances"]}
    # the batch that was deploying finished; the others were never sent
    assert st == {"i-1": "Succeeded", "i-2": "Pending", "i-3": "Pending"}
    assert f.progress(did, "i-2") is None
    r = f.deployer("status", did)
    assert re.search(r"^  stopped by \S+@\S+", r.stdout, re.M), r.stdout
    # the group is free again
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr


def test_stop_rollback_of_a_deployment_nobody_drives(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0
    p, did = batch_one_running(f)
    p.kill()
    p.wait()
    r = f.deployer("stop", "--rollback", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "has no driver: stopping it here" in r.stdout
    d = f.deployment(did)
    assert d["status"] == "Stopped" and d["rolled_back_by"], r.stdout
    rb = f.deployment(d["rolled_back_by"])
    assert rb["status"] == "Succeeded"
    assert [i["instance"] for i in rb["instances"]] == ["i-1"]
    assert f.current_version("i-1") == "1.0.0"


def test_rollback_after_a_stop_goes_back_to_the_last_good_revision(
        ws, daemon):
    """A stop without --rollback points target.json back at the last
    good revision; a later 'deployer rollback GROUP' undoes the stopped
    deployment (to that revision), not the last good one."""
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    assert f.deployer(GROUP, "HEAD").returncode == 0
    f.commit("v2", {"VERSION": "2.0.0\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    f.commit("v3", {"VERSION": "3.0.0\n"})
    p, did = batch_one_running(f)
    r = f.deployer("stop", did)
    assert r.returncode == 0, r.stdout + r.stderr
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, out + err
    assert [f.current_version(n) for n in ("i-1", "i-2")] == \
        ["3.0.0", "2.0.0"]
    r = f.deployer("rollback", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"rolling back group '{GROUP}' from {did} to " in r.stdout
    assert f"(deployment {good})" in r.stdout
    assert [f.current_version(n) for n in ("i-1", "i-2")] == \
        ["2.0.0", "2.0.0"]
    rb = f.deployment(dep_id(r.stdout.split("\n", 1)[1]))
    assert rb["rollback_of"] == did and rb["status"] == "Succeeded"


def test_a_second_driver_is_refused(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    slow(f, 1)
    p, did, _ = start_deploy(f, GROUP, "HEAD")
    r = f.deployer("resume", did)
    assert r.returncode == 75, r.stdout + r.stderr
    assert "driven by" in r.stderr and f"deployer stop {did}" in r.stderr
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 75
    assert f"deployer resume {did}" in r.stderr
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, out + err


def test_ctrl_c_leaves_a_deployment_to_resume(ws, daemon):
    f = fleet(ws, daemon, n=3, config="OneAtATime")
    slow(f, 0.5)
    p, did, _ = start_deploy(f, GROUP, "HEAD")
    wait_for(lambda: f.progress(did, "i-1"), 20, what="batch 1 running")
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, out + err
    assert f"interrupted: deployment {did} stays in progress with no " \
        "driver" in out
    assert f"deployer resume {did}" in out
    r = f.deployer("resume", did)
    assert r.returncode == 0, r.stdout + r.stderr
    d = f.deployment(did)
    assert d["status"] == "Succeeded"
    for n in f.daemons:
        assert runs(f, n, did) == 1


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_interrupt_at_random_moments_then_resume(ws, daemon, how):
    """A 4-batch rollout interrupted at a random moment (10 seeds per
    signal, 20 in all), then `deployer resume`: it ends Succeeded and
    every instance ran the deployment exactly once."""
    f = fleet(ws, daemon, n=4, config="OneAtATime")
    for seed in range(10):
        rnd = random.Random(f"{how}{seed}")
        f.commit(f"seed {seed}", {"VERSION": f"{seed}\n"})
        p, did, _ = start_deploy(f, GROUP, "HEAD")
        time.sleep(rnd.uniform(0, 1.2))
        p.send_signal(getattr(signal, how))
        p.communicate(timeout=60)
        d = f.deployment(did)
        if d["status"] == "InProgress":
            r = f.deployer("resume", did)
            assert r.returncode == 0, (seed, r.stdout + r.stderr)
        d = f.deployment(did)
        assert d["status"] == "Succeeded", (seed, d)
        for n in f.daemons:
            assert runs(f, n, did) == 1, (seed, n)
            assert f.current_version(n) == str(seed), (seed, n)


# --- --ignore-application-stop-failures ----------------------------------

def test_a_broken_application_stop_with_and_without_the_flag(ws, daemon):
    f = fleet(ws, daemon, n=1, rollback=False)
    fixed = (pathlib.Path(__file__).resolve().parents[2] / "appspec-examples"
             / "worker" / "scripts" / "stop_worker.sh").read_text()
    # Broken as ApplicationStop only: the start_worker.sh of the release
    # put back after the failure still stops the running worker, so no
    # second 1.0.0 worker outlives it and races v2's on the heartbeat.
    shebang, rest = fixed.split("\n", 1)
    broken = (f"{shebang}\nif [ \"$LIFECYCLE_EVENT\" = ApplicationStop ]; "
              f"then echo stop broke; exit 1; fi\n{rest}", 0o755)
    f.commit("stop is broken", {"scripts/stop_worker.sh": broken})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    # v2's stop works again (ApplicationStart runs it too, so the worker
    # v1 left running is stopped before v2's starts)
    f.commit("v2 fixes stop", {"VERSION": "2\n",
                               "scripts/stop_worker.sh": (fixed, 0o755)})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "failed in ApplicationStop" in r.stdout
    assert f.current_version("i-1") == "1.0.0"
    r = f.deployer("--ignore-application-stop-failures", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert f.current_version("i-1") == "2"
    d = f.deployment(did)
    assert d["ignore_application_stop_failures"] is True
    assert d["message"]["ignore_application_stop_failures"] is True
    ev = {e["event"]: e["status"] for e in f.progress(did, "i-1")["events"]}
    assert ev["ApplicationStop"] == "Failed"
    assert ev["ValidateService"] == "Succeeded"
    log = (f.root("i-1") / "logs" / f"{did}.log").read_text()
    assert re.search("ApplicationStop.*warning: failed .*ignored: "
                     "--ignore-application-stop-failures", log), log


# --- CI-built artifacts, --json, --description, history -n, rollback ID ---

def test_bundle_of_a_directory_and_of_a_tarball(ws, daemon):
    import subprocess
    import tarfile
    f = fleet(ws, daemon, n=1)
    build = f.base / "build"
    shutil.copytree(f.repo, build, symlinks=True,
                    ignore=shutil.ignore_patterns(".git", "deployer.yml"))
    (build / "VERSION").write_text("ci-7\n")
    r = f.deployer("--json", "--description", "build 7", "--bundle",
                   str(build), GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["status"] == "Succeeded" and out["exit_status"] == 0
    did = out["deployment_id"]
    d = f.deployment(did)
    assert d["source"] == str(build) and d["description"] == "build 7"
    assert d["commit"] is None and len(d["revision"]["sha256"]) == 64
    assert f.current_version("i-1") == "ci-7"
    # the same tree twice: the same bundle, nothing uploaded
    r = f.deployer("--bundle", str(build), GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nothing uploaded" in r.stdout
    assert f.deployment(dep_id(r.stdout))["revision"]["sha256"] == \
        d["revision"]["sha256"]
    # a tarball (not gzipped) of another version
    (build / "VERSION").write_text("ci-8\n")
    tar = f.base / "app.tar"
    with tarfile.open(tar, "w") as t:
        for p in sorted(build.iterdir()):
            t.add(p, arcname=p.name)
    r = f.deployer("--bundle", str(tar), GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.current_version("i-1") == "ci-8"
    r = f.deployer("history", "-n", "1", GROUP)
    assert r.returncode == 0
    assert len(r.stdout.strip().splitlines()) == 2, r.stdout
    r = f.deployer("history", "-n", "3", GROUP)
    assert "build 7" in r.stdout
    # the REF column and status name the artifact, not '-'
    assert re.search(r" bundle app\.tar$", r.stdout, re.M), r.stdout
    assert " bundle build: build 7" in r.stdout, r.stdout
    r = f.deployer("status", did)
    assert f"  bundle {build}, sha256 " in r.stdout, r.stdout
    # an invalid bundle is refused before anything is uploaded
    bad = f.base / "bad"
    bad.mkdir()
    (bad / "README").write_text("no appspec\n")
    r = f.deployer("--bundle", str(bad), GROUP)
    assert r.returncode == 65, r.stdout + r.stderr
    assert "appspec.yml" in r.stderr
    # rollback GROUP ID chooses the target
    r = f.deployer("rollback", GROUP, did)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.current_version("i-1") == "ci-7"
    del subprocess


def test_bake_only_bakes_a_target_that_succeeded(ws, daemon):
    from conftest import binary, run
    from daemon_util import write_config
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    p, did = batch_one_running(f)
    p.kill()
    p.wait()
    root = f.base / "image"
    root.mkdir()
    cfg = dict(f.daemons["i-1"].cfg, root=str(root))
    write_config(f.base / "bake.yml", **cfg)
    bake = [binary("hookd"), "bake", "-c", str(f.base / "bake.yml")]
    r = run(bake)
    assert r.returncode == 75, r.stdout + r.stderr
    assert f"deployment {did}, is still in progress" in r.stderr
    r = f.deployer("resume", did)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run(bake)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"baked deployment {did}" in r.stdout


def test_status_of_a_malformed_id_says_it_is_neither(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    r = f.deployer("status", "d-NOTREAL1")
    assert r.returncode == 64
    assert "'d-NOTREAL1' is neither a group of" in r.stderr
    assert "nor a deployment id" in r.stderr


def test_ctrl_c_on_a_terminal_asks_and_y_stops(ws, daemon):
    f = fleet(ws, daemon, n=3, config="OneAtATime")
    slow(f, 1)
    state = {"asked": False, "answered": False}

    def react(text, pid):
        if not state["asked"] and "InProgress" in text:
            os.kill(pid, signal.SIGINT)
            state["asked"] = True
        if state["asked"] and not state["answered"] and \
                "stop the rollout?" in text:
            state["answered"] = True
            return b"y\n"
        return None

    code, text = deployer_on_pty(f.repo, [GROUP, "HEAD"], react=react)
    assert state["answered"], text
    assert code == 1, text
    did = dep_id(text)
    d = f.deployment(did)
    assert d["status"] == "Stopped", text
    st = [i["status"] for i in d["instances"]]
    assert st.count("Pending") >= 1 and "InProgress" not in st, st


def test_a_deployment_left_past_its_deadline_is_superseded(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    p, did = batch_one_running(f)
    p.kill()
    p.wait()
    # within its deadline, nobody drives it: the group stays taken
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 75, r.stdout + r.stderr
    assert "no driver" in r.stderr and f"deployer resume {did}" in r.stderr
    r = f.deployer("history", GROUP)
    assert "InProgress (no driver)" in r.stdout
    # the columns stay aligned: CREATED starts at one offset on each row
    rows = r.stdout.splitlines()
    col = rows[0].index("CREATED")
    assert all(re.match(r"\d{4}-\d\d-\d\dT", row[col:])
               for row in rows[1:]), r.stdout
    # status says so too, and what to do
    r = f.deployer("status", GROUP)
    assert "no driver: the deployer that drove it stopped; continue it " \
        f"with 'deployer resume {did}'" in r.stdout, r.stdout
    # past it, the next deployment ends it
    key = f.store_dir / "deployments" / APP / GROUP / did / "deployment.json"
    d = json.loads(key.read_text())
    d["deadline"] = "2020-01-01T00:00:00Z"
    key.write_text(json.dumps(d))
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    new = dep_id(r.stdout)
    assert f"deployment {did}, left in progress, is superseded by {new}" \
        in r.stdout
    d = f.deployment(did)
    assert d["status"] == "Superseded" and d["superseded_by"] == new
    r = f.deployer("status", did, "--watch")
    assert r.returncode == 1
    assert f"deployment {did} was superseded by {new}" in r.stderr
    # its summary line does not call it in progress
    r = f.deployer("status", did)
    assert f"deployment {did} (sequence 1) was superseded:" in r.stdout, \
        r.stdout


def test_verbose_shows_the_plan(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    r = f.deployer("-v", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "  batch 1: i-1 (queue hookd-production-i-1)" in r.stdout
    assert "  batch 2: i-2 (queue hookd-production-i-2)" in r.stdout
    assert f"groups/{APP}/{GROUP}/target.json" in r.stdout
