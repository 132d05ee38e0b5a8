# SPDX-License-Identifier: ISC
"""hookd deploy-local: the lifecycle engine end to end (ENGINE-CONTRACT.md).

Real processes and files; one workspace per test (lifecycle_util.ws).  The
test app's hook (lifecycle_util.HOOK_SH) records "EVENT VERSION RELEASE"
for every event it runs, so the tests see the order of events and which
revision ran each one.
"""
import os
import pathlib
import pwd
import re
import subprocess
import tarfile
import time

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"
CONTRACT_ENV = {
    "LIFECYCLE_EVENT", "DEPLOYMENT_ID", "APPLICATION_NAME",
    "DEPLOYMENT_GROUP_NAME", "DEPLOYMENT_GROUP_ID", "BUNDLE_COMMIT",
    "HOOKD_RELEASE_DIR", "HOOKD_PREVIOUS_RELEASE_DIR",
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG",
}
CLEAN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def run_hookd(args, cwd=None):
    return subprocess.run([lu.hookd()] + args, capture_output=True,
                          text=True, timeout=60, env=lu.hookd_env(),
                          stdin=subprocess.DEVNULL, cwd=cwd or "/tmp")


def event_lines(stdout):
    """The per-event lines: everything before the final result line."""
    return [ln for ln in stdout.splitlines()
            if ln.strip() and not ln.startswith("deployment ")
            and not ln.startswith("  ")]


def line_for(stdout, event):
    lines = [ln for ln in event_lines(stdout)
             if re.search(rf"\b{event}\b", ln)]
    assert len(lines) == 1, f"{event}: {lines}\n{stdout}"
    return lines[0]


# --------------------------------------------------------------------------
# Command line

def test_help_goes_to_stdout(ws):
    r = run_hookd(["deploy-local", "--help"])
    assert r.returncode == 0, lu.describe(r)
    assert "--bundle" in r.stdout
    assert r.stderr == ""


@pytest.mark.parametrize("args,what", [
    ([], "bundle"),
    (["--bundle", "x", "--frobnicate"], "frobnicate"),
    (["--bundle", "x", "--keep-releases", "lots"], "lots"),
    (["--bundle", "x", "--file-exists-behavior", "CLOBBER"], "CLOBBER"),
    (["--bundle", "x", "extra-operand"], "extra-operand"),
])
def test_usage_error_is_64_with_one_specific_line(ws, args, what):
    r = run_hookd(["deploy-local", "--root", str(ws.root)] + args,
                  cwd=ws.bundles)
    assert r.returncode == 64, lu.describe(r)
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines and lines[0].startswith("hookd: "), r.stderr
    assert what in lines[0], r.stderr
    # one specific line plus at most the usage line and a hint: no help
    assert len(lines) <= 3, r.stderr
    assert list(ws.root.iterdir()) == []


def test_missing_bundle_is_66(ws):
    missing = ws.bundles / "nope.tgz"
    r = lu.deploy(ws, missing)
    assert r.returncode == 66, lu.describe(r)
    assert str(missing) in r.stderr
    assert r.stderr.startswith("hookd: ")
    assert not list(ws.root.rglob("state.json"))
    assert not list(ws.root.rglob("current"))


def test_garbage_bundle_is_65(ws):
    junk = ws.bundles / "junk.tgz"
    junk.write_bytes(b"this is not an archive\n" * 20)
    r = lu.deploy(ws, junk)
    assert r.returncode == 65, lu.describe(r)
    assert "junk" in r.stderr
    assert not list(ws.root.rglob("current"))


BAD_APPSPECS = {
    "missing-script": (lu.appspec({"BeforeInstall": ["scripts/nothere.sh"]}),
                       "scripts/nothere.sh"),
    "yaml-syntax": ("version: 0.0\nos: linux\nhooks: [\n  - {oops\n",
                    "appspec.yml"),
    "bad-timeout": (lu.appspec({"BeforeInstall": [
        {"location": "scripts/hook.sh", "timeout": "soon"}]}), "timeout"),
    "location-escapes": (lu.appspec({"BeforeInstall": [
        "../../../../../../../../bin/true"]}), "location"),
    "location-absolute": (lu.appspec({"BeforeInstall": ["/bin/true"]}),
                          "bin/true"),
    "relative-destination": (lu.appspec(files=[("/", "opt/app")]),
                             "opt/app"),
    "relative-permission-object": (lu.appspec(permissions=[
        {"object": "opt/app", "mode": 644}]), "opt/app"),
    "missing-source": (lu.appspec(files=[("nothere", "/nonexistent/x")]),
                       "nothere"),
}


