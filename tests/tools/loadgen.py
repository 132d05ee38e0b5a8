#!/usr/bin/env python3
# SPDX-License-Identifier: ISC
"""loadgen: GET one URL at a steady rate, one new connection per request,
until a stop file appears or at most --duration seconds (it always stops
by itself), then print one JSON object:

  {"requests", "served" (HTTP 200), "failed" (anything else, or no
   answer), "statuses": {"503": n, ...}, "errors": {"ConnectionRefused..": n},
   "p50_ms", "p99_ms", "before": {"requests", "p99_ms"},
   "during": {"requests", "p99_ms"}, "seconds", "rate"}

"before"/"during" split the requests at the moment the --mark file
appears (B9: latency before the rollout against during it).  Used by the
traffic-control integration tests, `make demo` and bench B9.
"""
import argparse
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    i = min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))
    return round(v[i] * 1000.0, 2)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--duration", type=float, default=120.0)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--stop", help="stop once this file exists")
    ap.add_argument("--mark", help="split latencies when this file appears")
    ap.add_argument("--ready", help="touch this file once running")
    ap.add_argument("--timeout", type=float, default=5.0)
    a = ap.parse_args()
    u = urllib.parse.urlsplit(a.url)
    host, port = u.hostname, u.port or 80
    path = u.path or "/"
    lock = threading.Lock()
    res = []            # (t_start, latency, status or None, error or None)
    t0 = time.monotonic()
    end = t0 + a.duration
    marked = [None]
    stop = threading.Event()
    interval = a.threads / a.rate

    def worker(k):
        nxt = t0 + k * (1.0 / a.rate)
        while not stop.is_set():
            now = time.monotonic()
            if now >= end:
                return
            if nxt > now:
                time.sleep(nxt - now)
            nxt += interval
            ts = time.monotonic()
            st = err = None
            try:
                c = http.client.HTTPConnection(host, port,
                                               timeout=a.timeout)
                c.request("GET", path, headers={"Connection": "close"})
                r = c.getresponse()
                r.read()
                st = r.status
                c.close()
            except Exception as e:  # noqa: BLE001: every failure counts
                err = type(e).__name__
            with lock:
                res.append((ts, time.monotonic() - ts, st, err))

    ths = [threading.Thread(target=worker, args=(k,), daemon=True)
           for k in range(a.threads)]
    for t in ths:
        t.start()
    if a.ready:
        open(a.ready, "w").close()
    while time.monotonic() < end:
        if a.mark and marked[0] is None and os.path.exists(a.mark):
            marked[0] = time.monotonic()
        if a.stop and os.path.exists(a.stop):
            break
        time.sleep(0.02)
    stop.set()
    for t in ths:
        t.join(a.timeout + 1)
    with lock:
        rs = list(res)
    out = {"requests": len(rs), "statuses": {}, "errors": {}}
    out["served"] = sum(1 for r in rs if r[2] == 200)
    out["failed"] = len(rs) - out["served"]
    for r in rs:
        if r[2] is not None and r[2] != 200:
            out["statuses"][str(r[2])] = out["statuses"].get(str(r[2]),
                                                             0) + 1
        if r[3] is not None:
            out["errors"][r[3]] = out["errors"].get(r[3], 0) + 1
    lat = [r[1] for r in rs if r[2] == 200]
    out["p50_ms"] = pct(lat, 50)
    out["p99_ms"] = pct(lat, 99)
    m = marked[0]
    if m is not None:
        b = [r[1] for r in rs if r[0] < m and r[2] == 200]
        d = [r[1] for r in rs if r[0] >= m and r[2] == 200]
        out["before"] = {"requests": len(b), "p99_ms": pct(b, 99)}
        out["during"] = {"requests": len(d), "p99_ms": pct(d, 99)}
    secs = time.monotonic() - t0
    out["seconds"] = round(secs, 2)
    out["rate"] = round(len(rs) / secs, 1) if secs > 0 else 0
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
