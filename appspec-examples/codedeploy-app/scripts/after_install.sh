#!/bin/bash
# AfterInstall: hookd has linked $APP_HOME to this release and applied
# the permissions; check both.
set -euo pipefail
. "$(dirname "$0")/env.sh"
want="codedeploy-app $(cat VERSION)"
got=$("$APP_HOME/bin/codedeploy-app" --version)
if [ "$got" != "$want" ]; then
	echo "$APP_HOME runs '$got', expected '$want'" >&2
	exit 1
fi
mode=$(stat -L -c %a "$APP_HOME/config/app.conf")
if [ "$mode" != 640 ]; then
	echo "$APP_HOME/config/app.conf has mode $mode, expected 640" >&2
	exit 1
fi
echo "$want installed at $APP_HOME"
