# SPDX-License-Identifier: ISC
"""Helpers for the lifecycle engine's integration tests (hookd deploy-local).

Everything here follows /work/notes/ENGINE-CONTRACT.md: how to build a
bundle (a directory, .tar, .tgz or .zip) from a dict of files or from an
example directory, run `hookd deploy-local`, read state.json, poll for a
condition with a deadline, find a free loopback port, and make sure no
process a test started survives it.

The `ws` fixture gives every test its own workspace, a fresh directory
(mode 0755, so hooks running as `nobody` can reach it) holding:
    root/     the --root of every deployment
    canary/   beside the root: nothing may ever be written here
    bundles/  where bundles are built
    out/      mode 1777: where test hooks record what they saw
At teardown every process whose command line or cwd mentions the
workspace is killed, then the workspace is removed.
"""
import json
import os
import pathlib
import re
import shutil
import signal
import socket
import stat
import subprocess
import tarfile
import tempfile
import time
import zipfile

import pytest

from conftest import TOP, binary

EXAMPLES = TOP / "appspec-examples"
DEFAULT_GROUP = "local"
# Events whose scripts come from the new revision, in order.
NEW_EVENTS = ["BeforeInstall", "AfterInstall", "ApplicationStart",
              "ValidateService"]
ALL_HOOK_EVENTS = ["ApplicationStop"] + NEW_EVENTS
RESULT_OK = re.compile(
    r"^deployment (d-[A-Z2-7]{9}) \(sequence (\d+)\) succeeded$", re.M)
RESULT_FAILED = re.compile(
    r"^deployment (d-[A-Z2-7]{9}) \(sequence (\d+)\) failed: (.*)$", re.M)
DEPLOYMENT_ID = re.compile(r"^d-[A-Z2-7]{9}$")


# --------------------------------------------------------------------------
# Waiting

def wait_for(cond, timeout=10.0, interval=0.02, what="condition"):
    """Poll cond() until it returns something true; return that value.

    Fails the test with 'what' when the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def pid_alive(pid):
    """True when pid exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            st = f.read()
    except (FileNotFoundError, ProcessLookupError):
        return False
    # state is the field after the ")" that ends comm
    return st[st.rindex(")") + 2] != "Z"


def wait_pid_gone(pid, timeout=15.0):
    wait_for(lambda: not pid_alive(pid), timeout, what=f"pid {pid} to exit")


def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path="/", timeout=2.0):
    """(status, body) of GET http://127.0.0.1:port/path, or None when the
    connection fails."""
    import http.client
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        c.request("GET", path)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        c.close()
        return r.status, body
    except OSError:
        return None


def wait_http(port, needle, timeout=10.0, path="/"):
    """Wait until GET path answers 200 with needle in the body."""
    def ok():
        r = http_get(port, path)
        return r is not None and r[0] == 200 and needle in r[1]
    wait_for(ok, timeout, interval=0.05,
             what=f"127.0.0.1:{port}{path} to serve {needle!r}")


# --------------------------------------------------------------------------
# Processes

def procs_under(path):
    """Pids (other than ours) whose cwd or command line mentions path."""
    path = str(path)
    me = os.getpid()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        pid = int(d)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            try:
                cwd = os.readlink(f"/proc/{pid}/cwd")
            except OSError:
                cwd = ""
        except OSError:
            continue
        if path in cmd or cwd.startswith(path):
            found.append(pid)
    return found


def kill_procs_under(path, timeout=10.0):
    """SIGKILL every process that mentions path; wait until all are gone."""
    for _ in range(5):
        pids = procs_under(path)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
            time.sleep(0.02)


# --------------------------------------------------------------------------
# Workspace

