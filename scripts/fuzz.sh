#!/usr/bin/env bash
# Runs the libFuzzer targets of the fuzz build (docs/fuzzing.md): for each target, first every
# input in tests/fuzz/regressions/<target> once (each was a finding once), then fuzzing from the
# checked-in seed corpus for the given time. New inputs go to build/fuzz/corpus/<target>, a
# finding to build/fuzz/findings/<target>/. One line per target; exit 1 when any target found
# something, 2 for bad usage or a missing build.
#
#   bash scripts/fuzz.sh                      every target, 10 s each
#   bash scripts/fuzz.sh --time 600 record    one target, 10 minutes (a campaign)
set -euo pipefail
cd "$(dirname "$0")/.."

targets_all=(rpc_frame epoll_frame report_parser record results_file report_channel specs sweep_file symbolize)
usage() {
  cat <<EOF
usage: bash scripts/fuzz.sh [--time SECONDS] [--build-root DIR] [TARGET...]
  --time S        seconds of fuzzing per target (default 10; a whole number >= 1)
  --build-root D  the folder holding the preset builds (default build); the targets are in
                  D/fuzz/tests/fuzz, made by: bash scripts/build.sh fuzz
targets: ${targets_all[*]} (default: all)
EOF
}
bad() {
  echo "fuzz.sh: $1" >&2
  exit 2
}

seconds=10
root=build
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --time)
      [ $# -ge 2 ] || bad "--time needs a value, e.g. --time 60"
      [[ "$2" =~ ^[1-9][0-9]{0,6}$ ]] || bad "--time takes whole seconds from 1, not '$2'"
      seconds=$2; shift 2 ;;
    --build-root)
      [ $# -ge 2 ] || bad "--build-root needs a folder, e.g. --build-root build"
      root=$2; shift 2 ;;
    -*) bad "unknown option '$1' (see --help)" ;;
    *)
      [[ " ${targets_all[*]} " == *" $1 "* ]] ||
        bad "no fuzz target '$1'; the targets are: ${targets_all[*]}"
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${targets_all[@]}")

bin_dir="${root}/fuzz/tests/fuzz"
for t in "${targets[@]}"; do
  [ -x "${bin_dir}/fuzz_${t}" ] ||
    bad "no fuzz target binary ${bin_dir}/fuzz_${t}; build it with: bash scripts/build.sh fuzz"
done

# Extra seeds kept elsewhere in the tree: the sample reports and results files of the tests.
extra_seeds() {
  case "$1" in
    report_parser | symbolize) echo tests/data/reports ;;
    results_file) echo tests/data/results ;;
  esac
}

failed=0
for t in "${targets[@]}"; do
  bin="${bin_dir}/fuzz_${t}"
  work="${root}/fuzz/corpus/${t}"
  findings="${root}/fuzz/findings/${t}"
  log="${root}/fuzz/logs/${t}.log"
  mkdir -p "${work}" "${findings}" "$(dirname "${log}")"
  # ASan's and UBSan's reports end the run (libFuzzer keeps the input); leaks are findings too.
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
  regressions=()
  if [ -d "tests/fuzz/regressions/${t}" ]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "tests/fuzz/regressions/${t}" -type f ! -name '.*' -print0 | sort -z)
  fi
  if [ ${#regressions[@]} -gt 0 ] && ! "${bin}" -runs=1 "${regressions[@]}" > "${log}" 2>&1; then
    echo "fuzz_${t}: a regression input fails again (log: ${log})"
    tail -n 30 "${log}"
    failed=1
    continue
  fi
  seeds=()
  for d in "tests/fuzz/corpus/${t}" $(extra_seeds "${t}"); do
    [ -d "${d}" ] && seeds+=("${d}")
  done
  status=0
  # 77: a crash, a sanitizer report, a broken property or running out of memory; 78: an input
  # that took over 10 s. Any other failure is libFuzzer not running at all.
  "${bin}" -max_total_time="${seconds}" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -error_exitcode=77 -timeout_exitcode=78 -print_final_stats=1 \
    -artifact_prefix="${findings}/" "${work}" "${seeds[@]}" > "${log}" 2>&1 || status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "${log}" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "${log}" | tail -n 1)
  inputs=$(find "${work}" -type f | wc -l)
  if [ "${status}" -ne 0 ] && [ "${status}" -ne 77 ] && [ "${status}" -ne 78 ]; then
    echo "fuzz_${t}: libFuzzer did not run (exit ${status}); the log in ${log}:"
    tail -n 5 "${log}"
    failed=1
  elif [ "${status}" -ne 0 ]; then
    echo "fuzz_${t}: FOUND something after ${execs:-?} executions (exit ${status});" \
      "the input is in ${findings}/, the log in ${log}"
    grep -E 'ERROR: |SUMMARY: |fuzz property broken|Test unit written' "${log}" | head -n 8
    failed=1
  else
    echo "fuzz_${t}: ${execs:-?} executions in ${seconds} s (${rate:-?}/s), nothing found," \
      "${inputs} inputs in ${work}, ${#regressions[@]} regression inputs pass"
  fi
done
exit "${failed}"
