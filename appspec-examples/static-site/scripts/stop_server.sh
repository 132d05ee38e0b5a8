#!/bin/bash
# ApplicationStop (also called by ApplicationStart before it starts the
# new server): stop the server whose pid is in run/server.pid and wait
# until it is gone.  Nothing running is not an error.
set -euo pipefail
. "$(dirname "$0")/env.sh"

if [ ! -f "$PID_FILE" ]; then
	echo "no server running (no $PID_FILE)"
	exit 0
fi
pid=$(cat "$PID_FILE")
if ! alive "$pid"; then
	echo "server $pid already gone"
	rm -f "$PID_FILE"
	exit 0
fi
kill -TERM "$pid"
for _ in $(seq 100); do
	alive "$pid" || break
	sleep 0.1
done
if alive "$pid"; then
	echo "server $pid ignored SIGTERM for 10 s; sending SIGKILL"
	kill -KILL "$pid" || true
fi
rm -f "$PID_FILE"
echo "stopped server $pid"
