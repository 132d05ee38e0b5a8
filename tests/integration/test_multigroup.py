# SPDX-License-Identifier: ISC
"""One `hookd run` serving two applications' groups (hookd.yml groups:):
each its own queue (PREFIX-APP-GROUP-INSTANCE), state,
releases and registry entry; deployments of different groups one at a
time unless parallel_groups; a deployment whose files: destinations
overlap another group's refused, naming both, with nothing changed; a
kill -9 during one group's deployment recovers that group only.  Spool
and file store, and SQS and S3 on moto.  The Auto Scaling launch hook
covers every group: an instance Auto Scaling launches (the fleet peer,
tests/peers/fleet.py) is completed CONTINUE only once every group caught
up, ABANDON when one failed (and is replaced).
"""
import json
import os
import pathlib
import signal
import subprocess

import pytest

from conftest import binary, run
from daemon_util import (INSTANCE, AwsWorld, FileStore, Spool,  # noqa: F401
                         daemon, message, sha256_file, write_config)
from lifecycle_util import (make_bundle, pid_alive, wait_for,  # noqa: F401
                            ws)

GROUP = "production"
APPS = ("web", "api")
GROUPS = ("[{application: web, deployment_group: production}, "
          "{application: api, deployment_group: production}]")

# Each hook appends "APP EVENT START END" (seconds) to OUT/times, and
# fails in the events the bundle's FAIL file lists.
# ApplicationStart: with MEET (parallel test) waits until the other
# application's ApplicationStart has begun; with OUT/hold.APP present
# writes its pid to OUT/held.APP and waits until the file is gone.
HOOK = r"""#!/bin/bash
set -eu
app=$(cat APPNAME)
t0=$(date +%s.%N)
if grep -qxF "$LIFECYCLE_EVENT" FAIL 2>/dev/null; then
	echo "boom: $app cannot do $LIFECYCLE_EVENT" >&2
	exit 3
fi
if [ "$LIFECYCLE_EVENT" = ApplicationStart ]; then
	touch "@OUT@/started.$app"
	if [ -e MEET ]; then
		other=$(cat MEET)
		for i in $(seq 1 600); do
			[ -e "@OUT@/started.$other" ] && break
			sleep 0.05
		done
		if [ ! -e "@OUT@/started.$other" ]; then
			echo "$app never ran alongside $other" >&2
			exit 4
		fi
	fi
	if [ -e "@OUT@/hold.$app" ]; then
		echo $$ > "@OUT@/held.$app.tmp"
		mv -f "@OUT@/held.$app.tmp" "@OUT@/held.$app"
		while [ -e "@OUT@/hold.$app" ]; do sleep 0.05; done
	fi
	sleep 0.3
else
	sleep 0.1
fi
echo "$app $LIFECYCLE_EVENT $t0 $(date +%s.%N)" >> "@OUT@/times"
"""

EVENTS = ("BeforeInstall", "AfterInstall", "ApplicationStart",
          "ValidateService")


def bundle(ws, app, version="v1", dest=None, meet=None, fail=None):
    """app's bundle (a .tgz): the timing hook for each event; with dest,
    its srv/ directory linked there."""
    hooks = "".join(f"  {ev}:\n    - location: hook.sh\n      timeout: 60\n"
                    for ev in EVENTS)
    spec = "version: 0.0\nos: linux\n"
    if dest is not None:
        spec += f"files:\n  - source: srv\n    destination: {dest}\n"
    spec += "hooks:\n" + hooks
    tree = {"appspec.yml": spec, "APPNAME": app + "\n",
            "hook.sh": HOOK.replace("@OUT@", str(ws.out)),
            "srv/index.html": f"{app} {version}\n"}
    if meet is not None:
        tree["MEET"] = meet + "\n"
    if fail is not None:
        tree["FAIL"] = fail + "\n"
    return make_bundle(ws, app, tree, fmt="tgz", subdir=f"{app}-{version}")


def config(ws, **kw):
    cfg = dict(groups=GROUPS, store=f"file://{ws.base}/store",
               queue=f"file://{ws.base}/queue", root=str(ws.root),
               instance_id=INSTANCE, keep_releases=3, log_level="debug")
    cfg.update(kw)
    return cfg


