#!/bin/bash
# The GNU parallel recipe of docs/sweeps.md, run on this machine: the shards of a sweep as
# parallel local jobs, then their concatenation checked against the same sweep run whole.
# Usage: shards_parallel_test.sh FAULTLINE PROBE_BINARY
set -euo pipefail
faultline=$(realpath "$1")
probe=$(realpath "$2")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build/release/scenarios"
ln -s "$probe" "$work/build/release/scenarios/sweep-probe"
sweep=(sweep sweep-probe --grid level=0,50,100 --grid sleep-ms=0,2 --repeat 4 --seed 77
       --jobs 1 --build-root "$work/build")

# As in the docs, with local jobs instead of --sshlogin: {} is the shard index.
parallel --jobs 4 --halt now,fail=1 \
  "'$faultline' ${sweep[*]} --shard {}/4 --out '$work/shard-{}.jsonl' >'$work/log-{}' 2>&1 || [ \$? -eq 1 ]" \
  ::: 0 1 2 3
cat "$work"/shard-*.jsonl >"$work/merged.jsonl"
"$faultline" "${sweep[@]}" --out "$work/whole.jsonl" >/dev/null

keys() { python3 -c 'import json, sys; [print(json.loads(l)["key"]) for l in open(sys.argv[1])]' "$1" | sort; }
keys "$work/merged.jsonl" >"$work/merged.keys"
keys "$work/whole.jsonl" >"$work/whole.keys"
total=$(wc -l <"$work/whole.keys")
[ "$total" -eq 48 ] || { echo "whole sweep has $total runs, expected 48"; exit 1; }
if [ -n "$(uniq -d "$work/merged.keys")" ]; then
  echo "a run is in two shards:"; uniq -d "$work/merged.keys"; exit 1
fi
diff "$work/whole.keys" "$work/merged.keys" || { echo "the shards do not add up to the sweep"; exit 1; }
# Merged shards compare like one file: same groups, nothing one-sided.
"$faultline" compare "$work/whole.jsonl" "$work/merged.jsonl" --fail-on none >"$work/cmp"
grep -q "0 only in A, 0 only in B" "$work/cmp" || { cat "$work/cmp"; exit 1; }
echo "4 shards, $total runs: disjoint, and together exactly the whole sweep"
