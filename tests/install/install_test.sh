#!/usr/bin/env bash
# The installed package as a user meets it (docs/writing-a-scenario.md): the release, tsan and
# asan builds installed into one temporary prefix; examples/scenario, a project outside this
# tree, configured with find_package(faultline) and built in every flavour with
# faultline_add_scenario; its scenario run by the installed driver under each build and judged
# by its own expectations; a run replayed from another folder; a built-in scenario run from the
# install; and the bad inputs: a scenario folder that does not exist (option and environment),
# a program there whose spec cannot be read, a bad scenario id in CMake.
#   install_test.sh BUILD_ROOT SOURCE_DIR
set -euo pipefail
root=$(realpath "$1")
src=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "-- $*"; }
# verdicts FILE VARIANT: the verdicts of that variant's records, in order.
verdicts() {
  python3 -c 'import json,sys; print(" ".join(r["verdict"] for r in map(json.loads, open(sys.argv[1])) if r["variant"] == sys.argv[2]))' "$1" "$2"
}
prefix=$work/prefix
for preset in release tsan asan; do
  [ -d "$root/$preset" ] || fail "no $preset build under $root: build it first (scripts/build.sh $preset)"
  cmake --install "$root/$preset" --prefix "$prefix" >"$work/install-$preset.log" ||
    { cat "$work/install-$preset.log"; fail "cmake --install of $preset"; }
done
faultline=$prefix/bin/faultline
step "installed: $(cd "$prefix" && find . -type f | wc -l) files"
for f in bin/faultline bin/faultline-rpc-server lib/cmake/faultline/faultlineConfig.cmake \
         lib/faultline/tsan/libfaultline_scenario.a include/faultline/harness/scenario/scenario_api.h \
         libexec/faultline/asan/scenarios/vector-growth-alias libexec/faultline/release/build_info.json \
         share/faultline/python/faultline_report.py; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done

step "the installed driver finds its own scenarios"
"$faultline" list >"$work/list" 2>&1 || { cat "$work/list"; fail "faultline list from the install"; }
grep -q '^rpc-timeout-race' "$work/list" || fail "the installed list lacks rpc-timeout-race"
(cd "$work" && "$faultline" run shared-map-iteration --variant fixed --out "$work/builtin.jsonl" >"$work/builtin.log") ||
  { cat "$work/builtin.log"; fail "a built-in scenario run from the install"; }
[ "$(verdicts "$work/builtin.jsonl" fixed)" = clean ] || fail "built-in fixed: $(verdicts "$work/builtin.jsonl" fixed)"

step "examples/scenario built against the package, outside this tree"
cp -r "$src/examples/scenario" "$work/project"
cmake -S "$work/project" -B "$work/project/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 || { cat "$work/configure.log"; fail "configure"; }
grep -q 'faultline flavours: release;tsan;asan' "$work/configure.log" || { cat "$work/configure.log"; fail "not every flavour found"; }
cmake --build "$work/project/build" >"$work/build.log" 2>&1 || { cat "$work/build.log"; fail "build"; }
scenarios=$work/project/build/faultline-scenarios
for flavour in release tsan asan; do
  [ -x "$scenarios/$flavour/scenarios/hit-counter" ] || fail "no $flavour hit-counter"
  [ -f "$scenarios/$flavour/build_info.json" ] || fail "no $flavour build_info.json"
done
# (nm to a file: grep -q ending a pipe early would fail it under pipefail)
for flavour in release tsan asan; do nm "$scenarios/$flavour/scenarios/hit-counter" >"$work/nm-$flavour"; done
grep -q ' U __tsan_' "$work/nm-tsan" || fail "the tsan flavour is not built with TSan"
grep -q ' U __asan_' "$work/nm-asan" || fail "the asan flavour is not built with ASan"
! grep -q '__[at]san_' "$work/nm-release" || fail "the release flavour has a sanitizer"

step "listed with --scenarios, with its three builds"
"$faultline" list hit-counter --scenarios "$scenarios" >"$work/list-hc" || fail "list hit-counter"
grep -q "builds: *release, tsan, asan in $scenarios" "$work/list-hc" || { cat "$work/list-hc"; fail "list does not show the three builds"; }

step "run under TSan by the installed driver: buggy reproduced, fixed clean"
(cd "$work" && "$faultline" run hit-counter --variant all --sanitizer tsan --repeat 3 --scenarios "$scenarios" \
   --out "$work/tsan.jsonl" >"$work/tsan.log") || { cat "$work/tsan.log"; fail "run under tsan did not exit 0"; }
