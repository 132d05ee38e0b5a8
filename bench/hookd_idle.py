#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""What an idle `hookd run` costs: resident memory, wake-ups (voluntary
context switches) and, with SQS, requests per minute.  Prints figures; it
never passes or fails on them.

    bench/hookd_idle.py [--build build] [--seconds 30] [--sqs]

The spool run needs nothing else.  --sqs also starts moto_server and the
recording proxy of tests/peers/ and counts the requests hookd sends.
"""
import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "peers"))


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def start_hookd(build, cfg, env, tmp):
    sockpath = os.path.join(tmp, "notify")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(sockpath)
    s.settimeout(60)
    env = dict(env, NOTIFY_SOCKET=sockpath)
    err = open(os.path.join(tmp, "hookd.stderr"), "wb")
    p = subprocess.Popen([str(build / "bin" / "hookd"), "run", "-d", "-c",
                          cfg], env=env, stdout=err, stderr=subprocess.STDOUT,
                         stdin=subprocess.DEVNULL)
    while True:
        data = s.recv(4096).decode()
        if "READY=1" in data.splitlines():
            break
    s.close()
    return p


def measure(p, seconds, proxy=None):
    time.sleep(2)  # let the first long poll or heartbeat settle
    a = proc_status(p.pid)
    n0 = len(proxy.log()) if proxy else 0
    time.sleep(seconds)
    b = proc_status(p.pid)
    n1 = len(proxy.log()) if proxy else 0
    vol = int(b["voluntary_ctxt_switches"]) - \
        int(a["voluntary_ctxt_switches"])
    inv = int(b["nonvoluntary_ctxt_switches"]) - \
        int(a["nonvoluntary_ctxt_switches"])
    per_min = 60.0 / seconds
    print(f"  VmRSS {b['VmRSS']} (RssAnon {b.get('RssAnon', '?')}, "
          f"RssFile {b.get('RssFile', '?')}; VmHWM {b['VmHWM']})")
    print(f"  wake-ups: {vol * per_min:.1f} voluntary + "
          f"{inv * per_min:.1f} involuntary context switches per minute")
    if proxy:
        acts = {}
        for e in proxy.log()[n0:n1]:
            k = e.get("action") or f"{e['method']} {e.get('service')}"
            acts[k] = acts.get(k, 0) + 1
        print(f"  requests: {(n1 - n0) * per_min:.1f} per minute "
              f"({', '.join(f'{k} {v}' for k, v in sorted(acts.items()))} "
              f"in {seconds} s)")


def base_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k != "NOTIFY_SOCKET"}
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def spool(build, seconds):
    tmp = tempfile.mkdtemp(prefix="hookd-bench-")
    try:
        cfg = os.path.join(tmp, "hookd.yml")
        with open(cfg, "w") as f:
            f.write(f"application: app\ndeployment_group: bench\n"
                    f"store: file://{tmp}/store\nqueue: file://{tmp}/queue\n"
                    f"root: {tmp}/root\ninstance_id: i-bench\n")
        p = start_hookd(build, cfg, base_env(), tmp)
        print(f"hookd run, spool queue, idle {seconds} s:")
        measure(p, seconds)
        p.terminate()
        p.wait(30)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def sqs(build, seconds):
    import fixtures
    import moto as moto_peer
    tmp = tempfile.mkdtemp(prefix="hookd-bench-")
    procs = fixtures._Procs()
    try:
        m = moto_peer.Moto(tmp).start(procs)
        proxy = fixtures.Proxy(procs, tmp, m.url, 0)
        m.client("s3").create_bucket(Bucket="bench")
        cfg = os.path.join(tmp, "hookd.yml")
        with open(cfg, "w") as f:
            f.write(f"application: app\ndeployment_group: bench\n"
                    f"store: s3://bench/deploys\nqueue: sqs\n"
                    f"region: {m.region}\n"
                    f"root: {tmp}/root\ninstance_id: i-bench\n")
        env = dict(base_env(), **m.env(proxy.url))
        p = start_hookd(build, cfg, env, tmp)
        print(f"hookd run, SQS queue + S3 store (moto), idle {seconds} s:")
        measure(p, seconds, proxy)
        p.terminate()
        p.wait(30)
    finally:
        procs.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=str(TOP / "build"))
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--sqs", action="store_true")
    a = ap.parse_args()
    build = pathlib.Path(a.build).resolve()
    spool(build, a.seconds)
    if a.sqs:
        sqs(build, a.seconds)


if __name__ == "__main__":
    main()
