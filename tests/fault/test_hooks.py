# SPDX-License-Identifier: ISC
"""Hooks that misbehave: a fork bomb, a hook that closes its output and
keeps running, a hook that ignores SIGTERM itself, a hook that writes far
more output than anyone will read.  Each must end in one clear outcome
within its timeout, leave no process behind, and not fill the disk.

Already covered elsewhere, not repeated here (tests/integration/
test_deploy_local.py): a timed-out hook's whole process group is killed,
a child ignoring SIGTERM is SIGKILLed, a background child holding stdout
does not hang the deployment, 20 MB of output yields a bounded report."""
import os
import time

import pytest

import lifecycle_util as lu
from lifecycle_util import ws  # noqa: F401  (fixture)

APP = "app"

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="runas needs root")


def one_hook(ws, event, script, timeout=10, runas=None, name="x.sh"):
    h = {"location": f"scripts/{name}", "timeout": timeout}
    if runas is not None:
        h["runas"] = runas
    return lu.make_bundle(ws, APP, {
        "appspec.yml": lu.appspec({event: [h]}),
        "scripts/" + name: script})


def timed_deploy(ws, b, timeout=120):
    t0 = time.monotonic()
    r = lu.deploy(ws, b, timeout=timeout)
    return r, time.monotonic() - t0


# The bomb only goes off when a process limit is in place (a bomb with no
# limit would take the whole test machine down); otherwise it reports
# "unlimited" and exits, and the test fails on that.
BOMB_SH = r"""#!/bin/bash
lim=$(ulimit -u)
echo "$lim" > @OUT@/nproc
case "$lim" in
unlimited) exit 0 ;;
esac
[ "$lim" -le 4096 ] || exit 0
bomb() { bomb | bomb & }
bomb
sleep 60
"""


@needs_root
def test_fork_bomb_of_a_runas_hook_is_bounded(ws):
    b = one_hook(ws, "BeforeInstall",
                 BOMB_SH.replace("@OUT@", str(ws.out)), timeout=3,
                 runas="nobody")
    r, took = timed_deploy(ws, b)
    lim = (ws.out / "nproc").read_text().strip()
    assert lim != "unlimited" and int(lim) <= 4096, \
        f"the hook ran with RLIMIT_NPROC {lim}"
    _, _, reason = lu.failed(r)
    assert "timed out after 3 s" in reason, reason
    assert took < 60, f"took {took:.1f} s"
    lu.wait_for(lambda: lu.procs_under(ws.base) == [], timeout=20,
                what="the bomb's processes to be gone")


def test_hook_that_closes_stdout_and_keeps_running_times_out(ws):
    script = """#!/bin/bash
echo "closing my output now"
exec >&- 2>&- </dev/null
sleep 120
"""
    r, took = timed_deploy(ws, one_hook(ws, "BeforeInstall", script,
                                        timeout=2))
    _, _, reason = lu.failed(r)
    assert "timed out after 2 s" in reason, reason
    assert "  closing my output now" in r.stdout.splitlines()
    assert took < 30, f"took {took:.1f} s"
    assert lu.procs_under(ws.base) == []
    lu.check_state_consistent(ws, APP)


def test_hook_that_closes_stdout_is_still_waited_for(ws):
    """End of output is not the end of the hook: its exit status, which
    comes later, decides."""
    script = f"""#!/bin/bash
exec >&- 2>&-
sleep 1
touch {ws.out}/finished
exit 5
"""
    r, _ = timed_deploy(ws, one_hook(ws, "BeforeInstall", script))
    _, _, reason = lu.failed(r)
    assert "5" in reason, reason
    assert (ws.out / "finished").exists()


def test_hook_that_ignores_sigterm_itself_is_killed(ws):
    pid = ws.out / "self.pid"
    script = f"""#!/bin/bash
trap '' TERM
echo $$ > {pid}
while :; do sleep 0.2; done
"""
    r, took = timed_deploy(ws, one_hook(ws, "AfterInstall", script,
                                        timeout=1))
    _, _, reason = lu.failed(r)
    assert "timed out after 1 s" in reason, reason
    assert not lu.pid_alive(int(pid.read_text()))
    assert took < 40, f"took {took:.1f} s"
    assert lu.procs_under(ws.base) == []


# 64 MiB stands in for "gigabytes": enough to show whether the log is
# capped, small enough for a shared test machine.
LOUD_MB = 64
# hookd's cap on script output (tail included) plus the 1 MiB it keeps
# for its own lines after the cap (lib/caps.h DEPLOYLOG_*).
LOG_CAP = (16 + 1) << 20


def test_gigabytes_of_output_do_not_fill_the_disk(ws):
    script = f"""#!/bin/bash
head -c {LOUD_MB << 20} /dev/zero | tr '\\0' y | fold -w 4000
echo "the last words"
"""
    r, took = timed_deploy(ws, one_hook(ws, "BeforeInstall", script,
                                        timeout=300), timeout=300)
    dep, _ = lu.ok(r)
    log = ws.root / "logs" / f"{dep}.log"
    size = log.stat().st_size
    print(f"{LOUD_MB} MiB of output: log {size} bytes, {took:.1f} s")
    assert size <= LOG_CAP, f"log is {size} bytes"
    assert "the last words" in log.read_text()[-65536:]
