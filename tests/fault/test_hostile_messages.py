# SPDX-License-Identifier: ISC
"""Hostile deployment messages fed to `hookd run` through its spool queue,
and a flood of them.

Each hostile message must be rejected with a logged reason (the spool's
failed/ keeps it with a .reason file), nothing from it may reach a shell
(the `$(touch FILE)` and backtick payloads must never create their file),
nothing may run, and the daemon must go on serving: a good message sent
afterwards succeeds.  Text fields that are allowed to hold anything
(revision.ref, created_by) carry the same payloads in a valid message,
which runs: the payload stays inert data.

The flood: 1,000 messages queued before the daemon starts, of which the
sequence rule lets exactly three run; the rest are acknowledged unrun,
within a bounded time and with flat memory."""
import datetime
import json
import os
import time

import pytest

from daemon_util import (APP, GROUP, FileStore, Spool, daemon,  # noqa: F401
                         message, new_id, spool_config)
from lifecycle_util import app_bundle, events, wait_for, ws  # noqa: F401

KEY = b"hostile-test-key-0123456789abcdef"


def prepare(ws):
    store = FileStore(ws.base)
    sha = store.put_bundle(app_bundle(ws, "v1", fmt="tgz"))
    return store, Spool(ws.base), sha


def payloads(ws):
    """Shell payloads and the files they would create if run."""
    out = []
    for i, tmpl in enumerate(["$(touch {f})", "`touch {f}`", "; touch {f}",
                              "| touch {f}", "&& touch {f} #",
                              "'\"$(touch {f})\"'"]):
        f = ws.out / f"pwned{i}"
        out.append((tmpl.format(f=f), f))
    return out


def hostile_bodies(ws, store, sha):
    """[(what, body bytes)], each to be rejected."""
    good = message(store.url, sha, 1)
    bodies = []

    def variant(what, **changes):
        m = json.loads(json.dumps(good))
        for k, v in changes.items():
            if "." in k:
                a, b = k.split(".")
                m[a][b] = v
            elif v is None:
                del m[k]
            else:
                m[k] = v
        bodies.append((what, json.dumps(m).encode()))

    for n, (p, _) in enumerate(payloads(ws)):
        variant(f"shell in deployment_id {n}", deployment_id="d-" + p)
        variant(f"shell in application {n}", application=p)
        variant(f"shell in group {n}", group=p)
        variant(f"shell in location {n}",
                **{"revision.location": f"{store.url}/revisions/{APP}/"
                   f"{p}.tar.gz"})
        variant(f"shell in commit {n}", **{"revision.commit": p})
        variant(f"shell in sha256 {n}", **{"revision.sha256": p})
    variant("unknown schema", schema="hookd.deployment/2")
    variant("no schema", schema=None)
    variant("sequence as string", sequence="1")
    variant("sequence negative", sequence=-1)
    variant("sequence float", sequence=1.5)
    variant("sequence huge", sequence=2 ** 70)
    variant("revision as list", revision=[1, 2])
    variant("deployment_id as number", deployment_id=12345)
    variant("application null", application=None)
    variant("format unknown", **{"revision.format": "rar"})
    variant("location elsewhere",
            **{"revision.location": "file:///etc/passwd"})
    variant("location dotdot",
            **{"revision.location": f"{store.url}/revisions/../../x"})
    bodies.append(("not json", b"{not json"))
    bodies.append(("empty", b""))
    bodies.append(("nul bytes", json.dumps(good).encode()[:20] + b"\0" * 8))
    bodies.append(("invalid utf-8",
                   json.dumps(good).encode().replace(b"test@host",
                                                     b"\xff\xfe\xc0\xaf")))
    bodies.append(("deeply nested", b"[" * 100000 + b"]" * 100000))
    nested = json.loads(json.dumps(good))
    nested["created_by"] = None
    deep = "x"
    for _ in range(200):
        deep = {"d": deep}
    nested["extra"] = deep
    bodies.append(("deep extra field", json.dumps(nested).encode()))
    big = json.loads(json.dumps(good))
    big["created_by"] = "x" * (300 * 1024)
    bodies.append(("oversized", json.dumps(big).encode()))
    bodies.append(("array root", b"[]"))
    bodies.append(("duplicate keys", json.dumps(good).encode()[:-1] +
                   b', "sequence": 99}'))
    return bodies


