# SPDX-License-Identifier: ISC
"""Elastic Load Balancing calls (lib/aws/elb.c through awsc) against moto
with signature checking on: an ALB target group and a Classic Load
Balancer in a VPC, real (moto) EC2 instances registered, deregistered
and asked for; InvalidTarget on deregister counts as already out;
throttling is retried (through the fault proxy); the per-API endpoint
overrides are followed; the target groups and Classic LBs attached to an
Auto Scaling group are found.  What each call did is checked with
botocore against moto's own state, not only with awsc's word."""
import itertools
import time

import pytest

_seq = itertools.count()


def uniq(prefix):
    return f"{prefix}{next(_seq)}"


class World:
    """An ALB target group, a Classic LB and instances, made with botocore.
    """

    def __init__(self, moto):
        ec2 = moto.client("ec2")
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        self.vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        subnets = [ec2.create_subnet(VpcId=self.vpc,
                                     CidrBlock=f"10.9.{i}.0/24",
                                     AvailabilityZone=f"us-east-1{z}")
                   ["Subnet"]["SubnetId"] for i, z in ((1, "a"), (2, "b"))]
        r = ec2.run_instances(ImageId=ami, MinCount=4, MaxCount=4,
                              SubnetId=subnets[0])
        self.instances = [i["InstanceId"] for i in r["Instances"]]
        self.stopped = self.instances.pop()
        ec2.stop_instances(InstanceIds=[self.stopped])
        v2 = moto.client("elbv2")
        name = uniq("alb")
        v2.create_load_balancer(Name=name, Subnets=subnets)
        self.tg_name = uniq("web")
        self.tg = v2.create_target_group(
            Name=self.tg_name, Protocol="HTTP", Port=80, VpcId=self.vpc,
            HealthCheckIntervalSeconds=10)["TargetGroups"][0][
                "TargetGroupArn"]
        v2.modify_target_group_attributes(
            TargetGroupArn=self.tg,
            Attributes=[{"Key": "deregistration_delay.timeout_seconds",
                         "Value": "45"}])
        self.clb = uniq("classic")
        moto.client("elb").create_load_balancer(
            LoadBalancerName=self.clb,
            Listeners=[{"Protocol": "HTTP", "LoadBalancerPort": 80,
                        "InstancePort": 80}],
            AvailabilityZones=["us-east-1a"])
        asg = moto.client("autoscaling")
        lc = uniq("lc")
        asg.create_launch_configuration(LaunchConfigurationName=lc,
                                        ImageId=ami,
                                        InstanceType="t3.micro")
        self.asg = uniq("asg")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=self.asg, LaunchConfigurationName=lc,
            MinSize=0, MaxSize=1, DesiredCapacity=0,
            VPCZoneIdentifier=subnets[0], TargetGroupARNs=[self.tg],
            LoadBalancerNames=[self.clb])
        self.bare_asg = uniq("asg")
        asg.create_auto_scaling_group(
            AutoScalingGroupName=self.bare_asg, LaunchConfigurationName=lc,
            MinSize=0, MaxSize=1, DesiredCapacity=0,
            VPCZoneIdentifier=subnets[0])


@pytest.fixture(scope="module")
def world(moto):
    return World(moto)


def tg_state(moto, tg, iid):
    """What moto itself says about iid in target group tg."""
    d = moto.client("elbv2").describe_target_health(
        TargetGroupArn=tg, Targets=[{"Id": iid}])["TargetHealthDescriptions"]
    return d[0]["TargetHealth"]["State"]


def clb_members(moto, name):
    d = moto.client("elb").describe_load_balancers(
        LoadBalancerNames=[name])["LoadBalancerDescriptions"][0]
    return {i["InstanceId"] for i in d["Instances"]}


