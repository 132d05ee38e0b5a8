# SPDX-License-Identifier: ISC
"""Scale-out catch-up: a new instance, held in Pending:Wait by its
group's launch lifecycle hook, catches up with target.json and completes
the lifecycle action.

The instances are real launches: an Auto Scaling group in moto with the
launch hook (or the one `deployer setup` puts), scaled with
SetDesiredCapacity as an operator would, and the fleet peer
(tests/peers/fleet.py) starting a real `hookd run` for the instance Auto
Scaling launched, with its own root and IMDS identity, holding it in
Pending:Wait until its CompleteLifecycleAction (or heartbeat timeout),
putting it in its target group on CONTINUE and replacing it on ABANDON.
S3 and SQS are moto_server behind the recording proxy.

Each test checks what an operator would: the instance's lifecycle state
and result (Auto Scaling's view through the fleet peer), its release,
its target group, `deployer instances`, what the daemon downloaded, its
log, and state.json's history (each deployment at most once).

Three tests stay on the configured IMDS + lifecycle peer (imds_asg.py)
behind a fault proxy, because what they test is an error answer on the
wire that a real launch does not give on demand: CompleteLifecycleAction
answered "No active Lifecycle Action found" (the action timed out while
the instance caught up), the first heartbeat answered so (it timed out
before hookd started), and DescribeAutoScalingInstances denied
(AccessDenied).  `hookd bake` with no target and `deployer setup` launch
no instance at all.
"""
import json
import os
import pathlib
import re
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

HOOK = "hookd-launch"
TRAFFIC = "traffic:\n  haproxy:\n    socket: {sock}\n    backend: web\n"


class World(AwsWorld):
    """One test's bucket and queue prefix, seen through the recording
    proxy, and what the deployer does to them."""

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
        return self.s3_json(f"deploys/groups/{APP}/{GROUP}/instances/"
                            f"{self.iid}.json")

    def progress(self, dep_id):
        key = (f"deploys/deployments/{APP}/{GROUP}/{dep_id}/instances/"
               f"{self.iid}.json")
        return self.s3_json(key)

    def downloads(self, sha):
        return [e for e in self.proxy.log() if e["method"] == "GET" and
                f"revisions/{APP}/{sha}" in e["path"]]

    def hookd_config(self, **kw):
        cfg = dict(application=APP, deployment_group=GROUP,
                   store=self.store, queue="sqs", queue_prefix=self.prefix,
                   region=self.moto.region, log_level="debug",
                   visibility_timeout=30, poll_wait=2,
                   lifecycle_hook=HOOK)
        cfg.update(kw)
        return cfg


