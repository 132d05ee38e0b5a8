# SPDX-License-Identifier: ISC
"""tests/peers/fleetsim.py, the simulated fleet of B7-sim: it speaks the
S3 and SQS wire formats our client and botocore use, refuses a request
signed with the wrong secret, pages listings by 1,000, and each of its
instances answers a SendMessage to its queue with a Succeeded progress
document after the configured delay.  Driven with tests/tools/awsc (our
client) and botocore (an independent signer).
"""
import json
import time

import pytest
from botocore.config import Config
import botocore.session

from peers.fixtures import start_py_peer

KEY, SECRET = "AKIDFLEETSIM", "fleetsim-secret"


@pytest.fixture
def sim(_peer_procs, tmp_path):
    p, port = start_py_peer(_peer_procs, "fleetsim.py",
                            ["--instances", "1005", "--delay", "0.2",
                             "--latency", "0.005"], tmp_path / "sim.log")
    url = f"http://127.0.0.1:{port}"
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": KEY,
           "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-east-1"}
    yield url, env
    p.terminate()
    p.wait()


def stats(url):
    import urllib.request
    with urllib.request.urlopen(url + "/__sim/stats") as r:
        return json.loads(r.read())


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_instances_answer_their_message(awsc, sim, protocol):
    url, env = sim
    env = dict(env, HOOKD_SQS_PROTOCOL=protocol)
    r = awsc("sqs", "get-url", "hookd-production-i-01004", env=env)
    assert r.returncode == 0, r.stderr
    qurl = r.stdout.strip()
    msg = {"schema": "hookd.deployment/1", "deployment_id": "d-ABCDEFGHJ",
           "application": "fleet", "group": "production", "sequence": 3,
           "revision": {"sha256": "0" * 64, "commit": "c" * 40}}
    t0 = time.time()
    r = awsc("sqs", "send", qurl, json.dumps(msg), env=env)
    assert r.returncode == 0, r.stderr
    key = "deployments/fleet/production/d-ABCDEFGHJ/instances/i-01004.json"
    deadline = time.time() + 10
    while True:
        r = awsc("store", "get-many", "s3://fleet/deploys", key, env=env)
        if "error" not in r.stdout or time.time() > deadline:
            break
        time.sleep(0.05)
    doc = json.loads(r.stdout.split(" ", 2)[2])
    assert doc["status"] == "Succeeded" and doc["sequence"] == 3
    assert doc["schema"] == "hookd.progress/1"
    st = stats(url)
    assert st["outcomes"] == 1 and st["last_outcome"] >= t0 + 0.2
    assert st["requests"]["sqs:SendMessage"] == 1
    r = awsc("sqs", "get-url", "hookd-production-i-99999", env=env)
    assert r.returncode == 66 and "does not exist" in r.stderr


def test_listing_pages_and_signatures(awsc, sim):
    url, env = sim
    r = awsc("store", "ls", "s3://fleet/deploys",
             "groups/fleet/production/instances/", env=env)
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.splitlines()) == 1005
    assert stats(url)["requests"]["s3:ListObjectsV2"] == 2
    bad = dict(env, AWS_SECRET_ACCESS_KEY="wrong")
    r = awsc("sqs", "list", "--prefix", "hookd-", env=bad)
    assert r.returncode == 77 and "SignatureDoesNotMatch" in r.stderr
    r = awsc("s3", "head", "s3://fleet/deploys/groups/fleet/production/"
             "instances/i-00000.json", env=bad)
    assert r.returncode == 77
    # An independent signer is accepted too.
    kw = dict(endpoint_url=url, aws_access_key_id=KEY,
              aws_secret_access_key=SECRET, region_name="us-east-1",
              config=Config(s3={"addressing_style": "path"}))
    s = botocore.session.get_session()
    s3 = s.create_client("s3", **kw)
    s3.put_object(Bucket="fleet", Key="x/a b+c.json", Body=b"{}")
    assert s3.get_object(Bucket="fleet",
                         Key="x/a b+c.json")["Body"].read() == b"{}"
    sqs = s.create_client("sqs", **kw)
    assert len(sqs.list_queues(QueueNamePrefix="hookd-production-i-0100")
               ["QueueUrls"]) == 5