class Workspace:
    def __init__(self, base):
        self.base = pathlib.Path(base)
        self.root = self.base / "root"
        self.canary = self.base / "canary"
        self.bundles = self.base / "bundles"
        self.out = self.base / "out"
        for d in (self.root, self.canary, self.bundles, self.out):
            d.mkdir()
        os.chmod(self.base, 0o755)
        os.chmod(self.root, 0o755)
        os.chmod(self.out, 0o1777)
        (self.canary / "sentinel").write_text("untouched\n")
        self._procs = []

    def group_dir(self, app, group=DEFAULT_GROUP):
        return self.root / app / group

    def state_path(self, app, group=DEFAULT_GROUP):
        return self.group_dir(app, group) / "state.json"

    def state(self, app, group=DEFAULT_GROUP):
        return read_state(self.state_path(app, group))

    def current(self, app, group=DEFAULT_GROUP):
        """The real path of the release 'current' points to, or None."""
        cur = self.group_dir(app, group) / "current"
        if not os.path.lexists(cur):
            return None
        return pathlib.Path(os.path.realpath(cur))

    def releases(self, app, group=DEFAULT_GROUP):
        """Names of the release directories (hidden ones excluded)."""
        d = self.group_dir(app, group) / "releases"
        if not d.is_dir():
            return set()
        return {p.name for p in d.iterdir() if not p.name.startswith(".")}

    def canary_listing(self):
        return sorted(str(p.relative_to(self.canary))
                      for p in self.canary.rglob("*"))

    def snapshot(self, app, group=DEFAULT_GROUP):
        """What 'nothing changed on the host' compares: state.json's bytes,
        where current points, the release dirs, and the canary."""
        sp = self.state_path(app, group)
        cur = self.group_dir(app, group) / "current"
        return {
            "state": sp.read_bytes() if sp.exists() else None,
            "current": os.readlink(cur) if os.path.lexists(cur) else None,
            "releases": self.releases(app, group),
            "canary": self.canary_listing(),
        }

    def spawn(self, argv, **kw):
        """Popen registered for cleanup."""
        p = subprocess.Popen(argv, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, **kw)
        self._procs.append(p)
        return p

    def cleanup(self):
        for p in self._procs:
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass
        kill_procs_under(self.base)
        shutil.rmtree(self.base, ignore_errors=True)


@pytest.fixture
def ws():
    base = tempfile.mkdtemp(prefix="hookd-it-")
    w = Workspace(base)
    try:
        yield w
    finally:
        w.cleanup()


# --------------------------------------------------------------------------
# Bundles

def write_tree(dest, files):
    """Write files: {relpath: text | bytes | (text|bytes, mode)} under dest.
    Scripts (starting with '#!') get mode 0755, others 0644."""
    dest = pathlib.Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    for rel, spec in files.items():
        content, mode = (spec if isinstance(spec, tuple) else (spec, None))
        if isinstance(content, str):
            content = content.encode()
        if mode is None:
            mode = 0o755 if content.startswith(b"#!") else 0o644
        p = dest / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(content)
        os.chmod(p, mode)
    return dest


def pack(srcdir, out, fmt):
    """Pack the tree at srcdir (its contents at the archive root) as fmt:
    'dir' (returns srcdir), 'tar', 'tgz' or 'zip'.  Returns the path."""
    srcdir = pathlib.Path(srcdir)
    if fmt == "dir":
        return srcdir
    out = pathlib.Path(out)
    names = sorted(p for p in srcdir.rglob("*"))
    if fmt in ("tar", "tgz"):
        with tarfile.open(out, "w:gz" if fmt == "tgz" else "w",
                          format=tarfile.PAX_FORMAT) as t:
            for p in names:
                t.add(p, arcname=str(p.relative_to(srcdir)), recursive=False)
    elif fmt == "zip":
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
            for p in names:
                z.write(p, str(p.relative_to(srcdir)))
    else:
        raise ValueError(fmt)
    return out


EXT = {"dir": "", "tar": ".tar", "tgz": ".tgz", "zip": ".zip"}


def make_bundle(ws, name, files, fmt="dir", subdir="b"):
    """A bundle from a dict of files, as fmt, at bundles/subdir/name[.ext]
    (so the application defaults to name).  Returns its path."""
    d = ws.bundles / subdir
    d.mkdir(parents=True, exist_ok=True)
    src = d / (name if fmt == "dir" else "." + name + ".src")
    if src.exists():
        shutil.rmtree(src)
    write_tree(src, files)
    return pack(src, d / (name + EXT[fmt]), fmt)


def copy_example(ws, example, name=None, version=None, edit=None):
    """Copy appspec-examples/example to bundles/name (default: example),
    change v1 to version in VERSION and public/index.html, apply
    edit(path) and return the directory."""
    dst = ws.bundles / (name or example)
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(EXAMPLES / example, dst, symlinks=True)
    if version is not None:
        (dst / "VERSION").write_text(version + "\n")
        idx = dst / "public" / "index.html"
        if idx.exists():
            idx.write_text(idx.read_text().replace(
                '<span id="version">v1</span>',
                f'<span id="version">{version}</span>'))
    if edit is not None:
        edit(dst)
    return dst


