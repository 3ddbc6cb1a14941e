#!/usr/bin/env bash
# faultline run with a bad open-loop rate: exit 2, one line naming the parameter and what it
# takes, and no results file.  bad_rate_test.sh FAULTLINE BUILD_ROOT OUT
set -uo pipefail
faultline=$1 root=$2 out=$3
rm -f "${out}"
fail=0
check() {  # check EXPECTED-TEXT ARGS...
  local want=$1
  shift
  local err code
  err=$("${faultline}" run "$@" --build-root "${root}" --out "${out}" 2>&1 >/dev/null)
  code=$?
  if [ "${code}" -ne 2 ]; then
    echo "FAIL: faultline run $* exited ${code}, not 2: ${err}"
    fail=1
  elif [ "$(printf '%s\n' "${err}" | wc -l)" -ne 1 ]; then
    echo "FAIL: faultline run $* said more than one line: ${err}"
    fail=1
  elif [[ "${err}" != *"${want}"* ]]; then
    echo "FAIL: faultline run $* said '${err}', not '${want}'"
    fail=1
  elif [ -e "${out}" ]; then
    echo "FAIL: faultline run $* wrote ${out}"
    fail=1
  else
    echo "ok: $* -> ${err}"
  fi
}
check "rate=0 is out of range: allowed from 0.01 to" rpc-timeout-race --set rate=0
check "rate=-20 is out of range" broadcast-leak --set rate=-20
check "'fast' is not a number (parameter rate)" listener-lifetime --set rate=fast
check "shared-map-iteration has no parameter 'rate'" shared-map-iteration --set rate=100
exit "${fail}"
