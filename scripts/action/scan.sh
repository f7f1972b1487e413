#!/usr/bin/env bash
# The Action's scan step: runs leakhound once for the range that range.sh chose (findings
# as text in the log, SARIF and JSON written by the same scan), emits `::error` annotations and a job-summary table (secrets redacted, as in every
# leakhound format), and sets the step outputs. Inputs come from the environment:
# MODE, BASE, HEAD_REF, NOTE, HISTORY_CACHE (full history: leakhound's cache directory),
# SARIF, CONFIG, BASELINE, EXTRA, FORK (true for a pull request
# from a fork: the checkout's config is not trusted, the base commit's is used); GITHUB_OUTPUT
# and GITHUB_STEP_SUMMARY as GitHub sets them (files; stdout/stderr when unset, for tests).
# Reports go under RUNNER_TEMP (never into the checkout, where a planted symlink could
# redirect the write).
set -uo pipefail
out=${GITHUB_OUTPUT:-/dev/stdout}
summary=${GITHUB_STEP_SUMMARY:-/dev/stderr}
work=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/leakhound.XXXXXX")
json="$work/leakhound.json"
sarif=${SARIF:-}
[ -n "$sarif" ] || sarif="$work/leakhound.sarif"

args=(git .)
if [ "${MODE:-full}" = range ]; then
  args+=(--range "${BASE}..${HEAD_REF}")
elif [ -n "${HISTORY_CACHE:-}" ]; then
  # Full history: continue from the last run's cache (action.yml restores and saves it).
  args+=(--cache "$HISTORY_CACHE")
fi
if [ "${FORK:-false}" = true ]; then
  # A pull request from a fork may add or change leakhound.toml, .gitleaksignore and the
  # baseline to switch its own scan off: use only what the base commit had.
  args+=(--no-repo-config)
  if [ -z "${CONFIG:-}" ] && [ -n "${BASE:-}" ]; then
    for name in leakhound.toml .leakhound.toml; do
      if git show "${BASE}:${name}" >"$work/base-config.toml" 2>/dev/null; then
        CONFIG="$work/base-config.toml"
        echo "leakhound: pull request from a fork: using ${name} from the base commit"
        break
      fi
    done
  fi
fi
[ -n "${CONFIG:-}" ] && args+=(--config "$CONFIG")
[ -n "${BASELINE:-}" ] && args+=(--baseline "$BASELINE")
# EXTRA is the user's own input: split on spaces like a command line, never evaluated.
read -r -a extra <<<"${EXTRA:-}"

echo "leakhound: ${NOTE:-scan}"
# One scan: the findings as text in the log, SARIF and JSON written by the same run.
leakhound "${args[@]}" "${extra[@]}" --format text --color always \
  --report "sarif:$sarif" --report "json:$json"
code=$?
if [ "$code" -ge 2 ] && [ "$code" -ne 3 ]; then
  echo "::error::leakhound exited $code"
  printf 'exit-code=%s\nfindings=0\nsarif-file=\njson-file=\n' "$code" >>"$out"
  exit 0
fi
python3 "$(dirname "$0")/annotate.py" "$json" "$summary" "${NOTE:-}"
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$json")
printf 'exit-code=%s\nfindings=%s\nsarif-file=%s\njson-file=%s\n' "$code" "$count" "$sarif" "$json" >>"$out"
