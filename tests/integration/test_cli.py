# SPDX-License-Identifier: ISC
"""hookd's command line: help, version, usage errors (STYLE.md B10)."""
from conftest import run


def test_version_prints_to_stdout_and_exits_0(hookd_bin):
    r = run([hookd_bin, "--version"])
    assert r.returncode == 0
    assert r.stdout.startswith("hookd ")
    assert r.stderr == ""


def test_help_lists_commands_on_stdout(hookd_bin):
    r = run([hookd_bin, "--help"])
    assert r.returncode == 0
    assert "validate" in r.stdout
    assert r.stderr == ""


def test_unknown_command_is_a_usage_error(hookd_bin):
    r = run([hookd_bin, "frobnicate"])
    assert r.returncode == 64
    assert r.stdout == ""
    assert "unknown command 'frobnicate'" in r.stderr
    assert "try 'hookd --help'" in r.stderr


def test_unknown_option_is_a_usage_error(hookd_bin):
    r = run([hookd_bin, "--grup"])
    assert r.returncode == 64
    assert r.stdout == ""
