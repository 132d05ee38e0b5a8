# SPDX-License-Identifier: ISC
"""kill -9 of `hookd deploy-local` at a seeded schedule of points, then a
restart (the next deploy-local, which recovers first), over and over on
one host.

The schedule (HOOKD_FAULT_SEED, default 1009; HOOKD_FAULT_KILLS, default
50) mixes deterministic pause points and random delays:
  - each hook event: the live revision's ApplicationStop, the new one's
    BeforeInstall, AfterInstall, ApplicationStart, ValidateService (the
    test app's hook blocks on a FIFO for OUT/block.EVENT.VERSION and the
    kill comes once it says so; lifecycle_util.HOOK_SH);
  - the extraction (a hidden .tmp directory exists under releases/);
  - the moment the new release directory appears under releases/ (the
    rest of DownloadBundle: appspec, exec bits, manifest);
  - Install, the switch itself (state.json says phase Install; the
    AfterInstall hook blocks as a backstop);
  - a uniform random delay within the length of a whole deployment;
  - and half of the restarts are themselves killed at a random delay,
    so recovery is interrupted too (these kills count).
After each kill: state.json parses; `current` points to a complete
release (its files and their SHA-256 are exactly the bundle's).  After
each restart: the host is consistent (lifecycle_util.check_state_
consistent), the app (the RUNNING file the hooks keep, and the files:
destination) answers with the new version, or with the last good one
when the restart was made to fail, and every deployment seen so far (in
state.json or by its release directory) has exactly one recorded outcome
in the history: in_progress is saved before a release can appear, so a
kill in DownloadBundle is recorded (Interrupted) and its release removed.

The bundle is a .tgz of a few hundred files with a files: destination
and permissions, so extraction and Install last long enough to be hit."""
import hashlib
import json
import os
import random
import signal
import tarfile
import time

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"
SEED = int(os.environ.get("HOOKD_FAULT_SEED", "1009"))
KILLS = int(os.environ.get("HOOKD_FAULT_KILLS", "50"))
EVENT_POINTS = ["ApplicationStop", "BeforeInstall", "AfterInstall",
                "ApplicationStart", "ValidateService"]
NAMED_POINTS = EVENT_POINTS + ["extract", "release", "Install"]
NFILES = 120


def manifest_of_tgz(path):
    """{relpath: sha256} of the regular files in a bundle archive."""
    out = {}
    with tarfile.open(path) as t:
        for m in t.getmembers():
            if m.isfile():
                data = t.extractfile(m).read()
                out[os.path.normpath(m.name)] = \
                    hashlib.sha256(data).hexdigest()
    return out


def manifest_of_dir(d):
    out = {}
    for root, dirs, files in os.walk(d):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            out[os.path.relpath(p, d)] = lu.sha256_file(p)
    return out


