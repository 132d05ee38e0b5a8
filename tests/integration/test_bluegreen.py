# SPDX-License-Identifier: ISC
"""Blue/green rollouts (strategy: blue_green, deployer/bluegreen.c) on a
fleet on one machine: Auto Scaling groups and a target group in moto
(signature checking on), the fleet peer (tests/peers/fleet.py) running a
real `hookd run` for every instance Auto Scaling launches, held in
Pending:Wait by the launch hook until it caught up, a real git
repository of appspec-examples/worker and the real `deployer`."""
import datetime
import json
import os
import re
import signal
import subprocess
import time
import uuid

import pytest

from conftest import binary
from deployer_util import APP, GROUP, AwsFleet
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import wait_for, ws  # noqa: F401
from test_gates import notices, subscribed_queue, uniq

pytestmark = pytest.mark.usefixtures("moto")

HOOK = "hookd-launch"
BAD_CHECK = "#!/bin/bash\necho 'worker never healthy' >&2\nexit 1\n"


class BlueGreen(AwsFleet):
    """A blue group of `size` instances in a target group, its launch
    hook, and deployer.yml's group with strategy blue_green."""

    def __init__(self, moto, ws, fleet, size=3, ready_timeout=120,
                 keep_blue=3600, wait=None, **gates):
        self.fleet = fleet
        self.logs = {}
        self.blue = "web-" + uuid.uuid4().hex[:8]
        bg = (f"\n      auto_scaling_group: {self.blue}"
              f"\n      ready_timeout: {ready_timeout}"
              f"\n      keep_blue: {keep_blue}")
        if wait is not None:
            bg += f"\n      wait_before_cutover: {wait}"
        super().__init__(moto, ws, None, n=0, extra_groups={GROUP: dict(
            strategy="blue_green", timeout=120, blue_green=bg, **gates)})
        self.env = dict(fleet.env(), HOOKD_BG_POLL_MS="200")
        self.asg = moto.client("autoscaling")
        self.elbv2 = moto.client("elbv2")
        ec2 = moto.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.7.0.0/16")["Vpc"]["VpcId"]
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        lt = ec2.create_launch_template(
            LaunchTemplateName=self.blue,
            LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"})
        self.tg = self.elbv2.create_target_group(
            Name=self.blue, Protocol="HTTP", Port=80, VpcId=vpc,
            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        fleet.configure(
            hookd=str(binary("hookd")), workdir=str(ws.base / "fleet"),
            group_prefixes=[self.blue], env=moto.env(),
            scheduled_actions=True,
            hookd_config=dict(application=APP, deployment_group=GROUP,
                              store=self.store, queue="sqs",
                              queue_prefix=self.prefix, region=moto.region,
                              log_level="info", poll_wait=1,
                              delete_queue_on_shutdown=True,
                              lifecycle_hook=HOOK))
        self.asg.create_auto_scaling_group(
            AutoScalingGroupName=self.blue,
            LaunchTemplate={"LaunchTemplateId":
                            lt["LaunchTemplate"]["LaunchTemplateId"]},
            MinSize=0, MaxSize=6, DesiredCapacity=0,
            AvailabilityZones=["us-east-1a"], HealthCheckType="ELB",
            HealthCheckGracePeriod=60, TargetGroupARNs=[self.tg],
            Tags=[{"Key": "team", "Value": "shop",
                   "PropagateAtLaunch": True}])
        self.asg.put_lifecycle_hook(
            AutoScalingGroupName=self.blue, LifecycleHookName=HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=120, DefaultResult="ABANDON")
        self.asg.update_auto_scaling_group(
            AutoScalingGroupName=self.blue, MinSize=size,
            DesiredCapacity=size)
        wait_for(lambda: len(self.in_service(self.blue)) == size, 60,
                 interval=0.2, what="blue InService")

    def in_service(self, group):
        return sorted(self.fleet.instances(group, "InService"))

    def group(self, name):
        r = self.asg.describe_auto_scaling_groups(
            AutoScalingGroupNames=[name])["AutoScalingGroups"]
        return r[0] if r else None

    def targets(self):
        h = self.elbv2.describe_target_health(TargetGroupArn=self.tg)
        return sorted(t["Target"]["Id"] for t in
                      h["TargetHealthDescriptions"]
                      if t["TargetHealth"]["State"] == "healthy")

    def pointer(self):
        return self.read(f"groups/{APP}/{GROUP}/blue_green.json")

    def actions(self, group):
        """{name: StartTime} of group's scheduled actions."""
        r = self.asg.describe_scheduled_actions(AutoScalingGroupName=group)
        return {a["ScheduledActionName"]: a["StartTime"]
                for a in r["ScheduledUpdateGroupActions"]}

    def retirer_log(self, group):
        """What the retirer of group wrote (its log as the deployer that
        started it said, remembered here)."""
        try:
            with open(self.logs[group]) as f:
                return f.read()
        except (KeyError, OSError):
            return ""

    def deployer(self, *args, **kw):
        r = super().deployer(*args, **kw)
        for g, path in re.findall(r"group '([^']+)': a retirer \(pid \d+, "
                                  r"log '([^']+)'\)", r.stdout):
            self.logs[g] = path
        return r

    def version(self, iid):
        rec = self.fleet.state()["instances"][iid]
        p = f"{rec['root']}/{APP}/{GROUP}/current/VERSION"
        try:
            with open(p) as f:
                return f.read().strip()
        except OSError:
            return None


@pytest.fixture
def bgf(moto, ws, fleet):
    made = []

    def make(**kw):
        b = BlueGreen(moto, ws, fleet, **kw)
        made.append(b)
        return b
    yield make
    for b in made:      # leave moto with no running instance of ours
        for g in b.asg.describe_auto_scaling_groups()["AutoScalingGroups"]:
            if g["AutoScalingGroupName"].startswith(b.blue):
                b.asg.delete_auto_scaling_group(
                    AutoScalingGroupName=g["AutoScalingGroupName"],
                    ForceDelete=True)


def mock_time(ts):
    """An RFC 3339 UTC time as botocore gives a StartTime."""
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc)


def b_has_no_resume():
    r = subprocess.run([binary("deployer"), "--help"],
                       capture_output=True, text=True)
    return "deployer resume" not in r.stdout


def pid_runs(pid):
    """Whether pid is a process that is not a zombie (the container's
    PID 1 may not reap a killed detached retirer)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def alarm(moto, state, reason="set by the test"):
    """A CloudWatch alarm in moto, set to state (SetAlarmState sticks)."""
    name, cw = uniq("web-5xx"), moto.client("cloudwatch")
    cw.put_metric_alarm(
        AlarmName=name, MetricName="5xx", Namespace="web", Statistic="Sum",
        Period=60, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanThreshold")
    cw.set_alarm_state(AlarmName=name, StateValue=state, StateReason=reason)
    return name


def test_rollout_moves_traffic_to_green_then_rollback_swaps_back(bgf, moto):
    # An alarm that stays OK: the gates pass before the cut-over.
    ok = alarm(moto, "OK")
    b = bgf(alarms=f"[{ok}]")
    blue_ids = b.in_service(b.blue)
    assert b.targets() == blue_ids
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    green = f"{b.blue}-{did}"
    green_ids = b.in_service(green)
    assert green_ids, r.stdout
    assert len(green_ids) == 3 and not set(green_ids) & set(blue_ids)
    # Traffic: exactly green's instances, each caught up with the
    # deployment under the launch hook.
    assert b.targets() == green_ids
    for iid in green_ids:
        assert b.version(iid) == "1.0.0"
        assert b.progress(did, iid)["status"] == "Succeeded"
        rec = b.fleet.state()["instances"][iid]
        assert rec["completed_by"] == "CompleteLifecycleAction"
        assert rec["result"] == "CONTINUE"
    # Nothing was deployed on blue, which is kept without traffic and
    # with no process left suspended.
    for iid in blue_ids:
        assert b.version(iid) is None
    g = b.group(green)
    assert g["TargetGroupARNs"] == [b.tg]
    tags = {t["Key"]: t["Value"] for t in g["Tags"]}
    assert tags["hookd:deployment"] == did
    assert tags["hookd:group"] == f"{APP}/{GROUP}"
    assert tags["team"] == "shop"
    hooks = b.asg.describe_lifecycle_hooks(
        AutoScalingGroupName=green)["LifecycleHooks"]
    assert [h["LifecycleHookName"] for h in hooks] == [HOOK]
    blue = b.group(b.blue)
    assert blue["TargetGroupARNs"] == [] and blue["SuspendedProcesses"] == []
    assert len(blue["Instances"]) == 3
    d = b.deployment(did)
    assert d["status"] == "Succeeded"
    checks = [e for e in d["gates"] if e["gate"] == "alarms"]
    assert checks and checks[-1]["result"] == "OK", d["gates"]
    assert "checking the gates before the cut-over" in r.stdout
    p = b.pointer()
    assert (p["serving"], p["standby"]) == (green, b.blue)
    assert "kept without traffic until" in r.stdout
    # Retired without another deployer command at standby_until: Auto
    # Scaling's scheduled action empties it, a retirer deletes it.
    assert b.actions(b.blue) == {f"hookd-retire-{b.blue}": mock_time(
        p["standby_until"])}
    assert p["scheduled_action"] == f"hookd-retire-{b.blue}"
    wait_for(lambda: "retires it at" in b.retirer_log(b.blue), 30,
             interval=0.2, what="the retirer's first line")
    # deployer status: both groups, where the traffic is.
    r = b.deployer("status", GROUP)
    assert r.returncode == 0, r.stderr
    assert f"serving group '{green}': 3 instances, in traffic" in r.stdout
    assert f"standby group '{b.blue}': 3 instances, no traffic" in r.stdout
    assert (f"Auto Scaling's scheduled action 'hookd-retire-{b.blue}' "
            "scales it to 0 at") in r.stdout
    assert f"the retirer (pid {p['retirer_pid']} on " in r.stdout
    assert f"'deployer rollback {GROUP}' swaps traffic back" in r.stdout
    r = b.deployer("status", "--json", did)
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)["blue_green"]
    assert (js["serving"], js["standby"]) == (green, b.blue)
    assert js["journal"]["phase"] == "serving"
    assert js["journal"]["suspended"] == []
    assert js["journal"]["target_groups"] == [b.tg]
    # A second release: blue is now the first green; the original group,
    # on standby, is retired first (scaled to 0, emptied, deleted).
    b.commit("worker v2", {"VERSION": "2.0.0\n"})
    t0 = time.monotonic()
    r = b.deployer(GROUP, "HEAD", timeout=300)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    did2 = dep_id(r.stdout)
    green2 = f"{b.blue}-{did2}"
    assert b.group(b.blue) is None
    assert f"group '{b.blue}' deleted" in r.stdout
    # Its retirer saw it go and did nothing.
    wait_for(lambda: "no longer the standby" in b.retirer_log(b.blue), 30,
             interval=0.2, what="the first retirer's end")
    green2_ids = b.in_service(green2)
    assert b.targets() == green2_ids
    assert all(b.version(i) == "2.0.0" for i in green2_ids)
    assert all(b.version(i) == "1.0.0" for i in green_ids)
    print(f"B10: deployer start to traffic on green: {took:.1f} s")
    # Rollback within keep_blue: a swap, nothing deployed.
    t0 = time.monotonic()
    r = b.deployer("rollback", GROUP, timeout=120)
    swap = time.monotonic() - t0
    assert r.returncode == 0, r.stdout + r.stderr
    assert "nothing deployed" in r.stdout
    assert f"scheduled action 'hookd-retire-{green}' deleted" in r.stdout
    assert b.actions(green) == {}
    assert list(b.actions(green2)) == [f"hookd-retire-{green2}"]
    wait_for(lambda: "no longer the standby" in b.retirer_log(green), 30,
             interval=0.2, what="green's retirer's end")
    assert b.targets() == green_ids
    assert b.group(green2)["TargetGroupARNs"] == []
    assert b.group(green)["SuspendedProcesses"] == []
    assert all(b.version(i) == "1.0.0" for i in green_ids)
    p = b.pointer()
    assert (p["serving"], p["standby"]) == (green, green2)
    assert p["standby_rolled_back"] and p.get("swapping") is None
    # New instances of the group now catch up with v1 again.
    assert b.target()["revision"]["sha256"] == \
        b.deployment(did)["revision"]["sha256"]
    r = b.deployer("history", GROUP)
    assert r.returncode == 0, r.stderr
    print(f"B10: rollback swap: {swap:.2f} s")


def test_green_that_fails_validation_never_gets_traffic(bgf):
    b = bgf(ready_timeout=25)
    # v1 first, blue/green: it serves from then on (the "blue" below).
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    base, b.blue = b.blue, f"{b.blue}-{good}"
    blue_ids = b.in_service(b.blue)
    before = b.target()
    b.commit("worker never healthy",
             {"scripts/check_heartbeat.sh": (BAD_CHECK, 0o755)})
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    green = f"{base}-{did}"
    assert "catch-up failed in ValidateService" in r.stdout
    assert f"blue '{b.blue}' still serves" in r.stderr
    assert b.group(green) is None          # deleted
    assert b.targets() == blue_ids
    assert b.group(b.blue)["SuspendedProcesses"] == []
    assert b.deployment(did)["status"] == "Failed"
    # Every green instance was abandoned, none ever InService.
    recs = b.fleet.instances(green)
    assert recs and all(r["result"] in ("ABANDON", None)
                        for r in recs.values())
    assert not any(r.get("in_service_at") for r in recs.values())
    assert b.pointer()["serving"] == b.blue
    # New instances get what blue runs, not the revision that failed:
    # target.json is exactly what it was.
    assert b.target() == before
    assert f"target.json is again what it was before {did}" in r.stdout


def test_an_alarm_before_the_cutover_stops_it_and_deletes_green(bgf, moto):
    """An alarm in ALARM when green is ready: no traffic moves, green is
    deleted, the deployment is Stopped by the alarm; notices go out."""
    a = alarm(moto, "ALARM", "5xx burning")
    topic, url = subscribed_queue(moto)
    b = bgf(wait=2, alarms=f"[{a}]", gate_interval=1, notify=topic)
    blue_ids = b.in_service(b.blue)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    green = f"{b.blue}-{did}"
    assert f"green group '{green}': 3 of 3 instances InService" in r.stdout
    assert "cut-over:" not in r.stdout
    assert f"stopped by the alarms gate: alarm {a} is ALARM" in r.stderr
    assert b.group(green) is None          # deleted
    assert b.targets() == blue_ids
    blue = b.group(b.blue)
    assert blue["TargetGroupARNs"] == [b.tg]
    assert blue["SuspendedProcesses"] == []
    d = b.deployment(did)
    assert d["status"] == "Stopped"
    assert d["stopped_by"] == "the alarms gate"
    assert d["reason"] == f"alarm {a} is ALARM: 5xx burning"
    checks = [e for e in d["gates"] if e["gate"] == "alarms"]
    assert checks[-1]["result"] == "FAILED", d["gates"]
    journal = b.read(f"deployments/{APP}/{GROUP}/{did}/blue_green.json")
    assert journal["phase"] == "failed"
    got = {m["event"]: m for _, m in notices(moto, url, 2)}
    assert got["start"]["deployment_id"] == did
    assert got["outcome"]["outcome"] == "Stopped"
    assert a in got["outcome"]["reason"]


def test_keep_failed_keeps_green_without_traffic(bgf):
    b = bgf(ready_timeout=15)
    blue_ids = b.in_service(b.blue)
    b.commit("worker never healthy",
             {"scripts/check_heartbeat.sh": (BAD_CHECK, 0o755)})
    r = b.deployer("--keep-failed", GROUP, "HEAD", timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    green = f"{b.blue}-{dep_id(r.stdout)}"
    assert "kept (--keep-failed)" in r.stdout
    g = b.group(green)
    assert g is not None and g["TargetGroupARNs"] == []
    assert b.targets() == blue_ids
    journal = b.read(f"deployments/{APP}/{GROUP}/{dep_id(r.stdout)}/"
                     "blue_green.json")
    assert journal["phase"] == "failed" and journal["keep_failed"]
    assert journal["target_before"] is None
    # A failed first rollout: no target.json, as before it, so a blue
    # instance launched now boots with its image, not the bad revision.
    assert b.target() is None
    assert "target.json removed (there was none before" in r.stdout
    b.asg.set_desired_capacity(AutoScalingGroupName=b.blue,
                               DesiredCapacity=4)
    new = wait_for(lambda: [i for i in b.in_service(b.blue)
                            if i not in blue_ids], 60, interval=0.2,
                   what="blue's new instance InService")[0]
    assert b.version(new) is None
    # The group's sequence still goes on.
    good = subprocess.run(
        ["git", "show", "HEAD~1:scripts/check_heartbeat.sh"], cwd=b.repo,
        capture_output=True, text=True, check=True).stdout
    b.commit("worker healthy again",
             {"scripts/check_heartbeat.sh": (good, 0o755)})
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b.deployment(dep_id(r.stdout))["sequence"] == 2


def test_manual_cutover_and_a_scale_out_of_blue_meanwhile(bgf):
    """wait_before_cutover: manual holds green ready until `deployer
    continue ID`; a blue instance launched meanwhile catches up with the
    group's target (this deployment's revision) before it is InService,
    like any scale-out."""
    b = bgf(wait="manual")
    blue_ids = b.in_service(b.blue)
    p = b.popen_deployer(GROUP, "HEAD")
    try:
        journal = None

        def ready():
            nonlocal journal
            keys = b.s3.list_objects_v2(
                Bucket=b.bucket, Prefix=f"deploys/deployments/{APP}/{GROUP}/"
            ).get("Contents", [])
            js = [k["Key"] for k in keys
                  if k["Key"].endswith("/blue_green.json")]
            if not js:
                return None
            journal = b.read(js[0][len("deploys/"):])
            return journal["phase"] == "ready"
        wait_for(ready, 120, interval=0.2, what="green ready")
        did = journal["deployment"]
        green_ids = b.in_service(journal["green"])
        assert len(green_ids) == 3
        assert b.targets() == blue_ids     # held: no cut-over yet
        b.asg.set_desired_capacity(AutoScalingGroupName=b.blue,
                                   DesiredCapacity=4)
        new = wait_for(lambda: [i for i in b.in_service(b.blue)
                                if i not in blue_ids], 60, interval=0.2,
                       what="blue's new instance InService")[0]
        assert b.version(new) == "1.0.0"
        assert b.progress(did, new)["status"] == "Succeeded"
        wait_for(lambda: new in b.targets(), 30, interval=0.2,
                 what="blue's new instance in the target group")
        r = b.deployer("continue", did)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "cut-over allowed" in r.stdout
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, out + err
    assert f"waiting for 'deployer continue {did}'" in out
    assert b.targets() == green_ids
    assert len(b.group(b.blue)["Instances"]) == 4
    assert b.group(b.blue)["SuspendedProcesses"] == []
    r = b.deployer("continue", did)
    assert r.returncode == 64 and "not in progress" in r.stderr, r.stderr


def test_blue_is_retired_when_keep_blue_is_over(bgf):
    """keep_blue: blue is scaled to 0 by Auto Scaling's scheduled action
    and deleted by the retirer the deployer left, with no other deployer
    command."""
    b = bgf(keep_blue=4)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    green = f"{b.blue}-{dep_id(r.stdout)}"
    assert len(b.group(b.blue)["Instances"]) == 3     # kept
    act = f"hookd-retire-{b.blue}"
    assert list(b.actions(b.blue)) == [act]
    assert f"scheduled action '{act}' scales it to 0 at" in r.stdout
    assert "a retirer (pid" in r.stdout
    wait_for(lambda: b.group(b.blue) is None, 90, interval=0.2,
             what="blue deleted by its retirer")
    log = b.retirer_log(b.blue)
    assert f"retiring group '{b.blue}' (keep_blue is over)" in log, log
    assert f"group '{b.blue}' deleted" in log, log
    p = b.pointer()
    assert p["serving"] == green and p.get("standby") is None
    assert p.get("retiring") is None
    # Every blue daemon is stopped (the fleet peer sees the scale-in).
    wait_for(lambda: all(r["LifecycleState"] == "Terminated"
                         for r in b.fleet.instances(b.blue).values()),
             60, interval=0.2, what="blue's daemons stopped")
    assert b.targets() == b.in_service(green)
    r = b.deployer("status", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "standby group" not in r.stdout


def test_without_the_retirer_auto_scaling_empties_blue(bgf):
    """The deployer's machine is gone (its retirer killed): Auto Scaling's
    scheduled action alone scales blue to 0 at keep_blue; the next
    deployer command deletes the empty group (the backstop)."""
    b = bgf(keep_blue=4)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    green = f"{b.blue}-{dep_id(r.stdout)}"
    p = b.pointer()
    os.kill(p["retirer_pid"], signal.SIGKILL)
    act = f"hookd-retire-{b.blue}"
    wait_for(lambda: any(x["action"] == act for x in
                         b.fleet.state()["scheduled_runs"]), 60,
             interval=0.2, what="the scheduled action run")
    g = b.group(b.blue)
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (0, 0, 0)
    wait_for(lambda: all(r["LifecycleState"] == "Terminated"
                         for r in b.fleet.instances(b.blue).values()),
             60, interval=0.2, what="blue's daemons stopped")
    r = b.deployer("status", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"retiring group '{b.blue}' (keep_blue is over)" in r.stdout
    assert b.group(b.blue) is None
    assert f"serving group '{green}': 3 instances, in traffic" in r.stdout


@pytest.mark.parametrize("where", ["here", "elsewhere"])
def test_a_retirement_whose_retirer_died_is_taken_over(bgf, where):
    """The retirer is killed with SIGKILL after it claimed blue in the
    pointer (blue cannot empty meanwhile: its instances are protected
    from scale-in): the claim is stale, and the next `deployer status`
    takes it over and finishes the retirement.  A claim of another host
    is stale only once it was not refreshed for 60 polls (12 s here)."""
    b = bgf(keep_blue=4)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    green = f"{b.blue}-{dep_id(r.stdout)}"
    blue_ids = [i["InstanceId"] for i in b.group(b.blue)["Instances"]]
    b.asg.set_instance_protection(
        AutoScalingGroupName=b.blue, InstanceIds=blue_ids,
        ProtectedFromScaleIn=True)
    retirer = b.pointer()["retirer_pid"]
    wait_for(lambda: b.pointer().get("retiring") == b.blue, 90,
             interval=0.2, what="blue claimed by its retirer")
    p = b.pointer()
    assert p["retiring_pid"] == retirer and p.get("standby") is None
    os.kill(retirer, signal.SIGKILL)
    wait_for(lambda: not pid_runs(retirer), 30, interval=0.1,
             what="the retirer dead")
    why = f"its retirer, pid {retirer} on this host, is gone"
    if where == "elsewhere":
        key = f"deploys/groups/{APP}/{GROUP}/blue_green.json"

        def claimed(ago):
            p["retiring_host"] = "another-host"
            p["retiring_at"] = (datetime.datetime.now(
                datetime.timezone.utc) - datetime.timedelta(seconds=ago)
            ).strftime("%Y-%m-%dT%H:%M:%SZ")
            b.s3.put_object(Bucket=b.bucket, Key=key,
                            Body=json.dumps(p).encode())
            return p["retiring_at"]
        claimed(0)
        r = b.deployer("status", GROUP, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert (f"group '{b.blue}': being retired (scaled to 0, deleted "
                f"once empty) by pid {retirer} on another-host") in r.stdout
        assert b.group(b.blue) is not None
        at = claimed(120)
        why = (f"its retirer, pid {retirer} on another-host, has not "
               f"refreshed its claim since {at}")
    b.asg.set_instance_protection(
        AutoScalingGroupName=b.blue, InstanceIds=blue_ids,
        ProtectedFromScaleIn=False)
    r = b.deployer("status", GROUP, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"retiring group '{b.blue}' (taken over: {why})" in r.stdout, \
        r.stdout
    assert f"group '{b.blue}' deleted" in r.stdout, r.stdout
    assert "being retired" not in r.stdout
    assert b.group(b.blue) is None
    p = b.pointer()
    assert p["serving"] == green and p.get("standby") is None
    assert p.get("retiring") is None and "retiring_pid" not in p
    assert f"serving group '{green}': 3 instances, in traffic" in r.stdout


def test_keep_blue_0_retires_blue_at_once(bgf):
    b = bgf(keep_blue=0)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"group '{b.blue}' deleted" in r.stdout
    assert b.group(b.blue) is None
    assert b.actions(b.blue) == {}
    assert "retirer" not in r.stdout
    assert b.pointer().get("standby") is None


def test_rollback_right_after_the_first_rollout_swaps_back(bgf):
    """No earlier deployment at all: `deployer rollback` still swaps back
    to blue, whose revision (its image's) nobody knows: the record says
    so, and target.json is gone again as it was before."""
    b = bgf()
    blue_ids = b.in_service(b.blue)
    assert b.target() is None
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    green = f"{b.blue}-{did}"
    assert b.target()["deployment_id"] == did
    r = b.deployer("rollback", GROUP, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no earlier successful revision" not in r.stdout + r.stderr
    assert (f"swapping traffic back from '{green}' to '{b.blue}' (the "
            "revision it serves is not known") in r.stdout
    assert b.targets() == blue_ids
    assert b.group(green)["TargetGroupARNs"] == []
    assert b.group(b.blue)["SuspendedProcesses"] == []
    assert b.actions(b.blue) == {}
    rb = b.deployment(re.search(r"rollback (d-\w+) succeeded",
                                r.stdout).group(1))
    assert rb["status"] == "Succeeded" and rb["rollback_of"] == did
    assert "revision is not known" in rb["description"]
    assert rb["revision"]["location"] is None
    assert b.target() is None
    assert "target.json removed (there was none before" in r.stdout
    p = b.pointer()
    assert (p["serving"], p["standby"]) == (b.blue, green)
    # A scale-out of blue now installs nothing: its image's revision.
    b.asg.set_desired_capacity(AutoScalingGroupName=b.blue,
                               DesiredCapacity=4)
    new = wait_for(lambda: [i for i in b.in_service(b.blue)
                            if i not in blue_ids], 60, interval=0.2,
                   what="blue's new instance InService")[0]
    assert b.version(new) is None


def test_kill_9_during_the_cutover_then_resume(bgf, proxy):
    """The deployer killed with SIGKILL in the middle of the cut-over
    (green's target health answered slowly, through the fault proxy),
    with blue's processes suspended: `deployer resume ID` ends with
    exactly one group in traffic and no process left suspended."""
    if b_has_no_resume():
        pytest.skip("needs 'deployer resume'")
    b = bgf()
    blue_ids = b.in_service(b.blue)
    px = proxy(b.moto.url)
    px.rules([{"match": {"action": "DescribeTargetHealth"},
               "fault": "delay", "seconds": 1.0}])
    b.env["AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"] = px.url
    p = b.popen_deployer(GROUP, "HEAD")
    journal = {}

    def in_cutover():
        keys = b.s3.list_objects_v2(
            Bucket=b.bucket, Prefix=f"deploys/deployments/{APP}/{GROUP}/"
        ).get("Contents", [])
        js = [k["Key"] for k in keys if k["Key"].endswith("/blue_green.json")]
        if js:
            journal.update(b.read(js[0][len("deploys/"):]))
        return journal.get("phase") == "cutover" and \
            b.group(b.blue)["SuspendedProcesses"]
    try:
        wait_for(in_cutover, 120, interval=0.05, what="the cut-over")
        wait_for(lambda: px.log("DescribeTargetHealth"), 30, interval=0.05,
                 what="a target health poll")
    finally:
        p.kill()
        p.communicate()
    did, green = journal["deployment"], journal["green"]
    assert len(b.group(b.blue)["SuspendedProcesses"]) == 4
    assert b.deployment(did)["status"] == "InProgress"
    px.rules([])
    r = b.deployer("resume", did, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "resuming the cut-over" in r.stdout
    green_ids = b.in_service(green)
    assert b.targets() == green_ids and not set(green_ids) & set(blue_ids)
    assert b.group(b.blue)["TargetGroupARNs"] == []
    assert b.group(green)["TargetGroupARNs"] == [b.tg]
    assert b.group(b.blue)["SuspendedProcesses"] == []
    assert b.group(green)["SuspendedProcesses"] == []
    assert b.deployment(did)["status"] == "Succeeded"


@pytest.mark.parametrize("how", ["resume", "stop"])
def test_kill_9_during_the_swap_back_then_resume_or_stop(bgf, proxy, how):
    """`deployer rollback GROUP` swapping back to blue killed with SIGKILL
    in the middle of its cut-over (green's processes suspended, blue's
    target health answered slowly): `deployer resume ID` or `deployer
    stop ID` finishes the swap, with exactly one group in traffic and no
    process left suspended; nobody retires blue meanwhile."""
    b = bgf()
    blue_ids = b.in_service(b.blue)
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    green = f"{b.blue}-{dep_id(r.stdout)}"
    px = proxy(b.moto.url)
    px.rules([{"match": {"action": "DescribeTargetHealth"},
               "fault": "delay", "seconds": 1.0}])
    b.env["AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2"] = px.url
    p = b.popen_deployer("rollback", GROUP)
    journal = {}

    def in_swap():
        keys = b.s3.list_objects_v2(
            Bucket=b.bucket, Prefix=f"deploys/deployments/{APP}/{GROUP}/"
        ).get("Contents", [])
        for k in keys:
            if k["Key"].endswith("/blue_green.json"):
                j = b.read(k["Key"][len("deploys/"):])
                if j.get("blue") == green:      # the swap back's
                    journal.clear()
                    journal.update(j)
        return journal.get("phase") == "cutover" and \
            b.group(green)["SuspendedProcesses"]
    try:
        wait_for(in_swap, 120, interval=0.05, what="the swap back")
        wait_for(lambda: px.log("DescribeTargetHealth"), 30, interval=0.05,
                 what="a target health poll")
    finally:
        p.kill()
        p.communicate()
    rid = journal["deployment"]
    assert (journal["blue"], journal["green"]) == (green, b.blue)
    assert len(b.group(green)["SuspendedProcesses"]) == 4
    assert b.deployment(rid)["status"] == "InProgress"
    assert b.pointer()["swapping"] == rid
    # The backstop does not retire blue under a swap that may resume.
    r = b.deployer("status", GROUP)
    assert b.group(b.blue) is not None
    px.rules([])
    r = b.deployer(how, rid, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert b.targets() == blue_ids
    assert b.group(green)["TargetGroupARNs"] == []
    assert b.group(b.blue)["TargetGroupARNs"] == [b.tg]
    assert b.group(green)["SuspendedProcesses"] == []
    assert b.group(b.blue)["SuspendedProcesses"] == []
    assert b.deployment(rid)["status"] == "Succeeded"
    pt = b.pointer()
    assert pt["serving"] == b.blue and pt["standby"] == green
    assert pt.get("swapping") is None and pt.get("standby_rolled_back")
    assert b.actions(b.blue) == {}
    assert list(b.actions(green)) == [f"hookd-retire-{green}"]
    assert "resuming the swap back of rollback" in r.stdout, r.stdout


def test_a_failure_in_the_cutover_puts_blue_back(bgf, proxy):
    """The load balancer fails while green is attached (DescribeTargetHealth
    answers 500 three times: one poll's attempts, through the fault
    proxy): the cut-over fails, blue, never detached, is checked healthy,
    green is detached and deleted, blue's processes are resumed."""
    b = bgf()
    blue_ids = b.in_service(b.blue)
    px = proxy(b.moto.url)
    px.rules([{"match": {"action": "DescribeTargetHealth"},
               "fault": "status", "status": 500, "times": 3}])
    b.env.update(AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=px.url,
                 AWS_MAX_ATTEMPTS="3")
    r = b.deployer(GROUP, "HEAD", timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    green = f"{b.blue}-{did}"
    out = r.stdout
    assert "cut-over failed: " in out and "DescribeTargetHealth" in out, out
    assert f"putting blue '{b.blue}' back in traffic" in out
    assert "FAILED" not in out, out
    assert b.targets() == blue_ids
    assert b.group(b.blue)["TargetGroupARNs"] == [b.tg]
    assert b.group(b.blue)["SuspendedProcesses"] == []
    assert b.group(green) is None
    assert b.deployment(did)["status"] == "Failed"
    assert len(px.log("DescribeTargetHealth")) > 3


def test_stop_before_the_cutover_deletes_green(bgf):
    """`deployer stop ID` while green waits for its manual cut-over: the
    driver ends it Stopped, deletes green, blue keeps the traffic and no
    process stays suspended."""
    b = bgf(wait="manual")
    blue_ids = b.in_service(b.blue)
    p = b.popen_deployer(GROUP, "HEAD")
    try:
        def journal():
            keys = b.s3.list_objects_v2(
                Bucket=b.bucket, Prefix=f"deploys/deployments/{APP}/{GROUP}/"
            ).get("Contents", [])
            js = [k["Key"] for k in keys
                  if k["Key"].endswith("/blue_green.json")]
            j = b.read(js[0][len("deploys/"):]) if js else None
            return j if j and j["phase"] == "ready" else None
        j = wait_for(journal, 120, interval=0.2, what="green ready")
        r = b.deployer("stop", j["deployment"], timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 1, out + err
    assert f"blue/green {j['deployment']} stopped" in out
    assert b.deployment(j["deployment"])["status"] == "Stopped"
    assert b.group(j["green"]) is None
    assert b.targets() == blue_ids
    assert b.group(b.blue)["SuspendedProcesses"] == []


def test_no_wait_hands_the_rollout_to_a_detached_driver(bgf):
    b = bgf()
    r = b.deployer("--no-wait", GROUP, "HEAD", timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert "detached driver" in r.stdout
    r = b.deployer("status", did, "--watch", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    wait_for(lambda: b.deployment(did)["status"] == "Succeeded", 60,
             interval=0.2, what="the detached driver's end")
    green = f"{b.blue}-{did}"
    assert b.targets() == b.in_service(green)
    assert b.group(b.blue)["SuspendedProcesses"] == []