def appspec(hooks=None, files=None, permissions=None, extra=""):
    """appspec.yml text.  hooks: {event: [location | dict(location=,
    timeout=, runas=)]}; files: [(source, destination)]."""
    lines = ["version: 0.0", "os: linux"]
    if files:
        lines.append("files:")
        for src, dst in files:
            lines += [f"  - source: {src}", f"    destination: {dst}"]
    if permissions:
        lines.append("permissions:")
        for p in permissions:
            first = True
            for k, v in p.items():
                pre = "  - " if first else "    "
                first = False
                if isinstance(v, list):
                    lines.append(f"{pre}{k}:")
                    lines += [f"      - {x}" for x in v]
                else:
                    lines.append(f"{pre}{k}: {v}")
    if hooks:
        lines.append("hooks:")
        for ev, scripts in hooks.items():
            lines.append(f"  {ev}:")
            for s in scripts:
                s = {"location": s} if isinstance(s, str) else s
                lines.append(f"    - location: {s['location']}")
                for k in ("timeout", "runas", "sudo"):
                    if k in s:
                        lines.append(f"      {k}: {s[k]}")
    return "\n".join(lines) + "\n" + extra


# The generic test app: one script for every event.  It appends
# "EVENT VERSION RELEASE_DIR" to the events file the test chose (absolute
# path baked in), keeps a RUNNING file (ApplicationStart writes the
# version, ApplicationStop removes it) like an app that starts and
# stops, fails on the events listed in FAIL (or when OUT/fail.EVENT.VERSION
# exists), and blocks on the FIFO for the events in BLOCK (or when
# OUT/block.EVENT.VERSION exists), after writing its pid, for the crash
# tests.
HOOK_SH = r"""#!/bin/bash
set -euo pipefail
ver=$(cat VERSION)
echo "$LIFECYCLE_EVENT $ver $HOOKD_RELEASE_DIR" >> @EVENTS@
case "$LIFECYCLE_EVENT" in
ApplicationStart) echo "$ver" > @RUNNING@.tmp; mv -f @RUNNING@.tmp @RUNNING@ ;;
ApplicationStop) rm -f @RUNNING@ ;;
esac
if grep -qxF "$LIFECYCLE_EVENT" FAIL 2>/dev/null ||
    [ -e "@OUT@/fail.$LIFECYCLE_EVENT.$ver" ]; then
	echo "about to fail in $LIFECYCLE_EVENT"
	echo "boom: $ver cannot do $LIFECYCLE_EVENT" >&2
	exit 3
fi
if grep -qxF "$LIFECYCLE_EVENT" BLOCK 2>/dev/null ||
    [ -e "@OUT@/block.$LIFECYCLE_EVENT.$ver" ]; then
	echo "$$" > @OUT@/blocked.pid
	echo "blocked $LIFECYCLE_EVENT $ver" >> @EVENTS@
	: < @OUT@/fifo
fi
echo "$LIFECYCLE_EVENT done"
"""


def app_bundle(ws, version, name="app", fail=(), block=(), fmt="dir",
               events=ALL_HOOK_EVENTS, extra_files=None, timeout=60,
               appspec_extra="", files=None, permissions=None):
    """The generic test app (HOOK_SH for each of events) at version."""
    script = (HOOK_SH.replace("@EVENTS@", str(ws.out / "events"))
              .replace("@RUNNING@", str(ws.out / "RUNNING"))
              .replace("@OUT@", str(ws.out)))
    hooks = {ev: [{"location": "scripts/hook.sh", "timeout": timeout}]
             for ev in events}
    tree = {
        "appspec.yml": appspec(hooks, files=files, permissions=permissions,
                               extra=appspec_extra),
        "VERSION": version + "\n",
        "scripts/hook.sh": script,
    }
    if fail:
        tree["FAIL"] = "".join(e + "\n" for e in fail)
    if block:
        tree["BLOCK"] = "".join(e + "\n" for e in block)
    tree.update(extra_files or {})
    return make_bundle(ws, name, tree, fmt, subdir=version)


