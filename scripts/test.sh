#!/usr/bin/env bash
# The whole test suite from a fresh machine: install dependencies, build every preset, run the
# unit tests, then the reproduction checks (label `repro`), which run scenario binaries from the
# tsan and asan builds and need the machine to themselves, so they run one at a time, then the
# campaign on a one-node Slurm started here (label `slurm`), then the installed package with a
# scenario built outside this tree (label `install`), then the fuzz checks (label `fuzz`), which
# run the libFuzzer targets of the fuzz build briefly.
#   FAULTLINE_SKIP_CLANG=1  skip the clang 14 portability build
set -euo pipefail
cd "$(dirname "$0")/.."
elapsed() { printf '%d:%02d' $((SECONDS / 60)) $((SECONDS % 60)); }
bash scripts/setup.sh
echo "== set-up done ($(elapsed))"
presets=(release tsan asan fuzz)
[ "${FAULTLINE_SKIP_CLANG:-0}" = 1 ] || presets+=(clang)
for preset in "${presets[@]}"; do
  bash scripts/build.sh "${preset}"
  echo "== ${preset} built ($(elapsed))"
done
echo "== unit tests"
ctest --preset release -LE 'repro|fuzz|slurm|install' -j "$(nproc)"
echo "== reproduction checks ($(elapsed))"
ctest --preset release -L repro
echo "== a campaign on Slurm ($(elapsed))"
ctest --preset release -L slurm
echo "== the installed package and a scenario built outside this tree ($(elapsed))"
ctest --preset release -L install --output-on-failure
echo "== fuzz checks: regressions, then a short run of each target ($(elapsed))"
ctest --preset release -L fuzz -j "$(nproc)"
echo "== all tests passed ($(elapsed))"
