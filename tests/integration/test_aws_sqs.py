# SPDX-License-Identifier: ISC
"""SQS over both protocols, AWS JSON 1.0 (the default) and Query (every
test runs under each, chosen with $HOOKD_SQS_PROTOCOL): lib/aws/sqs.c
through tests/tools/awsc, against moto_server with signature checking on,
sometimes behind the fault proxy.  moto's own state is checked with
botocore (independent).
"""
import json
import time
import uuid

import pytest

WIRE_BATCH = "sqs-query-SendMessageBatch.response.xml"
# The same answers in the JSON protocol's shape, for canned replies.
JSON_BATCH = json.dumps({
    "Successful": [{"Id": "a",
                    "MessageId": "0a5231c7-8bff-4955-be2e-8dc7c50a25fa",
                    "MD5OfMessageBody": "5eb63bbbe01eeed093cb22bb8f5acdc3"}],
    "Failed": [{"Id": "b", "SenderFault": True,
                "Code": "InvalidParameterValue",
                "Message": "Value 901 for parameter DelaySeconds is "
                "invalid."}]})
JSON_LIST_PAGE1 = json.dumps({
    "QueueUrls": ["https://sqs.us-east-1.amazonaws.com/123456789012/hookd-a",
                  "https://sqs.us-east-1.amazonaws.com/123456789012/hookd-b"],
    "NextToken": "eyJ0b2tlbiI6ICJob29rZC1iIn0="})
JSON_RECEIVE_BADMD5 = json.dumps({"Messages": [{
    "MessageId": "5fea7756-0ea4-451a-a703-a558b933e274",
    "ReceiptHandle": "MbZj6wDWli",
    "MD5OfBody": "fafb00f5732ab283681e124bf8747ed1",
    "Body": "This is a tampered message"}]})
JSON_SEND_BADMD5 = json.dumps({
    "MessageId": "m-1", "MD5OfMessageBody": "0" * 32})


@pytest.fixture(autouse=True, params=["json", "query"])
def protocol(request, monkeypatch):
    """Every test under both protocols (awsc reads HOOKD_SQS_PROTOCOL)."""
    monkeypatch.setenv("HOOKD_SQS_PROTOCOL", request.param)
    return request.param


