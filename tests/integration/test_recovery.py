# SPDX-License-Identifier: ISC
"""hookd killed with SIGKILL in the middle of a deployment, then a new
`hookd deploy-local`: the interrupted deployment is recovered first
(ENGINE-CONTRACT.md) and the host ends consistent.

The pause points are deterministic: the test app's hook for the chosen
event blocks opening a FIFO the test owns (lifecycle_util.HOOK_SH), and
the test kills hookd (and then the orphaned hook's process group, as a
crash of the machine would) only once the hook has said it is blocked.
Install runs no hook, so "during Install" kills hookd as soon as
state.json says the Install phase began, or at the latest while the
AfterInstall hook right after it is blocked; a bundle of a few hundred
files with permissions makes Install take a few milliseconds."""
import os
import signal

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"


def state_or_none(ws):
    try:
        return ws.state(APP)
    except (FileNotFoundError, ValueError):
        return None


def start_blocked(ws, version, event, blocker=None, **kw):
    """Start a deployment of version whose event hook blocks; return the
    Popen once the hook is blocked, and the hook's pid.  'blocker': the
    (event, version) that blocks when it is not the new version's own
    event (the flag file OUT/block.EVENT.VERSION is made)."""
    lu.mkfifo(ws)
    pidfile = ws.out / "blocked.pid"
    if pidfile.exists():
        pidfile.unlink()
    if blocker is None:
        p = lu.spawn_deploy(ws, lu.app_bundle(ws, version, block=[event],
                                              **kw))
    else:
        (ws.out / "block.{}.{}".format(*blocker)).touch()
        p = lu.spawn_deploy(ws, lu.app_bundle(ws, version, **kw))
        event, version = blocker

    def blocked():
        if p.poll() is not None:
            out, err = p.communicate()
            pytest.fail(f"hookd exited {p.returncode} before blocking\n"
                        f"{out}{err}")
        return (event, version) in lu.blocked_in(ws)
    lu.wait_for(blocked, timeout=30, what=f"{event} of {version} to block")
    return p, int(pidfile.read_text())


