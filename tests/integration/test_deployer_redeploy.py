# SPDX-License-Identifier: ISC
"""`deployer GROUP REF` of a commit it bundled before: the bundle record
(GIT_DIR/hookd/bundles/APP/COMMIT.json, and commits/APP/COMMIT.json in
the store) lets it skip git archive, the appspec check and the upload,
once the store is seen to hold the revision.  Also: the appspec check
on the skeleton of the archive reports what `hookd validate` reports.
A file store, a repository of appspec-examples/worker, no daemons (a
group without instances records its target and returns).
"""
import json
import os
import shutil
import subprocess
import time

from conftest import binary, run
from daemon_util import daemon  # noqa: F401
from deployer_util import APP, GIT_ENV, GROUP, Fleet
from lifecycle_util import ws  # noqa: F401

NOT_REBUILT = "bundle not rebuilt"


def fleet(ws, daemon, **kw):
    """A fleet without daemons whose git is logged to f.gitlog."""
    f = Fleet(ws, daemon, n=0, **kw)
    wrap = f.base / "wrap"
    wrap.mkdir()
    f.gitlog = f.base / "git.log"
    real = shutil.which("git", path="/usr/bin:/bin")
    (wrap / "git").write_text(
        f"#!/bin/sh\nprintf '%s\\n' \"$*\" >> '{f.gitlog}'\n"
        f"exec {real} \"$@\"\n")
    os.chmod(wrap / "git", 0o755)
    f.env = {"PATH": f"{wrap}:{os.environ['PATH']}"}
    return f


def git_runs(f):
    """The git command lines run since the last call."""
    if not f.gitlog.exists():
        return []
    lines = f.gitlog.read_text().splitlines()
    f.gitlog.unlink()
    return lines


def archived(lines):
    return [x for x in lines if " archive " in f" {x} "]


def record(f, commit, gitdir=None):
    p = (gitdir or f.repo / ".git") / "hookd" / "bundles" / APP / \
        f"{commit}.json"
    return json.loads(p.read_text()) if p.exists() else None


def store_files(f):
    """Every object in the store with its (mtime, inode)."""
    out = {}
    for p in f.store_dir.rglob("*"):
        if p.is_file() and not p.name.startswith("."):
            st = p.stat()
            out[str(p.relative_to(f.store_dir))] = (st.st_mtime_ns,
                                                    st.st_ino)
    return out


def revision_objects(f):
    return {k: v for k, v in store_files(f).items()
            if k.startswith("revisions/")}


def deploy(f, *args):
    r = f.deployer("--no-wait", "--allow-empty", GROUP, *args)
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_second_deploy_of_a_commit_does_not_run_git_archive(ws, daemon):
    f = fleet(ws, daemon)
    commit = f.git("rev-parse", "HEAD")
    r = deploy(f, "HEAD")
    assert "uploaded HEAD" in r.stdout
    assert len(archived(git_runs(f))) == 1
    revs = f.revisions()
    assert len(revs) == 1
    sha = revs[0][:-len(".tar.gz")]
    rec = record(f, commit)
    assert rec["commit"] == commit and rec["sha256"] == sha
    assert rec["size"] == (f.store_dir / "revisions" / APP /
                           revs[0]).stat().st_size
    assert rec["subdir"] == "" and rec["schema"] == "hookd.bundle-record/1"
    assert f.read(f"commits/{APP}/{commit}.json")["sha256"] == sha
    before = revision_objects(f)

    # The same commit by another name: nothing built, nothing uploaded.
    r = deploy(f, "master")
    assert NOT_REBUILT in r.stdout, r.stdout
    assert f"revision {sha[:12]}" in r.stdout
    assert "uploaded" not in r.stdout.replace("nothing uploaded", "")
    assert archived(git_runs(f)) == []
    assert revision_objects(f) == before
    assert f.target()["sequence"] == 2
    assert f.target()["revision"]["sha256"] == sha
    assert f.target()["revision"]["commit"] == commit


def test_a_new_commit_is_built_and_uploaded(ws, daemon):
    f = fleet(ws, daemon)
    deploy(f, "HEAD")
    git_runs(f)
    c2 = f.commit("v2", {"VERSION": "2.0.0\n"})
    r = deploy(f, "HEAD")
    assert "uploaded HEAD" in r.stdout and NOT_REBUILT not in r.stdout
    assert len(archived(git_runs(f))) == 1
    assert len(f.revisions()) == 2
    assert record(f, c2)["sha256"] + ".tar.gz" in f.revisions()
    assert f.target()["revision"]["commit"] == c2