def elb(awsc, env, *args):
    r = awsc("elb", *args, env=env)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_target_group_out_and_back(awsc, moto, proxy, world):
    p = proxy(moto.url)
    env = moto.env(p.url)
    iid = world.instances[0]
    tg = ["--target-group", world.tg, "--instance", iid]
    assert elb(awsc, env, "register", *tg) == "ok"
    assert tg_state(moto, world.tg, iid) == "healthy"
    assert elb(awsc, env, "health", *tg) == "healthy"
    assert elb(awsc, env, "deregister", *tg) == "ok"
    assert tg_state(moto, world.tg, iid) == "unused"
    assert elb(awsc, env, "health", *tg) == \
        "unused Target.NotRegistered: Target is not registered to the " \
        "target group"
    # Out already: moto says InvalidTarget, which is success.
    assert elb(awsc, env, "deregister", *tg) == "ok"
    dereg = p.log("DeregisterTargets")
    assert [e["status"] for e in dereg] == [200, 400]
    assert "InvalidTarget" in dereg[1]["reply"]
    # The request as the API wants it, signed for elasticloadbalancing.
    form = dereg[0]["form"]
    assert form["Version"] == "2015-12-01"
    assert form["TargetGroupArn"] == world.tg
    assert form["Targets.member.1.Id"] == iid
    assert {e["service"] for e in p.log()} == {"elasticloadbalancing"}


def test_target_group_by_name_and_timing(awsc, moto, world):
    env = moto.env()
    iid = world.instances[1]
    tg = ["--target-group", world.tg_name, "--instance", iid]
    assert elb(awsc, env, "register", *tg) == "ok"
    assert tg_state(moto, world.tg, iid) == "healthy"
    assert elb(awsc, env, "deregister", *tg) == "ok"
    assert tg_state(moto, world.tg, iid) == "unused"
    assert elb(awsc, env, "timing", "--target-group", world.tg) == "45 10"
    r = awsc("elb", "health", "--target-group", "no-such-group",
             "--instance", iid, env=env)
    assert r.returncode != 0
    assert "target group no-such-group: elasticloadbalancing " \
        "DescribeTargetGroups: TargetGroupNotFound" in r.stderr


def test_register_refused_is_an_error(awsc, moto, world):
    # Registering a stopped instance is InvalidTarget too, but an error.
    r = awsc("elb", "register", "--target-group", world.tg, "--instance",
             world.stopped, env=moto.env())
    assert r.returncode == 76, r.stderr
    assert f"target group {world.tg}: elasticloadbalancing " \
        "RegisterTargets: InvalidTarget" in r.stderr
    assert world.stopped in r.stderr


def test_classic_out_and_back(awsc, moto, world):
    env = moto.env()
    iid = world.instances[2]
    lb = ["--load-balancer", world.clb, "--instance", iid]
    assert elb(awsc, env, "register", *lb) == "ok"
    assert iid in clb_members(moto, world.clb)
    assert elb(awsc, env, "health", *lb) == "InService"
    assert elb(awsc, env, "deregister", *lb) == "ok"
    assert iid not in clb_members(moto, world.clb)
    # moto says "Unknown" for an instance it does not hold; we ask the
    # load balancer's instance list and report it out.
    assert elb(awsc, env, "health", *lb) == \
        "OutOfService Instance is not registered with the load balancer"
    assert elb(awsc, env, "deregister", *lb) == "ok"
    # (moto answers a register to a missing LB with a 500.)
    r = awsc("elb", "health", "--load-balancer", "no-such-lb",
             "--instance", iid, env=env)
    assert r.returncode == 76
    assert "load balancer no-such-lb: elasticloadbalancing " \
        "DescribeInstanceHealth: LoadBalancerNotFound" in r.stderr


