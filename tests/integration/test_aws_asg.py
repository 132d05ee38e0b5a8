# SPDX-License-Identifier: ISC
"""Auto Scaling lifecycle calls (lib/aws/asg.c through awsc) against our
peer (tests/peers/imds_asg.py), which verifies every SigV4 signature with
botocore and holds instances in Pending:Wait; the lifecycle-hook calls
also against moto."""
import time

import pytest

AK, SK = "AKIAASGPEERTEST00001", "asg-peer-secret-never-printed"
GROUP, HOOK = "web-asg", "hookd-launch"


@pytest.fixture
def asg(imds, awsc):
    awsc.secrets.add(SK)
    imds.configure(
        static_keys={AK: SK},
        groups={GROUP: {"hooks": {HOOK: {"HeartbeatTimeout": "60",
                                         "DefaultResult": "ABANDON"}}}},
        instances={"i-0aaa": {"AutoScalingGroupName": GROUP,
                              "LifecycleHookName": HOOK},
                   "i-0bbb": {"AutoScalingGroupName": GROUP,
                              "LifecycleHookName": HOOK}})
    return imds


def env_for(imds, **extra):
    e = imds.env(AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK,
                 AWS_REGION="us-east-1")
    e.update(extra)
    return e


def states(awsc, imds, *ids, **env):
    r = awsc("asg", "describe-instances", *ids, env=env_for(imds, **env))
    assert r.returncode == 0, r.stderr
    return {ln.split()[0]: ln.split()[2] for ln in r.stdout.splitlines()}


def action(*extra, iid="i-0aaa"):
    a = ["--group", GROUP, "--hook", HOOK]
    if iid is not None:
        a += ["--instance", iid]
    return a + list(extra)


def test_heartbeat_then_continue(awsc, asg):
    assert states(awsc, asg, "i-0aaa") == {"i-0aaa": "Pending:Wait"}
    r = awsc("asg", "heartbeat", *action(), env=env_for(asg))
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr
    r = awsc("asg", "complete", *action("--result", "CONTINUE"),
             env=env_for(asg))
    assert r.returncode == 0 and r.stdout == "ok\n", r.stderr
    assert states(awsc, asg) == {"i-0aaa": "InService",
                                 "i-0bbb": "Pending:Wait"}
    inst = asg.state()["instances"]["i-0aaa"]
    assert inst["heartbeats"] == 1 and inst["result"] == "CONTINUE"
    # What the peer received: signed requests (verified with botocore),
    # the Query protocol version, the right region.
    calls = asg.log(kind="autoscaling")
    assert [c["action"] for c in calls] == [
        "DescribeAutoScalingInstances", "RecordLifecycleActionHeartbeat",
        "CompleteLifecycleAction", "DescribeAutoScalingInstances"]
    assert all(c["status"] == 200 and c["access_key"] == AK and
               c["region"] == "us-east-1" for c in calls)
    done = calls[2]["params"]
    assert done["Version"] == "2011-01-01"
    assert done["InstanceId"] == "i-0aaa"
    assert done["LifecycleActionResult"] == "CONTINUE"


def test_already_completed_is_its_own_outcome(awsc, asg):
    args = action("--result", "CONTINUE")
    assert awsc("asg", "complete", *args, env=env_for(asg)).returncode == 0
    r = awsc("asg", "complete", *args, env=env_for(asg))
    assert r.returncode == 3
    assert r.stdout == "no-active-action\n"
    assert "No active Lifecycle Action found with instance ID i-0aaa" in \
        r.stderr
    r = awsc("asg", "heartbeat", *action(), env=env_for(asg))
    assert r.returncode == 3 and r.stdout == "no-active-action\n"


def test_complete_by_token_abandon(awsc, asg):
    token = asg.state()["instances"]["i-0bbb"]["LifecycleActionToken"]
    r = awsc("asg", "complete", *action("--token", token, "--result",
                                        "ABANDON", iid=None),
             env=env_for(asg))
    assert r.returncode == 0, r.stderr
    assert states(awsc, asg, "i-0bbb") == {"i-0bbb": "Terminating"}
    r = awsc("asg", "complete", *action("--token", "not-a-token", iid=None),
             env=env_for(asg))
    assert r.returncode == 3
    assert "No active Lifecycle Action found with token" in r.stderr


