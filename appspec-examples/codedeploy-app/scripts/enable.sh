#!/bin/bash
# ApplicationStart: enable this release (a real application would start
# a service or install a cron job here) and record what is enabled.
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$RUN_DIR"
"$APP_HOME/bin/codedeploy-app" >"$ENABLED.tmp"
mv -f "$ENABLED.tmp" "$ENABLED"
cat "$ENABLED"
