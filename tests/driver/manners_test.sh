#!/usr/bin/env bash
# The command line's manners, checked on the output: `faultline help CMD` is CMD's help, help
# pages name their values and true defaults and list only what the command takes,
# --version names the git revision, `export --out -` writes to stdout (and no file named -),
# and `run --out -` is refused in one line with exit 2, touching nothing.
#   manners_test.sh FAULTLINE RESULTS
set -euo pipefail
faultline=$(realpath "$1")
results=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$faultline" help merge >out 2>err || fail "help merge exited $?"
[ "$(head -1 out)" = "usage: faultline merge SHARD-FILES... -o all.jsonl" ] || fail "help merge: $(head -1 out)"
"$faultline" --version >out || fail "--version exited $?"
grep -Eq '^faultline [0-9]+\.[0-9]+\.[0-9]+ \(git [0-9a-f]{12}' out || fail "--version: $(cat out)"

"$faultline" sweep --help >out
grep -q -- "--jobs J (=one per core, capped by free memory)" out || fail "sweep --help does not give its true --jobs default"
grep -q -- "--grid KEY=V1,V2" out || fail "sweep --help names no value"
"$faultline" compare --help >out
grep -q "(=0.05)" out && ! grep -q "0.0500000" out || fail "compare --help: --alpha default as $(grep alpha out)"
"$faultline" exec --help >out
! grep -q -- "--fault\|--nemesis\|--perturb" out || fail "exec --help lists options exec refuses"

"$faultline" export "$results" --format csv --out - >out || fail "export --out - exited $?"
[ ! -e ./- ] || fail "export --out - wrote a file named -"
[ "$(wc -l <out)" -gt 1 ] && head -1 out | grep -q run_id || fail "export --out - printed no CSV"

set +e
"$faultline" run listener-lifetime --out - >out 2>err
code=$?
set -e
[ "$code" -eq 2 ] || fail "run --out - exited $code"
[ "$(wc -l <err)" -eq 1 ] && grep -q -- "--out -:" err || fail "run --out -: $(cat err)"
[ ! -e ./- ] && [ ! -e results ] || fail "run --out - touched the folder"
echo "help CMD, --version, export --out -, run --out - refused"
