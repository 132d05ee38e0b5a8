# SPDX-License-Identifier: ISC
"""Rollout gates: `deployer` with a canary, a bake, CloudWatch
alarms, a health_check and SNS notices, against three real `hookd run`
daemons (file store, spool queues) and moto_server (signatures checked)
for CloudWatch and SNS.  Alarm states are set with SetAlarmState, which
moto keeps; notices are read from an SQS queue subscribed to the topic.
"""
import json
import re
import time
import uuid

from daemon_util import daemon  # noqa: F401
from deployer_util import APP, GROUP, Fleet, deployer_on_pty, deployer_yml
from deployer_util import DEP_ID, dep_id  # noqa: F401
from lifecycle_util import wait_for, ws  # noqa: F401
from test_aws_cloudwatch_sns import subscribed_queue



def uniq(what):
    return f"{what}-{uuid.uuid4().hex[:8]}"


class GateFleet:
    """A Fleet whose deployer talks to moto for CloudWatch and SNS."""

    def __init__(self, ws, daemon, moto, **kw):
        self.f = Fleet(ws, daemon, **kw)
        self.f.wait_registered(list(self.f.daemons))
        self.f.env = moto.env()
        self.moto = moto
        self.cw = moto.client("cloudwatch")

    def alarm(self, name, state, reason="set by the test"):
        self.cw.put_metric_alarm(
            AlarmName=name, MetricName="5xx", Namespace="web",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanThreshold")
        self.cw.set_alarm_state(AlarmName=name, StateValue=state,
                                StateReason=reason)

    def configure(self, version, **group):
        """Commit VERSION and a deployer.yml whose group has these keys."""
        yml = deployer_yml(self.f.store, self.f.queue, {GROUP: group},
                           self.f.prefix, "us-east-1")
        return self.f.commit(f"worker {version}", {
            "VERSION": f"{version}\n", "deployer.yml": yml})


def canary(bake, then="AllAtOnce"):
    return f"{{canary: 1, bake: {bake}, then: {then}}}"


def gate_entries(d, gate):
    return [e for e in d.get("gates", []) if e["gate"] == gate]


def canary_of(d):
    return [i["instance"] for i in d["instances"] if i["batch"] == 0][0]


def test_alarm_during_canary_bake_stops_and_rolls_back(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    a = uniq("web-5xx")
    g.alarm(a, "OK")
    g.configure("1.0.0", deployment_config=canary(0), alarms=f"[{a}]",
                gate_interval=1, auto_rollback="[failure, alarm]")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    topic, url = subscribed_queue(moto)
    g.configure("2.0.0", deployment_config=canary(60), alarms=f"[{a}]",
                gate_interval=1, auto_rollback="[failure, alarm]",
                notify=topic)
    p = f.popen_deployer(GROUP, "HEAD")
    # The canary got 2.0.0 and bakes: then the alarm goes off.
    bad = wait_for(lambda: (f.target() or {}).get("deployment_id")
                   if f.target()["deployment_id"] != good else None,
                   30, what="the second deployment's target")
    wait_for(lambda: (f.deployment(bad) or {}).get("bake"), 60,
             what="the canary's bake")
    st = f.deployer("status", bad)
    assert re.search(r"baking canary: \d+ s left, alarms OK", st.stdout), \
        st.stdout
    g.alarm(a, "ALARM", "Threshold Crossed: 5xx 7 > 1")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1, out + err
    d = f.deployment(bad)
    assert d["status"] == "Stopped"
    assert d["reason"] == f"alarm {a} is ALARM: Threshold Crossed: 5xx 7 > 1"
    assert f"deployment {bad} was stopped by the alarms gate: alarm {a} " \
        f"is ALARM: Threshold Crossed: 5xx 7 > 1; rolled back by " in err
    # Stopped before batch 2: the others never heard of 2.0.0.
    assert [b["sent_at"] is not None for b in d["batches"]] == [True, False]
    first = canary_of(d)
    for n in f.daemons:
        if n != first:
            assert f.progress(bad, n) is None
            assert f.current_version(n) == "1.0.0"
    # The canary was rolled back by a linked deployment.
    rb = d["rolled_back_by"]
    rd = f.deployment(rb)
    assert rd["rollback_of"] == bad and rd["status"] == "Succeeded"
    assert [i["instance"] for i in rd["instances"]] == [first]
    assert f.current_version(first) == "1.0.0"
    assert rd["revision"]["sha256"] == \
        f.deployment(good)["revision"]["sha256"]
    # Every result recorded with its time: OK while baking, then FAILED.
    res = [(e["result"], e["phase"], e["batch"])
           for e in gate_entries(d, "alarms")]
    assert res == [("OK", "start", -1), ("OK", "bake", 0),
                   ("FAILED", "bake", 0)]
    assert all(e["at"] for e in d["gates"])
    st = f.deployer("status", bad, "--json")
    # the same entries, with batches from 1 (0 before the first)
    assert json.loads(st.stdout)["gates"] == [
        dict(e, batch=e["batch"] + 1) for e in d["gates"]]
    st = f.deployer("status", bad)
    assert "gates: alarms FAILED" in st.stdout
    assert f"alarms FAILED bake" in st.stdout
    # The notices: the stop with its reason, and the rollback's own.
    got = [m for _, m in notices(moto, url, 7)]
    outcomes = {(m["deployment_id"], m["outcome"], m.get("rollback_of"))
                for m in got if m["event"] == "outcome"}
    assert outcomes == {(bad, "Stopped", None), (rb, "Succeeded", bad)}
    stop = [m for m in got if m["event"] == "outcome" and
            m["deployment_id"] == bad][0]
    assert stop["reason"] == d["reason"]


def test_insufficient_data_does_not_stop(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    a, b = uniq("web-5xx"), uniq("web-p99")
    g.alarm(a, "INSUFFICIENT_DATA")
    g.alarm(b, "OK")
    g.configure("1.0.0", deployment_config=canary(2), alarms=f"[{a}, {b}]",
                gate_interval=1)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    d = f.deployment(dep_id(r.stdout))
    assert d["status"] == "Succeeded"
    assert d["deployment_config"] == "canary 1, bake 2 s, then AllAtOnce"
    assert [b["sent_at"] is not None for b in d["batches"]] == [True, True]
    e = gate_entries(d, "alarms")
    assert {x["result"] for x in e} == {"OK"}
    assert e[-1]["reason"] == f"{a} INSUFFICIENT_DATA, {b} OK"
    # Checked at once, every second of the bake and at its end.
    assert sum(x["checks"] for x in e) >= 3
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"


def test_cloudwatch_unreachable_stops_unless_ignored(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    f.env["AWS_ENDPOINT_URL_CLOUDWATCH"] = "http://127.0.0.1:9"
    g.configure("1.0.0", deployment_config=canary(1), alarms="[web-5xx]",
                gate_interval=1)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    d = f.deployment(did)
    assert d["status"] == "Stopped"
    assert d["reason"].startswith("cannot read the alarms: cloudwatch "
                                  "DescribeAlarms: ")
    assert [b["sent_at"] for b in d["batches"]] == [None, None]
    g.configure("1.0.1", deployment_config=canary(1), alarms="[web-5xx]",
                gate_interval=1, ignore_alarm_poll_failure=True)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    d = f.deployment(dep_id(r.stdout))
    assert d["status"] == "Succeeded"
    assert {e["result"] for e in gate_entries(d, "alarms")} == {"IGNORED"}
    for n in f.daemons:
        assert f.current_version(n) == "1.0.1"


def test_alarm_in_alarm_before_the_start_sends_nothing(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    a = uniq("web-5xx")
    g.alarm(a, "ALARM", "already burning")
    g.configure("1.0.0", deployment_config=canary(5), alarms=f"[{a}]",
                auto_rollback="[failure, alarm, stop]")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    did = dep_id(r.stdout)
    d = f.deployment(did)
    assert d["status"] == "Stopped"
    assert d["reason"] == f"alarm {a} is ALARM: already burning"
    assert [b["sent_at"] for b in d["batches"]] == [None, None]
    assert d["rolled_back_by"] is None
    assert f"deployment {did} was stopped by the alarms gate: alarm {a} " \
        "is ALARM: already burning; nothing was sent" in r.stderr
    for n in f.daemons:
        assert f.progress(did, n) is None
        assert f.state(n) is None


SMOKE = """#!/bin/sh
# The service as its users see it: 2.0.0 answers 500.
for v in {hosts}/*/root/{app}/{group}/current/VERSION; do
    [ -e "$v" ] || continue
    if grep -q 2.0.0 "$v"; then
        echo "GET /health on $(basename $(dirname $(dirname $(dirname \
$(dirname $(dirname $v))))))"
        echo "HTTP 500 Internal Server Error"
        exit 1
    fi
done
echo "batch $HOOKD_GATE_BATCH of $DEPLOYMENT_ID: all healthy"
"""


def test_health_check_stops_after_the_canary(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    smoke = SMOKE.format(hosts=f.base / "hosts", app=APP, group=GROUP)
    f.commit("smoke test", {"scripts/smoke.sh": (smoke, 0o755)})
    # One that passes lets every batch go.
    g.configure("1.0.0", deployment_config=canary(1, "OneAtATime"),
                health_check="[scripts/smoke.sh]", gate_interval=1,
                auto_rollback="[failure, alarm]")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    d = f.deployment(dep_id(r.stdout))
    assert d["status"] == "Succeeded"
    assert len(d["batches"]) == 3
    hc = gate_entries(d, "health_check")
    assert {e["result"] for e in hc} == {"OK"}
    assert {e["batch"] for e in hc} == {-1, 0, 1}
    # One that starts failing after the canary stops the rollout.
    g.configure("2.0.0", deployment_config=canary(1, "OneAtATime"),
                health_check="[scripts/smoke.sh]", gate_interval=1,
                auto_rollback="[failure, alarm]")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 1, r.stdout + r.stderr
    bad = dep_id(r.stdout)
    d = f.deployment(bad)
    first = canary_of(d)
    assert d["status"] == "Stopped"
    assert d["reason"] == (f"health_check exited 1:\nGET /health on {first}"
                           "\nHTTP 500 Internal Server Error")
    assert [b["sent_at"] is not None for b in d["batches"]] == \
        [True, False, False]
    assert f"deployment {bad} was stopped by the health_check gate: " \
        f"health_check exited 1; rolled back by " in r.stderr
    assert f.deployment(d["rolled_back_by"])["status"] == "Succeeded"
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"


def test_a_rollback_command_runs_the_batches_without_gates(ws, daemon,
                                                          moto):
    """'deployer rollback' keeps the group's batches but has no gates:
    it does not bake, and its first line names no bake."""
    g = GateFleet(ws, daemon, moto)
    f = g.f
    for v in ("1.0.0", "2.0.0"):
        g.configure(v, deployment_config=canary(30),
                    health_check="[/bin/true]", gate_interval=1)
        r = f.deployer(GROUP, "HEAD")
        assert r.returncode == 0, r.stdout + r.stderr
    t0 = time.monotonic()
    r = f.deployer("rollback", GROUP)
    assert r.returncode == 0, r.stdout + r.stderr
    assert time.monotonic() - t0 < 25      # the 30 s bake was not waited
    assert re.search(r"^deployment d-\w+ \(sequence 3\) .*: 3 instances, "
                     r"canary 1, then AllAtOnce, 2 batches$", r.stdout,
                     re.M), r.stdout
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"


def notices(moto, url, n):
    sqs, got = moto.client("sqs"), []
    deadline = time.monotonic() + 20
    while len(got) < n and time.monotonic() < deadline:
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                     WaitTimeSeconds=1).get("Messages", []):
            body = json.loads(m["Body"])
            got.append((body["Subject"], json.loads(body["Message"])))
            sqs.delete_message(QueueUrl=url,
                               ReceiptHandle=m["ReceiptHandle"])
    return got


def test_notices_reach_a_subscribed_queue(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    topic, url = subscribed_queue(moto)
    head = g.configure("1.0.0", deployment_config=canary(0), notify=topic)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    did = dep_id(r.stdout)
    got = notices(moto, url, 4)
    msgs = sorted((m for _, m in got),
                  key=lambda m: ["start", "batch", "outcome"].index(
                      m["event"]) * 10 + m.get("batch", 0))
    assert [(m["event"], m.get("batch"), m["outcome"]) for m in msgs] == [
        ("start", None, "InProgress"), ("batch", 1, "Succeeded"),
        ("batch", 2, "Succeeded"), ("outcome", None, "Succeeded")]
    for m in msgs:
        assert m["schema"] == "hookd.notice/1"
        assert m["deployment_id"] == did and m["group"] == GROUP
        assert m["application"] == APP and m["revision"] == head
    assert msgs[1]["instances"] == 1 and msgs[2]["instances"] == 2
    assert f"hookd {APP}/{GROUP} {did}: Succeeded" in [s for s, _ in got]


def test_a_failed_publish_never_fails_the_deployment(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    topic = f"arn:aws:sns:us-east-1:123456789012:{uniq('missing')}"
    g.configure("1.0.0", notify=topic)
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"deployer: warning: notice of {dep_id(r.stdout)} (start) not " \
        f"sent to {topic}: sns Publish: " in r.stderr
    assert f.deployment(dep_id(r.stdout))["status"] == "Succeeded"


def test_bake_line_on_a_terminal(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto, n=2)
    f = g.f
    f.commit("smoke", {"scripts/ok.sh": ("#!/bin/sh\necho ok\n", 0o755)})
    g.configure("1.0.0", deployment_config=canary(3),
                health_check="[scripts/ok.sh]", gate_interval=1)
    code, text = deployer_on_pty(f.repo, [GROUP, "HEAD"])
    assert code == 0, text
    # Counted down in place while the canary bakes.
    left = [int(n) for n in re.findall(
        r"\r\x1b\[Kbaking canary: (\d+) s left, health_check OK", text)]
    assert left and left[0] >= 2 and left[-1] <= 1, text
    assert left == sorted(left, reverse=True)
    assert "succeeded 2, failed 0, in progress 0, pending 0" in text


def test_gates_that_cannot_run_refuse_before_anything(ws, daemon, moto):
    g = GateFleet(ws, daemon, moto, n=1)
    f = g.f
    g.configure("1.0.0", deployment_config=canary(1),
                health_check="[scripts/missing.sh, --fast]")
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 78, r.stdout + r.stderr
    assert "health_check: cannot run 'scripts/missing.sh' (from " in \
        r.stderr
    assert "No such file or directory" in r.stderr
    assert f.target() is None


def test_stop_during_the_bake_rolls_back_with_stop_in_auto_rollback(
        ws, daemon, moto):
    g = GateFleet(ws, daemon, moto)
    f = g.f
    g.configure("1.0.0", deployment_config=canary(0))
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    good = dep_id(r.stdout)
    g.configure("2.0.0", deployment_config=canary(120), gate_interval=1,
                auto_rollback="[failure, alarm, stop]")
    p = f.popen_deployer(GROUP, "HEAD")
    bad = wait_for(lambda: (f.target() or {}).get("deployment_id")
                   if (f.target() or {}).get("deployment_id") != good
                   else None, 30, what="the second deployment")
    wait_for(lambda: (f.deployment(bad) or {}).get("bake"), 60,
             what="the canary's bake")
    t0 = time.monotonic()
    s = f.deployer("stop", bad)
    assert s.returncode == 0, s.stdout + s.stderr
    out, err = p.communicate(timeout=60)
    # The bake notices the stop within seconds, not after 120 s.
    assert time.monotonic() - t0 < 30
    assert p.returncode == 1, out + err
    d = f.deployment(bad)
    assert d["status"] == "Stopped" and d["stopped_by"]
    assert d.get("reason") is None
    assert [b["sent_at"] is not None for b in d["batches"]] == [True, False]
    rd = f.deployment(d["rolled_back_by"])
    assert rd["status"] == "Succeeded"
    for n in f.daemons:
        assert f.current_version(n) == "1.0.0"
