#!/bin/bash
# The worker itself: does its (pretend) job in a loop and, after every
# round, replaces the heartbeat file with "VERSION COUNT EPOCH-SECONDS".
# Stops cleanly on SIGTERM.
set -euo pipefail

heartbeat=$1
version=$(cat "$(dirname "$0")/../VERSION")
interval=${WORKER_INTERVAL:-0.2}
count=0
running=1
trap 'running=0' TERM INT

while [ "$running" = 1 ]; do
	count=$((count + 1))
	printf '%s %d %s\n' "$version" "$count" "$(date +%s)" >"$heartbeat.tmp"
	mv -f "$heartbeat.tmp" "$heartbeat"
	sleep "$interval" &
	wait $! || true
done
echo "worker $version stopping after $count rounds"
