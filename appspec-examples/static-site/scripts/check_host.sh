#!/bin/bash
# BeforeInstall: make sure the host can run this release.
set -euo pipefail
. "$(dirname "$0")/env.sh"

command -v python3 >/dev/null || { echo "python3 is not installed" >&2; exit 1; }
test -f public/index.html || { echo "public/index.html is missing" >&2; exit 1; }
mkdir -p "$RUN_DIR"
echo "installing $(cat VERSION) into $HOOKD_RELEASE_DIR (port $PORT)"
