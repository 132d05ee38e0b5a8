# SPDX-License-Identifier: ISC
"""Hostile bundles: path traversal, absolute paths, symlink and hard link
escapes, device nodes, oversized entries.  Each is rejected with exit 65
before anything runs, nothing is written outside the release directory
(the workspace's canary/ beside the root stays as it was), and the host
is unchanged: state.json, current, the release directories, and the
running app.  The archives are built here, at test time."""
import io
import os
import stat
import subprocess
import tarfile
import zipfile

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"
GOOD_APPSPEC = b"version: 0.0\nos: linux\n"


def file_info(name, data, mode=0o644):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = mode
    return ti, data


def link_info(name, target, kind=tarfile.SYMTYPE):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    ti.mode = 0o777
    return ti, None


def dir_info(name):
    ti = tarfile.TarInfo(name)
    ti.type = tarfile.DIRTYPE
    ti.mode = 0o755
    return ti, None


def tar_bundle(ws, members, name="hostile.tgz"):
    """A .tgz whose first entries are a valid appspec and VERSION, then
    members [(TarInfo, data)] exactly as given (no name cleaning)."""
    out = ws.bundles / name
    with tarfile.open(out, "w:gz", format=tarfile.GNU_FORMAT) as t:
        for ti, data in [file_info("appspec.yml", GOOD_APPSPEC),
                         file_info("VERSION", b"evil\n")] + members:
            t.addfile(ti, io.BytesIO(data) if data is not None else None)
    return out


def zip_bundle(ws, members, name="hostile.zip"):
    """A .zip: valid appspec first, then members [(name, data, mode)]."""
    out = ws.bundles / name
    with zipfile.ZipFile(out, "w") as z:
        for n, data, mode in [("appspec.yml", GOOD_APPSPEC, 0o100644)] + \
                members:
            zi = zipfile.ZipInfo(n)
            zi.create_system = 3
            zi.external_attr = mode << 16
            z.writestr(zi, data)
    return out


def up_to_canary(ws, k):
    return "../" * k + "canary/pwned"


def to_canary_via_root(ws):
    """A relative path that reaches the canary from any depth."""
    return "../" * 40 + str(ws.canary).lstrip("/")


def cases(ws):
    c = ws.canary
    return {
        "dotdot": lambda: tar_bundle(ws, [
            file_info("ok.txt", b"fine\n")] + [
            file_info(up_to_canary(ws, k) + str(k), b"pwned\n")
            for k in range(1, 9)]),
        "dotdot-inside-path": lambda: tar_bundle(ws, [
            dir_info("sub"),
            file_info("sub/" + to_canary_via_root(ws) + "/pwned",
                      b"pwned\n")]),
        "absolute": lambda: tar_bundle(ws, [
            file_info(str(c / "pwned-abs"), b"pwned\n")]),
        "symlink-escape-relative": lambda: tar_bundle(ws, [
            link_info("escape", to_canary_via_root(ws)),
            file_info("escape/pwned", b"pwned\n")]),
        "symlink-escape-absolute": lambda: tar_bundle(ws, [
            link_info("escape", str(c)),
            file_info("escape/pwned", b"pwned\n")]),
        "symlink-one-level-out": lambda: tar_bundle(ws, [
            dir_info("a"), link_info("a/out", "../../pwned-dir")]),
        "symlink-chain": lambda: tar_bundle(ws, [
            dir_info("d"), link_info("d/up", ".."),
            link_info("d/up/up2", ".."),
            file_info("d/up/up2/pwned", b"pwned\n")]),
        "symlink-out-alone": lambda: tar_bundle(ws, [
            link_info("passwd", "/etc/passwd")]),
        "symlink-then-overwrite": lambda: tar_bundle(ws, [
            link_info("x", str(c / "sentinel")),
            file_info("x", b"pwned\n")]),
        "hardlink-out": lambda: tar_bundle(ws, [
            link_info("hl", str(c / "sentinel"), tarfile.LNKTYPE),
            file_info("hl", b"pwned\n")]),
        "hardlink-dotdot": lambda: tar_bundle(ws, [
            link_info("hl", to_canary_via_root(ws) + "/sentinel",
                      tarfile.LNKTYPE)]),
        "device-node": lambda: tar_bundle(ws, [
            device_info("null2", tarfile.CHRTYPE, 1, 3)]),
        "fifo": lambda: tar_bundle(ws, [
            device_info("pipe", tarfile.FIFOTYPE, 0, 0)]),
        "zip-dotdot": lambda: zip_bundle(ws, [
            (up_to_canary(ws, k) + str(k), b"pwned\n", 0o100644)
            for k in range(1, 9)]),
        "zip-absolute": lambda: zip_bundle(ws, [
            (str(c / "pwned-abs"), b"pwned\n", 0o100644)]),
        "zip-symlink-escape": lambda: zip_bundle(ws, [
            ("escape", str(c).encode(), 0o120777),
            ("escape/pwned", b"pwned\n", 0o100644)]),
        "oversized-sparse-entry": lambda: sparse_bundle(ws),
    }


def device_info(name, kind, major, minor):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.devmajor, ti.devminor = major, minor
    ti.mode = 0o666
    return ti, None


