# SPDX-License-Identifier: ISC
"""Scale-out catch-up: `hookd run` on an instance that an Auto
Scaling launch lifecycle hook holds in Pending:Wait.  SQS and S3 are
moto_server behind the recording proxy; IMDS and the lifecycle-action
calls are our imds_asg peer, which holds the instance in Pending:Wait,
applies DefaultResult when the heartbeat timeout passes, and verifies
every signature.

Each test checks what an operator would: the instance's lifecycle state
and result in the peer, how many heartbeats arrived, what the daemon
downloaded, and state.json's history (each deployment at most once).
"""
import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import binary, run
from daemon_util import (APP, GROUP, AwsWorld, daemon,  # noqa: F401
                         message, sha256_file, write_config)
from lifecycle_util import (app_bundle, blocked_in, events, mkfifo,
                            wait_for, ws)  # noqa: F401

pytestmark = pytest.mark.usefixtures("moto")

INSTANCE = "i-0scaleout0000001"
ASG = "web-asg"
HOOK = "hookd-launch"


class ScaleOut(AwsWorld):
    """One test's bucket, queue prefix, Auto Scaling group and instance."""

    def __init__(self, moto, imds, proxy, ws):
        super().__init__(moto, proxy, ws, "so", instance=INSTANCE)
        self.imds = imds
        self.asg_url = imds.url

    def hold(self, heartbeat_timeout=60, tag=True, state="Pending:Wait",
             default_result="ABANDON"):
        """The group with its launch hook; the instance held by it."""
        tags = {"Name": "web-1"}
        if tag:
            tags["aws:autoscaling:groupName"] = ASG
        self.imds.configure(
            instance_id=INSTANCE, tags=tags,
            static_keys={self.moto.access_key: self.moto.secret},
            groups={ASG: {"hooks": {HOOK: {
                "HeartbeatTimeout": str(heartbeat_timeout),
                "DefaultResult": default_result}}}},
            instances={INSTANCE: {"AutoScalingGroupName": ASG,
                                  "LifecycleHookName": HOOK,
                                  "LifecycleState": state}})

    def instance(self):
        return self.imds.state()["instances"][INSTANCE]

    def asg_calls(self, action):
        return self.imds.log(kind="autoscaling", action=action)

    def upload(self, bundle):
        sha = sha256_file(bundle)
        with open(bundle, "rb") as f:
            self.s3.put_object(Bucket=self.bucket, Body=f.read(),
                               Key=f"deploys/revisions/{APP}/{sha}.tar.gz")
        return sha

    def target_key(self):
        return f"deploys/groups/{APP}/{GROUP}/target.json"

    def create_deployment(self, sha, seq):
        """What the deployer does, in its order: write target.json, then
        send the message to every queue of the group that exists."""
        m = message(self.store, sha, seq)
        self.s3.put_object(Bucket=self.bucket, Key=self.target_key(),
                           Body=json.dumps(m).encode())
        urls = self.sqs.list_queues(
            QueueNamePrefix=f"{self.prefix}-{GROUP}-").get("QueueUrls", [])
        sent = 0
        for u in urls:
            if not u.endswith("-dlq"):
                self.sqs.send_message(QueueUrl=u, MessageBody=json.dumps(m))
                sent += 1
        m["_sent_to_queues"] = sent
        return m

    def queue_exists(self):
        urls = self.sqs.list_queues(QueueNamePrefix=self.qname).get(
            "QueueUrls", [])
        return any(u.endswith("/" + self.qname) for u in urls)

    def registry(self):
        try:
            o = self.s3.get_object(
                Bucket=self.bucket,
                Key=f"deploys/groups/{APP}/{GROUP}/instances/"
                f"{INSTANCE}.json")
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(o["Body"].read())

    def progress(self, dep_id):
        key = (f"deploys/deployments/{APP}/{GROUP}/{dep_id}/instances/"
               f"{INSTANCE}.json")
        try:
            o = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(o["Body"].read())

    def downloads(self, sha):
        return [e for e in self.proxy.log() if e["method"] == "GET" and
                f"revisions/{APP}/{sha}" in e["path"]]

    def config(self, **kw):
        cfg = dict(application=APP, deployment_group=GROUP,
                   store=self.store, queue="sqs", queue_prefix=self.prefix,
                   root=str(self.ws.root), region=self.moto.region,
                   log_level="debug", visibility_timeout=30, poll_wait=2,
                   lifecycle_hook=HOOK)
        cfg.update(kw)
        return cfg

    def env(self, asg_url=None):
        e = self.moto.env(self.proxy.url)
        e.update(self.imds.env())
        e["AWS_ENDPOINT_URL_AUTO_SCALING"] = asg_url or self.asg_url
        e["AWS_EC2_METADATA_DISABLED"] = "false"
        return e


