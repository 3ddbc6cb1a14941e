#!/usr/bin/env bash
# The main job from a fresh machine: install dependencies, build the release and tsan builds,
# then run a named scenario's variants under ThreadSanitizer and print the summary.
#   scripts/run-scenario.sh NAME [more faultline run options]
#   REPEAT=20 scripts/run-scenario.sh rpc-timeout-race
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ] || [ "$1" = "-h" ] || [ "$1" = "--help" ]; then
  echo "usage: scripts/run-scenario.sh NAME [faultline run options]   (REPEAT=N, default 5)"
  echo "scenarios: shared-map-iteration catchall-fatal vector-growth-alias rpc-timeout-race"
  echo "           deadline-race listener-lifetime broadcast-leak"
  exit 2
fi
name=$1
shift
bash scripts/setup.sh
bash scripts/build.sh release tsan
exec build/release/faultline run "${name}" --variant all --sanitizer tsan \
  --repeat "${REPEAT:-5}" "$@"
