#!/usr/bin/env bash
# Configures and builds the given presets (default: release tsan asan), each in build/<preset>.
# Re-running only rebuilds what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
presets=("$@")
[ ${#presets[@]} -gt 0 ] || presets=(release tsan asan)
jobs=${FAULTLINE_BUILD_JOBS:-$(nproc)}
for preset in "${presets[@]}"; do
  echo "== building preset ${preset}"
  if [ ! -f "build/${preset}/build.ninja" ]; then
    cmake --preset "${preset}" >/dev/null
  fi
  cmake --build --preset "${preset}" -j "${jobs}"
done