@pytest.fixture
def so(moto, imds, proxy, ws):
    return ScaleOut(moto, imds, proxy, ws)


def history(ws):
    st = ws.state(APP, GROUP)
    return [h["deployment_id"] for h in st.get("history", [])]


def current_id(ws):
    return ws.state(APP, GROUP)["current"]["deployment_id"]


def release(ws):
    """Let the hook blocked on the FIFO go on.  The hook's `: < fifo`
    returns as soon as a writer opened it, so open and close it without
    writing (a write could meet the pipe already closed)."""
    os.close(os.open(ws.out / "fifo", os.O_WRONLY))


def deployer_instances(so, ws, *args):
    """`deployer instances [args] GROUP` from a repository whose
    deployer.yml points at this test's store and queues."""
    repo = ws.base / "repo"
    if not (repo / "deployer.yml").exists():
        repo.mkdir(exist_ok=True)
        (repo / "deployer.yml").write_text(
            f"application: {APP}\nstore: {so.store}\nqueue: sqs\n"
            f"queue_prefix: {so.prefix}\nregion: {so.moto.region}\n"
            f"groups:\n  {GROUP}:\n    deployment_config: AllAtOnce\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(so.moto.env())
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    r = run([binary("deployer"), "instances"] + list(args) + [GROUP],
            env=env, cwd=str(repo))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def instance_row(so, ws, *args):
    """This instance's row of `deployer instances --json`, or None."""
    rows = json.loads(deployer_instances(so, ws, "--json", *args))
    return next((x for x in rows if x["instance"] == INSTANCE), None)


def in_state(so, ws, state, *args):
    row = instance_row(so, ws, *args)
    return row if row is not None and row["state"] == state else None


def test_pending_instance_catches_up_and_continues(so, daemon, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    assert t["_sent_to_queues"] == 0
    so.hold()
    h = daemon(ws, so.config(), env=so.env())     # returns after READY=1
    inst = so.instance()
    assert inst["LifecycleState"] == "InService"
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert current_id(ws) == t["deployment_id"]
    assert so.progress(t["deployment_id"])["status"] == "Succeeded"
    # Identity and group from instance metadata; the tag named the group.
    err = h.stderr()
    assert f"instance '{INSTANCE}' (from instance metadata)" in err
    assert "instance tag aws:autoscaling:groupName" in err
    assert "completed with CONTINUE (caught up)" in err
    # CONTINUE only after the outcome was in the store.
    done = so.asg_calls("CompleteLifecycleAction")
    assert len(done) == 1
    assert done[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert done[0]["params"]["InstanceId"] == INSTANCE
    puts = [e["t"] for e in so.proxy.log() if e["method"] == "PUT" and
            t["deployment_id"] in e["path"]]
    assert puts and max(puts) < done[0]["t"]
    assert h.stop() == 0


def test_heartbeats_arrive_during_a_slow_catch_up(so, daemon, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    # A 5 s heartbeat timeout (the peer applies ABANDON when it passes)
    # and a hook that takes longer than that; no group tag, so the group
    # comes from DescribeAutoScalingInstances.
    t_hold = time.monotonic()
    so.hold(heartbeat_timeout=5, tag=False)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, so.config(), env=so.env(), start=False)
    h.start(wait_ready=False)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    wait_for(lambda: so.instance()["heartbeats"] >= 5, 30, interval=0.2,
             what="five heartbeats")
    assert time.monotonic() - t_hold > 5  # held longer than the timeout
    assert so.instance()["LifecycleState"] == "Pending:Wait"
    release(ws)
    h.wait_notify("READY=1")
    inst = so.instance()
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert current_id(ws) == t["deployment_id"]
    err = h.stderr()
    assert "from DescribeAutoScalingInstances" in err
    assert "heartbeat every 1.7 s (heartbeat timeout 5 s)" in err
    hb = so.asg_calls("RecordLifecycleActionHeartbeat")
    assert all(e["status"] == 200 for e in hb)
    assert h.stop() == 0


def test_deployer_instances_shows_an_instance_catching_up(so, daemon, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    so.hold(heartbeat_timeout=5)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, so.config(), env=so.env(), start=False)
    h.start(wait_ready=False)
    wait_for(lambda: blocked_in(ws), 30, what="the catch-up to block")
    row = wait_for(lambda: in_state(so, ws, "catching-up"), 30,
                   interval=0.2, what="deployer instances: catching-up")
    cu = row["catching_up"]
    assert cu["lifecycle_hook"] == HOOK
    assert cu["auto_scaling_group"] == ASG
    assert cu["heartbeat_timeout"] == 5
    # The entry is rewritten with the lifecycle heartbeats (every 1.7 s).
    seen = so.registry()["last_seen"]
    wait_for(lambda: so.registry()["last_seen"] > seen, 30, interval=0.2,
             what="the registry entry refreshed during the catch-up")
    assert cu["since"] and row["stale"] is False
    assert row["in_progress"] == t["deployment_id"]
    assert row["current_deployment"] is None
    out = deployer_instances(so, ws)
    assert re.search(rf"^{INSTANCE}\s+-\s+0\s+-\s+\S+\s+catching-up\s+"
                     rf"{so.qname}$", out, re.M), out
    assert (f"{INSTANCE}: catching up since {cu['since']} for lifecycle "
            f"hook '{HOOK}' of Auto Scaling group '{ASG}', running "
            f"{t['deployment_id']}\n") in out
    assert so.instance()["LifecycleState"] == "Pending:Wait"
    release(ws)
    h.wait_notify("READY=1")
    assert so.instance()["result"] == "CONTINUE"
    row = wait_for(lambda: in_state(so, ws, "idle"), 30, interval=0.2,
                   what="deployer instances: idle after CONTINUE")
    assert row["catching_up"] is None and row["in_progress"] is None
    assert row["current_deployment"] == t["deployment_id"]
    assert so.registry()["catching_up"] is None
    out = deployer_instances(so, ws)
    assert "catching" not in out, out
    assert re.search(rf"^{INSTANCE}\s+{t['deployment_id']}\s+1\s+.*\s"
                     rf"idle\s+{so.qname}$", out, re.M), out
    assert h.stop() == 0


def test_catching_up_mark_left_by_a_crash_is_not_trusted(so, daemon, ws):
    """hookd killed during the catch-up leaves "catching_up" in its
    registry entry: the deployer believes it only while the entry is
    fresh, and the next start of hookd clears it."""
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    so.hold()
    mkfifo(ws)
    block = ws.out / "block.ApplicationStart.v1"
    block.write_text("")
    h = daemon(ws, so.config(), env=so.env(), start=False)
    h.start(wait_ready=False)
    wait_for(lambda: blocked_in(ws), 30, what="the catch-up to block")
    wait_for(lambda: (so.registry() or {}).get("catching_up"), 30,
             interval=0.2, what="the registry entry marked")
    h.kill9()       # the hook dies with it (PR_SET_PDEATHSIG)
    reg = so.registry()
    assert reg["catching_up"]["lifecycle_hook"] == HOOK
    assert reg["catching_up"]["heartbeat_timeout"] == 60
    assert in_state(so, ws, "catching-up") is not None    # still fresh

    def age(seconds):
        reg["last_seen"] = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - seconds))
        so.s3.put_object(Bucket=so.bucket, Body=json.dumps(reg).encode(),
                         Key=f"deploys/groups/{APP}/{GROUP}/instances/"
                         f"{INSTANCE}.json")
    # Not rewritten for longer than the heartbeat timeout: Auto Scaling
    # has applied the default result, so the mark is not believed.  The
    # entry still counts as an instance of the group ("stale": false).
    age(90)
    row = in_state(so, ws, "stale")
    assert row is not None and row["catching_up"] is None
    assert row["stale"] is False
    out = deployer_instances(so, ws)
    assert "catching" not in out and re.search(
        rf"^{INSTANCE}\s.*\sstale\s+{so.qname}$", out, re.M), out
    # Not seen for 20 minutes: stale like any entry.
    age(1200)
    row = in_state(so, ws, "stale", "--all")
    assert row is not None and row["catching_up"] is None
    assert row["stale"] is True
    # The next start registers without the mark, catches up again (the
    # action is still pending) and completes it.
    block.unlink()
    h.start()
    assert so.instance()["result"] == "CONTINUE"
    assert current_id(ws) == t["deployment_id"]
    assert so.registry()["catching_up"] is None
    row = in_state(so, ws, "idle")
    assert row is not None and row["catching_up"] is None
    assert h.stop() == 0


def test_scale_out_from_zero_catches_up_to_the_deployers_target(
        so, daemon, ws, moto):
    """A group scaled to zero: the real deployer records the target with
    no instances (exit 0), and the first instance launched afterwards
    catches up to it under the launch hook and is completed CONTINUE."""
    from deployer_util import APP as WAPP, AwsFleet
    f = AwsFleet(moto, ws, daemon, n=0)
    head = f.git("rev-parse", "HEAD")
    r = f.deployer("--allow-empty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 instances" in r.stdout
    assert "target recorded (--allow-empty), new instances will deploy " \
        "it" in r.stdout
    did = f.target()["deployment_id"]
    assert f.deployment(did)["status"] == "Succeeded"
    so.hold()
    h = daemon(ws, so.config(application=WAPP, store=f.store,
                             queue_prefix=f.prefix), env=so.env())
    inst = so.instance()
    assert inst["result"] == "CONTINUE"
    assert inst["LifecycleState"] == "InService"
    st = ws.state(WAPP, GROUP)
    assert st["current"]["deployment_id"] == did
    assert (ws.root / WAPP / GROUP / "current" / "VERSION").read_text() == \
        "1.0.0\n"
    p = f.progress(did, INSTANCE)
    assert p["status"] == "Succeeded" and p["commit"] == head
    assert "completed with CONTINUE (caught up)" in h.stderr()
    assert h.stop() == 0


def test_failing_catch_up_abandons(so, daemon, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz",
                               fail=("ApplicationStart",)))
    t = so.create_deployment(sha, 1)
    so.hold()
    h = daemon(ws, so.config(), env=so.env())
    inst = so.instance()
    assert inst["result"] == "ABANDON"
    assert inst["LifecycleState"] == "Terminating"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    p = so.progress(t["deployment_id"])
    assert p["status"] == "Failed"
    err = h.stderr()
    assert "completed with ABANDON (catch-up failed)" in err
    assert f"deployment {t['deployment_id']} failed: ApplicationStart" in err
    assert h.stop() == 0


def test_restart_after_failed_catch_up_still_abandons(so, daemon, ws):
    # hookd dies after the failed catch-up, before ABANDON is sent: on
    # restart the target is "already finished here", yet the host is
    # behind it, so the answer is still ABANDON, not CONTINUE.
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz",
                               fail=("ApplicationStart",)))
    so.create_deployment(sha, 1)
    so.hold(state="InService")            # first run: not held
    h = daemon(ws, so.config(), env=so.env())
    assert h.stop() == 0
    so.hold()
    h2 = daemon(ws, so.config(), env=so.env())
    assert so.instance()["result"] == "ABANDON"
    assert "already finished here (Failed)" in h2.stderr()
    assert h2.stop() == 0