def spool(ws, app):
    """The groups: form's spool: hookd-APP-GROUP-INSTANCE."""
    return Spool(ws.base, group=f"{app}-{GROUP}")


def times(ws):
    """{app: [(event, start, end)]} from OUT/times."""
    out = {}
    p = ws.out / "times"
    for line in p.read_text().splitlines() if p.exists() else []:
        app, ev, t0, t1 = line.split()
        out.setdefault(app, []).append((ev, float(t0), float(t1)))
    return out


def span(entries):
    return min(e[1] for e in entries), max(e[2] for e in entries)


def wait_progress(store, app, dep_id, want, timeout=60):
    def done():
        p = store.progress(dep_id, app=app, group=GROUP)
        return p if p is not None and p["status"] == want else None
    return wait_for(done, timeout, what=f"{app} {dep_id} status {want}")


def send_both(ws, store, versions=("v1", "v1"), seq=1, **kw):
    msgs = {}
    for app, v in zip(APPS, versions):
        b = bundle(ws, app, v, dest=str(ws.base / "opt" / app),
                   meet=kw.get("meet", {}).get(app))
        sha = store.put_bundle(b, app=app)
        m = message(store.url, sha, seq, app=app, group=GROUP)
        spool(ws, app).send(m)
        msgs[app] = m
    return msgs


def test_two_applications_one_daemon_serialized(ws, daemon):
    store = FileStore(ws.base)
    msgs = send_both(ws, store)
    h = daemon(ws, config(ws))
    err = h.stderr()
    for app in APPS:
        assert (f"serving deployment group '{GROUP}' of application "
                f"'{app}' (group from hookd.yml groups:)") in err
        assert f"queue 'hookd-{app}-{GROUP}-{INSTANCE}'" in err
    for app in APPS:
        wait_progress(store, app, msgs[app]["deployment_id"], "Succeeded")
        wait_for(spool(ws, app).empty, 10, what=f"{app}'s message deleted")
    # Each group its own state, release, link and registry entry.
    for app in APPS:
        st = ws.state(app, GROUP)
        assert st["current"]["deployment_id"] == msgs[app]["deployment_id"]
        assert (ws.base / "opt" / app / "index.html").read_text() == \
            f"{app} v1\n"
        reg = store.registry(app=app, group=GROUP)
        assert reg["application"] == app
        assert reg["queue"] == f"hookd-{app}-{GROUP}-{INSTANCE}"
    # One at a time: the two deployments' hook time ranges are apart.
    t = times(ws)
    assert sorted(t) == sorted(APPS)
    assert [e[0] for e in t["web"]] == list(EVENTS)
    (a0, a1), (b0, b1) = span(t["web"]), span(t["api"])
    assert a1 <= b0 or b1 <= a0, (t, "the deployments overlapped")
    # hookd status shows every group, and --json too.
    r = run([binary("hookd"), "status", "-c", str(h.cfgpath)])
    assert r.returncode == 0, r.stderr
    for app in APPS:
        assert f"application: {app}\n" in r.stdout
        assert msgs[app]["deployment_id"] in r.stdout
    r = run([binary("hookd"), "status", "--json", "-c", str(h.cfgpath)])
    assert r.returncode == 0, r.stderr
    js = json.loads(r.stdout)
    assert [(g["application"], g["group"]) for g in js["groups"]] == \
        [("web", GROUP), ("api", GROUP)]
    assert js["groups"][1]["current"]["deployment_id"] == \
        msgs["api"]["deployment_id"]
    assert h.stop() == 0


def test_parallel_groups_run_at_the_same_time(ws, daemon):
    """Each ApplicationStart waits for the other's to begin: both succeed
    only when the two deployments run at once."""
    store = FileStore(ws.base)
    msgs = send_both(ws, store, meet={"web": "api", "api": "web"})
    h = daemon(ws, config(ws, parallel_groups=True))
    for app in APPS:
        wait_progress(store, app, msgs[app]["deployment_id"], "Succeeded")
        wait_for(spool(ws, app).empty, 10, what=f"{app}'s message deleted")
    t = times(ws)
    (a0, a1), (b0, b1) = span(t["web"]), span(t["api"])
    assert a0 < b1 and b0 < a1, (t, "the deployments did not overlap")
    assert "may run at the same time (parallel_groups)" in h.stderr()
    assert h.stop() == 0