def test_unknown_event_deploys_with_a_warning(ws):
    # CodeDeploy accepts it and never runs its scripts: so does hookd,
    # saying so (it was an error before warnings existed).
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    text = lu.appspec({"BeforeInstal": ["scripts/hook.sh"]})
    b = lu.app_bundle(ws, "v2", extra_files={"appspec.yml": text})
    r = lu.deploy(ws, b)
    assert r.returncode == 0, lu.describe(r)
    assert re.search(r"^warning: appspec\.yml:\d+:\d+: hooks\.BeforeInstal: "
                     r"unknown lifecycle event.*did you mean "
                     r"'BeforeInstall'", r.stderr, re.M), r.stderr
    assert "BeforeInstall" in r.stdout


@pytest.mark.parametrize("case", sorted(BAD_APPSPECS))
def test_invalid_appspec_is_65_and_changes_nothing(ws, case):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    before = ws.snapshot(APP)
    nevents = len(lu.events(ws))

    text, what = BAD_APPSPECS[case]
    bad = lu.app_bundle(ws, "v2", extra_files={"appspec.yml": text})
    r = lu.deploy(ws, bad)
    assert r.returncode == 65, lu.describe(r)
    assert r.stderr.startswith("hookd: ")
    assert what in r.stderr
    if case not in ("missing-script", "missing-source", "location-escapes"):
        assert re.search(r"appspec\.yml:\d+(:\d+)?: ", r.stderr), r.stderr
    assert ws.snapshot(APP) == before
    assert not (ws.base / "opt").exists()
    # not even the live revision's ApplicationStop ran
    assert len(lu.events(ws)) == nevents
    assert lu.running(ws) == "v1"


def test_missing_appspec_is_65(ws):
    b = lu.make_bundle(ws, APP, {"README": "no appspec here\n"})
    r = lu.deploy(ws, b)
    assert r.returncode == 65, lu.describe(r)
    assert "appspec" in r.stderr
    assert not list(ws.root.rglob("current"))


# --------------------------------------------------------------------------
# Order of events, state, output

def test_first_deployment(ws):
    r = lu.deploy(ws, lu.app_bundle(ws, "v1"))
    dep, seq = lu.ok(r)
    assert seq == 1
    gd = ws.group_dir(APP)
    rel = gd / "releases" / f"1-{dep}"
    assert rel.is_dir()
    assert os.readlink(gd / "current") == f"releases/1-{dep}"
    assert ws.current(APP) == rel.resolve()
    assert (rel / "appspec.yml").is_file() and (rel / "VERSION").is_file()

    # no live revision: no ApplicationStop; the new one runs the rest
    assert lu.events(ws) == [(e, "v1", str(rel)) for e in lu.NEW_EVENTS]
    assert lu.running(ws) == "v1"

    # one line per event with its outcome (and a duration)
    for e in ["DownloadBundle", "Install"] + lu.NEW_EVENTS:
        ln = line_for(r.stdout, e)
        assert "ok" in ln, ln
        assert re.search(r"\d", ln), f"no duration: {ln}"
    stop = [ln for ln in event_lines(r.stdout) if "ApplicationStop" in ln]
    assert all("skipped" in ln for ln in stop), stop

    st = lu.check_state_consistent(ws, APP)
    assert st["last_sequence"] == 1
    assert st["current"]["deployment_id"] == dep
    assert st["current"]["sequence"] == 1
    assert st["current"]["release"] == f"releases/1-{dep}"
    assert st["previous"] is None
    assert st["last_good"]["deployment_id"] == dep
    h = st["history"][0]
    assert h["deployment_id"] == dep and h["status"] == "Succeeded"
    assert h["sequence"] == 1
    assert h["rolled_back_to"] is None

    log = ws.root / "logs" / f"{dep}.log"
    text = log.read_text()
    assert re.search(r"AfterInstall \[stdout\] AfterInstall done", text), text


