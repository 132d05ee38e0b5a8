# SPDX-License-Identifier: ISC
"""The SQS protocol choice, end to end: an idle `hookd run` on SQS
(moto_server with signature checking, behind the recording proxy) does
not have libxml2 mapped when it speaks AWS JSON 1.0 (the default), and
does with the Query protocol; the daemon's round trip (receive, visibility
extension, delete) and the deployer's send also work over Query.
"""
import pathlib

import pytest

from daemon_util import daemon, message  # noqa: F401
from lifecycle_util import app_bundle, blocked_in, mkfifo, wait_for, \
    ws  # noqa: F401
from test_daemon_sqs import Fleet, actions

pytestmark = pytest.mark.usefixtures("moto")


@pytest.fixture
def fleet(moto, proxy, ws):
    return Fleet(moto, proxy, ws)


def mapped_libs(pid):
    """The file names of the shared objects mapped by pid."""
    out = set()
    for line in pathlib.Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6 and ".so" in parts[5]:
            out.add(pathlib.Path(parts[5].strip()).name)
    return out


def polls(fleet):
    return [e for e in fleet.proxy.log() if e["action"] == "ReceiveMessage"]


@pytest.mark.parametrize("protocol", ["json", "query"])
def test_idle_daemon_maps_libxml2_only_with_query(protocol, fleet, daemon,
                                                  ws):
    env = fleet.env()
    if protocol == "query":
        env["HOOKD_SQS_PROTOCOL"] = "query"
    h = daemon(ws, fleet.config(poll_wait=1), env=env)
    # Two long polls seen by the proxy: the first one's reply came back
    # and was parsed before the second was sent.
    wait_for(lambda: len(polls(fleet)) >= 2, 30, interval=0.2,
             what="two ReceiveMessage long polls")
    libs = mapped_libs(h.pid())
    xml = sorted(n for n in libs if n.startswith("libxml2"))
    log = fleet.proxy.log()
    if protocol == "json":
        assert xml == [], (xml, [(e["method"], e["path"], e["status"])
                                 for e in log])
        assert all(e["form"] and "QueueUrl" in e["form"]
                   for e in polls(fleet))
    else:
        assert xml, sorted(libs)
        assert polls(fleet)[0]["form"]["Action"] == "ReceiveMessage"
    assert h.stop() == 0


def query_actions(fleet, *names):
    """The proxy's entries for names, each checked to be a Query form."""
    out = [e for e in fleet.proxy.log() if e["action"] in names]
    for e in out:
        assert e["form"] is not None and e["form"].get("Action") == \
            e["action"], e
    return out


def test_daemon_round_trip_over_query(fleet, daemon, ws):
    """receive, visibility extension while a hook runs, delete: Query."""
    sha = fleet.upload(app_bundle(ws, "v1", fmt="tgz"))
    mkfifo(ws)
    (ws.out / "block.ApplicationStart.v1").write_text("")
    h = daemon(ws, fleet.config(),
               env=dict(fleet.env(), HOOKD_SQS_PROTOCOL="query"))
    m = message(fleet.store, sha, 1)
    fleet.send(m)     # the aws CLI: the JSON protocol, an independent peer
    wait_for(lambda: blocked_in(ws), 30, what="the hook to block")
    # visibility_timeout 30: an extension every 10 s, before it lapses.
    wait_for(lambda: actions(fleet, "ChangeMessageVisibility"), 25,
             interval=0.5, what="a ChangeMessageVisibility request")
    ext = query_actions(fleet, "ChangeMessageVisibility")
    assert ext[0]["form"]["VisibilityTimeout"] == "30"
    assert fleet.counts() == (0, 1)
    with open(ws.out / "fifo", "w"):
        pass
    fleet.wait_status(m["deployment_id"], "Succeeded")
    wait_for(fleet.empty, 20, interval=0.2, what="the message deleted")
    assert len(query_actions(fleet, "DeleteMessage")) == 1
    assert query_actions(fleet, "ReceiveMessage", "CreateQueue")
    assert h.stop() == 0


def test_deployer_sends_over_query(moto, proxy, ws, daemon):
    """deployer and daemon both on Query: the deployment goes through."""
    from deployer_util import GROUP, AwsFleet
    p = proxy(moto.url)
    f = AwsFleet(moto, ws, daemon, n=0)
    f.env = dict(moto.env(p.url), HOOKD_SQS_PROTOCOL="query")
    f.add_daemon("i-1")
    f.wait_registered(["i-1"])
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f.current_version("i-1") == "1.0.0"
    sent = [e for e in p.log() if e["action"] in ("SendMessage",
                                                  "SendMessageBatch")]
    assert sent, [e["action"] for e in p.log()]
    assert all(e["form"]["Action"] == e["action"] for e in sent)
    listed = [e for e in p.log() if e["action"] == "ListQueues"]
    assert all(e["form"]["Action"] == "ListQueues" for e in listed)


def test_bad_sqs_protocol_is_a_config_error(fleet, ws):
    from conftest import run
    from daemon_util import write_config
    from conftest import binary
    cfg = ws.base / "bad.yml"
    write_config(cfg, **fleet.config(sqs_protocol="xml"))
    r = run([binary("hookd"), "run", "-d", "-c", str(cfg)],
            env=dict(fleet.env()), timeout=30)
    assert r.returncode == 78, r.stderr
    assert "sqs_protocol: 'xml': must be json or query" in r.stderr


def test_config_key_selects_query_for_hookd(fleet, daemon, ws):
    h = daemon(ws, fleet.config(poll_wait=1, sqs_protocol="query"),
               env=fleet.env())
    wait_for(lambda: len(polls(fleet)) >= 1, 30, interval=0.2,
             what="a ReceiveMessage long poll")
    assert polls(fleet)[0]["form"].get("Action") == "ReceiveMessage"
    assert h.stop() == 0


def test_config_key_selects_query_for_deployer(moto, proxy, ws, daemon):
    from deployer_util import GROUP, AwsFleet
    p = proxy(moto.url)
    f = AwsFleet(moto, ws, daemon, n=0)
    f.env = moto.env(p.url)
    f.add_daemon("i-1")
    f.wait_registered(["i-1"])
    yml = (f.repo / "deployer.yml").read_text()
    f.commit("query", {"deployer.yml": yml.replace(
        "groups:\n", "sqs_protocol: query\ngroups:\n")})
    r = f.deployer(GROUP, "HEAD")
    assert r.returncode == 0, r.stdout + r.stderr
    sent = [e for e in p.log() if e["action"] in ("SendMessage",
                                                  "SendMessageBatch")]
    assert sent and all(e["form"].get("Action") == e["action"]
                        for e in sent)
