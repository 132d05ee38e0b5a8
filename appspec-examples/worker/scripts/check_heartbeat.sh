#!/bin/bash
# ValidateService: the heartbeat must come from THIS release and its
# counter must advance, within $VALIDATE_SECONDS.
set -euo pipefail
. "$(dirname "$0")/env.sh"

version=$(cat VERSION)
deadline=$((SECONDS + VALIDATE_SECONDS))
first=""
while :; do
	if [ -f "$HEARTBEAT" ]; then
		read -r v count _ <"$HEARTBEAT" || true
		if [ "${v:-}" = "$version" ]; then
			if [ -z "$first" ]; then
				first=$count
			elif [ "$count" -gt "$first" ]; then
				echo "heartbeat of $version advances ($first -> $count)"
				exit 0
			fi
		fi
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "no advancing heartbeat from $version in ${VALIDATE_SECONDS}s" >&2
		cat "$HEARTBEAT" >&2 2>/dev/null || true
		exit 1
	fi
	sleep 0.1
done
