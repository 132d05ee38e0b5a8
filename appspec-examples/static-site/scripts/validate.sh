#!/bin/bash
# ValidateService: the server on $PORT must serve THIS release's version
# at / and "ok" at /healthz.  It may take a moment to start listening, so
# connection failures and another version are retried for
# $VALIDATE_SECONDS; a missing health page fails at once.
set -euo pipefail
. "$(dirname "$0")/env.sh"

version=$(cat VERSION)
url="http://127.0.0.1:$PORT"
deadline=$((SECONDS + VALIDATE_SECONDS))
while :; do
	if page=$(curl -fsS --max-time 2 "$url/" 2>&1) &&
	    grep -qF "$version" <<<"$page"; then
		break
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "$url/ does not serve $version after ${VALIDATE_SECONDS}s:" >&2
		echo "$page" | tail -n 3 >&2
		exit 1
	fi
	sleep 0.2
done
if ! health=$(curl -fsS --max-time 2 "$url/healthz" 2>&1); then
	echo "$url/healthz: $health" >&2
	exit 1
fi
if [ "$health" != ok ]; then
	echo "$url/healthz says '$health', not 'ok'" >&2
	exit 1
fi
echo "$url/ serves $version; healthz ok"
