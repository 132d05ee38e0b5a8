#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Our peer for what moto lacks: IMDSv2 and the lifecycle-action calls.

One HTTP server answers two protocols, told apart by path:
  /latest/...   IMDSv2: PUT /latest/api/token first, then GETs carrying
                X-aws-ec2-metadata-token (401 without a valid one).  Role
                credentials carry a short Expiration so clients must
                refresh; each fetch issues the next credential set.
  POST /        Auto Scaling Query API (Version=2011-01-01):
                CompleteLifecycleAction, RecordLifecycleActionHeartbeat,
                DescribeAutoScalingInstances, PutLifecycleHook,
                DescribeLifecycleHooks.  Every request's SigV4 signature is
                verified with botocore; instances launched into a group with
                a launch hook stay in Pending:Wait until completed or until
                their heartbeat timeout passes (then DefaultResult applies).
  /_peer/...    the control API for tests: POST /_peer/config (JSON, merged
                into the configuration), GET /_peer/log (requests received),
                GET /_peer/state, POST /_peer/reset.

Run: python3 imds_asg.py   -> prints "READY <port>", serves 127.0.0.1.
"""
import copy
import datetime
import json
import secrets
import threading
import urllib.parse

import peerlib
from peerlib import xml_escape as esc

NS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"

DEFAULTS = {
    "instance_id": "i-0123456789abcdef0",
    "region": "us-east-1",
    "availability_zone": "us-east-1a",
    "account_id": "123456789012",
    "tags": {"hookd:deployment-group": "production", "Name": "web-1"},
    "role": "hookd-instance-role",
    "cred_ttl": 3600,          # seconds until an issued credential expires
    "credentials": [],         # fixed sets to issue in turn (else random)
    "static_keys": {},         # access key -> secret accepted for Query calls
    "expired_sets": 0,         # the first N issued sets are refused as
                               # ExpiredToken (tests the 403 refresh path)
    "token_ttl_max": 21600,
    "imds_enabled": True,
    "groups": {},              # name -> {"hooks": {name: hook}}
    "instances": {},           # id -> instance record
}


def new_state():
    return {"config": copy.deepcopy(DEFAULTS), "tokens": {}, "issued": {},
            "fetches": 0, "log": []}


class IMDSASGHandler(peerlib.Handler):

    @classmethod
    def server_state_init(cls, srv):
        srv.lock = threading.Lock()
        srv.st = new_state()

    # --- control API ---------------------------------------------------

    def handle_control(self, method, path, body):
        srv = self.server
        with srv.lock:
            if path == "/_peer/log":
                return self.reply_json(200, srv.st["log"])
            if path == "/_peer/state":
                return self.reply_json(200, {
                    "instances": srv.st["config"]["instances"],
                    "groups": srv.st["config"]["groups"],
                    "credential_fetches": srv.st["fetches"]})
            if path == "/_peer/reset" and method == "POST":
                srv.st = new_state()
                return self.reply_json(200, {})
            if path == "/_peer/config" and method == "POST":
                cfg = json.loads(body or b"{}")
                srv.st["config"].update(cfg)
                for gname, g in srv.st["config"]["groups"].items():
                    for hname, hook in g.setdefault("hooks", {}).items():
                        hook.setdefault("LifecycleHookName", hname)
                        hook.setdefault("AutoScalingGroupName", gname)
                        hook.setdefault("LifecycleTransition",
                                        "autoscaling:EC2_INSTANCE_LAUNCHING")
                        hook.setdefault("HeartbeatTimeout", "3600")
                        hook.setdefault("DefaultResult", "ABANDON")
                for iid, inst in srv.st["config"]["instances"].items():
                    inst.setdefault("InstanceId", iid)
                    self._arm(inst)
                return self.reply_json(200, srv.st["config"])
        self.reply_json(404, {"error": "no such control path"})

    def _arm(self, inst):
        """Give a Pending:Wait instance its token and deadline."""
        inst.setdefault("LifecycleState", "Pending:Wait")
        inst.setdefault("HealthStatus", "HEALTHY")
        inst.setdefault("AvailabilityZone", "us-east-1a")
        inst.setdefault("heartbeats", 0)
        if inst["LifecycleState"] == "Pending:Wait":
            inst.setdefault("LifecycleActionToken", secrets.token_hex(16))
            hook = self._hook(inst)
            hb = int(hook.get("HeartbeatTimeout", 3600)) if hook else 3600
            inst.setdefault("deadline", peerlib.now() + hb)

    def _hook(self, inst):
        g = self.server.st["config"]["groups"].get(
            inst.get("AutoScalingGroupName"), {})
        return g.get("hooks", {}).get(inst.get("LifecycleHookName"))

    def _expire(self):
        """Apply DefaultResult to instances whose heartbeat timed out."""
        for inst in self.server.st["config"]["instances"].values():
            if inst.get("LifecycleState") == "Pending:Wait" and \
                    peerlib.now() >= inst.get("deadline", float("inf")):
                hook = self._hook(inst) or {}
                res = hook.get("DefaultResult", "ABANDON")
                inst["LifecycleState"] = ("InService" if res == "CONTINUE"
                                          else "Terminating")
                inst["result"] = res
                inst["completed_by"] = "timeout"

    # --- dispatch ------------------------------------------------------

    def dispatch(self):
        body = self.read_body()
        srv = self.server
        entry = {"t": peerlib.now(), "method": self.command,
                 "path": self.path, "has_auth": "Authorization" in
                 self.headers, "status": None}
        try:
            if self.path.startswith("/latest/"):
                self.imds(entry)
            elif self.command == "POST" and \
                    urllib.parse.urlsplit(self.path).path == "/":
                self.query(entry, body)
            else:
                entry["status"] = 404
                self.reply(404, "not found")
        finally:
            with srv.lock:
                srv.st["log"].append(entry)

    # --- IMDSv2 --------------------------------------------------------

    def imds(self, entry):
        srv = self.server
        entry["kind"] = "imds"
        path = urllib.parse.urlsplit(self.path).path
        with srv.lock:
            cfg, path = self.imds_identity(path)
            if cfg is None or not cfg["imds_enabled"]:
                entry["status"] = 404
                return self.reply(404, "")
            if path == "/latest/api/token":
                if self.command != "PUT":
                    entry["status"] = 405
                    return self.reply(405, "")
                try:
                    ttl = int(self.headers.get(
                        "X-aws-ec2-metadata-token-ttl-seconds", ""))
                except ValueError:
                    ttl = 0
                if not 1 <= ttl <= cfg["token_ttl_max"]:
                    entry["status"] = 400
                    return self.reply(400, "")
                tok = "AQAE" + secrets.token_urlsafe(24)
                srv.st["tokens"][tok] = peerlib.now() + ttl
                entry["status"] = 200
                return self.reply(200, tok, headers={
                    "X-aws-ec2-metadata-token-ttl-seconds": str(ttl)})
            tok = self.headers.get("X-aws-ec2-metadata-token")
            exp = srv.st["tokens"].get(tok)
            if exp is None or peerlib.now() >= exp:
                entry["status"] = 401
                return self.reply(401, "")
            if self.command != "GET":
                entry["status"] = 405
                return self.reply(405, "")
            status, body, ctype = self.imds_get(path, cfg)
            entry["status"] = status
        self.reply(status, body, ctype)

    def imds_identity(self, path):
        """(configuration, path below the endpoint) of the instance a
        metadata request is for: here the one configured instance; the
        fleet peer (fleet.py) serves one per instance under /i/ID/."""
        return self.server.st["config"], path

    def imds_get(self, path, cfg):
        md = "/latest/meta-data/"
        if path == md + "instance-id":
            return 200, cfg["instance_id"], "text/plain"
        if path == md + "placement/region":
            return 200, cfg["region"], "text/plain"
        if path == md + "placement/availability-zone":
            return 200, cfg["availability_zone"], "text/plain"
        if path == md + "tags/instance" or path == md + "tags/instance/":
            return 200, "\n".join(cfg["tags"]), "text/plain"
        if path.startswith(md + "tags/instance/"):
            key = urllib.parse.unquote(path[len(md + "tags/instance/"):])
            if key in cfg["tags"]:
                return 200, cfg["tags"][key], "text/plain"
            return 404, "", "text/plain"
        if path == md + "iam/security-credentials/":
            if not cfg["role"]:
                return 404, "", "text/plain"
            return 200, cfg["role"], "text/plain"
        if path == md + "iam/security-credentials/" + str(cfg["role"]):
            return 200, self.issue_credentials(cfg), "application/json"
        if path == "/latest/dynamic/instance-identity/document":
            doc = {"accountId": cfg["account_id"],
                   "architecture": "x86_64",
                   "availabilityZone": cfg["availability_zone"],
                   "imageId": "ami-5fb8c835",
                   "instanceId": cfg["instance_id"],
                   "instanceType": "t3.micro",
                   "pendingTime": "2026-01-01T00:00:00Z",
                   "privateIp": "10.0.0.10",
                   "region": cfg["region"], "version": "2017-09-30"}
            return 200, json.dumps(doc, indent=2), "application/json"
        return 404, "", "text/plain"

    def issue_credentials(self, cfg):
        st = self.server.st
        n = st["fetches"]
        st["fetches"] += 1
        sets = cfg["credentials"]
        if sets:
            c = dict(sets[min(n, len(sets) - 1)])
        else:
            c = {"AccessKeyId": "ASIAPEER%012d" % n,
                 "SecretAccessKey": secrets.token_urlsafe(30),
                 "Token": "peer-token-" + secrets.token_hex(8)}
        exp = peerlib.utcnow() + datetime.timedelta(seconds=cfg["cred_ttl"])
        # A set the test wants refused is recorded as already expired, so
        # the Query API answers 403 ExpiredToken although the document
        # below promises a later Expiration (as after a revocation).
        really = (peerlib.utcnow() if n < cfg["expired_sets"] else exp)
        st["issued"][c["AccessKeyId"]] = (c["SecretAccessKey"],
                                          c.get("Token"), really)
        doc = {"Code": "Success",
               "LastUpdated": peerlib.iso8601(peerlib.utcnow()),
               "Type": "AWS-HMAC", "AccessKeyId": c["AccessKeyId"],
               "SecretAccessKey": c["SecretAccessKey"],
               "Token": c.get("Token", ""),
               "Expiration": peerlib.iso8601(exp)}
        return json.dumps(doc, indent=2)

    # --- Auto Scaling Query API ----------------------------------------

    def lookup(self, ak):
        st = self.server.st
        if ak in st["issued"]:
            return st["issued"][ak]
        sk = st["config"]["static_keys"].get(ak)
        return None if sk is None else (sk, None, None)

    def query(self, entry, body):
        srv = self.server
        entry["kind"] = "autoscaling"
        p = peerlib.parse_form(body)
        entry["action"] = p.get("Action")
        entry["params"] = p
        m = peerlib.AUTH_RE.match(self.headers.get("Authorization", ""))
        entry["access_key"] = m.group(1) if m else None
        with srv.lock:
            try:
                ak, entry["region"], svc = peerlib.verify_sigv4(
                    self.command, self.path, self.headers, body, self.lookup)
            except peerlib.SigV4Error as e:
                entry["status"] = e.status
                entry["error"] = e.code
                return self.reply(e.status, peerlib.query_error_xml(
                    e.code, e.message), "text/xml")
            entry["access_key"] = ak
            if svc != "autoscaling":
                entry["status"] = 400
                return self.reply(400, peerlib.query_error_xml(
                    "InvalidAction", "credential scope names service "
                    + svc), "text/xml")
            if p.get("Version") != "2011-01-01":
                entry["status"] = 400
                return self.reply(400, peerlib.query_error_xml(
                    "InvalidParameterValue", "bad Version"), "text/xml")
            self._expire()
            fn = getattr(self, "op_" + str(p.get("Action")), None)
            if fn is None:
                status, out = 400, peerlib.query_error_xml(
                    "InvalidAction", "unknown action " + str(p.get("Action")))
            else:
                status, out = fn(p)
            entry["status"] = status
        self.reply(status, out, "text/xml")

    def ok(self, action, result=""):
        inner = (f"  <{action}Result>{result}</{action}Result>\n"
                 if result else f"  <{action}Result/>\n")
        return 200, (f'<{action}Response xmlns="{NS}">\n{inner}'
                     f"  <ResponseMetadata><RequestId>{peerlib.request_id()}"
                     f"</RequestId></ResponseMetadata>\n"
                     f"</{action}Response>\n").encode()

    def verr(self, msg):
        return 400, peerlib.query_error_xml("ValidationError", msg)

    def _find_action(self, p):
        """The Pending:Wait instance a lifecycle call refers to."""
        insts = self.server.st["config"]["instances"]
        iid, tok = p.get("InstanceId"), p.get("LifecycleActionToken")
        for k in ("AutoScalingGroupName", "LifecycleHookName"):
            if not p.get(k):
                return None, self.verr(f"{k} is required")
        if iid is None and tok is None:
            return None, self.verr("Either InstanceId or LifecycleActionToken"
                                   " must be specified")
        for inst in insts.values():
            if inst.get("LifecycleState") != "Pending:Wait":
                continue
            if iid is not None and inst["InstanceId"] != iid:
                continue
            if tok is not None and inst["LifecycleActionToken"] != tok:
                continue
            if inst.get("AutoScalingGroupName") != \
                    p["AutoScalingGroupName"] or \
                    inst.get("LifecycleHookName") != p["LifecycleHookName"]:
                continue
            return inst, None
        if iid is not None:
            return None, self.verr("No active Lifecycle Action found with "
                                   f"instance ID {iid}")
        return None, self.verr("No active Lifecycle Action found with token "
                               f"{tok}")

    def op_CompleteLifecycleAction(self, p):
        res = p.get("LifecycleActionResult")
        if res not in ("CONTINUE", "ABANDON"):
            return self.verr("LifecycleActionResult must be CONTINUE or "
                             "ABANDON")
        inst, err = self._find_action(p)
        if err:
            return err
        inst["LifecycleState"] = ("InService" if res == "CONTINUE"
                                  else "Terminating")
        inst["result"] = res
        inst["completed_by"] = "CompleteLifecycleAction"
        return self.ok("CompleteLifecycleAction")

    def op_RecordLifecycleActionHeartbeat(self, p):
        inst, err = self._find_action(p)
        if err:
            return err
        hook = self._hook(inst) or {}
        inst["deadline"] = peerlib.now() + int(
            hook.get("HeartbeatTimeout", 3600))
        inst["heartbeats"] += 1
        return self.ok("RecordLifecycleActionHeartbeat")

    def op_DescribeAutoScalingInstances(self, p):
        insts = self.server.st["config"]["instances"]
        ids = [v for k, v in sorted(p.items(), key=lambda kv: kv[0])
               if k.startswith("InstanceIds.member.")]
        out = []
        for inst in insts.values():
            if ids and inst["InstanceId"] not in ids:
                continue
            out.append(
                "      <member>\n"
                f"        <InstanceId>{esc(inst['InstanceId'])}</InstanceId>\n"
                "        <InstanceType>t3.micro</InstanceType>\n"
                "        <AutoScalingGroupName>"
                f"{esc(inst.get('AutoScalingGroupName', ''))}"
                "</AutoScalingGroupName>\n"
                f"        <AvailabilityZone>{esc(inst['AvailabilityZone'])}"
                "</AvailabilityZone>\n"
                f"        <LifecycleState>{esc(inst['LifecycleState'])}"
                "</LifecycleState>\n"
                f"        <HealthStatus>{esc(inst['HealthStatus'])}"
                "</HealthStatus>\n"
                "        <ProtectedFromScaleIn>false</ProtectedFromScaleIn>\n"
                "      </member>\n")
        return self.ok("DescribeAutoScalingInstances",
                       "\n    <AutoScalingInstances>\n" + "".join(out) +
                       "    </AutoScalingInstances>\n  ")

    HOOK_FIELDS = ("LifecycleHookName", "AutoScalingGroupName",
                   "LifecycleTransition", "NotificationTargetARN", "RoleARN",
                   "NotificationMetadata", "HeartbeatTimeout",
                   "GlobalTimeout", "DefaultResult")

    def op_PutLifecycleHook(self, p):
        name, group = p.get("LifecycleHookName"), p.get("AutoScalingGroupName")
        if not name or not group:
            return self.verr("LifecycleHookName and AutoScalingGroupName "
                             "are required")
        groups = self.server.st["config"]["groups"]
        g = groups.setdefault(group, {"hooks": {}})
        hook = g["hooks"].setdefault(name, {})
        hook.update({k: v for k, v in p.items() if k in self.HOOK_FIELDS})
        hook.setdefault("HeartbeatTimeout", "3600")
        hook.setdefault("DefaultResult", "ABANDON")
        hook["GlobalTimeout"] = str(int(hook["HeartbeatTimeout"]) * 100)
        return self.ok("PutLifecycleHook")

    def op_DescribeLifecycleHooks(self, p):
        group = p.get("AutoScalingGroupName")
        groups = self.server.st["config"]["groups"]
        if group not in groups:
            return self.verr(f"Group {group} not found")
        names = [v for k, v in p.items()
                 if k.startswith("LifecycleHookNames.member.")]
        out = []
        for name, hook in sorted(groups[group].get("hooks", {}).items()):
            if names and name not in names:
                continue
            fields = "".join(f"        <{k}>{esc(hook[k])}</{k}>\n"
                             for k in self.HOOK_FIELDS if k in hook)
            out.append(f"      <member>\n{fields}      </member>\n")
        return self.ok("DescribeLifecycleHooks",
                       "\n    <LifecycleHooks>\n" + "".join(out) +
                       "    </LifecycleHooks>\n  ")


if __name__ == "__main__":
    peerlib.serve(IMDSASGHandler)
