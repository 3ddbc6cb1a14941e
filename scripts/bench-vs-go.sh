#!/usr/bin/env bash
# faultline side by side with Go (issue 12, items 3-6; docs/performance.md), in one run:
#   symptom  time from exec to the first symptom, median of REPEAT runs: faultline's scenarios
#            (faultline run, first_symptom_s) against the Go reproductions of their seeds in
#            bench/go (faultline exec, the same parsers and the same clock)
#   rpc      faultline's RPC stack against Go's net/rpc (same service, same reply shape): calls/s
#            and round trip at 1, 16 and 256 connections, a raw blocking ping-pong floor, then
#            all of it again with a CPU hog (a bounded busy loop) beside it
#   driver   driver overhead (hyperfine): faultline exec -- /bin/true against /bin/true, a
#            ~100 ms scenario through faultline run against its binary run bare, --jobs 2
#            against --jobs 1
#   rates    runs per minute of each incident's buggy variant under its detector, run to its end
#            and, where a sanitizer report can end it, with --end-at-answer
# and prints the ratios with each target of issue 12 as MET or MISSED. Everything it writes goes
# to build/go/ (the Go programs, fl_peer, and runs/<time>/ with every record and log).
#
#   bash scripts/bench-vs-go.sh                  # all four sections
#   bash scripts/bench-vs-go.sh rpc driver       # some of them
# (It runs from a copy of itself, so that editing this file during a run cannot change the run:
# bash reads a script as it goes.)
# Environment: REPEAT (5), RPC_SECONDS (3) per measurement, RPC_ROUNDS (3, the median is
# printed), QUIET_LOAD (1.0: before each section wait, at most QUIET_WAIT_S = 600 s, for the
# 1-minute load average to fall below it; the load is printed either way).
#
# Needs build/release (and build/tsan, build/asan for the sanitizer runs), go (golang-go),
# g++, hyperfine and python3. Binds 127.0.0.1 only; every loop is bounded in count and time.
set -euo pipefail
if [ -z "${BENCH_VS_GO_COPY:-}" ]; then
  copy=$(mktemp /tmp/bench-vs-go.XXXXXX.sh)
  cp "$0" "$copy"
  BENCH_VS_GO_COPY=$copy BENCH_VS_GO_ROOT="$(cd "$(dirname "$0")/.." && pwd)" bash "$copy" "$@" && rc=0 || rc=$?
  rm -f "$copy"
  exit "$rc"
fi
cd "$BENCH_VS_GO_ROOT"
root=$PWD
REPEAT=${REPEAT:-5}
RPC_SECONDS=${RPC_SECONDS:-3}
RPC_ROUNDS=${RPC_ROUNDS:-3}
QUIET_LOAD=${QUIET_LOAD:-1.0}
QUIET_WAIT_S=${QUIET_WAIT_S:-600}
sections=("$@")
[ ${#sections[@]} -eq 0 ] && sections=(symptom rpc driver rates)
for s in "${sections[@]}"; do
  case "$s" in symptom | rpc | driver | rates) ;; *)
    echo "bench-vs-go.sh: unknown section '$s' (symptom, rpc, driver, rates)" >&2
    exit 2
    ;;
  esac
done

F=$root/build/release/faultline
gobin=$root/build/go/bin
out=$root/build/go/runs/$(date -u +%Y%m%dT%H%M%SZ)
stats=$root/scripts/bench-vs-go-stats.py
mkdir -p "$gobin" "$out"
for tool in go g++ hyperfine python3; do
  command -v "$tool" >/dev/null || { echo "bench-vs-go.sh: needs $tool (scripts/setup.sh)" >&2; exit 2; }
done
[ -x "$F" ] || { echo "bench-vs-go.sh: no $F; build it with: bash scripts/build.sh release" >&2; exit 2; }

