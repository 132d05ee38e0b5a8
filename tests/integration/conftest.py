# SPDX-License-Identifier: ISC
"""Shared pytest fixtures: where the binaries are, the shared test data."""
import os
import pathlib
import subprocess
import sys

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "tests"))
pytest_plugins = ["peers.fixtures"]   # the AWS peers: moto, imds, proxy
BUILD = pathlib.Path(os.environ.get("HOOKD_BUILD", TOP / "build"))
SHARED = pathlib.Path(os.environ.get("HOOKD_SHARED", TOP.parent / "shared"))


def binary(name):
    p = BUILD / "bin" / name
    if not p.exists():
        pytest.fail(f"{p} is not built; run 'make' first")
    return str(p)


@pytest.fixture(scope="session")
def hookd_bin():
    return binary("hookd")


def run(argv, **kw):
    """Run a command, capture stdout and stderr separately, never raise."""
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "rpm: builds the RPM once per session (make rpm)")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (make integration), the tests that need the RPM
    go to one worker, which builds it once (--dist loadgroup), and come
    first: the build is the longest single piece of work."""
    rpm = [i for i in items if i.get_closest_marker("rpm")]
    for i in rpm:
        i.add_marker(pytest.mark.xdist_group("rpm"))
    if config.getoption("dist", "no") != "no":
        ids = {id(i) for i in rpm}
        items[:] = rpm + [i for i in items if id(i) not in ids]
