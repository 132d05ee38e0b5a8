# SPDX-License-Identifier: ISC
"""S3: lib/aws/s3.c through tests/tools/awsc against moto_server with
signature checking on, sometimes behind the fault proxy; moto's state is
checked with botocore (independent)."""
import hashlib
import os
import uuid

import pytest

MiB = 1024 * 1024


@pytest.fixture
def bucket(moto):
    name = "b-" + uuid.uuid4().hex[:12]
    moto.client("s3").create_bucket(Bucket=name)
    return name


def blob(tmp_path, name, size):
    p = tmp_path / name
    p.write_bytes(os.urandom(size))
    return p, hashlib.sha256(p.read_bytes()).hexdigest()


def test_put_head_get_list_delete(awsc, moto, bucket, tmp_path):
    env = moto.env()
    src, digest = blob(tmp_path, "src", 300 * 1024)
    key = "revisions/web/a b+c.tar.gz"
    r = awsc("s3", "put", f"s3://{bucket}/{key}", src, env=env)
    assert r.returncode == 0, r.stderr
    etag = r.stdout.strip()
    obj = moto.client("s3").get_object(Bucket=bucket, Key=key)
    assert obj["Body"].read() == src.read_bytes()
    assert obj["ETag"] == etag

    r = awsc("s3", "head", f"s3://{bucket}/{key}", env=env)
    assert r.returncode == 0 and r.stdout.split() == [str(300 * 1024), etag]

    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/{key}", dst, "--sha256", digest,
             env=env)
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == src.read_bytes()

    r = awsc("s3", "ls", f"s3://{bucket}/revisions/", env=env)
    assert r.stdout.splitlines() == [f"{key} {300 * 1024}"]

    assert awsc("s3", "rm", f"s3://{bucket}/{key}", env=env).returncode == 0
    r = awsc("s3", "head", f"s3://{bucket}/{key}", env=env)
    assert r.returncode == 66
    assert "does not exist" in r.stderr


def test_digest_mismatch_removes_the_partial_file(awsc, moto, bucket,
                                                  tmp_path):
    src, digest = blob(tmp_path, "src", 100 * 1024)
    assert awsc("s3", "put", f"s3://{bucket}/k", src,
                env=moto.env()).returncode == 0
    wrong = "0" * 64
    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/k", dst, "--sha256", wrong,
             env=moto.env())
    assert r.returncode == 65
    assert "SHA-256 mismatch" in r.stderr
    assert f"expected {wrong}, got {digest}" in r.stderr
    assert not dst.exists()


def test_missing_object_is_noinput_and_leaves_no_file(awsc, moto, bucket,
                                                      tmp_path):
    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/nope", dst, env=moto.env())
    assert r.returncode == 66
    assert f"'s3://{bucket}/nope' does not exist" in r.stderr
    assert not dst.exists()


