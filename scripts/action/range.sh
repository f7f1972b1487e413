#!/usr/bin/env bash
# Works out what the leakhound Action scans for the triggering event. Event values come in
# through the environment (never pasted into a script):
#   EVENT_NAME, BEFORE, AFTER (push), PR_BASE, PR_HEAD (pull_request), INPUT_BASE, INPUT_HEAD.
# Prints `key=value` lines for $GITHUB_OUTPUT: mode=range|full, base, head, note.
# A base that is all zeros (new branch) or missing from the clone (force push, shallow fetch)
# is passed on as is: `leakhound git --range` then scans the commits of head that no other ref
# has, and says so. Tested by scripts/action/test-range.sh.
set -euo pipefail

zeros='0000000000000000000000000000000000000000'
have() { [ -n "$1" ] && git cat-file -e "$1^{commit}" 2>/dev/null; }
emit() { printf 'mode=%s\nbase=%s\nhead=%s\nnote=%s\n' "$1" "$2" "$3" "$4"; }

if [ -n "${INPUT_BASE:-}" ] || [ -n "${INPUT_HEAD:-}" ]; then
  head=${INPUT_HEAD:-HEAD}
  if [ -z "${INPUT_BASE:-}" ]; then
    emit full "" "$head" "head given without base: full history of $head"
  else
    emit range "$INPUT_BASE" "$head" "range from inputs"
  fi
  exit 0
fi

case "${EVENT_NAME:-}" in
  pull_request|pull_request_target)
    base=${PR_BASE:-}; head=${PR_HEAD:-HEAD}
    if [ -z "$base" ]; then
      emit full "" "$head" "pull request without a base sha: full history"
    elif have "$base"; then
      emit range "$base" "$head" "pull request: commits in $base..$head"
    else
      git fetch --no-tags --quiet origin "$base" 2>/dev/null || true
      if have "$base"; then
        emit range "$base" "$head" "pull request: fetched base $base"
      else
        emit range "$base" "$head" "pull request base $base not in the clone: leakhound scans what no other ref has"
      fi
    fi
    ;;
  push)
    after=${AFTER:-HEAD}; before=${BEFORE:-}
    if [ -z "$before" ]; then
      emit full "" "$after" "push without a before sha: full history"
    elif [ "$before" = "$zeros" ]; then
      emit range "$zeros" "$after" "new branch: the commits no other branch has"
    elif have "$before"; then
      emit range "$before" "$after" "push: commits in $before..$after"
    else
      emit range "$before" "$after" "before $before is not in the clone (force push?): leakhound scans what no other ref has"
    fi
    ;;
  *)
    emit full "" "${AFTER:-HEAD}" "${EVENT_NAME:-manual} run: full history"
    ;;
esac