def test_overlapping_destination_is_refused_naming_both(ws, daemon):
    store = FileStore(ws.base)
    h = daemon(ws, config(ws))
    web = bundle(ws, "web", dest=str(ws.base / "opt" / "web"))
    m1 = message(store.url, store.put_bundle(web, app="web"), 1, app="web",
                 group=GROUP)
    spool(ws, "web").send(m1)
    wait_progress(store, "web", m1["deployment_id"], "Succeeded")
    link = ws.base / "opt" / "web"
    target = os.readlink(link)
    web_state = ws.state("web", GROUP)
    n_times = len(times(ws).get("web", []))

    dest = ws.base / "opt" / "web" / "api"
    api = bundle(ws, "api", dest=str(dest))
    m2 = message(store.url, store.put_bundle(api, app="api"), 1, app="api",
                 group=GROUP)
    spool(ws, "api").send(m2)
    p = wait_progress(store, "api", m2["deployment_id"], "Failed")
    want = (f"files: destination '{dest}' of api/{GROUP} overlaps "
            f"'{link}', which web/{GROUP} owns on this host")
    assert want in p["message"], p
    assert p["events"][-1]["event"] == "DownloadBundle"
    h.wait_log(want)
    wait_for(spool(ws, "api").empty, 10, what="the message acknowledged")
    # Nothing changed: no script ran, no link, no release, no state.
    assert "api" not in times(ws)
    assert len(times(ws)["web"]) == n_times
    assert os.readlink(link) == target
    assert not dest.exists() and not os.path.lexists(dest)
    rel = ws.root / "api" / GROUP / "releases"
    assert not rel.exists() or [x for x in rel.iterdir()
                                if not x.name.startswith(".")] == []
    st = ws.state("api", GROUP) if (ws.root / "api" / GROUP /
                                    "state.json").exists() else {}
    assert not st.get("current"), st
    assert ws.state("web", GROUP) == web_state
    # A destination of its own deploys.
    api2 = bundle(ws, "api", "v2", dest=str(ws.base / "opt" / "api"))
    m3 = message(store.url, store.put_bundle(api2, app="api"), 2, app="api",
                 group=GROUP)
    spool(ws, "api").send(m3)
    wait_progress(store, "api", m3["deployment_id"], "Succeeded")
    assert h.stop() == 0


def test_kill9_during_one_group_recovers_that_group_only(ws, daemon):
    store = FileStore(ws.base)
    h = daemon(ws, config(ws))
    api = bundle(ws, "api", dest=str(ws.base / "opt" / "api"))
    ma = message(store.url, store.put_bundle(api, app="api"), 1, app="api",
                 group=GROUP)
    spool(ws, "api").send(ma)
    wait_progress(store, "api", ma["deployment_id"], "Succeeded")
    api_state = ws.state("api", GROUP)

    (ws.out / "hold.web").write_text("")
    web = bundle(ws, "web", dest=str(ws.base / "opt" / "web"))
    mw = message(store.url, store.put_bundle(web, app="web"), 1, app="web",
                 group=GROUP)
    spool(ws, "web").send(mw)
    held = ws.out / "held.web"
    wait_for(held.exists, 30, what="web's ApplicationStart to hold")
    hook = int(held.read_text())
    h.kill9()
    os.kill(hook, signal.SIGKILL)
    wait_for(lambda: not pid_alive(hook), 10, what="the hook to die")
    assert ws.state("web", GROUP)["in_progress"] is not None

    (ws.out / "hold.web").unlink()
    h.start()
    wait_progress(store, "web", mw["deployment_id"], "Succeeded")
    err = h.stderr()
    assert f"recovering interrupted deployment {mw['deployment_id']}" in err
    assert f"recovering interrupted deployment {ma['deployment_id']}" \
        not in err
    st = ws.state("web", GROUP)
    assert st["history"][1]["deployment_id"] == mw["deployment_id"]
    assert st["history"][1]["status"] == "Interrupted"
    assert st["history"][0]["status"] == "Succeeded"
    # The other group: untouched.
    assert ws.state("api", GROUP) == api_state
    assert h.stop() == 0


