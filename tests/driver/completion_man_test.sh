#!/usr/bin/env bash
# The bash completion and the man page that the build makes from faultline's help: completing
# a command, an option of that command, the values of --sanitizer and the scenario names of
# `faultline list`; the man page has every command's help.
#   completion_man_test.sh FAULTLINE BUILD_DIR
set -euo pipefail
faultline=$(realpath "$1")
build=$(realpath "$2")
completion=$build/share/bash-completion/completions/faultline
man=$build/share/man/man1/faultline.1
fail() { echo "FAIL: $*" >&2; exit 1; }
[ -f "$completion" ] || fail "no completion at $completion"
# shellcheck source=/dev/null
source "$completion"
# complete WORDS...: what the completion offers for the last word of `faultline WORDS...`.
complete_words() {
  COMP_WORDS=("$faultline" "$@")
  COMP_CWORD=$#
  _faultline
  echo "${COMPREPLY[*]}"
}
[ "$(complete_words ru)" = run ] || fail "faultline ru<TAB>: $(complete_words ru)"
[ "$(complete_words help mer)" = merge ] || fail "faultline help mer<TAB>: $(complete_words help mer)"
[ "$(complete_words run --sani)" = --sanitizer ] || fail "run --sani<TAB>: $(complete_words run --sani)"
[ "$(complete_words run --sanitizer '')" = "none tsan asan" ] || fail "--sanitizer <TAB>: $(complete_words run --sanitizer '')"
[ "$(complete_words sweep --sc)" = --scenarios ] || fail "sweep --sc<TAB>: $(complete_words sweep --sc)"
[ "$(complete_words compare --fail)" = --fail-on ] || fail "compare --fail<TAB>: $(complete_words compare --fail)"
[ "$(complete_words run shared-map)" = shared-map-iteration ] || fail "run shared-map<TAB>: $(complete_words run shared-map)"
# Every option run's help lists is offered after `run --`.
offered=" $(complete_words run --) "
for option in $("$faultline" help run | grep -oE '^  (-[a-z] \[ )?--[a-z0-9-]+' | grep -oE -- '--[a-z0-9-]+'); do
  [[ $offered == *" $option "* ]] || fail "run -- does not offer $option"
done

[ -f "$man" ] || fail "no man page at $man"
grep -q '^\.TH FAULTLINE "1"' "$man" || fail "not a section-1 man page: $(head -2 "$man")"
for c in $("$faultline" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p'); do
  grep -q "^\.SS $c\$" "$man" || fail "the man page has no section for $c"
  usage=$("$faultline" help "$c" | sed -n 1p)  # sed reads it all: head would SIGPIPE it
  grep -qF "$usage" "$man" || fail "the man page lacks $c's usage line: $usage"
done
grep -q 'FAULTLINE_SCENARIO_PATH' "$man" || fail "the man page does not describe FAULTLINE_SCENARIO_PATH"
echo "completion and man page agree with the help"
