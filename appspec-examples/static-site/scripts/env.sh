# static-site: settings shared by the hook scripts (sourced, not run).
#
# The group directory (ROOT/APP/GROUP) holds what outlives a release: the
# host's settings file "site.env", and run/ with the pid and log files.
GROUP_DIR=$(cd "$HOOKD_RELEASE_DIR/../.." && pwd -P)
RUN_DIR="$GROUP_DIR/run"
PID_FILE="$RUN_DIR/server.pid"
LOG_FILE="$RUN_DIR/server.log"

# Defaults, then the host's own settings (PORT=, VALIDATE_SECONDS=).
PORT=8080
VALIDATE_SECONDS=10
if [ -f "$GROUP_DIR/site.env" ]; then
	# shellcheck disable=SC1091
	. "$GROUP_DIR/site.env"
fi

# alive PID: the process exists and is not a zombie (an exited child that
# nobody has reaped yet still answers kill -0).
alive() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[ "${st%% *}" != Z ]
}
