# SPDX-License-Identifier: ISC
"""`deployer` against three real `hookd run` daemons on this machine
(distinct instance ids and roots) sharing a file store and a spool
queue, with a real git repository holding appspec-examples/worker.
"""
import json
import re

import pytest

from conftest import binary, run
from daemon_util import daemon  # noqa: F401
from deployer_util import APP, GROUP, Fleet, deployer_on_pty
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import wait_for, ws  # noqa: F401


FAILING_VALIDATE = ("#!/bin/bash\necho 'validate: health check failed' "
                    "\necho 'port 8080 refused' >&2\nexit 3\n", 0o755)


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
    # status --json and history --json count batches from 1, as the table
    r = f.deployer("status", "--json", d["deployment_id"])
    assert [i["batch"] for i in json.loads(r.stdout)["instances"]] == \
        [1, 2, 3]
    r = f.deployer("history", "--json", GROUP)
    assert [i["batch"] for i in json.loads(r.stdout)[0]["instances"]] == \
        [1, 2, 3]
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
    out = r.stdout
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
    # the same words and cells everywhere (operator journey #32): the
    # summary says pending as the table does, an instance never sent
    # has no elapsed time, a line while it runs names its event, and a
    # rollback shows no ref (the one its commit was once deployed by)
    assert not re.search(r": InProgress \(\d+s\)$", out, re.M), out
    r = f.deployer("status", bad)
    assert "0 succeeded, 1 failed, 0 in progress, 2 pending" in r.stdout
    for n in others:
        assert re.search(rf"^{n}\s+\d\s+Pending\s+-\s+-$", r.stdout,
                         re.M), r.stdout
    r = f.deployer("status", rb)
    assert re.search(r"^  revision [0-9a-f]{40} \(-\)", r.stdout, re.M), \
        r.stdout
    r = f.deployer("history", GROUP)
    row = [ln for ln in r.stdout.splitlines() if rb in ln][0]
    assert row.endswith(f" rollback of {bad}"), row
    assert "HEAD" not in row, row
    # plain status exits as the deployment ended (deployer(1))
    for args, want in (((bad,), 1), ((bad, "--json"), 1), ((rb,), 0),
                       ((good, "--json"), 0)):
        r = f.deployer("status", *args)
        assert r.returncode == want, (args, r.stdout, r.stderr)


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
    # another commit than the one checked out: the changes are only named
    first = f.git("rev-parse", "HEAD")
    f.git("stash", "-u")
    f.commit("v2", {"VERSION": "2.0.0\n"})
    (f.repo / "notes.txt").write_text("x\n")
    r = f.deployer(GROUP, first)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "not deployed: 1 path" in r.stderr


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


