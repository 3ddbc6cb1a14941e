#!/usr/bin/env bash
# The shell form of a reproduction that reports through `faultline emit`: two background loops
# increment a counter kept in a file with a read and a write, and lose updates (the buggy
# variant), or take flock(1) around them (fixed).
#   faultline exec --expect lost_update --observes lost_update -- examples/exec/lost_update.sh buggy
set -euo pipefail
variant=${1:-buggy}
n=${2:-200}
file=$(mktemp)
trap 'rm -f "$file" "$file.lock"' EXIT
echo 0 > "$file"
bump() {
  for _ in $(seq "$n"); do
    if [ "$variant" = fixed ]; then
      flock "$file.lock" sh -c 'v=$(cat "$1"); echo $((v + 1)) > "$1"' _ "$file"  # FIX
    else
      v=$(cat "$file"); echo $((v + 1)) > "$file"  # BUG: read, then write, unlocked
    fi
  done
}
bump & bump & wait
total=$((2 * n))
got=$(cat "$file")
lost=$((total - ${got:-0}))
faultline emit metric increments "$total" ops
faultline emit observe lost_update "$lost" "$lost of $total increments lost"
echo "lost=$lost of $total"
