#!/usr/bin/env bash
# How many runs an hour a machine gives each incident under a sanitizer, to size a campaign
# (docs/scale-out.md): every scenario's variants, --repeat R each, at --jobs 1 and at one run per
# core, timed as a whole (wall clock, driver included).
#   bash scripts/campaign-sizing.sh [SANITIZER] [REPEAT]      (default: tsan 3)
set -euo pipefail
cd "$(dirname "$0")/.."
sanitizer=${1:-tsan}
repeat=${2:-3}
bin=build/release/faultline
if [ ! -x "${bin}" ]; then
  echo "campaign-sizing.sh: no ${bin}; build it with: bash scripts/build.sh release ${sanitizer}" >&2
  exit 2
fi
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
scenarios=$("${bin}" list | awk '/^[a-z][a-z-]*  \(seed/ {print $1}')
printf '%-22s %6s %12s %14s %16s\n' scenario runs "s/run (j=1)" "runs/h (j=1)" "runs/h (j=${cores})"
for id in ${scenarios}; do
  line=()
  for jobs in 1 "${cores}"; do
    start=$(date +%s.%N)
    "${bin}" run "${id}" --sanitizer "${sanitizer}" --repeat "${repeat}" --jobs "${jobs}" \
      --seed 1 --out "${work}/${id}-${jobs}.jsonl" > /dev/null 2>&1 || [ $? -le 3 ]
    end=$(date +%s.%N)
    runs=$(wc -l < "${work}/${id}-${jobs}.jsonl")
    line+=("${runs}" "$(echo "${start} ${end} ${runs}" | awk '{printf "%.2f", ($2 - $1) / $3}')")
  done
  printf '%-22s %6s %12s %14.0f %16.0f\n' "${id}" "${line[0]}" "${line[1]}" \
    "$(echo "${line[1]}" | awk '{print 3600 / $1}')" "$(echo "${line[3]}" | awk '{print 3600 / $1}')"
done
