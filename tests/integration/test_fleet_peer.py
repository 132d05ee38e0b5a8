# SPDX-License-Identifier: ISC
"""A fleet on one machine (tests/peers/fleet.py): Auto Scaling groups in
moto whose instances run a real `hookd run` each.  A scale-out of a group
with a launch lifecycle hook gives a daemon that catches up with
target.json while Auto Scaling holds it in Pending:Wait, completes
CONTINUE, and only then is in its target group; a scale-in stops it and
takes it out; a catch-up that fails is ABANDONed and replaced."""
import datetime
import json
import os
import pathlib
import uuid

import pytest

from conftest import binary
from daemon_util import APP, GROUP, AwsWorld, message, sha256_file
from lifecycle_util import (app_bundle, blocked_in, mkfifo, wait_for,  # noqa
                            ws)

HOOK = "hookd-launch"


class FleetWorld(AwsWorld):
    """A bucket and queue prefix, an Auto Scaling group at 0 with a
    launch hook and a target group in moto, and the fleet peer watching
    the group."""

    def __init__(self, moto, proxy, ws, fleet):
        super().__init__(moto, proxy, ws, "fl")
        self.fleet = fleet
        self.asg = moto.client("autoscaling")
        self.elbv2 = moto.client("elbv2")
        ec2 = moto.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.8.0.0/16")["Vpc"]["VpcId"]
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        self.group = "web-" + uuid.uuid4().hex[:8]
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
            MinSize=0, MaxSize=4, DesiredCapacity=0,
            AvailabilityZones=["us-east-1a"], TargetGroupARNs=[self.tg],
            Tags=[{"Key": "hookd:deployment-group", "Value": GROUP,
                   "PropagateAtLaunch": True}])
        self.asg.put_lifecycle_hook(
            AutoScalingGroupName=self.group, LifecycleHookName=HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=60, DefaultResult="ABANDON")
        fleet.configure(
            hookd=str(binary("hookd")), workdir=str(ws.base / "fleet"),
            group_prefixes=[self.group], env=moto.env(),
            hookd_config=dict(application=APP, store=self.store,
                              queue="sqs", queue_prefix=self.prefix,
                              region=moto.region, log_level="debug",
                              visibility_timeout=30, poll_wait=1,
                              delete_queue_on_shutdown=True,
                              lifecycle_hook=HOOK))

    def deploy(self, bundle, seq):
        """What the deployer does: the bundle, target.json, messages."""
        sha = sha256_file(bundle)
        with open(bundle, "rb") as f:
            self.s3.put_object(Bucket=self.bucket, Body=f.read(),
                               Key=f"deploys/revisions/{APP}/{sha}.tar.gz")
        m = message(self.store, sha, seq)
        self.s3.put_object(
            Bucket=self.bucket, Key=f"deploys/groups/{APP}/{GROUP}/"
            "target.json", Body=json.dumps(m).encode())
        return m

    def scale(self, n):
        self.asg.set_desired_capacity(AutoScalingGroupName=self.group,
                                      DesiredCapacity=n)

    def targets(self):
        h = self.elbv2.describe_target_health(TargetGroupArn=self.tg)
        return sorted(t["Target"]["Id"] for t in
                      h["TargetHealthDescriptions"])

    def one(self, state=None):
        insts = self.fleet.instances(self.group, state)
        return next(iter(insts.values())) if len(insts) == 1 else None

    def seen_states(self):
        """Lifecycle states as DescribeAutoScalingGroups through the
        fleet peer reports them (what the deployer sees)."""
        c = self.moto.client("autoscaling", url=self.fleet.url)
        g = c.describe_auto_scaling_groups(
            AutoScalingGroupNames=[self.group])["AutoScalingGroups"][0]
        return {i["InstanceId"]: i["LifecycleState"] for i in g["Instances"]}

    def registry(self, iid):
        return self.s3_json(
            f"deploys/groups/{APP}/{GROUP}/instances/{iid}.json")

    def progress(self, dep_id, iid):
        o = self.s3.get_object(
            Bucket=self.bucket, Key=f"deploys/deployments/{APP}/{GROUP}/"
            f"{dep_id}/instances/{iid}.json")
        return json.loads(o["Body"].read())


def state_of(rec):
    p = pathlib.Path(rec["root"]) / APP / GROUP / "state.json"
    return json.loads(p.read_text()) if p.exists() else None


@pytest.fixture
def fw(moto, proxy, ws, fleet):
    return FleetWorld(moto, proxy, ws, fleet)


