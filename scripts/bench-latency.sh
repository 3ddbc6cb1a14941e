#!/usr/bin/env bash
# The stall experiment of docs/latency.md, side by side in one run: closed against open loop on
# one faultline-rpc-server process, paused (SIGSTOP) for 1 s and not, then the rates the open loop
# holds. Needs the machine to itself (a second busy process moves the figures by orders of
# magnitude). Extra arguments go to bench_latency (--seconds, --rate, --pause-ms, --pause-at-ms).
#   bash scripts/bench-latency.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bin=build/release/bench/latency/bench_latency
if [ ! -x "${bin}" ]; then
  echo "bench-latency.sh: no ${bin}; build it with: bash scripts/build.sh release" >&2
  exit 2
fi
echo "# $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
exec "${bin}" "$@"
