#!/usr/bin/env bash
# A sweep campaign on a real Slurm (docs/scale-out.md): a one-node cluster on this machine
# (slurm_cluster.sh), the sweep submitted as a job array of 4 tasks, each running its shard with
# `--shard env` and no --seed (the base seed comes from the array's id), then `faultline merge`,
# and the merged file checked against the same campaign run here in one go: the same run keys,
# the same seeds, and each experiment's rate within the other's 95% interval.
#   campaign_test.sh FAULTLINE
set -euo pipefail
faultline=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/faultline-slurm.XXXXXX)
cleanup() { bash "$here/slurm_cluster.sh" stop "$work/cluster" || true; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

export "$(bash "$here/slurm_cluster.sh" start "$work/cluster")"
sweep=(sweep listener-lifetime --grid connections=8,16 --repeat 3 --jobs 1)
# A shard's exit 1 is a missed expectation within its slice, not a failed task.
cat >"$work/task.sh" <<TASK
#!/bin/bash
'$faultline' ${sweep[*]} --shard env --out '$work/shard-'\$SLURM_ARRAY_TASK_ID.jsonl \
  > '$work/task-'\$SLURM_ARRAY_TASK_ID.log 2>&1 || [ \$? -eq 1 ]
TASK
started=$SECONDS
job=$(cd "$work" && sbatch --parsable --array=0-3 --output=/dev/null "$work/task.sh")
# Poll rather than sbatch --wait (it checks every 8 s); bounded at 5 minutes.
while [ -n "$(squeue -h -j "$job" -o %i 2>/dev/null)" ]; do
  [ $((SECONDS - started)) -lt 300 ] || fail "job array $job still running after 300 s"
  sleep 0.5
done
echo "job array $job done in $((SECONDS - started)) s"
for i in 0 1 2 3; do
  grep -q "in shard $i/4" "$work/task-$i.log" || { cat "$work/task-$i.log" >&2; fail "task $i ran no shard $i/4"; }
  grep -q "SLURM_ARRAY_JOB_ID=$job" "$work/task-$i.log" || fail "task $i did not take its seed from the array's id"
done

shards=()
for f in "$work"/shard-*.jsonl; do shards+=("$f"); done
"$faultline" merge "${shards[@]}" -o "$work/all.jsonl" || fail "merge refused the job array's shards"
base=$(python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["campaign"]["base_seed"])' "$work/all.jsonl")
"$faultline" "${sweep[@]}" --seed "$base" --out "$work/whole.jsonl" >"$work/whole.log" || [ $? -eq 1 ]

python3 - "$work/all.jsonl" "$work/whole.jsonl" <<'PY'
import collections, json, math, sys
HITS = {"reproduced", "fix_failed", "observed"}
def runs(path):
    return [json.loads(line) for line in open(path) if line.strip()]
def wilson(k, n, z=1.959963984540054):
    p, z2 = k / n, z * z
    c = (p + z2 / (2 * n)) / (1 + z2 / n)
    h = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    return max(0.0, c - h), min(1.0, c + h)
merged, whole = runs(sys.argv[1]), runs(sys.argv[2])
pairs = lambda rs: sorted((r["key"], r["seed"]) for r in rs)
assert len(merged) == 12, f"{len(merged)} merged runs, want 12"
assert pairs(merged) == pairs(whole), "the array's runs are not the local sweep's (keys or seeds)"
def rates(rs):
    t = collections.defaultdict(lambda: [0, 0])
    for r in rs:
        e = r["key"].rsplit("|r", 1)[0]
        t[e][0] += r["verdict"] in HITS
        t[e][1] += 1
    return t
a, b = rates(merged), rates(whole)
for e in a:
    for (k, n), (k2, n2) in ((a[e], b[e]), (b[e], a[e])):
        lo, hi = wilson(k2, n2)
        assert lo <= k / n <= hi, f"{e}: {k}/{n} outside the other's interval [{lo:.2f}, {hi:.2f}]"
print(f"12 runs: the job array's merged shards hold the local sweep's keys and seeds; "
      f"rates within each other's intervals ({', '.join(f'{v[0]}/{v[1]}' for v in a.values())})")
PY
