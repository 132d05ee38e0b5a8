#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""fleetsim: a simulated fleet for B7-sim (issue 19), in one asyncio
process: the S3 and SQS wire formats the deployer uses, SigV4 checked
on every request, a fixed injected latency per request, and N instances
that each take their deployment message from their own queue and write a
Succeeded progress document after a configurable delay.

    fleetsim.py --instances N [--latency 0.02] [--delay 1.0]
        [--app fleet] [--group production] [--bucket fleet]
        [--prefix deploys] [--queue-prefix hookd]
        [--access-key AK --secret-key SK] [--region us-east-1]

It binds 127.0.0.1 port 0 and prints "READY <port>" once it accepts
connections.  Point a client at it with AWS_ENDPOINT_URL=http://127.0.0.1:
PORT and those keys; S3 is path-style (/BUCKET/KEY).

S3: PutObject (If-None-Match: *, If-Match: ETAG -> 412), GetObject,
HeadObject, DeleteObject, ListObjectsV2 (prefix, max-keys up to 1,000,
continuation-token, ETag and LastModified per key), CreateBucket.  No
multipart upload (a bundle above the client's threshold gets 501).
SQS, AWS JSON 1.0 (X-Amz-Target: AmazonSQS.Op) and the Query protocol:
CreateQueue, GetQueueUrl, ListQueues (pages of up to 1,000),
SendMessage, ReceiveMessage (no wait), DeleteMessage,
ChangeMessageVisibility, GetQueueAttributes, DeleteQueue; a missing
queue is QueueDoesNotExist with x-amzn-query-error
AWS.SimpleQueueService.NonExistentQueue;Sender, as SQS answers.

SigV4: the Authorization header is parsed and the signature computed
again from the request as received (canonical URI: S3's as sent, other
services' normalised and encoded again; the query sorted; the signed
headers; x-amz-content-sha256 or the body's SHA-256, which must match
the body when given), with the secret of --access-key; a mismatch is a
403 SignatureDoesNotMatch, an unknown key 403 InvalidClientTokenId.

The fleet: at start, instance i-NNNNN has a registry entry
(groups/APP/GROUP/instances/i-NNNNN.json, hookd.instance/1, last_seen
now) and a queue QUEUE_PREFIX-GROUP-i-NNNNN.  A SendMessage to one of
those queues is that instance's delivery: --delay seconds later the
instance writes deployments/APP/GROUP/ID/instances/i-NNNNN.json with
status Succeeded (hookd.progress/1) and its registry entry's current
deployment; the message is consumed (never left in the queue).  These
writes are the instances' side and are not counted as requests.

Control (not signed, not delayed, not counted): GET /__sim/stats gives
{"requests": {"s3:GetObject": n, "sqs:SendMessage": n, ...}, "total",
"first_send", "last_send", "send_bursts" ([first, last] of each run of
sends with no pause over 0.5 s: one per batch), "last_outcome",
"outcomes", "cpu_s"} (times are time.time()); POST /__sim/reset zeroes the counters and times.
"""
import argparse
import asyncio
import bisect
import datetime
import hashlib
import hmac
import json
import os
import re
import sys
import time
import urllib.parse
import uuid
from xml.sax.saxutils import escape

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/"
    r"aws4_request,\s*SignedHeaders=([a-z0-9;_.-]+),\s*"
    r"Signature=([0-9a-f]{64})$")
ACCOUNT = "123456789012"
MAX_BODY = 64 * 1024 * 1024
S3NS = "http://s3.amazonaws.com/doc/2006-03-01/"
SQSNS = "http://queue.amazonaws.com/doc/2012-11-05/"
UNSIGNED = "UNSIGNED-PAYLOAD"


def http_date(t):
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(t))


def iso_ms(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + \
        ".%03dZ" % int((t % 1) * 1000)


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def q(s, safe="-_.~"):
    return urllib.parse.quote(s, safe=safe)


class Reply(Exception):
    """An error reply: raised anywhere, sent by the dispatcher."""

    def __init__(self, status, code, message, service="s3"):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.service = service


class Obj:
    __slots__ = ("data", "etag", "mtime")

    def __init__(self, data):
        self.data = data
        self.etag = '"%s"' % hashlib.md5(data).hexdigest()
        self.mtime = time.time()


class Queue:
    __slots__ = ("name", "url", "messages", "instance", "attrs")

    def __init__(self, name, url, instance=None, attrs=None):
        self.name, self.url, self.instance = name, url, instance
        self.messages = []
        self.attrs = dict(attrs or {})


class Sim:
    def __init__(self, a):
        self.a = a
        self.objects = {}          # (bucket, key) -> Obj
        self.keys = {}             # bucket -> sorted key list
        self.buckets = {a.bucket}
        self.keys[a.bucket] = []
        self.queues = {}           # name -> Queue
        self.qnames = []           # sorted
        self.port = 0
        self.signing_keys = {}
        self.reset()
        self.pfx = a.prefix + "/" if a.prefix else ""

    def reset(self):
        self.requests = {}
        self.first_send = self.last_send = self.last_outcome = None
        self.send_times = []
        self.outcomes = 0
        self.cpu0 = time.process_time()

    # --- the store -------------------------------------------------
    def put(self, bucket, key, data):
        if (bucket, key) not in self.objects:
            bisect.insort(self.keys[bucket], key)
        o = Obj(data)
        self.objects[(bucket, key)] = o
        return o

    def delete(self, bucket, key):
        if self.objects.pop((bucket, key), None) is not None:
            ks = self.keys[bucket]
            del ks[bisect.bisect_left(ks, key)]

    # --- the fleet -------------------------------------------------
    def setup_fleet(self):
        a = self.a
        now = time.time()
        for i in range(a.instances):
            inst = f"i-{i:05d}"
            qn = f"{a.queue_prefix}-{a.group}-{inst}"
            self.add_queue(qn, inst)
            self.write_registry(inst, qn, now, None)

    def add_queue(self, name, instance=None, attrs=None):
        if name not in self.queues:
            url = f"http://127.0.0.1:{self.port}/{ACCOUNT}/{name}"
            self.queues[name] = Queue(name, url, instance, attrs)
            bisect.insort(self.qnames, name)
        return self.queues[name]

    def write_registry(self, inst, qname, now, current):
        a = self.a
        doc = {"schema": "hookd.instance/1", "instance": inst,
               "application": a.app, "group": a.group, "queue": qname,
               "queue_backend": "sqs", "started_at": rfc3339(now),
               "last_seen": rfc3339(now), "pid": 1, "version": "fleetsim",
               "current": current, "in_progress": None,
               "catching_up": None}
        key = f"{self.pfx}groups/{a.app}/{a.group}/instances/{inst}.json"
        self.put(a.bucket, key, json.dumps(doc).encode())

    def deliver(self, queue, body):
        """The instance's side of a SendMessage to its queue."""
        try:
            m = json.loads(body)
            dep, seq = m["deployment_id"], int(m["sequence"])
            app, group = m["application"], m["group"]
        except (ValueError, KeyError, TypeError):
            return
        loop = asyncio.get_running_loop()
        loop.call_later(self.a.delay, self.finish, queue, m, dep, seq, app,
                        group)

    def finish(self, queue, m, dep, seq, app, group):
        now = time.time()
        inst = queue.instance
        rev = m.get("revision") or {}
        started = now - self.a.delay
        events = [{"event": e, "status": "Succeeded", "rollback": False,
                   "started_at": rfc3339(started),
                   "finished_at": rfc3339(now), "duration": 0.0,
                   "script": None, "outcome": None}
                  for e in ("BeforeInstall", "AfterInstall",
                            "ApplicationStart", "ValidateService")]
        doc = {"schema": "hookd.progress/1", "deployment_id": dep,
               "application": app, "group": group, "instance": inst,
               "sequence": seq, "commit": rev.get("commit"),
               "sha256": rev.get("sha256"), "status": "Succeeded",
               "event": None, "message": None, "script": None,
               "tail": None, "rolled_back_to": None,
               "started_at": rfc3339(started),
               "updated_at": rfc3339(now), "finished_at": rfc3339(now),
               "events": events}
        key = (f"{self.pfx}deployments/{app}/{group}/{dep}/instances/"
               f"{inst}.json")
        self.put(self.a.bucket, key, json.dumps(doc).encode())
        self.write_registry(inst, queue.name, now,
                            {"deployment_id": dep, "sequence": seq})
        self.outcomes += 1
        self.last_outcome = now

    # --- SigV4 -----------------------------------------------------
    def verify(self, method, path, query, headers, body):
        auth = headers.get("authorization")
        if auth is None:
            raise Reply(403, "MissingAuthenticationToken",
                        "Request is missing Authentication Token")
        m = AUTH_RE.match(auth)
        if m is None:
            raise Reply(403, "IncompleteSignature", "bad Authorization")
        akid, date, region, service, signed, sig = m.groups()
        if akid != self.a.access_key:
            raise Reply(403, "InvalidClientTokenId",
                        "The security token included in the request is "
                        "invalid", service)
        amzdate = headers.get("x-amz-date", "")
        if not amzdate.startswith(date):
            raise Reply(403, "SignatureDoesNotMatch", "date mismatch",
                        service)
        s3 = service == "s3"
        # S3 signs the path as sent; the others encode it once more.
        curi = path if s3 else q(path, safe="/-_.~")
        pairs = []
        if query:
            for part in query.split("&"):
                k, _, v = part.partition("=")
                pairs.append((q(urllib.parse.unquote(k)),
                              q(urllib.parse.unquote(v))))
        pairs.sort()
        cquery = "&".join(f"{k}={v}" for k, v in pairs)
        names = signed.split(";")
        if "host" not in names:
            raise Reply(403, "SignatureDoesNotMatch", "host not signed",
                        service)
        chdrs = "".join(
            f"{n}:{' '.join(headers.get(n, '').split())}\n" for n in names)
        phash = headers.get("x-amz-content-sha256")
        bhash = None
        if phash is None or phash != UNSIGNED:
            bhash = hashlib.sha256(body).hexdigest()
        if phash is None:
            phash = bhash
        elif phash != UNSIGNED and phash != bhash:
            raise Reply(400, "XAmzContentSHA256Mismatch",
                        "The provided 'x-amz-content-sha256' header does "
                        "not match what was computed.", service)
        creq = "\n".join([method, curi, cquery, chdrs, signed, phash])
        scope = f"{date}/{region}/{service}/aws4_request"
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = self.signing_keys.get(scope)
        if k is None:
            k = ("AWS4" + self.a.secret_key).encode()
            for part in (date, region, service, "aws4_request"):
                k = hmac.new(k, part.encode(), hashlib.sha256).digest()
            self.signing_keys[scope] = k
        want = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            raise Reply(403, "SignatureDoesNotMatch",
                        "The request signature we calculated does not "
                        "match the signature you provided.", service)
        return service

    def count(self, kind):
        self.requests[kind] = self.requests.get(kind, 0) + 1

    # --- S3 --------------------------------------------------------
    def s3(self, method, path, query, headers, body):
        parts = path.lstrip("/").split("/", 1)
        bucket = urllib.parse.unquote(parts[0])
        key = urllib.parse.unquote(parts[1]) if len(parts) > 1 else ""
        qs = urllib.parse.parse_qs(query, keep_blank_values=True)
        if key == "":
            if method == "PUT":
                self.count("s3:CreateBucket")
                self.buckets.add(bucket)
                self.keys.setdefault(bucket, [])
                return 200, {}, b""
            if method == "GET" and qs.get("list-type") == ["2"]:
                self.count("s3:ListObjectsV2")
                return self.list_v2(bucket, qs)
            raise Reply(501, "NotImplemented", f"{method} on a bucket")
        if bucket not in self.buckets:
            raise Reply(404, "NoSuchBucket", "The specified bucket does "
                        "not exist")
        if "uploads" in qs or "uploadId" in qs:
            raise Reply(501, "NotImplemented", "no multipart upload here")
        o = self.objects.get((bucket, key))
        if method in ("GET", "HEAD"):
            self.count("s3:GetObject" if method == "GET" else
                       "s3:HeadObject")
            if o is None:
                raise Reply(404, "NoSuchKey", "The specified key does not "
                            "exist.")
            h = {"ETag": o.etag, "Last-Modified": http_date(o.mtime),
                 "Content-Type": "application/octet-stream"}
            if method == "HEAD":
                h["Content-Length"] = str(len(o.data))
                return 200, h, None
            return 200, h, o.data
        if method == "PUT":
            self.count("s3:PutObject")
            inm, im = headers.get("if-none-match"), headers.get("if-match")
            if inm == "*" and o is not None:
                raise Reply(412, "PreconditionFailed", "At least one of "
                            "the pre-conditions you specified did not "
                            "hold")
            if im is not None and (o is None or o.etag != im):
                raise Reply(412 if o is not None else 404,
                            "PreconditionFailed" if o is not None else
                            "NoSuchKey", "If-Match did not hold")
            o = self.put(bucket, key, body)
            return 200, {"ETag": o.etag}, b""
        if method == "DELETE":
            self.count("s3:DeleteObject")
            self.delete(bucket, key)
            return 204, {}, b""
        raise Reply(405, "MethodNotAllowed", method)

    def list_v2(self, bucket, qs):
        if bucket not in self.buckets:
            raise Reply(404, "NoSuchBucket", "The specified bucket does "
                        "not exist")
        prefix = qs.get("prefix", [""])[0]
        maxk = min(int(qs.get("max-keys", ["1000"])[0] or 1000), 1000)
        token = qs.get("continuation-token", [None])[0]
        ks = self.keys[bucket]
        start = token if token is not None else prefix
        i = bisect.bisect_right(ks, start) if token is not None else \
            bisect.bisect_left(ks, start)
        out = []
        while i < len(ks) and len(out) < maxk and ks[i].startswith(prefix):
            out.append(ks[i])
            i += 1
        more = i < len(ks) and ks[i].startswith(prefix)
        body = [f'<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<ListBucketResult xmlns="{S3NS}"><Name>{escape(bucket)}'
                f"</Name><Prefix>{escape(prefix)}</Prefix>"
                f"<KeyCount>{len(out)}</KeyCount><MaxKeys>{maxk}</MaxKeys>"
                f"<IsTruncated>{'true' if more else 'false'}</IsTruncated>"]
        if more:
            body.append(f"<NextContinuationToken>{escape(out[-1])}"
                        "</NextContinuationToken>")
        for k in out:
            o = self.objects[(bucket, k)]
            body.append(f"<Contents><Key>{escape(k)}</Key>"
                        f"<LastModified>{iso_ms(o.mtime)}</LastModified>"
                        f"<ETag>{escape(o.etag)}</ETag>"
                        f"<Size>{len(o.data)}</Size>"
                        "<StorageClass>STANDARD</StorageClass></Contents>")
        body.append("</ListBucketResult>")
        return 200, {"Content-Type": "application/xml"}, \
            "".join(body).encode()

    # --- SQS -------------------------------------------------------
    def queue_of(self, url):
        name = (url or "").rstrip("/").rsplit("/", 1)[-1]
        qu = self.queues.get(name)
        if qu is None:
            raise Reply(400, "AWS.SimpleQueueService.NonExistentQueue",
                        "The specified queue does not exist.", "sqs")
        return qu

    def sqs(self, op, p):
        self.count("sqs:" + op)
        if op == "CreateQueue":
            qu = self.add_queue(p["QueueName"], None, p.get("Attributes"))
            return {"QueueUrl": qu.url}
        if op == "GetQueueUrl":
            qu = self.queues.get(p.get("QueueName"))
            if qu is None:
                raise Reply(400, "AWS.SimpleQueueService.NonExistentQueue",
                            "The specified queue does not exist.", "sqs")
            return {"QueueUrl": qu.url}
        if op == "ListQueues":
            prefix = p.get("QueueNamePrefix") or ""
            maxr = min(int(p.get("MaxResults") or 1000), 1000)
            token = p.get("NextToken")
            i = bisect.bisect_right(self.qnames, token) if token else \
                bisect.bisect_left(self.qnames, prefix)
            out = []
            while i < len(self.qnames) and len(out) < maxr and \
                    self.qnames[i].startswith(prefix):
                out.append(self.qnames[i])
                i += 1
            r = {"QueueUrls": [self.queues[n].url for n in out]}
            if i < len(self.qnames) and self.qnames[i].startswith(prefix):
                r["NextToken"] = out[-1]
            return r
        qu = self.queue_of(p.get("QueueUrl"))
        if op == "SendMessage":
            body = p.get("MessageBody") or ""
            now = time.time()
            if self.first_send is None:
                self.first_send = now
            self.last_send = now
            self.send_times.append(now)
            mid = str(uuid.uuid4())
            if qu.instance is not None:
                self.deliver(qu, body)
            else:
                qu.messages.append((mid, body))
            return {"MessageId": mid, "MD5OfMessageBody":
                    hashlib.md5(body.encode()).hexdigest()}
        if op == "ReceiveMessage":
            n = int(p.get("MaxNumberOfMessages") or 1)
            msgs, qu.messages = qu.messages[:n], qu.messages[n:]
            return {"Messages": [
                {"MessageId": mid, "ReceiptHandle": mid, "Body": b,
                 "MD5OfBody": hashlib.md5(b.encode()).hexdigest()}
                for mid, b in msgs]}
        if op in ("DeleteMessage", "ChangeMessageVisibility",
                  "SetQueueAttributes"):
            return {}
        if op == "GetQueueAttributes":
            return {"Attributes": dict(qu.attrs)}
        if op == "DeleteQueue":
            del self.queues[qu.name]
            self.qnames.remove(qu.name)
            return {}
        raise Reply(400, "InvalidAction", f"{op} is not supported here",
                    "sqs")

    def sqs_query_reply(self, op, r):
        """A JSON-shaped result as the Query protocol's XML."""
        inner = []
        for k, v in r.items():
            if k == "QueueUrls":
                inner += [f"<QueueUrl>{escape(u)}</QueueUrl>" for u in v]
            elif k == "Messages":
                for m in v:
                    inner.append("<Message>" + "".join(
                        f"<{a}>{escape(b)}</{a}>" for a, b in m.items()) +
                        "</Message>")
            elif k == "Attributes":
                inner += [f"<Attribute><Name>{escape(a)}</Name><Value>"
                          f"{escape(str(b))}</Value></Attribute>"
                          for a, b in v.items()]
            else:
                inner.append(f"<{k}>{escape(str(v))}</{k}>")
        rid = uuid.uuid4()
        return (f'<?xml version="1.0"?><{op}Response xmlns="{SQSNS}">'
                f"<{op}Result>{''.join(inner)}</{op}Result>"
                f"<ResponseMetadata><RequestId>{rid}</RequestId>"
                f"</ResponseMetadata></{op}Response>").encode()

    # --- one request -------------------------------------------------
    def handle(self, method, target, headers, body):
        path, _, query = target.partition("?")
        if path.startswith("/__sim/"):
            return self.control(method, path)
        service = "s3"
        try:
            service = self.verify(method, path, query, headers, body)
            if service == "s3":
                return self.s3(method, path, query, headers, body)
            if service != "sqs":
                raise Reply(400, "UnknownService", service, service)
            tgt = headers.get("x-amz-target")
            if tgt is not None:
                op = tgt.rsplit(".", 1)[-1]
                p = json.loads(body or b"{}")
                r = self.sqs(op, p)
                return 200, {"Content-Type":
                             "application/x-amz-json-1.0",
                             "x-amzn-RequestId": str(uuid.uuid4())}, \
                    json.dumps(r).encode()
            form = urllib.parse.parse_qs(body.decode(),
                                         keep_blank_values=True)
            p = {k: v[0] for k, v in form.items()}
            op = p.get("Action", "")
            if op == "CreateQueue":
                attrs, i = {}, 1
                while f"Attribute.{i}.Name" in p:
                    attrs[p[f"Attribute.{i}.Name"]] = \
                        p.get(f"Attribute.{i}.Value")
                    i += 1
                p["Attributes"] = attrs
            if "QueueUrl" not in p and path.count("/") >= 2:
                p["QueueUrl"] = path
            r = self.sqs(op, p)
            return 200, {"Content-Type": "text/xml"}, \
                self.sqs_query_reply(op, r)
        except Reply as e:
            return self.error(e, service, headers)

    def error(self, e, service, headers):
        rid = str(uuid.uuid4())
        if service == "sqs" or e.service == "sqs":
            h = {"x-amzn-RequestId": rid}
            jcode = e.code
            if e.code == "AWS.SimpleQueueService.NonExistentQueue":
                jcode = "com.amazonaws.sqs#QueueDoesNotExist"
            if headers.get("x-amz-target") is not None:
                # The JSON protocol's reply carries the Query code too.
                h["x-amzn-query-error"] = f"{e.code};Sender"
                h["Content-Type"] = "application/x-amz-json-1.0"
                return e.status, h, json.dumps(
                    {"__type": jcode, "message": e.message}).encode()
            return e.status, dict(h, **{"Content-Type": "text/xml"}), (
                f'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender'
                f"</Type><Code>{escape(e.code)}</Code><Message>"
                f"{escape(e.message)}</Message></Error><RequestId>{rid}"
                "</RequestId></ErrorResponse>").encode()
        return e.status, {"x-amz-request-id": rid,
                          "Content-Type": "application/xml"}, (
            f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>'
            f"{escape(e.code)}</Code><Message>{escape(e.message)}</Message>"
            f"<RequestId>{rid}</RequestId></Error>").encode()

    def bursts(self, gap=0.5):
        """[first, last] of each run of SendMessage with no pause over
        gap seconds: one per batch of a rollout."""
        out = []
        for t in self.send_times:
            if out and t - out[-1][1] <= gap:
                out[-1][1] = t
            else:
                out.append([t, t])
        return out

    def control(self, method, path):
        if path == "/__sim/reset" and method == "POST":
            self.reset()
            return 200, {"Content-Type": "application/json"}, b"{}"
        if path == "/__sim/stats":
            st = {"requests": self.requests,
                  "total": sum(self.requests.values()),
                  "first_send": self.first_send,
                  "last_send": self.last_send,
                  "last_outcome": self.last_outcome,
                  "send_bursts": self.bursts(),
                  "outcomes": self.outcomes,
                  "cpu_s": time.process_time() - self.cpu0}
            return 200, {"Content-Type": "application/json"}, \
                json.dumps(st).encode()
        return 404, {}, b""


REASONS = {200: "OK", 204: "No Content", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           412: "Precondition Failed", 500: "Internal Server Error",
           501: "Not Implemented"}


async def serve_conn(sim, reader, writer):
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            try:
                method, target, _ = line.decode("latin-1").split(" ", 2)
            except ValueError:
                break
            headers = {}
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers[k.strip().lower()] = v.strip()
            n = int(headers.get("content-length", "0") or 0)
            if n > MAX_BODY:
                break
            body = await reader.readexactly(n) if n > 0 else b""
            if not target.startswith("/__sim/"):
                await asyncio.sleep(sim.a.latency)
            status, rh, rbody = sim.handle(method, target, headers, body)
            head = [f"HTTP/1.1 {status} {REASONS.get(status, 'X')}",
                    f"Date: {http_date(time.time())}"]
            for k, v in rh.items():
                head.append(f"{k}: {v}")
            if rbody is None:
                rbody = b""
            elif "Content-Length" not in rh:
                head.append(f"Content-Length: {len(rbody)}")
            if method == "HEAD":
                rbody = b""
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
                         + rbody)
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                break
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=0)
    ap.add_argument("--latency", type=float, default=0.02)
    ap.add_argument("--delay", type=float, default=1.0)
    ap.add_argument("--app", default="fleet")
    ap.add_argument("--group", default="production")
    ap.add_argument("--bucket", default="fleet")
    ap.add_argument("--prefix", default="deploys")
    ap.add_argument("--queue-prefix", default="hookd")
    ap.add_argument("--access-key", default="AKIDFLEETSIM")
    ap.add_argument("--secret-key", default="fleetsim-secret")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    sim = Sim(a)
    srv = await asyncio.start_server(lambda r, w: serve_conn(sim, r, w),
                                     "127.0.0.1", a.port, backlog=1024,
                                     limit=1 << 20)
    sim.port = srv.sockets[0].getsockname()[1]
    sim.setup_fleet()
    sim.reset()
    print(f"READY {sim.port}", flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
