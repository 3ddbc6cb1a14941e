#!/bin/bash
# listener-lifetime (seed 002): a listener's descriptor reclaimed while bursts of connections
# still arrive. Sweeps the burst size (`connections`, opened at once per burst).
# Copy and edit; re-running continues a stopped sweep (--resume). Docs: docs/sweeps.md.
set -euo pipefail
FAULTLINE=${FAULTLINE:-build/release/faultline}
OUT=${OUT:-results/sweep-listener-lifetime.jsonl}
SANITIZER=${SANITIZER:-asan}  # a use of a reclaimed descriptor/object: ASan's territory
REPEAT=${REPEAT:-10}
SEED=${SEED:-2000}

"$FAULTLINE" sweep listener-lifetime \
  --grid connections=8,32,64,128,256 \
  --variant buggy,fixed \
  --sanitizer "$SANITIZER" \
  --repeat "$REPEAT" --seed "$SEED" \
  --out "$OUT" --resume "$@" || status=$?
# Plot what there is, unless the sweep refused its input (exit 2) and wrote nothing.
if [ "${status:-0}" -ne 2 ] && [ -s "$OUT" ]; then
  "$(dirname "$0")/plot.py" "$OUT" --x connections --out "${OUT%.jsonl}-plots"
fi
exit "${status:-0}"
