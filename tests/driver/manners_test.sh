#!/usr/bin/env bash
# The command line's manners, checked on the output: `faultline help CMD` is CMD's help, help
# pages name their values and true defaults and list only what the command takes,
# --version names the git revision, `export --out -` writes to stdout (and no file named -),
# and `run --out -` is refused in one line with exit 2, touching nothing; run's per-run lines go
# to stderr with the time left, the summary to stdout; the summary's marks are coloured on a
# terminal only, never under NO_COLOR or TERM=dumb.
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
! grep -q -- "--nemesis\|--perturb\|--scenarios" out || fail "exec --help lists options exec refuses"
# (a producer piped into grep -q could die of SIGPIPE under pipefail: grep a variable instead)
fault_help=$(grep -A2 -- "--fault SPEC" out)
grep -q "syscall:call=" <<<"$fault_help" && ! grep -q "latency:ms" out ||
  fail "exec --help does not say that its --fault takes the process's faults only"
# Every command's help shows how it is used: at least one example beginning with faultline.
for c in $("$faultline" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
  "$faultline" help "$c" >out
  examples=$(sed -n '/^examples\?:$/,/^$/p' out)
  grep -q "^  faultline $c " <<<"$examples" || fail "help $c has no example"
done

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

# Progress on stderr, results on stdout.
"$faultline" run shared-map-iteration --repeat 2 --out "$work/r.jsonl" >out 2>err || fail "run exited $?"
grep -q '^\[1/4, ~[0-9]*s left\] shared-map-iteration' err || fail "no per-run line with the time left on stderr: $(cat err)"
grep -q '^\[4/4\] ' err || fail "the last run line: $(cat err)"
! grep -q '^\[' out || fail "per-run lines on stdout"
grep -q '^         expected: buggy@none' out || fail "no summary on stdout: $(cat out)"
! grep -q $'\x1b' out err || fail "escape codes when stdout is not a terminal"

# Colour on a terminal (script(1) gives the run one), and never under NO_COLOR or TERM=dumb.
on_tty() { script -qec "$*" /dev/null </dev/null; }
TERM=xterm on_tty "$faultline" run shared-map-iteration --variant fixed --out "$work/t.jsonl" >tty.out
grep -q $'\x1b\[32mok  \x1b\[0m fixed' tty.out || fail "no green ok on a terminal: $(cat -v tty.out)"
NO_COLOR=1 TERM=xterm on_tty "$faultline" run shared-map-iteration --variant fixed --out "$work/t.jsonl" >tty.out
! grep -q $'\x1b' tty.out || fail "colour under NO_COLOR: $(cat -v tty.out)"
TERM=dumb on_tty "$faultline" run shared-map-iteration --variant fixed --out "$work/t.jsonl" >tty.out
! grep -q $'\x1b' tty.out || fail "colour under TERM=dumb: $(cat -v tty.out)"
echo "help CMD, --version, export --out -, run --out - refused, progress on stderr, colour on a terminal only"
