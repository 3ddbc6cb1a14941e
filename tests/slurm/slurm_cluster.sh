#!/usr/bin/env bash
# Starts or stops a throwaway one-node Slurm cluster (munged + slurmctld + slurmd)
# for tests that submit job arrays. Everything -- slurm.conf, state, spool, logs,
# pid files, the munge key and socket -- lives under DIR, so nothing in /etc or
# /run is touched and several runs (in different DIRs) do not collide. The
# daemons listen on 127.0.0.1 only, on ports picked free at start. Needs root.
#
#   bash tests/slurm/slurm_cluster.sh start DIR  # prints: SLURM_CONF=DIR/slurm.conf
#   export "$(bash tests/slurm/slurm_cluster.sh start DIR)"; sbatch --wait ...
#   bash tests/slurm/slurm_cluster.sh stop DIR   # kills what start began; idempotent
#
# Exit status: 0 ok; 1 the cluster did not come up (daemon log tails on stderr);
# 2 a needed program is missing; 64 bad usage.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

die() { echo "slurm_cluster: $*" >&2; exit 1; }
usage() { echo "usage: $0 start|stop DIR" >&2; exit 64; }

need_programs() {
  local p
  for p in munged slurmctld slurmd sinfo squeue scancel ss; do
    command -v "$p" >/dev/null 2>&1 && continue
    echo "slurm_cluster: '$p' not found; fix: apt-get install slurm-wlm munge (or bash scripts/setup.sh)" >&2
    exit 2
  done
}

# Prints a port P such that P and P+1 are not listened on (TCP, any address).
free_port_pair() {
  local used p _
  used=$(ss -Hltn | awk '{sub(/.*:/, "", $4); print $4}')
  for _ in $(seq 100); do
    p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+)
    grep -qxE "$p|$((p + 1))" <<<"$used" || { echo "$p"; return 0; }
  done
  die "no free port pair found in 20000-31999"
}

write_conf() { # DIR NODE PORT
  local dir=$1 node=$2 port=$3 cpus mem
  cpus=$(nproc)
  mem=$(awk '/^MemTotal:/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
  cat >"$dir/slurm.conf" <<EOF
ClusterName=faultline$port
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
SwitchType=switch/none
ReturnToService=2
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
NodeName=$node NodeAddr=127.0.0.1 NodeHostname=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
  : >"$dir/plugstack.conf"
}

# Runs "$@" in the background, detached from our stdio, and records its pid.
spawn() { # NAME CMD...
  local name=$1; shift
  "$@" </dev/null >"$DIR/log/$name.out" 2>&1 &
  echo "$name $!" >>"$DIR/run/pids"
}

# True while PID runs a command line naming DIR (false for zombies and reused pids).
alive() { [ -n "$1" ] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -qF "$DIR/"; }
pid_of() { awk -v n="$1" '$1 == n {print $2}' "$DIR/run/pids" 2>/dev/null || true; }

fail_with_logs() { # stops first, so a reader closing stderr early cannot leak daemons
  local f
  trap - INT TERM HUP
  stop_cluster
  echo "slurm_cluster: $1; daemon logs from $DIR/log:" >&2
  for f in "$DIR"/log/*; do [ -s "$f" ] && { echo "== $f" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}

start_cluster() {
  local node port d state=""
  [ ! -e "$DIR/run/pids" ] || die "$DIR already holds a cluster (run: $0 stop $DIR)"
  node=$(hostname -s)
  getent hosts "$node" >/dev/null || node=localhost
  mkdir -p "$DIR"/{state,spool,log,run,munge}
  chmod 755 "$DIR/munge"
  trap 'fail_with_logs "interrupted"' INT TERM HUP
  port=$(free_port_pair)
  write_conf "$DIR" "$node" "$port"
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  chmod 400 "$DIR/munge/munge.key"
  spawn munged munged --foreground --force --key-file="$DIR/munge/munge.key" \
    --socket="$DIR/munge/munge.socket" --pid-file="$DIR/run/munged.pid" \
    --log-file="$DIR/log/munged.log" --seed-file="$DIR/munge/munged.seed"
  for _ in $(seq 50); do [ -S "$DIR/munge/munge.socket" ] && break; sleep 0.1; done
  [ -S "$DIR/munge/munge.socket" ] || fail_with_logs "munged did not create its socket"
  spawn slurmctld slurmctld -D -f "$DIR/slurm.conf"
  spawn slurmd slurmd -D -f "$DIR/slurm.conf" -N "$node"
  for _ in $(seq 120); do # 60 s
    state=$(SLURM_CONF="$DIR/slurm.conf" timeout 5 sinfo -h -N -n "$node" -o %t 2>/dev/null || true)
    [ "$state" = idle ] && break
    for d in munged slurmctld slurmd; do alive "$(pid_of "$d")" || fail_with_logs "$d exited"; done
    sleep 0.5
  done
  [ "$state" = idle ] || fail_with_logs "node $node not idle after 60 s (state '${state:-none}')"
  echo "SLURM_CONF=$DIR/slurm.conf"
}

# Cancels leftover jobs (so no slurmstepd outlives the cluster), waits <= 10 s.
cancel_jobs() {
  export SLURM_CONF="$DIR/slurm.conf"
  timeout 10 scancel --user=root >/dev/null 2>&1 || return 0
  for _ in $(seq 20); do [ -z "$(timeout 5 squeue -h -o %i 2>/dev/null)" ] && break; sleep 0.5; done
}

stop_cluster() {
  local d pid
  [ -f "$DIR/run/pids" ] || return 0
  if alive "$(pid_of slurmctld)"; then cancel_jobs; fi
  for d in slurmd slurmctld munged; do
    pid=$(pid_of "$d")
    alive "$pid" || continue
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
  while read -r _ pid; do # give init <= 5 s to reap them (pgrep shows zombies)
    wait "$pid" 2>/dev/null || true # reaps it when it is our child (failed start)
    for _ in $(seq 50); do [ -e "/proc/$pid" ] || break; sleep 0.1; done
  done <"$DIR/run/pids"
  mv "$DIR/run/pids" "$DIR/run/pids.stopped"
}

[ $# -eq 2 ] || usage
DIR=$(realpath -m "$2")
case $1 in
  start) need_programs; start_cluster ;;
  stop) stop_cluster ;;
  *) usage ;;
esac
