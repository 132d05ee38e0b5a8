# SPDX-License-Identifier: ISC
"""`hookd run` on SQS and S3 (moto) through a proxy that fails 10% of the
requests in assorted ways (tests/fault/flaky_proxy.py: 500, 503,
throttling, a reset before the reply, a reply cut in the middle, a delay),
with a seeded RNG.  Deployments are sent one after the other, alternating
two revisions; each must reach a terminal outcome (Succeeded or Failed)
in the store, and none may run twice: every release directory saw its
hooks once, and no deployment is twice in the history.

HOOKD_FAULT_FLAKY_N deployments (default 6 so that make check stays
bounded; the issue's 200 is HOOKD_FAULT_FLAKY_N=200), HOOKD_FAULT_SEED."""
import collections
import os
import subprocess
import sys

import pytest

import test_daemon_sqs as tds
from daemon_util import APP, GROUP, daemon, message  # noqa: F401
from lifecycle_util import app_bundle, events, wait_for, ws  # noqa: F401

pytestmark = pytest.mark.usefixtures("moto")

N = int(os.environ.get("HOOKD_FAULT_FLAKY_N", "6"))
SEED = int(os.environ.get("HOOKD_FAULT_SEED", "1009"))
RATE = 0.1
HERE = os.path.dirname(os.path.abspath(__file__))


class FlakyProxy:
    def __init__(self, upstream, logfile):
        self.log = open(logfile, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-u", os.path.join(HERE, "flaky_proxy.py"),
             upstream, str(RATE), str(SEED)], stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=self.log, start_new_session=True)
        line = self.proc.stdout.readline().decode().split()
        assert len(line) == 2 and line[0] == "READY", "flaky proxy failed"
        self.url = f"http://127.0.0.1:{line[1]}"

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()


@pytest.fixture
def flaky(moto, ws):
    p = FlakyProxy(moto.url, ws.base / "flaky-proxy.log")
    yield p
    p.stop()


def test_deployments_through_a_flaky_network_end_once_each(ws, moto, flaky,
                                                           daemon):
    fleet = tds.Fleet(moto, lambda url: flaky, ws)
    shas = [fleet.upload(app_bundle(ws, v, fmt="tgz", name=APP))
            for v in ("v1", "v2")]
    h = daemon(ws, fleet.config(poll_wait=1),
               env=fleet.env())
    outcomes = collections.Counter()
    ids = []
    for i in range(N):
        m = message(fleet.store, shas[i % 2], i + 1)
        ids.append(m["deployment_id"])
        fleet.sqs.send_message(QueueUrl=fleet.queue_url(),
                               MessageBody=tds.json.dumps(m))

        def terminal():
            h.notify.drain()
            p = fleet.progress(m["deployment_id"])
            return p if p and p["status"] in ("Succeeded", "Failed") \
                else None
        p = wait_for(terminal, 180, interval=0.2,
                     what=f"deployment {i + 1} of {N} to end")
        outcomes[p["status"]] += 1
    wait_for(fleet.empty, 120, interval=0.5, what="the queue to drain")
    assert h.proc.poll() is None, "hookd died"
    # none ran twice: each release's hooks once, each id once in history
    starts = collections.Counter(rel for ev, _, rel in events(ws)
                                 if ev == "BeforeInstall")
    twice = [r for r, n in starts.items() if n > 1]
    assert not twice, f"ran twice: {twice}"
    st = ws.state(APP, GROUP)
    hist = [x["deployment_id"] for x in st["history"]]
    assert len(hist) == len(set(hist)), st["history"]
    print(f"{N} deployments through {RATE:.0%} faults (seed {SEED}): "
          f"{dict(outcomes)}")
    assert sum(outcomes.values()) == N
    assert h.stop() == 0
