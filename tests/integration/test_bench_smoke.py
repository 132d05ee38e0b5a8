# SPDX-License-Identifier: ISC
"""`bench/run --quick --only B2` works and writes the JSON `make bench`
documents (BENCHMARKS.md): figures with units and goals, the machine,
the date and the commit.  It checks the shape only, never a figure:
benchmarks do not pass or fail on time.
"""
import json
import subprocess

from conftest import BUILD, TOP


def test_quick_b2_writes_the_documented_json(tmp_path):
    out = tmp_path / "latest.json"
    r = subprocess.run(["/usr/bin/python3", str(TOP / "bench" / "run"),
                        "--quick", "--only", "B2", "--build", str(BUILD),
                        "--out", str(out)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(out.read_text())
    assert doc["schema"] == "hookd.bench/1"
    for k in ("date", "commit", "machine", "quick", "benchmarks"):
        assert k in doc, k
    assert doc["quick"] is True
    assert doc["machine"]["cpus"] >= 1
    assert list(doc["benchmarks"]) == ["B2"]
    b2 = doc["benchmarks"]["B2"]
    assert b2["status"] == "measured", b2
    figs = b2["figures"]
    for k in ("wall_ms", "maxrss_kib", "private_dirty_kib"):
        assert k in figs, k
        assert set(figs[k]) >= {"label", "value", "unit", "goal",
                                "meets_goal", "note"}
    assert figs["wall_ms"]["unit"] == "ms"
    assert figs["wall_ms"]["value"] > 0
    assert figs["wall_ms"]["goal"] == "<= 30 ms"
    # The table is printed too.
    assert "B2" in r.stdout and "peak RSS" in r.stdout