def qname(prefix="t"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def create(awsc, moto, name=None, *attrs):
    r = awsc("sqs", "create-queue", name or qname(), *attrs, env=moto.env())
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def receive(awsc, env, url, *extra):
    r = awsc("sqs", "receive", url, *extra, env=env)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


def test_create_get_list_delete_queue(awsc, moto):
    sqs = moto.client("sqs")
    dlq = sqs.create_queue(QueueName=qname("dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = qname("hookd-prod")
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn,
                          "maxReceiveCount": "5"})
    url = create(awsc, moto, name, "--attr", "VisibilityTimeout=45",
                 "--attr", "ReceiveMessageWaitTimeSeconds=2",
                 "--attr", f"RedrivePolicy={redrive}")
    assert url.endswith("/" + name)
    attrs = sqs.get_queue_attributes(QueueUrl=url,
                                     AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert attrs["ReceiveMessageWaitTimeSeconds"] == "2"
    assert json.loads(attrs["RedrivePolicy"])["deadLetterTargetArn"] == \
        dlq_arn

    r = awsc("sqs", "get-url", name, env=moto.env())
    assert r.returncode == 0 and r.stdout.strip() == url
    r = awsc("sqs", "list", "--prefix", "hookd-prod", env=moto.env())
    assert url in r.stdout.splitlines()

    r = awsc("sqs", "delete-queue", url, env=moto.env())
    assert r.returncode == 0, r.stderr
    r = awsc("sqs", "get-url", name, env=moto.env())
    assert r.returncode == 66
    assert "NonExistentQueue" in r.stderr or "does not exist" in r.stderr


def test_list_queues_follows_next_token(protocol, awsc, moto, proxy):
    from conftest import TOP
    # moto 5.2.1 ignores MaxResults on the Query ListQueues (it returns
    # every queue at once), so the first page comes from the proxy: two
    # URLs and a NextToken; the client must ask again with that token.
    p = proxy(moto.url)
    prefix = qname("page")
    for i in range(3):
        moto.client("sqs").create_queue(QueueName=f"{prefix}-{i}")
    page1 = (TOP / "tests/fixtures/aws/sqs-ListQueues-page1.xml").read_text()
    if protocol == "json":
        page1 = JSON_LIST_PAGE1
    p.rules([{"match": {"action": "ListQueues"}, "fault": "status",
              "status": 200, "body": page1, "times": 1}])
    r = awsc("sqs", "list", "--prefix", prefix, "--page-size", "2",
             env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    names = [u.rsplit("/", 1)[1] for u in r.stdout.split()]
    assert names[:2] == ["hookd-a", "hookd-b"]
    assert sorted(names[2:]) == [f"{prefix}-{i}" for i in range(3)]
    calls = p.log("ListQueues")
    assert len(calls) == 2
    assert calls[0]["form"]["MaxResults"] == "2"
    assert "NextToken" not in calls[0]["form"]
    assert calls[1]["form"]["NextToken"] == "eyJ0b2tlbiI6ICJob29rZC1iIn0="
    assert calls[1]["form"]["QueueNamePrefix"] == prefix


def test_send_receive_visibility_delete(awsc, moto):
    url = create(awsc, moto)
    env = moto.env()
    body = 'deploy {"a": "<b> & c"} caf\u00e9 + space'
    r = awsc("sqs", "send", url, body, env=env)
    assert r.returncode == 0, r.stderr
    msg_id = r.stdout.strip()

    msgs = receive(awsc, env, url, "--wait", "1", "--visibility", "30")
    assert len(msgs) == 1
    m = msgs[0]
    assert m["id"] == msg_id and m["body"] == body
    assert m["receive_count"] == 1
    assert m["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in m["attributes"]
    # Invisible now; making it visible again at once redelivers it.
    assert receive(awsc, env, url, "--wait", "0") == []
    r = awsc("sqs", "visibility", url, m["receipt"], "0", env=env)
    assert r.returncode == 0, r.stderr
    again = receive(awsc, env, url, "--wait", "1")
    assert [x["id"] for x in again] == [msg_id]
    assert again[0]["receive_count"] == 2

    r = awsc("sqs", "delete", url, again[0]["receipt"], env=env)
    assert r.returncode == 0, r.stderr
    r = awsc("sqs", "visibility", url, again[0]["receipt"], "0", env=env)
    sqs = moto.client("sqs")
    left = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                      "ApproximateNumberOfMessagesNotVisible"])
    assert left["Attributes"] == {"ApproximateNumberOfMessages": "0",
                                  "ApproximateNumberOfMessagesNotVisible":
                                  "0"}


def test_visibility_timeout_expires_and_redelivers(awsc, moto):
    url = create(awsc, moto, None, "--attr", "VisibilityTimeout=1")
    env = moto.env()
    assert awsc("sqs", "send", url, "x", env=env).returncode == 0
    first = receive(awsc, env, url, "--wait", "1")
    assert len(first) == 1
    # Not acknowledged: after the 1 s visibility timeout it comes back,
    # inside one long poll.
    t0 = time.monotonic()
    second = receive(awsc, env, url, "--wait", "5")
    assert [m["id"] for m in second] == [first[0]["id"]]
    assert second[0]["receive_count"] == 2
    assert time.monotonic() - t0 < 5


def test_long_poll_really_waits(awsc, moto):
    url = create(awsc, moto)
    t0 = time.monotonic()
    assert receive(awsc, moto.env(), url, "--wait", "2") == []
    took = time.monotonic() - t0
    assert 1.8 <= took < 10, took


def test_send_batch_and_per_entry_results(awsc, moto):
    url = create(awsc, moto)
    env = moto.env()
    r = awsc("sqs", "send-batch", url, "a=one", "b=two", "c=three=3",
             env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert [ln.split()[:2] for ln in lines] == [["a", "ok"], ["b", "ok"],
                                                ["c", "ok"]]
    got = receive(awsc, env, url, "--wait", "1", "--max", "10")
    while len(got) < 3:
        more = receive(awsc, env, url, "--wait", "1", "--max", "10")
        assert more, "batch messages missing"
        got += more
    assert sorted(m["body"] for m in got) == ["one", "three=3", "two"]


def test_send_batch_partial_failure_is_reported(protocol, awsc, moto,
                                                proxy):
    from conftest import SHARED
    p = proxy(moto.url)
    url = create(awsc, moto)
    body = (SHARED / "aws-wire-examples" / WIRE_BATCH).read_text() \
        if protocol == "query" else JSON_BATCH
    p.rules([{"match": {"action": "SendMessageBatch"}, "fault": "status",
              "status": 200, "times": 1, "body": body}])
    r = awsc("sqs", "send-batch", url, "a=hello world", "b=x",
             env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "a ok 0a5231c7-8bff-4955-be2e-8dc7c50a25fa"
    assert lines[1].startswith("b failed InvalidParameterValue Value 901")


def test_send_batch_limits_checked_before_sending(awsc, moto, proxy,
                                                  tmp_path):
    p = proxy(moto.url)
    url = create(awsc, moto)
    env = moto.env(p.url)
    big = tmp_path / "big"
    big.write_bytes(b"x" * (256 * 1024 + 1))
    half = tmp_path / "half"
    half.write_bytes(b"y" * (150 * 1024))
    cases = [
        (["a=1", "a=2"], "'a' is used by entries 1 and 2"),
        ([f"e{i}=m" for i in range(11)], "11 entries"),
        ([f"a=@{big}"], "262145 bytes"),
        ([f"a=@{half}", f"b=@{half}"], "total 307200 bytes"),
        (["bad.id=x"], "'bad.id'"),
    ]
    for entries, why in cases:
        r = awsc("sqs", "send-batch", url, *entries, env=env)
        assert r.returncode == 65, (entries[:2], r.stderr)
        assert why in r.stderr
    r = awsc("sqs", "send", url, f"@{big}", env=env)
    assert r.returncode == 65 and "262145 bytes" in r.stderr
    assert p.log("SendMessageBatch") == [] and p.log("SendMessage") == []


def test_md5_mismatch_on_receive_is_an_error(protocol, awsc, moto, proxy):
    from conftest import TOP
    p = proxy(moto.url)
    url = create(awsc, moto)
    body = (TOP / "tests/fixtures/aws/sqs-ReceiveMessage-badmd5.xml") \
        .read_text() if protocol == "query" else JSON_RECEIVE_BADMD5
    p.rules([{"match": {"action": "ReceiveMessage"}, "fault": "status",
              "status": 200, "body": body, "times": 1}])
    r = awsc("sqs", "receive", url, "--wait", "0", env=moto.env(p.url))
    assert r.returncode == 76
    assert "MD5 mismatch" in r.stderr


def test_queue_url_of_another_host_goes_to_the_endpoint(protocol, awsc, moto,
                                                        proxy):
    # moto builds queue URLs from the Host it was called with; a queue
    # made directly has moto's own address, yet with an endpoint
    # override the calls must go through the override (here the proxy).
    p = proxy(moto.url)
    url = moto.client("sqs").create_queue(QueueName=qname())["QueueUrl"]
    assert url.startswith(moto.url)
    r = awsc("sqs", "send", url, "via proxy",
             env=moto.env(None, AWS_ENDPOINT_URL_SQS=p.url))
    assert r.returncode == 0, r.stderr
    sent = p.log("SendMessage")
    assert len(sent) == 1 and sent[0]["status"] == 200
    # Query posts to the queue URL's path; JSON to "/" with QueueUrl.
    if protocol == "query":
        assert sent[0]["path"] == "/" + url.split("/", 3)[3]
    else:
        assert sent[0]["path"] == "/"
        assert sent[0]["form"]["QueueUrl"] == url


def test_wrong_secret_is_a_clear_permission_error(awsc, moto):
    env = moto.env(AWS_SECRET_ACCESS_KEY="not-the-" + moto.secret[:4])
    for args in (["sqs", "list"], ["sqs", "create-queue", qname()]):
        r = awsc(*args, env=env, verbose=True)
        assert r.returncode == 77, r.stderr
        last = r.stderr.strip().splitlines()[-1]
        assert last.startswith("awsc: sqs ")
        assert "SignatureDoesNotMatch" in last
        assert "Check your AWS Secret Access Key" in last


def test_500_twice_then_success_retries_with_backoff(awsc, moto, proxy):
    p = proxy(moto.url)
    p.rules([{"match": {"action": "ListQueues"}, "fault": "status",
              "status": 500, "times": 2}])
    r = awsc("sqs", "list", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    tries = p.log("ListQueues")
    assert [t["status"] for t in tries] == [500, 500, 200]
    # Each retry came after a pause (full jitter can make it tiny, but
    # never zero-length ordering inversions).
    assert tries[0]["t"] <= tries[1]["t"] <= tries[2]["t"]


def test_500_forever_gives_up_after_three_attempts(awsc, moto, proxy):
    p = proxy(moto.url)
    p.rules([{"match": {"action": "ListQueues"}, "fault": "status",
              "status": 503, "times": None}])
    r = awsc("sqs", "list", env=moto.env(p.url))
    assert r.returncode == 75, r.stderr
    assert "sqs ListQueues" in r.stderr
    assert len(p.log("ListQueues")) == 3


def test_throttling_then_success(awsc, moto, proxy):
    p = proxy(moto.url)
    url = create(awsc, moto)
    p.rules([{"match": {"action": "SendMessage"}, "fault": "throttle",
              "times": 2}])
    r = awsc("sqs", "send", url, "after throttling", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert [t["status"] for t in p.log("SendMessage")] == [400, 400, 200]


def test_connection_reset_then_success(awsc, moto, proxy):
    p = proxy(moto.url)
    url = create(awsc, moto)
    assert awsc("sqs", "send", url, "m", env=moto.env()).returncode == 0
    p.rules([{"match": {"action": "ReceiveMessage"}, "fault": "reset",
              "times": 1}])
    msgs = receive(awsc, moto.env(p.url), url, "--wait", "1")
    assert [m["body"] for m in msgs] == ["m"]
    assert [t["fault"] for t in p.log("ReceiveMessage")] == ["reset", None]


def test_delay_is_tolerated(awsc, moto, proxy):
    p = proxy(moto.url)
    p.rules([{"match": {"action": "ListQueues"}, "fault": "delay",
              "seconds": 1, "times": 1}])
    t0 = time.monotonic()
    r = awsc("sqs", "list", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert time.monotonic() - t0 >= 1
    assert len(p.log("ListQueues")) == 1


def test_debug_output_has_no_secret(awsc, moto):
    url = create(awsc, moto)
    r = awsc("sqs", "send", url, "x", env=moto.env(), verbose=True)
    assert r.returncode == 0, r.stderr
    assert "credentials from environment" in r.stderr   # debug is on
    assert "http POST" in r.stderr
    assert moto.secret not in r.stderr   # (the fixture checks every run)
    # A session token is a secret too.
    awsc.secrets.add("session-token-must-not-leak")
    r = awsc("sqs", "send", url, "x", verbose=True,
             env=moto.env(AWS_SESSION_TOKEN="session-token-must-not-leak"))
    assert "http POST" in r.stderr


def test_message_attributes_are_received(awsc, moto):
    url = create(awsc, moto)
    moto.client("sqs").send_message(
        QueueUrl=url, MessageBody="with attributes",
        MessageAttributes={"kind": {"DataType": "String",
                                    "StringValue": "deploy"},
                           "seq": {"DataType": "Number",
                                   "StringValue": "42"}})
    msgs = receive(awsc, moto.env(), url, "--wait", "1")
    assert len(msgs) == 1
    assert msgs[0]["message_attributes"] == {"kind": "deploy", "seq": "42"}


def test_md5_mismatch_on_send_is_an_error(protocol, awsc, moto, proxy):
    p = proxy(moto.url)
    url = create(awsc, moto)
    reply = ('<?xml version="1.0"?><SendMessageResponse xmlns="http://'
             'queue.amazonaws.com/doc/2012-11-05/"><SendMessageResult>'
             '<MessageId>m-1</MessageId><MD5OfMessageBody>'
             '00000000000000000000000000000000</MD5OfMessageBody>'
             '</SendMessageResult></SendMessageResponse>')
    if protocol == "json":
        reply = JSON_SEND_BADMD5
    p.rules([{"match": {"action": "SendMessage"}, "fault": "status",
              "status": 200, "body": reply, "times": 1}])
    r = awsc("sqs", "send", url, "hello", env=moto.env(p.url))
    assert r.returncode == 76
    assert "MD5 mismatch" in r.stderr
