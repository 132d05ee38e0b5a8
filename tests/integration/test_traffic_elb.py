# SPDX-License-Identifier: ISC
"""Traffic control against our scripted load balancer (tests/peers/elb.py:
the ELBv2 and Classic Query APIs with SigV4 checked, targets whose
states move in time): one `hookd run` daemon with a target group and a
Classic Load Balancer in its traffic: block.  The peer's request log
(wall-clock times) against the scripts' own time stamps shows the order;
the progress documents show the waits; kill -9 in each traffic step
shows recovery putting the instance back.
"""
import os
import signal
import types

import pytest

from conftest import binary, run
from daemon_util import (INSTANCE, FileStore, Spool, daemon,  # noqa: F401
                         message, spool_config, wait_status)
from lifecycle_util import make_bundle, wait_for, ws  # noqa: F401

EVENTS = ["BeforeBlockTraffic", "AfterBlockTraffic", "ApplicationStop",
          "BeforeInstall", "AfterInstall", "ApplicationStart",
          "ValidateService", "BeforeAllowTraffic", "AfterAllowTraffic"]
STAMP_SH = """#!/bin/bash
echo "$LIFECYCLE_EVENT $(cat VERSION) $(date +%s.%N)" >> @OUT@
"""
UNHEALTHY = {"reason": "Target.ResponseCodeMismatch",
             "description": "Health checks failed with these codes: [502]"}


class World:
    def __init__(self, ws, daemon, lb, traffic_extra=""):
        self.ws, self.lb = ws, lb
        self.store = FileStore(ws.base)
        self.spool = Spool(ws.base)
        self.stamps = ws.base / "stamps"
        self.arn = lb.arn("web")
        self.seq = 0
        self.traffic = (f"traffic:\n  target_groups: [{self.arn}]\n"
                        f"  load_balancers: [classic]\n{traffic_extra}")
        self.h = daemon(ws, spool_config(ws), env=lb.env(), start=False)
        with open(self.h.cfgpath, "a") as f:
            f.write(self.traffic)
        self.h.start()

    def bundle(self, version):
        hooks = "".join(f"  {ev}:\n    - location: scripts/stamp.sh\n"
                        for ev in EVENTS)
        files = {"appspec.yml": "version: 0.0\nos: linux\nhooks:\n" + hooks,
                 "VERSION": version + "\n",
                 "scripts/stamp.sh": (STAMP_SH.replace(
                     "@OUT@", str(self.stamps)), 0o755)}
        return self.store.put_bundle(make_bundle(self.ws, "app", files,
                                                 fmt="tgz", subdir=version))

    def send(self, version):
        self.seq += 1
        m = message(self.store.url, self.bundle(version), self.seq)
        self.spool.send(m)
        return m["deployment_id"]

    def deploy(self, version, want="Succeeded", timeout=60):
        did = self.send(version)
        return did, wait_status(self.store, did, want, timeout)

    def stamp(self, event, version):
        for line in self.stamps.read_text().splitlines():
            ev, v, t = line.split()
            if ev == event and v == version:
                return float(t)
        raise AssertionError(f"no {event} of {version} ran")

    def calls(self, action):
        return [e for e in self.lb.log(action, INSTANCE)
                if e["status"] == 200]


def event(p, name, rollback=False):
    for e in p["events"]:
        if e["event"] == name and e.get("rollback", False) == rollback:
            return e
    raise AssertionError(f"no {name} in {[e['event'] for e in p['events']]}")


@pytest.fixture
def lb(elb_peer):
    elb_peer.configure(
        target_groups={"web": {"deregistration_delay": 2,
                               "health_check_interval": 1,
                               "registered": [INSTANCE]}},
        load_balancers={"classic": {"registered": [INSTANCE]}})
    return elb_peer


def test_out_before_stop_and_in_after_validate(ws, daemon, lb):
    w = World(ws, daemon, lb)
    _, p1 = w.deploy("v1")
    # First install: nothing to block; registered after ValidateService.
    assert event(p1, "BlockTraffic")["status"] == "Skipped"
    assert not w.calls("DeregisterTargets")
    _, p2 = w.deploy("v2")
    for dereg, reg in (("DeregisterTargets", "RegisterTargets"),
                       ("DeregisterInstancesFromLoadBalancer",
                        "RegisterInstancesWithLoadBalancer")):
        out = w.calls(dereg)
        back = w.calls(reg)
        assert len(out) == 1, dereg
        assert out[0]["t"] < w.stamp("ApplicationStop", "v1")
        assert out[0]["t"] > w.stamp("BeforeBlockTraffic", "v1")
        assert back[-1]["t"] > w.stamp("ValidateService", "v2")
        assert back[-1]["t"] < w.stamp("AfterAllowTraffic", "v2")
    # The waits polled the health of both until out / in.
    assert w.calls("DescribeTargetHealth")
    assert w.calls("DescribeInstanceHealth")
    assert lb.state()[w.arn][INSTANCE][0] == "healthy"
    assert lb.state()["classic"][INSTANCE][0] == "InService"
    names = [e["event"] for e in p2["events"]]
    assert names[:4] == ["BeforeBlockTraffic", "BlockTraffic",
                         "AfterBlockTraffic", "ApplicationStop"]
    assert names[-3:] == ["BeforeAllowTraffic", "AllowTraffic",
                          "AfterAllowTraffic"]


