# SPDX-License-Identifier: ISC
"""Three `hookd run` daemons of appspec-examples/static-site on this host
behind a real HAProxy (Debian's haproxy binary), with a load generator
(tests/tools/loadgen.py) hitting HAProxy; the deployer in a git
repository of the site.  Used by test_traffic_haproxy.py and bench B9.

Each daemon's hookd.yml has a traffic: block naming HAProxy's admin
socket, backend "web" and its own server (the instance id), so
BlockTraffic drains it and AllowTraffic readies it once its check
passes.  HAProxy checks GET /healthz every CHECK_INTER_MS.  On a loaded
machine (tests run side by side) a server can be slow without being
stopped: a check gets 5 s to answer ("timeout check"; without it, the
interval), and a connection 5 s to be accepted ("timeout connect"):
http.server's listen backlog is 5, and a SYN dropped while it is full
is sent again after 1 s, which a 1 s timeout turned into a 503.  A
stopped server refuses at once, whatever the timeouts.  It does
not retry a request a server refused ("retries 0"): its default of 3
tries, a second apart, would hide a restart shorter than 3 s, and the
load generator must see every request that meets a stopped app.
"""
import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import types

from conftest import TOP, binary
from lifecycle_util import free_port, wait_for

APP = "static-site"
GROUP = "production"
EXAMPLE = TOP / "appspec-examples" / "static-site"
LOADGEN = TOP / "tests" / "tools" / "loadgen.py"
CHECK_INTER_MS = 200
GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "Test",
           "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_CONFIG_NOSYSTEM": "1", "HOME": "/nonexistent"}

HAPROXY_CFG = """global
    stats socket {sock} mode 600 level admin
    stats timeout 10s
defaults
    mode http
    retries 0
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout check 5s
frontend fe
    bind 127.0.0.1:{port}
    default_backend web
backend web
    option httpchk GET /healthz
    default-server check inter {inter} fall 2 rise 1
{servers}
"""


def haproxy_cmd(sock, cmd):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(str(sock))
    s.sendall(cmd.encode() + b"\n")
    out = b""
    while True:
        d = s.recv(65536)
        if not d:
            break
        out += d
    s.close()
    return out.decode()


