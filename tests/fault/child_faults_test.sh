#!/usr/bin/env bash
# Syscall and clock faults measured from outside (docs/faults.md): tests/fault/syscall_child run
# by faultline exec makes N calls of one libc function and says which failed; the record's
# counts (syscall_<call>_calls, _injected) must agree with it, the injected share must sit within
# binomial bounds of p, `when` must choose exactly its calls, a delay must cost its time, the
# same seed must make the same choices (and replay too), a clock offset, jump and rate must be
# what the child sees; a scenario under TSan and ASan runs with the shim in front of the
# sanitizer; shrink finds the one fault of three that matters, at its smallest strength; every
# bad spec and bad shrink is one line and exit 2.
#   child_faults_test.sh FAULTLINE SYSCALL_CHILD
set -euo pipefail
faultline=$(realpath "$1")
child=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
# run OUT ARGS...: faultline exec ARGS, one run, into OUT.jsonl; prints the child's stdout line.
run() {
  local out=$1; shift
  "$faultline" exec --out "$out.jsonl" "$@" >"$out.log" 2>&1 || { cat "$out.log"; fail "exec $*"; }
  python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(r["output"]["stdout_tail"].strip())' "$out.jsonl"
}
# metric OUT NAME: a metric of the last record of OUT.jsonl.
metric() { python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(int(r["metrics"][sys.argv[2]]["value"]))' "$1.jsonl" "$2"; }
# word LINE KEY: the value of KEY=VALUE in LINE.
word() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }

# 1. errno with a probability: the child saw what the shim counted, within binomial bounds.
line=$(run p --seed 11 --fault syscall:call=write,errno=EIO,p=0.1 -- "$child" write 10000)
injected=$(metric p syscall_write_injected)
[ "$(metric p syscall_write_calls)" -eq 10000 ] || fail "calls counted: $(metric p syscall_write_calls), not 10000"
[ "$(word "$line" failed)" -eq "$injected" ] || fail "the child saw $(word "$line" failed) failures, the shim injected $injected"
[ "$(word "$line" errno)" = EIO ] || fail "errno: $(word "$line" errno)"
# n = 10000, p = 0.1: mean 1000, sd 30; 5 sd either way fails about once in 3.5 million runs.
[ "$injected" -ge 850 ] && [ "$injected" -le 1150 ] || fail "injected $injected of 10000 at p=0.1 (bounds 850..1150)"

