#!/usr/bin/env bash
# Makes tests/data/results/report-sample.jsonl, the results file the report's browser test and
# the README's screenshot use: real runs of a connections sweep (release), the same scenario
# under TSan (a detector matrix), the RPC server paused by the nemesis under an open-loop load
# (timeline windows and the latency over time) and a
# fault-strength sweep. Needs the release and tsan builds.
#   bash scripts/make-report-sample.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-tests/data/results/report-sample.jsonl}
bin=build/release/faultline
if [ ! -x "${bin}" ]; then
  echo "make-report-sample.sh: no ${bin}; build it with: bash scripts/build.sh release" >&2
  exit 2
fi
rm -f "${out}"
# Exit 1 (an expectation missed) would be a finding to look at, not a reason to stop here.
run() { "${bin}" "$@" --out "${out}" > /dev/null || [ $? -eq 1 ]; }
run sweep listener-lifetime --grid connections=8,32 --repeat 3 --seed 100
run run listener-lifetime --sanitizer tsan --repeat 2 --seed 200
run run rpc-timeout-race --variant buggy --nemesis pause:at=0.1,for=0.2 --set rate=2000 --repeat 2 \
  --seed 300
run sweep listener-lifetime --variant buggy --grid fault.latency.ms=0,2 --repeat 2 --seed 400
echo "$(wc -l < "${out}") records in ${out}"
