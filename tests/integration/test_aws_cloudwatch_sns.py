# SPDX-License-Identifier: ISC
"""CloudWatch DescribeAlarms and SNS Publish (lib/aws/cloudwatch.c,
lib/aws/sns.c through tests/tools/awsc) against moto_server with
signature checking on; alarms are set with SetAlarmState (moto keeps the
state), and an SQS queue subscribed to the topic shows what was
published.  moto's state is set up and checked with botocore
(independent of our C code)."""
import json
import uuid

import pytest


def uniq(what):
    return f"{what}-{uuid.uuid4().hex[:8]}"


def put_alarm(moto, name, state=None, reason="set by the test"):
    cw = moto.client("cloudwatch")
    cw.put_metric_alarm(AlarmName=name, MetricName="5xx", Namespace="web",
                        Statistic="Sum", Period=60, EvaluationPeriods=1,
                        Threshold=1, ComparisonOperator="GreaterThanThreshold")
    if state is not None:
        cw.set_alarm_state(AlarmName=name, StateValue=state,
                           StateReason=reason)


def test_describe_alarms_reports_state_and_reason(awsc, moto):
    a, b, c = uniq("web-5xx"), uniq("web-p99"), uniq("web-cpu")
    put_alarm(moto, a, "ALARM", "Threshold Crossed: 5 datapoints")
    put_alarm(moto, b, "OK", "back to normal")
    put_alarm(moto, c, "INSUFFICIENT_DATA", "no data")
    r = awsc("cloudwatch", "describe-alarms", a, b, c, uniq("missing"),
             env=moto.env())
    assert r.returncode == 0, r.stderr
    got = {ln.split(" ", 2)[0]: ln.split(" ", 2)[1:]
           for ln in r.stdout.splitlines()}
    # The unknown name is simply absent; the others keep the state set.
    assert got == {a: ["ALARM", "Threshold Crossed: 5 datapoints"],
                   b: ["OK", "back to normal"],
                   c: ["INSUFFICIENT_DATA", "no data"]}


def test_describe_alarms_follows_the_environment_override(awsc, moto,
                                                          proxy):
    a = uniq("web-5xx")
    put_alarm(moto, a, "ALARM")
    p = proxy(moto.url)
    # Everything else points nowhere: only the CloudWatch override works.
    env = moto.env("http://127.0.0.1:9",
                   AWS_ENDPOINT_URL_CLOUDWATCH=p.url)
    r = awsc("cloudwatch", "describe-alarms", a, env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{a} ALARM ")
    calls = p.log("DescribeAlarms")
    assert len(calls) == 1
    form = calls[0]["form"]
    assert form["Version"] == "2010-08-01"
    assert form["AlarmNames.member.1"] == a
    # Signed for CloudWatch's signing name (the proxy reads the scope).
    assert calls[0]["service"] == "monitoring"


def test_describe_alarms_bad_signature_is_refused(awsc, moto):
    r = awsc("cloudwatch", "describe-alarms", "x",
             env=moto.env(AWS_SECRET_ACCESS_KEY="wrong-secret"))
    assert r.returncode == 77, r.stderr
    assert "cloudwatch DescribeAlarms" in r.stderr
    assert "Signature" in r.stderr


def test_describe_alarms_unreachable_is_unavailable(awsc, moto):
    r = awsc("--max-attempts", "1", "cloudwatch", "describe-alarms", "x",
             env=moto.env("http://127.0.0.1:9"))
    assert r.returncode == 69, r.stderr
    assert "cloudwatch DescribeAlarms" in r.stderr


def subscribed_queue(moto):
    sns, sqs = moto.client("sns"), moto.client("sqs")
    topic = sns.create_topic(Name=uniq("deploys"))["TopicArn"]
    url = sqs.create_queue(QueueName=uniq("notices"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, url


def test_publish_reaches_a_subscribed_queue(awsc, moto, proxy):
    topic, url = subscribed_queue(moto)
    p = proxy(moto.url)
    body = json.dumps({"event": "start", "deployment_id": "d-1",
                       "reason": "a 'quoted' & <odd> text \u00e9"})
    r = awsc("sns", "publish", topic, body, "--subject", "hookd web/prod",
             env=moto.env("http://127.0.0.1:9", AWS_ENDPOINT_URL_SNS=p.url))
    assert r.returncode == 0, r.stderr
    mid = r.stdout.strip()
    assert mid
    msgs = moto.client("sqs").receive_message(
        QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert len(msgs) == 1
    note = json.loads(msgs[0]["Body"])
    assert note["MessageId"] == mid
    assert note["Subject"] == "hookd web/prod"
    assert json.loads(note["Message"]) == json.loads(body)
    assert p.log("Publish")[0]["form"]["Version"] == "2010-03-31"


def test_publish_to_a_missing_topic_names_it(awsc, moto):
    arn = f"arn:aws:sns:us-east-1:123456789012:{uniq('nope')}"
    r = awsc("sns", "publish", arn, "hello", env=moto.env())
    assert r.returncode != 0
    assert "sns Publish" in r.stderr and "NotFound" in r.stderr, r.stderr


@pytest.mark.parametrize("subject", ["two\nlines", "x" * 100])
def test_publish_bad_subject_is_refused_before_sending(awsc, moto, proxy,
                                                       subject):
    topic, _ = subscribed_queue(moto)
    p = proxy(moto.url)
    r = awsc("sns", "publish", topic, "hello", "--subject", subject,
             env=moto.env(p.url))
    assert r.returncode == 64, r.stderr
    assert "subject" in r.stderr
    assert p.log("Publish") == []
