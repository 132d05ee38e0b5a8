# worker: settings shared by the hook scripts (sourced, not run).
# Everything that outlives a release is in the group dir, ROOT/APP/GROUP.
GROUP_DIR=$(cd "$HOOKD_RELEASE_DIR/../.." && pwd -P)
RUN_DIR="$GROUP_DIR/run"
PID_FILE="$RUN_DIR/worker.pid"
LOG_FILE="$RUN_DIR/worker.log"
HEARTBEAT="$RUN_DIR/heartbeat"
WORKER_INTERVAL=0.2
VALIDATE_SECONDS=10
if [ -f "$GROUP_DIR/worker.env" ]; then
	# shellcheck disable=SC1091
	. "$GROUP_DIR/worker.env"
fi
export WORKER_INTERVAL

# alive PID: the process exists and is not a zombie (an exited child that
# nobody has reaped yet still answers kill -0).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}