class ScaleOut(World):
    """An Auto Scaling group in moto (launch template, target group, at
    size 0) watched by the fleet peer: the instance it launches runs a
    real `hookd run`."""

    def __init__(self, moto, proxy, ws, fleet):
        super().__init__(moto, proxy, ws, "so")
        self.fleet = fleet
        self.iid = None
        self.asg = self.client("autoscaling")
        self.elbv2 = self.client("elbv2")
        self.group = "so-" + uuid.uuid4().hex[:8]
        ec2 = self.client("ec2")
        vpc, ami = self.vpc_and_ami(ec2)
        lt = ec2.create_launch_template(
            LaunchTemplateName=self.group,
            LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"})
        self.tg = self.elbv2.create_target_group(
            Name=self.group, Protocol="HTTP", Port=80, VpcId=vpc,
            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.group,
            LaunchTemplate={"LaunchTemplateId":
                            lt["LaunchTemplate"]["LaunchTemplateId"]},
            MinSize=0, MaxSize=2, DesiredCapacity=0,
            AvailabilityZones=["us-east-1a"], TargetGroupARNs=[self.tg])

    _shared = {}

    def vpc_and_ami(self, ec2):
        """A VPC and an image of moto's, looked up once per moto_server
        (listing its 1,000-odd images takes seconds)."""
        if self.moto.url not in self._shared:
            self._shared[self.moto.url] = (
                ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"],
                ec2.describe_images()["Images"][0]["ImageId"])
        return self._shared[self.moto.url]

    # --- Auto Scaling --------------------------------------------------
    def put_hook(self, heartbeat_timeout=60):
        self.asg.put_lifecycle_hook(
            AutoScalingGroupName=self.group, LifecycleHookName=HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=heartbeat_timeout, DefaultResult="ABANDON")

    def watch(self, hookd=None, **fleet_cfg):
        """The fleet peer watches the group; every instance gets hookd.yml
        from hookd_config() updated with hookd, S3 and SQS through the
        recording proxy."""
        self.fleet.configure(
            hookd=str(binary("hookd")), workdir=str(self.ws.base / "fleet"),
            group_prefixes=[self.group], env=self.moto.env(self.proxy.url),
            hookd_config=self.hookd_config(**(hookd or {})), **fleet_cfg)

    def scale(self, n):
        self.asg.set_desired_capacity(AutoScalingGroupName=self.group,
                                      DesiredCapacity=n)

    def launched(self):
        """Wait for the instance Auto Scaling launched; returns its id."""
        rec = wait_for(lambda: next(iter(self.fleet.instances(
            self.group).values()), None), 30, interval=0.1,
            what="an instance launched")
        self.iid = rec["InstanceId"]
        self.qname = f"{self.prefix}-{GROUP}-{self.iid}"
        return self.iid

    def launch(self, hook=True, heartbeat_timeout=60, hookd=None,
               **fleet_cfg):
        """The launch hook on the group, the fleet watching, the group
        scaled to 1: the launched instance's id."""
        if hook:
            self.put_hook(heartbeat_timeout)
        self.watch(hookd, **fleet_cfg)
        self.scale(1)
        return self.launched()

    def instance(self, iid=None):
        """The fleet peer's record of the instance: LifecycleState,
        result, completed_by, heartbeats, root, log, exit."""
        return self.fleet.state()["instances"][iid or self.iid]

    def wait_state(self, *states, timeout=60):
        return wait_for(lambda: (lambda r: r if r["LifecycleState"] in
                                 states else None)(self.instance()),
                        timeout, interval=0.1,
                        what=f"the instance {' or '.join(states)}")

    def seen_state(self):
        """The instance's lifecycle state as DescribeAutoScalingInstances
        tells the deployer and hookd (through the fleet peer)."""
        c = self.client("autoscaling", url=self.fleet.url)
        r = c.describe_auto_scaling_instances(InstanceIds=[self.iid])
        return r["AutoScalingInstances"][0]["LifecycleState"]

    def targets(self):
        h = self.elbv2.describe_target_health(TargetGroupArn=self.tg)
        return sorted(t["Target"]["Id"] for t in
                      h["TargetHealthDescriptions"])

    def asg_calls(self, action):
        return [e for e in self.fleet.log(action)
                if e["params"].get("AutoScalingGroupName") == self.group]

    # --- the instance's daemon ------------------------------------------
    def log(self):
        p = self.instance().get("log")
        return pathlib.Path(p).read_text() if p else ""

    def stop(self, timeout=40):
        """SIGTERM to its daemon (systemctl stop); its exit status."""
        self.fleet.crash(self.iid, 15)
        return wait_for(lambda: (lambda r: r if r["exit"] is not None
                                 else None)(self.instance()), timeout,
                        interval=0.1, what="the daemon stopped")["exit"]

    def gdir(self):
        return pathlib.Path(self.instance()["root"]) / APP / GROUP

    def state(self):
        p = self.gdir() / "state.json"
        return json.loads(p.read_text()) if p.exists() else None

    def current_id(self):
        return self.state()["current"]["deployment_id"]

    def history(self):
        return [h["deployment_id"] for h in self.state().get("history", [])]

    def version(self):
        p = self.gdir() / "current" / "VERSION"
        return p.read_text().strip() if p.exists() else None


@pytest.fixture
def so(moto, proxy, ws, fleet):
    s = ScaleOut(moto, proxy, ws, fleet)
    yield s
    # Leave moto with no instance of ours (the fleet stops the daemons).
    s.asg.delete_auto_scaling_group(AutoScalingGroupName=s.group,
                                    ForceDelete=True)


def release(ws):
    """Let the hook blocked on the FIFO go on.  The hook's `: < fifo`
    returns as soon as a writer opened it, so open and close it without
    writing (a write could meet the pipe already closed)."""
    os.close(os.open(ws.out / "fifo", os.O_WRONLY))


def deployer_instances(w, ws, *args, app=APP):
    """`deployer instances [args] GROUP` from a repository of application
    app whose deployer.yml points at this test's store and queues."""
    repo = ws.base / ("repo" if app == APP else f"repo-{app}")
    if not (repo / "deployer.yml").exists():
        repo.mkdir(exist_ok=True)
        (repo / "deployer.yml").write_text(
            f"application: {app}\nstore: {w.store}\nqueue: sqs\n"
            f"queue_prefix: {w.prefix}\nregion: {w.moto.region}\n"
            f"groups:\n  {GROUP}:\n    deployment_config: AllAtOnce\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(w.moto.env())
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    r = run([binary("deployer"), "instances"] + list(args) + [GROUP],
            env=env, cwd=str(repo))
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def instance_row(w, ws, *args):
    """This instance's row of `deployer instances --json`, or None."""
    rows = json.loads(deployer_instances(w, ws, "--json", *args))
    return next((x for x in rows if x["instance"] == w.iid), None)


def in_state(w, ws, state, *args):
    row = instance_row(w, ws, *args)
    return row if row is not None and row["state"] == state else None


def test_pending_instance_catches_up_and_continues(so, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    assert t["_sent_to_queues"] == 0
    iid = so.launch()
    inst = so.wait_state("InService")
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert so.seen_state() == "InService"
    assert so.current_id() == t["deployment_id"]
    assert so.version() == "v1"
    assert so.progress(t["deployment_id"])["status"] == "Succeeded"
    # In traffic only now, put there by Auto Scaling.
    assert so.targets() == [iid]
    # Identity and group from instance metadata; the tag named the group.
    err = so.log()
    assert f"instance '{iid}' (from instance metadata)" in err
    assert "instance tag aws:autoscaling:groupName" in err
    assert "completed with CONTINUE (caught up)" in err
    # CONTINUE only after the outcome was in the store.
    done = so.asg_calls("CompleteLifecycleAction")
    assert len(done) == 1
    assert done[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert done[0]["params"]["InstanceId"] == iid
    puts = [e["t"] for e in so.proxy.log() if e["method"] == "PUT" and
            t["deployment_id"] in e["path"]]
    assert puts and max(puts) < done[0]["t"]
    row = in_state(so, ws, "idle")
    assert row is not None and row["current_deployment"] == \
        t["deployment_id"]
    assert so.stop() == 0


def test_heartbeats_arrive_during_a_slow_catch_up(so, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    # A 5 s heartbeat timeout (the peer applies ABANDON when it passes)
    # and a hook that takes longer than that; no tags in instance
    # metadata, so the group comes from DescribeAutoScalingInstances.
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    t_hold = time.monotonic()
    so.launch(heartbeat_timeout=5, imds_tags=False)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    wait_for(lambda: so.instance()["heartbeats"] >= 5, 30, interval=0.2,
             what="five heartbeats")
    assert time.monotonic() - t_hold > 5  # held longer than the timeout
    assert so.seen_state() == "Pending:Wait"
    release(ws)
    inst = so.wait_state("InService")
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert so.current_id() == t["deployment_id"]
    err = so.log()
    assert "from DescribeAutoScalingInstances" in err
    assert "heartbeat every 1.7 s (heartbeat timeout 5 s)" in err
    hb = so.asg_calls("RecordLifecycleActionHeartbeat")
    assert len(hb) >= 5 and all(e["status"] == 200 for e in hb)
    assert so.stop() == 0


def test_deployer_instances_shows_an_instance_catching_up(so, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    iid = so.launch(heartbeat_timeout=5)
    wait_for(lambda: blocked_in(ws), 30, what="the catch-up to block")
    row = wait_for(lambda: in_state(so, ws, "catching-up"), 30,
                   interval=0.2, what="deployer instances: catching-up")
    cu = row["catching_up"]
    assert cu["lifecycle_hook"] == HOOK
    assert cu["auto_scaling_group"] == so.group
    assert cu["heartbeat_timeout"] == 5
    # The entry is rewritten with the lifecycle heartbeats (every 1.7 s).
    seen = so.registry()["last_seen"]
    wait_for(lambda: so.registry()["last_seen"] > seen, 30, interval=0.2,
             what="the registry entry refreshed during the catch-up")
    assert cu["since"] and row["stale"] is False
    assert row["in_progress"] == t["deployment_id"]
    assert row["current_deployment"] is None
    out = deployer_instances(so, ws)
    assert re.search(rf"^{iid}\s+-\s+0\s+-\s+\S+\s+catching-up\s+"
                     rf"{so.qname}$", out, re.M), out
    assert (f"{iid}: catching up since {cu['since']} for lifecycle "
            f"hook '{HOOK}' of Auto Scaling group '{so.group}', running "
            f"{t['deployment_id']}\n") in out
    assert so.seen_state() == "Pending:Wait"
    assert iid not in so.targets()
    release(ws)
    assert so.wait_state("InService")["result"] == "CONTINUE"
    row = wait_for(lambda: in_state(so, ws, "idle"), 30, interval=0.2,
                   what="deployer instances: idle after CONTINUE")
    assert row["catching_up"] is None and row["in_progress"] is None
    assert row["current_deployment"] == t["deployment_id"]
    assert so.registry()["catching_up"] is None
    out = deployer_instances(so, ws)
    assert "catching" not in out, out
    assert re.search(rf"^{iid}\s+{t['deployment_id']}\s+1\s+.*\s"
                     rf"idle\s+{so.qname}$", out, re.M), out
    assert so.targets() == [iid]
    assert so.stop() == 0


def test_catching_up_mark_left_by_a_crash_is_not_trusted(so, ws):
    """hookd killed during the catch-up leaves "catching_up" in its
    registry entry: the deployer believes it only while the entry is
    fresh, and the next start of hookd clears it."""
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    mkfifo(ws)
    block = ws.out / "block.ApplicationStart.v1"
    block.write_text("")
    iid = so.launch()
    wait_for(lambda: blocked_in(ws), 30, what="the catch-up to block")
    wait_for(lambda: (so.registry() or {}).get("catching_up"), 30,
             interval=0.2, what="the registry entry marked")
    so.fleet.crash(iid, 9)   # the hook dies with it (PR_SET_PDEATHSIG)
    wait_for(lambda: so.instance()["exit"] is not None, 30, interval=0.1,
             what="the daemon killed")
    assert so.seen_state() == "Pending:Wait"
    reg = so.registry()
    assert reg["catching_up"]["lifecycle_hook"] == HOOK
    assert reg["catching_up"]["heartbeat_timeout"] == 60
    assert in_state(so, ws, "catching-up") is not None    # still fresh

    def age(seconds):
        reg["last_seen"] = time.strftime(
            "%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - seconds))
        so.s3.put_object(Bucket=so.bucket, Body=json.dumps(reg).encode(),
                         Key=f"deploys/groups/{APP}/{GROUP}/instances/"
                         f"{iid}.json")
    # Not rewritten for longer than the heartbeat timeout: Auto Scaling
    # has applied the default result, so the mark is not believed.  The
    # entry still counts as an instance of the group ("stale": false).
    age(90)
    row = in_state(so, ws, "stale")
    assert row is not None and row["catching_up"] is None
    assert row["stale"] is False
    out = deployer_instances(so, ws)
    assert "catching" not in out and re.search(
        rf"^{iid}\s.*\sstale\s+{so.qname}$", out, re.M), out
    # Not seen for 20 minutes: stale like any entry.
    age(1200)
    row = in_state(so, ws, "stale", "--all")
    assert row is not None and row["catching_up"] is None
    assert row["stale"] is True
    # The next start (the instance rebooted) registers without the mark,
    # catches up again (the action is still pending) and completes it.
    block.unlink()
    so.fleet.start(iid)
    inst = so.wait_state("InService")
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert so.current_id() == t["deployment_id"]
    assert so.version() == "v1"
    # The entry loses its mark when the daemon next writes it, which
    # may come just after CompleteLifecycleAction.
    wait_for(lambda: so.registry()["catching_up"] is None, 30,
             interval=0.2, what="the registry entry without the mark")
    row = in_state(so, ws, "idle")
    assert row is not None and row["catching_up"] is None
    assert so.stop() == 0


def test_scale_out_from_zero_catches_up_to_the_deployers_target(so, ws,
                                                                moto):
    """The operator's path: `deployer setup` puts the launch hook on a
    group at size zero, the real deployer records the target with no
    instances (exit 0), `aws autoscaling set-desired-capacity` launches
    one, and it catches up to the target under the hook, is completed
    CONTINUE and shows in `deployer instances`."""
    from deployer_util import APP as WAPP, AwsFleet
    f = AwsFleet(moto, ws, None, n=0)
    head = f.git("rev-parse", "HEAD")
    r = f.deployer("setup", GROUP, "--auto-scaling-group", so.group,
                   "--heartbeat-timeout", "120")
    assert r.returncode == 0, r.stdout + r.stderr
    r = f.deployer("--allow-empty", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 instances" in r.stdout
    assert "target recorded (--allow-empty), new instances will deploy " \
        "it" in r.stdout
    did = f.target()["deployment_id"]
    assert f.deployment(did)["status"] == "Succeeded"
    so.watch(hookd=dict(application=WAPP, store=f.store,
                        queue_prefix=f.prefix))
    env = dict(os.environ, **moto.env(AWS_DEFAULT_REGION=moto.region))
    out = subprocess.run(["aws", "autoscaling", "set-desired-capacity",
                          "--auto-scaling-group-name", so.group,
                          "--desired-capacity", "1"],
                         capture_output=True, text=True, env=env,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    iid = so.launched()
    inst = so.wait_state("InService")
    assert inst["result"] == "CONTINUE"
    assert inst["LifecycleHookName"] == "hookd-launch"
    assert so.targets() == [iid]
    st = json.loads((pathlib.Path(inst["root"]) / WAPP / GROUP /
                     "state.json").read_text())
    assert st["current"]["deployment_id"] == did
    assert (pathlib.Path(inst["root"]) / WAPP / GROUP / "current" /
            "VERSION").read_text() == "1.0.0\n"
    p = f.progress(did, iid)
    assert p["status"] == "Succeeded" and p["commit"] == head
    assert "completed with CONTINUE (caught up)" in so.log()
    r = f.deployer("status", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"  caught up at boot: {iid} Succeeded\n" in r.stdout, r.stdout
    r = f.deployer("instances", "--json", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    rows = {x["instance"]: x for x in json.loads(r.stdout)}
    assert rows[iid]["state"] == "idle"
    assert rows[iid]["current_deployment"] == did
    assert so.stop() == 0


def test_failing_catch_up_abandons_and_auto_scaling_replaces_it(so, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz",
                               fail=("ApplicationStart",)))
    t = so.create_deployment(sha, 1)
    iid = so.launch()
    inst = so.wait_state("Terminating", "Terminated")
    assert inst["result"] == "ABANDON"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    p = so.progress(t["deployment_id"])
    assert p["status"] == "Failed"
    err = so.log()
    assert "completed with ABANDON (catch-up failed)" in err
    assert f"deployment {t['deployment_id']} failed: ApplicationStart" in err
    # Never in traffic; Auto Scaling launches a replacement, and the
    # abandoned instance's daemon stops cleanly.
    assert iid not in so.targets()
    wait_for(lambda: [x for x in so.fleet.instances(so.group)
                      if x != iid], 60, interval=0.1,
             what="a replacement launched")
    assert so.wait_state("Terminated")["exit"] == 0
    assert iid not in so.targets()
    so.scale(0)


def test_restart_after_failed_catch_up_still_abandons(so, ws, proxy):
    # hookd dies after the failed catch-up, before its ABANDON reached
    # Auto Scaling (held up on the wire): on restart the target is
    # "already finished here", yet the host is behind it, so the answer
    # is still ABANDON, not CONTINUE.
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz",
                               fail=("ApplicationStart",)))
    so.create_deployment(sha, 1)
    p = proxy(so.fleet.url)
    p.rules([{"match": {"action": "CompleteLifecycleAction"},
              "fault": "delay", "seconds": 30, "times": 1}])
    iid = so.launch(autoscaling_url=p.url)
    sent = wait_for(lambda: p.log("CompleteLifecycleAction"), 60,
                    interval=0.1, what="the ABANDON on the wire")
    assert sent[0]["form"]["LifecycleActionResult"] == "ABANDON"
    so.fleet.crash(iid, 9)
    wait_for(lambda: so.instance()["exit"] is not None, 30, interval=0.1,
             what="the daemon killed")
    assert so.seen_state() == "Pending:Wait"
    n = len(so.log())
    so.fleet.start(iid)
    inst = so.wait_state("Terminating", "Terminated")
    assert inst["result"] == "ABANDON"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert "already finished here (Failed)" in so.log()[n:]
    assert iid not in so.targets()
    so.scale(0)


def test_current_instance_completes_without_downloading(so, ws):
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    # The image build: `hookd bake` installs the target into the image's
    # root ...
    image = ws.base / "image"
    cfgpath = ws.base / "bake.yml"
    write_config(cfgpath, **so.hookd_config(root=str(image)))
    env = dict(os.environ, **so.moto.env(so.proxy.url))
    env["ASAN_OPTIONS"] = env.get("ASAN_OPTIONS", "detect_leaks=1")
    r = run([binary("hookd"), "bake", "--group", GROUP, "-c", str(cfgpath)],
            env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"baked deployment {t['deployment_id']} (sequence 1)" in r.stdout
    assert len(so.downloads(sha)) == 1
    assert not so.sqs.list_queues(QueueNamePrefix=so.prefix).get(
        "QueueUrls")
    assert "Contents" not in so.s3.list_objects_v2(
        Bucket=so.bucket, Prefix=f"deploys/groups/{APP}/{GROUP}/instances/")
    n_events = len(events(ws))
    # ... a second bake is a no-op ...
    r = run([binary("hookd"), "bake", "-g", GROUP, "-c", str(cfgpath)],
            env=env)
    assert r.returncode == 0 and "already installed" in r.stdout
    # ... and an instance launched from the image is current at once.
    so.proxy.reset()
    t0 = time.monotonic()
    so.launch(image=str(image))
    inst = so.wait_state("InService")
    elapsed = time.monotonic() - t0
    assert inst["result"] == "CONTINUE"
    assert so.current_id() == t["deployment_id"]
    assert so.version() == "v1"
    assert not so.downloads(sha)
    assert len(events(ws)) == n_events
    assert "completed with CONTINUE (already current)" in so.log()
    print(f"\nlaunch to InService from a baked image: {elapsed:.2f} s")
    assert so.stop() == 0


def test_new_group_without_target_continues(so, ws):
    so.launch()
    assert so.wait_state("InService")["result"] == "CONTINUE"
    assert "no target.json" in so.log()
    # It then waits for its first deployment on its queue.
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    m = so.create_deployment(sha, 1)
    assert m["_sent_to_queues"] == 1
    wait_for(lambda: (so.progress(m["deployment_id"]) or {}).get(
        "status") == "Succeeded", 60, interval=0.2, what="the first deploy")
    assert so.version() == "v1"
    assert so.stop() == 0


def test_instance_not_held_completes_nothing(so, ws):
    # hookd.yml names the hook, but the group had none when the instance
    # launched: it is InService at once, and nothing is completed.
    iid = so.launch(hook=False)
    wait_for(lambda: "instance is InService in Auto Scaling group" in
             so.log(), 30, interval=0.1, what="hookd to see InService")
    wait_for(so.registry, 30, interval=0.1, what="the registry entry")
    assert so.instance()["completed_by"] == "no launch hook"
    assert not so.asg_calls("CompleteLifecycleAction")
    assert not so.asg_calls("RecordLifecycleActionHeartbeat")
    assert so.targets() == [iid]
    assert so.stop() == 0


def test_file_store_and_spool_queue_with_a_launch_hook(so, ws):
    # No AWS backend in hookd.yml: the lifecycle calls get a client of
    # their own (credentials and region from the environment).
    so.launch(hookd=dict(store=f"file://{ws.base}/store",
                         queue=f"file://{ws.base}/queue"))
    assert so.wait_state("InService")["result"] == "CONTINUE"
    assert "no target.json" in so.log()
    assert so.stop() == 0


POINTS = ["before_queue", "between_queue_and_target", "during_catch_up",
          "after_ready"]


@pytest.mark.parametrize("point", POINTS)
def test_deployment_at_each_point_of_the_boot(so, ws, point):
    """The race of DESIGN.md's boot order: a deployment created at any
    moment reaches the new instance by the queue or by target.json, and
    the sequence rule keeps it from running twice."""
    sha1 = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    sha2 = so.upload(app_bundle(ws, "v2", fmt="tgz"))
    d1 = so.create_deployment(sha1, 1)
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
    so.launch()

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
    assert so.wait_state("InService")["result"] == "CONTINUE"
    if point == "after_ready":
        d2 = so.create_deployment(sha2, 2)
        assert d2["_sent_to_queues"] == 1

    wait_for(lambda: so.current_id() == d2["deployment_id"], 60,
             interval=0.2, what="the newest deployment live")
    assert so.version() == "v2"
    # The queue drains: a second delivery is acknowledged, not run.
    wait_for(lambda: so.sqs.get_queue_attributes(
        QueueUrl=so.sqs.get_queue_url(QueueName=so.qname)["QueueUrl"],
        AttributeNames=["ApproximateNumberOfMessages",
                        "ApproximateNumberOfMessagesNotVisible"])[
        "Attributes"] == {"ApproximateNumberOfMessages": "0",
                          "ApproximateNumberOfMessagesNotVisible": "0"},
        30, interval=0.2, what="the queue empty")
    hist = so.history()
    assert hist.count(d2["deployment_id"]) == 1, hist
    assert hist.count(d1["deployment_id"]) <= 1, hist
    installs = [v for ev, v, _ in events(ws) if ev == "BeforeInstall"]
    assert installs.count("v2") == 1 and installs.count("v1") <= 1
    if point in ("before_queue", "between_queue_and_target"):
        # target.json already named d2: d1 was never run.
        assert d1["deployment_id"] not in hist
    assert so.stop() == 0


def test_leaving_instance_deregisters_and_deletes_its_queue(so, ws):
    iid = so.launch(hookd=dict(delete_queue_on_shutdown=True))
    assert so.wait_state("InService")["result"] == "CONTINUE"
    wait_for(so.registry, 30, interval=0.1, what="the registry entry")
    assert so.queue_exists()
    # A plain stop (a restart, an update) keeps both ...
    t0 = time.monotonic()
    assert so.stop() == 0
    assert time.monotonic() - t0 < 10
    assert so.registry() is not None and so.queue_exists()
    # ... a stop while Auto Scaling terminates the instance (scale-in)
    # removes them.
    n = len(so.log())
    so.fleet.start(iid)
    wait_for(lambda: "instance is InService in Auto Scaling group" in
             so.log()[n:], 30, interval=0.1, what="hookd started again")
    so.scale(0)
    assert so.wait_state("Terminated")["exit"] == 0
    err = so.log()[n:]
    assert "deregistered from the store" in err
    assert f"queue '{so.qname}' deleted" in err
    assert so.registry() is None
    wait_for(lambda: not so.queue_exists(), 10, interval=0.2,
             what="the queue deleted")
    assert so.targets() == []


def test_catch_up_under_the_launch_hook_skips_traffic_control(so, ws):
    # Auto Scaling registers the instance on CONTINUE: the catch-up
    # neither drains nor readies it (this HAProxy socket does not exist,
    # so touching it would fail the catch-up).
    sha = so.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = so.create_deployment(sha, 1)
    iid = so.launch(hookd_extra=TRAFFIC.format(sock=ws.base / "no.sock"))
    assert so.wait_state("InService")["result"] == "CONTINUE"
    p = so.progress(t["deployment_id"])
    assert p["status"] == "Succeeded"
    names = [e["event"] for e in p["events"]]
    assert "BlockTraffic" not in names and "AllowTraffic" not in names
    assert "traffic control: HAProxy web/" + iid in so.log()
    assert so.targets() == [iid]
    assert so.stop() == 0


# --- on the configured IMDS and lifecycle peer (see the docstring) ------

INSTANCE = "i-0scaleout0000001"
ASG = "web-asg"


class Configured(World):
    """The instance as imds_asg.py is configured: one instance, held by
    the launch hook of a group that exists only in that peer."""

    def __init__(self, moto, imds, proxy, ws):
        super().__init__(moto, proxy, ws, "so", instance=INSTANCE)
        self.imds = imds
        self.iid = INSTANCE

    def hold(self):
        """The group with its launch hook; the instance held by it."""
        self.imds.configure(
            instance_id=INSTANCE,
            tags={"Name": "web-1", "aws:autoscaling:groupName": ASG},
            static_keys={self.moto.access_key: self.moto.secret},
            groups={ASG: {"hooks": {HOOK: {"HeartbeatTimeout": "60",
                                           "DefaultResult": "ABANDON"}}}},
            instances={INSTANCE: {"AutoScalingGroupName": ASG,
                                  "LifecycleHookName": HOOK,
                                  "LifecycleState": "Pending:Wait"}})

    def instance(self):
        return self.imds.state()["instances"][INSTANCE]

    def config(self, **kw):
        return self.hookd_config(root=str(self.ws.root), **kw)

    def env(self, asg_url):
        e = self.moto.env(self.proxy.url)
        e.update(self.imds.env())
        e["AWS_ENDPOINT_URL_AUTO_SCALING"] = asg_url
        e["AWS_EC2_METADATA_DISABLED"] = "false"
        return e


@pytest.fixture
def co(moto, imds, proxy, ws):
    return Configured(moto, imds, proxy, ws)


def test_no_active_lifecycle_action_is_not_an_error(co, daemon, ws, proxy):
    # The action timed out (or was completed by someone else) while the
    # instance caught up: AWS answers ValidationError "No active
    # Lifecycle Action found"; hookd logs it and serves on.
    co.hold()
    p = proxy(co.imds.url)
    body = ('<ErrorResponse xmlns="http://autoscaling.amazonaws.com/doc/'
            '2011-01-01/"><Error><Type>Sender</Type><Code>ValidationError'
            '</Code><Message>No active Lifecycle Action found with '
            f'instance ID {INSTANCE}</Message></Error><RequestId>r-1'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "CompleteLifecycleAction"},
              "fault": "status", "status": 400, "body": body}])
    h = daemon(ws, co.config(), env=co.env(p.url))
    err = h.stderr()
    assert "No active Lifecycle Action found" in err
    assert "not an error" in err
    sha = co.upload(app_bundle(ws, "v1", fmt="tgz"))
    m = co.create_deployment(sha, 1)
    wait_for(lambda: (co.progress(m["deployment_id"]) or {}).get(
        "status") == "Succeeded", 60, interval=0.2, what="a deployment")
    assert h.stop() == 0


def test_action_gone_during_catch_up_is_not_completed(co, daemon, ws,
                                                     proxy):
    # The first heartbeat learns that the action is gone (it timed out
    # before hookd started): hookd still catches up, but completes
    # nothing.
    sha = co.upload(app_bundle(ws, "v1", fmt="tgz"))
    t = co.create_deployment(sha, 1)
    co.hold()
    p = proxy(co.imds.url)
    body = ('<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError'
            '</Code><Message>No active Lifecycle Action found with '
            f'instance ID {INSTANCE}</Message></Error><RequestId>r-3'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "RecordLifecycleActionHeartbeat"},
              "fault": "status", "status": 400, "body": body}])
    h = daemon(ws, co.config(), env=co.env(p.url))
    assert ws.state(APP, GROUP)["current"]["deployment_id"] == \
        t["deployment_id"]
    assert not p.log(action="CompleteLifecycleAction")
    err = h.stderr()
    assert "the instance no longer waits for it" in err
    assert "no action left to complete" in err
    assert h.stop() == 0


def test_describe_denied_probes_with_a_heartbeat(co, daemon, ws, proxy):
    # A role without autoscaling:DescribeAutoScalingInstances: the group
    # comes from the instance tag, one heartbeat tells that the action
    # is pending, and the instance is still completed.
    co.hold()
    p = proxy(co.imds.url)
    body = ('<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied'
            '</Code><Message>not authorized to perform: autoscaling:'
            'DescribeAutoScalingInstances</Message></Error><RequestId>r-2'
            '</RequestId></ErrorResponse>')
    p.rules([{"match": {"action": "DescribeAutoScalingInstances"},
              "fault": "status", "status": 403, "body": body}])
    h = daemon(ws, co.config(), env=co.env(p.url))
    inst = co.instance()
    assert inst["result"] == "CONTINUE" and inst["heartbeats"] >= 1
    assert "completed with CONTINUE" in h.stderr()
    assert h.stop() == 0


def test_bake_without_target_is_a_no_op(co, ws):
    cfgpath = ws.base / "bake.yml"
    write_config(cfgpath, **co.config())
    env = dict(os.environ, **co.moto.env(co.proxy.url))
    r = run([binary("hookd"), "bake", "--group", GROUP, "-c", str(cfgpath),
             "--root", str(ws.root / "image")], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"group {APP}/{GROUP} has no target yet: nothing " \
        "to bake\n"
    assert not (ws.root / "image" / APP).exists()
    r = run([binary("hookd"), "bake", "--root", "relative"], env=env)
    assert r.returncode == 64 and r.stdout == ""
    assert "--root must be an absolute path" in r.stderr


def test_deployer_setup_creates_the_lifecycle_hook(co, ws):
    r = run([binary("deployer"), "setup", "--help"])
    if "--auto-scaling-group" not in r.stdout:
        pytest.skip("deployer setup has no --auto-scaling-group yet")
    asg_name = "asg-" + uuid.uuid4().hex[:8]
    asc = co.moto.client("autoscaling")
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
        f"application: {APP}\nstore: {co.store}\nqueue: sqs\n"
        f"queue_prefix: {co.prefix}\nregion: {co.moto.region}\n"
        f"groups:\n  {GROUP}:\n    deployment_config: AllAtOnce\n")
    env = dict(os.environ, **co.moto.env())
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
    cli_env = dict(env, AWS_DEFAULT_REGION=co.moto.region)
    out = subprocess.run(["aws", "--endpoint-url", co.moto.url,
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
    out = subprocess.run(["aws", "--endpoint-url", co.moto.url,
                          "autoscaling", "describe-lifecycle-hooks",
                          "--auto-scaling-group-name", asg_name],
                         capture_output=True, text=True, env=cli_env,
                         timeout=120)
    hooks = json.loads(out.stdout)["LifecycleHooks"]
    assert [x["HeartbeatTimeout"] for x in hooks] == [300]
    # A bad heartbeat timeout is a usage error.
    r = run(argv[:-1] + ["5"], env=env, cwd=str(repo))
    assert r.returncode == 64 and r.stdout == ""