def sparse_bundle(ws):
    """A 5 GiB file (over BUNDLE_BYTES_MAX, 4 GiB) stored sparse by GNU
    tar: a few hundred bytes of archive."""
    src = ws.bundles / "sparse"
    src.mkdir()
    (src / "appspec.yml").write_bytes(GOOD_APPSPEC)
    with open(src / "big", "wb") as f:
        f.truncate(5 << 30)
    out = ws.bundles / "oversized.tgz"
    subprocess.run(["tar", "--sparse", "-czf", str(out), "-C", str(src),
                    "appspec.yml", "big"], check=True)
    os.unlink(src / "big")
    assert out.stat().st_size < 64 * 1024
    return out


CASES = ["dotdot", "dotdot-inside-path", "absolute",
         "symlink-escape-relative", "symlink-escape-absolute",
         "symlink-one-level-out", "symlink-chain",
         "symlink-out-alone", "symlink-then-overwrite", "hardlink-out",
         "hardlink-dotdot", "device-node", "fifo", "zip-dotdot",
         "zip-absolute", "zip-symlink-escape", "oversized-sparse-entry"]


def full_snapshot(ws):
    snap = ws.snapshot(APP)
    rd = ws.group_dir(APP) / "releases"
    snap["releases-all"] = sorted(os.listdir(rd))
    snap["group-dir"] = sorted(os.listdir(ws.group_dir(APP)))
    return snap


@pytest.mark.parametrize("case", CASES)
def test_hostile_bundle_rejected(ws, case):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    before = full_snapshot(ws)
    nevents = len(lu.events(ws))
    sentinel = (ws.canary / "sentinel").stat()

    bundle = cases(ws)[case]()
    r = lu.deploy(ws, bundle, app=APP)
    assert r.returncode == 65, lu.describe(r)
    assert r.stderr.startswith("hookd: "), r.stderr
    assert r.stdout.count("succeeded") == 0

    # nothing outside: the canary is as it was, no pwned file anywhere
    assert ws.canary_listing() == ["sentinel"]
    assert (ws.canary / "sentinel").read_text() == "untouched\n"
    st = (ws.canary / "sentinel").stat()
    assert (st.st_ino, st.st_nlink, st.st_mode) == \
        (sentinel.st_ino, sentinel.st_nlink, sentinel.st_mode)
    assert not [p for p in ws.base.rglob("pwned*")]
    assert not [p for p in ws.base.rglob("null2")]
    # and the host is as it was, the app never stopped
    assert full_snapshot(ws) == before
    assert len(lu.events(ws)) == nevents
    assert lu.running(ws) == "v1"
    assert os.path.exists("/etc/passwd")


def test_hostile_bundle_on_first_deployment_leaves_nothing(ws):
    r = lu.deploy(ws, cases(ws)["dotdot"](), app=APP)
    assert r.returncode == 65, lu.describe(r)
    assert ws.canary_listing() == ["sentinel"]
    assert not [p for p in ws.base.rglob("pwned*")]
    assert ws.current(APP) is None
    assert ws.releases(APP) == set()


def test_inside_links_and_setuid_are_fine(ws):
    """Links that stay inside the bundle are accepted; setuid and setgid
    bits are stripped."""
    b = tar_bundle(ws, [
        dir_info("public"),
        file_info("public/index.html", b"<p>hi</p>\n"),
        link_info("public/latest.html", "index.html"),
        link_info("site", "public"),
        link_info("public/up.html", "../public/index.html"),
        file_info("bin/tool", b"#!/bin/sh\necho hi\n", 0o6755),
        link_info("bin/tool-again", "bin/tool", tarfile.LNKTYPE),
    ], name="app.tgz")
    dep, _ = lu.ok(lu.deploy(ws, b))
    cur = ws.current(APP)
    assert (cur / "site" / "latest.html").read_text() == "<p>hi</p>\n"
    assert (cur / "public" / "up.html").read_text() == "<p>hi</p>\n"
    m = os.stat(cur / "bin" / "tool").st_mode
    assert not m & (stat.S_ISUID | stat.S_ISGID), oct(m)
    assert (cur / "bin" / "tool-again").read_text() == \
        "#!/bin/sh\necho hi\n"


def dir_bundle(ws, special):
    d = ws.bundles / "dirapp"
    d.mkdir()
    (d / "appspec.yml").write_bytes(GOOD_APPSPEC)
    special(d)
    return d


DIR_CASES = {
    # copying a FIFO's contents would block forever
    "fifo": lambda ws, d: os.mkfifo(d / "pipe"),
    "device-node": lambda ws, d: os.mknod(d / "null2", 0o666 | stat.S_IFCHR,
                                          os.makedev(1, 3)),
    "symlink-out": lambda ws, d: os.symlink(str(ws.canary / "sentinel"),
                                            d / "x"),
    "symlink-dir-out": lambda ws, d: os.symlink(str(ws.canary), d / "c"),
}


@pytest.mark.parametrize("case", sorted(DIR_CASES))
def test_hostile_directory_bundle_rejected(ws, case):
    if case == "device-node" and os.geteuid() != 0:
        pytest.skip("mknod needs root")
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    before = full_snapshot(ws)
    b = dir_bundle(ws, lambda d: DIR_CASES[case](ws, d))
    r = lu.deploy(ws, b, app=APP, timeout=30)
    assert r.returncode == 65, lu.describe(r)
    assert full_snapshot(ws) == before
    assert ws.canary_listing() == ["sentinel"]
    assert (ws.canary / "sentinel").read_text() == "untouched\n"
    assert lu.running(ws) == "v1"