# Processes this script started (servers, the hog), ended by their own ids on exit.
started=()
cleanup() {
  for p in "${started[@]}"; do kill "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

has() { local x; for x in "${sections[@]}"; do [ "$x" = "$1" ] && return 0; done; return 1; }

# What else the machine is doing: the load and the busiest processes.
machine() {
  echo "# $(date -u +%H:%M:%SZ) load $(cut -d' ' -f1-3 /proc/loadavg); busiest now: $(top -b -n 1 -o %CPU | awk 'NR > 7 && NR <= 11 {printf "%s %s%%, ", $12, $9}')"
}

# Waits (bounded) for the 1-minute load average to fall below QUIET_LOAD.
wait_quiet() {
  local waited=0
  while awk -v q="$QUIET_LOAD" '{exit !($1 >= q)}' /proc/loadavg && [ "$waited" -lt "$QUIET_WAIT_S" ]; do
    [ "$waited" -eq 0 ] && echo "# waiting for load < $QUIET_LOAD (at most ${QUIET_WAIT_S} s): $(cut -d' ' -f1 /proc/loadavg)"
    sleep 10
    waited=$((waited + 10))
  done
  machine
}

# ---- build the Go programs and fl_peer (never part of the CMake build or the tests) ----------
build_peers() {
  export GOCACHE=$root/build/go/cache GOPATH=$root/build/go/gopath GO111MODULE=off GOFLAGS=
  local p
  for p in seed000-server seed000-client seed001-shared-map seed003-catchall rpcbench; do
    go build -o "$gobin/$p" "./bench/go/$p"
  done
  for p in seed000-client seed001-shared-map seed003-catchall; do
    go build -race -o "$gobin/$p-race" "./bench/go/$p"
  done
  local lib=$root/build/release/servers/rpc/libfaultline_rpc.a
  local probe=$root/build/release/harness/probe/libfaultline_probe.a
  if [ ! -x "$gobin/fl_peer" ] || [ bench/go/cpp/fl_peer.cpp -nt "$gobin/fl_peer" ] || [ "$lib" -nt "$gobin/fl_peer" ]; then
    g++ -std=c++20 -O2 -DNDEBUG -DFMT_SHARED -I"$root" bench/go/cpp/fl_peer.cpp "$lib" "$probe" \
      -lfmt -pthread -o "$gobin/fl_peer"
  fi
  gcc -O2 bench/driver/spawn_floor.c -o "$gobin/spawn_floor"
  echo "# peers: $(go version | cut -d' ' -f3-), g++ $(g++ -dumpversion); faultline $(git rev-parse --short HEAD)"
}

# ---- time to first symptom -------------------------------------------------------------------
# fl_run LABEL SCENARIO SANITIZER [run options]: the buggy variant, REPEAT runs, timed.
fl_run() {
  local label=$1 scenario=$2 san=$3
  shift 3
  local t0 t1
  t0=$(date +%s.%N)
  # FL_ENV: VAR=value words for the driver's environment (FAULTLINE_SYMBOLIZER=none, say).
  # shellcheck disable=SC2086
  env ${FL_ENV:-} "$F" run "$scenario" --variant buggy --sanitizer "$san" --repeat "$REPEAT" \
    --out "$out/fl-$label.jsonl" "$@" >"$out/fl-$label.log" 2>&1 || true
  t1=$(date +%s.%N)
  local mode=full
  case " $* " in *" --end-at-answer "*) mode=answer ;; esac
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$scenario" "$san" "$REPEAT" "$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')" \
    "fl-$label.jsonl" "$mode" >>"$out/walls.tsv"
}

# go_exec LABEL [exec options] -- COMMAND...: REPEAT runs under faultline exec.
go_exec() {
  local label=$1
  shift
  "$F" exec --name "go-$label" --repeat "$REPEAT" --out "$out/go-$label.jsonl" "$@" \
    >"$out/go-$label.log" 2>&1 || true
}

symptom() {
  echo
  echo "== time from exec to first symptom (median of $REPEAT runs; faultline run / faultline exec) =="
  wait_quiet
  local go_fatal=(--expect concurrent_map_iteration_and_write --expect concurrent_map_writes
    --expect concurrent_map_read_and_write)
  # rpc-timeout-race (seed 000): the seed's server runs on its own, without -race, as in the
  # write-up; the seed's client under -race is the run.
  "$gobin/seed000-server" -lifetime 900s >"$out/seed000-server.out" 2>&1 &
  started+=($!)
  local port="" i
  for i in $(seq 1 50); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out/seed000-server.out" | head -1)
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "bench-vs-go.sh: the seed000 server did not start" >&2; exit 1; }
  if [ -x build/tsan/scenarios/rpc-timeout-race ]; then
    fl_run rpc-timeout-race-tsan rpc-timeout-race tsan  # callers as coroutines (the default)
    fl_run rpc-timeout-race-tsan-threads rpc-timeout-race tsan --set callers-as=threads
    FL_ENV=FAULTLINE_SYMBOLIZER=none fl_run rpc-timeout-race-tsan-childsym rpc-timeout-race tsan
  fi
  go_exec seed000-race --variant race --expect data_race -- "$gobin/seed000-client-race" -addr "127.0.0.1:$port"
  kill "${started[-1]}" 2>/dev/null || true

  # shared-map-iteration (seed 001)
  if [ -x build/tsan/scenarios/shared-map-iteration ]; then
    fl_run shared-map-iteration-tsan shared-map-iteration tsan
    FL_ENV=FAULTLINE_SYMBOLIZER=none fl_run shared-map-iteration-tsan-childsym shared-map-iteration tsan
  fi
  go_exec seed001-race --variant race --expect data_race -- "$gobin/seed001-shared-map-race"
  fl_run shared-map-iteration-none shared-map-iteration none
  go_exec seed001 --variant norace "${go_fatal[@]}" -- "$gobin/seed001-shared-map"

  # catchall-fatal (seed 003, part 1)
  fl_run catchall-fatal-none catchall-fatal none
  go_exec seed003 --variant norace "${go_fatal[@]}" -- "$gobin/seed003-catchall"
  if [ -x build/tsan/scenarios/catchall-fatal ]; then
    fl_run catchall-fatal-tsan catchall-fatal tsan
    FL_ENV=FAULTLINE_SYMBOLIZER=none fl_run catchall-fatal-tsan-childsym catchall-fatal tsan
  fi
  go_exec seed003-race --variant race --expect data_race -- "$gobin/seed003-catchall-race"
  machine
  python3 "$stats" symptom "$out"
}