def signed_bodies(ws, store, sha):
    """Signature trouble, for a daemon with message_key_file set."""
    out = []
    m = message(store.url, sha, 1, key=KEY)
    out.append(("wrong key", json.dumps(
        message(store.url, sha, 1, key=b"another key")).encode()))
    nosig = dict(m)
    del nosig["signature"]
    out.append(("no signature", json.dumps(nosig).encode()))
    short = dict(m, signature=m["signature"][:32])
    out.append(("short signature", json.dumps(short).encode()))
    flipped = dict(m, signature=("0" if m["signature"][0] != "0" else "1") +
                   m["signature"][1:])
    out.append(("one digit off", json.dumps(flipped).encode()))
    tampered = dict(m, sequence=7)
    out.append(("tampered after signing", json.dumps(tampered).encode()))
    out.append(("signature not a string",
                json.dumps(dict(m, signature=1234)).encode()))
    return out


def draining(h, cond):
    """cond, after reading the daemon's sd_notify datagrams: a test that
    does not read them lets the socket fill, and then sd_notify() blocks
    the daemon (as a wedged systemd would)."""
    def f():
        h.notify.drain()
        return cond()
    return f


def check_rejected(ws, h, spool, bodies, keyed=False):
    n0 = len(events(ws))
    for _, body in bodies:
        spool.send(body)
    want = 2 * len(bodies)
    wait_for(draining(h, lambda: len(spool.names("failed")) >= want), 120,
             what=f"{len(bodies)} messages in failed/ with reasons")
    wait_for(draining(h, spool.empty), 30, what="the queue to drain")
    assert len(spool.names("failed")) == want
    reasons = spool.failed_reasons()
    assert len(reasons) == len(bodies)
    assert all(r.strip() for r in reasons)
    err = h.stderr()
    # every reason is in the log too
    # (quoting may differ between the two: compare up to the first quote)
    for r in reasons:
        head = r.strip().split("'")[0][:60]
        assert head and head in err, f"not logged: {r!r}"
    assert len(events(ws)) == n0, "a rejected message ran hooks"
    for _, f in payloads(ws):
        assert not f.exists(), f"{f} was created: a shell ran"


def test_hostile_messages_are_rejected_and_nothing_runs(ws, daemon):
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws))
    bodies = hostile_bodies(ws, store, sha)
    check_rejected(ws, h, spool, bodies)
    # free-text fields hold the payloads in a valid message: inert
    ok = message(store.url, sha, 1)
    ok["revision"]["ref"] = payloads(ws)[0][0]
    ok["created_by"] = payloads(ws)[1][0]
    spool.send(ok)
    wait_for(draining(h, lambda: (store.progress(ok["deployment_id"]) or {})
                      .get("status") == "Succeeded"), 120,
             what="the good message")
    for _, f in payloads(ws):
        assert not f.exists(), f"{f} was created: a shell ran"
    assert h.proc.poll() is None
    print(f"{len(bodies)} hostile messages rejected")
    assert h.stop() == 0


def test_bad_signatures_are_rejected(ws, daemon):
    keyfile = ws.base / "msg.key"
    keyfile.write_bytes(KEY)
    os.chmod(keyfile, 0o600)
    store, spool, sha = prepare(ws)
    h = daemon(ws, spool_config(ws, message_key_file=str(keyfile)))
    bodies = signed_bodies(ws, store, sha)
    check_rejected(ws, h, spool, bodies)
    good = message(store.url, sha, 2, key=KEY)
    spool.send(good)
    wait_for(draining(h, lambda: (store.progress(good["deployment_id"]) or
                                  {}).get("status") == "Succeeded"), 120,
             what="the signed message")
    assert h.stop() == 0


