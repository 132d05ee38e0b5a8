# SPDX-License-Identifier: ISC
"""pytest fixtures for the local AWS peers (registered as a plugin by
tests/integration/conftest.py).

  moto     session: moto_server with signature checking (.url, .access_key,
           .secret, .region, .env(), .client(service))
  imds     function: the IMDSv2 + lifecycle-action peer, reset per test
           (.url, .configure(**cfg), .log(), .state(), .env())
  proxy    function: a factory, proxy(upstream_url) -> a fault proxy in
           front of that peer, rules and log cleared (.url, .rules([...]),
           .log())
  fleet    function: the fleet peer in front of moto (its own process per
           test): real `hookd run` daemons for the instances of the
           watched groups (.url, .configure(**cfg), .state(),
           .instances(group, state), .log(action), .crash(id), .start(id),
           .env())
  aws_env  function: a clean base environment (no AWS_* from the caller)
  elb_peer function: our scripted load balancer (tests/peers/elb.py),
           reset per test, its test key accepted (.url, .configure(**cfg),
           .script(lb, instance, **how), .throttle(action, times), .log(),
           .state(), .env(), .arn(name), .access_key, .secret)

Every process started is registered for teardown at the end of the
session.  When a test fails, the peers' logs (moto's output, the request
logs) are copied to tests/integration/log/<test>/.
"""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import urllib.request

import pytest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import moto as moto_peer  # noqa: E402

TOP = HERE.parents[1]
LOGROOT = TOP / "tests" / "integration" / "log"
PYTHON = "/usr/bin/python3"


def _http(method, url, data=None, timeout=10):
    body = None if data is None else json.dumps(data).encode()
    req = urllib.request.Request(url, data=body, method=method)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read() or b"null")


class _Procs(list):
    def stop_all(self):
        for p in self:
            if p.poll() is None:
                p.terminate()
        for p in self:
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def start_py_peer(procs, script, args, logfile):
    """Start tests/peers/SCRIPT; return (proc, port) once it announced."""
    log = open(logfile, "ab")
    p = subprocess.Popen([PYTHON, "-u", str(HERE / script)] + list(args),
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=log, start_new_session=True,
                         cwd=str(HERE))
    log.close()
    procs.append(p)
    line = p.stdout.readline().decode().split()
    if len(line) != 2 or line[0] != "READY":
        p.kill()
        raise moto_peer.PeerError(f"{script} did not start; see {logfile}")
    return p, int(line[1])


class IMDSPeer:
    def __init__(self, procs, logdir):
        self.logfile = pathlib.Path(logdir) / "imds_asg.log"
        self.proc, port = start_py_peer(procs, "imds_asg.py", [],
                                        self.logfile)
        self.url = f"http://127.0.0.1:{port}"

    def configure(self, **cfg):
        return _http("POST", self.url + "/_peer/config", cfg)

    def reset(self):
        _http("POST", self.url + "/_peer/reset", {})

    def log(self, kind=None, action=None):
        out = _http("GET", self.url + "/_peer/log")
        return [e for e in out if (kind is None or e.get("kind") == kind)
                and (action is None or e.get("action") == action)]

    def state(self):
        return _http("GET", self.url + "/_peer/state")

    def env(self, **extra):
        """IMDS as the only credential and region source; Auto Scaling
        calls go to this peer."""
        e = {"AWS_EC2_METADATA_SERVICE_ENDPOINT": self.url,
             "AWS_ENDPOINT_URL_AUTO_SCALING": self.url,
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
             "AWS_CONFIG_FILE": "/nonexistent/config"}
        e.update(extra)
        return e


