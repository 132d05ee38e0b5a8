# SPDX-License-Identifier: ISC
"""Packaging, as an operator meets it: 'make rpm' builds; the packages hold
the binaries, the unit, the config, the man pages; they install into a
scratch root where hookd runs; 'make install' never overwrites a config;
each --help and its man page name the same long options; the man pages
lint clean; the unit passes 'systemd-analyze verify'; logrotate accepts and
applies its file.

The RPM is built once per session (about 40 s on two busy cores, without
%check: 'make check' runs the unit tests itself).  Tests marked 'rpm' need
it; '-m "not rpm"' skips them."""
import os
import re
import shutil
import stat
import tarfile

import pytest

from conftest import BUILD, SHARED, TOP, binary, run

MAN = TOP / "docs" / "man"
PKG = TOP / "packaging"

# make run from here must not inherit the flags of a make above pytest
# (make check -> make integration): they would leak BUILD, SAN, -j.
MAKE_ENV = {k: v for k, v in os.environ.items()
            if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}


def need(tool):
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed (scripts/deps.sh)")


@pytest.fixture(scope="session")
def rpm_dir(tmp_path_factory):
    """The BUILD of 'make rpm': this session's own (with pytest-xdist, one
    per worker), never a directory another pytest may be building in."""
    return tmp_path_factory.mktemp("rpmtest")


