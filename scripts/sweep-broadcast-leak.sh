#!/bin/bash
# broadcast-leak (seed 004): goroutine-like threads left behind by a broadcast whose Handle
# gave up at its deadline. Sweeps the deadline: the shorter it is, the more pushes are
# abandoned and the more threads leak. threads.png shows the thread count over time.
# Copy and edit; re-running continues a stopped sweep (--resume). Docs: docs/sweeps.md.
set -euo pipefail
FAULTLINE=${FAULTLINE:-build/release/faultline}
OUT=${OUT:-results/sweep-broadcast-leak.jsonl}
REPEAT=${REPEAT:-10}
SEED=${SEED:-4000}

"$FAULTLINE" sweep broadcast-leak \
  --grid deadline-ms=50,100,300,1000,5000 \
  --variant buggy,fixed \
  --repeat "$REPEAT" --seed "$SEED" \
  --out "$OUT" --resume "$@" || status=$?
# Plot what there is, unless the sweep refused its input (exit 2) and wrote nothing.
if [ "${status:-0}" -ne 2 ] && [ -s "$OUT" ]; then
  "$(dirname "$0")/plot.py" "$OUT" --x deadline-ms --out "${OUT%.jsonl}-plots"
fi
exit "${status:-0}"