def test_a_key_file_others_can_read_is_refused(ws, daemon):
    from conftest import binary, run
    keyfile = ws.base / "msg.key"
    keyfile.write_bytes(KEY)
    cfg = ws.base / "k.yml"
    from daemon_util import write_config
    write_config(cfg, **spool_config(ws, message_key_file=str(keyfile)))
    # readable or writable by group or others: refused
    for mode in (0o644, 0o604, 0o640, 0o620, 0o602):
        os.chmod(keyfile, mode)
        r = run([binary("hookd"), "run", "-n", "-c", str(cfg)])
        assert r.returncode == 78, (oct(mode), r.stdout, r.stderr)
        assert "msg.key" in r.stderr, r.stderr
    # owned by someone else: refused too
    os.chmod(keyfile, 0o600)
    os.chown(keyfile, 65534, -1)
    r = run([binary("hookd"), "run", "-n", "-c", str(cfg)])
    assert r.returncode == 78, (r.stdout, r.stderr)
    os.chown(keyfile, 0, -1)
    os.chmod(keyfile, 0o600)
    r = run([binary("hookd"), "run", "-n", "-c", str(cfg)])
    assert r.returncode == 0, r.stderr


# --------------------------------------------------------------------------
# The flood

FLOOD = int(os.environ.get("HOOKD_FAULT_FLOOD", "1000"))


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_a_flood_of_messages_runs_only_what_the_sequence_rule_allows(
        ws, daemon):
    store, spool, sha = prepare(ws)
    # Named so the spool hands them out in this order (oldest name first):
    # sequences 500, 700 and 900 run, everything else is below what is
    # installed by then, or a repeat of a finished deployment.
    runs = {0: 500, FLOOD // 2: 700, FLOOD - 1: 900}
    ids = {}
    for sub in ("tmp", "new", "cur", "failed"):
        (spool.dir / sub).mkdir(parents=True, exist_ok=True)
    for i in range(FLOOD):
        if i in runs:
            m = message(store.url, sha, runs[i])
            ids[runs[i]] = m["deployment_id"]
        elif i % 7 == 0 and ids:
            m = message(store.url, sha, 500, dep_id=ids[500])
        else:
            m = message(store.url, sha, (i % 499) + 1)
        name = f"m{i:05d}"
        (spool.dir / "tmp" / name).write_text(json.dumps(m))
        os.rename(spool.dir / "tmp" / name, spool.dir / "new" / name)
    t0 = time.monotonic()
    # Under ASan, freed memory waits in a 256 MiB quarantine: keep it
    # small so that RSS shows what the daemon holds, as without ASan.
    asan = os.environ.get("ASAN_OPTIONS", "detect_leaks=1")
    h = daemon(ws, spool_config(ws), env={
        "ASAN_OPTIONS": asan + ":quarantine_size_mb=4"})
    wait_for(draining(h, lambda: (store.progress(ids[500]) or {})
                      .get("status") == "Succeeded"), 120,
             what="the first deployment")
    rss0 = rss_kb(h.pid())
    wait_for(draining(h, spool.empty), 300, interval=0.05,
             what="the flood to drain")
    took = time.monotonic() - t0
    wait_for(draining(h, lambda: (store.progress(ids[900]) or {})
                      .get("status") == "Succeeded"), 60,
             what="the last deployment")
    rss1 = rss_kb(h.pid())
    st = ws.state(APP, GROUP)
    hist = st["history"]
    ran = sorted(x["sequence"] for x in hist)
    print(f"flood of {FLOOD}: drained in {took:.1f} s; ran {ran}; "
          f"RSS {rss0} kB after the first run, {rss1} kB at the end")
    assert ran == [500, 700, 900], hist
    assert all(x["status"] == "Succeeded" for x in hist)
    assert st["current"]["sequence"] == 900
    assert spool.names("failed") == []
    # each run's hooks ran once
    assert [e[0] for e in events(ws)].count("ValidateService") == 3
    assert rss1 - rss0 < 64 * 1024, f"RSS grew from {rss0} to {rss1} kB"
    assert h.stop() == 0
