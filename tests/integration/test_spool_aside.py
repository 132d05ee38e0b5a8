# SPDX-License-Identifier: ISC
"""Messages the spool sets aside by itself (too large, delivered too
often, a file name that is not a spool name) never reach the daemon's
message checks, so the spool reports each through queue_on_aside() and
`hookd run` logs it at warning level with the file and the reason; the
next valid message is still served."""
import os

from daemon_util import (FileStore, Spool, daemon, message,  # noqa: F401
                         spool_config)
from lifecycle_util import app_bundle, wait_for, ws  # noqa: F401

BODY_MAX = 256 * 1024


def drop(spool, name, body):
    """Write a file into new/ as an outside writer must (tmp/, rename)."""
    for sub in ("tmp", "new", "cur", "failed"):
        (spool.dir / sub).mkdir(parents=True, exist_ok=True)
    tmp = spool.dir / "tmp" / name
    tmp.write_bytes(body)
    os.rename(tmp, spool.dir / "new" / name)


def test_set_asides_are_logged_and_the_next_message_is_served(ws, daemon):
    store = FileStore(ws.base)
    sha = store.put_bundle(app_bundle(ws, "v1", fmt="tgz"))
    spool = Spool(ws.base)
    # At log_level warning only warnings and errors are printed.
    h = daemon(ws, spool_config(ws, log_level="warning"))

    big = spool.send(b"{" + b" " * (BODY_MAX + 10) + b"}")
    drop(spool, "garbage file.txt", b"\x00\x01 not json at all")
    drop(spool, "e0d5c1a4d9e04b4d8f5c2f0e0b8a7c61,10", b"{}")
    h.wait_log(r"set aside as failed/e0d5c1a4d9e04b4d8f5c2f0e0b8a7c61,11")
    h.wait_log(r"message file 'new/garbage file.txt' set aside")
    h.wait_log(rf"message file 'new/{big}' set aside")
    err = h.stderr()
    lines = [ln for ln in err.splitlines() if "set aside" in ln]
    assert len(lines) == 3, lines

    def line_of(needle):
        (ln,) = [x for x in lines if needle in x]
        return ln

    ln = line_of(big)
    assert (f"message file 'new/{big}' set aside as failed/{big},1: "
            f"message is {BODY_MAX + 12} bytes; the limit is {BODY_MAX}"
            ) in ln, ln
    assert ("message file 'new/garbage file.txt' set aside as "
            "failed/garbage file.txt: not a spool file name") in \
        line_of("garbage")
    assert ("set aside as failed/e0d5c1a4d9e04b4d8f5c2f0e0b8a7c61,11: "
            "delivered 10 times without being deleted") in \
        line_of("e0d5c1a4d9e04b4d8f5c2f0e0b8a7c61")
    # All three are in failed/ with their reasons; none was run.
    assert len(spool.failed_reasons()) == 3
    assert not (ws.out / "events").exists()

    # The daemon goes on: the next valid message is run.
    m = message(store.url, sha, 1)
    spool.send(m)

    def done():
        p = store.progress(m["deployment_id"])
        return p if p is not None and p["status"] == "Succeeded" else None
    wait_for(done, 60, what="the valid deployment to succeed")
    wait_for(spool.empty, 10, what="the message to be deleted")
    # Set-asides are not messages the daemon rejected.
    assert "rejected" not in h.stderr()
    assert h.stop() == 0


def test_an_unparsable_message_is_rejected_with_its_reason(ws, daemon):
    """A well-named file whose body is not a deployment message reaches
    the daemon, which rejects it with the reason (not a set-aside)."""
    spool = Spool(ws.base)
    h = daemon(ws, spool_config(ws, log_level="info"))
    mid = spool.send(b"this is not JSON")
    h.wait_log(rf"message {mid} rejected \(delivery 1\): ")
    assert "set aside" not in h.stderr()
    wait_for(lambda: len(spool.failed_reasons()) == 1, 10,
             what="the message in failed/")
    assert h.stop() == 0
