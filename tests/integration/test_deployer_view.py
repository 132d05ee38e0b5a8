# SPDX-License-Identifier: ISC
"""What `deployer GROUP REF` shows for a fleet bigger than the terminal
(issue 19): on a terminal, a summary line (succeeded, failed, running,
pending, rate, ETA) and the rows that matter instead of one row per
instance; piped, one line per change of every instance, complete.  The
fleet is tests/peers/fleetsim.py (S3 and SQS with SigV4 checked; each
instance answers its message with a Succeeded document).
"""
import fcntl
import os
import pty
import re
import select
import shutil
import struct
import subprocess
import termios

import pytest

from conftest import binary
from deployer_util import EXAMPLE, GIT_ENV, GROUP
from peers.fixtures import start_py_peer

N = 60
KEY, SECRET = "AKIDFLEETSIM", "fleetsim-secret"


@pytest.fixture
def fleet(_peer_procs, tmp_path):
    p, port = start_py_peer(_peer_procs, "fleetsim.py",
                            ["--instances", str(N), "--delay", "0.3",
                             "--latency", "0.005", "--app", "worker"],
                            tmp_path / "sim.log")
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE, repo, symlinks=True,
                    ignore=shutil.ignore_patterns("deployer.yml",
                                                  "deployer"))
    (repo / "deployer.yml").write_text(
        "application: worker\nstore: s3://fleet/deploys\nqueue: sqs\n"
        "queue_prefix: hookd\nregion: us-east-1\n"
        "max_requests_in_flight: 16\ngroups:\n"
        f"  {GROUP}:\n    deployment_config: HalfAtATime\n"
        "    rollback_on_failure: false\n    timeout: 120\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(GIT_ENV)
    env.update({"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
                "AWS_ACCESS_KEY_ID": KEY, "AWS_SECRET_ACCESS_KEY": SECRET,
                "AWS_REGION": "us-east-1", "TERM": "xterm"})
    for args in (["init", "-q", "-b", "master"], ["add", "-A"],
                 ["commit", "-q", "-m", "v1"]):
        subprocess.run(["git", "-C", str(repo)] + args, env=env, check=True)
    yield repo, env
    p.terminate()
    p.wait()


def run_on_tty(argv, cwd, env, rows=14, cols=120, timeout=120, react=None):
    """Run argv with a pty as its terminal (stdout and stderr; with react
    also stdin and the controlling terminal, so that ^C is a SIGINT from
    the line discipline).  react(text so far) returns bytes to type, or
    None.  Returns (exit status, all output)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ,
                struct.pack("HHHH", rows, cols, 0, 0))
    kw = {}
    if react is not None:
        kw = dict(stdin=slave, start_new_session=True,
                  preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0))
    p = subprocess.Popen(argv, cwd=cwd, env=env,
                         stdin=kw.pop("stdin", subprocess.DEVNULL),
                         stdout=slave, stderr=slave, close_fds=True, **kw)
    os.close(slave)
    out = b""
    while True:
        r, _, _ = select.select([master], [], [], timeout)
        if not r:
            p.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if react is not None:
            typed = react(out.decode(errors="replace"))
            if typed:
                os.write(master, typed)
    p.wait(timeout)
    os.close(master)
    return p.returncode, out.decode(errors="replace")


def test_terminal_shows_a_summary_and_the_rows_that_matter(fleet):
    repo, env = fleet
    rc, out = run_on_tty([binary("deployer"), GROUP, "HEAD"], str(repo),
                         env)
    assert rc == 0, out
    # The summary line, with a rate and an ETA, redrawn as it goes.
    summaries = re.findall(r"(\d+)/%d succeeded, (\d+) failed, (\d+) "
                           r"running, (\d+) pending; [\d.]+/s, ETA \S+" % N,
                           out)
    assert summaries, out
    assert summaries[-1][0] == str(N)
    # A few rows, never all 60 at once: at most the terminal's height.
    assert re.search(r"\(\d+ of %d instances shown" % N, out)
    frames = out.split("INSTANCE ")
    rows = max(len(re.findall(r"^i-\d{5} ", f, re.M)) for f in frames)
    assert 0 < rows <= 14
    assert f"{N} succeeded, 0 failed" in out


def test_piped_output_has_a_line_for_every_instance(fleet):
    repo, env = fleet
    r = subprocess.run([binary("deployer"), GROUP, "HEAD"], cwd=str(repo),
                       env=env, stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    done = set(re.findall(r" (i-\d{5}): Succeeded", r.stdout))
    assert len(done) == N
    assert "instances shown" not in r.stdout


def screen(out):
    """The lines a terminal shows for out (scrollback included): text,
    CR, LF, and the CSI sequences the view uses (A, J, K)."""
    lines, row, col = [""], 0, 0
    for m in re.finditer(r"\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+", out):
        t = m.group(0)
        if m.group(2) == "A":
            row = max(0, row - int(m.group(1) or 1))
        elif m.group(2) == "J":
            lines[row] = lines[row][:col]
            del lines[row + 1:]
        elif m.group(2) == "K":
            lines[row] = lines[row][:col]
        elif m.group(2) is not None:
            pass
        elif t == "\r":
            col = 0
        elif t == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        else:
            cur = lines[row].ljust(col)
            lines[row] = cur[:col] + t + cur[col + len(t):]
            col += len(t)
    return lines


def test_an_interrupt_on_a_terminal_leaves_a_clean_table(fleet):
    """Ctrl-C during the rollout: the terminal echoes ^C where the
    cursor is; the redraw, the question and the table after it are each
    whole lines (no "ININSTANCE", no summary written over itself)."""
    repo, env = fleet
    state = {"sent": False, "answered": False}

    def react(text):
        if not state["sent"] and "INSTANCE " in text:
            state["sent"] = True
            return b"\x03"
        if state["sent"] and not state["answered"] and \
                "stop the rollout?" in text:
            state["answered"] = True
            return b"y\n"
        return None

    _, text = run_on_tty([binary("deployer"), GROUP, "HEAD"], str(repo),
                         env, timeout=120, react=react)
    assert state["sent"] and state["answered"], text
    assert "^C" in text, text
    shown = screen(text)
    for line in shown:
        if "INSTANCE" in line:
            assert line.startswith("INSTANCE "), shown
        if "/%d succeeded" % N in line:
            m = re.match(r"(\d+)/%d succeeded, \d+ failed" % N, line)
            assert m and int(m.group(1)) <= N, shown
    # The question (and the stop) stay on the screen, the table below.
    ask = [i for i, ln in enumerate(shown) if "stop the rollout?" in ln]
    assert ask, shown
    stop = [i for i, ln in enumerate(shown)
            if ln.startswith("stop requested by")]
    assert all(i > ask[0] for i in stop), shown
    assert any("/%d succeeded" % N in ln for ln in shown[ask[0]:]), shown