# ---- RPC: faultline's stack, Go's net/rpc, the raw floor -----------------------------------------
# Busy and total CPU time of the machine so far, in clock ticks (/proc/stat).
cpu_ticks() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }

# One measurement: its JSON line, with the 1-minute load average before it (load1, which counts
# the threads of the measurement before) and others_cpu added: the share of the machine's CPU
# time during the measurement that went to processes other than the measured one (the hog
# included, when there is one).
rpc_one() {
  local file=$1 load b0 t0 b1 t1 own line
  shift
  load=$(cut -d' ' -f1 /proc/loadavg)
  read -r b0 t0 < <(cpu_ticks)
  line=$(/usr/bin/time -f '%U %S' -o "$out/time.txt" "$@")
  read -r b1 t1 < <(cpu_ticks)
  own=$(awk '{print $1 + $2}' "$out/time.txt")
  others=$(awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v own="$own" -v hz="$(getconf CLK_TCK)" \
    'BEGIN {x = t > 0 ? (b / hz - own) / (t / hz) : 0; if (x < 0) x = 0; printf "%.3f", x}')
  echo "$line" | sed "s/^{/{\"load1\":$load,\"others_cpu\":$others,\"cpu_s\":$own,/" >>"$file"
}

rpc_round() {
  local file=$1 round k
  for round in $(seq 1 "$RPC_ROUNDS"); do
    for k in 1 16 256; do
      rpc_one "$file" "$gobin/fl_peer" rpc --conns "$k" --seconds "$RPC_SECONDS"
      rpc_one "$file" "$gobin/fl_peer" rpc --callers threads --conns "$k" --seconds "$RPC_SECONDS"
      rpc_one "$file" "$gobin/rpcbench" -conns "$k" -seconds "$RPC_SECONDS"
      rpc_one "$file" "$gobin/fl_peer" pingpong --conns "$k" --seconds "$RPC_SECONDS"
    done
  done
}

rpc() {
  echo
  echo "== RPC: calls/s and round trip, closed loop, one caller per connection, ${RPC_SECONDS} s each, median of $RPC_ROUNDS rounds =="
  wait_quiet
  rpc_round "$out/rpc-quiet.jsonl"
  # The three again at one connection with every thread on one CPU (taskset -c 0): what waking a
  # thread on the other, idle, vCPU costs, against handing over on the same one.
  local round
  for round in $(seq 1 "$RPC_ROUNDS"); do
    rpc_one "$out/rpc-pinned.jsonl" taskset -c 0 "$gobin/fl_peer" rpc --conns 1 --seconds "$RPC_SECONDS"
    rpc_one "$out/rpc-pinned.jsonl" taskset -c 0 "$gobin/rpcbench" -conns 1 -seconds "$RPC_SECONDS"
    rpc_one "$out/rpc-pinned.jsonl" taskset -c 0 "$gobin/fl_peer" pingpong --conns 1 --seconds "$RPC_SECONDS"
  done
  machine
  # The hog: one busy loop, bounded by timeout, ended by its id when the runs are done.
  local bound=$((RPC_ROUNDS * 12 * (${RPC_SECONDS%.*} + 2) + 60))
  timeout "$bound" bash -c 'while :; do :; done' &
  local hog=$!
  started+=($hog)
  sleep 1
  echo "# with the hog (pid $hog: a busy loop, bounded at ${bound} s)"
  machine
  rpc_round "$out/rpc-hog.jsonl"
  kill "$hog" 2>/dev/null || true
  wait "$hog" 2>/dev/null || true
  python3 "$stats" rpc "$out"
}

