# SPDX-License-Identifier: ISC
"""Helpers for the daemon's integration tests (`hookd run`).

The `daemon` fixture is a factory: daemon(ws, config) writes hookd.yml,
starts `hookd run -d -c FILE` with NOTIFY_SOCKET pointing at a Unix
datagram socket the test owns, and returns once READY=1 arrived on it
(the systemd protocol, so readiness is tested too).  A thread reads that
socket for the daemon's whole life, so a long test never fills it.  Every daemon started
is stopped at teardown; when the test failed (or HOOKD_KEEP_LOGS=1), its
stderr, the deployment
logs, state.json and the config are copied to
tests/integration/log/<test>/.

Also: writing hookd.yml, building deployment messages, the spool queue
(send / list), and the file store (put a bundle, read progress).
"""
import datetime
import hashlib
import hmac
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid

import pytest

from conftest import TOP, binary
from lifecycle_util import wait_for

LOGROOT = TOP / "tests" / "integration" / "log"
INSTANCE = "i-0test"
APP = "app"
GROUP = "production"


def write_config(path, **kw):
    """hookd.yml from keyword arguments (None values left out)."""
    lines = []
    for k, v in kw.items():
        if v is None:
            continue
        if isinstance(v, bool):
            v = "true" if v else "false"
        lines.append(f"{k}: {v}")
    pathlib.Path(path).write_text("\n".join(lines) + "\n")
    return path


def spool_config(ws, **kw):
    """A config for the spool queue and the file store inside ws."""
    cfg = dict(application=APP, deployment_group=GROUP,
               store=f"file://{ws.base}/store",
               queue=f"file://{ws.base}/queue", root=str(ws.root),
               instance_id=INSTANCE, keep_releases=3, log_level="debug")
    cfg.update(kw)
    return cfg


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(65536), b""):
            h.update(chunk)
    return h.hexdigest()


def new_id():
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    raw = uuid.uuid4().int
    return "d-" + "".join(alphabet[(raw >> (5 * i)) & 31] for i in range(9))


def message(store_url, sha, seq, dep_id=None, app=APP, group=GROUP,
            location=None, key=None, fmt="tgz"):
    """A deployment message (a dict); signed when key (bytes) is given."""
    m = {"schema": "hookd.deployment/1",
         "deployment_id": dep_id or new_id(),
         "application": app, "group": group, "sequence": seq,
         "revision": {"location": location or
                      f"{store_url}/revisions/{app}/{sha}.tar.gz",
                      "sha256": sha, "format": fmt},
         "created_at": datetime.datetime.now(datetime.timezone.utc)
         .strftime("%Y-%m-%dT%H:%M:%SZ"),
         "created_by": "test@host"}
    if key is not None:
        canon = json.dumps(m, sort_keys=True, separators=(",", ":"))
        m["signature"] = hmac.new(key, canon.encode(),
                                  hashlib.sha256).hexdigest()
    return m


class FileStore:
    """The file:// store at ws/store."""

    def __init__(self, base):
        self.dir = pathlib.Path(base) / "store"
        self.url = f"file://{self.dir}"

    def put_bundle(self, bundle, app=APP):
        sha = sha256_file(bundle)
        d = self.dir / "revisions" / app
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(bundle, d / f"{sha}.tar.gz")
        return sha

    def put_json(self, key, obj):
        p = self.dir / key
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(json.dumps(obj))

    def progress(self, dep_id, app=APP, group=GROUP, instance=INSTANCE):
        p = (self.dir / "deployments" / app / group / dep_id / "instances" /
             f"{instance}.json")
        return json.loads(p.read_text()) if p.exists() else None

    def registry(self, app=APP, group=GROUP, instance=INSTANCE):
        p = self.dir / "groups" / app / group / "instances" / \
            f"{instance}.json"
        return json.loads(p.read_text()) if p.exists() else None


