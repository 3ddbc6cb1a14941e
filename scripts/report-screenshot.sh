#!/usr/bin/env bash
# The README's picture of `faultline report`: the page of the checked-in sample results
# (tests/data/results/report-sample.jsonl), rendered by headless chromium.
#   bash scripts/report-screenshot.sh [RESULTS] [PNG]
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:-tests/data/results/report-sample.jsonl}
png=${2:-docs/images/report.png}
bin=build/release/faultline
if [ ! -x "${bin}" ]; then
  echo "report-screenshot.sh: no ${bin}; build it with: bash scripts/build.sh release" >&2
  exit 2
fi
if ! command -v chromium > /dev/null; then
  echo "report-screenshot.sh: no chromium; install it with: bash scripts/setup.sh" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "${work}"' EXIT
"${bin}" report "${results}" -o "${work}/report.html"
chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,1900 \
  --host-resolver-rules='MAP * ~NOTFOUND' --screenshot="${work}/shot.png" \
  "file://${work}/report.html" > /dev/null 2>&1
mv "${work}/shot.png" "${png}"
echo "wrote ${png}"
