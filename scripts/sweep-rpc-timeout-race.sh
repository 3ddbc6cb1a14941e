#!/bin/bash
# rpc-timeout-race (seed 000): how the reply race depends on load and on the caller's timeout.
# Concurrency {10, 100, 1000} x timeout {1, 5, 20} ms. The scenario's parameters are `callers`
# (concurrent callers) and `timeout-us` (microseconds), so 1/5/20 ms are 1000/5000/20000 us.
# Copy this file and edit the variables; every run lands in $OUT, and re-running the script
# continues where a stopped sweep left off (--resume). Docs: docs/sweeps.md.
set -euo pipefail
FAULTLINE=${FAULTLINE:-build/release/faultline}
OUT=${OUT:-results/sweep-rpc-timeout-race.jsonl}
SANITIZER=${SANITIZER:-tsan}  # the race is a data race: TSan sees it, release builds rarely do
REPEAT=${REPEAT:-20}
SEED=${SEED:-1000}  # fixed, so a resumed or sharded sweep gives every run the same seed

"$FAULTLINE" sweep rpc-timeout-race \
  --grid callers=10,100,1000 \
  --grid timeout-us=1000,5000,20000 \
  --variant buggy,fixed \
  --sanitizer "$SANITIZER" \
  --repeat "$REPEAT" --seed "$SEED" \
  --out "$OUT" --resume "$@" || status=$?
# Plot what there is, unless the sweep refused its input (exit 2) and wrote nothing.
if [ "${status:-0}" -ne 2 ] && [ -s "$OUT" ]; then
  "$(dirname "$0")/plot.py" "$OUT" --x callers --out "${OUT%.jsonl}-plots"
fi
exit "${status:-0}"