def test_a_drain_of_n_seconds_is_waited_for(ws, daemon, lb):
    w = World(ws, daemon, lb)
    w.deploy("v1")
    lb.script(w.arn, INSTANCE, drain=3)
    did, p = w.deploy("v2")
    blk = event(p, "BlockTraffic")
    assert blk["status"] == "Succeeded"
    assert 3.0 <= blk["duration"] < 3.0 + 6.0, blk
    out = w.calls("DeregisterTargets")[-1]["t"]
    # never counted draining as out: ApplicationStop came after the drain
    assert w.stamp("ApplicationStop", "v1") >= out + 3.0
    log = (ws.root / "logs" / f"{did}.log").read_text()
    assert "draining: target group " + w.arn + ": draining " \
        "(Target.DeregistrationInProgress" in log


def test_held_unhealthy_fails_at_healthy_timeout_with_its_reason(ws, daemon,
                                                                  lb):
    w = World(ws, daemon, lb, "  healthy_timeout: 3\n")
    w.deploy("v1")
    lb.script(w.arn, INSTANCE, unhealthy=UNHEALTHY)
    did, p = w.deploy("v2", want="Failed")
    assert p["event"] == "AllowTraffic"
    assert (f"target group {w.arn}: still unhealthy after 3 s "
            "(Target.ResponseCodeMismatch: Health checks failed with these "
            "codes: [502])") in p["message"]
    allow = event(p, "AllowTraffic")
    assert 3.0 <= allow["duration"] < 3.0 + 6.0, allow
    # v2 never became healthy: it was taken out again, the old release
    # restarted, and since the target stays unhealthy it stays out.
    assert event(p, "ApplicationStart", rollback=True)["status"] == \
        "Succeeded"
    assert w.calls("DeregisterTargets")[-1]["t"] > \
        w.calls("RegisterTargets")[-1]["t"]
    st = ws.state("app", "production")
    assert st["current"]["deployment_id"] != did


def test_a_target_that_never_drains_fails_and_is_put_back(ws, daemon, lb):
    w = World(ws, daemon, lb, "  drain_timeout: 2\n")
    w.deploy("v1")
    lb.script(w.arn, INSTANCE, never_drains=True)
    did, p = w.deploy("v2", want="Failed")
    assert p["event"] == "BlockTraffic"
    assert "still draining after 2 s" in p["message"]
    # The live release never stopped, and it is registered again.
    with pytest.raises(AssertionError):
        w.stamp("ApplicationStop", "v1")
    assert w.calls("RegisterTargets")[-1]["t"] > \
        w.calls("DeregisterTargets")[-1]["t"]
    lb.script(w.arn, INSTANCE, never_drains=None)
    wait_for(lambda: lb.state()[w.arn][INSTANCE][0] == "healthy", 10)


def children(pid):
    out = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            out += [int(x) for x in f.read().split()]
    return out


@pytest.mark.parametrize("who", ["daemon", "deployment process"])
@pytest.mark.parametrize("step", ["BlockTraffic", "AllowTraffic"])
def test_kill_9_in_a_traffic_step_is_finished_or_undone(ws, daemon, lb,
                                                        step, who):
    w = World(ws, daemon, lb)
    w.deploy("v1")
    if step == "BlockTraffic":
        lb.script(w.arn, INSTANCE, drain=60)
    else:
        lb.script(w.arn, INSTANCE, initial=60)
    did = w.send("v2")

    def waiting():
        p = w.store.progress(did)
        return p is not None and p.get("event") == step and \
            p.get("traffic") is not None
    p = wait_for(waiting, 60, what=f"{step} waiting")
    p = w.store.progress(did)
    assert p["traffic"]["step"] == ("draining" if step == "BlockTraffic"
                                    else "waiting for healthy")
    assert w.arn in p["traffic"]["detail"]
    # hookd status says the host is (or may be) out of traffic.
    r = run([binary("hookd"), "status", "--root", ws.root])
    assert "traffic:     out of its load balancers" in r.stdout, r.stdout
    if who == "daemon":
        w.h.proc.send_signal(signal.SIGKILL)
        w.h.proc.wait()
        # The dead daemon's deployment process goes with it (PDEATHSIG).
        lb.script(w.arn, INSTANCE, drain=None, initial=None)
        w.h.start()
    else:
        dep = children(w.h.pid())
        assert len(dep) == 1
        os.kill(dep[0], signal.SIGKILL)
        lb.script(w.arn, INSTANCE, drain=None, initial=None)
        w.h.wait_log(f"deployment {did}: its process {dep[0]} was killed")
    # Recovery puts the old release back and the instance in traffic.
    def recovered():
        st = ws.state("app", "production")
        return any(x["deployment_id"] == did for x in st["history"])
    wait_for(recovered, 60, what="recovery")
    wait_for(lambda: lb.state()[w.arn][INSTANCE][0] == "healthy", 30)
    wait_for(lambda: lb.state()["classic"][INSTANCE][0] == "InService", 30)
    st = ws.state("app", "production")
    h = [x for x in st["history"] if x["deployment_id"] == did]
    assert h and h[0]["status"] == "Interrupted", st["history"]
    # The message is delivered again and runs to the end.
    wait_status(w.store, did, "Succeeded", 60)
    assert lb.state()[w.arn][INSTANCE][0] == "healthy"


