#!/bin/bash
# SPDX-License-Identifier: ISC
#
# demo.sh BUILD_DIR: what `make demo` runs once hookd is built.  Deploys
# appspec-examples/static-site with `hookd deploy-local` into a temporary
# root, shows it answering over HTTP, deploys v2 and shows the switch,
# then deploys a v3 whose ValidateService fails and shows hookd rolling
# back to v2, still answering.  Then a second act: a temporary git
# repository made from appspec-examples/worker, three `hookd run`
# daemons on this host (spool queue and file store in the temporary
# directory), and one `./deployer production HEAD` rolling the commit out
# to them one at a time; then a v2 with a canary and a bake whose health
# check fails: the rollout stops after the canary and rolls it back.  A
# third act (scripts/demo-traffic.py): HAProxy in front of three
# static-site daemons with traffic control, about 200 requests/s during a
# OneAtATime rollout (0 failed), then the same with --no-traffic-control,
# side by side.  Stops everything, removes the temporary
# directory, keeps the deployment logs in BUILD_DIR/demo-logs, and exits
# 0 only when every step did what it should.
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
[ -x "$build/bin/deployer" ] || {
	echo "demo: $build/bin/deployer is not built" >&2; exit 1; }
command -v curl >/dev/null || { echo "demo: curl is needed" >&2; exit 1; }
command -v git >/dev/null || { echo "demo: git is needed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/hookd-demo.XXXXXX")
chmod 755 "$work"
root="$work/root"
app=static-site
gdir="$root/$app/local"

fleet="$work/fleet"
hosts="i-1 i-2 i-3"
daemon_pids=()

# stop_fleet: SIGTERM to each hookd and wait for it, then stop the
# workers the deployment left running (they outlive hookd, by design).
stop_fleet() {
	local pid h cur
	for pid in "${daemon_pids[@]}"; do
		kill -TERM "$pid" 2>/dev/null || true
	done
	for pid in "${daemon_pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	daemon_pids=()
	for h in $hosts; do
		cur="$fleet/$h/root/worker/production/current"
		[ -d "$cur" ] || continue
		HOOKD_RELEASE_DIR="$(cd "$cur" && pwd -P)" \
		    bash "$cur/scripts/stop_worker.sh" >/dev/null 2>&1 || true
	done
}

cleanup() {
	local pidf="$gdir/run/server.pid"
	if [ -f "$pidf" ]; then
		kill "$(cat "$pidf")" 2>/dev/null || true
	fi
	stop_fleet
	if [ -d "$root/logs" ]; then
		rm -rf "$logs_kept"
		mkdir -p "$logs_kept"
		cp -p "$root"/logs/*.log "$logs_kept"/ 2>/dev/null || true
		for h in $hosts; do
			for f in "$fleet/$h"/root/logs/*.log; do
				[ -f "$f" ] && cp -p "$f" "$logs_kept/$h.${f##*/}"
			done
			[ -f "$fleet/$h/hookd.log" ] &&
			    cp -p "$fleet/$h/hookd.log" "$logs_kept/$h.hookd.log"
		done
	fi
	rm -rf "$work"
}
trap cleanup EXIT

step() { printf '\n==> %s\n' "$*"; }
# A worker's heartbeat file holds "VERSION ROUNDS UNIXTIME": the release
# running, how many rounds it has run, and when the last one was.
heartbeat() {
	read -r version rounds at <"$fleet/$1/root/worker/production/run/heartbeat"
	printf '  %-4s worker %s, round %s, last beat %s\n' "$1" "$version" \
	    "$rounds" "$(date -u -d "@$at" +%H:%M:%SZ 2>/dev/null || echo "$at")"
}
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
echo "server stopped"

# --- act 2: `./deployer` and three daemons --------------------------------

# wait_for SECONDS WHAT COMMAND...: poll COMMAND every 0.1 s until it
# succeeds; fail after SECONDS.
wait_for() {
	local secs=$1 what=$2 deadline
	shift 2
	deadline=$((SECONDS + secs))
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || fail "no $what in ${secs} s"
		sleep 0.1
	done
}

registered() {
	[ -f "$fleet/store/groups/worker/production/instances/$1.json" ]
}

step "act 2: three hookd daemons serving group 'production' of worker"
export GIT_AUTHOR_NAME=demo GIT_AUTHOR_EMAIL=demo@localhost \
    GIT_COMMITTER_NAME=demo GIT_COMMITTER_EMAIL=demo@localhost \
    GIT_CONFIG_NOSYSTEM=1
