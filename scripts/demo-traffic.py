#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""demo-traffic.py BUILD_DIR: the traffic-control act of `make demo`.
HAProxy on 127.0.0.1 in front of three `hookd run` daemons of
appspec-examples/static-site, each with a traffic: block naming its
HAProxy server; a load generator sends about 200 requests/s to HAProxy
during a OneAtATime `deployer production HEAD`, then during the same
rollout with --no-traffic-control.  Prints what was served and what
failed, side by side.  Exits 0 when the rollout with traffic control
failed no request.  The setup is tests/integration/traffic_util.py's.
"""
import os
import pathlib
import shutil
import sys
import tempfile
import time
import types

TOP = pathlib.Path(__file__).resolve().parents[1]


def main():
    if len(sys.argv) != 2:
        print("usage: scripts/demo-traffic.py BUILD_DIR", file=sys.stderr)
        return 64
    if shutil.which("haproxy") is None and \
            not os.path.exists("/usr/sbin/haproxy"):
        print("demo: haproxy is needed (scripts/deps.sh)", file=sys.stderr)
        return 1
    os.environ["HOOKD_BUILD"] = str(pathlib.Path(sys.argv[1]).resolve())
    sys.path.insert(0, str(TOP / "tests" / "integration"))
    import traffic_util as tu
    from daemon_util import Hookd

    base = pathlib.Path(tempfile.mkdtemp(prefix="hookd-demo-traffic."))
    os.chmod(base, 0o755)
    made = []

    def factory(fws, cfg, env=None, start=False):
        h = Hookd(fws, cfg, env)
        made.append(h)
        return h

    def step(msg):
        print(f"\n==> {msg}", flush=True)

    f = None
    try:
        step("HAProxy in front of three static-site daemons, each with "
             "a traffic: block")
        f = tu.SiteFleet(types.SimpleNamespace(base=base), factory,
                         check_inter_ms=1000)
        f.wait_registered()
        print(f"HAProxy on http://127.0.0.1:{f.port}/, admin socket "
              f"{f.sock}")
        print((base / "hosts" / "i-1" / "hookd.yml").read_text(), end="")
        step("first install (v1), OneAtATime")
        r = f.deployer(tu.GROUP, "HEAD")
        print(r.stdout, end="")
        if r.returncode != 0:
            print(r.stderr, file=sys.stderr)
            return 1
        f.wait_all_up()
        results = []
        for v, extra, what in (("v2", (), "with traffic control"),
                               ("v3", ("--no-traffic-control",),
                                "--no-traffic-control")):
            f.commit_version(v)
            step(f"about 200 requests/s to HAProxy during ./deployer "
                 f"{' '.join(extra + (tu.GROUP, 'HEAD'))} ({v})")
            load = f.start_load(rate=200, duration=300)
            time.sleep(1)
            r = f.deployer(*extra, tu.GROUP, "HEAD")
            res = f.stop_load(load)
            print(r.stdout, end="")
            if r.returncode != 0:
                print(r.stderr, file=sys.stderr)
                return 1
            f.wait_all_up()
            results.append((what, res))
        step("requests during each rollout")
        print(f"{'':24}{results[0][0]:>24}{results[1][0]:>24}")
        for key in ("requests", "served", "failed"):
            print(f"{key:24}{results[0][1][key]:>24}"
                  f"{results[1][1][key]:>24}")
        for k, what in (("p99_ms", "p99 latency (ms)"),):
            print(f"{what:24}{results[0][1][k]:>24}{results[1][1][k]:>24}")
        bad = results[1][1]["statuses"] or results[1][1]["errors"]
        print(f"\nwithout traffic control HAProxy answered {bad} while "
              "an app restarted;\nwith it, each server was drained "
              "first and readied once its check passed.")
        if results[0][1]["failed"] != 0:
            print("demo: FAILED: requests failed with traffic control",
                  file=sys.stderr)
            return 1
        return 0
    finally:
        if f is not None:
            f.close()
        for h in made:
            h.close()
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
