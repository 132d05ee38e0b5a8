# SPDX-License-Identifier: ISC
"""Start moto_server (the moto AWS emulator) with signature checking on.

moto_server is located by scripts/find-moto.  It is started on a free
127.0.0.1 port with INITIAL_NO_AUTH_ACTION_COUNT=4: those first four
requests create an IAM user, give it an allow-everything inline policy and
two access keys; every later request must carry a valid SigV4 signature
from one of those keys (moto 5.2.1 checks it for SQS, S3, Auto Scaling,
STS and IAM: a wrong secret gets 403 SignatureDoesNotMatch, an unknown
key 403 InvalidClientTokenId / InvalidAccessKeyId).

The setup client is Debian's python3-botocore, independent of our C code.
"""
import os
import pathlib
import socket
import subprocess
import time

import botocore.session
from botocore.config import Config

TOP = pathlib.Path(__file__).resolve().parents[2]
BOOTSTRAP_ACTIONS = 4   # CreateUser, PutUserPolicy, CreateAccessKey x 2
ADMIN_POLICY = ('{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
                '"Action":"*","Resource":"*"}]}')


class PeerError(Exception):
    pass


def find_moto():
    r = subprocess.run([str(TOP / "scripts" / "find-moto")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise PeerError(r.stderr.strip() or "find-moto: moto_server not "
                        "found")
    return r.stdout.strip()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout=30.0, what="peer"):
    """Poll until 127.0.0.1:port accepts, or the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise PeerError(f"{what} exited with status {proc.returncode} "
                            "before accepting connections")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)   # a poll interval, not a synchronisation
    raise PeerError(f"{what} did not listen on port {port} in {timeout} s")


class Moto:
    """One moto_server process and the IAM identity made in it."""

    region = "us-east-1"

    def __init__(self, logdir):
        self.logdir = pathlib.Path(logdir)
        self.proc = None
        self.url = None
        self.access_key = self.secret = None
        self.access_key2 = self.secret2 = None
        self.logfile = self.logdir / "moto.log"

    def start(self, procs):
        exe = find_moto()
        env = dict(os.environ,
                   INITIAL_NO_AUTH_ACTION_COUNT=str(BOOTSTRAP_ACTIONS),
                   MOTO_ALLOW_NONEXISTENT_REGION="false")
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        # motopatch/sitecustomize.py fixes moto's signature check for
        # encoded '/' and '+' (see there).
        env["PYTHONPATH"] = os.pathsep.join(
            [str(pathlib.Path(__file__).resolve().parent / "motopatch")] +
            ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        for attempt in range(3):
            port = free_port()
            log = open(self.logfile, "ab")
            self.proc = subprocess.Popen(
                [exe, "-H", "127.0.0.1", "-p", str(port)], env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)
            log.close()
            procs.append(self.proc)
            try:
                wait_port(port, self.proc, what="moto_server")
                break
            except PeerError:
                if attempt == 2 or self.proc.poll() is None:
                    raise
        self.url = f"http://127.0.0.1:{port}"
        self._bootstrap()
        return self

    def _client(self, service, ak, sk, url=None):
        sess = botocore.session.Session()
        return sess.create_client(
            service, region_name=self.region, endpoint_url=url or self.url,
            aws_access_key_id=ak, aws_secret_access_key=sk,
            config=Config(retries={"max_attempts": 1},
                          s3={"addressing_style": "path"}))

    def _bootstrap(self):
        iam = self._client("iam", "AKIABOOTSTRAP0000000", "bootstrap")
        iam.create_user(UserName="hookd-test")
        iam.put_user_policy(UserName="hookd-test", PolicyName="all",
                            PolicyDocument=ADMIN_POLICY)
        k1 = iam.create_access_key(UserName="hookd-test")["AccessKey"]
        k2 = iam.create_access_key(UserName="hookd-test")["AccessKey"]
        self.access_key, self.secret = k1["AccessKeyId"], \
            k1["SecretAccessKey"]
        self.access_key2, self.secret2 = k2["AccessKeyId"], \
            k2["SecretAccessKey"]
        # From here on moto checks signatures: prove it before any test
        # relies on it.
        bad = self._client("sts", self.access_key, "wrong-" + self.secret)
        try:
            bad.get_caller_identity()
        except Exception as e:  # botocore ClientError
            if "SignatureDoesNotMatch" not in str(e):
                raise PeerError(f"moto refused a bad signature oddly: {e}")
        else:
            raise PeerError("moto accepted a wrong secret: signature "
                            "checking is off")

    def client(self, service, url=None):
        """A botocore client signed with the test user's key."""
        return self._client(service, self.access_key, self.secret, url)

    def env(self, endpoint=None, **extra):
        """The environment for a hookd/awsc process using this moto."""
        url = endpoint or self.url
        e = {"AWS_ACCESS_KEY_ID": self.access_key,
             "AWS_SECRET_ACCESS_KEY": self.secret,
             "AWS_REGION": self.region,
             "AWS_ENDPOINT_URL": url,
             "AWS_EC2_METADATA_DISABLED": "true",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
             "AWS_CONFIG_FILE": "/nonexistent/config"}
        e.update(extra)
        return e


if __name__ == "__main__":
    # By hand: start moto with signature checking, print the environment
    # a client needs, and serve until interrupted.
    import signal
    import tempfile
    procs = []
    m = Moto(tempfile.mkdtemp(prefix="hookd-moto-")).start(procs)
    for k, v in m.env().items():
        print(f"export {k}='{v}'")
    print(f"# moto log: {m.logfile}", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        for p in procs:
            p.terminate()
            p.wait()