def events(ws):
    """[(event, version, release_dir)] the test app recorded, in order."""
    p = ws.out / "events"
    if not p.exists():
        return []
    out = []
    for line in p.read_text().splitlines():
        if line.startswith("blocked "):
            continue
        out.append(tuple(line.split(" ", 2)))
    return out


def blocked_in(ws):
    """[(event, version)] where the test app blocked on the FIFO."""
    p = ws.out / "events"
    if not p.exists():
        return []
    return [tuple(ln.split()[1:3]) for ln in p.read_text().splitlines()
            if ln.startswith("blocked ")]


def running(ws):
    p = ws.out / "RUNNING"
    return p.read_text().strip() if p.exists() else None


def mkfifo(ws):
    p = ws.out / "fifo"
    if not p.exists():
        os.mkfifo(p, 0o666)
    return p


# --------------------------------------------------------------------------
# hookd deploy-local

def hookd():
    return binary("hookd")


def deploy_argv(ws, bundle, app=None, group=None, keep=None, feb=None,
                commit=None, extra=()):
    argv = [hookd(), "deploy-local", "--bundle", str(bundle),
            "--root", str(ws.root)]
    if app is not None:
        argv += ["--application", app]
    if group is not None:
        argv += ["--group", group]
    if keep is not None:
        argv += ["--keep-releases", str(keep)]
    if feb is not None:
        argv += ["--file-exists-behavior", feb]
    if commit is not None:
        argv += ["--commit", commit]
    return argv + list(extra)


def hookd_env(extra=None):
    env = dict(os.environ)
    env.pop("HOOKD_ROOT", None)
    if extra:
        env.update(extra)
    return env


def deploy(ws, bundle, timeout=90, env=None, **kw):
    """Run hookd deploy-local to completion, in the workspace (so that a
    relative path mistaken for an absolute one lands there); returns the
    CompletedProcess (no raise)."""
    return subprocess.run(deploy_argv(ws, bundle, **kw), capture_output=True,
                          text=True, timeout=timeout, env=hookd_env(env),
                          stdin=subprocess.DEVNULL, cwd=ws.base)


def spawn_deploy(ws, bundle, env=None, **kw):
    """Start hookd deploy-local in the background (registered for cleanup)."""
    return ws.spawn(deploy_argv(ws, bundle, **kw), env=hookd_env(env),
                    stdin=subprocess.DEVNULL, cwd=ws.base)


def describe(r):
    return (f"exit {r.returncode}\n--- stdout\n{r.stdout}"
            f"--- stderr\n{r.stderr}")


def ok(r):
    """Assert the deployment succeeded; return (id, sequence)."""
    assert r.returncode == 0, describe(r)
    m = RESULT_OK.search(r.stdout)
    assert m, "no success line\n" + describe(r)
    return m.group(1), int(m.group(2))


def failed(r):
    """Assert the deployment failed (exit 1); return (id, seq, reason)."""
    assert r.returncode == 1, describe(r)
    m = RESULT_FAILED.search(r.stdout)
    assert m, "no failure line\n" + describe(r)
    return m.group(1), int(m.group(2)), m.group(3)


def read_state(path):
    with open(path) as f:
        return json.load(f)


def release_of(ws, app, dep_id, group=DEFAULT_GROUP):
    """The release directory of deployment dep_id (any sequence)."""
    for n in ws.releases(app, group):
        if n.endswith("-" + dep_id):
            return ws.group_dir(app, group) / "releases" / n
    return None


def sha256_file(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def check_state_consistent(ws, app, group=DEFAULT_GROUP):
    """state.json parses, has the contract's shape, no deployment is in
    progress, and 'current' agrees with state.current and is complete.
    Returns the state."""
    st = ws.state(app, group)
    assert st["schema"] == "hookd.state/1"
    assert st["application"] == app and st["group"] == group
    assert st["in_progress"] is None, st["in_progress"]
    assert isinstance(st["history"], list)
    cur = st["current"]
    if cur is not None:
        assert DEPLOYMENT_ID.match(cur["deployment_id"])
        link = os.readlink(ws.group_dir(app, group) / "current")
        assert not os.path.isabs(link), link
        assert os.path.normpath(link) == os.path.normpath(cur["release"])
        rel = ws.group_dir(app, group) / cur["release"]
        assert (rel / "appspec.yml").is_file()
        assert cur["release"].startswith("releases/"), cur["release"]
    return st


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)