def test_moto_sequence_from_the_auto_scaling_group(ws, daemon, moto, proxy):
    """Against moto (signatures checked) through the recording proxy:
    the target group comes from the instance's Auto Scaling group
    (from_auto_scaling_group), the Classic LB from hookd.yml; Deregister
    comes before the first ApplicationStop script and Register after
    ValidateService.  (moto keeps an Auto Scaling group's instances in
    the group's Classic LBs whatever is deregistered, so this group has
    only the target group.)"""
    from test_aws_elb import World as ElbWorld
    aw = ElbWorld(moto)
    iid = aw.instances[0]
    asg = moto.client("autoscaling")
    ami = moto.client("ec2").describe_images()["Images"][0]["ImageId"]
    name = "tc-" + ws.base.name[-6:]
    asg.create_launch_configuration(LaunchConfigurationName=name,
                                    ImageId=ami, InstanceType="t3.micro")
    subnet = moto.client("ec2").describe_instances(InstanceIds=[iid])[
        "Reservations"][0]["Instances"][0]["SubnetId"]
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name, LaunchConfigurationName=name, MinSize=0,
        MaxSize=2, DesiredCapacity=0, VPCZoneIdentifier=subnet,
        TargetGroupARNs=[aw.tg])
    asg.attach_instances(InstanceIds=[iid], AutoScalingGroupName=name)
    for c, kw in ((moto.client("elbv2").register_targets,
                   {"TargetGroupArn": aw.tg, "Targets": [{"Id": iid}]}),
                  (moto.client("elb").register_instances_with_load_balancer,
                   {"LoadBalancerName": aw.clb,
                    "Instances": [{"InstanceId": iid}]})):
        c(**kw)
    p = proxy(moto.url)
    store, spool = FileStore(ws.base), Spool(ws.base, instance=iid)
    h = daemon(ws, spool_config(ws, instance_id=iid),
               env=moto.env(p.url), start=False)
    with open(h.cfgpath, "a") as f:
        f.write("traffic:\n  from_auto_scaling_group: true\n"
                f"  load_balancers: [{aw.clb}]\n")
    h.start()
    assert f"traffic control: and the load balancers of Auto Scaling " \
        f"group {name}" in h.stderr()
    w = types.SimpleNamespace(ws=ws, store=store, spool=spool,
                              stamps=ws.base / "stamps", seq=0)
    for v in ("v1", "v2"):
        w.seq += 1
        m = message(store.url, World.bundle(w, v), w.seq)
        spool.send(m)
        wait_for(lambda: (store.progress(m["deployment_id"], instance=iid)
                          or {}).get("status") == "Succeeded", 60,
                 what=f"{v} to succeed")
    stop = World.stamp(w, "ApplicationStop", "v1")
    validate = World.stamp(w, "ValidateService", "v2")

    def calls(action):
        return [e for e in p.log(action) if e["status"] == 200 and
                iid in str(e["form"])]
    for dereg, reg in (("DeregisterTargets", "RegisterTargets"),
                       ("DeregisterInstancesFromLoadBalancer",
                        "RegisterInstancesWithLoadBalancer")):
        out, back = calls(dereg), calls(reg)
        assert len(out) == 1, (dereg, out)
        assert out[0]["t"] < stop
        assert back and back[-1]["t"] > validate
    # Until out and until in: the health was asked, and moto says so.
    assert calls("DescribeTargetHealth")
    d = moto.client("elbv2").describe_target_health(
        TargetGroupArn=aw.tg, Targets=[{"Id": iid}])
    assert d["TargetHealthDescriptions"][0]["TargetHealth"]["State"] == \
        "healthy"
