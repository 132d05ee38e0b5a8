#!/bin/bash
# SPDX-License-Identifier: ISC
#
# demo.sh BUILD_DIR: what `make demo` runs once hookd is built.  Deploys
# appspec-examples/static-site with `hookd deploy-local` into a temporary
# root, shows it answering over HTTP, deploys v2 and shows the switch,
# then deploys a v3 whose ValidateService fails and shows hookd rolling
# back to v2, still answering.  Stops the server, removes the temporary
# root, keeps the deployment logs in BUILD_DIR/demo-logs, and exits 0
# only when every step did what it should.
set -euo pipefail

if [ $# -ne 1 ]; then
	echo "usage: scripts/demo.sh BUILD_DIR" >&2
	exit 64
fi
build=$(cd "$1" && pwd -P)
top=$(cd "$(dirname "$0")/.." && pwd -P)
hookd="$build/bin/hookd"
logs_kept="$build/demo-logs"
[ -x "$hookd" ] || { echo "demo: $hookd is not built" >&2; exit 1; }
command -v curl >/dev/null || { echo "demo: curl is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hookd-demo.XXXXXX")
chmod 755 "$work"
root="$work/root"
app=static-site
gdir="$root/$app/local"

cleanup() {
	local pidf="$gdir/run/server.pid"
	if [ -f "$pidf" ]; then
		kill "$(cat "$pidf")" 2>/dev/null || true
	fi
	if [ -d "$root/logs" ]; then
		rm -rf "$logs_kept"
		mkdir -p "$logs_kept"
		cp -p "$root"/logs/*.log "$logs_kept"/ 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
fail() { echo "demo: FAILED: $*" >&2; exit 1; }

# A free port on 127.0.0.1 for the site (the example reads it from the
# group's site.env; see appspec-examples/static-site/README.md).
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$gdir"
printf 'PORT=%s\nVALIDATE_SECONDS=10\n' "$port" >"$gdir/site.env"
url="http://127.0.0.1:$port/"

# make_version VERSION [broken]: a copy of the example at VERSION
make_version() {
	local d="$work/bundles/$1/$app"
	mkdir -p "$(dirname "$d")"
	cp -a "$top/appspec-examples/$app" "$d"
	echo "$1" >"$d/VERSION"
	sed -i "s|<span id=\"version\">v1</span>|<span id=\"version\">$1</span>|" \
	    "$d/public/index.html"
	if [ "${2:-}" = broken ]; then
		rm "$d/public/healthz"
	fi
	echo "$d"
}

deploy() {
	"$hookd" deploy-local --bundle "$1" --root "$root"
}

page_version() {
	curl -fsS --max-time 5 "$url" |
	    sed -n 's|.*<span id="version">\([^<]*\)</span>.*|\1|p'
}

echo "hookd demo: root $root, site on $url"

step "deploy static-site v1"
deploy "$(make_version v1)" || fail "v1 did not deploy"
step "the site answers ($url)"
curl -fsS --max-time 5 "$url"
[ "$(page_version)" = v1 ] || fail "v1 is not being served"

step "deploy v2 (a changed copy)"
deploy "$(make_version v2)" || fail "v2 did not deploy"
step "current switched to the v2 release"
ls -l "$gdir/current"
ls "$gdir/releases"
curl -fsS --max-time 5 "$url" | grep 'id="version"'
[ "$(page_version)" = v2 ] || fail "v2 is not being served"

step "deploy v3, which lost its /healthz page: ValidateService fails"
set +e
deploy "$(make_version v3 broken)"
rc=$?
set -e
[ "$rc" -eq 1 ] || fail "v3 should fail with exit 1, got $rc"
step "hookd rolled back: current is the v2 release again, v2 answers"
ls -l "$gdir/current"
curl -fsS --max-time 5 "$url" | grep 'id="version"'
[ "$(page_version)" = v2 ] || fail "v2 is not being served after the rollback"
case "$(readlink "$gdir/current")" in
releases/2-*) ;;
*) fail "current is $(readlink "$gdir/current"), not the v2 release" ;;
esac

step "stop the server and clean up"
HOOKD_RELEASE_DIR="$(cd "$gdir/current" && pwd -P)" \
    bash "$gdir/current/scripts/stop_server.sh"
echo "server stopped; removing $work"
trap - EXIT
cleanup
echo
echo "demo OK: deployed v1 and v2, rolled back a failed v3 to v2"
echo "deployment logs kept in $logs_kept:"
ls "$logs_kept"