def test_current_instance_completes_without_downloading(so, daemon, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    # The image build: `hookd bake` installs the target ...
    cfgpath = ws.base / "bake.yml"
    write_config(cfgpath, **so.config())
    env = dict(os.environ, **so.moto.env(so.proxy.url))
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1")
    r = run([binary("hookd"), "bake", "--group", GROUP, "-c", str(cfgpath)],
            env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"baked deployment {t['deployment_id']} (sequence 1)" in r.stdout
    assert len(so.downloads(sha)) == 1
    assert not so.asg_calls("CompleteLifecycleAction")
    assert not so.queue_exists() and so.registry() is None
    n_events = len(events(ws))
    # ... a second bake is a no-op ...
    r = run([binary("hookd"), "bake", "-g", GROUP, "-c", str(cfgpath)],
            env=env)
    assert r.returncode == 0 and "already installed" in r.stdout
    # ... and an instance launched from the image is current at once.
    so.proxy.reset()
    so.hold()
    t0 = time.monotonic()
    h = daemon(ws, so.config(), env=so.env())
    elapsed = time.monotonic() - t0
    assert so.instance()["result"] == "CONTINUE"
    assert not so.downloads(sha)
    assert len(events(ws)) == n_events
    assert "completed with CONTINUE (already current)" in h.stderr()
    print(f"\nboot to CONTINUE on a baked image: {elapsed:.2f} s")
    assert h.stop() == 0


def test_new_group_without_target_continues(so, daemon, ws):
    so.hold()
    h = daemon(ws, so.config(), env=so.env())
    assert so.instance()["result"] == "CONTINUE"
    assert "no target.json" in h.stderr()
    # It then waits for its first deployment on its queue.
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    m = so.create_deployment(sha, 1)
    assert m["_sent_to_queues"] == 1
    wait_for(lambda: (so.progress(m["deployment_id"]) or {}).get(
        "status") == "Succeeded", 60, interval=0.2, what="the first deploy")
    assert h.stop() == 0


def test_instance_not_held_completes_nothing(so, daemon, ws):
    so.hold(state="InService")
    h = daemon(ws, so.config(), env=so.env())
    assert not so.asg_calls("CompleteLifecycleAction")
    assert not so.asg_calls("RecordLifecycleActionHeartbeat")
    assert "instance is InService in Auto Scaling group" in h.stderr()
    assert h.stop() == 0


def test_no_active_lifecycle_action_is_not_an_error(so, daemon, ws, proxy):
    # The action timed out (or was completed by someone else) while the
    # instance caught up: AWS answers ValidationError "No active
    # Lifecycle Action found"; hookd logs it and serves on.
    so.hold()
    p = proxy(so.imds.url)
    body = ('<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/'
            '2011-01-01/"><Error><Type>Sender</Type><Code>ValidationError'
            '</Code><Message>No active Lifecycle Action found with '
            f'instance ID {INSTANCE}</Message></Error><RequestId>r-1'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "CompleteLifecycleAction"},
              "fault": "status", "status": 400, "body": body}])
    h = daemon(ws, so.config(), env=so.env(asg_url=p.url))
    err = h.stderr()
    assert "No active Lifecycle Action found" in err
    assert "not an error" in err
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    m = so.create_deployment(sha, 1)
    wait_for(lambda: (so.progress(m["deployment_id"]) or {}).get(
        "status") == "Succeeded", 60, interval=0.2, what="a deployment")
    assert h.stop() == 0


