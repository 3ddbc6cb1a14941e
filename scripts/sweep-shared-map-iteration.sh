#!/bin/bash
# shared-map-iteration (seed 001): handlers write into a global map while others serialise it.
# Sweeps the number of worker threads; more workers, more overlap, higher reproduction rate.
# Copy and edit; re-running continues a stopped sweep (--resume). Docs: docs/sweeps.md.
set -euo pipefail
FAULTLINE=${FAULTLINE:-build/release/faultline}
OUT=${OUT:-results/sweep-shared-map-iteration.jsonl}
SANITIZER=${SANITIZER:-tsan}
REPEAT=${REPEAT:-20}
SEED=${SEED:-1001}

"$FAULTLINE" sweep shared-map-iteration \
  --grid workers=2,4,8,16,32,64 \
  --variant buggy,fixed \
  --sanitizer "$SANITIZER" \
  --repeat "$REPEAT" --seed "$SEED" \
  --out "$OUT" --resume "$@" || status=$?
# Plot what there is, unless the sweep refused its input (exit 2) and wrote nothing.
if [ "${status:-0}" -ne 2 ] && [ -s "$OUT" ]; then
  "$(dirname "$0")/plot.py" "$OUT" --x workers --out "${OUT%.jsonl}-plots"
fi
exit "${status:-0}"