def test_dirty_work_tree_does_not_change_the_record(ws, daemon):
    f = fleet(ws, daemon)
    commit = f.git("rev-parse", "HEAD")
    deploy(f, "HEAD")
    git_runs(f)
    (f.repo / "VERSION").write_text("not committed\n")
    r = deploy(f, "--allow-dirty", "HEAD")
    assert NOT_REBUILT in r.stdout
    assert archived(git_runs(f)) == []
    assert f.target()["revision"]["commit"] == commit


def test_record_whose_revision_was_deleted_falls_back_to_a_build(ws, daemon):
    f = fleet(ws, daemon)
    commit = f.git("rev-parse", "HEAD")
    deploy(f, "HEAD")
    sha = record(f, commit)["sha256"]
    obj = f.store_dir / "revisions" / APP / f"{sha}.tar.gz"
    obj.unlink()
    git_runs(f)
    r = deploy(f, "HEAD")
    assert "is not in the store any more; building the bundle" in r.stdout
    assert f"uploaded HEAD ({commit[:12]})" in r.stdout
    assert len(archived(git_runs(f))) == 1
    assert obj.exists()
    # The same bytes again: the bundle of a commit is deterministic.
    assert record(f, commit)["sha256"] == sha


def test_record_of_a_truncated_revision_is_not_believed(ws, daemon):
    f = fleet(ws, daemon)
    commit = f.git("rev-parse", "HEAD")
    deploy(f, "HEAD")
    sha = record(f, commit)["sha256"]
    obj = f.store_dir / "revisions" / APP / f"{sha}.tar.gz"
    obj.write_bytes(obj.read_bytes()[:100])
    git_runs(f)
    r = deploy(f, "HEAD")
    assert "bytes in the store, not" in r.stdout
    assert NOT_REBUILT not in r.stdout
    assert len(archived(git_runs(f))) == 1
    # The content-addressed key exists, so the (truncated) object is
    # kept: that is the store's own rule, unchanged.
    assert "already in the store as" in r.stdout


def test_record_of_another_commit_is_not_trusted(ws, daemon):
    f = fleet(ws, daemon)
    c1 = f.git("rev-parse", "HEAD")
    deploy(f, "HEAD")
    c2 = f.commit("v2", {"VERSION": "2.0.0\n"})
    # c1's record copied under c2's name, in the clone and in the store.
    rec1 = record(f, c1)
    d = f.repo / ".git" / "hookd" / "bundles" / APP
    (d / f"{c2}.json").write_text(json.dumps(rec1))
    (f.store_dir / "commits" / APP / f"{c2}.json").write_text(
        json.dumps(rec1))
    git_runs(f)
    r = deploy(f, "HEAD")
    assert NOT_REBUILT not in r.stdout and "uploaded HEAD" in r.stdout
    assert len(archived(git_runs(f))) == 1
    assert record(f, c2)["commit"] == c2
    assert record(f, c2)["sha256"] != rec1["sha256"]
    assert f.target()["revision"]["sha256"] == record(f, c2)["sha256"]


def test_store_record_lets_another_clone_skip_the_build(ws, daemon):
    f = fleet(ws, daemon)
    commit = f.git("rev-parse", "HEAD")
    deploy(f, "HEAD")
    sha = record(f, commit)["sha256"]
    clone = f.base / "clone"
    f.git("clone", "-q", str(f.repo), str(clone))
    git_runs(f)
    before = revision_objects(f)
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD", cwd=clone)
    assert r.returncode == 0, r.stdout + r.stderr
    assert NOT_REBUILT in r.stdout
    assert f"the store ('commits/{APP}/{commit}.json')" in r.stdout
    assert archived(git_runs(f)) == []
    assert revision_objects(f) == before
    assert record(f, commit, clone / ".git")["sha256"] == sha


def test_bundle_of_a_subdirectory_is_the_same_every_time(ws, daemon):
    f = fleet(ws, daemon)
    # The application moves into app/ with its deployer.yml.
    app = f.repo / "app"
    app.mkdir()
    for p in list(f.repo.iterdir()):
        if p.name not in (".git", "app"):
            p.rename(app / p.name)
    commit = f.commit("into app/")
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD", cwd=app)
    assert r.returncode == 0, r.stdout + r.stderr
    rec = record(f, commit)
    assert rec["subdir"] == "app/"
    # Forget both records: a second build must give the same bytes (git
    # archive COMMIT:app stamped entries with the current time).
    (f.repo / ".git" / "hookd" / "bundles" / APP /
     f"{commit}.json").unlink()
    (f.store_dir / "commits" / APP / f"{commit}.json").unlink()
    time.sleep(1.1)     # a timestamp in the archive would now differ
    git_runs(f)
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD", cwd=app)
    assert r.returncode == 0, r.stdout + r.stderr
    assert len(archived(git_runs(f))) == 1
    assert f"revision {rec['sha256'][:12]} is already in the store as" \
        in r.stdout
    assert f.revisions() == [rec["sha256"] + ".tar.gz"]
    assert record(f, commit)["sha256"] == rec["sha256"]


