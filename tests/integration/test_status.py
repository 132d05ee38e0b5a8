# SPDX-License-Identifier: ISC
"""`hookd status`: the live and previous releases, a deployment in
progress and the last outcomes, from the local state only.
"""
import json
import os
import signal

from conftest import binary, run
from daemon_util import spool_config, write_config
from lifecycle_util import (app_bundle, blocked_in, deploy, failed, mkfifo,
                            ok, spawn_deploy, wait_for, ws)  # noqa: F401


def status(*args):
    return run([binary("hookd"), "status"] + [str(a) for a in args])


def test_status_shows_releases_and_outcomes(ws):
    id1, _ = ok(deploy(ws, app_bundle(ws, "v1"), app="app",
                       group="production"))
    id2, _ = ok(deploy(ws, app_bundle(ws, "v2"), app="app",
                       group="production"))
    id3, _, _ = failed(deploy(ws, app_bundle(ws, "v3",
                                             fail=["ValidateService"]),
                              app="app", group="production"))
    r = status("--root", ws.root)
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "group:       production" in out
    assert f"live:        {id2} (sequence 2, releases/2-{id2})" in out
    assert f"previous:    {id1} (sequence 1" in out
    assert "in progress: none" in out
    assert "current:" not in out    # the link is live's release
    lines = out.split("last deployments:\n")[1].splitlines()
    assert lines[0].split()[:3] == [id3, "3", "Failed"]
    assert "ValidateService" in lines[0] and "rolled back to" in lines[0]
    assert lines[1].split()[:3] == [id2, "2", "Succeeded"]
    assert lines[2].split()[:3] == [id1, "1", "Succeeded"]

    r = status("--root", ws.root, "--json", "-n", "2")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["application"] == "app" and j["group"] == "production"
    assert j["current"]["deployment_id"] == id2
    assert j["previous"]["deployment_id"] == id1
    assert j["in_progress"] is None
    assert [h["status"] for h in j["history"]] == ["Failed", "Succeeded"]
    assert j["history"][0]["event"] == "ValidateService"


def test_status_from_config_and_in_progress(ws):
    cfg = write_config(ws.base / "hookd.yml", **spool_config(ws))
    mkfifo(ws)
    p = spawn_deploy(ws, app_bundle(ws, "v1", block=["AfterInstall"]),
                     app="app", group="production")
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    r = status("-c", cfg, "--json")
    assert r.returncode == 0, r.stderr
    j = json.loads(r.stdout)
    assert j["in_progress"]["phase"] == "AfterInstall"
    assert j["current"] is None
    r = status("-c", cfg)
    assert "in progress: d-" in r.stdout and "in AfterInstall" in r.stdout
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)


def test_status_during_validate_names_the_switched_current(ws):
    """live: is the last success; from Install on, current already
    points at the release in progress, and status says so."""
    id1, _ = ok(deploy(ws, app_bundle(ws, "v1"), app="app",
                       group="production"))
    mkfifo(ws)
    p = spawn_deploy(ws, app_bundle(ws, "v2", block=["ValidateService"]),
                     app="app", group="production")
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    link = os.readlink(ws.root / "app" / "production" / "current")
    r = status("--root", ws.root)
    assert r.returncode == 0, r.stderr
    assert f"live:        {id1} (sequence 1, releases/1-{id1}" in r.stdout
    assert link.startswith("releases/2-"), link
    assert f"current:     current -> {link} (the deployment in progress; " \
        "live once it succeeds)" in r.stdout, r.stdout
    j = json.loads(status("--root", ws.root, "--json").stdout)
    assert j["current"]["deployment_id"] == id1
    assert j["current_link"] == link
    p.send_signal(signal.SIGTERM)
    p.communicate(timeout=60)


def test_status_after_a_failed_first_install(ws):
    """Nothing is live, and what ApplicationStart started is not
    stopped (operations.md, appspec(5)): status says both."""
    did, _, _ = failed(deploy(ws, app_bundle(ws, "v1",
                                             fail=["ValidateService"]),
                              app="app", group="production"))
    r = status("--root", ws.root)
    assert r.returncode == 0, r.stderr
    assert f"live:        none: the first install, {did}, failed in " \
        "ValidateService; what its ApplicationStart\n" in r.stdout, r.stdout
    assert "started was not stopped and may still run\n" in r.stdout
    assert "current:" not in r.stdout
    j = json.loads(status("--root", ws.root, "--json").stdout)
    assert j["current"] is None and j["current_link"] is None


def test_status_errors(ws):
    r = status("--root", ws.root)
    assert r.returncode == 66
    assert "no application with deployments" in r.stderr
    r = status("--bogus")
    assert r.returncode == 64
    assert r.stdout == ""
    bad = ws.base / "bad.yml"
    bad.write_text("application: [x\n")
    r = status("-c", bad)
    assert r.returncode == 78
    assert os.fspath(bad) in r.stderr
