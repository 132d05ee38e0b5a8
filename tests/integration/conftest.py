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
