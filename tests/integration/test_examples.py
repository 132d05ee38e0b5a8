# SPDX-License-Identifier: ISC
"""The appspec-examples/ applications, deployed with hookd deploy-local:
v1 works, v2 replaces it, and (static-site) a v3 that fails validation
is rolled back with v2 still serving.  Every process the examples start
is found by the workspace's cleanup (their cwd or command line is under
the workspace) and killed at teardown."""
import os
import pwd
import shutil

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def read_pid(path):
    return int(path.read_text().strip())


# --------------------------------------------------------------------------
# static-site

def site_setup(ws, app="static-site"):
    port = lu.free_port()
    gd = ws.group_dir(app)
    gd.mkdir(parents=True)
    (gd / "site.env").write_text(f"PORT={port}\nVALIDATE_SECONDS=10\n")
    return port, gd


@pytest.mark.parametrize("fmt", ["dir", "tgz"])
def test_static_site(ws, fmt):
    port, gd = site_setup(ws)

    def bundle(version, edit=None):
        d = lu.copy_example(ws, "static-site", version=version, edit=edit,
                            name=f"{version}/static-site")
        return lu.pack(d, d.parent / "static-site.tgz", fmt)

    d1, _ = lu.ok(lu.deploy(ws, bundle("v1")))
    lu.wait_http(port, '<span id="version">v1</span>', timeout=5)
    pid1 = read_pid(gd / "run" / "server.pid")

    d2, _ = lu.ok(lu.deploy(ws, bundle("v2")))
    status, body = lu.http_get(port, "/")
    assert status == 200 and '<span id="version">v2</span>' in body
    pid2 = read_pid(gd / "run" / "server.pid")
    assert pid2 != pid1 and not lu.pid_alive(pid1)
    assert ws.current("static-site").name == f"2-{d2}"

    # v3 lost its health page: ValidateService fails, v2 comes back
    d3, _, reason = lu.failed(lu.deploy(
        ws, bundle("v3", edit=lambda d: os.unlink(d / "public/healthz"))))
    assert reason.startswith("ValidateService: scripts/validate.sh: "), \
        reason
    assert ws.current("static-site").name == f"2-{d2}"
    lu.wait_http(port, '<span id="version">v2</span>', timeout=5)
    assert lu.http_get(port, "/healthz") == (200, "ok\n")
    st = lu.check_state_consistent(ws, "static-site")
    assert st["history"][0]["status"] == "Failed"
    assert st["history"][0]["rolled_back_to"] == d2
    assert st["current"]["deployment_id"] == d2 != d1

    # the ApplicationStop of the live release stops the server
    pid = read_pid(gd / "run" / "server.pid")
    r = lu.deploy(ws, bundle("v4", edit=lambda d: shutil.rmtree(
        d / "public")))
    assert r.returncode == 1, lu.describe(r)   # BeforeInstall refuses
    assert "public/index.html is missing" in r.stdout
    lu.wait_http(port, '<span id="version">v2</span>', timeout=5)
    assert read_pid(gd / "run" / "server.pid") != pid
    assert not lu.pid_alive(pid)


# --------------------------------------------------------------------------
# worker

def heartbeat(gd):
    p = gd / "run" / "heartbeat"
    try:
        v, count, _ = p.read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return v, int(count)


def test_worker(ws):
    gd = ws.group_dir("worker")
    gd.mkdir(parents=True)
    (gd / "worker.env").write_text("WORKER_INTERVAL=0.05\n")

    def bundle(version):
        return lu.copy_example(ws, "worker", version=version,
                               name=f"{version}/worker")

    lu.ok(lu.deploy(ws, bundle("v1")))
    pid1 = read_pid(gd / "run" / "worker.pid")
    assert lu.pid_alive(pid1)
    hb = heartbeat(gd)
    assert hb and hb[0] == "v1"
    lu.wait_for(lambda: (heartbeat(gd) or ("", 0))[1] > hb[1],
                what="the v1 heartbeat to advance")

    lu.ok(lu.deploy(ws, bundle("v2")))
    pid2 = read_pid(gd / "run" / "worker.pid")
    assert pid2 != pid1
    lu.wait_pid_gone(pid1, timeout=5)
    hb = heartbeat(gd)
    assert hb and hb[0] == "v2"
    lu.wait_for(lambda: (heartbeat(gd) or ("", 0))[1] > hb[1],
                what="the v2 heartbeat to advance")
    assert "worker v1 stopping" in (gd / "run" / "worker.log").read_text()


# --------------------------------------------------------------------------
# codedeploy-app

def codedeploy_bundle(ws, version, dest):
    def edit(d):
        p = d / "appspec.yml"
        p.write_text(p.read_text().replace("/opt/codedeploy-app",
                                           str(dest)))
    return lu.copy_example(ws, "codedeploy-app", version=version, edit=edit,
                           name=f"{version}/codedeploy-app")


@needs_root
def test_codedeploy_app(ws):
    dest = ws.base / "opt" / "codedeploy-app"
    gd = ws.group_dir("codedeploy-app")

    d1, _ = lu.ok(lu.deploy(ws, codedeploy_bundle(ws, "v1", dest)))
    assert (dest / "VERSION").read_text() == "v1\n"
    assert os.path.realpath(dest).startswith(str(gd / "releases"))
    # permissions: applied to the installed files
    assert lu.mode_of(dest / "bin" / "codedeploy-app") == 0o755
    assert lu.mode_of(dest / "config" / "app.conf") == 0o640
    assert (gd / "run" / "enabled").read_text() == \
        "Hello from codedeploy-app v1\n"
    # runas: ValidateService ran as nobody
    log = (ws.root / "logs" / f"{d1}.log").read_text()
    nobody = pwd.getpwnam("nobody").pw_uid
    assert f"validating as nobody (uid {nobody})" in log

    d2, _ = lu.ok(lu.deploy(ws, codedeploy_bundle(ws, "v2", dest)))
    assert (dest / "VERSION").read_text() == "v2\n"
    assert (gd / "run" / "enabled").read_text() == \
        "Hello from codedeploy-app v2\n"
    log = (ws.root / "logs" / f"{d2}.log").read_text()
    assert "codedeploy-app v1 disabled" in log
    assert "codedeploy-app v2 installed at " + str(dest) in log


def test_examples_have_what_the_issue_asks(ws):
    for ex in ("static-site", "worker", "codedeploy-app"):
        d = lu.EXAMPLES / ex
        assert (d / "README.md").is_file(), ex
        assert (d / "appspec.yml").is_file(), ex
        for s in (d / "scripts").glob("*.sh"):
            text = s.read_text()
            if text.startswith("#!"):
                assert text.startswith("#!/bin/bash\n"), s
                assert "\nset -euo pipefail\n" in text, s
                assert os.access(s, os.X_OK), s
