# SPDX-License-Identifier: ISC
"""The Auto Scaling group calls of a blue/green rollout (lib/aws/asg_bg.c
through awsc) against moto with signature checking on: copy a group from
a launch template with its sizes, subnets, health check and tags, find
it by tag, suspend and resume its processes, attach and detach target
groups and Classic Load Balancers (moto registers the group's instances
in them), scale it to zero and delete it without ForceDelete."""
import json
import uuid

import pytest

pytestmark = pytest.mark.usefixtures("moto")


def uniq(name):
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def world(moto):
    """A VPC with two subnets, a launch template, a target group, a CLB
    and a blue group of 2 instances in them."""
    ec2, asg = moto.client("ec2"), moto.client("autoscaling")
    elbv2, elb = moto.client("elbv2"), moto.client("elb")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24",
                                 AvailabilityZone=f"us-east-1{z}")
               ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    lt_name = uniq("web-lt")
    lt = ec2.create_launch_template(
        LaunchTemplateName=lt_name,
        LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"})
    lt_id = lt["LaunchTemplate"]["LaunchTemplateId"]
    tg = elbv2.create_target_group(
        Name=uniq("tg"), Protocol="HTTP", Port=80, VpcId=vpc,
        TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    clb = uniq("clb")
    elb.create_load_balancer(
        LoadBalancerName=clb, AvailabilityZones=["us-east-1a"],
        Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                    "InstancePort": 80}])
    blue = uniq("web")
    app_group = "shop/" + uniq("production")
    asg.create_auto_scaling_group(
        AutoScalingGroupName=blue,
        LaunchTemplate={"LaunchTemplateId": lt_id, "Version": "$Latest"},
        MinSize=1, MaxSize=4, DesiredCapacity=2,
        VPCZoneIdentifier=",".join(subnets), HealthCheckType="ELB",
        HealthCheckGracePeriod=90,
        Tags=[{"Key": "hookd:group", "Value": app_group,
               "PropagateAtLaunch": False},
              {"Key": "hookd:deployment-group", "Value": "production",
               "PropagateAtLaunch": True}])
    return dict(asg=asg, elbv2=elbv2, elb=elb, subnets=subnets,
                lt_id=lt_id, lt_name=lt_name, tg=tg, clb=clb, blue=blue,
                app_group=app_group)


def groups(awsc, moto, *args):
    r = awsc("asg", "describe-groups", *args, env=moto.env())
    assert r.returncode == 0, r.stderr
    return {g["name"]: g for g in json.loads(r.stdout)}


def ok(awsc, moto, *args):
    r = awsc("asg", *args, env=moto.env())
    assert (r.returncode, r.stdout) == (0, "ok\n"), r.stderr
    return r


def tg_targets(w):
    h = w["elbv2"].describe_target_health(TargetGroupArn=w["tg"])
    return sorted(t["Target"]["Id"] for t in h["TargetHealthDescriptions"])


def test_describe_reads_what_the_copy_needs(awsc, moto, world):
    b = groups(awsc, moto, world["blue"])[world["blue"]]
    assert b["lt_id"] == world["lt_id"]
    assert b["lt_version"] == "$Latest"
    assert (b["min"], b["max"], b["desired"]) == (1, 4, 2)
    assert b["subnets"] == ",".join(world["subnets"])
    assert (b["health_check_type"], b["grace"]) == ("ELB", 90)
    assert b["tags"]["hookd:group"] == world["app_group"]
    assert [i["state"] for i in b["instances"]] == ["InService"] * 2
    assert b["suspended"] == [] and b["target_groups"] == []
    assert groups(awsc, moto, "no-such-group") == {}


