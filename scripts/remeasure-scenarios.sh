#!/usr/bin/env bash
# Re-runs the 20-run tables of docs/scenarios/ with the commands and seeds those pages give, one
# run at a time, into results/remeasure/<scenario>.jsonl (appended; delete the folder first for a
# fresh set). Needs the release, tsan and asan builds under BUILD_ROOT (default: build).
#
#   scripts/remeasure-scenarios.sh [scenario ...]     (default: all seven)
#
# Summaries print as each command ends; `faultline summary results/remeasure/<id>.jsonl` shows
# them again, and the records hold every metric the pages' tables quote. About 30 minutes for all
# seven on a 2-core machine.
set -euo pipefail
cd "$(dirname "$0")/.."
root=${BUILD_ROOT:-build}
fl="$root/release/faultline"
out=results/remeasure
mkdir -p "$out"
[[ -x $fl ]] || { echo "remeasure-scenarios: $fl is missing: build first (scripts/build.sh)" >&2; exit 2; }

run() {  # run <scenario> <driver options...>
  local id=$1
  shift
  echo "== faultline run $id $*"
  "$fl" run "$id" --build-root "$root" --repeat 20 --out "$out/$id.jsonl" "$@" || {
    local rc=$?
    # 1: a verdict against the expectations, 3: unknown runs: a finding, recorded; go on.
    [[ $rc == 1 || $rc == 3 ]] || exit "$rc"
    echo "   (exit $rc: see the summary above)"
  }
}

measure() {
  case $1 in
    broadcast-leak | listener-lifetime)
      run "$1" --variant all --seed 1000
      run "$1" --variant all --seed 2000 --sanitizer tsan
      run "$1" --variant all --seed 2000 --sanitizer asan ;;
    catchall-fatal | shared-map-iteration)
      for s in none tsan asan; do run "$1" --variant all --sanitizer "$s"; done ;;
    vector-growth-alias)
      for s in none tsan asan; do
        run "$1" --variant all --sanitizer "$s"
        run "$1" --variant all --sanitizer "$s" --set mode=async
      done ;;
    deadline-race)
      for s in none tsan asan; do run "$1" --variant all --sanitizer "$s" --seed 1000; done ;;
    rpc-timeout-race)
      run "$1" --variant buggy,fixed --sanitizer tsan --seed 3000
      run "$1" --variant buggy-stack,fixed --sanitizer asan --seed 3000 ;;
    *)
      echo "remeasure-scenarios: unknown scenario '$1' (choose from the seven in docs/scenarios/)" >&2
      exit 2 ;;
  esac
}

scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(broadcast-leak listener-lifetime catchall-fatal
  shared-map-iteration vector-growth-alias deadline-race rpc-timeout-race)
for id in "${scenarios[@]}"; do measure "$id"; done
