# SPDX-License-Identifier: ISC
"""The hostile bundles that tests/integration/
test_hostile_bundles.py does not drive through a binary (lib/bundle.c's
unit tests cover them all): names with a newline, control characters or
invalid UTF-8, over-long paths and names, a truncated archive, a zip
with overlapping entries (hookd deploy-local: exit 65, host unchanged,
canary untouched); and, through `hookd run` whose hookd.yml sets small
limits (max_bundle_entries, max_bundle_bytes), a million entries and a
decompression bomb: the deployment fails in DownloadBundle with a clear
reason, quickly, and nothing is left of it."""
import gzip
import os
import struct
import time
import zipfile

import pytest

import lifecycle_util as lu
import test_hostile_bundles as hb
from daemon_util import FileStore, Spool, daemon, message  # noqa: F401
from daemon_util import spool_config
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"


def truncated(ws):
    full = hb.tar_bundle(ws, [hb.file_info(f"f{i}", os.urandom(4096))
                              for i in range(16)], name="full.tgz")
    data = full.read_bytes()
    out = ws.bundles / "truncated.tgz"
    out.write_bytes(data[:len(data) // 2])
    return out


def zip_overlapping(ws):
    """Two central-directory entries whose data is the same local entry
    (the second's local header offset rewritten to the first's)."""
    out = hb.zip_bundle(ws, [("a.txt", b"A" * 100, 0o100644),
                             ("b.txt", b"B" * 100, 0o100644)],
                        name="overlap.zip")
    data = bytearray(out.read_bytes())
    offsets = []
    i = data.find(b"PK\x01\x02")
    while i != -1:
        name_len, extra_len, comment_len = struct.unpack_from(
            "<HHH", data, i + 28)
        offsets.append((i, struct.unpack_from("<I", data, i + 42)[0]))
        i = data.find(b"PK\x01\x02", i + 46 + name_len + extra_len +
                      comment_len)
    # entries: appspec.yml, a.txt, b.txt -> b.txt's data is a.txt's
    struct.pack_into("<I", data, offsets[2][0] + 42, offsets[1][1])
    out.write_bytes(bytes(data))
    return out


CASES = {
    "name-newline": lambda ws: hb.tar_bundle(ws, [
        hb.file_info("evil\nname", b"x\n")]),
    "name-control": lambda ws: hb.tar_bundle(ws, [
        hb.file_info("red\x1b[31m", b"x\n")]),
    "name-invalid-utf8": lambda ws: hb.tar_bundle(ws, [
        hb.file_info("bad\udcff\udcfe", b"x\n")]),
    "path-too-long": lambda ws: hb.tar_bundle(ws, [
        hb.file_info("d/" * 600 + "f", b"x\n")]),
    "name-too-long": lambda ws: hb.tar_bundle(ws, [
        hb.file_info("n" * 300, b"x\n")]),
    "truncated": truncated,
    "zip-overlapping": zip_overlapping,
    "zip-duplicate-name": lambda ws: hb.zip_bundle(ws, [
        ("dup.txt", b"one\n", 0o100644), ("dup.txt", b"two\n", 0o100644)],
        name="dup.zip"),
}


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("case", sorted(CASES))
def test_more_hostile_bundles_rejected(ws, case):
    lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1")))
    before = hb.full_snapshot(ws)
    n = len(lu.events(ws))
    r = lu.deploy(ws, CASES[case](ws), app=APP)
    assert r.returncode == 65, lu.describe(r)
    assert r.stderr.startswith("hookd: "), r.stderr
    # one line, printable: a hostile name is escaped, never echoed raw
    line = r.stderr.rstrip("\n")
    assert "\n" not in line and "\x1b" not in line, repr(r.stderr)
    assert hb.full_snapshot(ws) == before
    assert ws.canary_listing() == ["sentinel"]
    assert len(lu.events(ws)) == n
    assert lu.running(ws) == "v1"


# --------------------------------------------------------------------------
# Through the daemon, with small limits in hookd.yml

def million_entries(ws, n=1_000_000):
    """A .tgz of n empty files, written as raw ustar headers (building it
    with tarfile would take minutes)."""
    out = ws.bundles / "million.tgz"

    def header(name, size=0, mode=0o644):
        h = bytearray(512)
        h[0:len(name)] = name
        h[100:108] = b"%07o\0" % mode
        h[108:116] = b"0000000\0"
        h[116:124] = b"0000000\0"
        h[124:136] = b"%011o\0" % size
        h[136:148] = b"00000000000\0"
        h[148:156] = b" " * 8
        h[156] = ord("0")
        h[257:263] = b"ustar\0"
        h[263:265] = b"00"
        h[148:156] = b"%06o\0 " % sum(h)
        return bytes(h)
    spec = hb.GOOD_APPSPEC
    # Every entry's header is the template's but for 7 name digits, so
    # its checksum is the template's plus their byte values.
    tmpl = bytearray(header(b"e/0000000"))
    blank = header(b"e/")
    base = sum(blank[:148]) + 8 * ord(" ") + sum(blank[156:])
    with gzip.open(out, "wb", compresslevel=1) as f:
        f.write(header(b"appspec.yml", len(spec)))
        f.write(spec + b"\0" * (512 - len(spec)))
        chunk = []
        for i in range(n):
            name = b"%07d" % i
            tmpl[2:9] = name
            tmpl[148:156] = b"%06o\0 " % (base + sum(name))
            chunk.append(bytes(tmpl))
            if len(chunk) == 4096:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk) + b"\0" * 1024)
    return out


def bomb(ws):
    """256 MiB of zeros in one entry: about 256 KiB of .tgz."""
    src = ws.bundles / "bomb-src"
    src.mkdir()
    (src / "appspec.yml").write_bytes(hb.GOOD_APPSPEC)
    with open(src / "zeros", "wb") as f:
        for _ in range(256):
            f.write(b"\0" * (1 << 20))
    out = lu.pack(src, ws.bundles / "bomb.tgz", "tgz")
    os.unlink(src / "zeros")
    return out


@pytest.mark.parametrize("case,limits,reason", [
    ("million-entries", {"max_bundle_entries": 1000}, "entries"),
    ("bomb", {"max_bundle_bytes": "16M"}, "bytes"),
])
def test_daemon_limits_stop_huge_bundles(ws, daemon, case, limits, reason):
    store = FileStore(ws.base)
    b = million_entries(ws) if case == "million-entries" else bomb(ws)
    sha = store.put_bundle(b)
    spool = Spool(ws.base)
    h = daemon(ws, spool_config(ws, **limits))
    m = message(store.url, sha, 1)
    t0 = time.monotonic()
    spool.send(m)

    def done():
        h.notify.drain()
        p = store.progress(m["deployment_id"])
        return p if p and p["status"] in ("Failed", "Succeeded") else None
    p = lu.wait_for(done, 120, what="the deployment's outcome")
    took = time.monotonic() - t0
    print(f"{case}: {p['status']} in {took:.1f} s: {p.get('message')}")
    assert p["status"] == "Failed", p
    # refused in DownloadBundle, before any script: progress says so
    assert p["event"] == "DownloadBundle", p
    assert [(e["event"], e["status"]) for e in p["events"]] == \
        [("DownloadBundle", "Failed")], p["events"]
    assert reason in str(p.get("message")), p
    assert took < 60, f"took {took:.1f} s"
    rd = ws.group_dir(APP, "production") / "releases"
    assert not rd.exists() or os.listdir(rd) == [], os.listdir(rd)
    assert ws.canary_listing() == ["sentinel"]
    assert h.stop() == 0
