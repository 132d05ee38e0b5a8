#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B4: pickup latency, message sent -> first hook started, over 50
deployments of a trivial app, for the spool queue (file store; on disk,
where /var/lib/hookd lives, and on tmpfs, which takes the fsyncs out)
and for SQS + S3 on moto (direct; the emulator is a Python server, so each
request costs milliseconds: the round trip of one PutObject is shown
beside it).

"Sent" is the wall clock just before the send (spool: the write into
tmp/ and rename into new/; SQS: the SendMessage call).  "Started" is
$EPOCHREALTIME in the first hook (ApplicationStop of the live revision)
of that deployment, so the figure includes bash's start-up (~2-4 ms).
Each deployment is sent once the previous one's outcome is in the store;
one warm-up deployment (the first install) is not counted.  Between the
two lie: receiving, the progress and registry writes to the store, the
bundle download and sha256 check, the extraction and the state write.
"""
import sys
import time

import benchlib as bl
import daemonbench as db

GOAL_SPOOL_MS = 20
GOAL_SQS_MS = 100


def measure(host, n):
    db.series(host, 1)                    # first install: warm-up
    return db.series(host, n, first_seq=2)


def rows_for(key, label, lat, goal):
    p50 = bl.median(lat)
    return [
        bl.Row(f"{key}_p50_ms", f"pickup p50, {label} ({len(lat)} deploys)",
               bl.ms(p50), "ms", f"<= {goal} ms", ok=p50 * 1000 <= goal),
        bl.Row(f"{key}_p95_ms", f"pickup p95, {label}",
               bl.ms(bl.percentile(lat, 95)), "ms"),
    ]


def run(ctx):
    n = 5 if ctx.quick else 50
    rows = []
    places = ["disk"] + (["tmpfs"] if ctx.shm else [])
    for where in places:
        with db.Scene(ctx, ctx.tmpdir(where, "b4-")) as sc:
            h = sc.spool(".")
            ctx.log(f"B4 spool on {where}")
            lat = measure(h, n)
        rows += rows_for(f"spool_{where}", f"spool, {where}", lat,
                         GOAL_SPOOL_MS)
    with db.Scene(ctx, ctx.tmpdir("disk", "b4-")) as sc:
        h = sc.sqs(through_proxy=False)
        ctx.log("B4 SQS (moto)")
        lat = measure(h, n)
        rows += rows_for("sqs", "SQS+S3 on moto, disk", lat, GOAL_SQS_MS)
        rt = []
        for i in range(10):
            t0 = time.monotonic()
            h.s3.put_object(Bucket=h.bucket, Key=f"rt/{i}", Body=b"{}")
            rt.append(time.monotonic() - t0)
        rows.append(bl.Row("moto_put_ms", "context: one S3 PutObject to "
                           "moto (botocore), median", bl.ms(bl.median(rt)),
                           "ms", note="hookd makes 2 PUTs and a GET "
                           "between ReceiveMessage and the first hook"))
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B4"))
