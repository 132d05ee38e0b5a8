# SPDX-License-Identifier: ISC
"""Helpers for the deployer's integration tests.

A Fleet is one workspace holding: a shared file store and spool queue
base, N `hookd run` daemons (distinct instance ids, roots and config
files) serving group "production" of application "worker", and a real
git repository holding appspec-examples/worker plus a deployer.yml that
points at the same store and queue.  Tests commit to that repository and
run the real `deployer` binary in it.
"""
import json
import os
import pathlib
import pty
import re
import select
import shutil
import subprocess
import time
import types

from conftest import TOP, binary, run
from daemon_util import Hookd, write_config
from lifecycle_util import wait_for

# The first line of a deployment, as `deployer GROUP REF` prints it.
DEP_ID = re.compile(r"deployment (d-[A-Z0-9]{9}) \(sequence (\d+)\)")


def dep_id(out):
    m = DEP_ID.search(out)
    assert m, out
    return m.group(1)


APP = "worker"
GROUP = "production"
EXAMPLE = TOP / "appspec-examples" / "worker"
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}


def deployer_yml(store, queue, groups, prefix="hookd", region=None):
    """deployer.yml text; groups: {name: {key: value}}."""
    lines = [f"application: {APP}", f"store: {store}", f"queue: {queue}",
             f"queue_prefix: {prefix}"]
    if region:
        lines.append(f"region: {region}")
    lines.append("groups:")
    for name, opts in groups.items():
        lines.append(f"  {name}:")
        for k, v in opts.items():
            if isinstance(v, bool):
                v = "true" if v else "false"
            lines.append(f"    {k}: {v}")
    return "\n".join(lines) + "\n"


class Fleet:
    # Set by AwsFleet: the backends and the environment of every process.
    prefix = "hookd"
    region = None
    env = {}

    def __init__(self, ws, daemon_factory, n=3, config="AllAtOnce",
                 timeout=60, rollback=True, extra_groups=None, key=None):
        self.ws = ws
        self.base = ws.base
        self.store_dir = self.base / "store"
        self.queue_dir = self.base / "queue"
        if not hasattr(self, "store"):
            self.store = f"file://{self.store_dir}"
            self.queue = f"file://{self.queue_dir}"
        self.repo = self.base / "repo"
        self.daemons = {}
        self._factory = daemon_factory
        groups = {GROUP: {"deployment_config": config,
                          "rollback_on_failure": rollback,
                          "timeout": timeout}}
        groups.update(extra_groups or {})
        self.keyfile = None
        if key is not None:
            self.keyfile = self.base / "message.key"
            self.keyfile.write_bytes(key)
            os.chmod(self.keyfile, 0o600)
        yml = deployer_yml(self.store, self.queue, groups, self.prefix,
                           self.region)
        if self.keyfile is not None:
            yml = yml.replace("groups:\n", f"message_key_file: "
                              f"{self.keyfile}\ngroups:\n")
        self.make_repo(yml)
        for i in range(1, n + 1):
            self.add_daemon(f"i-{i}")

    # --- daemons -------------------------------------------------------
    def add_daemon(self, name, start=True):
        d = self.base / "hosts" / name
        root = d / "root"
        root.mkdir(parents=True)
        os.chmod(d, 0o755)
        os.chmod(root, 0o755)
        fake_ws = types.SimpleNamespace(base=d, root=root)
        cfg = dict(application=APP, deployment_group=GROUP,
                   store=self.store, queue=self.queue, root=str(root),
                   instance_id=name, keep_releases=3, log_level="info",
                   poll_wait=1, queue_prefix=self.prefix,
                   region=self.region,
                   message_key_file=str(self.keyfile) if self.keyfile
                   else None)
        h = self._factory(fake_ws, cfg, env=dict(self.env), start=start)
        self.daemons[name] = h
        return h

    def root(self, name):
        return self.base / "hosts" / name / "root"

    def state(self, name):
        p = self.root(name) / APP / GROUP / "state.json"
        return json.loads(p.read_text()) if p.exists() else None

    def current_version(self, name):
        cur = self.root(name) / APP / GROUP / "current" / "VERSION"
        return cur.read_text().strip() if cur.exists() else None

    # --- git -----------------------------------------------------------
    def git(self, *args, check=True):
        env = dict(os.environ, **GIT_ENV)
        r = subprocess.run(["git", "-C", str(self.repo)] + list(args),
                           capture_output=True, text=True, env=env)
        if check and r.returncode != 0:
            raise AssertionError(f"git {args}: {r.stderr}")
        return r.stdout.strip()

    def make_repo(self, yml):
        shutil.copytree(EXAMPLE, self.repo, symlinks=True,
                        ignore=shutil.ignore_patterns("deployer.yml",
                                                      "deployer"))
        (self.repo / "deployer.yml").write_text(yml)
        self.git("init", "-q", "-b", "master")
        self.commit("worker v1", {"VERSION": "1.0.0\n"})

    def commit(self, msg, files=None):
        for rel, content in (files or {}).items():
            p = self.repo / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, tuple):
                p.write_text(content[0])
                os.chmod(p, content[1])
            else:
                p.write_text(content)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", msg)
        return self.git("rev-parse", "HEAD")

    # --- deployer ------------------------------------------------------
    def deployer(self, *args, cwd=None, timeout=180):
        env = dict(os.environ, **GIT_ENV)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return run([binary("deployer")] + list(args),
                   cwd=str(cwd or self.repo), env=env, timeout=timeout)

    def popen_deployer(self, *args):
        env = dict(os.environ, **GIT_ENV)
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        return subprocess.Popen([binary("deployer")] + list(args),
                                cwd=str(self.repo), env=env, text=True,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)

    # --- store ---------------------------------------------------------
    def read(self, key):
        p = self.store_dir / key
        return json.loads(p.read_text()) if p.exists() else None

    def deployment(self, dep_id):
        return self.read(f"deployments/{APP}/{GROUP}/{dep_id}/"
                         "deployment.json")

    def progress(self, dep_id, inst):
        return self.read(f"deployments/{APP}/{GROUP}/{dep_id}/instances/"
                         f"{inst}.json")

    def target(self):
        return self.read(f"groups/{APP}/{GROUP}/target.json")

    def revisions(self):
        d = self.store_dir / "revisions" / APP
        return sorted(p.name for p in d.iterdir()
                      if not p.name.startswith(".")) if d.is_dir() else []

    def wait_registered(self, names, timeout=30):
        def ok():
            return all(self.read(f"groups/{APP}/{GROUP}/instances/"
                                 f"{n}.json") for n in names)
        wait_for(ok, timeout, what=f"registry entries of {names}")