cat "$work/tsan.log"
[ "$(verdicts "$work/tsan.jsonl" buggy)" = "reproduced reproduced reproduced" ] || fail "tsan buggy: $(verdicts "$work/tsan.jsonl" buggy)"
[ "$(verdicts "$work/tsan.jsonl" fixed)" = "clean clean clean" ] || fail "tsan fixed: $(verdicts "$work/tsan.jsonl" fixed)"
python3 - "$work/tsan.jsonl" <<'PY' || fail "the tsan records do not show the race as a TSan report"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
buggy = [r for r in recs if r["variant"] == "buggy"]
assert all(any(s["kind"] == "data_race" for s in r["symptoms"]) for r in buggy), "no data_race"
fixed = [r for r in recs if r["variant"] == "fixed"]
assert all(r["metrics"]["lock_waits"]["value"] > 0 for r in fixed), "fixed never contended"
assert all(r["build"]["build_dir"].endswith("faultline-scenarios/tsan") for r in recs), recs[0]["build"]
PY

step "run without a sanitizer, the folder given by FAULTLINE_SCENARIO_PATH"
(cd "$work" && FAULTLINE_SCENARIO_PATH="$scenarios" "$faultline" run hit-counter --variant all --repeat 3 \
   --out "$work/none.jsonl" >"$work/none.log") || { cat "$work/none.log"; fail "run without sanitizer"; }
[ "$(verdicts "$work/none.jsonl" buggy)" = "reproduced reproduced reproduced" ] || fail "none buggy: $(verdicts "$work/none.jsonl" buggy)"
[ "$(verdicts "$work/none.jsonl" fixed)" = "clean clean clean" ] || fail "none fixed: $(verdicts "$work/none.jsonl" fixed)"

step "run under ASan"
(cd "$work" && "$faultline" run hit-counter --variant all --sanitizer asan --repeat 2 --scenarios "$scenarios" \
   --out "$work/asan.jsonl" >"$work/asan.log") || { cat "$work/asan.log"; fail "run under asan"; }
[ "$(verdicts "$work/asan.jsonl" fixed)" = "clean clean" ] || fail "asan fixed: $(verdicts "$work/asan.jsonl" fixed)"

step "replay from another folder finds the scenario where it ran"
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' "$work/tsan.jsonl")
(cd / && "$faultline" replay "$id" --results "$work/tsan.jsonl" >"$work/replay.log" 2>&1) ||
  { cat "$work/replay.log"; fail "replay of $id"; }

step "bad input: one line, exit 2, no file written"
bad() { # WHAT-THE-LINE-SAYS COMMAND...
  local want=$1; shift
  set +e; (cd "$work" && "$@") >"$work/out" 2>"$work/err"; local code=$?; set -e
  [ "$code" -eq 2 ] || { cat "$work/out" "$work/err"; fail "exit $code, not 2, for: $*"; }
  [ "$(wc -l <"$work/err")" -eq 1 ] || { cat "$work/err"; fail "not one line for: $*"; }
  grep -q -- "$want" "$work/err" || { cat "$work/err"; fail "the line does not say '$want'"; }
  [ ! -e "$work/results" ] || fail "a results folder was made by: $*"
}
bad "scenario folder $work/nowhere (--scenarios) does not exist" \
  "$faultline" run hit-counter --scenarios "$work/nowhere"
bad "(FAULTLINE_SCENARIO_PATH) does not exist" env FAULTLINE_SCENARIO_PATH="$work/nowhere" "$faultline" list
mkdir -p "$work/junk/release/scenarios"
printf '#!/bin/sh\necho "this is not a spec"\n' >"$work/junk/release/scenarios/not-a-spec"
chmod +x "$work/junk/release/scenarios/not-a-spec"
bad "is not a faultline scenario" "$faultline" run not-a-spec --scenarios "$work/junk"
bad "no tsan build of not-a-spec in its scenario folder" \
  "$faultline" run not-a-spec --sanitizer tsan --scenarios "$work/junk"
mkdir -p "$work/bad-id"
cat >"$work/bad-id/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.25)
project(bad_id LANGUAGES CXX)
find_package(faultline CONFIG REQUIRED)
faultline_add_scenario(Hit_Counter hit_counter.cpp)
CMAKE
if cmake -S "$work/bad-id" -B "$work/bad-id/build" -DCMAKE_PREFIX_PATH="$prefix" >"$work/bad-id.log" 2>&1; then
  fail "a scenario id that is not kebab-case was configured"
fi
grep -q "'Hit_Counter' is not a scenario id" "$work/bad-id.log" || { cat "$work/bad-id.log"; fail "the bad id is not named"; }
echo "install test passed"