def test_scale_out_catches_up_then_continues_then_scale_in(fw, ws):
    t = fw.deploy(app_bundle(ws, "v1", fmt="tgz"), 1)
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    fw.scale(1)
    rec = wait_for(lambda: fw.one("Pending:Wait"), 30, interval=0.1,
                   what="a launched instance in Pending:Wait")
    iid = rec["InstanceId"]
    # Held: its daemon is catching up, Auto Scaling (through the peer)
    # says Pending:Wait, and the target group does not have it.
    wait_for(lambda: blocked_in(ws), 60, what="the catch-up's hook")
    assert fw.seen_states() == {iid: "Pending:Wait"}
    assert iid not in fw.targets()
    assert fw.registry(iid)["catching_up"]["auto_scaling_group"] == \
        fw.group
    os.close(os.open(ws.out / "fifo", os.O_WRONLY))
    rec = wait_for(lambda: fw.one("InService"), 60, interval=0.1,
                   what="the instance InService")
    assert rec["result"] == "CONTINUE"
    assert rec["completed_by"] == "CompleteLifecycleAction"
    assert state_of(rec)["current"]["deployment_id"] == t["deployment_id"]
    assert fw.progress(t["deployment_id"], iid)["status"] == "Succeeded"
    assert fw.seen_states() == {iid: "InService"}
    assert fw.targets() == [iid]
    # The daemon's own log: the identity came from its IMDS.
    log = pathlib.Path(rec["log"]).read_text()
    assert f"instance '{iid}' (from instance metadata)" in log
    assert "completed with CONTINUE (caught up)" in log
    # Scale-in: the daemon hears Terminating, leaves the registry and
    # stops; the target is removed.
    fw.scale(0)
    rec = wait_for(lambda: fw.one("Terminated"), 60, interval=0.1,
                   what="the instance terminated")
    assert rec["exit"] == 0
    assert fw.registry(iid) is None
    assert fw.targets() == []


def test_failed_catch_up_is_abandoned_and_replaced(fw, ws):
    fw.deploy(app_bundle(ws, "v1", fmt="tgz", fail=("ValidateService",)),
              1)
    fw.scale(1)
    first = wait_for(lambda: fw.one("Terminated") or
                     fw.one("Terminating"), 60, interval=0.1,
                     what="the first instance abandoned")
    assert first["result"] == "ABANDON"
    assert first["completed_by"] == "CompleteLifecycleAction"
    assert first["InstanceId"] not in fw.targets()

    def replacement():
        return [r for r in fw.fleet.instances(fw.group).values()
                if r["InstanceId"] != first["InstanceId"]]
    wait_for(replacement, 60, interval=0.1, what="a replacement launched")
    fw.scale(0)
    wait_for(lambda: all(r["LifecycleState"] == "Terminated" for r in
                         fw.fleet.instances(fw.group).values()), 60,
             interval=0.2, what="every instance terminated")
    assert fw.targets() == []
    assert fw.fleet.state()["errors"] == []


def test_a_due_scheduled_action_empties_the_group(fw, ws):
    """With scheduled_actions on, a one-time scheduled action (stored by
    moto, never run by it) runs at its StartTime: the group goes to its
    sizes, the daemons stop, the action is gone; a later one waits."""
    fw.fleet.configure(scheduled_actions=True)
    fw.deploy(app_bundle(ws, "v1", fmt="tgz"), 1)
    fw.scale(2)
    wait_for(lambda: len(fw.fleet.instances(fw.group, "InService")) == 2,
             60, interval=0.1, what="two instances InService")
    now = datetime.datetime.now(datetime.timezone.utc)
    later = f"{fw.group}-later"
    for name, at in ((f"{fw.group}-zero", now + datetime.timedelta(
            seconds=2)), (later, now + datetime.timedelta(hours=1))):
        fw.asg.put_scheduled_update_group_action(
            AutoScalingGroupName=fw.group, ScheduledActionName=name,
            StartTime=at, MinSize=0, MaxSize=0, DesiredCapacity=0)
    wait_for(lambda: all(r["LifecycleState"] == "Terminated" for r in
                         fw.fleet.instances(fw.group).values()), 60,
             interval=0.2, what="every instance terminated")
    g = fw.asg.describe_auto_scaling_groups(
        AutoScalingGroupNames=[fw.group])["AutoScalingGroups"][0]
    assert (g["MinSize"], g["MaxSize"], g["DesiredCapacity"]) == (0, 0, 0)
    runs = fw.fleet.state()["scheduled_runs"]
    assert [r["action"] for r in runs] == [f"{fw.group}-zero"]
    left = fw.asg.describe_scheduled_actions(
        AutoScalingGroupName=fw.group)["ScheduledUpdateGroupActions"]
    assert [a["ScheduledActionName"] for a in left] == [later]
    assert fw.fleet.state()["errors"] == []