def test_heartbeat_timeout_applies_default_result(awsc, imds):
    imds.configure(
        static_keys={AK: SK},
        groups={GROUP: {"hooks": {HOOK: {"HeartbeatTimeout": "1",
                                         "DefaultResult": "ABANDON"}}}},
        instances={"i-0ccc": {"AutoScalingGroupName": GROUP,
                              "LifecycleHookName": HOOK}})
    deadline = time.monotonic() + 10
    while states(awsc, imds, "i-0ccc")["i-0ccc"] == "Pending:Wait":
        assert time.monotonic() < deadline, "heartbeat timeout ignored"
        time.sleep(0.2)   # poll interval
    assert states(awsc, imds, "i-0ccc") == {"i-0ccc": "Terminating"}
    r = awsc("asg", "complete", *action(iid="i-0ccc"), env=env_for(imds))
    assert r.returncode == 3 and r.stdout == "no-active-action\n"


def test_bad_arguments_are_usage_errors(awsc, asg):
    r = awsc("asg", "complete", *action(iid=None), env=env_for(asg))
    assert r.returncode == 64
    assert "either an instance id or a lifecycle action token" in r.stderr
    r = awsc("asg", "complete", *action("--result", "MAYBE"),
             env=env_for(asg))
    assert r.returncode == 64
    assert asg.log(kind="autoscaling") == []   # nothing was sent


def test_put_and_describe_hooks_on_the_peer(awsc, asg):
    r = awsc("asg", "put-hook", "--group", "g2", "--hook", "deploy",
             "--heartbeat-timeout", "120", "--default-result", "CONTINUE",
             "--metadata", '{"app":"web"}', env=env_for(asg))
    assert r.returncode == 0, r.stderr
    r = awsc("asg", "describe-hooks", "--group", "g2", env=env_for(asg))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ("deploy autoscaling:EC2_INSTANCE_LAUNCHING 120 "
                        'CONTINUE {"app":"web"}\n')


def test_put_and_describe_hooks_on_moto(awsc, moto):
    asg = moto.client("autoscaling")
    ec2 = moto.client("ec2")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    asg.create_launch_configuration(LaunchConfigurationName="lc",
                                    ImageId=ami, InstanceType="t3.micro")
    asg.create_auto_scaling_group(AutoScalingGroupName="moto-asg",
                                  LaunchConfigurationName="lc", MinSize=0,
                                  MaxSize=1, AvailabilityZones=["us-east-1a"])
    r = awsc("asg", "put-hook", "--group", "moto-asg", "--hook", "launch",
             "--heartbeat-timeout", "300", "--default-result", "ABANDON",
             env=moto.env())
    assert r.returncode == 0, r.stderr
    r = awsc("asg", "describe-hooks", "--group", "moto-asg", env=moto.env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[:4] == ["launch",
                                    "autoscaling:EC2_INSTANCE_LAUNCHING",
                                    "300", "ABANDON"]
    hooks = asg.describe_lifecycle_hooks(AutoScalingGroupName="moto-asg")
    assert hooks["LifecycleHooks"][0]["HeartbeatTimeout"] == 300


def test_wrong_secret_is_a_clear_permission_error(awsc, asg):
    r = awsc("asg", "describe-instances",
             env=env_for(asg, AWS_SECRET_ACCESS_KEY="wrong"), verbose=True)
    assert r.returncode == 77
    assert "autoscaling DescribeAutoScalingInstances: " \
        "SignatureDoesNotMatch" in r.stderr
    assert asg.log(kind="autoscaling")[-1]["error"] == \
        "SignatureDoesNotMatch"


def test_500_twice_then_complete_succeeds(awsc, asg, proxy):
    p = proxy(asg.url)
    p.rules([{"match": {"action": "CompleteLifecycleAction"},
              "fault": "status", "status": 500, "times": 2}])
    r = awsc("asg", "complete", *action(),
             env=env_for(asg, AWS_ENDPOINT_URL_AUTO_SCALING=p.url))
    assert r.returncode == 0, r.stderr
    assert [e["status"] for e in p.log("CompleteLifecycleAction")] == \
        [500, 500, 200]
    assert asg.state()["instances"]["i-0aaa"]["LifecycleState"] == \
        "InService"