def test_action_gone_during_catch_up_is_not_completed(so, daemon, ws,
                                                     proxy):
    # The first heartbeat learns that the action is gone (it timed out
    # before hookd started): hookd still catches up, but completes
    # nothing.
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    so.hold()
    p = proxy(so.imds.url)
    body = ('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError'
            '</Code><Message>No active Lifecycle Action found with '
            f'instance ID {INSTANCE}</Message></Error><RequestId>r-3'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "RecordLifecycleActionHeartbeat"},
              "fault": "status", "status": 400, "body": body}])
    h = daemon(ws, so.config(), env=so.env(asg_url=p.url))
    assert current_id(ws) == t["deployment_id"]
    assert not p.log(action="CompleteLifecycleAction")
    err = h.stderr()
    assert "the instance no longer waits for it" in err
    assert "no action left to complete" in err
    assert h.stop() == 0


def test_describe_denied_probes_with_a_heartbeat(so, daemon, ws, proxy):
    # A role without autoscaling:DescribeAutoScalingInstances: the group
    # comes from the instance tag, one heartbeat tells that the action
    # is pending, and the instance is still completed.
    so.hold()
    p = proxy(so.imds.url)
    body = ('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied'
            '</Code><Message>not authorized to perform: autoscaling:'
            'DescribeAutoScalingInstances</Message></Error><RequestId>r-2'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "DescribeAutoScalingInstances"},
              "fault": "status", "status": 403, "body": body}])
    h = daemon(ws, so.config(), env=so.env(asg_url=p.url))
    inst = so.instance()
    assert inst["result"] == "CONTINUE" and inst["heartbeats"] >= 1
    assert "completed with CONTINUE" in h.stderr()
    assert h.stop() == 0


