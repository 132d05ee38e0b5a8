#!/bin/bash
# BeforeInstall: the destination's parent must exist before hookd links
# the destination into the release.
set -euo pipefail
. "$(dirname "$0")/env.sh"
mkdir -p "$(dirname "$APP_HOME")" "$RUN_DIR"
echo "installing codedeploy-app $(cat VERSION) at $APP_HOME"
