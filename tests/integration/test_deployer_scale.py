# SPDX-License-Identifier: ISC
"""The deployer at fleet scale (issue 19), on S3 and SQS (moto, signature
checking on) behind the recording proxy: 300 instances, each with a
registry entry and a queue.  The test plays the instances: once the
deployer has sent its messages, it writes their progress documents
(first InProgress for a third, then Succeeded for all, in waves)
directly into moto, so only the deployer's requests go through the
proxy.  What a user checks: the deployment succeeds on all 300; each
poll round costs one listing of the deployment's instances/ prefix plus
the documents that changed since the previous round, never 300 reads;
the registry is listed, and each entry read once however often it is
looked at; every message is sent once.
"""
import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import binary
from deployer_util import APP, EXAMPLE, GIT_ENV, GROUP, deployer_yml
from lifecycle_util import wait_for

N = 300


def rfc3339(t=None):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def git(repo, *args):
    r = subprocess.run(["git", "-C", str(repo)] + list(args),
                       env=dict(os.environ, **GIT_ENV), capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.fixture
def scene(moto, proxy, tmp_path):
    s3, sqs = moto.client("s3"), moto.client("sqs")
    bucket = "b-" + uuid.uuid4().hex[:12]
    qprefix = "t" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=bucket)
    names = [f"i-{i:04d}" for i in range(N)]
    for n in names:
        q = f"{qprefix}-{GROUP}-{n}"
        sqs.create_queue(QueueName=q)
        entry = {"schema": "hookd.instance/1", "instance": n,
                 "application": APP, "group": GROUP, "queue": q,
                 "queue_backend": "sqs", "started_at": rfc3339(),
                 "last_seen": rfc3339(), "pid": 1, "version": "test",
                 "current": None, "in_progress": None,
                 "catching_up": None}
        s3.put_object(Bucket=bucket,
                      Key=f"deploys/groups/{APP}/{GROUP}/instances/{n}.json",
                      Body=json.dumps(entry).encode())
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, symlinks=True,
                    ignore=shutil.ignore_patterns("deployer.yml",
                                                  "deployer"))
    (repo / "deployer.yml").write_text(deployer_yml(
        f"s3://{bucket}/deploys", "sqs",
        {GROUP: {"deployment_config": "AllAtOnce",
                 "rollback_on_failure": False, "timeout": 300}},
        qprefix, moto.region))
    git(repo, "init", "-q", "-b", "master")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "v1")
    p = proxy(moto.url)
    env = dict(os.environ, **GIT_ENV)
    for k in list(env):
        if k.startswith("AWS_"):
            del env[k]
    direct = dict(env, **moto.env())
    env.update(moto.env(p.url))
    return dict(s3=s3, sqs=sqs, bucket=bucket, names=names, repo=repo,
                proxy=p, env=env, direct=direct)


def put_progress(sc, did, name, status):
    now = rfc3339()
    doc = {"schema": "hookd.progress/1", "deployment_id": did,
           "application": APP, "group": GROUP, "instance": name,
           "sequence": 1, "status": status,
           "event": "ApplicationStart" if status == "InProgress" else None,
           "message": None, "script": None, "tail": None,
           "started_at": now, "updated_at": now,
           "finished_at": now if status != "InProgress" else None,
           "events": []}
    sc["s3"].put_object(
        Bucket=sc["bucket"],
        Key=f"deploys/deployments/{APP}/{GROUP}/{did}/instances/{name}.json",
        Body=json.dumps(doc).encode())


def test_poll_round_is_a_listing_plus_changed_documents(scene):
    sc = scene
    p = sc["proxy"]
    dep = subprocess.Popen([binary("deployer"), GROUP, "HEAD"],
                           cwd=str(sc["repo"]), env=sc["env"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: len(p.log("SendMessage")) >= N or
                 dep.poll() is not None, 120, what="300 SendMessage")
        assert dep.poll() is None, dep.stdout.read()
        tgt = json.loads(sc["s3"].get_object(
            Bucket=sc["bucket"],
            Key=f"deploys/groups/{APP}/{GROUP}/target.json")["Body"].read())
        did = tgt["deployment_id"]
        # A third start, then everyone finishes, in three waves.
        for n in sc["names"][:N // 3]:
            put_progress(sc, did, n, "InProgress")
        # `deployer status ID` from a second process sees them too (one
        # listing, the documents read at once; not through the proxy, so
        # the counts below are the driving deployer's).
        st = subprocess.run([binary("deployer"), "status", did, "--json"],
                            cwd=str(sc["repo"]), env=sc["direct"],
                            capture_output=True, text=True, timeout=120)
        assert st.returncode == 75, st.stderr    # still in progress
        states = [i["status"] for i in json.loads(st.stdout)["instances"]]
        assert len(states) == N
        assert states.count("InProgress") == N // 3
        time.sleep(1.5)
        for w in range(3):
            for n in sc["names"][w::3]:
                put_progress(sc, did, n, "Succeeded")
            time.sleep(2.5)
        out, _ = dep.communicate(timeout=120)
    finally:
        if dep.poll() is None:
            dep.kill()
            dep.wait()
    assert dep.returncode == 0, out
    assert f"{N} succeeded, 0 failed" in out

    log = p.log()
    prog = f"/deployments/{APP}/{GROUP}/{did}/instances/"
    # Rounds: each listing of the deployment's instances/ prefix starts
    # one; the progress GETs after it until the next belong to it.
    rounds, cur = [], None
    for e in log:
        path = e["path"]
        if e["method"] == "GET" and "list-type=2" in path and \
                "instances%2F" in path and did in path:
            cur = []
            rounds.append(cur)
        elif e["method"] == "GET" and prog in path:
            assert cur is not None, "a progress read before any listing"
            cur.append(path)
    assert len(rounds) >= 3
    reads = sum(len(r) for r in rounds)
    # Each document was written once or twice (InProgress, Succeeded):
    # never more reads than writes, and no round reads all 300 unless
    # they all changed.
    assert N <= reads <= N + N // 3, reads
    assert max(len(r) for r in rounds) < N
    # Reading every document every round would have cost rounds x 300.
    assert reads < len(rounds) * N / 2, [len(r) for r in rounds]
    # One SendMessage per instance, no GetQueueUrl per instance, and each
    # registry entry read once (the sequence and duplicate checks; the
    # second look after target.json reads only what changed).
    acts = [e.get("action") for e in log]
    assert acts.count("SendMessage") == N
    assert acts.count("GetQueueUrl") == 0
    reg = [e["path"] for e in log if e["method"] == "GET" and
           f"/groups/{APP}/{GROUP}/instances/" in e["path"] and
           "list-type" not in e["path"]]
    assert len(reg) == len(set(reg)) == N
    total = len(log)
    # In all: a message, a registry read and a read per document written
    # per instance, plus listings, the bundle and the records.
    assert total <= 2 * N + reads + 60, total