class FleetPeer:
    """tests/peers/fleet.py in front of moto: real daemons for the
    instances of the watched groups (one process per test)."""

    def __init__(self, procs, logdir, moto):
        self.moto = moto
        self.logfile = pathlib.Path(logdir) / "fleet.log"
        self.proc, port = start_py_peer(procs, "fleet.py", [moto.url],
                                        self.logfile)
        self.url = f"http://127.0.0.1:{port}"
        self.configure(moto_keys={moto.access_key: moto.secret},
                       region=moto.region)

    def configure(self, **cfg):
        return _http("POST", self.url + "/_peer/config", cfg)

    def state(self):
        return _http("GET", self.url + "/_peer/state")

    def instances(self, group=None, state=None):
        """{id: record} of the instances, by group and lifecycle state."""
        return {k: v for k, v in self.state()["instances"].items()
                if (group is None or v["AutoScalingGroupName"] == group) and
                (state is None or v["LifecycleState"] == state)}

    def log(self, action=None):
        out = _http("GET", self.url + "/_peer/log")
        return [e for e in out if action is None or e.get("action") == action]

    def crash(self, instance, sig=9):
        return _http("POST", self.url + "/_peer/stop",
                     {"instance": instance, "signal": sig})

    def start(self, instance):
        """Its daemon started again on the same root (after crash())."""
        return _http("POST", self.url + "/_peer/start",
                     {"instance": instance})

    def env(self, **extra):
        """Auto Scaling through the fleet peer, everything else moto."""
        e = self.moto.env(AWS_ENDPOINT_URL_AUTO_SCALING=self.url)
        e.update(extra)
        return e

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class ELBPeer:
    """tests/peers/elb.py: ELBv2 + Classic Query APIs, targets scripted."""
    ACCESS_KEY = "AKIAELBPEERTEST00001"
    SECRET = "elb-peer-secret-never-printed"

    def __init__(self, procs, logdir):
        self.logfile = pathlib.Path(logdir) / "elb.log"
        self.proc, port = start_py_peer(procs, "elb.py", [], self.logfile)
        self.url = f"http://127.0.0.1:{port}"
        self.access_key, self.secret = self.ACCESS_KEY, self.SECRET

    def reset(self):
        _http("POST", self.url + "/_peer/reset", {})
        self.configure(static_keys={self.access_key: self.secret})

    def configure(self, **cfg):
        return _http("POST", self.url + "/_peer/config", cfg)

    def script(self, lb, instance, **how):
        return _http("POST", self.url + "/_peer/script",
                     dict(how, lb=lb, instance=instance))

    def throttle(self, action, times=1):
        return _http("POST", self.url + "/_peer/throttle",
                     {"action": action, "times": times})

    def log(self, action=None, instance=None):
        out = _http("GET", self.url + "/_peer/log")
        return [e for e in out if (action is None or e["action"] == action)
                and (instance is None or e["instance"] == instance)]

    def state(self):
        return _http("GET", self.url + "/_peer/state")

    @staticmethod
    def arn(name):
        return ("arn:aws:elasticloadbalancing:us-east-1:123456789012:"
                f"targetgroup/{name}/0123456789abcdef")

    def env(self, **extra):
        """Both ELB APIs go to this peer, signed with its test key."""
        e = {"AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2": self.url,
             "AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING": self.url,
             "AWS_ACCESS_KEY_ID": self.access_key,
             "AWS_SECRET_ACCESS_KEY": self.secret,
             "AWS_REGION": "us-east-1",
             "AWS_EC2_METADATA_DISABLED": "true",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
             "AWS_CONFIG_FILE": "/nonexistent/config"}
        e.update(extra)
        return e


class Proxy:
    def __init__(self, procs, logdir, upstream, n):
        self.upstream = upstream
        self.logfile = pathlib.Path(logdir) / f"proxy{n}.log"
        self.proc, port = start_py_peer(procs, "proxy.py", [upstream],
                                        self.logfile)
        self.url = f"http://127.0.0.1:{port}"

    def rules(self, rules):
        return _http("POST", self.url + "/__proxy/rules", rules)

    def reset(self):
        _http("POST", self.url + "/__proxy/reset", {})

    def log(self, action=None):
        out = _http("GET", self.url + "/__proxy/log")
        return [e for e in out if action is None or e.get("action") == action]


@pytest.fixture(scope="session")
def _peer_procs():
    procs = _Procs()
    yield procs
    procs.stop_all()


@pytest.fixture(scope="session")
def _peer_logdir():
    d = tempfile.mkdtemp(prefix="hookd-peers-")
    yield pathlib.Path(d)
    shutil.rmtree(d, ignore_errors=True)


_active = {}


@pytest.fixture(scope="session")
def moto(_peer_procs, _peer_logdir):
    try:
        m = moto_peer.Moto(_peer_logdir).start(_peer_procs)
    except moto_peer.PeerError as e:
        pytest.fail(str(e))
    _active["moto"] = m
    return m


@pytest.fixture(scope="session")
def _imds_session(_peer_procs, _peer_logdir):
    p = IMDSPeer(_peer_procs, _peer_logdir)
    _active["imds"] = p
    return p


