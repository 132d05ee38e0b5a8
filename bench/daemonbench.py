# SPDX-License-Identifier: ISC
"""Daemon set-ups shared by B3 and B4: a `hookd run` on the spool queue
and file store, or on SQS and S3 (moto, through the recording proxy),
serving group "bench" of application "app" as instance i-bench; and a
series of deployments of the stamp bundle, each sent once the previous
one's outcome is in the store, giving the pickup latency of each.
"""
import json
import pathlib
import time

import benchlib as bl

APP, GROUP, INSTANCE = "app", "bench", "i-bench"


class SpoolHost:
    kind = "spool"

    def __init__(self, ctx, base, extra=None):
        self.base = pathlib.Path(base)
        self.store_dir = self.base / "store"
        self.queue_dir = self.base / "queue"
        self.out = self.base / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        cfg = {"application": APP, "deployment_group": GROUP,
               "store": f"file://{self.store_dir}",
               "queue": f"file://{self.queue_dir}",
               "root": str(self.base / "root"), "instance_id": INSTANCE,
               "keep_releases": 3}
        cfg.update(extra or {})
        self.daemon = bl.Daemon(ctx, self.base / "d", cfg)
        b = bl.stamp_bundle(self.base, self.out)
        self.sha = bl.sha256_file(b)
        d = self.store_dir / "revisions" / APP
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{self.sha}.tar.gz").write_bytes(b.read_bytes())
        self.location = f"file://{self.store_dir}/revisions/{APP}/" \
            f"{self.sha}.tar.gz"

    def send(self, msg):
        bl.spool_send(self.queue_dir, GROUP, INSTANCE, msg)

    def status(self, dep_id):
        p = bl.progress(self.store_dir, APP, GROUP, dep_id, INSTANCE)
        return p and p.get("status")

    def stop(self):
        self.daemon.stop()


class SqsHost:
    kind = "sqs"

    def __init__(self, ctx, base, peers, extra=None, through_proxy=True):
        self.base = pathlib.Path(base)
        self.peers = peers
        self.out = self.base / "out"
        self.out.mkdir(parents=True, exist_ok=True)
        self.bucket = "bench-" + bl.new_id()[2:].lower()
        self.s3 = peers.moto.client("s3")
        self.sqs = peers.moto.client("sqs")
        self.s3.create_bucket(Bucket=self.bucket)
        cfg = {"application": APP, "deployment_group": GROUP,
               "store": f"s3://{self.bucket}/deploys", "queue": "sqs",
               "region": peers.moto.region,
               "root": str(self.base / "root"), "instance_id": INSTANCE,
               "keep_releases": 3}
        cfg.update(extra or {})
        b = bl.stamp_bundle(self.base, self.out)
        self.sha = bl.sha256_file(b)
        key = f"deploys/revisions/{APP}/{self.sha}.tar.gz"
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=b.read_bytes())
        self.location = f"s3://{self.bucket}/{key}"
        self.daemon = bl.Daemon(ctx, self.base / "d", cfg,
                                env=peers.env(through_proxy))
        self.qurl = self.sqs.get_queue_url(
            QueueName=f"hookd-{GROUP}-{INSTANCE}")["QueueUrl"]

    def send(self, msg):
        self.sqs.send_message(QueueUrl=self.qurl, MessageBody=json.dumps(msg))

    def status(self, dep_id):
        key = (f"deploys/deployments/{APP}/{GROUP}/{dep_id}/instances/"
               f"{INSTANCE}.json")
        try:
            o = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(o["Body"].read()).get("status")

    def stop(self):
        self.daemon.stop()


class Scene:
    """The daemons and peers of one measurement, all under base: `with
    Scene(ctx, base) as sc:` stops every daemon, then the peers, and
    removes base on the way out, whatever happened."""

    def __init__(self, ctx, base):
        self.ctx, self.base = ctx, pathlib.Path(base)
        self.hosts, self.peers = [], None

    def spool(self, sub="spool", **kw):
        self.hosts.append(SpoolHost(self.ctx, self.base / sub, **kw))
        return self.hosts[-1]

    def sqs(self, sub="sqs", **kw):
        if self.peers is None:
            self.peers = bl.Peers(self.base / "peers")
        self.hosts.append(SqsHost(self.ctx, self.base / sub, self.peers,
                                  **kw))
        return self.hosts[-1]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for h in reversed(self.hosts):
            h.stop()
        if self.peers is not None:
            self.peers.stop()
        bl.drop_dir(self.base)
        return False


def series(host, n, first_seq=1, on_each=None, timeout=120):
    """Send n deployments one after the other; returns the pickup
    latencies (s): message sent (just before the send call) -> first
    hook started.  on_each(i) runs after deployment i finished."""
    lat = []
    interval = 0.005 if host.kind == "spool" else 0.02
    for i in range(n):
        seq = first_seq + i
        m = bl.message(host.location, host.sha, seq, APP, GROUP)
        dep = m["deployment_id"]
        t0 = time.time()
        host.send(m)

        def done():
            s = host.status(dep)
            if s in ("Failed", "Stopped", "Skipped"):
                raise RuntimeError(f"deployment {seq} ended {s}: " +
                                   host.daemon.stderr()[-500:])
            return s == "Succeeded"
        bl.wait_for(done, timeout, f"deployment {seq}", interval)
        stamp = host.out / f"t.{dep}"
        lat.append(float(stamp.read_text()) - t0)
        if on_each is not None:
            on_each(i + 1)
    return lat