@pytest.fixture(scope="session")
def rpms(rpm_dir):
    """Run 'make rpm' once into rpm_dir; returns {name: path}."""
    need("rpmbuild")
    bdir = rpm_dir
    r = run(["make", "-C", str(TOP), f"BUILD={bdir}", "rpm",
             "RPMBUILD_FLAGS=--nocheck"], env=MAKE_ENV, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    found = {}
    for p in (bdir / "rpm" / "RPMS").rglob("*.rpm"):
        q = run(["rpm", "-qp", "--qf", "%{NAME}", str(p)])
        found[q.stdout] = p
    return found


def rpm_q(path, *args):
    r = run(["rpm", "-qp", *args, str(path)])
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.rpm
def test_make_rpm_builds_both_packages(rpms):
    assert set(rpms) == {"hookd", "hookd-deployer"}


@pytest.mark.rpm
def test_dist_tarball_carries_its_version(rpms, rpm_dir):
    (tgz,) = rpm_dir.glob("hookd-*.tar.gz")
    top = tgz.name[:-len(".tar.gz")]
    with tarfile.open(tgz) as t:
        names = set(t.getnames())
        version = t.extractfile(f"{top}/VERSION").read().decode()
    assert version == top[len("hookd-"):] + "\n"
    for f in ("Makefile", "LICENSE", "packaging/rpm/hookd.spec",
              "packaging/hookd.service", "packaging/hookd.yml",
              "packaging/hookd.logrotate", "docs/man/hookd.8"):
        assert f"{top}/{f}" in names, f
    assert not any(n.startswith(f"{top}/build/") for n in names)


@pytest.mark.rpm
def test_rpm_lists_binaries_unit_config_and_man_pages(rpms):
    files = set(rpm_q(rpms["hookd"], "-l").split())
    for f in ("/usr/sbin/hookd", "/usr/lib/systemd/system/hookd.service",
              "/etc/hookd/hookd.yml", "/etc/logrotate.d/hookd",
              "/etc/sysconfig/hookd", "/var/lib/hookd", "/var/log/hookd"):
        assert f in files
    for m in ("man8/hookd.8", "man5/hookd.yml.5", "man5/appspec.5"):
        assert any(re.fullmatch(rf"/usr/share/man/{m}(\.gz)?", f)
                   for f in files), m
    assert any(f.endswith("/LICENSE") for f in files)
    assert any(f.endswith("/operations.md") for f in files)

    dfiles = set(rpm_q(rpms["hookd-deployer"], "-l").split())
    assert "/usr/bin/deployer" in dfiles
    assert "/usr/sbin/hookd" not in dfiles
    if (MAN / "deployer.1").exists():
        assert any(re.fullmatch(r"/usr/share/man/man1/deployer\.1(\.gz)?",
                                f) for f in dfiles)


@pytest.mark.rpm
def test_rpm_config_modes_and_scriptlets(rpms):
    rows = rpm_q(rpms["hookd"], "--qf",
                 "[%{FILEMODES:perms} %{FILEFLAGS:fflags} %{FILENAMES}\n]")
    attrs = {}
    for line in rows.splitlines():
        perms, flags, name = line.split(" ", 2)
        attrs[name] = (perms, flags)
    assert attrs["/etc/hookd/hookd.yml"] == ("-rw-r-----", "cn")
    assert attrs["/etc/sysconfig/hookd"][1] == "cn"
    assert attrs["/etc/logrotate.d/hookd"][1] == "cn"
    assert attrs["/var/lib/hookd"][0] == "drwx------"
    assert attrs["/var/log/hookd"][0] == "drwxr-x---"

    # %systemd_post, %systemd_preun, %systemd_postun_with_restart: each
    # scriptlet acts on the unit (the macros' text differs by distro).
    scripts = rpm_q(rpms["hookd"], "--scripts")
    for phase in ("postinstall", "preuninstall", "postuninstall"):
        m = re.search(rf"^{phase} scriptlet.*?\n(.*?)(?=^\w+ scriptlet|\Z)",
                      scripts, re.M | re.S)
        assert m and "hookd.service" in m.group(1), phase


@pytest.mark.rpm
def test_rpm_requires_the_libraries_hookd_loads_on_demand(rpms):
    """hookd dlopen()s libcurl, libarchive, libxml2 and libcrypto (which
    rpm's generator cannot see): the package must still require them."""
    reqs = rpm_q(rpms["hookd"], "--requires")
    for pkg in ("libcurl", "libarchive", "libxml2", "openssl-libs"):
        assert re.search(rf"^{pkg}\(", reqs, re.M), (pkg, reqs)


@pytest.mark.rpm
def test_rpm_installs_into_a_scratch_root_where_hookd_runs(rpms, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    r = run(["rpm", "-i", "--root", str(root), "--nodeps", "--noscripts",
             str(rpms["hookd"]), str(rpms["hookd-deployer"])])
    assert r.returncode == 0, r.stderr
    # The binary of the scratch root; its shared libraries are the host's.
    r = run([str(root / "usr/sbin/hookd"), "--version"])
    assert r.returncode == 0, r.stderr
    assert re.fullmatch(r"hookd \S+\n", r.stdout)
    # The build read the tarball's VERSION file; the package's Version is
    # the same, spelt for rpm (Makefile RPM_VERSION).
    v = r.stdout.split()[1]
    if re.match(r"[0-9]+\.", v):
        v = v.replace("-", "^", 1).replace("-", ".")
    else:
        v = "0^" + v.replace("-", ".")
    assert rpm_q(rpms["hookd"], "--qf", "%{VERSION}") == v
    r = run([str(root / "usr/bin/deployer"), "--version"])
    assert r.returncode == 0, r.stderr

    unit = (root / "usr/lib/systemd/system/hookd.service").read_text()
    assert "ExecStart=/usr/sbin/hookd run\n" in unit
    st = (root / "var/lib/hookd").stat()
    assert stat.S_IMODE(st.st_mode) == 0o700
    assert stat.S_IMODE((root / "etc/hookd/hookd.yml").stat().st_mode) \
        == 0o640


def test_make_install_keeps_an_edited_config(tmp_path, hookd_bin):
    dest = tmp_path / "dest"
    # -o all: install what the tests run, never rebuild it (with other
    # flags) on the way.
    argv = ["make", "-C", str(TOP), "-o", "all", f"BUILD={BUILD}",
            f"DESTDIR={dest}", "PREFIX=/usr/local", "install"]
    r = run(argv, env=MAKE_ENV, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert (dest / "usr/local/sbin/hookd").exists()
    unit = (dest / "usr/lib/systemd/system/hookd.service").read_text()
    assert "ExecStart=/usr/local/sbin/hookd run\n" in unit
    for m in ("man8/hookd.8", "man5/hookd.yml.5", "man5/appspec.5"):
        assert (dest / "usr/local/share/man" / m).exists(), m
    assert (dest / "etc/logrotate.d/hookd").exists()
    assert stat.S_IMODE((dest / "var/lib/hookd").stat().st_mode) == 0o700
    assert (dest / "var/log/hookd").is_dir()

    cfg = dest / "etc/hookd/hookd.yml"
    assert cfg.read_text() == (PKG / "hookd.yml").read_text()
    cfg.write_text("application: web\n")
    r = run(argv, env=MAKE_ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert cfg.read_text() == "application: web\n"


# --- man pages and --help ---------------------------------------------

LONGOPT = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")
# mdoc writes --opt as "Fl -opt" or "Fl Fl opt".
MAN_LONGOPT = re.compile(r"\bFl (?:-|Fl )([a-z][a-z0-9-]*)")


def help_opts(argv):
    r = run(argv)
    assert r.returncode == 0, f"{argv}: {r.stderr}"
    return set(LONGOPT.findall(r.stdout))


def hookd_commands():
    out = run([binary("hookd"), "--help"]).stdout
    block = out.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def man_opts(text):
    return set(MAN_LONGOPT.findall(text))


def man_sections(text, macro):
    """{title: body} of each .Sh or .Ss block."""
    parts = re.split(rf"^\.{macro} (.*)$", text, flags=re.M)
    return {parts[i].strip(): parts[i + 1]
            for i in range(1, len(parts) - 1, 2)}


def test_hookd_help_and_man_page_name_the_same_options():
    text = (MAN / "hookd.8").read_text()
    desc = man_sections(text, "Sh")["DESCRIPTION"]
    sub = man_sections(desc, "Ss")
    every = help_opts([binary("hookd"), "--help"])
    # The global options are in DESCRIPTION before the first .Ss.
    assert help_opts([binary("hookd"), "--help"]) == \
        man_opts(desc.split(".Ss ", 1)[0])
    cmds = hookd_commands()
    assert set(cmds) == {t.split()[1] for t in sub}, "one .Ss per command"
    for c in cmds:
        h = help_opts([binary("hookd"), c, "--help"])
        every |= h
        m = man_opts(sub[f"hookd {c}"])
        assert h - m == set(), f"hookd {c}: --help options missing in " \
            f"hookd.8: {sorted(h - m)}"
        assert m - h == set(), f"hookd {c}: hookd.8 options missing in " \
            f"--help: {sorted(m - h)}"
    assert man_opts(text) == every


def test_hookd_usage_lines_are_the_man_page_synopsis():
    # STYLE.md B10: the usage line is identical to the SYNOPSIS.
    need("mandoc")
    r = run(["mandoc", "-Tascii", "-Owidth=300", str(MAN / "hookd.8")])
    assert r.returncode == 0, r.stderr
    text = re.sub(r".\x08", "", r.stdout)
    synopsis = text.split("SYNOPSIS\n", 1)[1].split("\n\n", 1)[0]
    lines = {" ".join(line.split()) for line in synopsis.splitlines()}
    for argv in [[]] + [[c] for c in hookd_commands()]:
        out = run([binary("hookd"), *argv, "--help"]).stdout
        usage = out.splitlines()[0]
        assert usage.startswith("usage: ")
        assert " ".join(usage[7:].split()) in lines, usage


def test_deployer_help_and_man_page_name_the_same_options():
    page = MAN / "deployer.1"
    if not (BUILD / "bin" / "deployer").exists() or not page.exists():
        pytest.skip("deployer or deployer.1 is not there yet")
    out = run([binary("deployer"), "--help"]).stdout
    every = set(LONGOPT.findall(out))
    cmds = sorted(set(re.findall(r"^\s*(?:usage:\s*)?deployer ([a-z-]+) ",
                                 out, re.M)))
    for c in cmds:
        every |= help_opts([binary("deployer"), c, "--help"])
    m = man_opts(page.read_text())
    assert every - m == set(), f"deployer --help options missing in " \
        f"deployer.1: {sorted(every - m)}"
    assert m - every == set(), f"deployer.1 options missing in --help: " \
        f"{sorted(m - every)}"


@pytest.mark.parametrize("page", ["hookd.8", "hookd.yml.5", "appspec.5"])
def test_man_page_lints_clean_in_openbsd_order(page):
    need("mandoc")
    r = run(["mandoc", "-Tlint", "-W", "warning", str(MAN / page)])
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + \
        r.stderr
    order = ["NAME", "SYNOPSIS", "DESCRIPTION", "ENVIRONMENT", "FILES",
             "EXIT STATUS", "EXAMPLES", "SEE ALSO"]
    assert list(man_sections((MAN / page).read_text(), "Sh")) == order


def test_hookd_8_documents_every_variable_of_the_design():
    design = (SHARED / "DESIGN.md").read_text()
    names = set(re.findall(r"\b((?:AWS|HOOKD)_[A-Z0-9_]*[A-Z0-9])", design))
    names |= {"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_AUTO_SCALING",
              "DEPLOYMENT_GROUP_NAME"}
    env = man_sections((MAN / "hookd.8").read_text(), "Sh")["ENVIRONMENT"]
    documented = set(re.findall(r"\bEv ([A-Z0-9_]+)", env))
    assert names - documented == set()


def hookd_yml_keys():
    src = (TOP / "lib" / "config.c").read_text()
    table = src.split("hookd_fields[] = {", 1)[1].split("};", 1)[0]
    keys = re.findall(r'CF\("([a-z_]+)"', table)
    assert "application" in keys
    return keys


def top_level_items(mdoc):
    """The .It Cm names of the outermost list (a key's sub-keys, in a
    nested .Bl, are not keys of the file)."""
    depth, names = 0, set()
    for line in mdoc.splitlines():
        if line.startswith(".Bl"):
            depth += 1
        elif line.startswith(".El"):
            depth -= 1
        else:
            m = re.match(r"\.It Cm ([a-z_]+)", line)
            if m and depth == 1:
                names.add(m.group(1))
    return names


def test_every_hookd_yml_key_is_in_the_man_page_and_template():
    keys = set(hookd_yml_keys())
    desc = man_sections((MAN / "hookd.yml.5").read_text(),
                        "Sh")["DESCRIPTION"]
    assert top_level_items(desc) == keys
    tmpl = (PKG / "hookd.yml").read_text()
    assert set(re.findall(r"^#([a-z_]+):", tmpl, re.M)) == keys


def test_template_examples_are_a_valid_config(tmp_path, hookd_bin):
    # As shipped, everything is commented out; each example value,
    # uncommented, must be accepted ('hookd run -n').
    key = tmp_path / "message.key"
    key.write_text("secret\n")
    key.chmod(0o600)
    text = re.sub(r"^#([a-z_]+:)", r"\1", (PKG / "hookd.yml").read_text(),
                  flags=re.M)
    cfg = tmp_path / "hookd.yml"
    cfg.write_text(text)
    # -n also resolves the group, region and credentials
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="x",
               AWS_EC2_METADATA_DISABLED="true")
    r = run([hookd_bin, "run", "-n", "-c", str(cfg)], env=env)
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[-1].startswith("configuration OK")
    assert "AWS credentials from the environment" in r.stdout


# --- the unit and logrotate ------------------------------------------

def unit_settings():
    out = {}
    for line in (PKG / "hookd.service").read_text().splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def test_unit_passes_systemd_analyze_verify(tmp_path, hookd_bin):
    need("systemd-analyze")
    # The unit names /usr/sbin/hookd, which this machine need not have;
    # verify a copy that runs the binary under test, with the man pages
    # of Documentation= found in a man tree made from docs/man.
    text = (PKG / "hookd.service").read_text()
    assert "ExecStart=/usr/sbin/hookd run\n" in text
    unit = tmp_path / "hookd.service"
    unit.write_text(text.replace("/usr/sbin/hookd", hookd_bin))
    for page in MAN.glob("*.[0-9]"):
        d = tmp_path / "man" / f"man{page.suffix[1:]}"
        d.mkdir(parents=True, exist_ok=True)
        shutil.copy(page, d)
    env = dict(os.environ, MANPATH=str(tmp_path / "man"))
    r = run(["systemd-analyze", "verify", str(unit)], env=env)
    # verify exits 0 on unknown keys and bad values too; it warns.
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stderr


def test_unit_has_the_supervision_settings():
    s = unit_settings()
    assert s["Type"] == ["notify"]
    assert s["Restart"] == ["on-failure"]
    assert s["KillMode"] == ["mixed"]
    assert set(s["RestartPreventExitStatus"][0].split()) == {"64", "78"}
    assert int(s["WatchdogSec"][0]) > 0
    assert s["EnvironmentFile"] == ["-/etc/sysconfig/hookd",
                                    "-/etc/default/hookd"]
    # The stop timeout outlasts the daemon's grace plus the hook's
    # SIGTERM -> SIGKILL grace (10 s).
    out = run([binary("hookd"), "run", "--help"]).stdout
    # "--grace SEC ... (default: shutdown_grace of hookd.yml, else 30)"
    m = re.search(r"--grace.*?else (\d+)\)", out, re.S)
    assert m, out
    grace = int(m.group(1))
    assert int(s["TimeoutStopSec"][0]) > grace + 10
    # Sandboxing that would also confine hook scripts stays off.
    for k in ("NoNewPrivileges", "ProtectSystem", "ProtectHome",
              "PrivateTmp", "PrivateDevices", "SystemCallFilter",
              "MemoryDenyWriteExecute", "User", "DynamicUser"):
        assert k not in s, k


def test_logrotate_rotates_a_deployment_log(tmp_path):
    need("logrotate")
    r = run(["logrotate", "-d", "-s", str(tmp_path / "state"),
             str(PKG / "hookd.logrotate")])
    assert r.returncode == 0, r.stderr
    # The same rules on a scratch directory, with a small size to cross.
    logs = tmp_path / "logs"
    logs.mkdir()
    conf = (PKG / "hookd.logrotate").read_text()
    conf = conf.replace("/var/lib/hookd/logs", str(logs))
    conf = conf.replace("/var/log/hookd", str(tmp_path / "varlog"))
    conf = conf.replace("size 50M", "size 1k")
    (tmp_path / "conf").write_text(conf)
    log = logs / "d-ABCDEFGHI.log"
    log.write_text("x" * 4096)
    r = run(["logrotate", "-s", str(tmp_path / "state"),
             str(tmp_path / "conf")])
    assert r.returncode == 0, r.stderr
    assert log.stat().st_size == 0            # copytruncate
    assert (logs / "d-ABCDEFGHI.log.1").stat().st_size == 4096
