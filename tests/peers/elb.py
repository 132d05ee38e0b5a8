#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""Our scripted load balancer: the Elastic Load Balancing Query APIs, with
targets whose states move in time as a test scripts them (moto answers
"unused" / "healthy" at once, so it cannot show a drain that lasts).

One HTTP server, POST / with a form body, told apart by Version:
  2015-12-01  ELBv2: RegisterTargets, DeregisterTargets,
              DescribeTargetHealth, DescribeTargetGroups,
              DescribeTargetGroupAttributes
  2012-06-01  Classic: RegisterInstancesWithLoadBalancer,
              DeregisterInstancesFromLoadBalancer, DescribeInstanceHealth,
              DescribeLoadBalancers
Every request's SigV4 signature is verified with botocore (service
elasticloadbalancing, keys from "static_keys"); a bad one gets 403.

What a target does, per (target group or load balancer, instance), from
its script (defaults from the target group / load balancer, then 0):
  initial: N     after a register, "initial" (Classic: OutOfService, ELB
                 "Instance registration is still in progress.") for N s
  unhealthy: {"reason": R, "description": D}
                 once registered (and past initial), held "unhealthy"
                 (Classic: OutOfService with ReasonCode Instance)
  drain: N       after a deregister, "draining" (Classic: InService,
                 "Instance deregistration currently in progress.") for N s
  never_drains: true   draining forever
ELBv2 then says "unused" / Target.NotRegistered; Classic answers
DescribeInstanceHealth for it with the error InvalidInstance, as AWS does.
Deregistering an ELBv2 target that is neither registered nor draining
answers InvalidTarget (as moto does); a Classic one succeeds.