def ppid(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def hold_both(ws, daemon, args=()):
    """parallel_groups, web and api both held in ApplicationStart:
    returns (daemon, store, messages, {app: hook pid})."""
    store = FileStore(ws.base)
    for app in APPS:
        (ws.out / f"hold.{app}").write_text("")
    msgs = send_both(ws, store)
    h = daemon(ws, config(ws, parallel_groups=True), args=args)
    hooks = {}
    for app in APPS:
        held = ws.out / f"held.{app}"
        wait_for(held.exists, 30, what=f"{app}'s ApplicationStart to hold")
        hooks[app] = int(held.read_text())
    return h, store, msgs, hooks


def test_parallel_crash_of_one_deployment_process(ws, daemon):
    """parallel_groups: web's deployment process is killed while api's
    runs: web is recovered and run again, api goes on untouched."""
    h, store, msgs, hooks = hold_both(ws, daemon)
    dep = ppid(hooks["web"])
    assert dep != h.pid() and ppid(dep) == h.pid()
    (ws.out / "held.web").unlink()
    os.kill(dep, signal.SIGKILL)
    h.wait_log(rf"process {dep} was killed by signal")
    os.kill(hooks["web"], signal.SIGKILL)
    # Delivered again at once, and held again in a new process.
    wait_for((ws.out / "held.web").exists, 30, what="web's second run")
    assert pid_alive(hooks["api"])
    (ws.out / "hold.api").unlink()
    wait_progress(store, "api", msgs["api"]["deployment_id"], "Succeeded")
    (ws.out / "hold.web").unlink()
    wait_progress(store, "web", msgs["web"]["deployment_id"], "Succeeded")
    web, api = ws.state("web", GROUP), ws.state("api", GROUP)
    assert [x["status"] for x in web["history"]] == \
        ["Succeeded", "Interrupted"]
    assert [x["status"] for x in api["history"]] == ["Succeeded"]
    assert f"recovering interrupted deployment " \
        f"{msgs['api']['deployment_id']}" not in h.stderr()
    assert h.stop() == 0


def test_parallel_sigterm_stops_both_deployments(ws, daemon):
    """SIGTERM reaches every deployment process at once: both hooks get
    the grace together, both deployments are Interrupted and run again
    after the restart."""
    h, store, msgs, hooks = hold_both(ws, daemon, args=["--grace", "2"])
    deps = {app: ppid(pid) for app, pid in hooks.items()}
    h.proc.send_signal(signal.SIGTERM)
    # Together: well within twice the grace.
    wait_for(lambda: h.proc.poll() is not None, 3.5,
             what="hookd to stop")
    assert h.proc.returncode == 0, h.stderr()
    for app in APPS:
        assert not pid_alive(deps[app])
        assert store.progress(msgs[app]["deployment_id"], app=app,
                              group=GROUP)["status"] == "Interrupted"
        assert not spool(ws, app).empty()   # delivered again later
    for app in APPS:
        (ws.out / f"hold.{app}").unlink()
    h.start()
    for app in APPS:
        wait_progress(store, app, msgs[app]["deployment_id"], "Succeeded")
    assert h.stop() == 0


def test_single_form_keeps_its_queue_name(ws, daemon):
    """The single form is unchanged: PREFIX-GROUP-INSTANCE."""
    cfg = config(ws, groups=None, application="web",
                 deployment_group=GROUP)
    h = daemon(ws, cfg)
    assert f"queue 'hookd-{GROUP}-{INSTANCE}'" in h.stderr()
    reg = FileStore(ws.base).registry(app="web", group=GROUP)
    assert reg["queue"] == f"hookd-{GROUP}-{INSTANCE}"
    assert h.stop() == 0


def test_group_flag_is_refused_with_groups(ws):
    p = write_config(ws.base / "hookd.yml", **config(ws))
    r = run([binary("hookd"), "run", "-d", "-c", str(p), "--group", GROUP])
    assert r.returncode == 64, r.stderr
    assert "--group 'production':" in r.stderr and "groups:" in r.stderr


def test_bake_bakes_every_group(ws):
    store = FileStore(ws.base)
    msgs = {}
    for app in APPS:
        b = bundle(ws, app, dest=str(ws.base / "opt" / app))
        m = message(store.url, store.put_bundle(b, app=app), 1, app=app,
                    group=GROUP)
        store.put_json(f"groups/{app}/{GROUP}/target.json", m)
        msgs[app] = m
    p = write_config(ws.base / "hookd.yml", **config(ws))
    r = run([binary("hookd"), "bake", "-c", str(p)])
    assert r.returncode == 0, r.stdout + r.stderr
    for app in APPS:
        assert (f"baked deployment {msgs[app]['deployment_id']} "
                f"(sequence 1) of {app}/{GROUP}") in r.stdout
        assert ws.state(app, GROUP)["current"]["deployment_id"] == \
            msgs[app]["deployment_id"]


# --- SQS and S3 (moto) ---

class Fleet(AwsWorld):
    def __init__(self, moto, proxy, ws):
        super().__init__(moto, proxy, ws, "tm")

    def qname_of(self, app):
        return f"{self.prefix}-{app}-{GROUP}-{INSTANCE}"

    def upload(self, bundle, app):
        sha = sha256_file(bundle)
        with open(bundle, "rb") as f:
            self.s3.put_object(Bucket=self.bucket, Body=f.read(),
                               Key=f"deploys/revisions/{app}/{sha}.tar.gz")
        return sha

    def send(self, app, body):
        url = self.sqs.get_queue_url(QueueName=self.qname_of(app))[
            "QueueUrl"]
        self.sqs.send_message(QueueUrl=url, MessageBody=json.dumps(body))

    def progress(self, app, dep_id):
        key = (f"deploys/deployments/{app}/{GROUP}/{dep_id}/instances/"
               f"{INSTANCE}.json")
        return self.s3_json(key)

    def config(self, **kw):
        cfg = dict(groups=GROUPS, store=self.store, queue="sqs",
                   queue_prefix=self.prefix, root=str(self.ws.root),
                   instance_id=INSTANCE, region=self.moto.region,
                   log_level="debug", visibility_timeout=30, poll_wait=2)
        cfg.update(kw)
        return cfg


@pytest.mark.usefixtures("moto")
@pytest.mark.parametrize("parallel", [False, True])
def test_sqs_two_applications_deploy_at_once(moto, proxy, ws, daemon,
                                             parallel):
    fleet = Fleet(moto, proxy, ws)
    h = daemon(ws, fleet.config(parallel_groups=parallel),
               env=fleet.moto.env(fleet.proxy.url))
    msgs = {}
    for app in APPS:
        other = [a for a in APPS if a != app][0]
        b = bundle(ws, app, dest=str(ws.base / "opt" / app),
                   meet=other if parallel else None)
        m = message(fleet.store, fleet.upload(b, app), 1, app=app,
                    group=GROUP)
        msgs[app] = m
    for app in APPS:
        fleet.send(app, msgs[app])
    for app in APPS:
        def done(app=app):
            p = fleet.progress(app, msgs[app]["deployment_id"])
            return p if p is not None and p["status"] in (
                "Succeeded", "Failed") else None
        p = wait_for(done, 90, interval=0.2, what=f"{app}'s outcome")
        assert p["status"] == "Succeeded", p
        assert ws.state(app, GROUP)["current"]["deployment_id"] == \
            msgs[app]["deployment_id"]
    t = times(ws)
    (a0, a1), (b0, b1) = span(t["web"]), span(t["api"])
    if parallel:
        assert a0 < b1 and b0 < a1, (t, "not at the same time")
    else:
        assert a1 <= b0 or b1 <= a0, (t, "the deployments overlapped")
    for app in APPS:
        url = fleet.sqs.get_queue_url(QueueName=fleet.qname_of(app))[
            "QueueUrl"]
        wait_for(lambda url=url: fleet.sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages",
                                          "ApproximateNumberOfMessages"
                                          "NotVisible"])["Attributes"] ==
            {"ApproximateNumberOfMessages": "0",
             "ApproximateNumberOfMessagesNotVisible": "0"}, 30,
            interval=0.3, what=f"{app}'s message deleted")
    assert h.stop() == 0


