#!/usr/bin/env bash
# Syscall faults on statically linked programs, measured from outside (docs/faults.md, "Static
# programs (Go): the seccomp launcher"). faultline exec runs them under faultline-seccomp-launch:
# tests/fault/syscall_child linked -static, and a Go program (tests/fault/go_child) built here,
# each saying which of its calls failed. The record must say the launcher applied them, its
# counts must agree with what the program saw, `when` must choose exactly its calls, p within
# binomial bounds, the same seed the same calls as the shim on the dynamic build and as replay;
# the launcher must pass SIGTERM on and die with the target, and leave nothing behind when
# killed; what a filter cannot do is one line and exit 2. Without `go` the Go part cannot run:
# exit 77 (ctest SKIP) once the C part passed.
#   seccomp_launch_test.sh FAULTLINE SYSCALL_CHILD_STATIC SYSCALL_CHILD GO_CHILD_DIR GO_BUILD_DIR
set -euo pipefail
faultline=$(realpath "$1")
child=$(realpath "$2")
dynamic_child=$(realpath "$3")
go_src=$(realpath "$4")
go_dir=$5
launcher=$(dirname "$faultline")/faultline-seccomp-launch
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
# run OUT ARGS...: faultline exec ARGS, one run, into OUT.jsonl; prints the program's stdout.
run() {
  local out=$1; shift
  "$faultline" exec --out "$out.jsonl" "$@" >"$out.log" 2>&1 || { cat "$out.log"; fail "exec $*"; }
  field "$out" 'r["output"]["stdout_tail"].strip()'
}
# field OUT EXPR: a Python expression over the last record r of OUT.jsonl.
field() { python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(eval(sys.argv[2]))' "$1.jsonl" "$2"; }
metric() { field "$1" "int(r['metrics']['$2']['value'])"; }
word() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }
# launched OUT: the record says the launcher ran the program, and why.
launched() {
  [ "$(field "$1" 'r["command"][0].rsplit("/", 1)[-1]')" = faultline-seccomp-launch ] ||
    fail "$1: the command did not run under the launcher: $(field "$1" 'r["command"]')"
  [ "$(field "$1" 'any("seccomp user notification" in n for n in r["notes"])')" = True ] ||
    fail "$1: no note says how the faults were applied: $(field "$1" 'r["notes"]')"
}
file "$child" | grep -q "statically linked" || fail "$child is not statically linked"

# 1. when=3..5 on a static C program: calls 3, 4 and 5 fail with EIO, nothing else. The counts
# see every write system call: the program's 10, and stdio's one for its output line.
line=$(run w --seed 3 --fault syscall:call=write,errno=EIO,when=3..5 -- "$child" write 10)
[ "$(word "$line" failed)" = 3 ] && [ "$(word "$line" first)" = 3 ] && [ "$(word "$line" last)" = 5 ] &&
  [ "$(word "$line" errno)" = EIO ] || fail "when=3..5: $line"
[ "$(metric w syscall_write_injected)" = 3 ] && [ "$(metric w syscall_write_calls)" = 11 ] ||
  fail "counts: $(metric w syscall_write_calls) calls, $(metric w syscall_write_injected) injected (want 11, 3)"
launched w

# 2. p=0.3 over 10000 writes (when=1..10000: the output line is never chosen): the program saw
# what the launcher counted, within binomial bounds; the shim on the dynamic build chose the same
# calls; replay chose them again.
spec=syscall:call=write,errno=EIO,p=0.3,when=1..10000
line=$(run p --seed 11 --fault "$spec" -- "$child" write 10000)
injected=$(metric p syscall_write_injected)
[ "$(metric p syscall_write_calls)" = 10001 ] || fail "calls counted: $(metric p syscall_write_calls), not 10001"
[ "$(word "$line" failed)" = "$injected" ] || fail "the program saw $(word "$line" failed) failures, the launcher injected $injected"
# n = 10000, p = 0.3: mean 3000, sd 45.8; 5 sd either way fails about once in 3.5 million runs.
[ "$injected" -ge 2771 ] && [ "$injected" -le 3229 ] || fail "injected $injected of 10000 at p=0.3 (bounds 2771..3229)"
shim=$(run shim --seed 11 --fault "$spec" -- "$dynamic_child" write 10000)
[ "$(field shim 'r["command"][0]')" = "$dynamic_child" ] || fail "the dynamic program ran under the launcher"
[ "$(word "$shim" hash)" = "$(word "$line" hash)" ] || fail "the shim chose other calls: $shim against $line"
other=$(run p2 --seed 12 --fault "$spec" -- "$child" write 10000)
[ "$(word "$other" hash)" != "$(word "$line" hash)" ] || fail "seeds 11 and 12 chose the same calls"
id=$(field p 'r["run_id"]')
"$faultline" replay "$id" --results p.jsonl --out replay.jsonl --yes >replay.log 2>&1 || { cat replay.log; fail "replay"; }
[ "$(word "$(field replay 'r["output"]["stdout_tail"].strip()')" hash)" = "$(word "$line" hash)" ] ||
  fail "replay chose other calls: $(field replay 'r["output"]["stdout_tail"]')"