def test_object_over_the_cap_is_refused_in_one_request(awsc, moto, bucket,
                                                       tmp_path, proxy):
    p = proxy(moto.url)
    src, digest = blob(tmp_path, "src", 100 * 1024)
    assert awsc("s3", "put", f"s3://{bucket}/k", src,
                env=moto.env()).returncode == 0
    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/k", dst, "--max",
             str(100 * 1024 - 1), env=moto.env(p.url))
    assert r.returncode == 65, r.stderr
    assert f"s3://{bucket}/k: larger than {100 * 1024 - 1} bytes" in r.stderr
    assert not dst.exists()
    # Refused by the GET's Content-Length: no HEAD first, no retry.
    assert [e["method"] for e in p.log()] == ["GET"]

    r = awsc("s3", "get", f"s3://{bucket}/k", dst, "--sha256", digest,
             "--max", str(100 * 1024), env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert dst.read_bytes() == src.read_bytes()


def test_multipart_upload_above_threshold(awsc, moto, bucket, tmp_path,
                                          proxy):
    p = proxy(moto.url)
    src, digest = blob(tmp_path, "big", 11 * MiB)
    r = awsc("s3", "put", f"s3://{bucket}/big", src,
             "--multipart-threshold", str(5 * MiB),
             "--part-size", str(5 * MiB), env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().strip('"').endswith("-3")
    reqs = [(e["method"], e["path"].split("?", 1)[-1].split("&")[0])
            for e in p.log()]
    assert reqs[0] == ("POST", "uploads")
    assert [m for m, _ in reqs[1:4]] == ["PUT"] * 3
    assert reqs[4][0] == "POST" and reqs[4][1].startswith("uploadId=")
    got = moto.client("s3").get_object(Bucket=bucket, Key="big")
    assert hashlib.sha256(got["Body"].read()).hexdigest() == digest
    # And it downloads intact, digest checked on the way.
    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/big", dst, "--sha256", digest,
             env=moto.env())
    assert r.returncode == 0, r.stderr


def test_failed_multipart_upload_is_aborted(awsc, moto, bucket, tmp_path,
                                            proxy):
    p = proxy(moto.url)
    src, _ = blob(tmp_path, "big", 11 * MiB)
    p.rules([{"match": {"method": "PUT", "path": "partNumber=2"},
              "fault": "status", "status": 500, "times": None}])
    r = awsc("s3", "put", f"s3://{bucket}/big", src,
             "--multipart-threshold", str(5 * MiB),
             "--part-size", str(5 * MiB), env=moto.env(p.url))
    assert r.returncode == 75, r.stderr
    assert "UploadPart" in r.stderr
    assert [e["method"] for e in p.log()][-1] == "DELETE"
    s3 = moto.client("s3")
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_conditional_put(awsc, moto, bucket, tmp_path):
    env = moto.env()
    one, _ = blob(tmp_path, "one", 1000)
    two, _ = blob(tmp_path, "two", 2000)
    url = f"s3://{bucket}/groups/web/prod/target.json"
    r = awsc("s3", "put-if", url, one, "--if-none-match", env=env)
    assert r.returncode == 0, r.stderr
    etag1 = r.stdout.strip()
    # Someone else created it: If-None-Match: * fails, distinguishably.
    r = awsc("s3", "put-if", url, two, "--if-none-match", env=env)
    assert r.returncode == 3
    assert "precondition failed" in r.stderr
    assert "already exists" in r.stderr
    # Replace exactly the version we read.
    r = awsc("s3", "put-if", url, two, "--if-match", etag1, env=env)
    assert r.returncode == 0, r.stderr
    etag2 = r.stdout.strip()
    assert etag2 != etag1
    # A writer holding the old ETag loses, and the object is unchanged.
    r = awsc("s3", "put-if", url, one, "--if-match", etag1, env=env)
    assert r.returncode == 3
    assert "changed by another writer" in r.stderr
    got = moto.client("s3").get_object(Bucket=bucket,
                                       Key="groups/web/prod/target.json")
    assert got["Body"].read() == two.read_bytes()


def test_list_follows_continuation_token(awsc, moto, bucket, proxy):
    p = proxy(moto.url)
    s3 = moto.client("s3")
    keys = [f"deployments/web/d-{i}/deployment.json" for i in range(5)]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=k.encode())
    s3.put_object(Bucket=bucket, Key="other/x", Body=b"x")
    r = awsc("s3", "ls", f"s3://{bucket}/deployments/", "--page-size", "2",
             env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert [ln.split()[0] for ln in r.stdout.splitlines()] == sorted(keys)
    lists = [e for e in p.log() if "list-type=2" in e["path"]]
    assert len(lists) == 3
    assert "continuation-token" not in lists[0]["path"]
    assert all("continuation-token=" in e["path"] for e in lists[1:])
    # Path-style addressing on a loopback endpoint.
    assert all(e["path"].startswith(f"/{bucket}") for e in lists)


@pytest.mark.parametrize("fault,statuses", [
    ({"fault": "throttle", "times": 1}, [503, 200]),
    ({"fault": "status", "status": 500, "times": 2}, [500, 500, 200]),
    ({"fault": "reset", "times": 1}, [0, 200]),
    # Half the body arrives, then the connection breaks: the retry must
    # truncate the file and restart the digest.
    ({"fault": "cut", "times": 1}, [-200, 200]),
])
def test_get_retries_then_succeeds(awsc, moto, bucket, tmp_path, proxy,
                                   fault, statuses):
    p = proxy(moto.url)
    src, digest = blob(tmp_path, "src", 3 * MiB)
    assert awsc("s3", "put", f"s3://{bucket}/k", src,
                env=moto.env()).returncode == 0
    p.rules([dict(fault, match={"method": "GET"})])
    dst = tmp_path / "dst"
    r = awsc("s3", "get", f"s3://{bucket}/k", dst, "--sha256", digest,
             env=moto.env(p.url))
    assert r.returncode == 0, r.stderr
    assert [e["status"] for e in p.log()] == statuses
    assert dst.read_bytes() == src.read_bytes()


def test_wrong_secret_is_a_clear_permission_error(awsc, moto, bucket,
                                                  tmp_path):
    src, _ = blob(tmp_path, "src", 10)
    env = moto.env(AWS_SECRET_ACCESS_KEY="wrong-secret-value")
    awsc.secrets.add("wrong-secret-value")
    r = awsc("s3", "put", f"s3://{bucket}/k", src, env=env, verbose=True)
    assert r.returncode == 77
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("awsc: s3 PutObject: SignatureDoesNotMatch")
    r = awsc("s3", "head", f"s3://{bucket}/k", env=env)
    assert r.returncode == 77


def test_conditional_multipart_put(awsc, moto, bucket, tmp_path):
    src, _ = blob(tmp_path, "big", 6 * MiB)
    url = f"s3://{bucket}/big"
    opts = ["--multipart-threshold", str(5 * MiB), "--part-size",
            str(5 * MiB)]
    r = awsc("s3", "put-if", url, src, "--if-none-match", *opts,
             env=moto.env())
    assert r.returncode == 0, r.stderr
    r = awsc("s3", "put-if", url, src, "--if-none-match", *opts,
             env=moto.env())
    assert r.returncode == 3, r.stderr
    assert "already exists" in r.stderr
    # The refused upload was aborted, not left behind.
    assert moto.client("s3").list_multipart_uploads(
        Bucket=bucket).get("Uploads", []) == []
