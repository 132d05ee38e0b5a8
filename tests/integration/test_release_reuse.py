# SPDX-License-Identifier: ISC
"""Release reuse: a bundle already extracted (same sha256) into a release
that is neither live nor a rollback target, and that is unchanged since
its extraction (its manifest, GDIR/releases/.manifest-SEQ-ID), is renamed
to the new deployment's release instead of being extracted again.

What a user checks: the DownloadBundle line and the deployment log say
"reused release SEQ-ID"; the reused tree is the very same files (same
inodes) and is exactly the bundle; a release a hook changed, and the
current or previous release, are never taken (a fresh extraction, the old
release left as it was).
"""
import os
import pathlib
import re
import tarfile

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"
KEEP = 20


def deploy(ws, bundle):
    """Deploy bundle with retention out of the way; (id, stdout, log)."""
    r = lu.deploy(ws, bundle, keep=KEEP)
    dep_id, _ = lu.ok(r)
    log = (ws.root / "logs" / f"{dep_id}.log").read_text()
    return dep_id, r.stdout, log


def reused_line(stdout):
    """The release named on the DownloadBundle line, or None."""
    m = re.search(r"^DownloadBundle\s+ok\s.*\(reused release (\S+)\)$",
                  stdout, re.M)
    return m.group(1) if m else None


def tree(root):
    """{relative path: ('f', mode, bytes) | ('d', mode) | ('l', target)}"""
    root = pathlib.Path(root)
    out = {}
    for p in sorted(root.rglob("*")):
        rel = str(p.relative_to(root))
        if p.is_symlink():
            out[rel] = ("l", os.readlink(p))
        elif p.is_dir():
            out[rel] = ("d", lu.mode_of(p))
        else:
            out[rel] = ("f", lu.mode_of(p), p.read_bytes())
    return out


def bundle_tree(tgz):
    """tree() of what the bundle holds, read from the archive itself."""
    out = {}
    with tarfile.open(tgz) as t:
        for m in t.getmembers():
            name = os.path.normpath(m.name)
            if m.issym():
                out[name] = ("l", m.linkname)
            elif m.isdir():
                out[name] = ("d", m.mode & 0o777)
            else:
                out[name] = ("f", m.mode & 0o777, t.extractfile(m).read())
    return out


def inode(path):
    return os.lstat(path).st_ino


def test_unprotected_pristine_release_is_reused_without_extraction(ws):
    a = lu.app_bundle(ws, "vA", fmt="tgz")
    b = lu.app_bundle(ws, "vB", fmt="tgz")
    c = lu.app_bundle(ws, "vC", fmt="tgz")
    d1, out, _ = deploy(ws, a)
    assert reused_line(out) is None
    rel1 = lu.release_of(ws, APP, d1)
    ino = {n: inode(rel1 / n) for n in ("VERSION", "scripts/hook.sh")}
    deploy(ws, b)
    deploy(ws, c)
    # A's release is now neither current, previous nor last good.
    d4, out, log = deploy(ws, a)
    assert reused_line(out) == f"1-{d1}", out
    assert f"reused release 1-{d1}" in log
    assert "nothing extracted" in log
    rel4 = lu.release_of(ws, APP, d4)
    assert rel4.name.startswith("4-")
    assert lu.release_of(ws, APP, d1) is None, "the old name is gone"
    assert ws.current(APP) == rel4
    # zero copy: the very same files
    for n, i in ino.items():
        assert inode(rel4 / n) == i, n
    # and exactly the bundle
    assert tree(rel4) == bundle_tree(a)
    assert lu.running(ws) == "vA"
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == d4
    assert st["current"]["release"] == f"releases/4-{d4}"
    # the manifest moved with it; none is left behind
    rels = ws.group_dir(APP) / "releases"
    manifests = sorted(p.name for p in rels.glob(".manifest-*"))
    assert manifests == sorted(f".manifest-{n}" for n in ws.releases(APP))
    # the hooks of the new deployment ran from the reused release
    assert [e[2] for e in lu.events(ws) if e[1] == "vA"][-1] == str(rel4)


RENDER_SH = r"""#!/bin/bash
set -euo pipefail
# like a config-rendering step: edits a file of its own release in place
echo "rendered by $DEPLOYMENT_ID" >> config/app.conf
"""


