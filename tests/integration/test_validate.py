# SPDX-License-Identifier: ISC
"""'hookd validate PATH': appspec files, bundles (directory, .tar, .tar.gz,
.tgz, .zip), the shared conformance cases, and the exit codes."""
import io
import re
import os
import pathlib
import tarfile
import zipfile

import pytest

from conftest import SHARED, TOP, run

FIXTURES = TOP / "tests" / "fixtures" / "appspec"
CONFORMANCE = SHARED / "appspec-conformance"

APPSPEC = """\
version: 0.0
os: linux
files:
  - source: /
    destination: /opt/web
hooks:
  AfterInstall:
    - location: scripts/after.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start.sh
"""


def conformance_cases():
    return sorted(p.name for p in CONFORMANCE.iterdir() if p.is_dir())


def fixtures(kind):
    return sorted(p.name for p in (FIXTURES / kind).glob("*.yml"))


@pytest.mark.parametrize("case", conformance_cases())
def test_validate_agrees_with_the_shared_conformance_case(hookd_bin, case):
    d = CONFORMANCE / case
    expected = (d / "expected").read_text().strip()
    r = run([hookd_bin, "validate", "appspec.yml"], cwd=d)
    if expected == "ACCEPT":
        assert r.returncode == 0, r.stderr
        assert r.stderr == ""
    else:
        assert r.returncode == 65
        assert r.stderr.startswith("appspec.yml:")
    assert r.stdout == ""


@pytest.mark.parametrize("name", fixtures("good"))
def test_validate_accepts_good_fixture_silently(hookd_bin, name):
    r = run([hookd_bin, "validate", name], cwd=FIXTURES / "good")
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@pytest.mark.parametrize("name", fixtures("bad"))
def test_validate_rejects_bad_fixture_with_its_error_first(hookd_bin, name):
    want = (FIXTURES / "bad" / name).with_suffix(".err").read_text()
    r = run([hookd_bin, "validate", name], cwd=FIXTURES / "bad")
    assert r.returncode == 65
    assert r.stdout == ""
    assert r.stderr.splitlines()[0] == want.strip()
    assert r.stderr.splitlines()[-1].startswith(
        f"hookd: validate: '{name}' is not valid (")


def test_validate_reports_every_error_with_line_and_column(hookd_bin):
    r = run([hookd_bin, "validate", "many-errors.yml"], cwd=FIXTURES / "bad")
    assert r.returncode == 65
    lines = r.stderr.splitlines()
    # The unknown event is a warning: CodeDeploy accepts and ignores it.
    assert lines[-1] == "hookd: validate: 'many-errors.yml' is not valid " \
        "(5 errors, 1 warning)"
    assert "warning: many-errors.yml:5:3: hooks.AfterInstal: unknown " \
        "lifecycle event, ignored as by CodeDeploy: its scripts never run " \
        "(did you mean 'AfterInstall'?)" in lines
    assert all(line.startswith("many-errors.yml:") for line in lines[:-2])


@pytest.mark.parametrize("name", fixtures("warn"))
def test_validate_accepts_warn_fixture_with_its_warning(hookd_bin, name):
    want = (FIXTURES / "warn" / name).with_suffix(".warn").read_text()
    r = run([hookd_bin, "validate", name], cwd=FIXTURES / "warn")
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0] == "warning: " + want.strip()
    assert all(line.startswith(f"warning: {name}:") for line in lines[:-1])
    assert lines[-1].startswith(f"hookd: validate: '{name}' is valid, "
                                f"with {len(lines) - 1} warning")


@pytest.mark.parametrize("name", fixtures("warn"))
def test_validate_strict_refuses_warn_fixture(hookd_bin, name):
    want = (FIXTURES / "warn" / name).with_suffix(".warn").read_text()
    r = run([hookd_bin, "validate", "--strict", name], cwd=FIXTURES / "warn")
    assert r.returncode == 65
    lines = r.stderr.splitlines()
    assert lines[0] == want.strip()
    assert "--strict made" in lines[-1]
    r2 = run([hookd_bin, "validate", "-s", name], cwd=FIXTURES / "warn")
    assert (r2.returncode, r2.stderr) == (65, r.stderr)


def test_validate_verbose_prints_one_summary_line(hookd_bin):
    r = run([hookd_bin, "validate", "-v", "full.yml"], cwd=FIXTURES / "good")
    assert r.returncode == 0
    assert r.stdout == "full.yml: valid appspec: 10 scripts in 9 events, " \
        "2 files entries, 1 permission\n"
    assert r.stderr == ""


def test_validate_missing_path_exits_66(hookd_bin, tmp_path):
    r = run([hookd_bin, "validate", str(tmp_path / "nope.yml")])
    assert r.returncode == 66
    assert r.stdout == ""
    assert "nope.yml" in r.stderr
    assert "No such file or directory" in r.stderr


