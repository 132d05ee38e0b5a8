#!/bin/bash
# ValidateService, run as an unprivileged user (runas: nobody): the
# program must be runnable by anyone, and its configuration must not be
# readable by anyone but its owner.
set -euo pipefail
. "$(dirname "$0")/env.sh"
echo "validating as $(id -un) (uid $(id -u))"
want="codedeploy-app $(cat VERSION)"
got=$("$APP_HOME/bin/codedeploy-app" --version)
if [ "$got" != "$want" ]; then
	echo "$APP_HOME runs '$got', expected '$want'" >&2
	exit 1
fi
if [ "$(id -u)" != 0 ] && [ -r "$APP_HOME/config/app.conf" ]; then
	echo "$APP_HOME/config/app.conf is readable by $(id -un)" >&2
	exit 1
fi
echo "$want ok"
