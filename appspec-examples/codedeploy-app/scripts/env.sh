# codedeploy-app: settings shared by the hook scripts (sourced, not run).
#
# APP_HOME is the files: destination, read from this release's own
# appspec.yml so that the two can never disagree.  State that outlives a
# release lives in the group dir, ROOT/APP/GROUP.
APP_HOME=$(sed -n 's/^ *destination: *//p' "$HOOKD_RELEASE_DIR/appspec.yml" |
    head -n 1)
GROUP_DIR=$(cd "$HOOKD_RELEASE_DIR/../.." && pwd -P)
RUN_DIR="$GROUP_DIR/run"
ENABLED="$RUN_DIR/enabled"
