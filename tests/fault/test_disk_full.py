# SPDX-License-Identifier: ISC
"""A full disk under --root: during the bundle's extraction, and during
the state writes that follow (the switch, the outcome).  The root lives on
a small tmpfs (mount -t tmpfs -o size=4m; the suite runs as root: the
tests skip when mounting is not permitted).  The deployment must fail
cleanly: the partial release removed, no temporary file left, state.json
still parsing, `current` on a complete release, the canary untouched; and
once space is back, the next deployment recovers and succeeds."""
import os
import subprocess

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"
FS_SIZE = "4m"


@pytest.fixture
def small_root(ws):
    """Remount ws.root as a FS_SIZE tmpfs; unmounted at teardown."""
    mnt = ws.base / "fs"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                        f"size={FS_SIZE},mode=0755", "tmpfs", str(mnt)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    try:
        (mnt / "root").mkdir()
        ws.root = mnt / "root"
        yield mnt
    finally:
        lu.kill_procs_under(ws.base)
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def leftovers(ws):
    """Names under the group directory that look temporary."""
    out = []
    for dirpath, dirs, files in os.walk(ws.group_dir(APP)):
        if os.path.basename(dirpath) == "releases":
            out += [d for d in dirs if d.startswith(".")]
            dirs[:] = []
        out += [f for f in files if "tmp" in f or f.startswith(".")
                and f != ".lock"]
    return out


def check_whole(ws, version):
    st = lu.check_state_consistent(ws, APP)
    cur = ws.current(APP)
    assert (cur / "VERSION").read_text() == version + "\n"
    assert lu.running(ws) == version
    assert ws.canary_listing() == ["sentinel"]
    return st


def test_disk_full_during_extraction_fails_cleanly(ws, small_root):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    before = ws.snapshot(APP)
    # 6 MiB that do not compress, in a bundle kept outside the tmpfs
    big = {f"blob/{i}.bin": os.urandom(1 << 20) for i in range(6)}
    r = lu.deploy(ws, lu.app_bundle(ws, "v2", fmt="tgz", extra_files=big))
    assert r.returncode in (1, 74), lu.describe(r)
    assert "No space left on device" in r.stdout + r.stderr, lu.describe(r)
    assert leftovers(ws) == [], "partial release or temp file left"
    after = ws.snapshot(APP)
    assert after["current"] == before["current"]
    assert after["releases"] == before["releases"]
    assert after["canary"] == before["canary"]
    st = check_whole(ws, "v1")
    # the one outcome recorded, if any, is a failure in DownloadBundle
    new = [h for h in st["history"] if h["deployment_id"] not in
           before["state"].decode()]
    assert all(h["status"] == "Failed" for h in new), new
    # and with room again, the next deployment is an ordinary one
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v3")))
    check_whole(ws, "v3")


FILL_SH = r"""#!/bin/bash
# Fill the file system holding the release to the last block.
dd if=/dev/zero of=@FILLER@ bs=64k 2>/dev/null || true
echo "filled"
"""


@pytest.mark.parametrize("event", ["BeforeInstall", "AfterInstall"])
def test_disk_full_during_state_writes_fails_cleanly(ws, small_root, event):
    """A hook fills the disk; what follows (the switch and its state
    write, the outcome, the rollback) runs out of space."""
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    filler = small_root / "filler"
    hooks = {ev: [{"location": "scripts/hook.sh", "timeout": 60}]
             for ev in lu.ALL_HOOK_EVENTS}
    hooks[event] = [{"location": "scripts/fill.sh", "timeout": 60}]
    b = lu.app_bundle(ws, "v2", extra_files={
        "appspec.yml": lu.appspec(hooks),
        "scripts/fill.sh": FILL_SH.replace("@FILLER@", str(filler))})
    r = lu.deploy(ws, b)
    assert filler.exists()
    print(f"disk full after {event}: exit {r.returncode}: "
          f"{(r.stdout + r.stderr).strip().splitlines()[-1:]}")
    assert r.returncode in (1, 74), lu.describe(r)
    # whatever it managed to write, state.json parses and current is whole
    st = ws.state(APP)
    assert st["schema"] == "hookd.state/1"
    cur = ws.current(APP)
    assert cur is not None and (cur / "appspec.yml").is_file()
    assert (cur / "VERSION").read_text() in ("v1\n", "v2\n")
    assert [f for f in leftovers(ws) if "state" in f] == [], leftovers(ws)
    assert ws.canary_listing() == ["sentinel"]

    filler.unlink()
    r = lu.deploy(ws, lu.app_bundle(ws, "v3"))
    lu.ok(r)
    st = check_whole(ws, "v3")
    ids = [h["deployment_id"] for h in st["history"]]
    assert len(ids) == len(set(ids)), st["history"]
    assert leftovers(ws) == []
