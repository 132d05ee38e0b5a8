# SPDX-License-Identifier: ISC
"""'hookd validate ARCHIVE' reads the archive without extracting it: it
creates nothing under $TMPDIR (or anywhere), needs no $TMPDIR at all, and
reports a bad appspec with exactly the lines it gives for the same tree
as a directory (symlinks followed inside the bundle, a hook that is a
directory, a link loop, a link out of the bundle's root), and reads the
appspec the extraction would write (hard links included)."""
import io
import os
import stat
import tarfile
import zipfile

import pytest

from conftest import run

APPSPEC = """\
version: 0.0
os: linux
files:
  - source: conf
    destination: /opt/web
  - source: scripts/up
    destination: /opt/all
hooks:
  AfterInstall:
    - location: scripts/after.sh
    - location: bin/after.sh
  ApplicationStart:
    - location: scripts/start.sh
    - location: scripts
    - location: scripts/loop
    - location: scripts/up/web-1.2/scripts/after.sh
"""


def make_tree(top, appspec):
    """web-1.2/ with a script, links to it, a link loop and a link
    from the bundle root's directory up to the archive's root."""
    root = top / "web-1.2"
    (root / "scripts").mkdir(parents=True)
    (root / "bin").mkdir()
    (root / "appspec.yml").write_text(appspec)
    after = root / "scripts" / "after.sh"
    after.write_text("#!/bin/sh\nexit 0\n")
    after.chmod(0o755)
    (root / "bin" / "after.sh").symlink_to("../scripts/after.sh")
    (root / "scripts" / "loop").symlink_to("loop")
    (root / "scripts" / "up").symlink_to("../..")
    return top


def pack(tree, dest, fmt):
    paths = sorted(tree.rglob("*"))
    if fmt == "zip":
        with zipfile.ZipFile(dest, "w") as z:
            for p in paths:
                name = str(p.relative_to(tree))
                if p.is_symlink():
                    info = zipfile.ZipInfo(name)
                    info.create_system = 3
                    info.external_attr = (stat.S_IFLNK | 0o777) << 16
                    z.writestr(info, os.readlink(p))
                else:
                    z.write(p, name)
        return dest
    with tarfile.open(dest, "w:gz" if fmt == "tgz" else "w") as t:
        for p in paths:
            t.add(p, str(p.relative_to(tree)), recursive=False)
    return dest


@pytest.mark.parametrize("fmt", ["tar", "tgz", "zip"])
def test_validate_of_an_archive_creates_nothing(hookd_bin, tmp_path, fmt):
    tree = make_tree(tmp_path / "tree", "version: 0.0\nos: linux\n"
                     "hooks:\n  AfterInstall:\n"
                     "    - location: bin/after.sh\n")
    b = pack(tree, tmp_path / f"web.{fmt}", fmt)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    work = tmp_path / "cwd"
    work.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    r = run([hookd_bin, "validate", "-v", str(b)], env=env, cwd=work)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"{b}: valid bundle: 1 script in 1 event")
    assert list(scratch.iterdir()) == []
    assert list(work.iterdir()) == []
    # No usable $TMPDIR is no problem either: nothing goes there.
    env["TMPDIR"] = str(tmp_path / "does-not-exist")
    r = run([hookd_bin, "validate", str(b)], env=env, cwd=work)
    assert (r.returncode, r.stderr) == (0, "")
    assert not (tmp_path / "does-not-exist").exists()


@pytest.mark.parametrize("fmt", ["tar", "tgz", "zip"])
def test_a_bad_appspec_in_an_archive_reads_as_in_the_tree(hookd_bin,
                                                          tmp_path, fmt):
    tree = make_tree(tmp_path / "tree", APPSPEC)
    b = pack(tree, tmp_path / f"web.{fmt}", fmt)
    rd = run([hookd_bin, "validate", str(tree)])
    ra = run([hookd_bin, "validate", str(b)])
    assert (rd.returncode, ra.returncode) == (65, 65)
    assert ra.stderr.replace(str(b), "B") == \
        rd.stderr.replace(str(tree), "B")
    lines = ra.stderr.splitlines()
    label = f"{b}/web-1.2/appspec.yml"
    assert lines == [
        f"{label}:13:17: hooks.ApplicationStart[0].location: "
        "'scripts/start.sh' does not exist in the bundle",
        f"{label}:14:17: hooks.ApplicationStart[1].location: "
        "'scripts' is not a regular file",
        f"{label}:15:17: hooks.ApplicationStart[2].location: "
        "cannot resolve 'scripts/loop': Too many levels of symbolic links",
        f"{label}:4:13: files[0].source: 'conf' does not exist in the "
        "bundle",
        f"{label}:6:13: files[1].source: 'scripts/up' leads outside the "
        "bundle (through a symlink)",
        f"hookd: validate: '{b}' is not valid (5 errors)",
    ]


def test_an_archive_the_extraction_refuses_is_refused(hookd_bin, tmp_path):
    tree = make_tree(tmp_path / "tree", APPSPEC)
    (tree / "web-1.2" / "evil").symlink_to("/etc")
    b = pack(tree, tmp_path / "web.tar", "tar")
    r = run([hookd_bin, "validate", str(b)])
    assert r.returncode == 65
    assert r.stderr == f"hookd: validate: '{b}': entry 'web-1.2/evil': " \
        "symlink target is an absolute path\n"


def add(t, name, data=None, link=None, pax=None):
    info = tarfile.TarInfo(name)
    if link is not None:
        info.type = tarfile.LNKTYPE
        info.linkname = link
    if pax is not None:
        info.pax_headers = pax
    info.size = len(data) if data is not None else 0
    t.addfile(info, io.BytesIO(data) if data is not None else None)


def test_hard_links_give_the_appspec_the_extraction_gives(hookd_bin,
                                                          tmp_path):
    good = b"version: 0.0\nos: linux\n"
    bad = b"version: 0.0\nos: windows\n"
    # A later hard link carrying data (pax) rewrites the appspec's file.
    b = tmp_path / "rewrite.tar"
    with tarfile.open(b, "w", format=tarfile.PAX_FORMAT) as t:
        add(t, "appspec.yml", bad)
        add(t, "other", good, link="appspec.yml",
            pax={"comment": "a hard link with data"})
    r = run([hookd_bin, "validate", str(b)])
    assert (r.returncode, r.stderr) == (0, "")
    # An appspec that is a hard link has its file's contents.
    b = tmp_path / "linked.tar"
    with tarfile.open(b, "w") as t:
        add(t, "conf/base.yml", bad)
        add(t, "appspec.yml", link="conf/base.yml")
    r = run([hookd_bin, "validate", str(b)])
    assert r.returncode == 65
    assert r.stderr.startswith(f"{b}/appspec.yml:2:5: os: hookd serves "
                               "linux hosts only")