class AwsFleet(Fleet):
    """The same fleet on SQS and S3 (moto): a bucket and a queue prefix of
    this test; the store is read back with botocore."""

    def __init__(self, moto, ws, daemon_factory, **kw):
        import uuid
        self.moto = moto
        self.bucket = "b-" + uuid.uuid4().hex[:12]
        self.prefix = "t" + uuid.uuid4().hex[:8]
        self.store = f"s3://{self.bucket}/deploys"
        self.queue = "sqs"
        self.region = moto.region
        self.env = moto.env()
        self.s3 = moto.client("s3")
        self.sqs = moto.client("sqs")
        self.s3.create_bucket(Bucket=self.bucket)
        super().__init__(ws, daemon_factory, **kw)

    def read(self, key):
        try:
            o = self.s3.get_object(Bucket=self.bucket, Key="deploys/" + key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(o["Body"].read())

    def revisions(self):
        r = self.s3.list_objects_v2(Bucket=self.bucket,
                                    Prefix=f"deploys/revisions/{APP}/")
        return sorted(o["Key"].rsplit("/", 1)[1]
                      for o in r.get("Contents", []))

    def revision_etag(self, name):
        return self.s3.head_object(
            Bucket=self.bucket,
            Key=f"deploys/revisions/{APP}/{name}")["LastModified"]


def deployer_on_pty(repo, args, timeout=120, react=None):
    """Run `deployer ARGS` in repo on a terminal until it exits; return
    its exit status and all it wrote (as text).  react(text so far, pid),
    called as output comes, returns bytes to type or None."""
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(repo)
        os.environ.update({"ASAN_OPTIONS": "detect_leaks=1"})
        os.execv(binary("deployer"), ["deployer", *args])
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if react is not None:
            typed = react(out.decode(errors="replace"), pid)
            if typed:
                os.write(fd, typed)
        r, _, _ = select.select([fd], [], [], 1 if react is None else 0.2)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), out.decode(errors="replace")
