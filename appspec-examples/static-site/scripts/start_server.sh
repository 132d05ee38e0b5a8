#!/bin/bash
# ApplicationStart: (re)start the web server for THIS release on
# 127.0.0.1:$PORT, in its own session so that it outlives the hook, with
# its output in run/server.log and its pid in run/server.pid, and wait
# until it accepts connections.
set -euo pipefail
. "$(dirname "$0")/env.sh"

mkdir -p "$RUN_DIR"
# A failed deployment's server may still be running when hookd rolls
# back and calls the previous release's ApplicationStart: stop it first.
bash "$(dirname "$0")/stop_server.sh"

PYTHONUNBUFFERED=1 setsid python3 -m http.server --bind 127.0.0.1 \
    --directory "$HOOKD_RELEASE_DIR/public" "$PORT" \
    >>"$LOG_FILE" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$PID_FILE"

# Return once it accepts connections (ValidateService checks what it
# serves); fail if it dies first, e.g. because the port is taken.
for _ in $(seq 100); do
	if curl -sS -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/" \
	    2>/dev/null; then
		echo "started server $pid for $(cat VERSION) on 127.0.0.1:$PORT"
		exit 0
	fi
	if ! alive "$pid"; then
		echo "server exited at once; its log says:" >&2
		tail -n 5 "$LOG_FILE" >&2
		exit 1
	fi
	sleep 0.1
done
echo "server $pid does not accept connections on port $PORT after 10 s" >&2
exit 1
