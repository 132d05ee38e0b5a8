# SPDX-License-Identifier: ISC
"""The fleet control plane on S3 and SQS (moto with signature
checking): a leftover queue, a refusing host, interrupt-and-resume,
--no-wait alone, stop, and a queue that disappears under its daemon."""
import random
import re
import signal
import time

import pytest

from daemon_util import daemon  # noqa: F401
from deployer_util import APP, GROUP, AwsFleet
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import wait_for, ws  # noqa: F401

pytestmark = pytest.mark.usefixtures("moto")



@pytest.fixture
def fleet(moto, ws, daemon):
    def make(**kw):
        f = AwsFleet(moto, ws, daemon, **kw)
        f.wait_registered(list(f.daemons))
        return f
    return make


def start_deploy(f, *args):
    p = f.popen_deployer(*args)
    lines = []
    while True:
        line = p.stdout.readline()
        assert line, (lines, p.stderr.read())
        lines.append(line)
        m = DEP_ID.search(line)
        if m:
            return p, m.group(1)


def test_aws_leftover_queue_is_skipped(fleet):
    f = fleet(n=2, timeout=60)
    f.sqs.create_queue(QueueName=f"{f.prefix}-{GROUP}-i-dead")
    t0 = time.monotonic()
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t0 < 30
    assert f"skipping i-dead: queue '{f.prefix}-{GROUP}-i-dead' has no " \
        "registry entry" in r.stdout
    r = f.deployer("instances", GROUP)
    assert re.search(r"^i-dead\s.*unregistered", r.stdout, re.M), r.stdout


def test_aws_refusing_host_fails_at_once_with_its_reason(fleet):
    f = fleet(n=0, timeout=60)
    # i-1 wants signed messages; deployer.yml has no key
    f.keyfile = f.base / "host.key"
    f.keyfile.write_bytes(b"k" * 32)
    f.keyfile.chmod(0o600)
    f.add_daemon("i-1")
    f.keyfile = None
    f.wait_registered(["i-1"])
    t0 = time.monotonic()
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    assert time.monotonic() - t0 < 20
    assert "i-1: Rejected: message is not signed" in r.stdout


def test_aws_interrupt_then_resume(fleet):
    f = fleet(n=4, config="OneAtATime")
    for seed in range(4):
        rnd = random.Random(seed)
        f.commit(f"seed {seed}", {"VERSION": f"{seed}\n"})
        p, did = start_deploy(f, GROUP, "HEAD")
        time.sleep(rnd.uniform(0, 1.5))
        p.send_signal(signal.SIGKILL if seed % 2 else signal.SIGINT)
        p.communicate(timeout=60)
        if f.deployment(did)["status"] == "InProgress":
            r = f.deployer("resume", did)
            assert r.returncode == 0, (seed, r.stdout + r.stderr)
        assert f.deployment(did)["status"] == "Succeeded", seed
        for n in f.daemons:
            assert f.current_version(n) == str(seed), (seed, n)
            log = f.daemons[n].stderr(all_runs=True)
            assert len(re.findall(rf"deployment {did} (?:of \S+ )?\(sequence "
                                  r"\d+.*started", log)) == 1, (seed, n)


def test_aws_no_wait_alone_finishes_and_stop_works(fleet):
    f = fleet(n=2, config="OneAtATime")
    r = f.deployer("--no-wait", GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    wait_for(lambda: f.deployment(did)["status"] == "Succeeded", 60,
             interval=0.2, what="the detached rollout")
    assert f.read(f"deployments/{APP}/{GROUP}/{did}/lease.json") is None
    r = f.deployer("status", did, "--watch")
    assert r.returncode == 0, r.stdout + r.stderr


def test_aws_a_queue_that_disappears_is_created_again(fleet):
    f = fleet(n=1)
    h = f.daemons["i-1"]
    name = f"{f.prefix}-{GROUP}-i-1"
    url = f.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    f.sqs.delete_queue(QueueUrl=url)
    h.wait_log(f"queue '{name}' does not exist .*; creating it again")
    h.wait_log(f"queue '{name}' created again")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.current_version("i-1") == "1.0.0"


def test_aws_an_instance_auto_scaling_is_terminating_is_skipped(
        moto, imds, ws, daemon):
    """A terminated host whose registry entry is still fresh (it died
    before it could deregister) is not waited on: Auto Scaling says it
    is leaving."""
    ids = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2"]
    f = AwsFleet(moto, ws, daemon, n=0)
    for i in ids:
        f.add_daemon(i)
    f.wait_registered(ids)
    imds.configure(static_keys={moto.access_key: moto.secret},
                   instances={ids[0]: {"AutoScalingGroupName": "web",
                                       "LifecycleState": "InService"},
                              ids[1]: {"AutoScalingGroupName": "web",
                                       "LifecycleState":
                                       "Terminating:Wait"}})
    f.env = dict(f.env, AWS_ENDPOINT_URL_AUTO_SCALING=imds.url)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"skipping {ids[1]}: Auto Scaling group 'web' reports it " \
        "Terminating:Wait" in r.stdout
    assert "1 instance," in r.stdout
    assert imds.log(kind="autoscaling",
                    action="DescribeAutoScalingInstances")
