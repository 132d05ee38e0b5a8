#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""B8: the deployer's client side for a 100 MB repository (the B1 tree
of 20,000 files committed to git): `deployer --no-wait production HEAD`
against S3 and SQS on moto, through the recording proxy.  That is git
archive, sha256, the upload of the bundle to the store, the deployment
records and one message.  One daemon per group registers its instance
and creates its queue; production's is stopped once the first run
returned (and its writes flushed), so that its extraction does not
compete with the next run.
Then the same commit is deployed again, to the application's other
group (staging: a deployment --no-wait left is still InProgress in
production's records): the bundle is content-addressed, so that
must upload nothing (counted in the proxy's log).
Beside it: `git archive --format=tar.gz HEAD | sha256sum` alone.
"""
import os
import shutil
import subprocess
import sys
import time

import benchlib as bl
import b7_fleet as fl

GROUP = "production"


def run(ctx):
    rows = []
    nfiles = 2000 if ctx.quick else 20000
    data = ctx.data / f"b{nfiles}"
    subprocess.run([str(bl.BENCH / "gen-bundle"), "--files", str(nfiles),
                    str(data)], check=True, stdout=subprocess.DEVNULL)
    base = ctx.tmpdir("disk", "b8-")
    peers = None
    try:
        peers = bl.Peers(base / "peers")
        s3 = peers.moto.client("s3")
        bucket = "bench-" + bl.new_id()[2:].lower()
        s3.create_bucket(Bucket=bucket)
        repo = base / "repo"
        shutil.copytree(data / "tree", repo)
        (repo / "deployer.yml").write_text(
            f"application: big\nstore: s3://{bucket}/deploys\nqueue: sqs\n"
            f"queue_prefix: hookd\nregion: {peers.moto.region}\ngroups:\n"
            f"  {GROUP}:\n    deployment_config: AllAtOnce\n"
            "  staging:\n    deployment_config: AllAtOnce\n")
        ctx.log(f"B8 committing {nfiles} files")
        fl.git(repo, "init", "-q", "-b", "master")
        fl.git(repo, "add", "-A")
        fl.git(repo, "commit", "-q", "-m", "big")
        # One instance: its queue, its registry entry; it runs each
        # deployment after the deployer returned (--no-wait) and the
        # re-deploy waits for that one to finish.
        ctx.log("B8 starting the daemon")
        hosts = []
        for grp, inst in ((GROUP, "i-big"), ("staging", "i-big2")):
            hosts.append(bl.Daemon(
                ctx, base / inst,
                {"application": "big", "deployment_group": grp,
                 "store": f"s3://{bucket}/deploys", "queue": "sqs",
                 "region": peers.moto.region,
                 "root": str(base / inst / "root"), "instance_id": inst},
                env=peers.env(through_proxy=False)))
        # Context: git archive + sha256 alone.
        t0 = time.monotonic()
        r = subprocess.run(f"git -C {repo} archive --format=tar.gz HEAD | "
                           "tee /dev/null | wc -c", shell=True,
                           capture_output=True, text=True, check=True)
        size = int(r.stdout.strip())
        subprocess.run(f"git -C {repo} archive --format=tar.gz HEAD | "
                       "sha256sum", shell=True, capture_output=True,
                       check=True)
        t_arch = time.monotonic() - t0
        env = dict(peers.env(through_proxy=True), **fl.GIT_ENV)

        def deploy(group, inst):
            """deployer --no-wait to group; (wall, requests, uploads)."""
            n0 = len(peers.proxy.log())
            t0 = time.monotonic()
            p = subprocess.run([ctx.deployer, "--no-wait", group, "HEAD"],
                               cwd=str(repo), env=env, capture_output=True,
                               text=True, timeout=900)
            wall = time.monotonic() - t0
            if p.returncode != 0:
                raise RuntimeError(f"deployer exited {p.returncode}: "
                                   f"{(p.stdout + p.stderr)[-400:]}")
            log = peers.proxy.log()[n0:]
            up = [e for e in log if e["method"] in ("PUT", "POST") and
                  "/revisions/" in e["path"]]
            return wall, len(log), up
        try:
            ctx.log("B8 first deploy")
            w1, n1, up1 = deploy(GROUP, "i-big")
            # Stop production's daemon (it would extract the bundle
            # while the next run is timed).
            hosts[0].stop()
            os.sync()   # and its writes are not flushed during the next
            ctx.log("B8 same commit again")
            w2, n2, up2 = deploy("staging", "i-big2")
        finally:
            for x in hosts:
                x.stop()
        rows += [
            bl.Row("bundle_mb", f"bundle (git archive tar.gz, {nfiles} "
                   "files)", round(size / 1e6, 1), "MB"),
            bl.Row("archive_hash_s", "context: git archive | sha256sum "
                   "(run twice: size, then hash)", round(t_arch / 2, 2),
                   "s"),
            bl.Row("first_deploy_s", "deployer --no-wait, first deploy "
                   "(archive + hash + upload + records + send)",
                   round(w1, 2), "s",
                   note=f"{n1} requests, {len(up1)} to revisions/"),
            bl.Row("redeploy_s", "deployer --no-wait, same commit again",
                   round(w2, 2), "s", note=f"{n2} requests"),
            bl.Row("redeploy_uploads", "uploads to revisions/ on the "
                   "re-deploy", len(up2), "requests", "0",
                   ok=len(up2) == 0),
        ]
    finally:
        if peers is not None:
            peers.stop()
        shutil.rmtree(base, ignore_errors=True)
    return rows


if __name__ == "__main__":
    import driver
    sys.exit(driver.standalone("B8"))
