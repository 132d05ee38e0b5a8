# SPDX-License-Identifier: ISC
"""Many AWS requests at once (lib/aws/pool.c) against moto_server with
signature checking on, behind the recording fault proxy, through
tests/tools/awsc: SendMessage of one body to many queues (both SQS
protocols), the store's listing with tags (ListObjectsV2, 1,000 keys a
page) and many store reads at once.  A throttled request is retried
alone; moto's state is checked with botocore.
"""
import json
import uuid

import pytest


def qname(prefix="p"):
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bucket(moto):
    name = "b-" + uuid.uuid4().hex[:12]
    moto.client("s3").create_bucket(Bucket=name)
    return name


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_send_many_reaches_every_queue_once(awsc, moto, proxy, tmp_path,
                                            protocol):
    sqs = moto.client("sqs")
    urls = [sqs.create_queue(QueueName=qname())["QueueUrl"]
            for _ in range(30)]
    gone = urls[-1].rsplit("/", 1)[0] + "/" + qname("gone")
    listing = tmp_path / "urls"
    listing.write_text("\n".join(urls + [gone]) + "\n")
    body = json.dumps({"schema": "hookd.deployment/1", "n": "é" * 40})
    p = proxy(moto.url)
    # Two throttles, on whichever requests come first: each is retried
    # alone.
    p.rules([{"match": {"action": "SendMessage"}, "fault": "throttle",
              "times": 2}])
    r = awsc("sqs", "send-many", body, listing, "--in-flight", "8",
             env=dict(moto.env(p.url), HOOKD_SQS_PROTOCOL=protocol))
    assert r.returncode == 0, r.stderr
    lines = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert len(lines) == 31
    assert lines["30"].startswith("error noinput: ")
    assert all(not lines[str(i)].startswith("error") for i in range(30))
    sends = p.log("SendMessage")
    assert len(sends) == 31 + 2
    assert "requests 31 attempts 33 retries 2" in r.stderr
    peak = int(r.stderr.split("peak ")[1].split()[0])
    assert 2 <= peak <= 8
    for u in urls:
        got = sqs.receive_message(QueueUrl=u, MaxNumberOfMessages=10,
                                  WaitTimeSeconds=0).get("Messages", [])
        assert [m["Body"] for m in got] == [body]


def test_store_lists_a_thousand_keys_a_page_with_etags(awsc, moto, proxy,
                                                       bucket):
    s3 = moto.client("s3")
    prefix = "deploys/deployments/web/prod/d-1/instances/"
    etags = {}
    for i in range(1003):
        k = f"{prefix}i-{i:05d}.json"
        etags[k] = s3.put_object(Bucket=bucket, Key=k,
                                 Body=b'{"status":"Succeeded"}')["ETag"]
    s3.put_object(Bucket=bucket, Key="deploys/other.json", Body=b"{}")
    p = proxy(moto.url)
    r = awsc("store", "ls", f"s3://{bucket}/deploys",
             "deployments/web/prod/d-1/instances/", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert len(rows) == 1003
    for key, tag, size, mtime in rows:
        assert etags["deploys/" + key] == tag
        assert size == "22" and int(mtime) > 1700000000
    # Two pages of at most 1,000 keys, and nothing else.
    reqs = p.log()
    assert len(reqs) == 2
    assert all("list-type=2" in e["path"] and "max-keys=1000" in e["path"]
               for e in reqs)


def test_store_get_many_reads_each_key_retrying_alone(awsc, moto, proxy,
                                                      bucket):
    s3 = moto.client("s3")
    keys = [f"a/k{i}.json" for i in range(20)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=json.dumps({"k": k}))
    p = proxy(moto.url)
    p.rules([{"match": {"path": "/k7\\.json"}, "fault": "throttle",
              "times": 1},
             {"match": {"path": "/k3\\.json"}, "fault": "delay",
              "seconds": 1.0, "times": 1}])
    r = awsc("store", "get-many", f"s3://{bucket}", "--in-flight", "4",
             *keys, "a/missing.json", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    got = {line.split(" ", 1)[0]: line for line in lines}
    assert len(got) == 21
    for k in keys:
        key, etag, data = got[k].split(" ", 2)
        assert json.loads(data) == {"k": k}
        assert etag.startswith('"')
    assert "error noinput" in got["a/missing.json"]
    assert "does not exist" in got["a/missing.json"]
    # The slow read came last: the others did not wait for it.
    assert lines[-1].startswith("a/k3.json ")
    gets = [e for e in p.log() if e["method"] == "GET"]
    assert len(gets) == 21 + 1
    assert sum(1 for e in gets if e["path"].endswith("/k7.json")) == 2


def test_file_store_lists_with_tags_and_reads_many(awsc, tmp_path):
    root = tmp_path / "store"
    (root / "d" / "instances").mkdir(parents=True)
    for i in range(3):
        (root / "d" / "instances" / f"i-{i}.json").write_text(f'{{"i":{i}}}')
    # A region, so that the client never asks IMDS for one.
    env = {"AWS_REGION": "us-east-1"}
    r = awsc("store", "ls", f"file://{root}", "d/instances/", env=env)
    assert r.returncode == 0, r.stderr
    rows = [line.split() for line in r.stdout.splitlines()]
    assert [row[0] for row in rows] == [f"d/instances/i-{i}.json"
                                        for i in range(3)]
    r = awsc("store", "get-many", f"file://{root}", "d/instances/i-2.json",
             "d/instances/i-9.json", env=env)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].endswith(' {"i":2}')
    assert "error noinput" in lines[1]


def test_queue_send_many_by_name_lists_once(awsc, moto, proxy):
    sqs = moto.client("sqs")
    group = f"hookd-g{uuid.uuid4().hex[:8]}"
    names = [f"{group}-i-{i:03d}" for i in range(12)]
    urls = {n: sqs.create_queue(QueueName=n)["QueueUrl"] for n in names}
    p = proxy(moto.url)
    r = awsc("queue", "send-many", "sqs", '{"m":1}', *names,
             f"{group}-i-gone", env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines())
    assert all(out[n] == "sent" for n in names)
    assert out[f"{group}-i-gone"].startswith("error noinput")
    # One listing, one GetQueueUrl for the name it did not show, one
    # SendMessage per queue.
    acts = [e["action"] for e in p.log()]
    assert acts.count("ListQueues") == 1
    assert acts.count("GetQueueUrl") == 1
    assert acts.count("SendMessage") == 12
    for n in names:
        got = sqs.receive_message(QueueUrl=urls[n]).get("Messages", [])
        assert [m["Body"] for m in got] == ['{"m":1}']
