#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B10: blue/green of 3 instances on the fleet peer (tests/peers/fleet.py:
Auto Scaling and a target group in moto, a real `hookd run` per launched
instance, held by the launch hook until it caught up).  A first rollout
makes the first green; the second is measured: the time from `deployer`
start to traffic on green (the "traffic on green" line) and to its end;
then `deployer rollback`, a swap back to the kept group with nothing
deployed.  Goal for the swap: at most two health-check intervals + 1 s
(the target group's interval is set to 5 s; moto answers healthy at
once, so the figure is the deployer's own cost: Auto Scaling and ELB
calls, polls every HOOKD_BG_POLL_MS)."""
import re
import shutil
import subprocess
import time
import uuid

import benchlib as bl

APP, GROUP, HOOK = "bg", "production", "hookd-launch"
INTERVAL_S = 5
POLL_MS = 200
DEP_ID = re.compile(r"deployment (d-[A-Z0-9]{9})")
GIT_ENV = {"GIT_AUTHOR_NAME": "Bench", "GIT_AUTHOR_EMAIL": "b@example.com",
           "GIT_COMMITTER_NAME": "Bench",
           "GIT_COMMITTER_EMAIL": "b@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def git(repo, *args):
    env = dict(bl.base_env(), **GIT_ENV)
    subprocess.run(["git", "-C", str(repo)] + list(args), env=env,
                   check=True, capture_output=True)


def timed_deployer(ctx, repo, env, args, mark=None):
    """(seconds to the line containing mark, total seconds, stdout)."""
    t0 = time.monotonic()
    p = subprocess.Popen([ctx.deployer] + args, cwd=str(repo), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    at, out = None, []
    for line in p.stdout:
        out.append(line)
        if mark is not None and at is None and mark in line:
            at = time.monotonic() - t0
    p.wait()
    total = time.monotonic() - t0
    if p.returncode != 0:
        raise RuntimeError(f"deployer {args[0]} exited {p.returncode}: "
                           f"{''.join(out)[-400:]}")
    return at, total, "".join(out)


def run(ctx):
    import fixtures
    work = ctx.tmpdir(prefix="hookd-b10-")
    peers = None
    try:
        peers = bl.Peers(work / "peers")
        moto = peers.moto
        fleet = fixtures.FleetPeer(peers.procs, str(work / "peers"), moto)
        blue = "b10-" + uuid.uuid4().hex[:6]
        bucket = "b10-" + uuid.uuid4().hex[:10]
        prefix = "b" + uuid.uuid4().hex[:6]
        moto.client("s3").create_bucket(Bucket=bucket)
        store = f"s3://{bucket}/deploys"
        ec2, asg = moto.client("ec2"), moto.client("autoscaling")
        vpc = ec2.create_vpc(CidrBlock="10.6.0.0/16")["Vpc"]["VpcId"]
        ami = ec2.describe_images()["Images"][0]["ImageId"]
        lt = ec2.create_launch_template(
            LaunchTemplateName=blue, LaunchTemplateData={
                "ImageId": ami, "InstanceType": "t3.micro"})
        tg = moto.client("elbv2").create_target_group(
            Name=blue, Protocol="HTTP", Port=80, VpcId=vpc,
            HealthCheckIntervalSeconds=INTERVAL_S,
            TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
        fleet.configure(
            hookd=ctx.hookd, workdir=str(work / "fleet"),
            group_prefixes=[blue], env=moto.env(),
            hookd_config=dict(application=APP, deployment_group=GROUP,
                              store=store, queue="sqs", queue_prefix=prefix,
                              region=moto.region, poll_wait=1,
                              delete_queue_on_shutdown=True,
                              lifecycle_hook=HOOK))
        asg.create_auto_scaling_group(
            AutoScalingGroupName=blue, LaunchTemplate={
                "LaunchTemplateId": lt["LaunchTemplate"]["LaunchTemplateId"]},
            MinSize=0, MaxSize=6, DesiredCapacity=0,
            AvailabilityZones=["us-east-1a"], TargetGroupARNs=[tg])
        asg.put_lifecycle_hook(
            AutoScalingGroupName=blue, LifecycleHookName=HOOK,
            LifecycleTransition="autoscaling:EC2_INSTANCE_LAUNCHING",
            HeartbeatTimeout=120, DefaultResult="ABANDON")
        asg.update_auto_scaling_group(AutoScalingGroupName=blue, MinSize=3,
                                      DesiredCapacity=3)
        bl.wait_for(lambda: len(fleet.instances(blue, "InService")) == 3,
                    60, "blue InService", interval=0.1)
        repo = work / "repo"
        bl.write(repo / "appspec.yml", bl.appspec(bl.HOOK_EVENTS))
        bl.write(repo / "scripts" / "hook.sh", "#!/bin/sh\nexit 0\n", 0o755)
        bl.write(repo / "VERSION", "1\n")
        bl.write(repo / "deployer.yml",
                 f"application: {APP}\nstore: {store}\nqueue: sqs\n"
                 f"queue_prefix: {prefix}\nregion: {moto.region}\n"
                 f"groups:\n  {GROUP}:\n    strategy: blue_green\n"
                 f"    blue_green:\n      auto_scaling_group: {blue}\n"
                 f"      keep_blue: 3600\n")
        git(repo, "init", "-q", "-b", "master")
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "v1")
        env = dict(bl.base_env(), **GIT_ENV)
        env.update(fleet.env(), HOOKD_BG_POLL_MS=str(POLL_MS))
        ctx.log("B10 first rollout (makes the first green)")
        timed_deployer(ctx, repo, env, [GROUP, "HEAD"])
        bl.write(repo / "VERSION", "2\n")
        git(repo, "commit", "-q", "-am", "v2")
        ctx.log("B10 measured rollout")
        to_traffic, total, out = timed_deployer(
            ctx, repo, env, [GROUP, "HEAD"], mark="traffic on green")
        ctx.log("B10 rollback swap")
        _, swap, _ = timed_deployer(ctx, repo, env, ["rollback", GROUP])
        goal = 2 * INTERVAL_S + 1
        return [
            bl.Row("b10_to_traffic_s", "blue/green of 3: deployer start to "
                   "traffic on green", round(to_traffic, 2), "s",
                   note=f"polls every {POLL_MS} ms; green catches up under "
                   "the launch hook (download + 5 hooks)"),
            bl.Row("b10_total_s", "blue/green of 3: whole deployer run "
                   "(retires the kept group of the release before)",
                   round(total, 2), "s"),
            bl.Row("b10_swap_s", "rollback by swap (nothing deployed)",
                   round(swap, 2), "s", goal=f"<= {goal} s (2 health-check "
                   f"intervals of {INTERVAL_S} s + 1 s)", ok=swap <= goal),
        ]
    finally:
        if peers is not None:
            peers.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    import sys
    import pathlib
    c = bl.Ctx(sys.argv[1] if len(sys.argv) > 1 else
               pathlib.Path(__file__).resolve().parents[1] / "build")
    for r in run(c):
        print(r.key, r.value, r.unit, r.goal or "", r.note or "")
