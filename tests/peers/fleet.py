#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""The fleet peer: Auto Scaling groups in moto, with instances that run.

moto keeps Auto Scaling groups and "launches" their instances (EC2
records, InService at once), but never runs one and never applies a
lifecycle hook.  This peer gives every such instance a real `hookd run`:

  * A watcher polls moto's groups (those whose name starts with one of
    the configured prefixes).  For every instance Auto Scaling launched
    it starts `hookd run -d -c ROOT/hookd.yml` in a directory of its own
    (its own root), with the instance's own IMDS identity (this peer
    serves IMDSv2 under /i/INSTANCE/, from imds_asg.py: instance id,
    zone, the group's PropagateAtLaunch tags and aws:autoscaling:
    groupName).  When the group has a launch lifecycle hook (put in
    moto), the instance is held in Pending:Wait until its
    CompleteLifecycleAction (or its heartbeat timeout: DefaultResult).
  * Auto Scaling for everyone (POST /): CompleteLifecycleAction and
    RecordLifecycleActionHeartbeat are answered here (signatures checked
    with moto's keys); every other action is forwarded to moto as it was
    signed, and DescribeAutoScalingGroups / DescribeAutoScalingInstances
    replies carry the lifecycle states this peer holds (Pending:Wait,
    Terminating) instead of moto's InService.
  * Traffic where Auto Scaling would put it: an instance leaves Pending:
    Wait for InService, and only then is registered with its group's
    target groups and Classic Load Balancers (moto registers a group's
    instances when it launches them or a target group is attached: the
    peer deregisters those still pending).  An instance whose action is
    ABANDONed is terminated in moto (TerminateInstanceInAutoScalingGroup
    without decrement, so Auto Scaling launches a replacement).
  * An instance that left its group (scale-in, a group scaled to zero or
    deleted) is Terminating: its daemon gets SIGTERM (and, asking, hears
    "Terminating"), then it is deregistered from its targets.
  * With "scheduled_actions": true, one-time scheduled actions
    (PutScheduledUpdateGroupAction, which moto stores but never runs) of
    the watched groups run when their StartTime has come: the group's
    sizes are set and the action is deleted, as Auto Scaling does; not
    while the group's ScheduledActions process is suspended; an action
    of a group that is gone is deleted (AWS deletes them with the
    group).  Recurring actions are not run.  Each run is in the state's
    "scheduled_runs".

Control API (JSON): POST /_peer/config (merged: hookd, workdir,
moto_keys {ak: sk}, group_prefixes [...], hookd_config {key: value},
hookd_extra (YAML text appended to every hookd.yml), env {...},
interval, image (a directory copied into every new instance's root
before its daemon starts: an image baked with `hookd bake`), imds_tags
(false: IMDS serves no instance tags, as without InstanceMetadataTags),
autoscaling_url (the Auto Scaling endpoint the daemons are given, e.g.
a fault proxy in front of this peer; default this peer),
scheduled_actions (true: run due one-time scheduled actions)), GET
/_peer/state, GET /_peer/log, POST /_peer/stop {"instance": ID,
"signal": N} (a crash of one daemon), POST /_peer/start {"instance": ID}
(its daemon started again on the same root by the watcher's next tick,
as after a reboot; 409 while it still runs), POST /_peer/reset (stops
every daemon).

Run: python3 fleet.py MOTO_URL   -> prints "READY <port>", 127.0.0.1 only.
"""
import copy
import ctypes
import http.client
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import traceback
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.session
from botocore.config import Config

import imds_asg
import peerlib

NS = imds_asg.NS
LAUNCHING = "autoscaling:EC2_INSTANCE_LAUNCHING"
LOCAL_ACTIONS = ("CompleteLifecycleAction", "RecordLifecycleActionHeartbeat")
REWRITTEN = ("DescribeAutoScalingGroups", "DescribeAutoScalingInstances")
STOP_GRACE = 30         # seconds from SIGTERM to SIGKILL of a daemon

FLEET_DEFAULTS = {
    "hookd": None,             # path of the hookd binary; None: no daemon
    "args": ["-d"],
    "workdir": None,
    "moto_keys": {},           # access key -> secret (local actions)
    "group_prefixes": [],      # watch only these groups ([]: none)
    "hookd_config": {},        # hookd.yml of every instance (plus root)
    "hookd_extra": "",         # YAML text appended to every hookd.yml
    "env": {},                 # the daemons' environment (AWS_*, ...)
    "interval": 0.2,
    "region": "us-east-1",
    "image": None,             # copied into every new root (a baked image)
    "imds_tags": True,         # false: no instance tags in IMDS
    "autoscaling_url": None,   # the daemons' Auto Scaling endpoint
    "scheduled_actions": False,  # run due one-time scheduled actions
}

ET.register_namespace("", NS)


def _pdeathsig():
    """Daemons die with the peer, even when it is killed."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


def yaml_line(k, v):
    if isinstance(v, bool):
        v = "true" if v else "false"
    return f"{k}: {v}"


class Fleet:
    """The instances of the watched groups and their daemons."""

    def __init__(self, srv, moto_url):
        self.srv = srv
        self.moto_url = moto_url
        self.cfg = copy.deepcopy(FLEET_DEFAULTS)
        self.instances = {}    # id -> record (JSON-able)
        self.procs = {}        # id -> Popen
        self.errors = []
        self.scheduled_runs = []
        self.stopped = threading.Event()
        self._clients = None
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    # --- moto ----------------------------------------------------------

    def client(self, service):
        if self._clients is None or self._clients[0] != self.cfg[
                "moto_keys"]:
            self._clients = (dict(self.cfg["moto_keys"]), {})
        cache = self._clients[1]
        if service not in cache:
            ak, sk = next(iter(self.cfg["moto_keys"].items()))
            cache[service] = botocore.session.Session().create_client(
                service, region_name=self.cfg["region"],
                endpoint_url=self.moto_url, aws_access_key_id=ak,
                aws_secret_access_key=sk,
                config=Config(retries={"max_attempts": 3}))
        return cache[service]

    def groups(self):
        asg = self.client("autoscaling")
        out, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            r = asg.describe_auto_scaling_groups(**kw)
            out += r["AutoScalingGroups"]
            token = r.get("NextToken")
            if not token:
                return [g for g in out if any(
                    g["AutoScalingGroupName"].startswith(p)
                    for p in self.cfg["group_prefixes"])]

    def launch_hook(self, group):
        r = self.client("autoscaling").describe_lifecycle_hooks(
            AutoScalingGroupName=group)
        for h in r["LifecycleHooks"]:
            if h.get("LifecycleTransition") == LAUNCHING:
                return h
        return None

    # --- the watcher ---------------------------------------------------

    def run(self):
        while not self.stopped.wait(self.cfg["interval"]):
            if not self.cfg["moto_keys"] or not self.cfg["group_prefixes"]:
                continue
            try:
                self.tick()
            except Exception:  # keep watching; the test sees the error
                with self.srv.lock:
                    self.errors.append(traceback.format_exc())
                    del self.errors[:-20]

    def tick(self):
        self.restart()
        if self.cfg["scheduled_actions"]:
            self.run_scheduled()
        groups = self.groups()
        live = {}
        for g in groups:
            for i in g.get("Instances", []):
                live[i["InstanceId"]] = (g, i)
        with self.srv.lock:
            known = dict(self.instances)
        for iid, (g, i) in live.items():
            if iid not in known:
                self.launch(g, i)
        for iid, rec in known.items():
            if iid not in live and rec["LifecycleState"] not in (
                    "Terminating", "Terminated"):
                self.terminate(rec, "left the group")
        for iid, (g, i) in live.items():
            rec = self.instances.get(iid)
            if rec is not None and rec["LifecycleState"] == "Pending:Wait":
                self.unregister_pending(g, rec)
        self.expire()
        self.settle(live)
        self.reap()

    def run_scheduled(self):
        """Due one-time scheduled actions of the watched groups."""
        asg = self.client("autoscaling")
        acts, token = [], None
        while True:
            kw = {"NextToken": token} if token else {}
            r = asg.describe_scheduled_actions(**kw)
            acts += r["ScheduledUpdateGroupActions"]
            token = r.get("NextToken")
            if not token:
                break
        now = peerlib.now()
        for a in acts:
            name = a["AutoScalingGroupName"]
            start = a.get("StartTime")
            if a.get("Recurrence") or start is None or not any(
                    name.startswith(p) for p in self.cfg["group_prefixes"]):
                continue
            if start.timestamp() > now:
                continue
            g = asg.describe_auto_scaling_groups(
                AutoScalingGroupNames=[name])["AutoScalingGroups"]
            run = {"group": name, "action": a["ScheduledActionName"],
                   "start": start.isoformat(), "at": now}
            if g and any(p["ProcessName"] == "ScheduledActions"
                         for p in g[0].get("SuspendedProcesses", [])):
                continue
            if g:
                kw = {k: a[k] for k in ("MinSize", "MaxSize",
                                        "DesiredCapacity") if k in a}
                asg.update_auto_scaling_group(AutoScalingGroupName=name,
                                              **kw)
                run.update(kw)
            else:
                run["group_gone"] = True
            asg.delete_scheduled_action(
                AutoScalingGroupName=name,
                ScheduledActionName=a["ScheduledActionName"])
            with self.srv.lock:
                self.scheduled_runs.append(run)

    def launch(self, g, inst):
        name = g["AutoScalingGroupName"]
        hook = self.launch_hook(name)
        tags = {t["Key"]: t["Value"] for t in g.get("Tags", [])
                if t.get("PropagateAtLaunch")}
        tags["aws:autoscaling:groupName"] = name
        tags.setdefault("Name", inst["InstanceId"])
        rec = {"InstanceId": inst["InstanceId"], "AutoScalingGroupName": name,
               "AvailabilityZone": inst.get("AvailabilityZone",
                                            "us-east-1a"),
               "tags": tags, "heartbeats": 0, "launched_at": peerlib.now(),
               "targets": [], "load_balancers": [], "pid": None,
               "exit": None, "root": None, "result": None,
               "completed_by": None, "LifecycleHookName": None}
        if hook is not None:
            rec.update(LifecycleState="Pending:Wait",
                       LifecycleHookName=hook["LifecycleHookName"],
                       LifecycleActionToken=secrets.token_hex(16),
                       HeartbeatTimeout=int(hook.get("HeartbeatTimeout",
                                                     3600)),
                       DefaultResult=hook.get("DefaultResult", "ABANDON"))
            rec["deadline"] = peerlib.now() + rec["HeartbeatTimeout"]
        else:
            rec["LifecycleState"] = "InService"
            rec["in_service_at"] = peerlib.now()
            rec["completed_by"] = "no launch hook"
        with self.srv.lock:
            self.instances[rec["InstanceId"]] = rec
        if hook is not None:
            self.unregister_pending(g, rec)
        self.start_daemon(rec)

    def start_daemon(self, rec):
        cfg = self.cfg
        if not cfg["hookd"] or not cfg["workdir"]:
            return
        iid = rec["InstanceId"]
        base = pathlib.Path(cfg["workdir"]) / iid
        root = base / "root"
        if cfg["image"] and not root.exists():
            shutil.copytree(cfg["image"], root, symlinks=True)
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(base, 0o755)
        os.chmod(root, 0o755)
        hc = dict(cfg["hookd_config"])
        hc["root"] = str(root)
        if rec["LifecycleHookName"] and "lifecycle_hook" not in hc:
            hc["lifecycle_hook"] = rec["LifecycleHookName"]
        (base / "hookd.yml").write_text(
            "\n".join(yaml_line(k, v) for k, v in hc.items()
                      if v is not None) + "\n" + cfg["hookd_extra"])
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("AWS_") and k not in (
                   "NOTIFY_SOCKET", "DEPLOYMENT_GROUP_NAME",
                   "JOURNAL_STREAM")}
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        env.update(cfg["env"])
        url = "http://127.0.0.1:%d" % self.srv.server_address[1]
        env.update({"AWS_EC2_METADATA_SERVICE_ENDPOINT": f"{url}/i/{iid}",
                    "AWS_EC2_METADATA_DISABLED": "false",
                    "AWS_ENDPOINT_URL_AUTO_SCALING":
                    cfg["autoscaling_url"] or url})
        log = open(base / "hookd.log", "ab")
        p = subprocess.Popen(
            [cfg["hookd"], "run"] + list(cfg["args"]) +
            ["-c", str(base / "hookd.yml")], stdin=subprocess.DEVNULL,
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=str(base),
            preexec_fn=_pdeathsig)
        log.close()
        with self.srv.lock:
            self.procs[iid] = p
            rec.update(pid=p.pid, root=str(root), log=str(base /
                                                           "hookd.log"))

    def restart(self):
        """Start again the daemons POST /_peer/start asked for."""
        with self.srv.lock:
            recs = [r for r in self.instances.values() if r.get("restart")]
        for rec in recs:
            with self.srv.lock:     # state() must not see the old exit
                rec.update(restart=False, exit=None,
                           starts=rec.get("starts", 1) + 1)
                self.start_daemon(rec)

    def terminate(self, rec, why):
        with self.srv.lock:
            rec["LifecycleState"] = "Terminating"
            rec["terminated_because"] = why
            rec["terminating_at"] = peerlib.now()
            p = self.procs.get(rec["InstanceId"])
        if p is not None and p.poll() is None:
            p.send_signal(signal.SIGTERM)

    def expire(self):
        """DefaultResult for instances whose heartbeat timeout passed."""
        with self.srv.lock:
            for rec in self.instances.values():
                if rec["LifecycleState"] == "Pending:Wait" and \
                        peerlib.now() >= rec["deadline"]:
                    self.complete(rec, rec["DefaultResult"], "timeout")

    def complete(self, rec, result, by):
        """Called with the lock held; the watcher does the rest."""
        rec["result"] = result
        rec["completed_by"] = by
        if result == "CONTINUE":
            rec["LifecycleState"] = "Pending:Proceed"
        else:
            rec["LifecycleState"] = "Abandoning"

    def settle(self, live):
        """Act on completed actions: InService + traffic, or terminate."""
        with self.srv.lock:
            todo = [r for r in self.instances.values()
                    if r["LifecycleState"] in ("Pending:Proceed",
                                               "Abandoning")]
        for rec in todo:
            iid = rec["InstanceId"]
            g = live.get(iid, (None, None))[0]
            if rec["LifecycleState"] == "Abandoning":
                self.terminate(rec, "lifecycle action ABANDON")
                try:
                    self.client("autoscaling").\
                        terminate_instance_in_auto_scaling_group(
                            InstanceId=iid,
                            ShouldDecrementDesiredCapacity=False)
                except Exception as e:  # already gone
                    rec["terminate_error"] = str(e)
                continue
            if g is not None:
                self.register(g, rec)
            with self.srv.lock:
                rec["LifecycleState"] = "InService"
                rec["in_service_at"] = peerlib.now()

    def register(self, g, rec):
        iid = rec["InstanceId"]
        for arn in g.get("TargetGroupARNs", []):
            self.client("elbv2").register_targets(
                TargetGroupArn=arn, Targets=[{"Id": iid}])
            rec["targets"].append(arn)
        for lb in g.get("LoadBalancerNames", []):
            self.client("elb").register_instances_with_load_balancer(
                LoadBalancerName=lb, Instances=[{"InstanceId": iid}])
            rec["load_balancers"].append(lb)

    def unregister_pending(self, g, rec):
        """moto registers a group's instances at launch and when a target
        group or CLB is attached; one still pending is taken out again
        (once per attachment)."""
        iid = rec["InstanceId"]
        done = rec.setdefault("kept_out_of", [])
        for arn in g.get("TargetGroupARNs", []):
            if arn not in done:
                self.client("elbv2").deregister_targets(
                    TargetGroupArn=arn, Targets=[{"Id": iid}])
                done.append(arn)
        for lb in g.get("LoadBalancerNames", []):
            if lb not in done:
                self.client("elb").deregister_instances_from_load_balancer(
                    LoadBalancerName=lb, Instances=[{"InstanceId": iid}])
                done.append(lb)

    def reap(self):
        with self.srv.lock:
            recs = [r for r in self.instances.values()
                    if r["LifecycleState"] == "Terminating"]
        for rec in recs:
            p = self.procs.get(rec["InstanceId"])
            if p is not None and p.poll() is None:
                if peerlib.now() - rec["terminating_at"] > STOP_GRACE:
                    p.kill()
                continue
            for arn in rec["targets"]:
                try:
                    self.client("elbv2").deregister_targets(
                        TargetGroupArn=arn,
                        Targets=[{"Id": rec["InstanceId"]}])
                except Exception:  # the target group is gone
                    pass
            with self.srv.lock:
                rec["LifecycleState"] = "Terminated"
                rec["exit"] = None if p is None else p.returncode

    def stop_all(self):
        self.stopped.set()
        with self.srv.lock:
            procs = list(self.procs.values())
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def state(self):
        for iid, p in self.procs.items():
            rec = self.instances[iid]
            if rec.get("exit") is None and p.poll() is not None:
                rec["exit"] = p.returncode
        return {"instances": self.instances, "errors": self.errors,
                "scheduled_runs": self.scheduled_runs,
                "config": {k: v for k, v in self.cfg.items()
                           if k != "moto_keys"}}


