# SPDX-License-Identifier: ISC
"""Fault-injection suite (make fault, part of make check).

Reuses the integration suite's helpers: tests/integration/conftest.py's
names (TOP, BUILD, binary, run, hookd_bin) are re-exported from here, so
tests/integration/lifecycle_util.py ('from conftest import ...') works
unchanged whichever conftest pytest loaded last; the peers' fixtures come
with them.  Run this directory in its own pytest session (make fault)."""
import importlib.util
import pathlib
import sys

INTEG = pathlib.Path(__file__).resolve().parents[1] / "integration"
sys.path.insert(0, str(INTEG))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

_spec = importlib.util.spec_from_file_location("_integration_conftest",
                                               INTEG / "conftest.py")
_integ = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_integ)

TOP = _integ.TOP
BUILD = _integ.BUILD
SHARED = _integ.SHARED
binary = _integ.binary
run = _integ.run
hookd_bin = _integ.hookd_bin
pytest_plugins = _integ.pytest_plugins
