#!/bin/sh
# SPDX-License-Identifier: ISC
#
# Install every Debian package hookd's build, tests, demo and benchmarks
# need, with apt-get.  Idempotent: when everything is present it installs
# nothing and costs a dpkg query.  Then check that moto_server (the AWS
# emulator the integration tests use) can be found.
set -eu

PACKAGES="
build-essential
pkg-config
git
clang
clang-tidy
clang-tools
cppcheck
gcovr
libclang-rt-14-dev
libcurl4-openssl-dev
libssl-dev
libjansson-dev
libyaml-dev
libsystemd-dev
libarchive-dev
libacl1-dev
libxml2-dev
libcmocka-dev
python3
python3-pytest
python3-pytest-xdist
python3-botocore
python3-yaml
awscli
zip
unzip
curl
rpm
systemd
logrotate
mandoc
procps
haproxy
"

missing=""
for p in $PACKAGES; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "deps: installing:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		SUDO=sudo
	else
		SUDO=
	fi
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -qq
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -qq --no-install-recommends $missing
fi

here=$(cd "$(dirname "$0")" && pwd)
if ! "$here/find-moto" >/dev/null; then
	"$here/find-moto" || true
	echo "deps: the integration tests need moto_server (the moto AWS" \
	    "emulator) on PATH; install it in a Python with" \
	    "'pip install \"moto[server]\"' or put its bin/ on PATH" >&2
	exit 69
fi