def race(f):
    """Two deployers at once; (winner id, loser's stderr)."""
    procs = [f.popen_deployer("--no-wait", GROUP, "HEAD") for _ in range(2)]
    res = [(p.wait(120), p.stdout.read(), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    codes = sorted(c for c, _, _ in res)
    assert codes == [0, 75], res
    win = [r for r in res if r[0] == 0][0]
    lose = [r for r in res if r[0] == 75][0]
    return dep_id(win[1]), lose[2]


def test_two_concurrent_deployers_one_wins(ws, daemon):
    f = fleet(ws, daemon, n=1)
    # the first deployment of the group: both write "only if absent"
    winner, err = race(f)
    assert re.search(rf"deployment {winner} is in progress", err), err
    assert len(err.strip().splitlines()) == 1
    assert f.target()["deployment_id"] == winner
    # the running one can be followed to its end
    r = f.deployer("status", winner, "--watch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.deployment(winner)["status"] == "Succeeded"
    # later ones: both write "only if target.json is still the one read"
    second, err = race(f)
    assert second != winner
    assert re.search(rf"deployment {second} is in progress", err), err
    t = f.target()
    assert t["deployment_id"] == second and t["sequence"] == 2
    r = f.deployer("status", second, "--watch")
    assert r.returncode == 0, r.stdout + r.stderr


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


def test_no_wait_hands_the_rollout_to_a_detached_driver(ws, daemon):
    """--no-wait returns at once, and with nothing else run the rollout
    still finishes: a detached driver sends every batch.  `status
    --watch` only watches (it sends nothing) and exits 0."""
    f = fleet(ws, daemon, config="OneAtATime")
    r = f.deployer("--no-wait", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert f"deployment {did} is rolled out by a detached driver" \
        in r.stdout
    assert f"deployer status {did} --watch" in r.stdout
    # another deploy meanwhile is refused, naming resume and stop
    r2 = f.deployer(GROUP, "HEAD")
    assert r2.returncode == 75 and f"{did} is in progress" in r2.stderr
    assert f"deployer stop {did}" in r2.stderr
    assert f"deployer resume {did}" in r2.stderr
    # plain status while it runs: 75, try again (0 if it just ended)
    r = f.deployer("status", did)
    running = r.stdout.splitlines()[0].endswith(": InProgress")
    assert r.returncode == (75 if running else 0), r.stdout + r.stderr
    r = f.deployer("status", did, "--watch")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"watching deployment {did}" in r.stdout
    d = f.deployment(did)
    assert d["status"] == "Succeeded"
    assert all(b["sent_at"] for b in d["batches"])
    for n in f.daemons:
        assert f.progress(did, n)["status"] == "Succeeded"
        # each got the message once: the watcher sent nothing
        assert "already finished here" not in f.daemons[n].stderr()
    r = f.deployer("status", GROUP)
    assert r.returncode == 0
    assert f"deployment {did} (sequence 1) of worker to production: " \
        "Succeeded" in r.stdout
    for n in f.daemons:
        assert re.search(rf"^{n}\s+\d\s+Succeeded", r.stdout, re.M)


def test_no_wait_alone_finishes_the_rollout(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    r = f.deployer("--no-wait", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    wait_for(lambda: (f.deployment(did) or {}).get("status") ==
             "Succeeded", 60, interval=0.1, what="the detached rollout")
    assert f.read(f"deployments/{APP}/{GROUP}/{did}/lease.json") is None


def test_rollback_command_redeploys_previous_successful_revision(ws, daemon):
    f = fleet(ws, daemon, n=2, config="OneAtATime")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    v1 = dep_id(r.stdout)
    f.commit("v2", {"VERSION": "2.0.0\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    v2 = dep_id(r.stdout)
    assert all(f.current_version(n) == "2.0.0" for n in f.daemons)
    r = f.deployer("rollback", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    rb = dep_id(r.stdout.split("\n", 1)[1])
    d = f.deployment(rb)
    assert d["rollback_of"] == v2 and d["status"] == "Succeeded"
    assert d["revision"]["sha256"] == f.deployment(v1)["revision"]["sha256"]
    assert d["deployment_config"] == "OneAtATime"
    assert all(f.current_version(n) == "1.0.0" for n in f.daemons)
    r = f.deployer("history", GROUP)
    lines = [ln for ln in r.stdout.splitlines() if "d-" in ln]
    assert [ln.split()[1] for ln in lines] == [rb, v2, v1]
    assert f"rollback of {v2}" in lines[0]


def test_rollback_with_no_earlier_revision_is_refused(ws, daemon):
    f = fleet(ws, daemon, n=1)
    r = f.deployer("rollback", GROUP)
    assert r.returncode == 66 and "no deployment to roll back" in r.stderr
    assert f.deployer(GROUP, "HEAD").returncode == 0
    r = f.deployer("rollback", GROUP)
    assert r.returncode == 66
    assert "no earlier successful revision" in r.stderr


def test_setup_creates_store_marker_and_is_idempotent(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    r = f.deployer("setup", GROUP)
    assert r.returncode == 0, r.stderr
    assert "created group marker" in r.stdout
    g = f.read(f"groups/{APP}/{GROUP}/group.json")
    assert g["schema"] == "hookd.group/1" and g["group"] == GROUP
    assert g["queue_pattern"] == "PREFIX-GROUP-INSTANCE"
    assert f.queue_dir.is_dir()
    r = f.deployer("setup", GROUP)
    assert r.returncode == 0 and "already exists" in r.stdout


def test_deploy_to_empty_group_records_target_for_new_instances(ws, daemon):
    """A group scaled to zero still gets its target: the deployment is
    recorded with no instances and succeeds, and an instance that starts
    afterwards catches up to it at boot (and takes the next one by its
    queue)."""
    f = Fleet(ws, daemon, n=0)
    head = f.git("rev-parse", "HEAD")
    r = f.deployer("--allow-empty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    did = dep_id(r.stdout)
    assert f"{did} (sequence 1) of {head} to {GROUP}: 0 instances" \
        in r.stdout
    assert f"no live instance in group '{GROUP}'" in r.stdout
    assert "target recorded (--allow-empty), new instances will deploy " \
        "it" in r.stdout
    assert "succeeded: 0 succeeded, 0 failed" in r.stdout
    t = f.target()
    assert t["deployment_id"] == did and t["sequence"] == 1
    assert t["revision"]["commit"] == head
    d = f.deployment(did)
    assert d["status"] == "Succeeded" and d["instances"] == []
    assert d["finished_at"]
    r = f.deployer("status", "--json", GROUP)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["status"] == "Succeeded"
    # A deployment to nobody does not hold the group: the next one runs
    # (it gets sequence 2) and is recorded the same way.
    v2 = f.commit("worker v2", {"VERSION": "2.0.0\n"})
    r = f.deployer("--allow-empty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did2 = dep_id(r.stdout)
    assert f"{did2} (sequence 2)" in r.stdout
    assert f.target()["revision"]["commit"] == v2
    # A new instance reads target.json at boot and ends on v2; v1 never
    # runs there.
    f.add_daemon("i-1")
    wait_for(lambda: (f.state("i-1") or {}).get("current", {}).get(
        "deployment_id") == did2, 60, interval=0.1,
        what="the new instance on the group's target")
    assert f.current_version("i-1") == "2.0.0"
    assert f.progress(did2, "i-1")["status"] == "Succeeded"
    assert f.progress(did, "i-1") is None
    r = f.deployer("instances", GROUP)
    assert re.search(rf"^i-1\s+{did2}\s+2\s+{v2[:12]}", r.stdout, re.M), \
        r.stdout
    # ... and the next deployment reaches it by its queue.
    v3 = f.commit("worker v3", {"VERSION": "3.0.0\n"})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 instance," in r.stdout
    assert "succeeded: 1 succeeded, 0 failed" in r.stdout
    assert f.current_version("i-1") == "3.0.0"
    assert f.target()["revision"]["commit"] == v3


def test_instances_marks_stale_entries(ws, daemon):
    f = fleet(ws, daemon, n=1)
    old = {"schema": "hookd.instance/1", "instance": "i-old",
           "application": APP, "group": GROUP,
           "queue": "hookd-production-i-old", "queue_backend": "spool",
           "last_seen": "2020-01-01T00:00:00.000Z", "current": None,
           "in_progress": None}
    p = f.store_dir / "groups" / APP / GROUP / "instances" / "i-old.json"
    p.write_text(json.dumps(old))
    r = f.deployer("instances", GROUP)
    assert r.returncode == 0, r.stderr
    assert "i-1" in r.stdout and "i-old" not in r.stdout
    r = f.deployer("instances", "--all", "--json", GROUP)
    rows = {x["instance"]: x for x in json.loads(r.stdout)}
    assert rows["i-old"]["stale"] is True
    assert rows["i-old"]["has_queue"] is False
    assert rows["i-1"]["stale"] is False and rows["i-1"]["has_queue"]
    # a stale entry without a queue is not deployed to
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 instance," in r.stdout


def test_live_table_on_a_terminal(ws, daemon):
    f = fleet(ws, daemon, n=2)
    code, text = deployer_on_pty(f.repo, [GROUP, "HEAD"])
    assert code == 0, text
    assert "INSTANCE" in text and "ELAPSED" in text
    assert "\x1b[" in text                 # redrawn in place
    assert "succeeded 2, failed 0, in progress 0, pending 0" in text


def test_every_help_option_is_in_the_man_page():
    from conftest import TOP
    man = (TOP / "docs" / "man" / "deployer.1").read_text()
    for args in (["--help"], ["status", "--help"], ["history", "--help"],
                 ["instances", "--help"], ["rollback", "--help"],
                 ["setup", "--help"]):
        r = run([binary("deployer")] + args)
        for opt in set(re.findall(r"--([a-z][a-z-]+)", r.stdout)):
            assert f"Fl Fl {opt}" in man, (args, opt)


def test_fetch_resolves_the_remote_ref_after_fetching(ws, daemon):
    import subprocess
    from deployer_util import GIT_ENV
    import os
    f = fleet(ws, daemon, n=1)
    origin = ws.base / "origin.git"
    env = dict(os.environ, **GIT_ENV)
    subprocess.run(["git", "clone", "-q", "--bare", str(f.repo),
                    str(origin)], check=True, env=env)
    f.git("remote", "add", "origin", str(origin))
    f.git("fetch", "-q", "origin")
    v1 = f.git("rev-parse", "origin/master")
    # someone else pushes v2
    other = ws.base / "other"
    subprocess.run(["git", "clone", "-q", str(origin), str(other)],
                   check=True, env=env)
    (other / "VERSION").write_text("2.0.0\n")
    subprocess.run(["git", "-C", str(other), "commit", "-q", "-am", "v2"],
                   check=True, env=env)
    subprocess.run(["git", "-C", str(other), "push", "-q", "origin",
                    "master"], check=True, env=env)
    v2 = subprocess.run(["git", "-C", str(other), "rev-parse", "HEAD"],
                        capture_output=True, text=True,
                        env=env).stdout.strip()
    r = f.deployer(GROUP, "origin/master")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.deployment(dep_id(r.stdout))["commit"] == v1
    r = f.deployer("--fetch", GROUP, "origin/master")
    assert r.returncode == 0, r.stdout + r.stderr
    d = f.deployment(dep_id(r.stdout))
    assert d["commit"] == v2 and d["ref"] == "origin/master"
    assert f.current_version("i-1") == "2.0.0"


def test_minimum_healthy_batches(ws, daemon):
    f = fleet(ws, daemon, config='{minimum_healthy: 1}')
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "minimum_healthy 1, 2 batches" in r.stdout
    d = f.deployment(dep_id(r.stdout))
    assert [i["batch"] for i in d["instances"]] == [0, 0, 1]


def test_signed_messages_are_accepted_by_daemons_with_the_key(ws, daemon):
    f = fleet(ws, daemon, n=2, key=b"s3cret-key\n")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    sig = f.target()["signature"]
    assert re.fullmatch(r"[0-9a-f]{64}", sig)
    assert f.deployment(did)["message"]["signature"] == sig
