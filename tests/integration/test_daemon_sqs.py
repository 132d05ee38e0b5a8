# SPDX-License-Identifier: ISC
"""`hookd run` with the fleet backends, SQS and S3, on moto_server (with
signature checking) behind the recording, fault-injecting proxy.  Messages
are sent and bundles uploaded with the aws CLI, an independent client;
moto's state is read back with botocore.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from daemon_util import (APP, GROUP, INSTANCE, AwsWorld,  # noqa: F401
                         daemon, message, sha256_file)
from lifecycle_util import (app_bundle, blocked_in, events, mkfifo,
                            pid_alive, wait_for, ws)  # noqa: F401

pytestmark = pytest.mark.usefixtures("moto")


class Fleet(AwsWorld):
    """A bucket and a queue prefix of this test, and the aws CLI."""

    def __init__(self, moto, proxy, ws):
        super().__init__(moto, proxy, ws, "tb")
        cfg = ws.base / "aws-cli-config"
        cfg.write_text("[default]\ns3 =\n    addressing_style = path\n")
        self.cli_env = dict(os.environ, **moto.env())
        self.cli_env["AWS_CONFIG_FILE"] = str(cfg)
        self.cli_env["AWS_DEFAULT_REGION"] = moto.region

    def aws(self, *args):
        r = subprocess.run(["aws", "--endpoint-url", self.moto.url] +
                           list(args), capture_output=True, text=True,
                           env=self.cli_env, timeout=120)
        assert r.returncode == 0, r.stderr
        return r.stdout

    def upload(self, bundle):
        sha = sha256_file(bundle)
        self.aws("s3", "cp", str(bundle),
                 f"s3://{self.bucket}/deploys/revisions/{APP}/{sha}.tar.gz")
        return sha

    def queue_url(self, name=None):
        return self.sqs.get_queue_url(QueueName=name or self.qname)[
            "QueueUrl"]

    def send(self, body):
        if not isinstance(body, str):
            body = json.dumps(body)
        self.aws("sqs", "send-message", "--queue-url", self.queue_url(),
                 "--message-body", body)

    def progress(self, dep_id):
        key = (f"deploys/deployments/{APP}/{GROUP}/{dep_id}/instances/"
               f"{INSTANCE}.json")
        return self.s3_json(key)

    def wait_status(self, dep_id, want, timeout=60):
        def done():
            p = self.progress(dep_id)
            return p if p is not None and p["status"] == want else None
        return wait_for(done, timeout, interval=0.2,
                        what=f"{dep_id} status {want}")

    def counts(self, name=None):
        a = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url(name),
            AttributeNames=["ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesNotVisible"])[
            "Attributes"]
        return (int(a["ApproximateNumberOfMessages"]),
                int(a["ApproximateNumberOfMessagesNotVisible"]))

    def empty(self):
        return self.counts() == (0, 0)

    def config(self, **kw):
        cfg = dict(application=APP, deployment_group=GROUP,
                   store=self.store, queue="sqs", queue_prefix=self.prefix,
                   root=str(self.ws.root), instance_id=INSTANCE,
                   region=self.moto.region, log_level="debug",
                   visibility_timeout=30, poll_wait=2)
        cfg.update(kw)
        return cfg

    def env(self):
        return self.moto.env(self.proxy.url)


@pytest.fixture
def fleet(moto, proxy, ws):
    return Fleet(moto, proxy, ws)


def actions(fleet, *names):
    return [e["action"] for e in fleet.proxy.log()
            if e["action"] in names]


def test_queue_and_dlq_are_created_with_redrive(fleet, daemon, ws):
    h = daemon(ws, fleet.config(), env=fleet.env())
    url = fleet.queue_url()
    dlq = fleet.queue_url(fleet.qname + "-dlq")
    a = fleet.sqs.get_queue_attributes(QueueUrl=url,
                                       AttributeNames=["All"])["Attributes"]
    red = json.loads(a["RedrivePolicy"])
    assert int(red["maxReceiveCount"]) == 5
    assert red["deadLetterTargetArn"].endswith(":" + fleet.qname + "-dlq")
    assert a["VisibilityTimeout"] == "30"
    assert dlq
    reg = json.loads(fleet.s3.get_object(
        Bucket=fleet.bucket, Key=f"deploys/groups/{APP}/{GROUP}/instances/"
        f"{INSTANCE}.json")["Body"].read())
    assert reg["queue"] == fleet.qname and reg["queue_backend"] == "sqs"
    assert h.stop() == 0


def test_message_from_aws_cli_runs_and_is_deleted(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    h = daemon(ws, fleet.config(), env=fleet.env())
    m = message(fleet.store, sha, 1)
    fleet.send(m)
    p = fleet.wait_status(m["deployment_id"], "Succeeded")
    wait_for(fleet.empty, 20, interval=0.2, what="the message deleted")
    assert p["sha256"] == sha
    assert [e[0] for e in events(ws)][-1] == "ValidateService"
    # The outcome was written before the message was deleted.
    log = fleet.proxy.log()
    puts = [i for i, e in enumerate(log) if e["method"] == "PUT" and
            m["deployment_id"] in e["path"]]
    dels = [i for i, e in enumerate(log) if e["action"] == "DeleteMessage"]
    assert puts and dels and max(puts) < dels[0]
    assert h.stop() == 0


def test_bundle_over_max_bundle_bytes_fails_without_a_change(fleet, daemon,
                                                             ws):
    v1 = app_bundle(ws, "v1", fmt="tgz")
    v2 = app_bundle(ws, "v2", fmt="tgz", extra_files={
        "big.bin": os.urandom(256 * 1024)})
    sha1, sha2 = fleet.upload(v1), fleet.upload(v2)
    cap = v2.stat().st_size - 1
    assert v1.stat().st_size <= cap
    h = daemon(ws, fleet.config(max_bundle_bytes=cap), env=fleet.env())
    m1 = message(fleet.store, sha1, 1)
    fleet.send(m1)
    fleet.wait_status(m1["deployment_id"], "Succeeded")
    m2 = message(fleet.store, sha2, 2)
    fleet.send(m2)
    p = fleet.wait_status(m2["deployment_id"], "Failed")
    assert p["event"] == "DownloadBundle"
    assert f"larger than {cap} bytes" in p["message"]
    assert (ws.current(APP, GROUP) / "VERSION").read_text() == "v1\n"
    # One GET of the bundle, refused by its Content-Length; no HEAD.
    bundle = [e["method"] for e in fleet.proxy.log() if sha2 in e["path"]]
    assert bundle == ["GET"]
    assert h.stop() == 0


def test_duplicate_and_older_sequence_are_acknowledged(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    h = daemon(ws, fleet.config(), env=fleet.env())
    m = message(fleet.store, sha, 7)
    fleet.send(m)
    fleet.wait_status(m["deployment_id"], "Succeeded")
    n = len(events(ws))
    fleet.send(m)
    fleet.send(message(fleet.store, sha, 6))
    h.wait_log("not run: deployment .* already finished here")
    h.wait_log("not run: sequence 6 is not above the installed sequence 7")
    wait_for(fleet.empty, 20, interval=0.2, what="both acknowledged")
    assert len(events(ws)) == n
    assert h.stop() == 0


def test_bad_messages_go_to_the_dead_letter_queue(fleet, daemon, ws):
    key = b"s" * 32
    keyfile = ws.base / "msg.key"
    keyfile.write_bytes(key)
    os.chmod(keyfile, 0o600)
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    h = daemon(ws, fleet.config(message_key_file=str(keyfile)),
               env=fleet.env())
    fleet.send("this is not json")
    fleet.send(message(fleet.store, sha, 1, group="staging", key=key))
    fleet.send(message(fleet.store, sha, 1, key=key,
                       location=f"s3://other-bucket/revisions/{APP}/"
                       f"{sha}.tar.gz"))
    fleet.send(message(fleet.store, sha, 1, key=b"not the key"))
    dlq = fleet.qname + "-dlq"
    wait_for(lambda: fleet.counts(dlq)[0] == 4, 60, interval=0.5,
             what="four messages in the dead-letter queue")
    err = h.stderr()
    assert "staging" in err
    assert "bad message signature" in err
    assert " rejected (delivery 5): " in err
    assert not actions(fleet, "DeleteMessage")
    good = message(fleet.store, sha, 2, key=key)
    fleet.send(good)
    fleet.wait_status(good["deployment_id"], "Succeeded")
    assert h.stop() == 0


def test_long_hook_keeps_the_message_invisible(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, fleet.config(), env=fleet.env())
    m = message(fleet.store, sha, 1)
    fleet.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    # visibility_timeout 30: an extension every 10 s, before it lapses.
    wait_for(lambda: actions(fleet, "ChangeMessageVisibility"), 25,
             interval=0.5, what="a ChangeMessageVisibility request")
    ext = [e for e in fleet.proxy.log()
           if e["action"] == "ChangeMessageVisibility"]
    assert ext[0]["form"]["VisibilityTimeout"] == "30"
    assert fleet.counts() == (0, 1)
    # The hook's `: < fifo` only waits for a writer to open it; writing
    # could meet the pipe already closed (EPIPE), so just open and close.
    with open(ws.out / "fifo", "w"):
        pass
    fleet.wait_status(m["deployment_id"], "Succeeded")
    wait_for(fleet.empty, 20, interval=0.2, what="the message deleted")
    assert h.stop() == 0


def test_an_outage_at_start_shorter_than_start_timeout_is_waited_out(
        fleet, daemon, ws):
    """Each failed try at start is logged with its reason, then the
    queue and the store are reached and the daemon is ready."""
    for what, call, rule in (
            ("queue", "sqs CreateQueue: ", {"action": "CreateQueue"}),
            ("store", "s3 PutObject: ", {"method": "PUT",
                                         "path": "/instances/"})):
        # three attempts make one failed try
        fleet.proxy.rules([{"match": rule, "fault": "status",
                            "status": 503, "times": 3}])
        h = daemon(ws, fleet.config(start_timeout=30), env=fleet.env())
        err = h.stderr()
        tries = [ln for ln in err.splitlines()
                 if f"{what} unavailable: " in ln]
        assert len(tries) == 1, err
        assert call in tries[0] and "; trying again in 1 s (gives up " \
            in tries[0] and "s from now, start_timeout)" in tries[0], err
        assert f"{what} available again" in err
        assert h.stop() == 0


def test_sqs_and_s3_outage_is_ridden_out(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    h = daemon(ws, fleet.config(), env=fleet.env())
    fleet.proxy.rules([
        {"match": {"action": "ReceiveMessage"}, "fault": "status",
         "status": 500, "times": 4},
        {"match": {"service": "s3"}, "fault": "status", "status": 503,
         "times": 8},
    ])
    m = message(fleet.store, sha, 1)
    fleet.send(m)
    fleet.wait_status(m["deployment_id"], "Succeeded", timeout=120)
    wait_for(fleet.empty, 30, interval=0.2, what="the message deleted")
    # Each outage is logged once when it starts and once when it ends
    # (the ReceiveMessage faults may come after the deployment).
    h.wait_log("queue available again", timeout=30)
    h.wait_log("store available again", timeout=30)
    err = h.stderr()
    assert err.count("queue unavailable") == 1
    assert err.count("store unavailable") == 1
    assert h.stop() == 0


def test_sigterm_during_hook_keeps_the_message(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, fleet.config(), env=fleet.env(), args=["-t", "1"])
    m = message(fleet.store, sha, 1)
    fleet.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    hook_pid = int((ws.out / "blocked.pid").read_text())
    assert h.stop(signal.SIGTERM, timeout=30) == 0
    assert not pid_alive(hook_pid)
    assert not actions(fleet, "DeleteMessage")
    assert fleet.counts() == (0, 1)
    assert fleet.progress(m["deployment_id"])["status"] == "Interrupted"


def test_sigterm_while_idle_in_a_long_poll_is_prompt(fleet, daemon, ws):
    h = daemon(ws, fleet.config(poll_wait=20), env=fleet.env())
    wait_for(lambda: actions(fleet, "ReceiveMessage"), 10, interval=0.1,
             what="a long poll")
    t0 = time.monotonic()
    assert h.stop(signal.SIGTERM, timeout=10) == 0
    assert time.monotonic() - t0 < 5
    polls = [e for e in fleet.proxy.log() if e["action"] == "ReceiveMessage"]
    assert polls[0]["form"]["WaitTimeSeconds"] == "20"
    # The poll was aborted, not the process: the normal way out ran.
    assert h.notify.wait("STOPPING=1", 5) is not None
    assert re.search(r"\bstopped\b", h.stderr()), h.stderr()
    assert "unavailable" not in h.stderr()


def test_kill9_during_hook_then_restart_resumes_once(fleet, daemon, ws):
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, fleet.config(), env=fleet.env())
    m = message(fleet.store, sha, 1)
    fleet.send(m)
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    hook_pid = int((ws.out / "blocked.pid").read_text())
    h.kill9()
    wait_for(lambda: not pid_alive(hook_pid), 15,
             what="the hook to die with hookd")
    (ws.out / "block.ApplicationStart.v1").unlink()
    h.start()
    # Recovered at start-up, before READY=1, and reported.
    assert fleet.progress(m["deployment_id"])["status"] == "Interrupted"
    # The message comes back when its visibility lapses (<= 30 s) and
    # the deployment runs to the end, once.
    fleet.wait_status(m["deployment_id"], "Succeeded", timeout=90)
    wait_for(fleet.empty, 20, interval=0.2, what="the message deleted")
    hist = [x for x in ws.state(APP, GROUP)["history"]
            if x["deployment_id"] == m["deployment_id"]]
    assert [x["status"] for x in hist] == ["Succeeded", "Interrupted"]
    assert len(actions(fleet, "DeleteMessage")) == 1
    assert h.stop() == 0