def test_throttling_is_retried(awsc, moto, proxy, world):
    p = proxy(moto.url)
    iid = world.instances[0]
    p.rules([{"match": {"action": "RegisterTargets"}, "fault": "throttle",
              "times": 2},
             {"match": {"action": "DeregisterInstancesFromLoadBalancer"},
              "fault": "throttle", "times": 1}])
    env = moto.env(p.url)
    assert elb(awsc, env, "register", "--target-group", world.tg,
               "--instance", iid) == "ok"
    assert [e["status"] for e in p.log("RegisterTargets")] == [400, 400, 200]
    assert tg_state(moto, world.tg, iid) == "healthy"
    assert elb(awsc, env, "deregister", "--load-balancer", world.clb,
               "--instance", iid) == "ok"
    assert [e["status"] for e in
            p.log("DeregisterInstancesFromLoadBalancer")] == [400, 200]
    # Throttled past the attempts: a temporary failure (EX_TEMPFAIL).
    p.rules([{"match": {"action": "DescribeTargetHealth"},
              "fault": "throttle"}])
    r = awsc("elb", "health", "--target-group", world.tg, "--instance", iid,
             env=env)
    assert r.returncode == 75
    assert "Throttling" in r.stderr
    assert len(p.log("DescribeTargetHealth")) == 3


def test_endpoint_overrides(awsc, moto, proxy, world):
    p = proxy(moto.url)
    iid = world.instances[0]
    # v2 through the proxy, Classic straight to moto, nothing else
    # anywhere: each API follows its own variable.
    env = moto.env("http://127.0.0.1:1",
                   AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2=p.url,
                   AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING=moto.url)
    assert elb(awsc, env, "health", "--target-group", world.tg,
               "--instance", iid) in ("healthy", "unused Target."
                                      "NotRegistered: Target is not "
                                      "registered to the target group")
    assert elb(awsc, env, "health", "--load-balancer", world.clb,
               "--instance", iid).split()[0] in ("InService",
                                                 "OutOfService")
    assert [e["action"] for e in p.log()] == ["DescribeTargetHealth"]


def test_wrong_secret_is_refused(awsc, moto, world):
    env = moto.env(AWS_SECRET_ACCESS_KEY="wrong-" + moto.secret)
    for args in (["--target-group", world.tg],
                 ["--load-balancer", world.clb]):
        r = awsc("elb", "deregister", *args, "--instance",
                 world.instances[0], env=env)
        assert r.returncode == 77, r.stderr
        assert "SignatureDoesNotMatch" in r.stderr