def test_deployer_reaches_a_daemon_of_the_groups_form(ws, daemon):
    """The deployer finds both queue namings: a single-form daemon
    (PREFIX-GROUP-INSTANCE) and one serving two applications
    (PREFIX-APP-GROUP-INSTANCE) get the same deployment."""
    import types
    from deployer_util import APP as DAPP, Fleet

    f = Fleet(ws, daemon, n=1)
    d = ws.base / "hosts" / "i-multi"
    root = d / "root"
    root.mkdir(parents=True)
    os.chmod(d, 0o755)
    os.chmod(root, 0o755)
    cfg = dict(groups=f"[{{application: {DAPP}, deployment_group: "
               f"{GROUP}}}, {{application: other, deployment_group: "
               f"{GROUP}}}]", store=f.store, queue=f.queue,
               root=str(root), instance_id="i-multi", keep_releases=3,
               log_level="info", poll_wait=1)
    daemon(types.SimpleNamespace(base=d, root=root), cfg)
    f.wait_registered(["i-1", "i-multi"])
    r = f.deployer("instances", "--json", GROUP)
    assert r.returncode == 0, r.stderr
    rows = {x["instance"]: x for x in json.loads(r.stdout)}
    assert rows["i-multi"]["has_queue"] is True, rows
    assert rows["i-1"]["has_queue"] is True, rows
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "succeeded: 2 succeeded, 0 failed" in r.stdout
    st = json.loads((root / DAPP / GROUP / "state.json").read_text())
    assert st["current"]["sequence"] == 1