class SiteFleet:
    def __init__(self, ws, daemon_factory, n=3, config="OneAtATime",
                 traffic=True, drain_timeout=None, healthy_timeout=None,
                 check_inter_ms=CHECK_INTER_MS):
        self.ws = ws
        self.check_inter_ms = check_inter_ms
        self.base = pathlib.Path(ws.base)
        self.store_dir = self.base / "store"
        self.store = f"file://{self.store_dir}"
        self.queue = f"file://{self.base / 'queue'}"
        self.sock = self.base / "haproxy.sock"
        self.port = free_port()
        self.names = [f"i-{k}" for k in range(1, n + 1)]
        self.ports = {nm: free_port() for nm in self.names}
        self.haproxy = None
        self.loads = []
        self.repo = self.base / "repo"
        self.make_repo(config)
        self.start_haproxy()
        self.daemons = {}
        for nm in self.names:
            self.daemons[nm] = self.add_daemon(daemon_factory, nm, traffic,
                                               drain_timeout,
                                               healthy_timeout)

    # --- HAProxy -------------------------------------------------------
    def start_haproxy(self):
        servers = "\n".join(f"    server {nm} 127.0.0.1:{p}"
                            for nm, p in self.ports.items())
        cfg = self.base / "haproxy.cfg"
        cfg.write_text(HAPROXY_CFG.format(sock=self.sock, port=self.port,
                                          inter=self.check_inter_ms,
                                          servers=servers))
        self.haproxy_log = open(self.base / "haproxy.log", "wb")
        self.haproxy = subprocess.Popen(
            [shutil.which("haproxy") or "/usr/sbin/haproxy", "-db", "-f",
             str(cfg)], stdout=self.haproxy_log, stderr=subprocess.STDOUT)
        wait_for(self.sock.exists, 10, what="HAProxy's admin socket")

    def stat(self):
        """{server: (status, scur)} of backend web."""
        lines = haproxy_cmd(self.sock, "show stat web 4 -1").splitlines()
        hdr = lines[0][2:].split(",")
        out = {}
        for ln in lines[1:]:
            if not ln:
                continue
            f = ln.split(",")
            row = dict(zip(hdr, f))
            out[row["svname"]] = (row["status"], int(row["scur"]))
        return out

    def wait_all_up(self, timeout=30):
        wait_for(lambda: all(s == "UP" for s, _ in self.stat().values()),
                 timeout, what=f"every HAProxy server UP ({self.stat()})")

    # --- repository and daemons -----------------------------------------
    def git(self, *args):
        env = dict(os.environ, **GIT_ENV)
        r = subprocess.run(["git", "-C", str(self.repo)] + list(args),
                           capture_output=True, text=True, env=env)
        assert r.returncode == 0, f"git {args}: {r.stderr}"
        return r.stdout.strip()

    def make_repo(self, config):
        shutil.copytree(EXAMPLE, self.repo, symlinks=True,
                        ignore=shutil.ignore_patterns("deployer.yml"))
        (self.repo / "deployer.yml").write_text(
            f"application: {APP}\nstore: {self.store}\nqueue: {self.queue}\n"
            f"queue_prefix: hookd\ngroups:\n  {GROUP}:\n"
            f"    deployment_config: {config}\n"
            f"    rollback_on_failure: true\n    timeout: 300\n")
        self.git("init", "-q", "-b", "master")
        self.git("add", "-A")
        self.git("commit", "-q", "-m", "static-site v1")

    def commit_version(self, v, files=None):
        (self.repo / "VERSION").write_text(v + "\n")
        idx = self.repo / "public" / "index.html"
        idx.write_text(idx.read_text().replace(
            idx.read_text().split('<span id="version">')[1].split("<")[0],
            v))
        for rel, text in (files or {}).items():
            p = self.repo / rel
            p.write_text(text)
            os.chmod(p, 0o755)
        self.git("add", "-A")
        self.git("commit", "-q", "-m", f"static-site {v}")

    def group_dir(self, nm):
        return self.base / "hosts" / nm / "root" / APP / GROUP

    def add_daemon(self, factory, nm, traffic, drain_timeout,
                   healthy_timeout):
        d = self.base / "hosts" / nm
        root = d / "root"
        gdir = root / APP / GROUP
        gdir.mkdir(parents=True)
        (gdir / "site.env").write_text(f"PORT={self.ports[nm]}\n"
                                       "VALIDATE_SECONDS=10\n")
        fake_ws = types.SimpleNamespace(base=d, root=root)
        cfg = dict(application=APP, deployment_group=GROUP,
                   store=self.store, queue=self.queue, root=str(root),
                   instance_id=nm, keep_releases=3, log_level="info",
                   poll_wait=1, queue_prefix="hookd")
        h = factory(fake_ws, cfg, start=False)
        if traffic:
            t = (f"traffic:\n  haproxy:\n    socket: {self.sock}\n"
                 f"    backend: web\n")
            if drain_timeout:
                t += f"  drain_timeout: {drain_timeout}\n"
            if healthy_timeout:
                t += f"  healthy_timeout: {healthy_timeout}\n"
            with open(h.cfgpath, "a") as f:
                f.write(t)
        h.start()
        return h

    def wait_registered(self, timeout=30):
        def ok():
            return all((self.store_dir / "groups" / APP / GROUP /
                        "instances" / f"{nm}.json").exists()
                       for nm in self.names)
        wait_for(ok, timeout, what="registry entries")

    def deployer(self, *args, timeout=300):
        env = dict(os.environ, **GIT_ENV)
        for k in list(env):
            if k.startswith("AWS_"):
                del env[k]
        return subprocess.run([binary("deployer")] + list(args),
                              cwd=str(self.repo), env=env, timeout=timeout,
                              capture_output=True, text=True)

    def current_version(self, nm):
        p = self.group_dir(nm) / "current" / "VERSION"
        return p.read_text().strip() if p.exists() else None

    def progress(self, dep_id, nm):
        p = (self.store_dir / "deployments" / APP / GROUP / dep_id /
             "instances" / f"{nm}.json")
        return json.loads(p.read_text()) if p.exists() else None

    def deploy_log(self, nm, dep_id):
        p = self.base / "hosts" / nm / "root" / "logs" / f"{dep_id}.log"
        return p.read_text() if p.exists() else ""

    # --- load --------------------------------------------------------------
    def start_load(self, rate=200, duration=120, mark=None):
        tag = len(self.loads)
        stop = self.base / f"load.{tag}.stop"
        ready = self.base / f"load.{tag}.ready"
        argv = [sys.executable, str(LOADGEN),
                f"http://127.0.0.1:{self.port}/", "--rate", str(rate),
                "--duration", str(duration), "--stop", str(stop),
                "--ready", str(ready)]
        if mark is not None:
            argv += ["--mark", str(mark)]
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        self.loads.append(p)
        wait_for(ready.exists, 10, what="the load generator")
        return p, stop

    def stop_load(self, load):
        p, stop = load
        stop.touch()
        out, _ = p.communicate(timeout=30)
        return json.loads(out)

    def close(self):
        for p in self.loads:
            if p.poll() is None:
                p.kill()
                p.wait()
        for nm in self.names:
            pid = self.group_dir(nm) / "run" / "server.pid"
            if pid.exists():
                try:
                    os.kill(int(pid.read_text()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        if self.haproxy is not None and self.haproxy.poll() is None:
            self.haproxy.terminate()
            try:
                self.haproxy.wait(10)
            except subprocess.TimeoutExpired:
                self.haproxy.kill()
                self.haproxy.wait()
        if self.haproxy is not None:
            self.haproxy_log.close()