@pytest.fixture
def imds(_imds_session):
    _imds_session.reset()
    return _imds_session


@pytest.fixture
def fleet(moto, _peer_procs, _peer_logdir):
    f = FleetPeer(_peer_procs, _peer_logdir, moto)
    _active["fleet"] = f
    try:
        yield f
    finally:
        _active.pop("fleet", None)
        f.stop()


@pytest.fixture(scope="session")
def _elb_session(_peer_procs, _peer_logdir):
    p = ELBPeer(_peer_procs, _peer_logdir)
    _active["elb"] = p
    return p


@pytest.fixture
def elb_peer(_elb_session):
    _elb_session.reset()
    return _elb_session


@pytest.fixture(scope="session")
def _proxies(_peer_procs, _peer_logdir):
    return {}


@pytest.fixture
def proxy(_proxies, _peer_procs, _peer_logdir):
    def get(upstream):
        if upstream not in _proxies:
            _proxies[upstream] = Proxy(_peer_procs, _peer_logdir, upstream,
                                       len(_proxies))
            _active.setdefault("proxies", []).append(_proxies[upstream])
        p = _proxies[upstream]
        p.reset()
        return p
    return get


@pytest.fixture
def aws_env():
    """os.environ without any AWS_* variable, plus a private HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.when == "call" and rep.failed and _active:
        _save_logs(item.name)


def _save_logs(name):
    d = LOGROOT / name
    d.mkdir(parents=True, exist_ok=True)
    m = _active.get("moto")
    if m is not None and m.logfile.exists():
        shutil.copy(m.logfile, d / "moto.log")
    i = _active.get("imds")
    if i is not None:
        shutil.copy(i.logfile, d / "imds_asg.log")
        try:
            (d / "imds_requests.json").write_text(json.dumps(i.log(),
                                                             indent=1))
        except OSError:
            pass
    f = _active.get("fleet")
    if f is not None:
        shutil.copy(f.logfile, d / "fleet.log")
        try:
            st = f.state()
            (d / "fleet_state.json").write_text(json.dumps(st, indent=1))
            for iid, rec in st["instances"].items():
                if rec.get("log") and os.path.exists(rec["log"]):
                    shutil.copy(rec["log"], d / f"hookd.{iid}.log")
        except OSError:
            pass
    e = _active.get("elb")
    if e is not None:
        shutil.copy(e.logfile, d / "elb.log")
        try:
            (d / "elb_requests.json").write_text(json.dumps(e.log(),
                                                            indent=1))
        except OSError:
            pass
    for n, p in enumerate(_active.get("proxies", [])):
        shutil.copy(p.logfile, d / f"proxy{n}.log")
        try:
            (d / f"proxy{n}_requests.json").write_text(json.dumps(p.log(),
                                                              indent=1))
        except OSError:
            pass


BUILD = pathlib.Path(os.environ.get("HOOKD_BUILD", TOP / "build"))


class Awsc:
    """Runs $(BUILD)/tests/awsc with a clean AWS environment.

    Every run checks that no known secret (moto's keys, the test's own)
    appears in stdout or stderr: secrets must never be printed, even with
    -v.
    """

    def __init__(self, base_env):
        self.path = BUILD / "tests" / "awsc"
        if not self.path.exists():
            pytest.fail(f"{self.path} is not built; run 'make "
                        f"BUILD={BUILD} {self.path}'")
        self.base_env = base_env
        self.secrets = set()

    def __call__(self, *args, env=None, verbose=False, timeout=60):
        e = dict(self.base_env)
        e.update(env or {})
        argv = [str(self.path)] + (["-v"] if verbose else []) + \
            [str(a) for a in args]
        r = subprocess.run(argv, capture_output=True, text=True, env=e,
                           timeout=timeout)
        for s in self.secrets:
            assert s not in r.stdout and s not in r.stderr, \
                f"a secret was printed by {argv[1:]}"
        return r


@pytest.fixture
def awsc(request, aws_env, tmp_path):
    env = dict(aws_env, HOME=str(tmp_path))
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
    a = Awsc(env)
    if "moto" in request.fixturenames:
        request.getfixturevalue("moto")
    m = _active.get("moto")
    if m is not None:
        a.secrets.update({m.secret, m.secret2})
    a.secrets.add(ELBPeer.SECRET)
    return a