# --- the Auto Scaling launch hook covers every group ---
#
# Real launches (as test_scaleout.py's ScaleOut): an Auto Scaling group
# in moto with the launch hook, scaled to 1, and the fleet peer starting
# `hookd run` for the instance Auto Scaling launched, with `groups:` in
# its hookd.yml, held in Pending:Wait until its CompleteLifecycleAction.

FLEET_GROUPS = "".join(f"  - application: {app}\n"
                       f"    deployment_group: {GROUP}\n" for app in APPS)


@pytest.fixture
def so(moto, proxy, ws, fleet):
    from test_scaleout import ScaleOut
    s = ScaleOut(moto, proxy, ws, fleet)
    yield s
    s.asg.delete_auto_scaling_group(AutoScalingGroupName=s.group,
                                    ForceDelete=True)


def so_targets(so, ws, fail_app=None):
    """A target.json for each application (fail_app's fails in
    ApplicationStart); returns {app: message}."""
    out = {}
    for app in APPS:
        b = bundle(ws, app, dest=str(ws.base / "opt" / app),
                   fail="ApplicationStart" if app == fail_app else None)
        sha = sha256_file(b)
        with open(b, "rb") as f:
            so.s3.put_object(Bucket=so.bucket, Body=f.read(),
                             Key=f"deploys/revisions/{app}/{sha}.tar.gz")
        m = message(so.store, sha, 1, app=app, group=GROUP)
        so.s3.put_object(Bucket=so.bucket,
                         Key=f"deploys/groups/{app}/{GROUP}/target.json",
                         Body=json.dumps(m).encode())
        out[app] = m
    return out


def so_launch(so):
    """The launch hook on the group, the fleet watching it with a
    hookd.yml serving both applications (groups:, no application:),
    the group scaled to 1: the launched instance's id."""
    return so.launch(hookd=dict(application=None, deployment_group=None),
                     hookd_extra="groups:\n" + FLEET_GROUPS)


def so_state(so, app, iid=None):
    root = pathlib.Path(so.instance(iid)["root"])
    return json.loads((root / app / GROUP / "state.json").read_text())


def so_release(so, app, iid=None):
    """index.html of app's current release on the instance."""
    root = pathlib.Path(so.instance(iid)["root"])
    return (root / app / GROUP / "current" / "srv" /
            "index.html").read_text()


def so_progress(so, app, dep_id, iid):
    key = (f"deploys/deployments/{app}/{GROUP}/{dep_id}/instances/"
           f"{iid}.json")
    try:
        o = so.s3.get_object(Bucket=so.bucket, Key=key)
    except so.s3.exceptions.NoSuchKey:
        return None
    return json.loads(o["Body"].read())


def so_progress_puts(so, app, dep_id, iid):
    """When the instance wrote its progress of app's deployment."""
    return [e["t"] for e in so.proxy.log() if e["method"] == "PUT" and
            f"deployments/{app}/{GROUP}/{dep_id}/instances/{iid}.json"
            in e["path"]]


def so_instances(so, ws, app):
    """{instance: row} of `deployer instances --json GROUP` in a
    repository of application app."""
    from test_scaleout import deployer_instances
    out = deployer_instances(so, ws, "--json", app=app)
    return {x["instance"]: x for x in json.loads(out)}


