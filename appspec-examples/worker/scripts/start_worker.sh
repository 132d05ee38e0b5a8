#!/bin/bash
# ApplicationStart: stop any worker still running (rollback case), then
# start this release's worker in its own session, so that it outlives
# the hook, with its pid in run/worker.pid.
set -euo pipefail
. "$(dirname "$0")/env.sh"

mkdir -p "$RUN_DIR"
bash "$(dirname "$0")/stop_worker.sh"
rm -f "$HEARTBEAT"
setsid bash "$HOOKD_RELEASE_DIR/bin/worker.sh" "$HEARTBEAT" \
    >>"$LOG_FILE" 2>&1 </dev/null &
echo $! >"$PID_FILE"
echo "started worker $! ($(cat VERSION))"
