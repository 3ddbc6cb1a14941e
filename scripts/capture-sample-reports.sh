#!/usr/bin/env bash
# Captures the sample reports the report-parser tests read: builds each program in
# tests/parse/report_sources/ with g++ and clang++-14 under the sanitizer its name starts with,
# runs it, and saves what it printed (stdout and stderr in one stream, as the driver may see it)
# to tests/data/reports/<name>.<compiler>.txt. glibc_* programs are built without a sanitizer
# (g++ only) and go_* programs with the Go toolchain (apt-get install golang-go), saved as
# <name>.txt. Finally it derives mixed_interleaved.truncated.txt: the gcc mixed sample with its
# middle dropped and the driver's truncation marker in its place.
#
# Usage: scripts/capture-sample-reports.sh [name-filter]   (e.g. "tsan_" to recapture TSan only)
#
# Runs are flaky by nature (a race may not happen): a run whose output holds no report is
# retried, up to 5 times, and a sample still without one fails the script.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
src=$root/tests/parse/report_sources
out=$root/tests/data/reports
filter=${1:-}
work=$(mktemp -d /tmp/faultline-capture.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# Paths in the reports read as repository-relative ones, and the scratch folder gets a stable
# name, so recaptured samples differ only where the run itself differs.
prefix_map="-fdebug-prefix-map=$root/="
common_flags=(-g -O1 -fno-omit-frame-pointer "$prefix_map")
report_pattern='Sanitizer|runtime error|DATA RACE|fatal error|^panic:|\*\*\*|free\(\)|malloc\(\)|double free|terminate called|pure virtual|Assertion'

export TSAN_OPTIONS=atexit_sleep_ms=50
export PATH=/usr/lib/llvm-14/bin:$PATH  # llvm-symbolizer for clang's runtimes

# run_sample NAME OUTFILE EXPECTED_REGEX CMD... : runs CMD (in $work) until its output matches.
run_sample() {
  local name=$1 file=$2 expected=$3
  shift 3
  local attempt rc
  for attempt in 1 2 3 4 5; do
    rc=0
    (cd "$work" && timeout 20 "$@") >"$work/out.txt" 2>&1 || rc=$?
    if grep -Eq "$expected" "$work/out.txt"; then
      sed -e "s|$work|/tmp/capture|g" -e "s|$root/||g" "$work/out.txt" >"$file"
      printf '%-48s exit %-3s %6s bytes (attempt %d)\n' "${file#"$root"/}" "$rc" \
        "$(wc -c <"$file")" "$attempt"
      return 0
    fi
  done
  echo "error: $name printed no report in 5 runs; last output:" >&2
  cat "$work/out.txt" >&2
  return 1
}

# Per-sample build flags and run environment, beyond the sanitizer's.
extra_flags() {
  case $1 in
    ubsan_signed_overflow) echo "-fno-sanitize-recover=all" ;;
    asan_new_delete_type_mismatch) echo "-fsized-deallocation" ;;
    glibc_stack_smashing) echo "-fstack-protector-all -O0" ;;
    asan_stack_overflow) echo "-O0" ;;  # clang shrinks the big frame at -O1
    glibc_fortify) echo "-O2 -D_FORTIFY_SOURCE=2" ;;
    mixed_interleaved) echo "-fsanitize=undefined" ;;
  esac
}
run_env() {
  case $1 in
    asan_stack_use_after_return) echo "ASAN_OPTIONS=detect_stack_use_after_return=1" ;;
    ubsan_signed_overflow) echo "UBSAN_OPTIONS=print_stacktrace=1" ;;
    *) echo "FAULTLINE_CAPTURE=1" ;;
  esac
}

for path in "$src"/*.cpp "$src"/*.c "$src"/*.go; do
  file=$(basename "$path")
  name=${file%.*}
  [[ -z $filter || $name == *$filter* ]] || continue
  case $name in
    tsan_* | mixed_*) sanitizer=-fsanitize=thread ;;
    asan_* | lsan_*) sanitizer=-fsanitize=address ;;
    ubsan_*) sanitizer=-fsanitize=undefined ;;
    glibc_* | go_*) sanitizer="" ;;
    *) echo "error: $file: no sanitizer for this name prefix" >&2 && exit 1 ;;
  esac
  read -ra extra <<<"$(extra_flags "$name")"
  env_setting=$(run_env "$name")

  if [[ $name == go_* ]]; then
    flags=()
    [[ $name == go_race ]] && flags=(-race)
    (cd "$work" && go build -trimpath "${flags[@]}" -o "$work/$name" "$path")
    run_sample "$name" "$out/$name.txt" "$report_pattern" env "$env_setting" "./$name"
    continue
  fi

  compilers=(gcc clang)
  [[ $name == glibc_* ]] && compilers=(gcc)
  for compiler in "${compilers[@]}"; do
    if [[ $file == *.c ]]; then
      cc=$([[ $compiler == gcc ]] && echo gcc || echo clang-14)
      std=-std=c11
    else
      cc=$([[ $compiler == gcc ]] && echo g++ || echo clang++-14)
      std=-std=c++20
    fi
    $cc "$std" "${common_flags[@]}" $sanitizer "${extra[@]}" -pthread -o "$work/$name" "$path"
    suffix=".$compiler"
    [[ $name == glibc_* ]] && suffix=""
    expected=$report_pattern
    # The mixed sample is only useful with every report in it.
    [[ $name == mixed_* ]] && expected='thread leak'
    run_sample "$name" "$out/$name$suffix.txt" "$expected" env "$env_setting" "./$name"
  done
done

# The truncated sample: what the driver keeps of an output larger than its cap, the head and the
# tail with a marker between. The cut falls inside a frame line of one report and resumes inside
# a later one, as a byte-counted cut does.
mixed=$out/mixed_interleaved.gcc.txt
if [[ -z $filter || mixed_interleaved == *$filter* ]]; then
  # Head: up to the middle of the lock-order-inversion report's third frame line.
  frame=$(grep -b '#2 std::mutex::lock()' "$mixed" | head -1 | cut -d: -f1)
  head_bytes=$((frame + 30))
  # Tail: from the middle of the thread-leak report's first frame line.
  resume=$(grep -b '#0 pthread_create' "$mixed" | tail -1 | cut -d: -f1)
  tail_bytes=$(($(wc -c <"$mixed") - resume - 20))
  dropped=$(($(wc -c <"$mixed") - head_bytes - tail_bytes))
  {
    head -c "$head_bytes" "$mixed"
    printf '\n[faultline: %d bytes dropped here]\n' "$dropped"
    tail -c "$tail_bytes" "$mixed"
  } >"$out/mixed_interleaved.truncated.txt"
  echo "tests/data/reports/mixed_interleaved.truncated.txt: $head_bytes head + $tail_bytes tail bytes"
fi
