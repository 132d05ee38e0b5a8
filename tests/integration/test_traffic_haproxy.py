# SPDX-License-Identifier: ISC
"""Traffic control against a real HAProxy: three daemons of
appspec-examples/static-site behind it, a load generator of about 200
requests/s hitting it during a OneAtATime `deployer production HEAD`.
With the traffic: block every instance is drained before its app stops
and readied only once its check passes: no request fails, also when
ValidateService fails on the second instance and it is rolled back.
Without traffic control (deployer --no-traffic-control) requests fail,
so the first two tests could fail.
"""
import re
import shutil

import pytest

from daemon_util import daemon  # noqa: F401
from lifecycle_util import ws  # noqa: F401
from deployer_util import DEP_ID, dep_id  # noqa: F401
from traffic_util import GROUP, SiteFleet

pytestmark = pytest.mark.skipif(shutil.which("haproxy") is None and
                                not shutil.os.path.exists(
                                    "/usr/sbin/haproxy"),
                                reason="haproxy is not installed "
                                "(scripts/deps.sh)")


FAIL_ON_MARK = """#!/bin/bash
# ValidateService of this test: fail on a host that has the mark.
set -euo pipefail
. "$(dirname "$0")/env.sh"
if [ -f "$GROUP_DIR/fail-validate" ]; then
	echo "validate: failing on purpose on this host" >&2
	exit 3
fi
exec bash "$(dirname "$0")/validate.sh"
"""


@pytest.fixture
def fleet(ws, daemon):
    made = []

    def make(**kw):
        f = SiteFleet(ws, daemon, **kw)
        made.append(f)
        f.wait_registered()
        return f
    yield make
    for f in made:
        f.close()


def first_install(f):
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    f.wait_all_up()
    return dep_id(r.stdout)


def events(f, did, nm):
    return [(e["event"], e["status"], e.get("rollback", False))
            for e in f.progress(did, nm)["events"]]


def test_rollout_under_load_fails_no_request(fleet):
    f = fleet()
    d1 = first_install(f)
    # First install: nothing to block, allowed once its check passed.
    ev = events(f, d1, "i-1")
    assert ("BlockTraffic", "Skipped", False) in ev
    assert ("AllowTraffic", "Succeeded", False) in ev
    f.commit_version("v2")
    load = f.start_load(rate=200)
    r = f.deployer(GROUP, "HEAD")
    res = f.stop_load(load)
    assert r.returncode == 0, r.stdout + r.stderr
    assert res["failed"] == 0, res
    assert res["served"] > 200, res
    did = dep_id(r.stdout)
    for nm in f.names:
        assert f.current_version(nm) == "v2"
        names = [e[0] for e in events(f, did, nm)]
        # CodeDeploy's order: out of traffic before the app stops, back
        # in after ValidateService.
        assert names.index("BlockTraffic") < names.index("ApplicationStop")
        assert names.index("ValidateService") < \
            names.index("AllowTraffic")
        log = f.deploy_log(nm, did)
        assert f"draining: HAProxy web/{nm}: " in log
        assert f"waiting for healthy: HAProxy web/{nm}: UP" in log
    assert all(st == "UP" for st, _ in f.stat().values())


def test_failed_validate_on_the_second_rolls_back_without_failures(fleet):
    f = fleet()
    first_install(f)
    f.commit_version("v2", {"scripts/validate_or_mark.sh": FAIL_ON_MARK})
    spec = (f.repo / "appspec.yml").read_text()
    (f.repo / "appspec.yml").write_text(spec.replace(
        "scripts/validate.sh", "scripts/validate_or_mark.sh"))
    f.git("commit", "-qam", "validate_or_mark")
    (f.group_dir("i-2") / "fail-validate").touch()
    load = f.start_load(rate=200)
    r = f.deployer(GROUP, "HEAD")
    res = f.stop_load(load)
    assert r.returncode == 1, r.stdout + r.stderr
    assert res["failed"] == 0, res
    did = dep_id(r.stdout)
    ev = events(f, did, "i-2")
    assert ("ValidateService", "Failed", False) in ev
    # the old release restarted, then back in traffic once healthy
    assert ("AllowTraffic", "Succeeded", True) in ev
    assert f.current_version("i-2") == "v1"
    f.wait_all_up()


def test_without_traffic_control_requests_fail(fleet):
    f = fleet()
    first_install(f)
    f.commit_version("v2")
    load = f.start_load(rate=200)
    r = f.deployer("--no-traffic-control", GROUP, "HEAD")
    res = f.stop_load(load)
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    assert "BlockTraffic" not in [e[0] for e in events(f, did, "i-1")]
    assert res["failed"] > 0, res
