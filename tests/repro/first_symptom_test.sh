#!/usr/bin/env bash
# A scenario's own observations carry the time they were first seen: in every buggy run of each
# scenario named here (release build, nothing but the scenario's oracle to see the incident),
# the record's first_symptom_s must be there and inside (0, duration_s].
#   first_symptom_test.sh FAULTLINE BUILD_ROOT OUT_DIR SCENARIO[:--set k=v,...]...
set -uo pipefail
faultline=$1 root=$2 dir=$3
shift 3
mkdir -p "${dir}"
fail=0
for item in "$@"; do
  id=${item%%:*} sets=()
  [[ "${item}" == *:* ]] && IFS=' ' read -r -a sets <<<"${item#*:}"
  out="${dir}/first-symptom-${id}.jsonl"
  rm -f "${out}"
  "${faultline}" run "${id}" --variant buggy --repeat 2 --seed 100 --build-root "${root}" \
    --out "${out}" "${sets[@]}" >/dev/null 2>&1
  python3 - "${out}" "${id}" <<'PY' || fail=1
import json, sys
path, sid = sys.argv[1], sys.argv[2]
try:
    records = [json.loads(line) for line in open(path)]
except OSError as e:
    sys.exit(f"FAIL: {sid}: no results ({e})")
bad = 0
for r in records:
    t, d = r.get("first_symptom_s"), r.get("duration_s")
    kinds = sorted({s["kind"] for s in r.get("symptoms", [])})
    if r.get("verdict") != "reproduced":
        print(f"FAIL: {sid} seed {r['seed']}: verdict {r.get('verdict')}, not reproduced")
        bad += 1
    elif t is None or not 0 < t <= d:
        print(f"FAIL: {sid} seed {r['seed']}: first_symptom_s {t} not in (0, {d}] {kinds}")
        bad += 1
    else:
        print(f"ok: {sid} seed {r['seed']}: first symptom {t:.3f} s of {d:.3f} s {kinds}")
sys.exit(1 if bad or not records else 0)
PY
done
exit "${fail}"