class AwsWorld:
    """One test's own S3 bucket (created), queue prefix and queue name
    on moto, seen through a recording proxy: the common ground of the
    SQS daemon tests and the scale-out tests."""

    _clients = {}

    def __init__(self, moto, proxy, ws, tag, instance=INSTANCE):
        self.moto = moto
        self.ws = ws
        self.proxy = proxy(moto.url)
        self.bucket = f"{tag}-" + uuid.uuid4().hex[:12]
        self.prefix = tag[0] + uuid.uuid4().hex[:8]
        self.store = f"s3://{self.bucket}/deploys"
        self.qname = f"{self.prefix}-{GROUP}-{instance}"
        self.s3 = self.client("s3")
        self.sqs = self.client("sqs")
        self.s3.create_bucket(Bucket=self.bucket)

    def s3_json(self, key):
        """The JSON document at key in this test's bucket, or None."""
        try:
            o = self.s3.get_object(Bucket=self.bucket, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(o["Body"].read())

    def client(self, service, url=None):
        """moto's botocore clients, made once per process and endpoint
        (each takes a botocore session)."""
        k = (service, url or self.moto.url)
        if k not in self._clients:
            self._clients[k] = self.moto.client(service, url=url)
        return self._clients[k]


def wait_status(store, dep_id, want, timeout=60):
    """Poll store (FileStore) until the progress of dep_id says want;
    returns that progress document."""
    def done():
        p = store.progress(dep_id)
        return p if p is not None and p["status"] == want else None
    return wait_for(done, timeout, what=f"{dep_id} status {want}")


class Spool:
    """The spool queue of one daemon: BASE/queue/hookd-GROUP-INSTANCE."""

    def __init__(self, base, group=GROUP, instance=INSTANCE, prefix="hookd"):
        self.dir = pathlib.Path(base) / "queue" / \
            f"{prefix}-{group}-{instance}"

    def send(self, body):
        """Write tmp/ID then rename it into new/, as send() does."""
        if not isinstance(body, (str, bytes)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        mid = uuid.uuid4().hex
        for sub in ("tmp", "new", "cur", "failed"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        tmp = self.dir / "tmp" / mid
        tmp.write_bytes(body)
        os.rename(tmp, self.dir / "new" / mid)
        return mid

    def names(self, sub):
        d = self.dir / sub
        return sorted(p.name for p in d.iterdir()) if d.is_dir() else []

    def empty(self):
        return not self.names("new") and not self.names("cur")

    def failed_reasons(self):
        d = self.dir / "failed"
        if not d.is_dir():
            return []
        return [p.read_text() for p in sorted(d.iterdir())
                if p.name.endswith(".reason")]


class Notify:
    """A Unix datagram socket standing in for systemd's notify socket.

    A daemon thread reads it from creation to close(), so the socket's
    queue never fills (sd_notify() would then block the daemon) however
    long a test runs without looking.  Every line received is appended to
    .messages in arrival order; poll() and drain() walk the datagrams
    already received, wait() waits for a given line with a deadline."""

    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.1)
        self.messages = []
        self._datagrams = []
        self._cursor = 0
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._reader, daemon=True,
                                        name=f"notify {self.path}")
        self._thread.start()

    def _reader(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                break
            with self._cond:
                self._datagrams.append(data)
                self.messages.extend(data.decode(errors="replace")
                                     .splitlines())
                self._cond.notify_all()

    def poll(self, timeout):
        """The next datagram not yet returned by poll(), waiting up to
        timeout seconds for one; None when none came."""
        with self._cond:
            self._cond.wait_for(
                lambda: len(self._datagrams) > self._cursor, timeout)
            if len(self._datagrams) <= self._cursor:
                return None
            self._cursor += 1
            return self._datagrams[self._cursor - 1]

    def drain(self):
        """Every line received so far (after a short quiet period)."""
        while self.poll(0.001) is not None:
            pass
        return self.messages

    def wait(self, line, timeout, prefix=False):
        """Wait until a line equal to line (or, with prefix, starting
        with it) has been received; returns that line, or None when
        timeout seconds passed first."""
        def find():
            for m in self.messages:
                if m == line or (prefix and m.startswith(line)):
                    return m
            return None
        with self._cond:
            self._cond.wait_for(lambda: find() is not None, timeout)
            return find()

    def close(self):
        self._stop = True
        if self._thread.is_alive() and \
                self._thread is not threading.current_thread():
            self._thread.join()
        self.sock.close()


class Hookd:
    """One `hookd run -d` process."""

    def __init__(self, ws, cfg, env=None, args=()):
        self.ws = ws
        self.cfg = cfg
        self.cfgpath = ws.base / "hookd.yml"
        write_config(self.cfgpath, **cfg)
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("AWS_") or k in ("NOTIFY_SOCKET",
                                             "DEPLOYMENT_GROUP_NAME",
                                             "JOURNAL_STREAM"):
                del self.env[k]
        self.env.setdefault("AWS_EC2_METADATA_DISABLED", "true")
        self.env["ASAN_OPTIONS"] = self.env.get("ASAN_OPTIONS",
                                                "detect_leaks=1")
        self.env.update(env or {})
        self.args = list(args)
        self.proc = None
        self.notify = None
        self.n = 0
        self.stderr_paths = []

    def start(self, wait_ready=True, timeout=30):
        self.n += 1
        tag = f"{id(self):x}.{self.n}"
        sockpath = self.ws.base / f"notify.{tag}"
        if self.notify is not None:
            self.notify.close()
        self.notify = Notify(sockpath)
        errpath = self.ws.base / f"hookd.{tag}.stderr"
        self.stderr_paths.append(errpath)
        self.errfile = open(errpath, "wb")
        env = dict(self.env, NOTIFY_SOCKET=str(sockpath))
        self.proc = subprocess.Popen(
            [binary("hookd"), "run", "-d", "-c", str(self.cfgpath)] +
            self.args, stdin=subprocess.DEVNULL, stdout=self.errfile,
            stderr=subprocess.STDOUT, env=env, cwd=str(self.ws.base))
        self.errfile.close()
        if wait_ready:
            self.wait_notify("READY=1", timeout)
        return self

    def wait_notify(self, line, timeout=30):
        deadline = time.monotonic() + timeout
        while self.notify.wait(line, 0) is None:
            if self.proc.poll() is not None:
                if self.notify.wait(line, 0.2) is not None:
                    break
                pytest.fail(f"hookd exited with {self.proc.returncode} "
                            f"before {line}:\n{self.stderr()}")
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"no {line} from hookd in {timeout} s:\n"
                            f"{self.stderr()}")
            self.notify.wait(line, min(left, 0.5))
        return self.notify.messages

    def stderr(self, all_runs=False):
        paths = self.stderr_paths if all_runs else self.stderr_paths[-1:]
        return "".join(p.read_text(errors="replace") for p in paths
                       if p.exists())

    def wait_log(self, pattern, timeout=30, all_runs=False):
        rx = re.compile(pattern)
        return wait_for(lambda: rx.search(self.stderr(all_runs)), timeout,
                        what=f"log line /{pattern}/")

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"hookd did not stop within {timeout} s after "
                        f"signal {sig}:\n{self.stderr()}")

    def kill9(self):
        self.proc.kill()
        self.proc.wait()

    def pid(self):
        return self.proc.pid

    def close(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.notify is not None:
            self.notify.close()


def save_logs(name, ws, daemons):
    d = LOGROOT / name
    d.mkdir(parents=True, exist_ok=True)
    for h in daemons:
        for p in h.stderr_paths:
            if p.exists():
                shutil.copy(p, d / p.name)
        if h.cfgpath.exists():
            shutil.copy(h.cfgpath, d / "hookd.yml")
    logs = ws.root / "logs"
    if logs.is_dir():
        shutil.copytree(logs, d / "logs", dirs_exist_ok=True)
    for sp in ws.root.glob("*/*/state.json"):
        shutil.copy(sp, d / f"state.{sp.parent.parent.name}."
                    f"{sp.parent.name}.json")


@pytest.fixture
def daemon(request):
    """daemon(ws, cfg, env=None, args=(), start=True) -> Hookd."""
    started = []
    failed_before = request.session.testsfailed

    def make(ws, cfg, env=None, args=(), start=True):
        h = Hookd(ws, cfg, env, args)
        started.append((ws, h))
        if start:
            h.start()
        return h

    yield make
    for _, h in started:
        h.close()
    keep = os.environ.get("HOOKD_KEEP_LOGS") == "1"
    if (keep or request.session.testsfailed > failed_before) and started:
        save_logs(request.node.name, started[0][0], [h for _, h in started])