launched replay

# 3. A delay costs its time and fails nothing; close with a delay alone is made (1000 dup+close
# pairs would run out of nothing, but 10 of them are chosen and counted).
line=$(run d --fault syscall:call=write,delay-us=2000,when=1..200 -- "$child" write 200)
python3 -c 'import sys; s=float(sys.argv[1]); sys.exit(0 if 0.4 <= s < 1.5 else 1)' "$(word "$line" seconds)" ||
  fail "200 writes delayed 2 ms each took $(word "$line" seconds) s"
[ "$(word "$line" failed)" = 0 ] || fail "a delay alone failed calls: $line"
# A window (a fault plan's phase): only writes made 100 to 200 ms after the launcher started
# fail. The program's clock starts after the launcher's (its exec), so its own times may be a
# little earlier, never later.
line=$(run win --fault syscall:call=write,errno=EIO,from-ms=100,until-ms=200 -- "$child" write 40 pace-us=10000)
python3 -c 'import sys; f, l, n = map(float, sys.argv[1:]); sys.exit(0 if f >= 80 and l < 200 and 5 <= n <= 11 else 1)' \
  "$(word "$line" first_ms)" "$(word "$line" last_ms)" "$(word "$line" failed)" || fail "from-ms=100,until-ms=200: $line"
# One thread's write held 1 s by a delay holds none of the other thread's 200 writes.
line=$(run b --fault syscall:call=write,delay-us=1000000,when=1 -- "$child" beside 200)
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) >= 0.9 and float(sys.argv[2]) < 0.5 else 1)' \
  "$(word "$line" slow_s)" "$(word "$line" beside_s)" || fail "a delayed write held the others: $line"
line=$(run c --fault syscall:call=close,delay-us=100,when=11..20 -- "$child" close 1000)
[ "$(word "$line" failed)" = 0 ] && [ "$(metric c syscall_close_injected)" = 10 ] ||
  fail "close delay-us=100,when=11..20: $line, injected $(metric c syscall_close_injected)"

# 4. Signals: SIGTERM to the launcher alone reaches the target, and the launcher dies of it as
# the target did (143); SIGKILL to the launcher takes the target too (PR_SET_PDEATHSIG).
export FAULTLINE_SYSCALL_FAULTS="write,5,1,0,1,0,1,0,0"
tag=$((RANDOM * 7 + 3))
"$launcher" -- "$child" spin "$tag" & pid=$!
sleep 0.5
kill -TERM "$pid"
( sleep 5; kill -KILL "$pid" 2>/dev/null ) & watchdog=$!  # a launcher that kept SIGTERM hangs
set +e; wait "$pid"; code=$?; set -e
kill "$watchdog" 2>/dev/null || true
[ "$code" = 143 ] || fail "the launcher exited $code after SIGTERM, not 143 (the target's SIGTERM; 137: still running 5 s later)"
sleep 0.2
! pgrep -f "spin $tag\$" >/dev/null || fail "the target outlived a SIGTERM to its launcher"
"$launcher" -- "$child" spin "$tag" & pid=$!
sleep 0.5
kill -KILL "$pid"
set +e; wait "$pid"; set -e
for _ in 1 2 3 4 5 6 7 8 9 10; do pgrep -f "spin $tag\$" >/dev/null || break; sleep 0.1; done
! pgrep -f "spin $tag\$" >/dev/null || fail "the target outlived its SIGKILLed launcher"
unset FAULTLINE_SYSCALL_FAULTS