def crash(p, hook_pid):
    """SIGKILL hookd, then the hook it left (its own process group)."""
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.communicate()
    try:
        os.killpg(hook_pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    lu.wait_pid_gone(hook_pid, timeout=10)


def check_recovered(ws, d1, d2, switched, statuses=("Interrupted",),
                    **bundle_kw):
    """Deploy v3 then v4 (app_bundle(**bundle_kw)) after the crash of
    deployment d2 and check the result.  'switched': whether 'current'
    had moved to d2's release."""
    rel1 = str(ws.group_dir(APP) / "releases" / f"1-{d1}")
    if not switched:
        assert ws.current(APP).name == f"1-{d1}"
    n = len(lu.events(ws))
    r = lu.deploy(ws, lu.app_bundle(ws, "v3", **bundle_kw))
    d3, seq = lu.ok(r)
    assert seq == 3, "sequence 2 was used by the interrupted deployment"

    st = lu.check_state_consistent(ws, APP)
    hist = [h for h in st["history"] if h["deployment_id"] == d2]
    assert len(hist) == 1, st["history"]
    assert hist[0]["status"] in statuses, hist[0]
    assert st["current"]["deployment_id"] == d3
    assert st["in_progress"] is None
    cur = ws.current(APP)
    assert cur.name == f"3-{d3}"
    assert (cur / "VERSION").read_text() == "v3\n"
    assert lu.running(ws) == "v3"

    after = lu.events(ws)[n:]
    # v1's ApplicationStop had run in every case, so recovery put 'current'
    # back on v1 if it had moved and started v1 again; then v3 deployed
    assert after[0] == ("ApplicationStart", "v1", rel1), after
    assert after[1] == ("ApplicationStop", "v1", rel1), after
    assert [(e, v) for e, v, _ in after[2:]] == \
        [(e, "v3") for e in lu.NEW_EVENTS]

    # a later deployment does not record the interruption again
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v4", **bundle_kw)))
    st = lu.check_state_consistent(ws, APP)
    assert [h["status"] for h in st["history"]
            if h["deployment_id"] == d2] == [hist[0]["status"]]
    assert lu.running(ws) == "v4"


@pytest.mark.parametrize("event,switched", [
    ("BeforeInstall", False),
    ("AfterInstall", True),
    ("ApplicationStart", True),
])
def test_kill_9_during_hook_then_recover(ws, event, switched):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", event)

    st = ws.state(APP)
    ip = st["in_progress"]
    assert ip is not None and ip["phase"] == event, ip
    assert ip["switched"] is switched, ip
    assert ip["sequence"] == 2
    d2 = ip["deployment_id"]
    assert st["current"]["deployment_id"] == d1
    crash(p, hook)

    # the crash left it in between; the next run sorts it out
    assert ws.state(APP)["in_progress"]["deployment_id"] == d2
    check_recovered(ws, d1, d2, switched)


def test_kill_9_during_the_live_application_stop_then_recover(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", None, blocker=("ApplicationStop", "v1"))
    ip = ws.state(APP)["in_progress"]
    assert ip is not None and ip["phase"] == "ApplicationStop", ip
    assert ip["switched"] is False
    crash(p, hook)
    (ws.out / "block.ApplicationStop.v1").unlink()
    check_recovered(ws, d1, ip["deployment_id"], False)


def test_kill_9_during_the_rollback_then_recover(ws):
    """v2 fails ValidateService; hookd dies while v1's ApplicationStart
    runs for the rollback.  The next run must still finish putting v1
    back (current on v1, v1 started) and record v2 once."""
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", None, fail=["ValidateService"],
                            blocker=("ApplicationStart", "v1"))
    st = ws.state(APP)
    crash(p, hook)
    (ws.out / "block.ApplicationStart.v1").unlink()
    d2 = [e for e in lu.events(ws) if e[1] == "v2"][0][2].rsplit("-", 2)
    d2 = f"{d2[-2]}-{d2[-1]}"
    assert st["in_progress"] is not None or \
        st["history"][0]["deployment_id"] == d2
    check_recovered(ws, d1, d2, True, statuses=("Interrupted", "Failed"))


def test_kill_9_during_install_then_recover(ws):
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    dest = ws.base / "opt" / "app"
    dest.parent.mkdir()
    big = {f"data/d{i // 100}/f{i}.txt": f"{i}\n" for i in range(300)}
    perms = [{"object": str(dest / "data"), "pattern": '"**"',
              "mode": 640, "type": ["file"]}]
    lu.mkfifo(ws)
    p = lu.spawn_deploy(ws, lu.app_bundle(
        ws, "v2", block=["AfterInstall"], extra_files=big,
        files=[("/", str(dest))], permissions=perms))

    seen = {}

    def in_install_or_later():
        if p.poll() is not None:
            pytest.fail(f"hookd exited {p.returncode}: {p.communicate()}")
        st = state_or_none(ws)
        ip = st and st["in_progress"]
        if ip and ip["phase"] == "Install":
            seen["phase"] = "Install"
            return True
        if ("AfterInstall", "v2") in lu.blocked_in(ws):
            seen["phase"] = "AfterInstall"
            return True
        return False
    lu.wait_for(in_install_or_later, timeout=60, interval=0.001,
                what="the Install phase")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.communicate()
    st = ws.state(APP)
    d2 = st["in_progress"]["deployment_id"]
    switched = st["in_progress"]["switched"]
    lu.kill_procs_under(ws.base)     # the blocked hook, if it got there
    print(f"killed in {seen['phase']}, switched={switched}")

    small = {"data/d2/f299.txt": "299\n"}
    check_recovered(ws, d1, d2, switched, extra_files=small,
                    files=[("/", str(dest))], permissions=perms)
    # the destination follows current: v4, complete
    assert (dest / "VERSION").read_text() == "v4\n"
    assert (dest / "data" / "d2" / "f299.txt").read_text() == "299\n"
    assert lu.mode_of(dest / "data" / "d2" / "f299.txt") == 0o640


def test_second_deployment_while_one_runs_is_75(ws):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", "AfterInstall")
    before = ws.state_path(APP).read_bytes()

    r = lu.deploy(ws, lu.app_bundle(ws, "v3"), timeout=30)
    assert r.returncode == 75, lu.describe(r)
    assert r.stderr.startswith("hookd: ")
    assert ws.state_path(APP).read_bytes() == before
    assert not [e for e in lu.events(ws) if e[1] == "v3"]

    # let the first one finish: it succeeds
    with open(ws.out / "fifo", "w"):
        pass
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, out + err
    assert lu.RESULT_OK.search(out)
    assert lu.running(ws) == "v2"
    lu.check_state_consistent(ws, APP)


def test_kill_9_during_extraction_leaves_nothing_behind(ws):
    """Killed while the bundle is being extracted (before any script):
    the next run removes the half-built release and deploys."""
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    big = {f"data/f{i}.txt": f"{i}\n" * 50 for i in range(400)}
    lu.mkfifo(ws)
    p = lu.spawn_deploy(ws, lu.app_bundle(ws, "v2", fmt="tgz",
                                          extra_files=big,
                                          block=["BeforeInstall"]))
    rd = ws.group_dir(APP) / "releases"

    def extracting_or_later():
        if p.poll() is not None:
            pytest.fail(f"hookd exited {p.returncode}: {p.communicate()}")
        if any(n.startswith(".tmp") for n in os.listdir(rd)):
            return "extracting"
        if ("BeforeInstall", "v2") in lu.blocked_in(ws):
            return "BeforeInstall"
        return None
    where = lu.wait_for(extracting_or_later, timeout=60, interval=0.001,
                        what="the extraction")
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=10)
    p.communicate()
    lu.kill_procs_under(ws.base)
    print(f"killed while {where}")

    d3, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v3")))
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d3
    assert [n for n in os.listdir(rd) if n.startswith(".tmp")] == []
    assert lu.running(ws) == "v3"
    assert len([h for h in st["history"] if h["status"] == "Interrupted"]) \
        <= 1