def test_file_store_and_spool_queue_with_a_launch_hook(so, daemon, ws):
    # No AWS backend in hookd.yml: the lifecycle calls get a client of
    # their own (credentials and region from the environment).
    so.hold()
    cfg = so.config(store=f"file://{ws.base}/store",
                    queue=f"file://{ws.base}/queue")
    h = daemon(ws, cfg, env=so.env())
    assert so.instance()["result"] == "CONTINUE"
    assert "no target.json" in h.stderr()
    assert h.stop() == 0


POINTS = ["before_queue", "between_queue_and_target", "during_catch_up",
          "after_ready"]


@pytest.mark.parametrize("point", POINTS)
def test_deployment_at_each_point_of_the_boot(so, daemon, ws, point):
    """The race of DESIGN.md's boot order: a deployment created at any
    moment reaches the new instance by the queue or by target.json, and
    the sequence rule keeps it from running twice."""
    sha1 = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    sha2 = so.upload(app_bundle(ws, "v2", fmt="tgz"))
    d1 = so.create_deployment(sha1, 1)
    so.hold()
    if point == "before_queue":
        so.proxy.rules([{"match": {"action": "CreateQueue"},
                         "fault": "delay", "seconds": 2, "times": 1}])
    elif point == "between_queue_and_target":
        so.proxy.rules([{"match": {"method": "GET",
                                   "path": r"target\.json"},
                         "fault": "delay", "seconds": 2, "times": 1}])
    elif point == "during_catch_up":
        mkfifo(ws)
        (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, so.config(), env=so.env(), start=False)
    h.start(wait_ready=False)

    def seen(**m):
        return [e for e in so.proxy.log()
                if all(str(e.get(k)) == v if k != "path" else v in e[k]
                       for k, v in m.items())]

    if point == "before_queue":
        wait_for(lambda: seen(action="CreateQueue"), 30, interval=0.05,
                 what="the daemon's CreateQueue")
        assert not so.queue_exists()
        d2 = so.create_deployment(sha2, 2)
        assert d2["_sent_to_queues"] == 0     # target.json only
    elif point == "between_queue_and_target":
        wait_for(lambda: seen(method="GET", path="target.json"), 30,
                 interval=0.05, what="the daemon's target.json read")
        assert so.queue_exists()
        d2 = so.create_deployment(sha2, 2)
        assert d2["_sent_to_queues"] == 1     # both ways
    elif point == "during_catch_up":
        wait_for(lambda: blocked_in(ws), 30, what="the catch-up to block")
        d2 = so.create_deployment(sha2, 2)
        assert d2["_sent_to_queues"] == 1
        release(ws)
    h.wait_notify("READY=1", timeout=60)
    if point == "after_ready":
        d2 = so.create_deployment(sha2, 2)
        assert d2["_sent_to_queues"] == 1

    wait_for(lambda: current_id(ws) == d2["deployment_id"], 60,
             interval=0.2, what="the newest deployment live")
    # The queue drains: a second delivery is acknowledged, not run.
    wait_for(lambda: so.sqs.get_queue_attributes(
        QueueUrl=so.sqs.get_queue_url(QueueName=so.qname)["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"] == {"ApproximateNumberOfMessages": "0",
                          "ApproximateNumberOfMessagesNotVisible": "0"},
        30, interval=0.2, what="the queue empty")
    hist = history(ws)
    assert hist.count(d2["deployment_id"]) == 1, hist
    assert hist.count(d1["deployment_id"]) <= 1, hist
    installs = [v for ev, v, _ in events(ws) if ev == "BeforeInstall"]
    assert installs.count("v2") == 1 and installs.count("v1") <= 1
    if point in ("before_queue", "between_queue_and_target"):
        # target.json already named d2: d1 was never run.
        assert d1["deployment_id"] not in hist
    assert so.instance()["result"] == "CONTINUE"
    assert h.stop() == 0


def test_leaving_instance_deregisters_and_deletes_its_queue(so, daemon, ws):
    so.hold()
    h = daemon(ws, so.config(delete_queue_on_shutdown=True), env=so.env())
    assert so.instance()["result"] == "CONTINUE"
    assert so.registry() is not None and so.queue_exists()
    # A plain stop (a restart, an update) keeps both ...
    t0 = time.monotonic()
    assert h.stop() == 0
    assert time.monotonic() - t0 < 10
    assert so.registry() is not None and so.queue_exists()
    # ... a stop while Auto Scaling terminates the instance removes them.
    h.start()
    so.hold(state="Terminating:Wait")
    assert h.stop() == 0
    err = h.stderr()
    assert "deregistered from the store" in err
    assert f"queue '{so.qname}' deleted" in err
    assert so.registry() is None
    wait_for(lambda: not so.queue_exists(), 10, interval=0.2,
             what="the queue deleted")


def test_bake_without_target_is_a_no_op(so, ws):
    cfgpath = ws.base / "bake.yml"
    write_config(cfgpath, **so.config())
    env = dict(os.environ, **so.moto.env(so.proxy.url))
    r = run([binary("hookd"), "bake", "--group", GROUP, "-c", str(cfgpath),
             "--root", str(ws.root / "image")], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"group {APP}/{GROUP} has no target yet: nothing " \
        "to bake\n"
    assert not (ws.root / "image" / APP).exists()
    r = run([binary("hookd"), "bake", "--root", "relative"], env=env)
    assert r.returncode == 64 and r.stdout == ""
    assert "--root must be an absolute path" in r.stderr


def test_deployer_setup_creates_the_lifecycle_hook(so, ws):
    r = run([binary("deployer"), "setup", "--help"])
    if "--auto-scaling-group" not in r.stdout:
        pytest.skip("deployer setup has no --auto-scaling-group yet")
    asg_name = "asg-" + uuid.uuid4().hex[:8]
    asc = so.moto.client("autoscaling")
    asc.create_launch_configuration(LaunchConfigurationName=asg_name,
                                    ImageId="ami-12c6146b",
                                    InstanceType="t3.micro")
    asc.create_auto_scaling_group(AutoScalingGroupName=asg_name,
                                  LaunchConfigurationName=asg_name,
                                  MinSize=0, MaxSize=2, DesiredCapacity=0,
                                  AvailabilityZones=["us-east-1a"])
    repo = ws.base / "repo"
    repo.mkdir()
    (repo / "deployer.yml").write_text(
        f"application: {APP}\nstore: {so.store}\nqueue: sqs\n"
        f"queue_prefix: {so.prefix}\nregion: {so.moto.region}\n"
        f"groups:\n  {GROUP}:\n    deployment_config: AllAtOnce\n")
    env = dict(os.environ, **so.moto.env())
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1")
    argv = [binary("deployer"), "setup", GROUP, "--auto-scaling-group",
            asg_name, "--heartbeat-timeout", "900"]
    r = run(argv, env=env, cwd=str(repo))
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"lifecycle hook 'hookd-launch' of Auto Scaling group " \
        f"'{asg_name}'" in r.stdout
    # What the operator copies: valid policy JSON naming this group.
    pol = json.loads(r.stdout[r.stdout.index("{\n"):])
    acts = {a for st in pol["Statement"] for a in
            (st["Action"] if isinstance(st["Action"], list)
             else [st["Action"]])}
    assert {"autoscaling:CompleteLifecycleAction",
            "autoscaling:RecordLifecycleActionHeartbeat",
            "sqs:ReceiveMessage", "s3:GetObject"} <= acts
    assert "InstanceMetadataTags" in r.stdout
    assert f"hookd:deployment-group = {GROUP}" in r.stdout
    # Checked with an independent client: the aws CLI.
    cli_env = dict(env, AWS_DEFAULT_REGION=so.moto.region)
    out = subprocess.run(["aws", "--endpoint-url", so.moto.url,
                          "autoscaling", "describe-lifecycle-hooks",
                          "--auto-scaling-group-name", asg_name],
                         capture_output=True, text=True, env=cli_env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    hooks = json.loads(out.stdout)["LifecycleHooks"]
    assert len(hooks) == 1
    h = hooks[0]
    assert h["LifecycleHookName"] == "hookd-launch"
    assert h["LifecycleTransition"] == \
        "autoscaling:EC2_INSTANCE_LAUNCHING"
    assert h["DefaultResult"] == "ABANDON"
    assert h["HeartbeatTimeout"] == 900
    # Running it again updates the hook in place.
    r = run(argv[:-1] + ["300"], env=env, cwd=str(repo))
    assert r.returncode == 0, r.stdout + r.stderr
    out = subprocess.run(["aws", "--endpoint-url", so.moto.url,
                          "autoscaling", "describe-lifecycle-hooks",
                          "--auto-scaling-group-name", asg_name],
                         capture_output=True, text=True, env=cli_env,
                         timeout=120)
    hooks = json.loads(out.stdout)["LifecycleHooks"]
    assert [x["HeartbeatTimeout"] for x in hooks] == [300]
    # A bad heartbeat timeout is a usage error.
    r = run(argv[:-1] + ["5"], env=env, cwd=str(repo))
    assert r.returncode == 64 and r.stdout == ""


def test_catch_up_under_the_launch_hook_skips_traffic_control(so, daemon,
                                                              ws):
    # Auto Scaling registers the instance on CONTINUE: the catch-up
    # neither drains nor readies it (this HAProxy socket does not exist,
    # so touching it would fail the catch-up).
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    so.hold()
    h = daemon(ws, so.config(), env=so.env(), start=False)
    with open(h.cfgpath, "a") as f:
        f.write(f"traffic:\n  haproxy:\n    socket: {ws.base}/no.sock\n"
                "    backend: web\n")
    h.start()
    assert so.instance()["result"] == "CONTINUE"
    p = so.progress(t["deployment_id"])
    assert p["status"] == "Succeeded"
    names = [e["event"] for e in p["events"]]
    assert "BlockTraffic" not in names and "AllowTraffic" not in names
    assert "traffic control: HAProxy web/" + INSTANCE in h.stderr()
    assert h.stop() == 0
