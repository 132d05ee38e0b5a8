# SPDX-License-Identifier: ISC
"""`deployer` against three real `hookd run` daemons on this machine
(distinct instance ids and roots) sharing a file store and a spool
queue, with a real git repository holding appspec-examples/worker.
"""
import json
import re
import time

import pytest

from conftest import binary, run
from daemon_util import daemon  # noqa: F401
from deployer_util import APP, GROUP, Fleet
from lifecycle_util import ws  # noqa: F401

DEP_ID = re.compile(r"deployment (d-[A-Z0-9]{9}) \(sequence (\d+)\)")

FAILING_VALIDATE = ("#!/bin/bash\necho 'validate: health check failed' "
                    "\necho 'port 8080 refused' >&2\nexit 3\n", 0o755)


def dep_id(out):
    m = DEP_ID.search(out)
    assert m, out
    return m.group(1)


def fleet(ws, daemon, **kw):
    f = Fleet(ws, daemon, **kw)
    f.wait_registered(list(f.daemons))
    return f


def intervals(f, did, names):
    """(start, end) of each instance's run, from its progress document."""
    out = []
    for n in names:
        p = f.progress(did, n)
        out.append((p["started_at"], p["finished_at"], n))
    return sorted(out)


def test_deploy_head_succeeds_on_all_three(ws, daemon):
    f = fleet(ws, daemon)
    head = f.git("rev-parse", "HEAD")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert f"succeeded: 3 succeeded, 0 failed" in r.stdout
    d = f.deployment(did)
    assert d["status"] == "Succeeded"
    assert d["commit"] == head and d["ref"] == "HEAD"
    assert d["created_by"]
    assert d["sequence"] == 1
    assert sorted(i["instance"] for i in d["instances"]) == \
        ["i-1", "i-2", "i-3"]
    for n in f.daemons:
        assert f.progress(did, n)["status"] == "Succeeded"
        assert f.current_version(n) == "1.0.0"
        assert f.state(n)["current"]["deployment_id"] == did
    t = f.target()
    assert t["deployment_id"] == did and t["sequence"] == 1
    assert t["schema"] == "hookd.deployment/1"
    assert t["revision"]["commit"] == head
    # status, history and instances show it
    r = f.deployer("status", "--json")
    assert r.returncode == 0, r.stderr
    st = json.loads(r.stdout)
    assert st["deployment_id"] == did and st["status"] == "Succeeded"
    r = f.deployer("history", GROUP)
    assert r.returncode == 0 and did in r.stdout and "Succeeded" in r.stdout
    r = f.deployer("instances", GROUP)
    assert r.returncode == 0, r.stderr
    for n in f.daemons:
        assert re.search(rf"^{n}\s+{did}\s+1\s+{head[:12]}", r.stdout,
                         re.M), r.stdout


def test_one_at_a_time_never_overlaps(ws, daemon):
    f = fleet(ws, daemon, config="OneAtATime")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert "OneAtATime, 3 batches" in r.stdout
    d = f.deployment(did)
    assert [i["batch"] for i in d["instances"]] == [0, 1, 2]
    runs = intervals(f, did, f.daemons)
    for (s1, e1, n1), (s2, e2, n2) in zip(runs, runs[1:]):
        assert e1 <= s2, f"{n1} ({s1}..{e1}) overlaps {n2} ({s2}..{e2})"
    sent = [b["sent_at"] for b in d["batches"]]
    assert sent == sorted(sent)


def test_failed_validate_stops_and_rolls_back_first_batch(ws, daemon):
    f = fleet(ws, daemon, config="OneAtATime")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    f.commit("broken validate", {
        "VERSION": "2.0.0\n",
        "scripts/check_heartbeat.sh": FAILING_VALIDATE})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    bad = dep_id(r.stdout)
    d = f.deployment(bad)
    assert d["status"] == "Failed"
    first = [i for i in d["instances"] if i["batch"] == 0][0]["instance"]
    others = [n for n in f.daemons if n != first]
    # the summary names the event, script, exit status and output
    assert re.search(rf"{first}: failed in ValidateService: "
                     r"scripts/check_heartbeat.sh: .*exited 3", r.stdout), \
        r.stdout
    assert "port 8080 refused" in r.stdout
    assert f"deployment {bad} failed; rolled back by" in r.stderr
    # no other batch was sent: the others never heard of it
    assert [b["sent_at"] is not None for b in d["batches"]] == \
        [True, False, False]
    for n in others:
        assert f.progress(bad, n) is None
        assert f.state(n)["current"]["deployment_id"] == good
        assert f.current_version(n) == "1.0.0"
    # the rollback: a new deployment of the good revision to that instance
    rb = d["rolled_back_by"]
    assert rb
    rd = f.deployment(rb)
    assert rd["rollback_of"] == bad and rd["status"] == "Succeeded"
    assert [i["instance"] for i in rd["instances"]] == [first]
    assert rd["revision"]["sha256"] == f.deployment(good)["revision"][
        "sha256"]
    assert f.state(first)["current"]["deployment_id"] == rb
    assert f.current_version(first) == "1.0.0"
    assert f.target()["deployment_id"] == rb


