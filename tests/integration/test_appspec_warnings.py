# SPDX-License-Identifier: ISC
"""What CodeDeploy accepts but ignores, end to end: a bundle whose appspec
has warnings deploys (the deployer prints them before uploading; the
instance's deployment log and progress document carry them); strict:
true in deployer.yml refuses it before anything is uploaded; and a bad
deployer.yml reports every error at once, with "did you mean"."""
import re

from daemon_util import daemon  # noqa: F401
from deployer_util import GROUP, Fleet
from lifecycle_util import ws  # noqa: F401

DEP_ID = re.compile(r"deployment (d-[A-Z0-9]{9}) \(sequence (\d+)\)")

# The worker example with two things CodeDeploy ignores: a typo'd event
# (its script never runs) and overwrite: in a hook entry's neighbour.
WARNED = """\
version: 0.0
os: linux
hooks:
  ApplicationStop:
    - location: scripts/stop_worker.sh
      timeout: 30
  ApplicationStart:
    - location: scripts/start_worker.sh
      timeout: 30
      commands: [echo never]
  ValidateService:
    - location: scripts/check_heartbeat.sh
      timeout: 30
  AfterInstal:
    - location: scripts/start_worker.sh
"""


def test_a_deployment_with_warnings_runs_and_says_so(ws, daemon):
    f = Fleet(ws, daemon, n=1)
    f.wait_registered(list(f.daemons))
    f.commit("typos CodeDeploy ignores", {"appspec.yml": WARNED})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    warnings = [line for line in r.stderr.splitlines()
                if line.startswith("warning: ")]
    assert len(warnings) == 2, r.stderr
    assert re.match(r"warning: HEAD \(\w+\):appspec\.yml:10:7: "
                    r"hooks\.ApplicationStart\[0\]\.commands: ignored",
                    warnings[0]), warnings[0]
    assert "appspec.yml:14:3: hooks.AfterInstal: unknown lifecycle event" \
        in warnings[1] and "did you mean 'AfterInstall'?" in warnings[1]
    did = DEP_ID.search(r.stdout).group(1)
    p = f.progress(did, "i-1")
    assert p["status"] == "Succeeded"
    assert len(p["warnings"]) == 2
    assert p["warnings"][1].startswith("appspec.yml:14:3: "
                                       "hooks.AfterInstal: unknown")
    log = (f.root("i-1") / "logs" / f"{did}.log").read_text()
    assert "warning: appspec.yml:10:7: hooks.ApplicationStart[0]." \
        "commands: ignored" in log
    assert "warning: appspec.yml:14:3: hooks.AfterInstal" in log
    assert f.current_version("i-1") == "1.0.0"


def test_strict_deployer_yml_refuses_before_uploading(ws, daemon):
    f = Fleet(ws, daemon, n=1)
    f.wait_registered(list(f.daemons))
    yml = (f.repo / "deployer.yml").read_text()
    f.commit("strict, and a typo", {
        "deployer.yml": yml.replace("groups:\n", "strict: true\ngroups:\n"),
        "appspec.yml": WARNED})
    before = sorted(p.name for p in f.store_dir.rglob("*"))
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 65, r.stdout + r.stderr
    assert "has 2 warnings and deployer.yml sets strict: true; nothing " \
        "was uploaded" in r.stderr
    assert sum(line.startswith("warning: ")
               for line in r.stderr.splitlines()) == 2
    assert sorted(p.name for p in f.store_dir.rglob("*")) == before


def test_a_bad_deployer_yml_reports_every_error(ws, daemon):
    f = Fleet(ws, daemon, n=0)
    yml = (f.repo / "deployer.yml").read_text()
    (f.repo / "deployer.yml").write_text(
        yml.replace("queue_prefix:", "queue_prefx:")
        .replace("application:", "aplication:") + "strct: true\n")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 78, r.stderr
    lines = r.stderr.splitlines()
    assert "deployer: deployer.yml" not in lines[0]
    assert any(line.endswith("aplication: unknown key (did you mean "
                             "'application'?)") for line in lines)
    assert any(line.endswith("queue_prefx: unknown key (did you mean "
                             "'queue_prefix'?)") for line in lines)
    assert any(line.endswith("strct: unknown key (did you mean 'strict'?)")
               for line in lines)
    assert any(line.endswith("application: missing (required)")
               for line in lines)
    assert re.search(r"deployer: '.*deployer\.yml' is not valid \(4 "
                     r"errors\)$", lines[-1]), lines[-1]
    # In file order (line, then column), as hookd.yml's and appspec's.
    pos = [tuple(int(x) for x in
                 re.search(r"deployer\.yml:(\d+):(\d+): ", line).groups())
           for line in lines[:-1]]
    assert len(pos) == 4 and pos == sorted(pos), lines