def test_release_a_hook_modified_is_not_reused(ws):
    hooks = {"AfterInstall": ["scripts/render.sh"]}
    r = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "config/app.conf": "base\n",
                                 "scripts/render.sh": RENDER_SH},
                       fmt="tgz", subdir="render")
    d1, out, _ = deploy(ws, r)
    rel1 = lu.release_of(ws, APP, d1)
    deploy(ws, lu.app_bundle(ws, "vB", fmt="tgz"))
    deploy(ws, lu.app_bundle(ws, "vC", fmt="tgz"))
    d4, out, log = deploy(ws, r)
    assert reused_line(out) is None, out
    assert f"release 1-{d1} holds this bundle but 'config/app.conf' " \
        "was modified; not reused" in log, log
    rel4 = lu.release_of(ws, APP, d4)
    assert (rel4 / "config/app.conf").read_text() == \
        f"base\nrendered by {d4}\n"
    # the modified release is left as it was
    assert (rel1 / "config/app.conf").read_text() == \
        f"base\nrendered by {d1}\n"
    assert inode(rel4 / "config/app.conf") != \
        inode(rel1 / "config/app.conf")


def test_current_and_previous_are_never_reused(ws):
    a = lu.app_bundle(ws, "vA", fmt="tgz")
    d1, _, _ = deploy(ws, a)
    # d1 is current (and last good): a fresh copy
    d2, out, log = deploy(ws, a)
    assert reused_line(out) is None, out
    assert f"release 1-{d1} holds this bundle but is live or a rollback " \
        "target; not reused" in log
    rel1, rel2 = lu.release_of(ws, APP, d1), lu.release_of(ws, APP, d2)
    assert rel1 is not None and rel2 is not None
    assert inode(rel1 / "VERSION") != inode(rel2 / "VERSION")
    assert tree(rel2) == tree(rel1) == bundle_tree(a)
    # d2 current, d1 previous: both protected
    d3, out, _ = deploy(ws, a)
    assert reused_line(out) is None, out
    assert {lu.release_of(ws, APP, d).name for d in (d1, d2, d3)} == \
        ws.releases(APP)
    # another revision: d3 is now previous, d1 and d2 are free; the
    # newest unchanged one (d2) is taken, d3 never
    deploy(ws, lu.app_bundle(ws, "vB", fmt="tgz"))
    ino2 = inode(rel2 / "VERSION")
    d5, out, _ = deploy(ws, a)
    assert reused_line(out) == f"2-{d2}", out
    rel5 = lu.release_of(ws, APP, d5)
    assert inode(rel5 / "VERSION") == ino2
    assert lu.release_of(ws, APP, d3) is not None
    assert lu.release_of(ws, APP, d1) is not None
    st = lu.check_state_consistent(ws, APP)
    assert st["previous"]["release"] != f"releases/2-{d2}"
    assert lu.running(ws) == "vA"


def test_rollback_to_a_reused_release_after_a_failure(ws):
    """A deployment that reuses a release and then fails leaves the live
    release serving; the reused tree stays a release of its own."""
    a = lu.app_bundle(ws, "vA", fmt="tgz")
    d1, _, _ = deploy(ws, a)
    deploy(ws, lu.app_bundle(ws, "vB", fmt="tgz"))
    d3, _, _ = deploy(ws, lu.app_bundle(ws, "vC", fmt="tgz"))
    (ws.out / "fail.ValidateService.vA").write_text("")
    r = lu.deploy(ws, a, keep=KEEP)
    d4, _, _ = lu.failed(r)
    assert reused_line(r.stdout) == f"1-{d1}", r.stdout
    assert ws.current(APP) == lu.release_of(ws, APP, d3)
    assert lu.running(ws) == "vC"
    lu.check_state_consistent(ws, APP)
    assert (lu.release_of(ws, APP, d4) / "VERSION").read_text() == "vA\n"


def test_bundle_whose_scripts_lack_the_exec_bit_is_still_reused(ws):
    """The engine gives hook scripts their exec bit before it records the
    release, so that change does not count against reuse."""
    script = "#!/bin/sh\necho started\n"
    hooks = {"ApplicationStart": ["scripts/start.sh"]}
    x = lu.make_bundle(ws, APP, {"appspec.yml": lu.appspec(hooks),
                                 "scripts/start.sh": (script, 0o644)},
                       fmt="tgz", subdir="noexec")
    assert bundle_tree(x)["scripts/start.sh"][1] == 0o644
    d1, _, _ = deploy(ws, x)
    rel1 = lu.release_of(ws, APP, d1)
    assert lu.mode_of(rel1 / "scripts/start.sh") & 0o100
    deploy(ws, lu.app_bundle(ws, "vB", fmt="tgz"))
    deploy(ws, lu.app_bundle(ws, "vC", fmt="tgz"))
    d4, out, log = deploy(ws, x)
    assert reused_line(out) == f"1-{d1}", log
    assert "started" in log