@pytest.mark.parametrize("argv,what", [
    ([], "no PATH given"),
    (["a.yml", "b.yml"], "one PATH only, not 'b.yml'"),
    (["--frob", "a.yml"], "unknown option '--frob'"),
    (["-q", "a.yml"], "unknown option '-q'"),
])
def test_validate_usage_errors_exit_64(hookd_bin, argv, what):
    r = run([hookd_bin, "validate"] + argv)
    assert r.returncode == 64
    assert r.stdout == ""
    assert what in r.stderr.splitlines()[0]
    assert "usage: hookd validate" in r.stderr


def test_validate_help_and_version_go_to_stdout(hookd_bin):
    r = run([hookd_bin, "validate", "--help"])
    assert r.returncode == 0
    assert r.stdout.startswith("usage: hookd validate [-sv]")
    assert r.stderr == ""
    r = run([hookd_bin, "validate", "--version"])
    assert r.returncode == 0
    assert r.stdout.startswith("hookd ")


# Bundles.

def make_tree(root, appspec=APPSPEC, scripts=("after.sh", "start.sh")):
    (root / "scripts").mkdir(parents=True)
    (root / "appspec.yml").write_text(appspec)
    for s in scripts:
        p = root / "scripts" / s
        p.write_text("#!/bin/sh\nexit 0\n")
        p.chmod(0o755)
    return root


def pack(tree, dest, fmt, prefix=""):
    """Pack the tree's contents into an archive, optionally under prefix/."""
    if fmt == "zip":
        with zipfile.ZipFile(dest, "w") as z:
            for p in sorted(tree.rglob("*")):
                z.write(p, prefix + str(p.relative_to(tree)))
        return dest
    mode = "w:gz" if fmt in ("tgz", "tar.gz") else "w"
    with tarfile.open(dest, mode) as t:
        for p in sorted(tree.rglob("*")):
            t.add(p, prefix + str(p.relative_to(tree)), recursive=False)
    return dest


@pytest.mark.parametrize("fmt", ["tar", "tgz", "tar.gz", "zip"])
def test_validate_accepts_a_good_archive(hookd_bin, tmp_path, fmt):
    tree = make_tree(tmp_path / "app")
    b = pack(tree, tmp_path / f"web.{fmt}", fmt)
    r = run([hookd_bin, "validate", "-v", str(b)])
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"{b}: valid bundle: 2 scripts in 2 events, " \
        "1 files entry, 0 permissions\n"


@pytest.mark.parametrize("fmt", ["tar", "tgz", "zip"])
def test_validate_finds_the_appspec_in_a_single_top_folder(hookd_bin,
                                                           tmp_path, fmt):
    tree = make_tree(tmp_path / "app")
    b = pack(tree, tmp_path / f"web.{fmt}", fmt, prefix="web-1.2/")
    r = run([hookd_bin, "validate", str(b)])
    assert (r.returncode, r.stderr) == (0, "")


@pytest.mark.parametrize("fmt", ["dir", "tar", "tgz", "zip"])
def test_validate_reports_a_hook_missing_from_the_bundle(hookd_bin,
                                                         tmp_path, fmt):
    tree = make_tree(tmp_path / "app", scripts=("after.sh",))
    b = tree if fmt == "dir" else pack(tree, tmp_path / f"web.{fmt}", fmt)
    r = run([hookd_bin, "validate", str(b)])
    assert r.returncode == 65
    assert r.stderr.splitlines()[0] == \
        f"{b}/appspec.yml:11:17: hooks.ApplicationStart[0].location: " \
        "'scripts/start.sh' does not exist in the bundle"


def test_validate_accepts_a_directory_bundle(hookd_bin, tmp_path):
    tree = make_tree(tmp_path / "app")
    r = run([hookd_bin, "validate", str(tree)])
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


def test_validate_rejects_a_hook_that_escapes_through_a_symlink(hookd_bin,
                                                               tmp_path):
    tree = make_tree(tmp_path / "app", scripts=("after.sh",))
    (tree / "scripts" / "start.sh").symlink_to("/bin/true")
    r = run([hookd_bin, "validate", str(tree)])
    assert r.returncode == 65
    assert "hooks.ApplicationStart[0].location: 'scripts/start.sh' leads " \
        "outside the bundle" in r.stderr


def test_validate_rejects_a_hook_that_is_a_directory(hookd_bin, tmp_path):
    tree = make_tree(tmp_path / "app", scripts=("after.sh",))
    (tree / "scripts" / "start.sh").mkdir()
    r = run([hookd_bin, "validate", str(tree)])
    assert r.returncode == 65
    assert "'scripts/start.sh' is not a regular file" in r.stderr


