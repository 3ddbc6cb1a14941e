#!/usr/bin/env bash
# A fault plan on an exec'd C program (docs/faults.md, "Fault plans"): tests/fault/syscall_child
# makes one write every 10 ms for 0.6 s and says when the first and last failed write was made;
# a plan whose phase fails writes from 200 to 400 ms must fail those and no others; replay of the
# run must fail the same writes; shrink must keep, of three phases, the one that matters; a bad
# plan is one line and exit 2 with no results file.
#   fault_plan_exec_test.sh FAULTLINE SYSCALL_CHILD
set -euo pipefail
faultline=$(realpath "$1")
child=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
last() { python3 -c 'import json,sys; r=[json.loads(l) for l in open(sys.argv[1])][-1]; print(eval(sys.argv[2]))' "$@"; }
word() { sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"; }

cat >plan.json <<'EOF'
{"name": "write-errors",
 "phases": [
   {"name": "eio", "from_ms": 200, "until_ms": 400, "faults": ["syscall:call=write,errno=EIO"]},
   {"name": "slow-reads", "from_ms": 450, "until_ms": 500, "faults": ["syscall:call=read,delay-us=100"]},
   {"name": "bad-closes", "from_ms": 500, "until_ms": 550, "faults": ["syscall:call=close,errno=EINTR"]}
 ]}
EOF

# 1. The phase's writes fail, the others do not. The shim times its window from the start of
# the process; the program from its main(), a few ms later: so the first failed write is at
# 200 ms less that gap, up to one 10 ms pace later, and the last before 400 ms.
"$faultline" exec --fail-exit 1 --seed 4 --out run.jsonl --fault-plan plan.json -- "$child" write 60 exit1 pace-us=10000 \
  >run.log 2>&1 || { cat run.log; fail "the planned run did not reproduce"; }
line=$(last run.jsonl 'r["output"]["stdout_tail"].replace("\n", " ")')
first=$(word "$line" first_ms)
lastw=$(word "$line" last_ms)
failed=$(word "$line" failed)
python3 -c "import sys; f,l,n=$first,$lastw,$failed; sys.exit(0 if 185 <= f <= 212 and 375 <= l < 400 and 17 <= n <= 21 else 1)" ||
  fail "writes failed from $first to $lastw ms ($failed of them), not in 200..400 ms: $line"
[ "$(last run.jsonl 'int(r["metrics"]["syscall_write_injected"]["value"])')" -eq "$failed" ] || fail "the shim counted other writes than the program saw"
[ "$(last run.jsonl 'r["fault_plan"]["name"]')" = write-errors ] || fail "the record has no fault_plan"
[ "$(last run.jsonl 'r["faults"][0]["spec"]')" = "syscall:call=write,errno=EIO,from-ms=200,until-ms=400" ] ||
  fail "the phase was not compiled to a window: $(last run.jsonl 'r["faults"]')"

# 2. replay fails the same writes (the same indices) and records the same plan.
id=$(last run.jsonl 'r["run_id"]')
"$faultline" replay "$id" --results run.jsonl --out replay.jsonl --yes >replay.log 2>&1 || { cat replay.log; fail "replay"; }
again=$(last replay.jsonl 'r["output"]["stdout_tail"].replace("\n", " ")')
[ "$(word "$again" first)" = "$(word "$line" first)" ] && [ "$(word "$again" last)" = "$(word "$line" last)" ] ||
  fail "replay failed other writes: $again (the run: $line)"
[ "$(last replay.jsonl 'json.dumps(r["fault_plan"], sort_keys=True)')" = "$(last run.jsonl 'json.dumps(r["fault_plan"], sort_keys=True)')" ] ||
  fail "replay recorded another plan"

# 3. shrink removes phases whole: of the three, only eio makes a write fail.
"$faultline" shrink "$id" --results run.jsonl --out shrunk.jsonl --runs 2 --yes >shrink.log 2>&1 || { cat shrink.log; fail "shrink"; }
python3 - shrunk.shrink.json <<'PY' || { cat shrink.log; fail "shrink kept another set of phases"; }
import json, sys
s = json.load(open(sys.argv[1]))
assert [p["name"] for p in s["minimal_fault_plan"]["phases"]] == ["eio"], s["minimal_fault_plan"]
assert s["minimal"] == "--fault syscall:call=write,errno=EIO,from-ms=200,until-ms=400", s["minimal"]
PY

# 4. Bad plans: one line naming the problem, exit 2, no results file.
bad() { # WHAT-THE-LINE-SAYS PLAN
  printf '%s' "$2" >bad-plan.json
  set +e; "$faultline" exec --out bad.jsonl --fault-plan bad-plan.json -- "$child" write 1 >out 2>err; local code=$?; set -e
  [ "$code" -eq 2 ] || { cat out err; fail "exit $code, not 2, for: $2"; }
  [ "$(wc -l <err)" -eq 1 ] && grep -q -- "$1" err || fail "for $2: $(cat err)"
  [ ! -e bad.jsonl ] || fail "a refused plan wrote its results file: $2"
}
bad "phase 'a' (0..300 ms) and phase 'b' (200..400 ms) overlap" \
  '{"phases": [{"name": "a", "from_ms": 0, "until_ms": 300, "faults": ["syscall:call=write,errno=EIO"]},
               {"name": "b", "from_ms": 200, "until_ms": 400, "faults": ["syscall:call=read,errno=EIO"]}]}'
bad "errno=EWHAT is not an errno it knows" '{"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["syscall:call=write,errno=EWHAT"]}]}'
bad "has no key 'to_ms'" '{"phases": [{"from_ms": 0, "to_ms": 9, "faults": ["syscall:call=write,errno=EIO"]}]}'
bad "network faults, --perturb and --nemesis need a faultline scenario" '{"phases": [{"from_ms": 0, "until_ms": 9, "faults": ["latency:ms=5"]}]}'
echo "fault plan on an exec'd program: the phase's writes and no others failed ($failed, $first..$lastw ms), replay the same, shrink kept the phase that matters, bad plans refused"
