#!/bin/sh
# Runs one scenario's fixed variant under a resource limit and checks what a user sees: the run
# ends well before its time limit, one symptom is resource_exhausted, and the verdict is unknown
# (running out proves nothing about the incident; the driver exits 3).
# usage: check_resource_limit.sh FAULTLINE BUILD_ROOT OUT SCENARIO BOUND_S LIMIT_FLAGS...
set -eu
faultline=$1 root=$2 out=$3 scenario=$4 bound=$5
shift 5
rm -f "$out"
rc=0
"$faultline" run "$scenario" --variant fixed --timeout 60 --build-root "$root" --out "$out" "$@" ||
  rc=$?
if [ "$rc" -ne 3 ]; then
  echo "expected exit 3 (runs unknown), got $rc" >&2
  exit 1
fi
python3 - "$out" "$bound" <<'PY'
import json, sys
record = json.loads(open(sys.argv[1]).readline())
bound = float(sys.argv[2])
kinds = [s["kind"] for s in record["symptoms"]]
summary = [s["summary"] for s in record["symptoms"] if s["kind"] == "resource_exhausted"]
print(f"{record['scenario']}: verdict {record['verdict']} in {record['duration_s']:.2f}s, "
      f"limits {record['limits']}, symptoms {kinds}, {summary}")
ok = (record["verdict"] == "unknown" and "resource_exhausted" in kinds
      and record["duration_s"] < bound and not record["exit"]["timed_out"])
sys.exit(0 if ok else 1)
PY