class Run:
    """One host under repeated crashes."""

    def __init__(self, ws, rng):
        self.ws = ws
        self.rng = rng
        self.dest = ws.base / "opt" / "app"
        self.dest.parent.mkdir()
        self.manifests = {}        # version -> manifest
        self.seen_ids = set()      # every deployment id that got a release
        self.started = {}          # id -> sequence, seen in_progress
        self.kills = []            # (point, phase seen, switched)
        self.live = None           # version the host should serve
        self.n = 0
        self.duration = 1.0
        lu.mkfifo(ws)

    def bundle(self, version, fail=()):
        extra = {f"data/d{i // 50}/f{i}.txt": f"{version} {i}\n" * 8
                 for i in range(NFILES)}
        b = lu.app_bundle(self.ws, version, fmt="tgz", extra_files=extra,
                          files=[("/", str(self.dest))], fail=fail,
                          permissions=[{"object": str(self.dest / "data"),
                                        "pattern": '"**"', "mode": 640,
                                        "type": ["file"]}])
        self.manifests[version] = manifest_of_tgz(b)
        return b

    def next_version(self, tag):
        self.n += 1
        return f"{tag}{self.n}"

    # ---------------------------------------------------------------
    def state(self):
        """state.json, which must parse whenever it exists."""
        sp = self.ws.state_path(APP)
        if not sp.exists():
            return None
        with open(sp) as f:
            return json.load(f)

    def note_releases(self):
        for n in self.ws.releases(APP):
            self.seen_ids.add(n.split("-", 1)[1])

    def check_current_complete(self):
        """current points to a complete release: exactly the files of
        the bundle whose VERSION it holds, with the same digests."""
        cur = self.ws.current(APP)
        if cur is None:
            return None
        assert cur.parent.name == "releases", cur
        ver = (cur / "VERSION").read_text().strip()
        want = self.manifests[ver]
        got = manifest_of_dir(cur)
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        bad = sorted(k for k in want if k in got and got[k] != want[k])
        assert not missing and not extra and not bad, \
            f"release {cur.name} ({ver}) incomplete: missing " \
            f"{missing[:5]} extra {extra[:5]} differing {bad[:5]}"
        return ver

    def blocked_lines(self, start):
        p = self.ws.out / "events"
        if not p.exists():
            return []
        lines = p.read_text().splitlines()[start:]
        return [tuple(ln.split()[1:3]) for ln in lines
                if ln.startswith("blocked ")]

    def nevents(self):
        p = self.ws.out / "events"
        return len(p.read_text().splitlines()) if p.exists() else 0

    def clear_flags(self):
        for f in self.ws.out.glob("block.*"):
            f.unlink()

    def kill(self, p, point):
        alive = p.poll() is None
        if alive:
            p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        p.communicate()
        lu.kill_procs_under(self.ws.root)
        lu.kill_procs_under(self.ws.out)
        st = self.state()                       # must parse
        ip = st and st["in_progress"]
        if ip:
            self.seen_ids.add(ip["deployment_id"])
            self.started[ip["deployment_id"]] = ip["sequence"]
        self.note_releases()
        if alive:
            self.kills.append((point, ip and ip.get("phase"),
                               ip and ip.get("switched")))
        ver = self.check_current_complete()
        if st is not None and ip is None and ver is not None:
            # the outcome was recorded before the kill (or the process had
            # finished): what current holds is the app's version now
            self.live = ver
        self.clear_flags()
        return alive

    # ---------------------------------------------------------------
    def full(self, version, fail=()):
        """A deployment run to its end (a restart); checks the host."""
        t0 = time.monotonic()
        r = lu.deploy(self.ws, self.bundle(version, fail=fail), timeout=120)
        took = time.monotonic() - t0
        if fail:
            dep, _, _ = lu.failed(r)
        else:
            dep, _ = lu.ok(r)
            self.live = version
        self.seen_ids.add(dep)
        self.started[dep] = self.ws.state(APP)["history"][0]["sequence"]
        self.note_releases()
        self.check_host(dep)
        return took

    def check_host(self, last_dep):
        st = lu.check_state_consistent(self.ws, APP)
        ids = [h["deployment_id"] for h in st["history"]]
        dups = {i for i in ids if ids.count(i) > 1}
        assert not dups, f"deployments recorded twice: {dups}"
        assert last_dep in ids
        # every deployment seen that is still within the capped history
        # window has its one outcome; those that never reached the
        # history are older than the window
        oldest = st["history"][-1]["sequence"]
        for rid in self.seen_ids:
            seqs = [int(n.split("-", 1)[0]) for n in self.ws.releases(APP)
                    if n.endswith(rid)]
            if not seqs or seqs[0] < oldest:
                continue
            # A release directory has its deployment's outcome, also when
            # the kill came in DownloadBundle (in_progress is saved before
            # the release can appear; recovery records it and removes it).
            assert rid in ids, \
                f"{rid} has a release but no recorded outcome; " \
                f"history {ids}"
        for rid, seq in self.started.items():
            # ... and so does every deployment state.json showed.
            assert seq < oldest or rid in ids, \
                f"{rid} was in progress but has no recorded outcome; " \
                f"history {ids}"
        for h in st["history"]:
            assert h["status"] in ("Succeeded", "Failed", "Interrupted"), h
        ver = self.check_current_complete()
        assert ver == self.live, (ver, self.live)
        assert lu.running(self.ws) == self.live
        assert (self.dest / "VERSION").read_text().strip() == self.live

    # ---------------------------------------------------------------
    def crash_at(self, point):
        version = self.next_version("k")
        start = self.nevents()
        if point in EVENT_POINTS:
            owner = self.live if point == "ApplicationStop" else version
            (self.ws.out / f"block.{point}.{owner}").touch()
            p = lu.spawn_deploy(self.ws, self.bundle(version))

            def paused():
                return (point, owner) in self.blocked_lines(start) or \
                    p.poll() is not None
            lu.wait_for(paused, timeout=60, what=f"{point} to block")
        elif point == "extract":
            (self.ws.out / f"block.BeforeInstall.{version}").touch()
            p = lu.spawn_deploy(self.ws, self.bundle(version))
            rd = self.ws.group_dir(APP) / "releases"

            def extracting():
                if p.poll() is not None:
                    return True
                try:
                    if any(n.startswith(".") for n in os.listdir(rd)):
                        return True
                except FileNotFoundError:
                    pass
                return ("BeforeInstall", version) in \
                    self.blocked_lines(start)
            lu.wait_for(extracting, timeout=60, interval=0.0005,
                        what="the extraction")
        elif point == "release":
            # the new release directory has just appeared under releases/
            # (DownloadBundle is not over: appspec, exec bits, manifest)
            (self.ws.out / f"block.BeforeInstall.{version}").touch()
            known = self.ws.releases(APP)
            p = lu.spawn_deploy(self.ws, self.bundle(version))

            def appeared():
                if p.poll() is not None or self.ws.releases(APP) - known:
                    return True
                return ("BeforeInstall", version) in \
                    self.blocked_lines(start)
            lu.wait_for(appeared, timeout=60, interval=0.0005,
                        what="the new release")
        elif point == "Install":
            (self.ws.out / f"block.AfterInstall.{version}").touch()
            p = lu.spawn_deploy(self.ws, self.bundle(version))

            def installing():
                if p.poll() is not None:
                    return True
                try:
                    st = self.state()
                except ValueError:
                    pytest.fail("state.json does not parse mid-deployment")
                ip = st and st["in_progress"]
                if ip and ip.get("phase") == "Install":
                    return True
                return ("AfterInstall", version) in \
                    self.blocked_lines(start)
            lu.wait_for(installing, timeout=60, interval=0.0005,
                        what="the Install phase")
        else:
            p = lu.spawn_deploy(self.ws, self.bundle(version))
            time.sleep(self.rng.uniform(0, self.duration))
        return self.kill(p, point)

    def restart(self):
        """The restart after a crash; sometimes itself killed (recovery
        interrupted), sometimes made to fail (the app must stay on the
        last good version)."""
        if self.rng.random() < 0.5:
            version = self.next_version("r")
            p = lu.spawn_deploy(self.ws, self.bundle(version))
            time.sleep(self.rng.uniform(0, self.duration))
            self.kill(p, "restart")
        fail = ("ValidateService",) if self.rng.random() < 0.15 else ()
        self.full(self.next_version("r"), fail=fail)


def test_kill_9_at_a_seeded_schedule_keeps_the_host_whole(ws):
    rng = random.Random(SEED)
    run = Run(ws, rng)
    run.duration = run.full(run.next_version("v")) * 0.9

    # every named point several times, in a seeded order, then random
    # delays until at least KILLS processes were really killed (half of
    # the restarts are killed too, and count)
    per = max(1, KILLS // 12)
    schedule = [pt for pt in NAMED_POINTS for _ in range(per)]
    rng.shuffle(schedule)
    for point in schedule:
        run.crash_at(point)
        run.restart()
    while len(run.kills) < KILLS:
        run.crash_at("random")
        run.restart()

    points = {k[0] for k in run.kills}
    phases = sorted({str(k[1]) for k in run.kills})
    switched = {k[2] for k in run.kills}
    print(f"seed {SEED}: {len(run.kills)} kills, "
          f"{len(run.seen_ids)} deployments; points "
          f"{sorted(points)}; phases seen {phases}; switched {switched}")
    assert len(run.kills) >= KILLS
    assert set(NAMED_POINTS) <= points
    assert True in switched and False in switched