def test_dirty_tree_is_refused(ws, daemon):
    f = fleet(ws, daemon, n=1)
    (f.repo / "VERSION").write_text("dirty\n")
    (f.repo / "notes.txt").write_text("x\n")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "not committed" in r.stderr
    assert "M VERSION" in r.stderr and "?? notes.txt" in r.stderr
    assert "--allow-dirty" in r.stderr
    assert f.revisions() == [] and f.target() is None
    # --allow-dirty deploys the commit as committed, and says what is not
    r = f.deployer("--allow-dirty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not deployed: 2 paths" in r.stderr
    assert f.current_version("i-1") == "1.0.0"


def test_invalid_appspec_is_refused_before_upload(ws, daemon):
    f = fleet(ws, daemon, n=1)
    f.commit("bad appspec", {"appspec.yml": (
        "version: 0.0\nos: linux\nhooks:\n  ValidateService:\n"
        "    - location: scripts/missing.sh\n")})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "scripts/missing.sh" in r.stderr
    assert "nothing was uploaded" in r.stderr
    assert r.stdout == ""
    assert f.revisions() == [] and f.target() is None


def test_redeploy_of_same_commit_uploads_nothing(ws, daemon):
    f = fleet(ws, daemon, n=1)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "uploaded HEAD" in r.stdout
    revs = f.revisions()
    assert len(revs) == 1
    p = f.store_dir / "revisions" / APP / revs[0]
    before = p.stat().st_mtime_ns, p.stat().st_ino
    r = f.deployer(GROUP, "master")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already in the store" in r.stdout and "uploaded" not in \
        r.stdout.replace("nothing uploaded", "")
    assert f.revisions() == revs
    assert (p.stat().st_mtime_ns, p.stat().st_ino) == before
    assert f.target()["sequence"] == 2


def test_two_concurrent_deployers_one_wins(ws, daemon):
    f = fleet(ws, daemon, n=1)
    procs = [f.popen_deployer("--no-wait", GROUP, "HEAD") for _ in range(2)]
    res = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(c for c, _, _ in res)
    assert codes == [0, 75], res
    win = [r for r in res if r[0] == 0][0]
    lose = [r for r in res if r[0] == 75][0]
    winner = dep_id(win[1])
    assert re.search(rf"deployment {winner} is in progress", lose[2]), lose
    assert len(lose[2].strip().splitlines()) == 1
    assert f.target()["deployment_id"] == winner
    # the running one can be followed to its end
    r = f.deployer("status", winner, "--watch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.deployment(winner)["status"] == "Succeeded"


def test_instance_that_is_down_times_out_and_is_reported(ws, daemon):
    f = fleet(ws, daemon, n=2, timeout=4)
    f.daemons["i-2"].stop()
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert "i-2: timed out: no answer within 4 s" in r.stdout
    d = f.deployment(did)
    st = {i["instance"]: i["status"] for i in d["instances"]}
    assert st == {"i-1": "Succeeded", "i-2": "TimedOut"}
    assert d["status"] == "Failed"
    # first deployment: nothing earlier to roll back to
    assert "no rollback" in r.stdout


def test_usage_errors_exit_64_with_one_line_and_hint(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    for args in (["--grup", GROUP, "HEAD"], [GROUP], ["nosuchgroup", "HEAD"],
                 ["status", "a", "b"], ["history", "--bogus"],
                 ["rollback"], ["setup"]):
        r = f.deployer(*args)
        assert r.returncode == 64, (args, r.stdout, r.stderr)
        assert r.stdout == ""
        lines = r.stderr.splitlines()
        assert len(lines) == 3, (args, r.stderr)
        assert lines[0].startswith("deployer: ")
        assert lines[1].startswith("usage: deployer")
        assert lines[2] == "try 'deployer --help' for more information"


def test_unknown_ref_and_no_deployer_yml(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    r = f.deployer(GROUP, "no-such-branch")
    assert r.returncode == 66 and "no-such-branch" in r.stderr
    r = f.deployer(GROUP, "HEAD", cwd=ws.base)
    assert r.returncode == 66 and "deployer.yml" in r.stderr


def test_help_and_version_on_stdout(ws, daemon):
    for args in (["--help"], ["status", "--help"], ["history", "--help"],
                 ["instances", "--help"], ["rollback", "--help"],
                 ["setup", "--help"]):
        r = run([binary("deployer")] + args)
        assert r.returncode == 0 and r.stdout.startswith("usage: deployer")
        assert r.stderr == ""
    r = run([binary("deployer"), "--version"])
    assert r.returncode == 0 and r.stdout.startswith("deployer ")
