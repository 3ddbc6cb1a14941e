#!/usr/bin/env bash
# Writes faultline's bash completion from the driver's own help, so that the two never disagree:
# the commands of `faultline --help`, and each command's options from `faultline help COMMAND`.
#   make-completion.sh FAULTLINE OUT
set -euo pipefail
faultline=$1
out=$2
commands=$("$faultline" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | tr '\n' ' ')
[ -n "$commands" ] || { echo "make-completion.sh: no commands in $faultline --help" >&2; exit 1; }
tmp=$(mktemp "$out.XXXXXX")
trap 'rm -f "$tmp"' EXIT
{
  echo "# bash completion for faultline, made from its help by cmake/make-completion.sh."
  echo "# Scenario names come from \`faultline list\` of the faultline being completed."
  echo "_faultline_commands='${commands% }'"
  for c in $commands; do
    opts=$("$faultline" help "$c" |
      { grep -oE '^  (-[a-zA-Z] \[ --[a-z0-9-]+|--[a-z0-9-]+)' || true; } | { grep -oE -- '--[a-z0-9-]+' || true; } |
      sort -u | tr '\n' ' ')
    echo "_faultline_options_${c//-/_}='${opts% }'"
  done
  cat <<'BODY'
_faultline_ids() {
  "$1" list 2>/dev/null | sed -n 's/^\([a-z0-9][a-z0-9-]*\)  (seed .*/\1/p'
}
_faultline() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  if [ "$COMP_CWORD" -eq 1 ]; then
    mapfile -t COMPREPLY < <(compgen -W "$_faultline_commands help --help --version" -- "$cur")
    return
  fi
  local command=${COMP_WORDS[1]}
  case $prev in
    --sanitizer) mapfile -t COMPREPLY < <(compgen -W "none tsan asan" -- "$cur"); return ;;
    --build-root|--scenarios|--cwd) mapfile -t COMPREPLY < <(compgen -d -- "$cur"); return ;;
    --out|-o|--file|--results|--from) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
  esac
  if [[ $cur == -* ]]; then
    local options="_faultline_options_${command//-/_}"
    mapfile -t COMPREPLY < <(compgen -W "${!options-}" -- "$cur")
    return
  fi
  case $command in
    help) [ "$COMP_CWORD" -eq 2 ] && mapfile -t COMPREPLY < <(compgen -W "$_faultline_commands" -- "$cur") ;;
    list|run|sweep|score) mapfile -t COMPREPLY < <(compgen -W "$(_faultline_ids "${COMP_WORDS[0]}")" -- "$cur") ;;
    *) mapfile -t COMPREPLY < <(compgen -f -- "$cur") ;;
  esac
}
complete -F _faultline faultline
BODY
} >"$tmp"
mv "$tmp" "$out"
trap - EXIT