def test_validate_reports_schema_and_bundle_errors_together(hookd_bin,
                                                            tmp_path):
    tree = make_tree(tmp_path / "app", APPSPEC.replace("timeout: 30",
                                                       "timeout: 30s"),
                     scripts=("after.sh",))
    r = run([hookd_bin, "validate", str(tree)])
    assert r.returncode == 65
    lines = r.stderr.splitlines()
    assert "timeout: must be a whole number" in lines[0]
    assert "'scripts/start.sh' does not exist in the bundle" in lines[1]
    assert lines[-1].endswith("is not valid (2 errors)")


def test_validate_rejects_a_bundle_without_an_appspec(hookd_bin, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run([hookd_bin, "validate", str(tmp_path / "empty")])
    assert r.returncode == 65
    assert "no appspec.yml" in r.stderr


def test_validate_rejects_an_archive_that_escapes(hookd_bin, tmp_path):
    b = tmp_path / "evil.tar"
    with tarfile.open(b, "w") as t:
        data = APPSPEC.encode()
        info = tarfile.TarInfo("appspec.yml")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        info = tarfile.TarInfo("../escape.sh")
        info.size = 0
        t.addfile(info, io.BytesIO(b""))
    r = run([hookd_bin, "validate", str(b)])
    assert r.returncode == 65
    assert not (tmp_path / "escape.sh").exists()


def test_validate_says_a_corrupt_archive_is_not_one(hookd_bin, tmp_path):
    b = tmp_path / "web.tgz"
    b.write_text("not an archive\n")
    r = run([hookd_bin, "validate", str(b)])
    assert r.returncode == 65
    assert r.stderr == f"hookd: validate: '{b}' is not a tar, tar.gz or " \
        "zip archive\n"


def test_validate_leaves_no_scratch_directory(hookd_bin, tmp_path):
    tree = make_tree(tmp_path / "app")
    b = pack(tree, tmp_path / "web.tgz", "tgz")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = dict(os.environ, TMPDIR=str(scratch))
    r = run([hookd_bin, "validate", str(b)], env=env)
    assert r.returncode == 0, r.stderr
    assert list(scratch.iterdir()) == []


def test_validate_takes_the_global_verbose_flag_too(hookd_bin):
    r = run([hookd_bin, "-v", "validate", "minimal.yml"],
            cwd=FIXTURES / "good")
    assert r.returncode == 0
    assert r.stdout.startswith("minimal.yml: valid appspec: 0 scripts")


REALWORLD = TOP / "tests" / "fixtures" / "appspec-realworld"


def realworld_cases():
    """(file, exit, [warning parts]) from the fixture set's INDEX.md."""
    cases = []
    for line in (REALWORLD / "INDEX.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].endswith(".yml"):
            continue
        parts = [p for p in cells[4].split(";") if p]
        cases.append((cells[0], int(cells[3]), parts))
    return cases


def test_realworld_index_names_every_fixture():
    listed = {c[0] for c in realworld_cases()}
    assert listed == {p.name for p in REALWORLD.glob("*.yml")}
    assert len(listed) >= 40


@pytest.mark.parametrize("name,code,parts", realworld_cases(),
                         ids=[c[0] for c in realworld_cases()])
def test_validate_realworld_shape(hookd_bin, name, code, parts):
    r = run([hookd_bin, "validate", name], cwd=REALWORLD)
    assert r.returncode == code, r.stderr
    assert r.stdout == ""
    warnings = [line for line in r.stderr.splitlines()
                if line.startswith("warning: ")]
    assert len(warnings) == len(parts), r.stderr
    for line, part in zip(warnings, parts):
        assert line.startswith(f"warning: {name}:")
        assert part in line
    if code == 0 and not parts:
        assert r.stderr == ""
    # --strict refuses exactly the files with warnings.
    s = run([hookd_bin, "validate", "--strict", name], cwd=REALWORLD)
    assert s.returncode == (65 if parts or code else 0)


def test_every_row_of_the_differences_table_names_existing_tests():
    doc = (TOP / "docs" / "appspec.md").read_text()
    table = doc.split("## What hookd does, what CodeDeploy does", 1)[1]
    table = table.split("\n## ", 1)[0]
    rows = [r for r in table.splitlines() if r.startswith("| ")
            and not r.startswith("| the file has")]
    assert len(rows) >= 20
    base = {"F": FIXTURES, "RW": REALWORLD}
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[3] and cells[4], row
        last = None
        found = 0
        for ref in re.findall(r"`([^`]+)`", cells[4]):
            m = re.match(r"(F|RW)/(.*)", ref)
            if m:
                last = base[m.group(1)] / pathlib.Path(m.group(2)).parent
                pat = pathlib.Path(m.group(2)).name
            else:
                pat = ref
            assert last is not None, row
            hits = list(last.glob(pat))
            assert hits, f"{ref}: nothing in {last} ({row})"
            found += len(hits)
        assert found, row