# ---- driver overhead ----------------------------------------------------------------------------
driver() {
  echo
  echo "== driver overhead (hyperfine) =="
  wait_quiet
  hyperfine -N --style basic --warmup 5 --runs 50 --export-json "$out/hf-true.json" \
    '/bin/true' "$F exec --out $out/exec-true.jsonl -- /bin/true" >"$out/hf-true.log" 2>&1 || true
  # A ~100 ms scenario: shared-map-iteration fixed, uninstrumented. Bare: the argv the driver
  # gives it (taken from a record), without the driver.
  "$F" run shared-map-iteration --variant fixed --seed 7 --out "$out/smi-probe.jsonl" >/dev/null 2>&1
  local bare
  bare=$(python3 -c 'import json,shlex,sys; print(shlex.join(json.loads(open(sys.argv[1]).readline())["command"]))' "$out/smi-probe.jsonl")
  hyperfine -N --style basic --warmup 3 --runs 30 --export-json "$out/hf-scenario.json" \
    "$bare" "$F run shared-map-iteration --variant fixed --seed 7 --out $out/smi.jsonl" \
    >"$out/hf-scenario.log" 2>&1 || true
  # The same, and the floor of any driver (spawn_floor: posix_spawn and wait), in alternation.
  python3 scripts/bench-driver-alternating.py "$F" "$gobin/spawn_floor" "$out" 30 | tee "$out/alternating.txt"
  # --jobs 2 against --jobs 1: 20 runs of a light scenario (listener-lifetime fixed: 0.25 s, of
  # which 0.03 s on a CPU; the rest is the gaps between its bursts) and of a CPU-bound one
  # (shared-map-iteration fixed: 8 workers busy on both cores).
  local sc
  for sc in listener-lifetime shared-map-iteration; do
    hyperfine -N --style basic --runs 3 --export-json "$out/hf-jobs-$sc.json" \
      "$F run $sc --variant fixed --repeat 20 --jobs 1 --seed 7 --out $out/jobs-$sc.jsonl" \
      "$F run $sc --variant fixed --repeat 20 --jobs 2 --seed 7 --out $out/jobs-$sc.jsonl" \
      >"$out/hf-jobs-$sc.log" 2>&1 || true
  done
  # Where exec's time goes: the in-kernel time of the syscalls that stand out (strace -T), over
  # 10 runs: joining the run's cgroup (a write to cgroup.procs), the results file's fdatasync.
  if command -v strace >/dev/null; then
    local i
    for i in $(seq 1 10); do
      strace -f -T -e trace=write,fdatasync -o "$out/strace-$i.txt" "$F" exec --out "$out/exec-strace.jsonl" -- /bin/true >/dev/null 2>&1 || true
    done
  fi
  machine
  python3 "$stats" driver "$out"
}

# ---- runs per minute under each incident's detector -------------------------------------------
rates() {
  echo
  echo "== runs per minute, buggy variant under its detector ($REPEAT runs each, through faultline run) =="
  wait_quiet
  local row scenario san
  for row in rpc-timeout-race:tsan shared-map-iteration:tsan listener-lifetime:none \
    catchall-fatal:none vector-growth-alias:asan deadline-race:none broadcast-leak:none; do
    scenario=${row%%:*}
    san=${row##*:}
    local dir=build/release
    [ "$san" != none ] && dir=build/$san
    if [ ! -x "$dir/scenarios/$scenario" ]; then
      echo "# $scenario: no $dir/scenarios/$scenario, skipped"
      continue
    fi
    if ! { [ -f "$out/walls.tsv" ] && grep -q "^$scenario	$san	" "$out/walls.tsv"; }; then
      fl_run "rate-$scenario-$san" "$scenario" "$san" # not yet run, timed, in this invocation
    fi
    # A sanitizer's report can end the run at its answer (docs/stop-rules.md).
    [ "$san" != none ] && fl_run "rate-$scenario-$san-answer" "$scenario" "$san" --end-at-answer
  done
  machine
  python3 "$stats" rates "$out"
}

echo "# bench-vs-go.sh $(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD), $(nproc) cores; records in ${out#"$root"/}"
build_peers
for s in "${sections[@]}"; do "$s"; done
