# SPDX-License-Identifier: ISC
"""IMDSv2 (lib/aws/imds.c) and the credential chain's instance-role step
(lib/aws/creds.c) through awsc, against our peer."""
import json
import time
import urllib.error
import urllib.request

import pytest

CREDS = [{"AccessKeyId": f"ASIAIMDSTEST0000000{i}",
          "SecretAccessKey": f"imds-secret-{i}-never-printed",
          "Token": f"imds-session-token-{i}"} for i in range(4)]


@pytest.fixture
def role(imds, awsc):
    for c in CREDS:
        awsc.secrets.update({c["SecretAccessKey"], c["Token"]})
    imds.configure(credentials=CREDS, region="eu-west-1",
                   instance_id="i-0123456789abcdef0",
                   tags={"hookd:deployment-group": "production"})
    return imds


def test_metadata_items(awsc, role):
    env = role.env()
    out = {}
    for item in ("instance-id", "region", "document"):
        r = awsc("imds", item, env=env)
        assert r.returncode == 0, r.stderr
        out[item] = r.stdout.strip()
    assert out["instance-id"] == "i-0123456789abcdef0"
    assert out["region"] == "eu-west-1"
    doc = json.loads(out["document"])
    assert doc["instanceId"] == "i-0123456789abcdef0"
    assert doc["region"] == "eu-west-1"
    r = awsc("imds", "tag", "hookd:deployment-group", env=env)
    assert r.returncode == 0 and r.stdout == "production\n"
    r = awsc("imds", "tag", "no-such-tag", env=env)
    assert r.returncode == 66
    # IMDSv2: every process took a token first, and no GET lacked one.
    log = role.log(kind="imds")
    assert log[0]["method"] == "PUT" and \
        log[0]["path"] == "/latest/api/token"
    assert all(e["status"] != 401 for e in log)


def test_peer_refuses_gets_without_token(imds):
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(imds.url + "/latest/meta-data/instance-id",
                               timeout=5)
    assert e.value.code == 401


def test_role_credentials_sign_requests(awsc, role):
    r = awsc("imds", "creds", env=role.env())
    assert r.returncode == 0, r.stderr
    assert r.stdout.split()[0] == CREDS[0]["AccessKeyId"]
    # The whole chain: no keys in the environment, region and
    # credentials from IMDS, Auto Scaling call signed with them.
    r = awsc("asg", "describe-instances", env=role.env(), verbose=True)
    assert r.returncode == 0, r.stderr
    calls = role.log(kind="autoscaling")
    assert len(calls) == 1 and calls[0]["status"] == 200
    assert calls[0]["region"] == "eu-west-1"
    assert calls[0]["access_key"].startswith("ASIAIMDSTEST")


def test_expiring_credentials_are_refreshed(awsc, role):
    # Expiration 60 s away is inside the refresh window (5 min): each
    # request fetches fresh credentials.
    role.configure(cred_ttl=60)
    r = awsc("--repeat", "2", "asg", "describe-instances", env=role.env())
    assert r.returncode == 0, r.stderr
    assert role.state()["credential_fetches"] >= 2
    calls = role.log(kind="autoscaling")
    assert [c["status"] for c in calls] == [200, 200]
    assert calls[0]["access_key"] != calls[1]["access_key"]


def test_expired_token_reply_refreshes_and_retries(awsc, role):
    role.configure(expired_sets=1)
    r = awsc("asg", "describe-instances", env=role.env())
    assert r.returncode == 0, r.stderr
    calls = role.log(kind="autoscaling")
    assert [(c["status"], c.get("error")) for c in calls] == \
        [(403, "ExpiredToken"), (200, None)]
    assert calls[0]["access_key"] == CREDS[0]["AccessKeyId"]
    assert calls[1]["access_key"] == CREDS[1]["AccessKeyId"]
    assert role.state()["credential_fetches"] == 2


def test_instance_role_credentials_work_against_moto(awsc, imds, moto):
    # Instance-role credentials are temporary (ASIA key + session token);
    # moto only accepts a token for credentials it issued, so get real
    # ones from moto's STS by assuming a role, and serve them from IMDS.
    iam = moto.client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "sts:AssumeRole"}]})
    arn = iam.create_role(RoleName="hookd-instance",
                          AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    iam.put_role_policy(RoleName="hookd-instance", PolicyName="all",
                        PolicyDocument=json.dumps({
                            "Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Action": "*",
                                "Resource": "*"}]}))
    c = moto.client("sts").assume_role(RoleArn=arn, RoleSessionName="i-1")
    c = c["Credentials"]
    awsc.secrets.update({c["SecretAccessKey"], c["SessionToken"]})
    imds.configure(credentials=[{"AccessKeyId": c["AccessKeyId"],
                                 "SecretAccessKey": c["SecretAccessKey"],
                                 "Token": c["SessionToken"]}])
    env = imds.env(AWS_ENDPOINT_URL=moto.url)
    r = awsc("sqs", "create-queue", "from-instance-role", env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().endswith("/from-instance-role")
    # A wrong token is refused: the token is really checked.
    imds.reset()
    imds.configure(credentials=[{"AccessKeyId": c["AccessKeyId"],
                                 "SecretAccessKey": c["SecretAccessKey"],
                                 "Token": "forged-token"}])
    r = awsc("sqs", "list", env=env)
    assert r.returncode == 77, r.stderr


def test_no_metadata_service_fails_fast(awsc, moto):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    env = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://127.0.0.1:{port}",
           "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto.url,
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/c",
           "AWS_CONFIG_FILE": "/nonexistent/c"}
    t0 = time.monotonic()
    r = awsc("sqs", "list", env=env)
    assert r.returncode == 78, r.stderr
    assert "no AWS credentials" in r.stderr
    assert time.monotonic() - t0 < 10
    r = awsc("sqs", "list", env=dict(env, AWS_EC2_METADATA_DISABLED="true"))
    assert r.returncode == 78