mkdir -p "$fleet"
for h in $hosts; do
	mkdir -p "$fleet/$h/root"
	cat >"$fleet/$h/hookd.yml" <<-EOF
	application: worker
	deployment_group: production
	store: file://$fleet/store
	queue: file://$fleet/queue
	root: $fleet/$h/root
	instance_id: $h
	keep_releases: 3
	EOF
	"$hookd" run -d -c "$fleet/$h/hookd.yml" >"$fleet/$h/hookd.log" 2>&1 &
	daemon_pids+=("$!")
	echo "hookd $h: pid $!, root $fleet/$h/root"
done
for h in $hosts; do
	wait_for 20 "registration of $h" registered "$h"
done
echo "all three registered in $fleet/store"

step "a git repository made from appspec-examples/worker"
repo="$work/repo"
cp -a "$top/appspec-examples/worker" "$repo"
# Point deployer.yml at this demo's store and queue.
sed -i -e "s|^store: .*|store: file://$fleet/store|" \
    -e "s|^queue: .*|queue: file://$fleet/queue|" "$repo/deployer.yml"
git -C "$repo" init -q -b master
git -C "$repo" add -A
git -C "$repo" commit -q -m "worker $(cat "$repo/VERSION")"
git -C "$repo" log --oneline
cat "$repo/deployer.yml"

step "./deployer production HEAD (OneAtATime, from the repository)"
set +e
(cd "$repo" && PATH="$build/bin:$PATH" ./deployer production HEAD)
rc=$?
set -e
[ "$rc" -eq 0 ] || fail "./deployer production HEAD exited $rc"

step "deployer instances production"
(cd "$repo" && PATH="$build/bin:$PATH" ./deployer instances production) ||
    fail "deployer instances failed"
echo "each host's worker heartbeat (ROOT/worker/production/run/heartbeat):"
for h in $hosts; do
	heartbeat "$h"
done

step "rollout gates: a canary, a bake, and a health check that v2 fails"
# The health check stands in for a real probe of the service: it reads
# every host's heartbeat, and a worker at v2 (the bad release) counts as
# answering HTTP 500 once it has run a few rounds (it degrades), so the
# canary's bake first passes a few checks, then fails.
cat >"$repo/scripts/smoke.sh" <<'SMOKE'
#!/bin/sh
# Demo health check (deployer.yml health_check): a worker at v2 counts
# as answering HTTP 500 from its 10th round (2 s) on.
for hb in "$DEMO_FLEET"/*/root/worker/production/run/heartbeat; do
	read -r version count _ <"$hb"
	host=${hb#"$DEMO_FLEET"/}
	host=${host%%/*}
	if [ "$version" = v2 ] && [ "$count" -ge 10 ]; then
		echo "$host: worker $version (round $count): GET /health: 500"
		exit 1
	fi
done
echo "every worker healthy"
SMOKE
chmod 755 "$repo/scripts/smoke.sh"
sed -i -e 's/^    deployment_config: OneAtATime$/    deployment_config: {canary: 1, bake: 20, then: AllAtOnce}\
    health_check: [scripts\/smoke.sh]\
    gate_interval: 1\
    auto_rollback: [failure, alarm]/' "$repo/deployer.yml"
sed -n '/^groups:/,$p' "$repo/deployer.yml"
echo v2 >"$repo/VERSION"
git -C "$repo" add -A
git -C "$repo" commit -q -m "worker v2 (bad: its health check fails)"
export DEMO_FLEET="$fleet"
set +e
(cd "$repo" && PATH="$build/bin:$PATH" ./deployer production HEAD) |
    tee "$work/canary.out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 1 ] || fail "the bad canary: ./deployer exited $rc, not 1"
bad=$(grep -o -m 1 'deployment d-[A-Z0-9]*' "$work/canary.out")
bad=${bad#deployment }
step "deployer status $bad"
(cd "$repo" && PATH="$build/bin:$PATH" ./deployer status "$bad") || true
for h in $hosts; do
	hb="$fleet/$h/root/worker/production/run/heartbeat"
	wait_for 10 "a v1 heartbeat on $h" grep -q '^v1 ' "$hb"
	heartbeat "$h"
done
echo "stopped after the canary: it is back on v1, the others never got v2"

step "traffic control: HAProxy, three static-site daemons, a rollout under load"
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" "$top/scripts/demo-traffic.py" "$build" ||
    fail "the traffic-control act"

step "stop the daemons (SIGTERM) and the workers, and clean up"
stop_fleet
echo "daemons stopped; removing $work"
trap - EXIT
cleanup
echo
echo "demo OK: deployed v1 and v2, rolled back a failed v3 to v2;"
echo "deployed worker to three daemons with ./deployer; a bad v2 canary"
echo "failed its health check during the bake, stopped and rolled back;"
echo "rolled static-site out behind HAProxy under load, 0 requests failed"
echo "deployment logs kept in $logs_kept:"
ls "$logs_kept"
