#!/usr/bin/python3
# SPDX-License-Identifier: ISC
"""tests/peers/proxy.py with seeded random faults: besides the rules a
test posts, each request without a matching rule fails with probability
RATE (argv[2], default 0.1) in one of the proxy's ways, drawn from a
random.Random(SEED) (argv[3], default 1): 500, 503, throttled, connection
reset before the reply, reply cut in the middle, or delayed 0.5 s (the
only one that still forwards).  The log records which fault hit.

Run: python3 flaky_proxy.py UPSTREAM_URL [RATE [SEED]] -> "READY <port>"."""
import pathlib
import random
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] /
                       "peers"))
import peerlib  # noqa: E402
import proxy  # noqa: E402

FAULTS = [{"fault": "status", "status": 500},
          {"fault": "status", "status": 503},
          {"fault": "throttle"},
          {"fault": "reset"},
          {"fault": "cut"},
          {"fault": "delay", "seconds": 0.5}]


class FlakyHandler(proxy.ProxyHandler):
    rate = 0.1
    rng = random.Random(1)
    rng_lock = threading.Lock()

    def pick_rule(self, action, service):
        rule = super().pick_rule(action, service)
        if rule is not None:
            return rule
        with self.rng_lock:
            if self.rng.random() >= self.rate:
                return None
            return dict(self.rng.choice(FAULTS), used=1)


if __name__ == "__main__":
    FlakyHandler.upstream = sys.argv[1].rstrip("/")
    if len(sys.argv) > 2:
        FlakyHandler.rate = float(sys.argv[2])
    if len(sys.argv) > 3:
        FlakyHandler.rng = random.Random(int(sys.argv[3]))
    peerlib.serve(FlakyHandler)
