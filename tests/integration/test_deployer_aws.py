# SPDX-License-Identifier: ISC
"""`deployer` with the fleet backends: S3 store and SQS queues on
moto_server (signature checking on), three real `hookd run` daemons on
this machine, a real git repository of appspec-examples/worker.
"""
import re

import pytest

from daemon_util import daemon  # noqa: F401
from deployer_util import GROUP, AwsFleet
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import ws  # noqa: F401

pytestmark = pytest.mark.usefixtures("moto")



@pytest.fixture
def fleet(moto, ws, daemon):
    def make(**kw):
        f = AwsFleet(moto, ws, daemon, **kw)
        f.wait_registered(list(f.daemons))
        return f
    return make


def test_aws_deploy_one_at_a_time_then_redeploy_uploads_nothing(fleet):
    f = fleet(config="OneAtATime")
    head = f.git("rev-parse", "HEAD")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    d = f.deployment(did)
    assert d["status"] == "Succeeded" and d["commit"] == head
    runs = sorted((f.progress(did, n)["started_at"],
                   f.progress(did, n)["finished_at"]) for n in f.daemons)
    for (s1, e1), (s2, e2) in zip(runs, runs[1:]):
        assert e1 <= s2
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"
    revs = f.revisions()
    assert len(revs) == 1
    before = f.revision_etag(revs[0])
    # the queues were found by prefix too: instances agrees with registry
    r = f.deployer("instances", "--json", GROUP)
    assert r.returncode == 0, r.stderr
    assert '"has_queue": true' in r.stdout
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "already in the store" in r.stdout
    assert f.revisions() == revs and f.revision_etag(revs[0]) == before
    assert f.target()["sequence"] == 2


def test_aws_failed_validate_rolls_back_first_batch(fleet):
    f = fleet(config="OneAtATime")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    f.commit("broken", {"VERSION": "2.0.0\n",
                        "scripts/check_heartbeat.sh":
                        ("#!/bin/sh\necho broken >&2\nexit 2\n", 0o755)})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    bad = dep_id(r.stdout)
    d = f.deployment(bad)
    first = [i for i in d["instances"] if i["batch"] == 0][0]["instance"]
    assert re.search(rf"{first}: failed in ValidateService: .*exited 2",
                     r.stdout)
    rd = f.deployment(d["rolled_back_by"])
    assert rd["rollback_of"] == bad and rd["status"] == "Succeeded"
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"
        if n != first:
            assert f.state(n)["current"]["deployment_id"] == good


def test_aws_a_store_bucket_that_does_not_exist_is_named(moto, ws, daemon):
    """A typo in the bucket (or one not created yet): every command says
    which store and bucket, exit 78 (configuration), not 66 (a missing
    deployment or ref); hookd run too, at start."""
    f = AwsFleet(moto, ws, daemon, n=0)
    typo = f.bucket + "-typo"
    yml = (f.repo / "deployer.yml").read_text()
    (f.repo / "deployer.yml").write_text(yml.replace(f.bucket, typo))
    f.git("commit", "-qam", "a typo in the bucket")
    want = f"store 's3://{typo}/deploys': bucket '{typo}' does not exist"
    for args in ([GROUP, "HEAD"], ["instances", GROUP], ["setup", GROUP],
                 ["status", GROUP], ["history", GROUP]):
        r = f.deployer(*args)
        assert r.returncode == 78, (args, r.stdout, r.stderr)
        assert want in r.stderr, (args, r.stderr)
    h = daemon(ws, dict(application="app", deployment_group=GROUP,
                        store=f"s3://{typo}/deploys",
                        queue=f"file://{ws.base}/queue",
                        root=str(ws.base / "hroot"), instance_id="i-1",
                        region=moto.region),
               env=moto.env(), start=False)
    h.start(wait_ready=False)
    assert h.proc.wait(timeout=60) == 78, h.stderr()
    last = h.stderr().splitlines()[-1]
    assert last.endswith(want), h.stderr()