def test_other_groups_are_not_locked(ws):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", "AfterInstall")
    other = lu.make_bundle(ws, APP, {"appspec.yml": "version: 0.0\n"
                                     "os: linux\n"}, subdir="other")
    r = lu.deploy(ws, other, group="staging", timeout=30)
    lu.ok(r)
    assert ws.current(APP, "staging") is not None
    with open(ws.out / "fifo", "w"):
        pass
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, out + err


def test_corrupt_state_is_an_error_and_is_kept(ws):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    sp = ws.state_path(APP)
    sp.write_text('{"schema": "hookd.state/1", "current": ')
    r = lu.deploy(ws, lu.app_bundle(ws, "v2"))
    assert r.returncode in (65, 74), lu.describe(r)
    assert "state.json" in r.stderr
    assert sp.read_text() == '{"schema": "hookd.state/1", "current": '
    assert lu.running(ws) == "v1"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_stops_the_hook_and_puts_the_host_back(ws, sig):
    """A polite stop (SIGTERM from systemd, ^C from a terminal) while a
    hook runs: the hook's group is stopped and the host is put back
    before hookd exits, with no recovery left for the next run."""
    d1, _ = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    p, hook = start_blocked(ws, "v2", "AfterInstall")
    d2 = ws.state(APP)["in_progress"]["deployment_id"]
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode != 0, out + err
    assert not lu.pid_alive(hook)
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d1
    assert ws.current(APP).name == f"1-{d1}"
    assert lu.running(ws) == "v1"
    assert [h["status"] for h in st["history"]
            if h["deployment_id"] == d2] == ["Interrupted"]