def test_asg_traffic_sources(awsc, moto, proxy, world):
    p = proxy(moto.url)
    r = awsc("asg", "traffic-sources", "--group", world.asg,
             env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines() == [f"target-group {world.tg}",
                                     f"load-balancer {world.clb}"]
    # moto lacks DescribeTrafficSources (a 500 without an error
    # document, retried as any 500): then the older calls answer.
    assert [e["action"] for e in p.log()] == 3 * [
        "DescribeTrafficSources"] + ["DescribeLoadBalancerTargetGroups",
                                     "DescribeLoadBalancers"]
    r = awsc("asg", "traffic-sources", "--group", world.bare_asg,
             env=moto.env())
    assert r.returncode == 0 and r.stdout == "", r.stderr


# --- our scripted load balancer (tests/peers/elb.py) -------------------

def poll(fn, want, timeout):
    """Call fn() until it returns want; return the seconds it took."""
    t0 = time.monotonic()
    while True:
        got = fn()
        if got == want:
            return time.monotonic() - t0
        assert time.monotonic() - t0 < timeout, f"still {got!r}"
        time.sleep(0.1)   # poll interval


@pytest.fixture
def lb(elb_peer):
    elb_peer.configure(
        target_groups={"web": {"deregistration_delay": 5,
                               "health_check_interval": 2,
                               "registered": ["i-1", "i-2"]}},
        load_balancers={"classic": {"registered": ["i-1"]}})
    return elb_peer


def test_scripted_drain_lasts_its_seconds(awsc, lb):
    env, arn = lb.env(), lb.arn("web")
    tg = ["--target-group", arn, "--instance", "i-1"]
    assert elb(awsc, env, "timing", "--target-group", arn) == "5 2"
    assert elb(awsc, env, "health", *tg) == "healthy"
    lb.script(arn, "i-1", drain=1.5)
    assert elb(awsc, env, "deregister", *tg) == "ok"
    assert elb(awsc, env, "health", *tg) == \
        "draining Target.DeregistrationInProgress: Target deregistration " \
        "is in progress"
    took = poll(lambda: elb(awsc, env, "health", *tg).split()[0], "unused",
                10)
    dereg = lb.log("DeregisterTargets", "i-1")
    assert len(dereg) == 1 and dereg[0]["status"] == 200
    last = lb.log("DescribeTargetHealth", "i-1")[-1]
    assert last["t"] - dereg[0]["t"] >= 1.5
    assert took < 5
    # Deregistered and drained: InvalidTarget, which means "out".
    assert elb(awsc, env, "deregister", *tg) == "ok"
    assert lb.log("DeregisterTargets", "i-1")[-1]["error"] == \
        "InvalidTarget"


def test_scripted_initial_then_healthy_and_held_unhealthy(awsc, lb):
    env, arn = lb.env(), lb.arn("web")
    # Seconds enough for the next two awsc runs on a loaded machine.
    lb.script(arn, "i-3", initial=5)
    lb.script("web", "i-4", unhealthy={
        "reason": "Target.ResponseCodeMismatch",
        "description": "Health checks failed with these codes: [502]"})
    for iid in ("i-3", "i-4"):
        assert elb(awsc, env, "register", "--target-group", "web",
                   "--instance", iid) == "ok"
    h3 = ["--target-group", arn, "--instance", "i-3"]
    assert elb(awsc, env, "health", *h3).startswith(
        "initial Elb.RegistrationInProgress")
    poll(lambda: elb(awsc, env, "health", *h3), "healthy", 20)
    assert elb(awsc, env, "health", "--target-group", arn, "--instance",
               "i-4") == "unhealthy Target.ResponseCodeMismatch: Health " \
        "checks failed with these codes: [502]"
    assert lb.state()[arn]["i-4"][0] == "unhealthy"


def test_scripted_never_drains(awsc, lb):
    env, arn = lb.env(), lb.arn("web")
    lb.script(arn, "i-2", never_drains=True)
    tg = ["--target-group", arn, "--instance", "i-2"]
    assert elb(awsc, env, "deregister", *tg) == "ok"
    t0 = time.monotonic()
    while time.monotonic() - t0 < 1:
        assert elb(awsc, env, "health", *tg).split()[0] == "draining"
    # A second deregister while draining is accepted, still draining.
    assert elb(awsc, env, "deregister", *tg) == "ok"
    assert lb.state()[arn]["i-2"][0] == "draining"


def test_scripted_classic_drain_and_back(awsc, lb):
    env = lb.env()
    c = ["--load-balancer", "classic", "--instance", "i-1"]
    assert elb(awsc, env, "health", *c) == "InService"
    # Seconds enough for the awsc run after each change on a loaded machine.
    lb.script("classic", "i-1", drain=5, initial=5)
    assert elb(awsc, env, "deregister", *c) == "ok"
    assert elb(awsc, env, "health", *c) == \
        "InService ELB: Instance deregistration currently in progress."
    poll(lambda: elb(awsc, env, "health", *c), "OutOfService Instance is "
         "not registered with the load balancer", 20)
    # AWS's answer for an instance the LB does not hold: InvalidInstance.
    assert lb.log("DescribeInstanceHealth")[-1]["error"] == "InvalidInstance"
    assert elb(awsc, env, "register", *c) == "ok"
    assert elb(awsc, env, "health", *c) == \
        "OutOfService ELB: Instance registration is still in progress."
    poll(lambda: elb(awsc, env, "health", *c), "InService", 20)


def test_scripted_peer_checks_signatures_and_throttles(awsc, lb):
    arn = lb.arn("web")
    tg = ["--target-group", arn, "--instance", "i-1"]
    r = awsc("elb", "health", *tg,
             env=lb.env(AWS_SECRET_ACCESS_KEY="wrong-secret"))
    assert r.returncode == 77 and "SignatureDoesNotMatch" in r.stderr
    assert lb.log()[-1]["status"] == 403
    lb.throttle("DescribeTargetHealth", 2)
    assert elb(awsc, lb.env(), "health", *tg) == "healthy"
    assert [e["status"] for e in lb.log("DescribeTargetHealth")] == \
        [403, 400, 400, 200]
