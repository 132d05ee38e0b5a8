# SPDX-License-Identifier: ISC
"""The release switch is atomic: a reader reading two files of the release
through `current`, in a tight loop, during back-to-back `hookd
deploy-local` runs never sees files of two releases, a missing `current`
or an incomplete file.  The same check as benchmark B6 (bench/b6_atomic.py,
bench/atomic_reader.py), bounded to ~20 s.  A second test shows the
reader does catch a switch that is not atomic (unlink + symlink).
"""
import json
import os
import signal
import subprocess
import sys
import time

from conftest import TOP, binary

sys.path.insert(0, str(TOP / "bench"))
import b6_atomic  # noqa: E402

DEPLOYS = 100       # or as many as fit in 15 s (ASan, a busy machine)


def test_switch_is_atomic_under_a_tight_reader(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HOOKD_ROOT"}
    c = b6_atomic.switch_run(binary("hookd"), tmp_path, DEPLOYS, env=env,
                             timeout=60, max_seconds=15)
    assert c["pairs"] > 0
    assert c["switches_seen"] > 0, c
    assert c["mixed"] == 0, c
    assert c["missing"] == 0, c
    assert c["partial"] == 0, c


def test_reader_catches_a_switch_that_is_not_atomic(tmp_path):
    rel = []
    for v in ("A", "B"):
        d = tmp_path / v
        d.mkdir()
        for f in ("a", "b"):
            (d / f).write_bytes((v * 8).encode() * 128)
        rel.append(d)
    cur = tmp_path / "current"
    os.symlink(rel[0], cur)
    rd = subprocess.Popen([sys.executable, str(b6_atomic.READER), str(cur),
                           "1024"], stdout=subprocess.PIPE, text=True)
    try:
        assert rd.stdout.readline().strip() == "READY"
        deadline = time.monotonic() + 1.0
        i = 0
        while time.monotonic() < deadline:
            i += 1
            os.unlink(cur)              # the window a rename(2) avoids
            os.symlink(rel[i % 2], cur)
    finally:
        rd.send_signal(signal.SIGTERM)
        out, _ = rd.communicate(timeout=30)
    c = json.loads(out.strip().splitlines()[-1])
    assert c["missing"] > 0, c