def test_copy_find_by_tag_swap_traffic_and_delete(awsc, moto, world):
    w = world
    green = w["blue"] + "-d-TEST00001"
    ok(awsc, moto, "attach-tgs", "--group", w["blue"], w["tg"])
    blue_ids = sorted(i["id"] for i in
                      groups(awsc, moto, w["blue"])[w["blue"]]["instances"])
    assert tg_targets(w) == blue_ids
    # Green: a copy of blue, with the hook's place kept by desired 0.
    ok(awsc, moto, "create-group", "--group", green, "--lt-id", w["lt_id"],
       "--lt-version", "$Latest", "--min", "0", "--max", "4",
       "--desired", "0", "--subnets", ",".join(w["subnets"]),
       "--health-check-type", "ELB", "--grace", "90",
       "--tag", "hookd:group=" + w["app_group"],
       "--tag", "hookd:deployment=d-TEST00001",
       "--propagate-tag", "hookd:deployment-group=production")
    ok(awsc, moto, "update-sizes", "--group", green, "--min", "1",
       "--desired", "2")
    both = groups(awsc, moto, "--tag", "hookd:group=" + w["app_group"])
    assert sorted(both) == sorted([w["blue"], green])
    g = both[green]
    assert g["tags"]["hookd:deployment"] == "d-TEST00001"
    assert (g["min"], g["max"], g["desired"]) == (1, 4, 2)
    assert g["subnets"] == ",".join(w["subnets"])
    assert len(g["instances"]) == 2
    green_ids = sorted(i["id"] for i in g["instances"])
    # Blue's processes held during the swap, then resumed.
    procs = ["Launch", "Terminate", "ReplaceUnhealthy", "AZRebalance"]
    ok(awsc, moto, "suspend", "--group", w["blue"], *procs)
    assert sorted(groups(awsc, moto, w["blue"])[w["blue"]]["suspended"]) \
        == sorted(procs)
    # The swap: green in, blue out (moto registers on attach only; the
    # fleet peer deregisters what Auto Scaling would).
    ok(awsc, moto, "attach-tgs", "--group", green, w["tg"])
    assert set(green_ids) <= set(tg_targets(w))
    ok(awsc, moto, "detach-tgs", "--group", w["blue"], w["tg"])
    assert groups(awsc, moto, w["blue"])[w["blue"]]["target_groups"] == []
    assert groups(awsc, moto, green)[green]["target_groups"] == [w["tg"]]
    ok(awsc, moto, "attach-lbs", "--group", green, w["clb"])
    assert groups(awsc, moto, green)[green]["load_balancers"] == [w["clb"]]
    ok(awsc, moto, "detach-lbs", "--group", green, w["clb"])
    ok(awsc, moto, "resume", "--group", w["blue"], *procs)
    assert groups(awsc, moto, w["blue"])[w["blue"]]["suspended"] == []
    # Blue retired: to zero, then deleted; a second delete: not found.
    ok(awsc, moto, "update-sizes", "--group", w["blue"], "--min", "0",
       "--desired", "0")
    assert groups(awsc, moto, w["blue"])[w["blue"]]["instances"] == []
    ok(awsc, moto, "delete-group", "--group", w["blue"])
    r = awsc("asg", "delete-group", "--group", w["blue"], env=moto.env())
    assert (r.returncode, r.stdout) == (3, "not-found\n"), r.stderr
    assert f"group '{w['blue']}': not found" in r.stderr
    # What was sent: never a ForceDelete.
    assert w["blue"] not in groups(awsc, moto)


def test_refusals_name_the_group_and_reason(awsc, moto, world):
    r = awsc("asg", "create-group", "--group", "g", "--lt-id", "lt-1",
             "--lc", "lc", "--min", "0", "--max", "1", "--desired", "0",
             env=moto.env())
    assert r.returncode == 64, r.stderr
    assert "'g': give exactly one of a launch template" in r.stderr
    r = awsc("asg", "update-sizes", "--group", "no-such-group", "--min", "0",
             env=moto.env())
    assert r.returncode == 3 and r.stdout == "not-found\n", r.stderr
    r = awsc("asg", "suspend", "--group", world["blue"], "Launch",
             env=moto.env(AWS_SECRET_ACCESS_KEY="wrong-secret"))
    assert r.returncode == 77, r.stderr
    assert "SignatureDoesNotMatch" in r.stderr
    assert groups(awsc, moto, world["blue"])[world["blue"]]["suspended"] \
        == []