class FleetHandler(imds_asg.IMDSASGHandler):

    moto_url = None

    @classmethod
    def server_state_init(cls, srv):
        srv.lock = threading.RLock()
        srv.st = imds_asg.new_state()
        srv.fleet = Fleet(srv, cls.moto_url)

    # --- control API ---------------------------------------------------

    def handle_control(self, method, path, body):
        srv, fleet = self.server, self.server.fleet
        with srv.lock:
            if path == "/_peer/log":
                return self.reply_json(200, srv.st["log"])
            if path == "/_peer/state":
                return self.reply_json(200, fleet.state())
            if path == "/_peer/config" and method == "POST":
                fleet.cfg.update(json.loads(body or b"{}"))
                return self.reply_json(200, {})
            if path == "/_peer/stop" and method == "POST":
                req = json.loads(body or b"{}")
                p = fleet.procs.get(req.get("instance"))
                if p is None:
                    return self.reply_json(404, {"error": "no daemon"})
                if p.poll() is None:
                    p.send_signal(int(req.get("signal", signal.SIGTERM)))
                return self.reply_json(200, {"pid": p.pid})
            if path == "/_peer/start" and method == "POST":
                return self.control_start(json.loads(body or b"{}"))
        if path == "/_peer/reset" and method == "POST":
            fleet.stop_all()
            with srv.lock:
                srv.st = imds_asg.new_state()
                srv.fleet = Fleet(srv, self.moto_url)
            return self.reply_json(200, {})
        self.reply_json(404, {"error": "no such control path"})

    def control_start(self, req):
        """The daemon of an instance started again (called with the lock
        held): a reboot, or systemd restarting hookd.  The watcher starts
        it: a daemon's PR_SET_PDEATHSIG follows the thread that forked
        it, and this request's thread ends with the request."""
        fleet = self.server.fleet
        rec = fleet.instances.get(req.get("instance"))
        if rec is None or rec["LifecycleState"] in ("Terminating",
                                                    "Terminated"):
            return self.reply_json(404, {"error": "no such instance"})
        p = fleet.procs.get(rec["InstanceId"])
        if p is not None and p.poll() is None:
            return self.reply_json(409, {"error": "its daemon runs"})
        rec["restart"] = True
        return self.reply_json(200, {})

    # --- dispatch ------------------------------------------------------

    def dispatch(self):
        body = self.read_body()
        srv = self.server
        entry = {"t": peerlib.now(), "method": self.command,
                 "path": self.path, "status": None}
        try:
            path = urllib.parse.urlsplit(self.path).path
            if path.startswith("/i/"):
                self.imds(entry)
            elif self.command == "POST" and path == "/":
                self.autoscaling(entry, body)
            else:
                entry["status"] = 404
                self.reply(404, "not found")
        finally:
            with srv.lock:
                srv.st["log"].append(entry)
                del srv.st["log"][:-5000]

    def imds_identity(self, path):
        m = re.match(r"^/i/([^/]+)(/latest/.*)$", path)
        rec = m and self.server.fleet.instances.get(m.group(1))
        if rec is None or rec["LifecycleState"] == "Terminated":
            return None, path
        cfg = copy.deepcopy(imds_asg.DEFAULTS)
        cfg.update(instance_id=rec["InstanceId"],
                   availability_zone=rec["AvailabilityZone"],
                   region=self.server.fleet.cfg["region"],
                   tags=rec["tags"] if self.server.fleet.cfg["imds_tags"]
                   else {}, role=None)
        return cfg, m.group(2)

    # --- Auto Scaling --------------------------------------------------

    def autoscaling(self, entry, body):
        p = peerlib.parse_form(body)
        entry["kind"] = "autoscaling"
        entry["action"] = action = p.get("Action")
        entry["params"] = p
        if action in LOCAL_ACTIONS:
            return self.local(entry, p, body)
        status, ctype, data = self.forward(body)
        entry["status"] = status
        if status == 200 and action in REWRITTEN:
            try:
                data = self.rewrite(action, p, data)
            except ET.ParseError:
                pass
        self.reply(status, data, ctype)

    def local(self, entry, p, body):
        fleet = self.server.fleet

        def lookup(ak):
            sk = fleet.cfg["moto_keys"].get(ak)
            return None if sk is None else (sk, None, None)
        try:
            ak, entry["region"], svc = peerlib.verify_sigv4(
                self.command, self.path, self.headers, body, lookup)
        except peerlib.SigV4Error as e:
            entry["status"] = e.status
            return self.reply(e.status, peerlib.query_error_xml(
                e.code, e.message), "text/xml")
        with self.server.lock:
            fleet.expire()
            rec, err = self.find(p)
            if err is not None:
                status, out = err
            elif p["Action"] == "CompleteLifecycleAction":
                res = p.get("LifecycleActionResult")
                if res not in ("CONTINUE", "ABANDON"):
                    status, out = self.verr("LifecycleActionResult must be "
                                            "CONTINUE or ABANDON")
                else:
                    fleet.complete(rec, res, "CompleteLifecycleAction")
                    status, out = self.ok("CompleteLifecycleAction")
            else:
                rec["deadline"] = peerlib.now() + rec["HeartbeatTimeout"]
                rec["heartbeats"] += 1
                status, out = self.ok("RecordLifecycleActionHeartbeat")
        entry["status"] = status
        self.reply(status, out, "text/xml")

    def find(self, p):
        iid, tok = p.get("InstanceId"), p.get("LifecycleActionToken")
        for k in ("AutoScalingGroupName", "LifecycleHookName"):
            if not p.get(k):
                return None, self.verr(f"{k} is required")
        for rec in self.server.fleet.instances.values():
            if rec["LifecycleState"] != "Pending:Wait":
                continue
            if iid is not None and rec["InstanceId"] != iid:
                continue
            if tok is not None and rec["LifecycleActionToken"] != tok:
                continue
            if rec["AutoScalingGroupName"] != p["AutoScalingGroupName"] or \
                    rec["LifecycleHookName"] != p["LifecycleHookName"]:
                continue
            return rec, None
        what = f"instance ID {iid}" if iid else f"token {tok}"
        return None, self.verr(f"No active Lifecycle Action found with "
                               f"{what}")

    def forward(self, body):
        u = urllib.parse.urlsplit(self.moto_url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            hdrs = {k: v for k, v in self.headers.items()
                    if k.lower() not in peerlib.HOP_BY_HOP and
                    k.lower() != "content-length"}
            hdrs["Content-Length"] = str(len(body))
            conn.putrequest(self.command, self.path, skip_host=True,
                            skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            conn.endheaders(body)
            r = conn.getresponse()
            return r.status, r.getheader("Content-Type", "text/xml"), \
                r.read()
        except OSError as e:
            return 502, "text/plain", ("moto: %r" % e).encode()
        finally:
            conn.close()

    def rewrite(self, action, p, data):
        """moto's reply with the lifecycle states held here.  An instance
        of a watched group the watcher has not seen yet is "Pending" (as
        in AWS before the launch hook holds it), never moto's InService."""
        root = ET.fromstring(data)
        fleet = self.server.fleet
        recs = fleet.instances
        seen = set()

        def q(tag):
            return f"{{{NS}}}{tag}"

        def fix(m, group):
            iid, st = m.find(q("InstanceId")), m.find(q("LifecycleState"))
            if iid is None or st is None:
                return
            seen.add(iid.text)
            rec = recs.get(iid.text)
            if rec is not None:
                st.text = rec["LifecycleState"]
                if st.text == "Abandoning":
                    st.text = "Terminating"
            elif group is not None and any(
                    group.startswith(x) for x in fleet.cfg["group_prefixes"]):
                st.text = "Pending"
        if action == "DescribeAutoScalingGroups":
            for g in root.iter(q("member")):
                name, insts = g.find(q("AutoScalingGroupName")), \
                    g.find(q("Instances"))
                if name is None or insts is None:
                    continue
                for m in insts.findall(q("member")):
                    fix(m, name.text)
        else:
            for m in root.iter(q("member")):
                g = m.find(q("AutoScalingGroupName"))
                fix(m, None if g is None else g.text)
        if action == "DescribeAutoScalingInstances":
            # An instance moto dropped whose daemon still stops.
            ids = [v for k, v in p.items()
                   if k.startswith("InstanceIds.member.")]
            parent = root.find(f".//{{{NS}}}AutoScalingInstances")
            for iid, rec in recs.items():
                if iid in seen or rec["LifecycleState"] != "Terminating" or \
                        (ids and iid not in ids) or parent is None:
                    continue
                m = ET.SubElement(parent, f"{{{NS}}}member")
                for k, v in (("InstanceId", iid),
                             ("InstanceType", "t3.micro"),
                             ("AutoScalingGroupName",
                              rec["AutoScalingGroupName"]),
                             ("AvailabilityZone", rec["AvailabilityZone"]),
                             ("LifecycleState", "Terminating"),
                             ("HealthStatus", "HEALTHY"),
                             ("ProtectedFromScaleIn", "false")):
                    ET.SubElement(m, f"{{{NS}}}{k}").text = v
        return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def main():
    FleetHandler.moto_url = sys.argv[1].rstrip("/")
    srv = peerlib.Server(("127.0.0.1", 0), FleetHandler)
    FleetHandler.server_state_init(srv)

    def bye(signum, frame):
        srv.fleet.stop_all()
        os._exit(0)
    signal.signal(signal.SIGTERM, bye)
    print("READY", srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        srv.fleet.stop_all()


if __name__ == "__main__":
    main()
