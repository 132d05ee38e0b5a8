#!/bin/bash
# ApplicationStop (and the first step of ApplicationStart): stop the
# worker in run/worker.pid and wait until it has exited.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ ! -f "$PID_FILE" ]; then
	echo "no worker running"
	exit 0
fi
pid=$(cat "$PID_FILE")
if kill -TERM "$pid" 2>/dev/null; then
	for _ in $(seq 100); do
		alive "$pid" || break
		sleep 0.1
	done
	if alive "$pid"; then
		echo "worker $pid did not stop in 10 s; sending SIGKILL"
		kill -KILL "$pid" || true
	fi
	echo "stopped worker $pid"
else
	echo "worker $pid already gone"
fi
rm -f "$PID_FILE"
