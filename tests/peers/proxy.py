#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""A recording, fault-injecting reverse proxy in front of one peer URL.

Clients are pointed at it through AWS_ENDPOINT_URL_*; it forwards each
request to the upstream unchanged (the Host header too, so SigV4 still
verifies upstream) and records it.  Tests install rules through
POST /__proxy/rules, a JSON list tried in order; the first rule whose
match fits and which still has uses left applies:

  {"match": {"method": "GET", "path": "regex", "action": "ReceiveMessage",
             "service": "s3"},          all optional
   "fault": "status" | "throttle" | "delay" | "reset" | "cut",
   "times": 2,                          uses before the rule lapses (null:
                                        forever)
   "status": 500, "body": "...",        for "status"
   "seconds": 1.5}                      for "delay" (then forwards)

"throttle" answers as the service would: S3 gets 503 SlowDown, Query
services 400 Throttling, AWS JSON requests (X-Amz-Target) a JSON 400
ThrottlingException with x-amzn-query-error Throttling;Sender.  The
log's "action" is the Query Action or the X-Amz-Target operation, and
"form" the Query form or a JSON body's top-level members (scalars as
strings, so both read alike).  "reset" closes the connection with an RST before
any reply; "cut" forwards, sends the upstream's headers and half of its
body, then resets (a transfer that breaks in the middle).  GET /__proxy/log returns the requests seen (with the fault
applied, the upstream status, times); POST /__proxy/reset clears rules and
log.

Run: python3 proxy.py UPSTREAM_URL   -> prints "READY <port>".
"""
import http.client
import json
import re
import socket
import struct
import sys
import threading
import time
import urllib.parse

import peerlib

S3_ERR = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
          "<Message>{msg}</Message><RequestId>{rid}</RequestId></Error>\n")


def json_params(body):
    """A JSON request's top-level members, scalars as Query-like strings."""
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    out = {}
    for k, v in doc.items():
        if isinstance(v, bool):
            v = "true" if v else "false"
        elif isinstance(v, (int, float)):
            v = str(v)
        out[k] = v
    return out


class ProxyHandler(peerlib.Handler):
    CONTROL = "/__proxy/"
    upstream = None

    @classmethod
    def server_state_init(cls, srv):
        srv.lock = threading.Lock()
        srv.rules = []
        srv.log = []

    def handle_control(self, method, path, body):
        srv = self.server
        with srv.lock:
            if path == "/__proxy/log":
                return self.reply_json(200, srv.log)
            if path == "/__proxy/rules" and method == "POST":
                srv.rules = json.loads(body or b"[]")
                for r in srv.rules:
                    r["used"] = 0
                return self.reply_json(200, srv.rules)
            if path == "/__proxy/rules":
                return self.reply_json(200, srv.rules)
            if path == "/__proxy/reset" and method == "POST":
                srv.rules = []
                srv.log = []
                return self.reply_json(200, {})
        self.reply_json(404, {"error": "no such control path"})

    def service(self):
        m = peerlib.AUTH_RE.match(self.headers.get("Authorization", ""))
        return m.group(4) if m else None

    def pick_rule(self, action, service):
        for r in self.server.rules:
            m = r.get("match", {})
            if "method" in m and m["method"] != self.command:
                continue
            if "path" in m and not re.search(m["path"], self.path):
                continue
            if "action" in m and m["action"] != action:
                continue
            if "service" in m and m["service"] != service:
                continue
            if r.get("times") is not None and r["used"] >= r["times"]:
                continue
            r["used"] += 1
            return dict(r)
        return None

    def dispatch(self):
        body = self.read_body()
        service = self.service()
        action = None
        form = None
        q = urllib.parse.urlsplit(self.path).query
        if self.command == "POST" and body and b"Action=" in body:
            form = peerlib.parse_form(body)
            action = form.get("Action")
        elif "Action=" in q:
            action = dict(urllib.parse.parse_qsl(q)).get("Action")
        target = self.headers.get("X-Amz-Target")
        if action is None and target:
            action = target.rsplit(".", 1)[-1]
            form = json_params(body)
        entry = {"t": time.time(), "method": self.command, "path": self.path,
                 "action": action, "service": service, "fault": None,
                 "status": None, "bytes": len(body), "form": form}
        with self.server.lock:
            rule = self.pick_rule(action, service)
            self.server.log.append(entry)
        if rule is not None:
            entry["fault"] = rule["fault"]
            if rule["fault"] == "reset":
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                entry["status"] = 0
                return
            if rule["fault"] == "delay":
                time.sleep(float(rule.get("seconds", 1)))
            elif rule["fault"] == "status":
                st = int(rule.get("status", 500))
                entry["status"] = st
                return self.reply(st, rule.get("body", self.error_body(
                    service, "InternalError", "injected failure")),
                    "application/xml")
            elif rule["fault"] == "throttle":
                if target:
                    entry["status"] = 400
                    return self.reply_throttle_json(service)
                if service == "s3":
                    entry["status"] = 503
                    return self.reply(503, self.error_body(
                        service, "SlowDown", "Please reduce your request "
                        "rate."), "application/xml")
                entry["status"] = 400
                return self.reply(400, self.error_body(
                    service, "Throttling", "Rate exceeded"), "text/xml")
        self.forward(entry, body, cut=rule is not None and
                     rule["fault"] == "cut")

    def reply_throttle_json(self, service):
        data = json.dumps({"__type": f"com.amazonaws.{service}#"
                           "ThrottlingException",
                           "message": "Rate exceeded"}).encode()
        self.reply(400, data, "application/x-amz-json-1.0", headers={
            "x-amzn-query-error": "Throttling;Sender",
            "x-amzn-RequestId": peerlib.request_id()})

    def error_body(self, service, code, msg):
        if service == "s3":
            return S3_ERR.format(code=code, msg=msg,
                                 rid=peerlib.request_id())
        ns = ("http://queue.amazonaws.com/doc/2012-11-05/"
              if service == "sqs" else None)
        return peerlib.query_error_xml(code, msg, sender=False, ns=ns)

    def forward(self, entry, body, cut=False):
        u = urllib.parse.urlsplit(self.upstream)
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
            conn.endheaders(body if body or self.command in
                            ("POST", "PUT") else None)
            resp = conn.getresponse()
            data = resp.read()
            entry["status"] = resp.status
            if "xml" in (resp.getheader("Content-Type") or ""):
                entry["reply"] = data[:2000].decode("utf-8", "replace")
            self.send_response(resp.status, resp.reason)
            for k, v in resp.getheaders():
                if k.lower() in peerlib.HOP_BY_HOP or \
                        k.lower() in ("content-length", "server", "date"):
                    continue
                self.send_header(k, v)
            if self.command == "HEAD":
                cl = resp.getheader("Content-Length")
                if cl is not None:
                    self.send_header("Content-Length", cl)
            else:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if cut:
                self.wfile.write(data[:len(data) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                entry["status"] = -resp.status
                return
            if self.command != "HEAD":
                self.wfile.write(data)
        except OSError as e:
            entry["status"] = 502
            entry["error"] = repr(e)
            self.reply(502, "upstream: %r" % e)
        finally:
            conn.close()


if __name__ == "__main__":
    ProxyHandler.upstream = sys.argv[1].rstrip("/")
    peerlib.serve(ProxyHandler)