def test_launch_hook_continues_once_every_group_caught_up(so, ws):
    t = so_targets(so, ws)
    iid = so_launch(so)
    inst = so.wait_state("InService")
    # Auto Scaling's record: completed CONTINUE by this instance's hookd,
    # once; only then in its target group.
    assert inst["result"] == "CONTINUE"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    assert so.seen_state() == "InService"
    done = wait_for(lambda: so.asg_calls("CompleteLifecycleAction"), 10,
                    interval=0.1, what="the CompleteLifecycleAction logged")
    assert len(done) == 1
    assert done[0]["params"]["LifecycleActionResult"] == "CONTINUE"
    assert done[0]["params"]["InstanceId"] == iid
    assert so.targets() == [iid]
    # Both applications' releases installed, each group's outcome in the
    # store before the CONTINUE, every hook of both ended before it.
    for app in APPS:
        did = t[app]["deployment_id"]
        assert so_state(so, app)["current"]["deployment_id"] == did
        assert so_release(so, app) == f"{app} v1\n"
        assert (ws.base / "opt" / app / "index.html").read_text() == \
            f"{app} v1\n"
        assert so_progress(so, app, did, iid)["status"] == "Succeeded"
        puts = so_progress_puts(so, app, did, iid)
        assert puts and max(puts) < done[0]["t"], app
        hooks = times(ws)[app]
        assert [e[0] for e in hooks] == list(EVENTS)
        assert max(e[2] for e in hooks) < done[0]["t"], app
    # What `deployer instances` shows for each application.
    for app in APPS:
        row = wait_for(lambda app=app: (lambda r: r if r is not None and
                                        r["state"] == "idle" else None)(
            so_instances(so, ws, app).get(iid)), 30, interval=0.2,
            what=f"deployer instances of {app}: idle")
        assert row["current_deployment"] == t[app]["deployment_id"]
        assert row["catching_up"] is None
    err = so.log()
    for app in APPS:
        assert (f"serving deployment group '{GROUP}' of application "
                f"'{app}' (group from hookd.yml groups:)") in err
        assert f"catch-up of {app}/{GROUP}: caught up" in err
    assert "completed with CONTINUE (caught up)" in err
    assert so.stop() == 0


def test_launch_hook_abandons_when_one_group_fails(so, ws):
    t = so_targets(so, ws, fail_app="web")
    iid = so_launch(so)
    inst = so.wait_state("Terminating", "Terminated")
    assert inst["result"] == "ABANDON"
    assert inst["completed_by"] == "CompleteLifecycleAction"
    done = wait_for(lambda: [e for e in so.asg_calls(
        "CompleteLifecycleAction") if e["params"]["InstanceId"] == iid], 10,
        interval=0.1, what="the CompleteLifecycleAction logged")
    assert [e["params"]["LifecycleActionResult"] for e in done] == \
        ["ABANDON"]
    mine = done[0]
    p = so_progress(so, "web", t["web"]["deployment_id"], iid)
    assert p["status"] == "Failed" and \
        p["events"][-1]["event"] == "ApplicationStart", p
    # The other group was still caught up before the answer.
    did = t["api"]["deployment_id"]
    assert so_progress(so, "api", did, iid)["status"] == "Succeeded"
    puts = so_progress_puts(so, "api", did, iid)
    assert puts and max(puts) < mine["t"]
    assert so_state(so, "api", iid)["current"]["deployment_id"] == did
    assert so_release(so, "api", iid) == "api v1\n"
    assert not so_state(so, "web", iid).get("current")
    err = so.log()
    assert f"catch-up of web/{GROUP}: failed" in err
    assert f"catch-up of api/{GROUP}: caught up" in err
    assert "completed with ABANDON (catch-up failed)" in err
    # Never in traffic; Auto Scaling replaces it, and the abandoned
    # instance's daemon stops cleanly.
    assert iid not in so.targets()
    wait_for(lambda: [x for x in so.fleet.instances(so.group)
                      if x != iid], 60, interval=0.1,
             what="a replacement launched")
    assert so.wait_state("Terminated")["exit"] == 0
    assert iid not in so.targets()
    so.scale(0)