# 2. The same seed makes the same choices; another seed others; replay the same as the run.
again=$(run p2 --seed 11 --fault syscall:call=write,errno=EIO,p=0.1 -- "$child" write 10000)
[ "$(word "$again" hash)" = "$(word "$line" hash)" ] || fail "seed 11 chose other calls the second time"
other=$(run p3 --seed 12 --fault syscall:call=write,errno=EIO,p=0.1 -- "$child" write 10000)
[ "$(word "$other" hash)" != "$(word "$line" hash)" ] || fail "seeds 11 and 12 chose the same calls"
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' p.jsonl)
"$faultline" replay "$id" --results p.jsonl --out replay.jsonl --yes >replay.log 2>&1 || { cat replay.log; fail "replay"; }
replayed=$(python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(r["output"]["stdout_tail"].strip())' replay.jsonl)
[ "$(word "$replayed" hash)" = "$(word "$line" hash)" ] || fail "replay chose other calls: $replayed"

# 3. when=first..last+step chooses exactly those calls, for any errno and call.
line=$(run w --fault syscall:call=close,errno=EINTR,when=100..200+10 -- "$child" close 1000)
[ "$(word "$line" failed)" -eq 11 ] && [ "$(word "$line" first)" -eq 100 ] && [ "$(word "$line" last)" -eq 200 ] ||
  fail "when=100..200+10: $line"
[ "$(metric w syscall_close_injected)" -eq 11 ] || fail "close injected $(metric w syscall_close_injected)"
line=$(run pt --fault syscall:call=pthread_create,errno=EAGAIN,when=3 -- "$child" pthread_create 5)
[ "$(word "$line" failed)" -eq 1 ] && [ "$(word "$line" first)" -eq 3 ] && [ "$(word "$line" errno)" = EAGAIN ] ||
  fail "pthread_create when=3: $line"
line=$(run m --fault syscall:call=malloc,errno=ENOMEM,when=50..59 -- "$child" malloc 100)
[ "$(word "$line" failed)" -eq 10 ] && [ "$(word "$line" first)" -eq 50 ] || fail "malloc when=50..59: $line"
line=$(run c --fault syscall:call=connect,errno=ETIMEDOUT,p=0.5 -- "$child" connect 200)
[ "$(word "$line" failed)" -eq "$(metric c syscall_connect_injected)" ] || fail "connect: $line"

# 4. A delay costs its time: 200 calls x 2 ms = 0.4 s, and not much more.
line=$(run d --fault syscall:call=write,delay-us=2000 -- "$child" write 200)
python3 -c 'import sys; s=float(sys.argv[1]); sys.exit(0 if 0.4 <= s < 1.2 else 1)' "$(word "$line" seconds)" ||
  fail "200 writes delayed 2 ms each took $(word "$line" seconds) s"
[ "$(word "$line" failed)" -eq 0 ] || fail "a delay alone failed calls: $line"

# 5. Clock faults: an offset the child sees on the wall clock only; a jump at 1 s; a rate.
before=$(date +%s)
line=$(run o --fault clock:offset-s=3600 -- "$child" clock)
shift_s=$(( $(word "$line" wall) - before ))
[ "$shift_s" -ge 3599 ] && [ "$shift_s" -le 3610 ] || fail "offset-s=3600: the child's clock was $shift_s s ahead"
real_mono=$(python3 -c 'import time; print(time.monotonic())')
python3 -c 'import sys; sys.exit(0 if abs(float(sys.argv[1]) - float(sys.argv[2])) < 30 else 1)' "$(word "$line" mono)" "$real_mono" ||
  fail "clocks=wall moved the monotonic clock: $(word "$line" mono) against $real_mono"
before=$(date +%s)
line=$(run j --fault clock:jump-s=100,at=1 -- "$child" clock-after 1.5)
shift_s=$(( $(word "$line" wall) - before ))
[ "$shift_s" -ge 100 ] && [ "$shift_s" -le 110 ] || fail "jump-s=100,at=1: $shift_s s ahead after 1.5 s"
line=$(run j0 --fault clock:jump-s=100,at=5 -- "$child" clock)
shift_s=$(( $(word "$line" wall) - $(date +%s) ))
[ "$shift_s" -ge -2 ] && [ "$shift_s" -le 2 ] || fail "jump-s=100,at=5 moved the clock before 5 s: $shift_s"
run r --fault clock:rate=2,clocks=all -- "$child" spin 1 >/dev/null
python3 -c 'import json,sys; d=[json.loads(l) for l in open("r.jsonl")][-1]["duration_s"]; sys.exit(0 if 0.4 <= d < 0.85 else 1)' ||
  fail "rate=2: a 1 s spin on the child's monotonic clock did not take about 0.5 s"

# 6. A scenario under the sanitizers, the shim in front of their interceptors.
for san in tsan asan; do
  "$faultline" run listener-lifetime --variant fixed --sanitizer "$san" --seed 5 \
    --fault syscall:call=accept4,errno=EMFILE,p=0.1 --out "san-$san.jsonl" >"san-$san.log" 2>&1 || true
  injected=$(metric "san-$san" syscall_accept4_injected)
  [ "$injected" -gt 0 ] || { cat "san-$san.log"; fail "$san: nothing injected into accept4"; }
  grep -q "accept4: EMFILE" "san-$san.log" || { cat "san-$san.log"; fail "$san: the scenario did not see its EMFILE"; }
done

# 7. shrink: of three faults only the write fault matters (the program exits 1 when a write
# failed); shrink keeps it alone and halves its p while 1000 writes still meet a failure.
"$faultline" exec --fail-exit 1 --seed 5 --out big.jsonl --fault syscall:call=write,errno=EIO,p=0.5 \
  --fault syscall:call=read,delay-us=10,p=0.5 --fault clock:offset-s=30 -- "$child" write 1000 exit1 >/dev/null 2>&1 ||
  fail "the run to shrink did not reproduce"
id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' big.jsonl)
"$faultline" shrink "$id" --results big.jsonl --out shrunk.jsonl --runs 3 --yes >shrink.log 2>&1 || { cat shrink.log; fail "shrink exited $?"; }
grep -q '^minimal: --fault syscall:call=write,errno=EIO,p=0.0625 (from ' shrink.log || { cat shrink.log; fail "shrink found another minimum"; }
python3 - shrunk.shrink.json shrunk.jsonl <<'PY' || fail "the shrink summary or its runs"
import json, sys
s = json.load(open(sys.argv[1]))
runs = [json.loads(l) for l in open(sys.argv[2])]
assert s["minimal"] == "--fault syscall:call=write,errno=EIO,p=0.0625", s["minimal"]
assert s["runs"] == len(runs) == 3 * len(s["trials"]), (s["runs"], len(runs), len(s["trials"]))
assert not s["trials"][3]["passed"] and s["trials"][3]["given"] == "(nothing)", s["trials"][3]
assert "--fault syscall:call=write,errno=EIO,p=0.0625 --cwd" in s["command"], s["command"]
PY

# 8. Bad input: one line, exit 2, no file.
bad() { # WHAT-THE-LINE-SAYS ARGS...
  local want=$1; shift
  set +e; "$faultline" "$@" >out 2>err; local code=$?; set -e
  [ "$code" -eq 2 ] || { cat out err; fail "exit $code, not 2, for: $*"; }
  [ "$(wc -l <err)" -eq 1 ] && grep -q -- "$want" err || fail "for $*: $(cat err)"
  [ ! -e bad.jsonl ] || fail "a refused command wrote its results file: $*"
}
bad "call=bogus is not one it can fail" exec --out bad.jsonl --fault syscall:call=bogus,errno=EIO -- "$child" clock
bad "errno=EWHAT is not an errno it knows" exec --out bad.jsonl --fault syscall:call=read,errno=EWHAT -- "$child" clock
bad "when=5..2 is not a range of calls" exec --out bad.jsonl --fault syscall:call=read,errno=EIO,when=5..2 -- "$child" clock
bad "needs errno=NAME, delay-us=N or both" exec --out bad.jsonl --fault syscall:call=read -- "$child" clock
bad "two syscall faults on read" exec --out bad.jsonl --fault syscall:call=read,errno=EIO --fault syscall:call=read,delay-us=5 -- "$child" clock
bad "has no key 'speed'" exec --out bad.jsonl --fault clock:speed=2 -- "$child" clock
bad "jump-s and at go together" exec --out bad.jsonl --fault clock:jump-s=5 -- "$child" clock
bad "works only without a sanitizer" run listener-lifetime --sanitizer tsan --out bad.jsonl --fault syscall:call=malloc,errno=ENOMEM
bad "network faults, --perturb and --nemesis need a faultline scenario" exec --out bad.jsonl --fault latency:ms=5 -- "$child" clock
"$faultline" exec --out clean.jsonl -- "$child" write 10 >/dev/null 2>&1
clean_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' clean.jsonl)
bad "did not reproduce (verdict" shrink "$clean_id" --results clean.jsonl --out bad.jsonl --yes
"$faultline" exec --fail-exit 1 --out plain.jsonl -- sh -c 'exit 1' >/dev/null 2>&1 || true
plain_id=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["run_id"])' plain.jsonl)
bad "no fault, perturbation or nemesis to take away" shrink "$plain_id" --results plain.jsonl --out bad.jsonl --yes
bad "runs a command of its own" shrink "$id" --results big.jsonl --out bad.jsonl
bad "no run with id 'nosuchrun'" shrink nosuchrun --results big.jsonl --out bad.jsonl
cp /bin/true static-probe
if command -v go >/dev/null; then  # a static program: Go's
  printf 'package main\nfunc main() {}\n' >main.go
  GOCACHE="$work/gocache" GO111MODULE=off go build -o static-probe main.go
  # syscall faults reach it through the seccomp launcher (seccomp_launch_test.sh); clock faults not
  bad "is statically linked: clock faults work through libfaketime" exec --out bad.jsonl --fault clock:offset-s=30 -- ./static-probe
fi
echo "syscall faults: counts agree, binomial bounds, when ranges, delays, seeds and replay; clock offset, jump and rate; TSan and ASan; shrink; bad specs refused"