Control API (JSON), for tests:
  POST /_peer/config   merged into the configuration:
      {"static_keys": {AK: SK},
       "target_groups": {NAME: {"deregistration_delay": 300,
                                "health_check_interval": 30,
                                "registered": [ID...], "drain": N, ...}},
       "load_balancers": {NAME: {"registered": [ID...], ...}}}
      a target group's ARN is
      arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/NAME/
      0123456789abcdef; instances in "registered" start healthy.
  POST /_peer/script   {"lb": NAME|ARN, "instance": ID, "drain": N, ...}
      (merged into that target's script; null removes a key)
  POST /_peer/throttle {"action": A, "times": N}: answer A with 400
      Throttling N times
  GET  /_peer/log      every request: t, api (elbv2|elb), action, lb,
                       instance, status, error, access_key, params
  GET  /_peer/state    each target's state now: {LB: {ID: [state, reason]}}
  POST /_peer/reset    back to an empty configuration
Run: python3 elb.py   -> prints "READY <port>", serves 127.0.0.1.
"""
import json
import threading

import peerlib
from peerlib import xml_escape as esc

V2, CLASSIC = "2015-12-01", "2012-06-01"
NS = "http://elasticloadbalancing.amazonaws.com/doc/%s/"
ARN = ("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/"
       "%s/0123456789abcdef")
SCRIPT_KEYS = ("initial", "unhealthy", "drain", "never_drains")


def new_state():
    return {"config": {"static_keys": {}, "target_groups": {},
                       "load_balancers": {}},
            "targets": {},      # (kind, lb name) -> {id: record}
            "throttle": {},     # action -> answers left
            "log": []}


class ELBHandler(peerlib.Handler):

    @classmethod
    def server_state_init(cls, srv):
        srv.lock = threading.Lock()
        srv.st = new_state()

    # --- control API ---------------------------------------------------

    def handle_control(self, method, path, body):
        srv = self.server
        with srv.lock:
            st = srv.st
            if path == "/_peer/log":
                return self.reply_json(200, st["log"])
            if path == "/_peer/state":
                return self.reply_json(200, self.snapshot())
            if path == "/_peer/reset" and method == "POST":
                srv.st = new_state()
                return self.reply_json(200, {})
            if path == "/_peer/config" and method == "POST":
                cfg = json.loads(body or b"{}")
                for k in ("static_keys", "target_groups", "load_balancers"):
                    st["config"][k].update(cfg.get(k, {}))
                now = peerlib.now()
                for kind, key in (("elbv2", "target_groups"),
                                  ("elb", "load_balancers")):
                    for name, lb in cfg.get(key, {}).items():
                        recs = st["targets"].setdefault((kind, name), {})
                        for iid in lb.get("registered", []):
                            recs[iid] = {"registered": True, "t": now,
                                         "script": {"initial": 0}}
                return self.reply_json(200, st["config"])
            if path == "/_peer/script" and method == "POST":
                s = json.loads(body or b"{}")
                kind, name = self.find_lb(s.get("lb", ""))
                if name is None:
                    return self.reply_json(404, {"error": "no such lb"})
                rec = self.record(kind, name, s["instance"])
                for k in SCRIPT_KEYS:
                    if k in s:
                        if s[k] is None:
                            rec["script"].pop(k, None)
                        else:
                            rec["script"][k] = s[k]
                return self.reply_json(200, rec)
            if path == "/_peer/throttle" and method == "POST":
                t = json.loads(body or b"{}")
                st["throttle"][t["action"]] = int(t.get("times", 1))
                return self.reply_json(200, st["throttle"])
        self.reply_json(404, {"error": "no such control path"})

    def find_lb(self, name):
        """(kind, name) of a target group (name or ARN) or Classic LB."""
        cfg = self.server.st["config"]
        for tg in cfg["target_groups"]:
            if name in (tg, ARN % tg):
                return "elbv2", tg
        if name in cfg["load_balancers"]:
            return "elb", name
        return None, None

    def record(self, kind, name, iid):
        recs = self.server.st["targets"].setdefault((kind, name), {})
        return recs.setdefault(iid, {"registered": False, "t": None,
                                     "script": {}})

    def lb_config(self, kind, name):
        key = "target_groups" if kind == "elbv2" else "load_balancers"
        return self.server.st["config"][key].get(name, {})

    def script_value(self, kind, name, rec, key):
        if key in rec["script"]:
            return rec["script"][key]
        return self.lb_config(kind, name).get(key)

    def health(self, kind, name, iid):
        """(state, reason code, description) of a target now; None for a
        Classic instance the load balancer does not hold."""
        rec = self.server.st["targets"].get((kind, name), {}).get(iid)
        now = peerlib.now()
        v2 = kind == "elbv2"
        if rec is not None and rec["registered"]:
            initial = self.script_value(kind, name, rec, "initial") or 0
            if now - rec["t"] < initial:
                return (("initial", "Elb.RegistrationInProgress",
                         "Target registration is in progress") if v2 else
                        ("OutOfService", "ELB",
                         "Instance registration is still in progress."))
            bad = self.script_value(kind, name, rec, "unhealthy")
            if bad:
                return (("unhealthy" if v2 else "OutOfService"),
                        bad.get("reason", "Target.FailedHealthChecks"
                                if v2 else "Instance"),
                        bad.get("description", "Health checks failed"))
            return ("healthy", None, None) if v2 else \
                ("InService", "N/A", "N/A")
        if rec is not None and rec["t"] is not None:
            drain = self.script_value(kind, name, rec, "drain") or 0
            if self.script_value(kind, name, rec, "never_drains") or \
                    now - rec["t"] < drain:
                return (("draining", "Target.DeregistrationInProgress",
                         "Target deregistration is in progress") if v2 else
                        ("InService", "ELB",
                         "Instance deregistration currently in progress."))
        if v2:
            return ("unused", "Target.NotRegistered",
                    "Target is not registered to the target group")
        return None

    def snapshot(self):
        out = {}
        for (kind, name), recs in self.server.st["targets"].items():
            lb = ARN % name if kind == "elbv2" else name
            out[lb] = {}
            for iid in recs:
                h = self.health(kind, name, iid)
                out[lb][iid] = [h[0], h[2]] if h else ["gone", None]
        return out

    # --- the Query APIs -------------------------------------------------

    def lookup(self, ak):
        sk = self.server.st["config"]["static_keys"].get(ak)
        return None if sk is None else (sk, None, None)

    def dispatch(self):
        body = self.read_body()
        srv = self.server
        p = peerlib.parse_form(body)
        version = p.get("Version")
        kind = "elbv2" if version == V2 else "elb"
        entry = {"t": peerlib.now(), "api": kind, "action": p.get("Action"),
                 "lb": p.get("TargetGroupArn") or p.get("LoadBalancerName")
                 or p.get("Names.member.1")
                 or p.get("TargetGroupArns.member.1")
                 or p.get("LoadBalancerNames.member.1"),
                 "instance": p.get("Targets.member.1.Id")
                 or p.get("Instances.member.1.InstanceId"),
                 "params": p, "status": None, "error": None}
        m = peerlib.AUTH_RE.match(self.headers.get("Authorization", ""))
        entry["access_key"] = m.group(1) if m else None
        with srv.lock:
            status, out = self.answer(kind, version, p, body, entry)
            entry["status"] = status
            srv.st["log"].append(entry)
        self.reply(status, out, "text/xml")

    def error(self, kind, status, code, message, entry):
        entry["error"] = code
        return status, peerlib.query_error_xml(
            code, message, ns=NS % (V2 if kind == "elbv2" else CLASSIC))

    def answer(self, kind, version, p, body, entry):
        if self.command != "POST" or self.path.split("?")[0] != "/":
            return self.error(kind, 404, "NotFound", "not found", entry)
        try:
            _, _, svc = peerlib.verify_sigv4(self.command, self.path,
                                             self.headers, body, self.lookup)
        except peerlib.SigV4Error as e:
            return self.error(kind, e.status, e.code, e.message, entry)
        if svc != "elasticloadbalancing":
            return self.error(kind, 400, "InvalidAction", "credential scope"
                              " names service " + svc, entry)
        if version not in (V2, CLASSIC):
            return self.error(kind, 400, "InvalidParameterValue",
                              f"bad Version {version}", entry)
        action = p.get("Action")
        left = self.server.st["throttle"].get(action, 0)
        if left > 0:
            self.server.st["throttle"][action] = left - 1
            return self.error(kind, 400, "Throttling", "Rate exceeded",
                              entry)
        fn = getattr(self, f"{kind}_{action}", None)
        if fn is None:
            return self.error(kind, 400, "InvalidAction",
                              f"unknown action {action}", entry)
        try:
            return fn(p, entry)
        except KeyError as e:
            return self.error(kind, 400, "ValidationError",
                              f"missing parameter {e}", entry)

    def ok(self, kind, action, result=""):
        ns = NS % (V2 if kind == "elbv2" else CLASSIC)
        return 200, (f'<{action}Response xmlns="{ns}">\n'
                     f"  <{action}Result>{result}</{action}Result>\n"
                     f"  <ResponseMetadata><RequestId>{peerlib.request_id()}"
                     f"</RequestId></ResponseMetadata>\n"
                     f"</{action}Response>\n").encode()

    def target_group(self, arn, entry):
        kind, name = self.find_lb(arn)
        if kind != "elbv2" or not arn.startswith("arn:"):
            return None, self.error("elbv2", 400, "TargetGroupNotFound",
                                    f"Target groups '{arn}' not found",
                                    entry)
        return name, None

    def classic(self, name, entry):
        kind, _ = self.find_lb(name)
        if kind != "elb":
            return None, self.error("elb", 400, "LoadBalancerNotFound",
                                    f"There is no ACTIVE Load Balancer "
                                    f"named '{name}'", entry)
        return name, None

    # ELBv2

    def elbv2_RegisterTargets(self, p, entry):
        name, err = self.target_group(p["TargetGroupArn"], entry)
        if err:
            return err
        rec = self.record("elbv2", name, p["Targets.member.1.Id"])
        if not rec["registered"]:
            rec.update(registered=True, t=peerlib.now())
        return self.ok("elbv2", "RegisterTargets")

    def elbv2_DeregisterTargets(self, p, entry):
        name, err = self.target_group(p["TargetGroupArn"], entry)
        if err:
            return err
        iid = p["Targets.member.1.Id"]
        rec = self.record("elbv2", name, iid)
        if not rec["registered"]:
            if self.health("elbv2", name, iid)[0] == "draining":
                return self.ok("elbv2", "DeregisterTargets")
            return self.error("elbv2", 400, "InvalidTarget",
                              "The specified target does not exist, is not "
                              "in the same VPC as the target group, or has "
                              "an unsupported instance type.", entry)
        rec.update(registered=False, t=peerlib.now())
        return self.ok("elbv2", "DeregisterTargets")

    def elbv2_DescribeTargetHealth(self, p, entry):
        name, err = self.target_group(p["TargetGroupArn"], entry)
        if err:
            return err
        ids = [v for k, v in sorted(p.items())
               if k.startswith("Targets.member.") and k.endswith(".Id")]
        if not ids:
            ids = [i for i, r in self.server.st["targets"].get(
                ("elbv2", name), {}).items() if r["registered"]]
        port = self.lb_config("elbv2", name).get("port", 80)
        out = []
        for iid in ids:
            state, code, desc = self.health("elbv2", name, iid)
            th = f"<State>{state}</State>"
            if code:
                th += (f"<Reason>{esc(code)}</Reason>"
                       f"<Description>{esc(desc)}</Description>")
            out.append(f"<member><HealthCheckPort>traffic-port"
                       f"</HealthCheckPort><TargetHealth>{th}</TargetHealth>"
                       f"<Target><Port>{port}</Port><Id>{esc(iid)}</Id>"
                       f"</Target></member>")
        return self.ok("elbv2", "DescribeTargetHealth",
                       "<TargetHealthDescriptions>" + "".join(out) +
                       "</TargetHealthDescriptions>")

    def elbv2_DescribeTargetGroups(self, p, entry):
        want = p.get("TargetGroupArns.member.1") or p.get("Names.member.1")
        tgs = self.server.st["config"]["target_groups"]
        names = list(tgs) if want is None else \
            [n for n in tgs if want in (n, ARN % n)]
        if want is not None and not names:
            return self.error("elbv2", 400, "TargetGroupNotFound",
                              "One or more target groups not found", entry)
        out = "".join(
            f"<member><TargetGroupArn>{esc(ARN % n)}</TargetGroupArn>"
            f"<TargetGroupName>{esc(n)}</TargetGroupName>"
            f"<Protocol>HTTP</Protocol><Port>{tgs[n].get('port', 80)}</Port>"
            f"<HealthCheckIntervalSeconds>"
            f"{tgs[n].get('health_check_interval', 30)}"
            f"</HealthCheckIntervalSeconds></member>" for n in names)
        return self.ok("elbv2", "DescribeTargetGroups",
                       f"<TargetGroups>{out}</TargetGroups>")

    def elbv2_DescribeTargetGroupAttributes(self, p, entry):
        name, err = self.target_group(p["TargetGroupArn"], entry)
        if err:
            return err
        delay = self.lb_config("elbv2", name).get("deregistration_delay",
                                                  300)
        return self.ok("elbv2", "DescribeTargetGroupAttributes",
                       "<Attributes><member><Key>stickiness.enabled</Key>"
                       "<Value>false</Value></member><member><Key>"
                       "deregistration_delay.timeout_seconds</Key><Value>"
                       f"{delay}</Value></member></Attributes>")

    # Classic

    def members(self, name):
        return [i for i, r in self.server.st["targets"].get(
            ("elb", name), {}).items()
            if r["registered"] or self.health("elb", name, i) is not None]

    def instances_xml(self, ids):
        return "<Instances>" + "".join(
            f"<member><InstanceId>{esc(i)}</InstanceId></member>"
            for i in ids) + "</Instances>"

    def elb_RegisterInstancesWithLoadBalancer(self, p, entry):
        name, err = self.classic(p["LoadBalancerName"], entry)
        if err:
            return err
        rec = self.record("elb", name, p["Instances.member.1.InstanceId"])
        if not rec["registered"]:
            rec.update(registered=True, t=peerlib.now())
        return self.ok("elb", "RegisterInstancesWithLoadBalancer",
                       self.instances_xml(self.members(name)))

    def elb_DeregisterInstancesFromLoadBalancer(self, p, entry):
        name, err = self.classic(p["LoadBalancerName"], entry)
        if err:
            return err
        rec = self.record("elb", name, p["Instances.member.1.InstanceId"])
        if rec["registered"]:
            rec.update(registered=False, t=peerlib.now())
        return self.ok("elb", "DeregisterInstancesFromLoadBalancer",
                       self.instances_xml(
                           [i for i in self.members(name) if
                            self.record("elb", name, i)["registered"]]))

    def elb_DescribeInstanceHealth(self, p, entry):
        name, err = self.classic(p["LoadBalancerName"], entry)
        if err:
            return err
        ids = [v for k, v in sorted(p.items())
               if k.startswith("Instances.member.")]
        if not ids:
            ids = self.members(name)
        out = []
        for iid in ids:
            h = self.health("elb", name, iid)
            if h is None:
                return self.error("elb", 400, "InvalidInstance",
                                  f"Could not find EC2 instance {iid} "
                                  f"registered with load balancer {name}.",
                                  entry)
            out.append(f"<member><InstanceId>{esc(iid)}</InstanceId>"
                       f"<State>{h[0]}</State><ReasonCode>{esc(h[1])}"
                       f"</ReasonCode><Description>{esc(h[2])}</Description>"
                       f"</member>")
        return self.ok("elb", "DescribeInstanceHealth",
                       "<InstanceStates>" + "".join(out) +
                       "</InstanceStates>")

    def elb_DescribeLoadBalancers(self, p, entry):
        want = p.get("LoadBalancerNames.member.1")
        lbs = self.server.st["config"]["load_balancers"]
        if want is not None and want not in lbs:
            return self.error("elb", 400, "LoadBalancerNotFound",
                              f"There is no ACTIVE Load Balancer named "
                              f"'{want}'", entry)
        out = "".join(
            f"<member><LoadBalancerName>{esc(n)}</LoadBalancerName>"
            f"{self.instances_xml(self.members(n))}</member>"
            for n in ([want] if want else list(lbs)))
        return self.ok("elb", "DescribeLoadBalancers",
                       f"<LoadBalancerDescriptions>{out}"
                       "</LoadBalancerDescriptions>")


if __name__ == "__main__":
    peerlib.serve(ELBHandler)