def hookd_validate(f, commit):
    """`hookd validate` of git archive's .tar.gz of commit: its output."""
    tgz = f.base / "check.tar.gz"
    subprocess.run(["git", "-C", str(f.repo), "archive", "--format=tar.gz",
                    "-o", str(tgz), commit], check=True,
                   env=dict(os.environ, **GIT_ENV))
    r = run([binary("hookd"), "validate", str(tgz)])
    assert r.returncode == 65, r.stdout + r.stderr + "!!"
    return r.stdout + r.stderr


def same_errors(f, r, commit, n):
    """r (a deployer run) failed with the n appspec errors that `hookd
    validate` finds in the full extraction of the same archive."""
    assert r.returncode == 65, r.stdout + r.stderr
    assert "nothing was uploaded" in r.stderr
    assert f.revisions() == [] and f.target() is None
    errs = [x for x in r.stderr.splitlines() if "appspec.yml:" in x]
    out = hookd_validate(f, commit)
    want = [x for x in out.splitlines() if "appspec.yml:" in x]
    assert len(errs) == n, r.stderr
    # The same errors at the same places; only the bundle's label differs.
    assert [e.split("appspec.yml:", 1)[1] for e in errs] == \
        [w.split("appspec.yml:", 1)[1] for w in want], out
    assert record(f, commit) is None


APPSPEC_BAD = (
    "version: 0.0\nos: linux\nfiles:\n  - source: /\n"
    "    destination: /opt/worker\n  - source: conf/missing\n"
    "    destination: /etc/x\n  - source: conf/deep/d\n"
    "    destination: /etc/y\nhooks:\n  ApplicationStart:\n"
    "    - location: scripts/start_worker.sh\n"
    "    - location: scripts\n"
    "    - location: VERSION/x.sh\n"
    "    - location: conf/deep/d/e.sh\n"
    "    - location: scripts/nothere.sh\n")


def test_appspec_check_without_extraction_finds_the_same(ws, daemon):
    f = fleet(ws, daemon)
    c = f.commit("bad paths", {"appspec.yml": APPSPEC_BAD,
                               "conf/deep/d/e.sh": ("#!/bin/sh\n", 0o755)})
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD")
    same_errors(f, r, c, 4)
    assert "'scripts' is not a regular file" in r.stderr
    assert "'VERSION/x.sh' does not exist" in r.stderr
    assert "'scripts/nothere.sh' does not exist" in r.stderr
    assert "'conf/missing' does not exist" in r.stderr


def test_bundle_with_symlinks_is_checked_by_full_extraction(ws, daemon):
    f = fleet(ws, daemon)
    (f.repo / "lnk").symlink_to("scripts")
    (f.repo / "conf").mkdir()
    (f.repo / "conf" / "link-out").symlink_to("../../etc")
    c = f.commit("links", {"appspec.yml": APPSPEC_BAD.replace(
        "scripts/start_worker.sh", "lnk/start_worker.sh")})
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "entry 'conf/link-out': symlink points outside the bundle" in \
        r.stderr
    assert f.revisions() == [] and f.target() is None
    (f.repo / "conf" / "link-out").unlink()
    c = f.commit("one link")
    same_errors(f, f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD"), c, 6)


def test_no_appspec_is_reported_as_before(ws, daemon):
    f = fleet(ws, daemon)
    f.git("rm", "-q", "appspec.yml")
    f.git("commit", "-q", "-m", "no appspec")
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "no appspec.yml at the bundle root" in r.stderr
    assert f.revisions() == []


def test_dirty_refusal_stops_the_archive_and_leaves_nothing(ws, daemon):
    f = fleet(ws, daemon)
    tmp = f.base / "tmp"
    tmp.mkdir()
    f.env["TMPDIR"] = str(tmp)
    (f.repo / "VERSION").write_text("not committed\n")
    r = f.deployer("--no-wait", "--allow-empty", GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "not committed (1 path:  M VERSION)" in r.stderr
    assert r.stdout == ""
    assert list(tmp.iterdir()) == []
    assert f.revisions() == [] and f.target() is None
    assert not (f.repo / ".git" / "hookd").exists()