# 5. What no seccomp filter can do on a static program: one line, exit 2, no file.
bad() { # WHAT-THE-LINE-SAYS ARGS...
  local want=$1; shift
  set +e; "$faultline" "$@" >out 2>err; local code=$?; set -e
  [ "$code" -eq 2 ] || { cat out err; fail "exit $code, not 2, for: $*"; }
  [ "$(wc -l <err)" -eq 1 ] && grep -q -- "$want" err || fail "for $*: $(cat err)"
  [ ! -e bad.jsonl ] || fail "a refused command wrote its results file: $*"
}
bad "is statically linked: clock faults work through libfaketime" exec --out bad.jsonl --fault clock:offset-s=30 -- "$child" clock
bad "call=malloc is a library call, not a system call" exec --out bad.jsonl --fault syscall:call=malloc,errno=ENOMEM -- "$child" malloc 5
bad "call=pthread_create is a library call" exec --out bad.jsonl --fault syscall:call=pthread_create,errno=EAGAIN -- "$child" pthread_create 5
bad "call=close with errno cannot act" exec --out bad.jsonl --fault syscall:call=close,errno=EINTR -- "$child" close 5
bad "call=send and call=sendto are the same system call" exec --out bad.jsonl --fault syscall:call=send,errno=EIO --fault syscall:call=sendto,delay-us=5 -- "$child" write 5
echo "static C program: when, p within bounds, the shim's choices, replay, delay, close delay, SIGTERM and SIGKILL, refusals"

# 6. A Go program, static (CGO_ENABLED=0) and with cgo (dynamically linked: the shim would miss
# Go's own system calls, so the launcher runs it too).
if ! command -v go >/dev/null; then
  echo "SKIP: go is not installed (apt-get install golang-go): the Go half of this test did not run"
  exit 77
fi
mkdir -p "$go_dir/cache" "$go_dir/gopath"
export GOCACHE=$go_dir/cache GOPATH=$go_dir/gopath GO111MODULE=off GOFLAGS=
CGO_ENABLED=0 go build -o go_static "$go_src/main.go" || fail "go build (static)"
file go_static | grep -q "statically linked" || fail "go_static is not statically linked"
line=$(run gd --fault syscall:call=connect,errno=ECONNREFUSED,when=1..3 -- ./go_static dial 20)
[ "$(word "$line" failed)" = 3 ] && [ "$(word "$line" first)" = 1 ] && [ "$(word "$line" last)" = 3 ] &&
  [ "$(word "$line" errno)" = ECONNREFUSED ] || fail "Go dial, connect when=1..3: $line"
[ "$(metric gd syscall_connect_calls)" = 20 ] && [ "$(metric gd syscall_connect_injected)" = 3 ] ||
  fail "Go dial counts: $(metric gd syscall_connect_calls) calls, $(metric gd syscall_connect_injected) injected"
launched gd
spec=syscall:call=write,errno=EIO,p=0.3,when=1..2000
line=$(run gw --seed 7 --fault "$spec" -- ./go_static write 2000 "$work/go.out")
injected=$(metric gw syscall_write_injected)
[ "$(word "$line" failed)" = "$injected" ] && [ "$(word "$line" errno)" = EIO ] ||
  fail "Go saw $line, the launcher injected $injected"
# n = 2000, p = 0.3: mean 600, sd 20.5; 5 sd either way.
[ "$injected" -ge 497 ] && [ "$injected" -le 703 ] || fail "Go: injected $injected of 2000 at p=0.3 (bounds 497..703)"
id=$(field gw 'r["run_id"]')
"$faultline" replay "$id" --results gw.jsonl --out greplay.jsonl --yes >greplay.log 2>&1 || { cat greplay.log; fail "Go replay"; }
[ "$(word "$(field greplay 'r["output"]["stdout_tail"].strip()')" hash)" = "$(word "$line" hash)" ] ||
  fail "Go replay chose other calls: $(field greplay 'r["output"]["stdout_tail"]')"
if CGO_ENABLED=1 go build -o go_cgo "$go_src/main.go" 2>/dev/null && file go_cgo | grep -q "dynamically linked"; then
  line=$(run gc --fault syscall:call=connect,errno=ECONNREFUSED,when=1..3 -- ./go_cgo dial 20)
  [ "$(word "$line" failed)" = 3 ] && [ "$(metric gc syscall_connect_injected)" = 3 ] || fail "Go with cgo: $line"
  launched gc
  bad "is a Go program" exec --out bad.jsonl --fault syscall:call=malloc,errno=ENOMEM -- ./go_cgo dial 1
fi
echo "Go program: connect when=1..3 refused, write p=0.3 within bounds, replay, cgo build too"
