#!/usr/bin/env bash
# Writes faultline(1) with help2man from the driver's own help: the top-level help and version,
# then a COMMANDS section holding `faultline help COMMAND` of every command, as printed.
#   make-man.sh FAULTLINE OUT
set -euo pipefail
faultline=$(realpath "$1")
out=$2
commands=$("$faultline" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || { echo "make-man.sh: no commands in $faultline --help" >&2; exit 1; }
include=$(mktemp)
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$include" "$tmp"' EXIT
# roff: a backslash is \e, and a line may not begin with . or ' (it would be a request).
roff() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/"; }
{
  echo "[COMMANDS]"
  for c in $commands; do
    printf '.SS %s\n.nf\n' "$c"
    "$faultline" help "$c" | roff
    printf '.fi\n'
  done
  cat <<'ROFF'
[ENVIRONMENT]
.TP
.B FAULTLINE_SCENARIO_PATH
Folders of scenarios built outside faultline's tree (faultline_add_scenario of the installed
CMake package), separated by colons; searched after the build root, as \-\-scenarios is.
.TP
.B FAULTLINE_BUILD_ROOT
The folder holding the preset builds (release, tsan, asan) when \-\-build\-root is not given.
.TP
.B NO_COLOR
When set and not empty, the summary's ok and MISS marks are never coloured (they are coloured
only on a terminal, and never under TERM=dumb).
.TP
.B FAULTLINE_REPORT, FAULTLINE_SEED
Set by the driver in every run: the report channel's file and the run's seed.
[SEE ALSO]
The documentation in docs/ of faultline's source: cli.md for every command and option,
writing\-a\-scenario.md for a scenario of one's own, record\-schema.md for the results files.
ROFF
} >"$include"
help2man --no-info --section 1 --name "recreate production concurrency incidents and prove whether each happens" \
  --include "$include" --output "$tmp" "$faultline"
mv "$tmp" "$out"
trap - EXIT
rm -f "$include"