def test_second_deployment_stops_the_live_revision_first(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    # v2's appspec has no ApplicationStop: the live revision's (v1's)
    # appspec is the one that decides it
    r = lu.deploy(ws, lu.app_bundle(ws, "v2", events=lu.NEW_EVENTS))
    d2, seq = lu.ok(r)
    assert seq == 2 and d2 != d1
    gd = ws.group_dir(APP)
    rel1, rel2 = gd / "releases" / f"1-{d1}", gd / "releases" / f"2-{d2}"
    assert lu.events(ws)[4:] == [("ApplicationStop", "v1", str(rel1))] + [
        (e, "v2", str(rel2)) for e in lu.NEW_EVENTS]
    assert "ok" in line_for(r.stdout, "ApplicationStop")
    assert os.readlink(gd / "current") == f"releases/2-{d2}"
    st = lu.check_state_consistent(ws, APP)
    assert st["last_sequence"] == 2
    assert st["current"]["deployment_id"] == d2
    assert st["previous"]["deployment_id"] == d1
    assert st["last_good"]["deployment_id"] == d2
    assert [h["deployment_id"] for h in st["history"][:2]] == [d2, d1]

    # v2 has no ApplicationStop, so the next deployment runs none
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v3")))
    assert [e[0] for e in lu.events(ws)[9:]] == lu.NEW_EVENTS


TRAFFIC = ["BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
           "BeforeInstall", "AfterInstall", "ApplicationStart",
           "ValidateService", "BeforeAllowTraffic", "AfterAllowTraffic"]


def test_traffic_events_at_codedeploy_positions(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1", events=TRAFFIC)))
    first = [(e, v) for e, v, _ in lu.events(ws)]
    assert first == [(e, "v1") for e in TRAFFIC[3:]]
    d2, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v2", events=TRAFFIC)))
    second = [(e, v) for e, v, _ in lu.events(ws)[len(first):]]
    # block traffic and stop: the live revision; the rest: the new one
    assert second == [(e, "v1") for e in TRAFFIC[:3]] + \
        [(e, "v2") for e in TRAFFIC[3:]]


ENV_SH = r"""#!/bin/bash
set -euo pipefail
d=@OUT@/$LIFECYCLE_EVENT.$(cat VERSION)
mkdir -p "$d"
tr '\0' '\n' < /proc/$$/environ > "$d/environ"
pwd -P > "$d/cwd"
readlink /proc/$$/fd/0 > "$d/stdin"
ls /proc/$$/fd > "$d/fds"
read -r -a st < /proc/$$/stat
echo "$$ ${st[4]} ${st[5]}" > "$d/ids"
"""


def read_env(d):
    env = {}
    for ln in (d / "environ").read_text().splitlines():
        k, _, v = ln.partition("=")
        env[k] = v
    return env


def test_hook_environment_and_process(ws):
    script = ENV_SH.replace("@OUT@", str(ws.out))

    def bundle(v):
        hooks = {e: ["scripts/env.sh"] for e in lu.ALL_HOOK_EVENTS}
        return lu.make_bundle(ws, "whatever", {
            "appspec.yml": lu.appspec(hooks), "VERSION": v + "\n",
            "scripts/env.sh": script}, subdir=v)

    common = dict(app="myapp", group="blue")
    leak = {"HOOKD_TEST_LEAK": "secret", "LD_LIBRARY_PATH": "/nowhere"}
    d1, _ = lu.ok(lu.deploy(ws, bundle("v1"), commit="1" * 40, env=leak,
                            **common))
    d2, _ = lu.ok(lu.deploy(ws, bundle("v2"), commit="2" * 40, env=leak,
                            **common))
    gd = ws.group_dir("myapp", "blue")
    rel1 = str((gd / "releases" / f"1-{d1}").resolve())
    rel2 = str((gd / "releases" / f"2-{d2}").resolve())
    root = pwd.getpwuid(os.geteuid())

    seen = {}
    for d in sorted(ws.out.iterdir()):
        if not d.is_dir():
            continue
        ev, ver = d.name.split(".")
        env = read_env(d)
        seen[d.name] = env
        assert set(env) == CONTRACT_ENV, d.name
        rel = rel2 if ver == "v2" else rel1
        assert env["LIFECYCLE_EVENT"] == ev
        assert env["APPLICATION_NAME"] == "myapp"
        assert env["DEPLOYMENT_GROUP_NAME"] == "blue"
        assert env["DEPLOYMENT_GROUP_ID"] != ""
        assert env["HOOKD_RELEASE_DIR"] == rel, d.name
        assert os.path.isabs(env["HOOKD_RELEASE_DIR"])
        assert env["PATH"] == CLEAN_PATH
        assert env["HOME"] == root.pw_dir
        assert env["USER"] == root.pw_name == env["LOGNAME"]
        assert env["SHELL"] == root.pw_shell
        assert env["LANG"] == "C.UTF-8"
        # cwd: the release of the revision whose script it is
        assert (d / "cwd").read_text().strip() == rel
        assert (d / "stdin").read_text().strip() == "/dev/null"
        pid, pgrp, sid = (d / "ids").read_text().split()
        assert pid == pgrp == sid, "hook not in its own session"
        fds = set((d / "fds").read_text().split())
        assert fds <= {"0", "1", "2", "255"}, f"leaked fds {fds} in {d.name}"

    assert set(seen) == {f"{e}.v1" for e in lu.NEW_EVENTS} | \
        {"ApplicationStop.v1"} | {f"{e}.v2" for e in lu.NEW_EVENTS}
    for e in lu.NEW_EVENTS:
        v1, v2 = seen[f"{e}.v1"], seen[f"{e}.v2"]
        assert v1["DEPLOYMENT_ID"] == d1 and v2["DEPLOYMENT_ID"] == d2
        assert v1["BUNDLE_COMMIT"] == "1" * 40
        assert v2["BUNDLE_COMMIT"] == "2" * 40
        assert v1["HOOKD_PREVIOUS_RELEASE_DIR"] == ""
        assert v2["HOOKD_PREVIOUS_RELEASE_DIR"] == rel1
    # ApplicationStop is part of deployment 2, run from the live release
    stop = seen["ApplicationStop.v1"]
    assert stop["DEPLOYMENT_ID"] == d2
    assert stop["HOOKD_RELEASE_DIR"] == rel1
    # the deployment group id is stable for a group
    assert len({e["DEPLOYMENT_GROUP_ID"] for e in seen.values()}) == 1
    st = ws.state("myapp", "blue")
    assert st["current"]["commit"] == "2" * 40
    assert st["previous"]["commit"] == "1" * 40


def test_hook_script_without_exec_bit_runs(ws):
    b = lu.app_bundle(ws, "v1")
    os.chmod(b / "scripts" / "hook.sh", 0o644)
    lu.ok(lu.deploy(ws, b))
    assert [e[0] for e in lu.events(ws)] == lu.NEW_EVENTS
    # the bundle itself was not modified
    assert lu.mode_of(b / "scripts" / "hook.sh") == 0o644


@pytest.mark.parametrize("fmt", ["dir", "tar", "tgz", "zip"])
def test_every_bundle_format(ws, fmt):
    b = lu.app_bundle(ws, "v1", name="fmtapp", fmt=fmt)
    dep, _ = lu.ok(lu.deploy(ws, b))
    # the application defaults to the bundle's name without extension
    assert ws.current("fmtapp") is not None
    cur = ws.current("fmtapp")
    assert (cur / "VERSION").read_text() == "v1\n"
    assert [e[0] for e in lu.events(ws)] == lu.NEW_EVENTS
    if fmt != "dir":
        st = ws.state("fmtapp")
        assert st["current"]["sha256"] == lu.sha256_file(b)


def test_appspec_yaml_spelling(ws):
    b = lu.app_bundle(ws, "v1")
    os.rename(b / "appspec.yml", b / "appspec.yaml")
    lu.ok(lu.deploy(ws, b))
    assert [e[0] for e in lu.events(ws)] == lu.NEW_EVENTS


def test_tar_gz_with_one_top_level_directory(ws):
    src = lu.app_bundle(ws, "v1", name="inner-1.0")
    out = ws.bundles / "web.tar.gz"
    with tarfile.open(out, "w:gz") as t:
        t.add(src, arcname="inner-1.0")
    lu.ok(lu.deploy(ws, out))
    cur = ws.current("web")
    # the release is the bundle root: the directory holding appspec.yml
    assert (cur / "appspec.yml").is_file()
    assert lu.events(ws)[0][2] == str(cur)


# --------------------------------------------------------------------------
# runas

UID_SH = r"""#!/bin/bash
set -euo pipefail
d=@OUT@/$LIFECYCLE_EVENT
mkdir -p "$d"
id -u > "$d/uid"
id -G > "$d/groups"
echo "$USER $HOME" > "$d/user"
"""


@needs_root
def test_runas_and_sudo(ws):
    script = UID_SH.replace("@OUT@", str(ws.out))
    hooks = {
        "BeforeInstall": [{"location": "scripts/uid.sh", "runas": "nobody"}],
        "AfterInstall": ["scripts/uid.sh"],
        "ApplicationStart": [{"location": "scripts/uid.sh",
                              "sudo": "true"}],
    }
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/uid.sh": script})
    r = lu.deploy(ws, b)
    lu.ok(r)
    nobody = pwd.getpwnam("nobody")
    bi = ws.out / "BeforeInstall"
    assert (bi / "uid").read_text().strip() == str(nobody.pw_uid)
    assert "0" not in (bi / "groups").read_text().split(), \
        "root's groups kept"
    assert (bi / "user").read_text().split() == ["nobody", nobody.pw_dir]
    assert (ws.out / "AfterInstall" / "uid").read_text().strip() == "0"
    assert (ws.out / "ApplicationStart" / "uid").read_text().strip() == "0"


@needs_root
def test_runas_unknown_user_is_a_clear_error(ws):
    hooks = {"BeforeInstall": [{"location": "scripts/hook.sh",
                                "runas": "no-such-user-hookd"}]}
    b = lu.app_bundle(ws, "v1", extra_files={
        "appspec.yml": lu.appspec(hooks)})
    r = lu.deploy(ws, b)
    assert r.returncode in (1, 65), lu.describe(r)
    assert "no-such-user-hookd" in r.stdout + r.stderr
    assert lu.events(ws) == []


# --------------------------------------------------------------------------
# Timeouts and stray children

def test_timeout_kills_the_whole_process_group(ws):
    bg = ws.out / "bg.pid"
    script = f"""#!/bin/bash
set -euo pipefail
sleep 1000 &
echo $! > {bg}
echo "waiting forever"
sleep 120
"""
    hooks = {"BeforeInstall": [{"location": "scripts/slow.sh",
                                "timeout": 2}]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/slow.sh": script})
    t0 = time.monotonic()
    r = lu.deploy(ws, b)
    took = time.monotonic() - t0
    dep, _, reason = lu.failed(r)
    assert "BeforeInstall" in reason and "scripts/slow.sh" in reason
    assert "timed out after 2 s" in reason, reason
    assert took < 30, f"took {took:.1f} s"
    assert "  waiting forever" in r.stdout.splitlines()
    pid = int(bg.read_text())
    lu.wait_pid_gone(pid, timeout=5)
    assert lu.procs_under(ws.base) == []
    st = ws.state(APP)
    h = st["history"][0]
    assert h["deployment_id"] == dep and h["status"] == "Failed"
    assert h["event"] == "BeforeInstall"
    assert "timed out after 2 s" in h["message"]
    assert st["in_progress"] is None and st["current"] is None
    assert ws.current(APP) is None


def test_background_child_holding_stdout_does_not_hang(ws):
    holder = ws.out / "holder.pid"
    script = f"""#!/bin/bash
set -euo pipefail
sleep 1000 &
echo $! > {holder}
echo "left a child holding stdout"
"""
    hooks = {"ApplicationStart": [{"location": "scripts/start.sh",
                                   "timeout": 60}],
             "ValidateService": ["scripts/hook.sh"]}
    b = lu.app_bundle(ws, "v1", extra_files={
        "appspec.yml": lu.appspec(hooks), "scripts/start.sh": script})
    t0 = time.monotonic()
    r = lu.deploy(ws, b, timeout=60)
    took = time.monotonic() - t0
    dep, _ = lu.ok(r)
    assert took < 15, f"took {took:.1f} s"
    # the child itself is left alone (CodeDeploy semantics); the
    # workspace's cleanup kills it
    assert holder.exists()
    assert [e[0] for e in lu.events(ws)] == ["ValidateService"]
    log = (ws.root / "logs" / f"{dep}.log").read_text()
    assert "left a child holding stdout" in log
    # and the log says why it stopped reading
    assert re.search(r"ApplicationStart .*still hold", log), log


# --------------------------------------------------------------------------
# Failures and rollback

@pytest.mark.parametrize("event", lu.NEW_EVENTS)
def test_failure_rolls_back_to_the_previous_release(ws, event):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    gd = ws.group_dir(APP)
    rel1 = gd / "releases" / f"1-{d1}"
    n1 = len(lu.events(ws))

    r = lu.deploy(ws, lu.app_bundle(ws, "v2", fail=[event]))
    d2, seq, reason = lu.failed(r)
    assert seq == 2
    assert reason.startswith(f"{event}: scripts/hook.sh: "), reason
    assert "3" in reason, reason            # the exit status
    assert f"rolled back to {d1}" in r.stdout
    # the restart of v1 keeps the columns; the rollback is said after
    assert re.search(rf"^ApplicationStart +ok +[0-9.]+ m?s  \(rollback to "
                     rf"{d1}\)$", r.stdout, re.M), r.stdout
    out = r.stdout.splitlines()
    assert "  boom: v2 cannot do " + event in out, r.stdout

    # host back on v1, and v1 started again
    assert ws.current(APP) == rel1.resolve()
    assert os.readlink(gd / "current") == f"releases/1-{d1}"
    rel2 = str(gd / "releases" / f"2-{d2}")
    upto = lu.NEW_EVENTS[:lu.NEW_EVENTS.index(event) + 1]
    assert lu.events(ws)[n1:] == (
        [("ApplicationStop", "v1", str(rel1))] +
        [(e, "v2", rel2) for e in upto] +
        [("ApplicationStart", "v1", str(rel1))])
    assert lu.running(ws) == "v1"

    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d1
    assert st["last_good"]["deployment_id"] == d1
    assert st["last_sequence"] == 2
    h = st["history"][0]
    assert h["deployment_id"] == d2 and h["status"] == "Failed"
    assert h["event"] == event and h["script"] == "scripts/hook.sh"
    assert h["rolled_back_to"] == d1
    log = (ws.root / "logs" / f"{d2}.log").read_text()
    assert re.search(rf"{event} \[stderr\] boom: v2 cannot do {event}", log)


def test_failed_application_stop_starts_the_live_revision_again(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    rel1 = str(ws.group_dir(APP) / "releases" / f"1-{d1}")
    n = len(lu.events(ws))
    (ws.out / "fail.ApplicationStop.v1").touch()
    d2, _, reason = lu.failed(lu.deploy(ws, lu.app_bundle(ws, "v2")))
    assert reason.startswith("ApplicationStop: scripts/hook.sh: "), reason
    assert lu.events(ws)[n:] == [("ApplicationStop", "v1", rel1),
                                 ("ApplicationStart", "v1", rel1)]
    assert lu.running(ws) == "v1"
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d1
    assert st["history"][0]["event"] == "ApplicationStop"
    assert ws.current(APP).name == f"1-{d1}"


def test_a_failed_rollback_is_reported(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    (ws.out / "fail.ApplicationStart.v1").touch()
    r = lu.deploy(ws, lu.app_bundle(ws, "v2", fail=["ValidateService"]))
    d2, _, reason = lu.failed(r)
    assert reason.startswith("ValidateService: scripts/hook.sh: "), reason
    assert re.search(r"rollback.*fail", r.stdout, re.I), r.stdout
    # current is back on v1 all the same, and nothing is left in progress
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d1
    assert ws.current(APP).name == f"1-{d1}"
    assert st["history"][0]["status"] == "Failed"


def test_after_a_failed_start_the_last_good_release_is_stopped(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    lu.failed(lu.deploy(ws, lu.app_bundle(ws, "v2",
                                          fail=["ApplicationStart"])))
    n = len(lu.events(ws))
    d3, seq = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v3")))
    assert seq == 3
    rel1 = str(ws.group_dir(APP) / "releases" / f"1-{d1}")
    assert lu.events(ws)[n] == ("ApplicationStop", "v1", rel1)
    assert lu.running(ws) == "v3"
    st = lu.check_state_consistent(ws, APP)
    assert st["previous"]["deployment_id"] == d1


# --------------------------------------------------------------------------
# files: destinations and file_exists_behavior

def files_bundle(ws, version, dest, extra=""):
    return lu.app_bundle(ws, version, files=[("/", str(dest))],
                         appspec_extra=extra,
                         extra_files={"site/index.txt": f"site {version}\n"})


def test_files_destination_follows_current_and_rollback(ws):
    dest = ws.base / "opt" / "app"
    dest.parent.mkdir()
    lu.ok(lu.deploy(ws, files_bundle(ws, "v1", dest)))
    assert (dest / "site" / "index.txt").read_text() == "site v1\n"
    lu.ok(lu.deploy(ws, files_bundle(ws, "v2", dest)))
    assert (dest / "site" / "index.txt").read_text() == "site v2\n"
    b3 = files_bundle(ws, "v3", dest)
    (b3 / "FAIL").write_text("ValidateService\n")
    lu.failed(lu.deploy(ws, b3))
    assert (dest / "site" / "index.txt").read_text() == "site v2\n"
    assert ws.canary_listing() == ["sentinel"]


def test_file_source_is_linked_into_the_destination_directory(ws):
    """CodeDeploy: a file source's destination is the directory that
    receives the file."""
    etc = ws.base / "etc" / "app"
    etc.parent.mkdir()

    def b(v, fail=()):
        return lu.app_bundle(ws, v, fail=fail,
                             files=[("config/app.conf", str(etc))],
                             extra_files={"config/app.conf": f"conf {v}\n"})
    lu.ok(lu.deploy(ws, b("v1")))
    assert (etc / "app.conf").read_text() == "conf v1\n"
    lu.ok(lu.deploy(ws, b("v2")))
    assert (etc / "app.conf").read_text() == "conf v2\n"
    lu.failed(lu.deploy(ws, b("v3", fail=["ApplicationStart"])))
    assert (etc / "app.conf").read_text() == "conf v2\n"


def test_hook_script_that_is_a_symlink_inside_the_bundle(ws):
    b = lu.app_bundle(ws, "v1", events=["BeforeInstall"])
    os.rename(b / "scripts" / "hook.sh", b / "hook-real.sh")
    os.symlink("../hook-real.sh", b / "scripts" / "hook.sh")
    lu.ok(lu.deploy(ws, b))
    assert [e[0] for e in lu.events(ws)] == ["BeforeInstall"]


@pytest.mark.parametrize("how", ["default", "DISALLOW", "OVERWRITE",
                                 "RETAIN", "appspec-OVERWRITE"])
def test_file_exists_behavior(ws, how):
    dest = ws.base / "opt" / "app"
    dest.mkdir(parents=True)
    (dest / "old.txt").write_text("precious\n")
    extra = ""
    feb = None
    if how.startswith("appspec-"):
        extra = f"file_exists_behavior: {how.split('-')[1]}\n"
    elif how != "default":
        feb = how
    r = lu.deploy(ws, files_bundle(ws, "v1", dest, extra), feb=feb)
    mode = how.split("-")[-1]
    if mode in ("default", "DISALLOW"):
        _, _, reason = lu.failed(r)
        assert "Install" in reason and str(dest) in reason, reason
        assert not dest.is_symlink()
        assert (dest / "old.txt").read_text() == "precious\n"
        assert not (dest / "site").exists()
        assert "ValidateService" not in [e[0] for e in lu.events(ws)]
    elif mode == "OVERWRITE":
        lu.ok(r)
        assert (dest / "site" / "index.txt").read_text() == "site v1\n"
        assert not (dest / "old.txt").exists()
        aside = [p for p in ws.base.rglob("old.txt")
                 if p.read_text() == "precious\n"]
        assert aside, "the old directory was not moved aside"
    else:  # RETAIN
        lu.ok(r)
        assert not dest.is_symlink()
        assert (dest / "old.txt").read_text() == "precious\n"


# --------------------------------------------------------------------------
# Retention and reuse

def test_keep_releases_2_after_4_deployments(ws):
    ids = [lu.ok(lu.deploy(ws, lu.app_bundle(ws, f"v{i}"), keep=2))[0]
           for i in range(1, 5)]
    assert ws.releases(APP) == {f"3-{ids[2]}", f"4-{ids[3]}"}
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == ids[3]
    assert st["previous"]["deployment_id"] == ids[2]


def test_keep_releases_never_removes_live_or_previous(ws):
    ids = [lu.ok(lu.deploy(ws, lu.app_bundle(ws, f"v{i}"), keep=1))[0]
           for i in range(1, 4)]
    assert ws.releases(APP) == {f"2-{ids[1]}", f"3-{ids[2]}"}
    # a failed deployment does not cost the live release either
    lu.failed(lu.deploy(ws, lu.app_bundle(ws, "v4", fail=["AfterInstall"]),
                        keep=1))
    assert f"3-{ids[2]}" in ws.releases(APP)
    assert ws.current(APP).name == f"3-{ids[2]}"
    assert lu.running(ws) == "v3"


def test_same_bundle_deployed_again(ws):
    b1 = lu.app_bundle(ws, "v1", fmt="tgz")
    sha = lu.sha256_file(b1)
    d1, _ = lu.ok(lu.deploy(ws, b1))
    d2, seq = lu.ok(lu.deploy(ws, b1))
    assert seq == 2 and d2 != d1
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d2
    assert st["current"]["sha256"] == sha
    cur = ws.current(APP)
    assert (cur / "VERSION").read_text() == "v1\n"
    assert (cur / "scripts" / "hook.sh").is_file()
    ev = lu.events(ws)
    assert [e[0] for e in ev[4:]] == lu.ALL_HOOK_EVENTS
    assert all(e[2] == str(cur) for e in ev[5:])
    # whether the release was reused or extracted again, it is a
    # separate, complete directory of its own
    rel1 = ws.group_dir(APP) / "releases" / f"1-{d1}"
    assert cur.name == f"2-{d2}" and (rel1 / "VERSION").is_file()

    # a different revision, then the first one again: still correct
    d3, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v2", fmt="tgz")))
    d4, _ = lu.ok(lu.deploy(ws, b1))
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d4
    assert st["previous"]["deployment_id"] == d3
    assert (ws.current(APP) / "VERSION").read_text() == "v1\n"
    assert lu.running(ws) == "v1"
    assert pathlib.Path(ws.current(APP)).exists()


RENDER_SH = r"""#!/bin/bash
set -euo pipefail
# like a config-rendering step: edits a file of its own release in place
echo "rendered by $DEPLOYMENT_ID" >> config/app.conf
"""


def test_reused_release_is_the_bundle_not_what_hooks_made_of_it(ws):
    """Reuse must give the new deployment the bundle's content, and must
    not let the new deployment's hooks change the previous release (the
    rollback target)."""
    hooks = {"AfterInstall": ["scripts/render.sh"]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "config/app.conf": "base\n",
                                 "scripts/render.sh": RENDER_SH}, fmt="tgz")
    d1, _ = lu.ok(lu.deploy(ws, b))
    rel1 = ws.group_dir(APP) / "releases" / f"1-{d1}"
    assert (rel1 / "config/app.conf").read_text() == \
        f"base\nrendered by {d1}\n"
    d2, _ = lu.ok(lu.deploy(ws, b))
    rel2 = ws.group_dir(APP) / "releases" / f"2-{d2}"
    assert (rel2 / "config/app.conf").read_text() == \
        f"base\nrendered by {d2}\n"
    assert (rel1 / "config/app.conf").read_text() == \
        f"base\nrendered by {d1}\n"


def test_same_directory_bundle_deployed_again(ws):
    b = lu.app_bundle(ws, "v1")
    d1, _ = lu.ok(lu.deploy(ws, b))
    d2, _ = lu.ok(lu.deploy(ws, b))
    assert ws.current(APP).name == f"2-{d2}"
    assert (ws.current(APP) / "VERSION").read_text() == "v1\n"
    assert lu.running(ws) == "v1"


def test_timeout_escalates_to_sigkill_for_a_child_ignoring_sigterm(ws):
    bg = ws.out / "stubborn.pid"
    script = f"""#!/bin/bash
set -euo pipefail
bash -c "trap '' TERM; exec sleep 1000" &
echo $! > {bg}
sleep 120
"""
    hooks = {"BeforeInstall": [{"location": "scripts/slow.sh",
                                "timeout": 1}]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/slow.sh": script})
    t0 = time.monotonic()
    r = lu.deploy(ws, b)
    took = time.monotonic() - t0
    _, _, reason = lu.failed(r)
    assert "timed out after 1 s" in reason, reason
    pid = int(bg.read_text())
    assert not lu.pid_alive(pid), "a child ignoring SIGTERM survived"
    assert took < 40, f"took {took:.1f} s"


def test_first_deployment_failing_leaves_no_current(ws):
    dest = ws.base / "opt" / "app"
    dest.parent.mkdir()
    b = files_bundle(ws, "v1", dest)
    (b / "FAIL").write_text("ValidateService\n")
    dep, seq, reason = lu.failed(lu.deploy(ws, b))
    assert seq == 1
    assert "rolled back" not in reason
    st = lu.check_state_consistent(ws, APP)
    assert st["current"] is None and st["last_good"] is None
    assert st["history"][0]["status"] == "Failed"
    assert ws.current(APP) is None
    assert not os.path.lexists(dest), "destination left pointing nowhere"
    # and the next deployment is a first deployment again
    lu.ok(lu.deploy(ws, files_bundle(ws, "v2", dest)))
    assert (dest / "site" / "index.txt").read_text() == "site v2\n"
    assert "ApplicationStop" not in [e[0] for e in lu.events(ws)[-4:]]


def test_huge_output_is_bounded(ws):
    script = """#!/bin/bash
set -euo pipefail
head -c 20000000 /dev/zero | tr '\\0' x
echo
for i in $(seq 1 200000); do echo "line $i"; done
echo "the last words" >&2
exit 4
"""
    hooks = {"BeforeInstall": [{"location": "scripts/loud.sh",
                                "timeout": 120}]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/loud.sh": script})
    r = lu.deploy(ws, b, timeout=120)
    dep, _, reason = lu.failed(r)
    assert "4" in reason
    assert "  the last words" in r.stdout.splitlines()
    # the failure report shows a tail, not 20 MB
    assert len(r.stdout) < 64 * 1024, len(r.stdout)
    log = ws.root / "logs" / f"{dep}.log"
    assert "line 200000" in log.read_text()


@pytest.mark.parametrize("kind,what", [
    ("bad-interpreter", "No such file or directory"),
    ("killed", "signal"),
])
def test_hook_that_cannot_run_or_is_killed(ws, kind, what):
    script = {"bad-interpreter": "#!/nonexistent/interpreter\necho hi\n",
              "killed": "#!/bin/bash\nkill -KILL $$\n"}[kind]
    hooks = {"BeforeInstall": ["scripts/x.sh"]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/x.sh": script})
    _, _, reason = lu.failed(lu.deploy(ws, b))
    assert reason.startswith("BeforeInstall: scripts/x.sh: "), reason
    assert what in reason, reason


def test_scripts_of_one_event_run_in_order_and_stop_at_a_failure(ws):
    rec = ws.out / "order"
    mk = lambda n, rc: f"#!/bin/bash\necho {n} >> {rec}\nexit {rc}\n"  # noqa
    hooks = {"BeforeInstall": ["scripts/a.sh", "scripts/b.sh",
                               "scripts/c.sh"]}
    b = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/a.sh": mk("a", 0),
                                 "scripts/b.sh": mk("b", 2),
                                 "scripts/c.sh": mk("c", 0)})
    _, _, reason = lu.failed(lu.deploy(ws, b))
    assert reason.startswith("BeforeInstall: scripts/b.sh: "), reason
    assert rec.read_text() == "a\nb\n"


@pytest.mark.parametrize("opt", ["--application", "--group"])
@pytest.mark.parametrize("name", ["../../evil", "a/b", ".hidden", ""])
def test_names_that_could_escape_the_root_are_refused(ws, opt, name):
    r = run_hookd(["deploy-local", "--root", str(ws.root), "--bundle",
                   str(lu.app_bundle(ws, "v1")), opt, name], cwd=ws.base)
    assert r.returncode == 64, lu.describe(r)
    assert r.stdout == ""
    assert list(ws.root.iterdir()) == []
    assert ws.canary_listing() == ["sentinel"]
    assert not (ws.base / "evil").exists()


def test_root_from_hookd_root_environment(ws):
    b = lu.app_bundle(ws, "v1")
    r = subprocess.run([lu.hookd(), "deploy-local", "--bundle", str(b)],
                       capture_output=True, text=True, timeout=60,
                       env=lu.hookd_env({"HOOKD_ROOT": str(ws.root)}),
                       cwd=ws.base)
    lu.ok(r)
    assert ws.current(APP) is not None


def test_no_temporary_files_left_behind(ws):
    for v in ("v1", "v2"):
        lu.ok(lu.deploy(ws, lu.app_bundle(ws, v, fmt="tgz")))
    lu.failed(lu.deploy(ws, lu.app_bundle(ws, "v3", fail=["AfterInstall"])))
    gd = ws.group_dir(APP)
    assert sorted(os.listdir(gd)) == [".lock", "current", "releases",
                                      "state.json"]
    leftovers = [n for n in os.listdir(gd / "releases")
                 if n.startswith(".tmp") or n.endswith(".tmp")]
    assert leftovers == []
