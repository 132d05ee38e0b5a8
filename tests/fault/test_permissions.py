# SPDX-License-Identifier: ISC
"""What a hook running as a `runas` user can touch: not the state, not
the logs, not the release tree (nor `current`), unless the appspec's
permissions grant it a path.  The hook (as nobody) tries each write and
records whether it got through; only the granted one may."""
import os
import pwd

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"

pytestmark = pytest.mark.skipif(os.geteuid() != 0,
                                reason="runas needs root")

TRY_SH = r"""#!/bin/bash
G=@ROOT@/app/local
try() {
	if ( eval "$2" ) 2>/dev/null; then r=WROTE; else r=denied; fi
	echo "$r $1" >> @OUT@/perm.$LIFECYCLE_EVENT
}
try state.json "echo x >> $G/state.json"
try group-dir "touch $G/evil"
try releases-dir "touch $G/releases/evil"
try release-dir "touch $HOOKD_RELEASE_DIR/evil"
try release-file "echo x >> $HOOKD_RELEASE_DIR/VERSION"
try release-subdir "touch $HOOKD_RELEASE_DIR/scripts/evil"
try hook-script "echo x >> $HOOKD_RELEASE_DIR/scripts/try.sh"
try current "ln -sfn /tmp $G/current"
try logs-dir "touch @ROOT@/logs/evil"
try log "echo x >> @ROOT@/logs/$DEPLOYMENT_ID.log"
try root "touch @ROOT@/evil"
try granted "touch @DEST@/data/granted"
exit 0
"""

ATTEMPTS = ["state.json", "group-dir", "releases-dir", "release-dir",
            "release-file", "release-subdir", "hook-script", "current",
            "logs-dir", "log", "root"]


def test_runas_hooks_cannot_write_state_logs_or_the_release(ws):
    dest = ws.base / "opt" / "app"
    dest.parent.mkdir()
    script = (TRY_SH.replace("@ROOT@", str(ws.root))
              .replace("@OUT@", str(ws.out)).replace("@DEST@", str(dest)))
    hooks = {ev: [{"location": "scripts/try.sh", "runas": "nobody"}]
             for ev in ("BeforeInstall", "AfterInstall", "ValidateService")}
    perms = [{"object": str(dest / "data"), "owner": "nobody",
              "type": ["directory"]}]
    b = lu.make_bundle(ws, APP, {
        "appspec.yml": lu.appspec(hooks, files=[("/", str(dest))],
                                  permissions=perms),
        "scripts/try.sh": script,
        "data/seed.txt": "seed\n",
        "VERSION": "v1\n"})
    # one deployment first, so that logs/ and state.json already exist
    lu.ok(lu.deploy(ws, b))
    for f in ws.out.glob("perm.*"):
        f.unlink()
    before = ws.state_path(APP).read_bytes()
    dep, _ = lu.ok(lu.deploy(ws, b))
    nobody = pwd.getpwnam("nobody").pw_uid
    for ev in ("BeforeInstall", "AfterInstall", "ValidateService"):
        got = dict(reversed(ln.split(" ", 1)) for ln in
                   (ws.out / f"perm.{ev}").read_text().splitlines())
        wrote = sorted(k for k in ATTEMPTS if got.get(k) != "denied")
        assert wrote == [], f"{ev}: nobody could write {wrote}"
        if ev != "BeforeInstall":   # permissions apply at Install
            assert got["granted"] == "WROTE", ev
    assert os.stat(dest / "data" / "granted").st_uid == nobody
    # and nothing of nobody's landed anywhere else (each release's data/
    # is the granted object)
    rels = ws.group_dir(APP) / "releases"
    for p in [ws.root] + list(ws.root.rglob("*")):
        if p.is_symlink():
            continue
        if p.is_relative_to(rels) and \
                p.relative_to(rels).parts[1:2] == ("data",):
            continue
        assert os.stat(p).st_uid != nobody, p
    st = lu.check_state_consistent(ws, APP)
    assert st["current"]["deployment_id"] == dep
    assert ws.state_path(APP).read_bytes() != before   # hookd wrote it
    assert not list(ws.root.rglob("evil"))
