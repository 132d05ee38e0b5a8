# SPDX-License-Identifier: ISC
"""Deployment logs follow retention: ROOT/logs keeps the logs of
the newest keep_releases deployments of a group and of its live and
rollback releases, never another group's, and a chatty hook cannot make a
log grow without bound."""
import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"


def logs(ws):
    d = ws.root / "logs"
    return {p.stem for p in d.glob("*.log")} if d.exists() else set()


def test_logs_beyond_keep_releases_are_removed(ws):
    ids = [lu.ok(lu.deploy(ws, lu.app_bundle(ws, f"v{i}"), keep=2))[0]
           for i in range(1, 6)]
    assert logs(ws) == {ids[3], ids[4]}


def test_a_failed_deployment_keeps_the_live_releases_log(ws):
    ids = [lu.ok(lu.deploy(ws, lu.app_bundle(ws, "v1"), keep=1))[0]]
    for v in ("v2", "v3", "v4"):
        ids.append(lu.failed(lu.deploy(
            ws, lu.app_bundle(ws, v, fail=["AfterInstall"]), keep=1))[0])
    # v1 is still live: its log stays although three deployments are newer
    assert ws.current(APP).name == f"1-{ids[0]}"
    assert logs(ws) == {ids[0], ids[3]}


def test_another_groups_logs_are_left_alone(ws):
    other = lu.ok(lu.deploy(ws, lu.app_bundle(ws, "o1"), group="other"))[0]
    for i in range(1, 5):
        lu.ok(lu.deploy(ws, lu.app_bundle(ws, f"v{i}"), keep=1))
    assert other in logs(ws)
