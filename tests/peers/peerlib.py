# SPDX-License-Identifier: ISC
"""Shared pieces of the local AWS peers (tests/peers/).

A small threaded HTTP/1.1 server base with a JSON control API under a
reserved path prefix, a request log, SigV4 verification with botocore as
the independent checker, and the AWS Query error document.  The peers run
as their own processes: `python3 PEER.py` binds 127.0.0.1 port 0 and prints
"READY <port>" on stdout once it accepts connections, so the parent never
sleeps to wait for it.
"""
import datetime
import hashlib
import http.server
import json
import re
import socketserver
import sys
import threading
import time
import urllib.parse

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

AUTH_RE = re.compile(
    r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request,"
    r"\s*SignedHeaders=([a-z0-9;_.-]+),\s*Signature=([0-9a-f]{64})$")

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate",
              "proxy-authorization", "te", "trailers", "transfer-encoding",
              "upgrade"}


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def iso8601(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


class SigV4Error(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def verify_sigv4(method, path_qs, headers, body, lookup):
    """Check a request's SigV4 Authorization header with botocore.

    lookup(access_key) returns (secret, token or None, expires or None), or
    None for an unknown key.  Returns (access_key, region, service); raises
    SigV4Error with the AWS error code on any mismatch.
    """
    auth = headers.get("Authorization")
    if auth is None:
        raise SigV4Error(403, "MissingAuthenticationToken",
                         "Request is missing Authentication Token")
    m = AUTH_RE.match(auth.strip())
    if m is None:
        raise SigV4Error(400, "IncompleteSignature",
                         "Authorization header is malformed")
    ak, date, region, service, signed, sig = m.groups()
    found = lookup(ak)
    if found is None:
        raise SigV4Error(403, "InvalidClientTokenId",
                         "The security token included in the request is "
                         "invalid.")
    secret, token, expires = found
    amzdate = headers.get("X-Amz-Date", "")
    if not amzdate.startswith(date):
        raise SigV4Error(400, "IncompleteSignature",
                         "X-Amz-Date does not match the credential scope")
    try:
        t = datetime.datetime.strptime(amzdate, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SigV4Error(400, "IncompleteSignature", "bad X-Amz-Date")
    if abs((utcnow() - t).total_seconds()) > 900:
        raise SigV4Error(403, "SignatureDoesNotMatch",
                         "Signature expired: request time too skewed")
    names = signed.split(";")
    if "host" not in names:
        raise SigV4Error(400, "IncompleteSignature", "host is not signed")
    hdrs = {}
    for n in names:
        v = headers.get(n)
        if v is None:
            raise SigV4Error(400, "IncompleteSignature",
                             f"signed header {n} is missing")
        hdrs[n] = v
    if token is not None and headers.get("X-Amz-Security-Token") != token:
        raise SigV4Error(403, "InvalidClientTokenId",
                         "The security token included in the request is "
                         "invalid.")
    if expires is not None and utcnow() >= expires:
        raise SigV4Error(403, "ExpiredToken",
                         "The security token included in the request is "
                         "expired")
    sha = headers.get("X-Amz-Content-SHA256")
    if sha is not None and sha != "UNSIGNED-PAYLOAD" and \
            sha != hashlib.sha256(body).hexdigest():
        raise SigV4Error(400, "XAmzContentSHA256Mismatch",
                         "The provided 'x-amz-content-sha256' header does "
                         "not match what was computed.")
    req = AWSRequest(method=method, url="http://" + headers["Host"] + path_qs,
                     data=body, headers=hdrs)
    req.context["timestamp"] = amzdate
    signer = SigV4Auth(Credentials(ak, secret, token), service, region)
    creq = signer.canonical_request(req)
    want = signer.signature(signer.string_to_sign(req, creq), req)
    if want != sig:
        raise SigV4Error(403, "SignatureDoesNotMatch",
                         "The request signature we calculated does not "
                         "match the signature you provided. Check your AWS "
                         "Secret Access Key and signing method.")
    return ak, region, service


def query_error_xml(code, message, sender=True, ns=None):
    ns = ns or "http://autoscaling.amazonaws.com/doc/2011-01-01/"
    esc = xml_escape
    return (f'<ErrorResponse xmlns="{ns}">\n  <Error>\n'
            f'    <Type>{"Sender" if sender else "Receiver"}</Type>\n'
            f"    <Code>{esc(code)}</Code>\n"
            f"    <Message>{esc(message)}</Message>\n  </Error>\n"
            f"  <RequestId>{request_id()}</RequestId>\n"
            "</ErrorResponse>\n").encode()


def xml_escape(s):
    return (str(s).replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;"))


_rid_lock = threading.Lock()
_rid = [0]


def request_id():
    with _rid_lock:
        _rid[0] += 1
        return f"00000000-peer-4000-8000-{_rid[0]:012d}"


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class Handler(http.server.BaseHTTPRequestHandler):
    """Base handler: HTTP/1.1 keep-alive, body read, control API."""
    protocol_version = "HTTP/1.1"
    CONTROL = "/_peer/"
    server_version = "hookd-peer/1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.log_date_time_string(),
                                      fmt % args))

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        return self.rfile.read(n) if n > 0 else b""

    def reply(self, status, body=b"", ctype="text/plain", headers=None):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, status, obj):
        self.reply(status, json.dumps(obj, indent=1, default=str),
                   "application/json")

    def handle_control(self, method, path, body):
        raise NotImplementedError

    def dispatch(self):
        raise NotImplementedError

    def _any(self):
        if self.path.startswith(self.CONTROL):
            body = self.read_body()
            try:
                self.handle_control(self.command, self.path, body)
            except Exception as e:  # report to the test, keep serving
                self.reply_json(500, {"error": repr(e)})
            return
        self.dispatch()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any


def serve(handler):
    """Bind 127.0.0.1:0, announce the port on stdout, serve forever."""
    srv = Server(("127.0.0.1", 0), handler)
    handler.server_state_init(srv)
    print("READY", srv.server_address[1], flush=True)
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


def parse_form(body):
    return dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"),
                                       keep_blank_values=True))


def now():
    return time.time()
