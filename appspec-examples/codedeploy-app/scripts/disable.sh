#!/bin/bash
# ApplicationStop: disable the live release.
set -euo pipefail
. "$(dirname "$0")/env.sh"
rm -f "$ENABLED"
echo "codedeploy-app $(cat VERSION) disabled"
