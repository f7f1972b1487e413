#!/usr/bin/env bash
# The Action's scan step: runs leakhound for the range that range.sh chose, writes SARIF and
# JSON, emits `::error` annotations and a job-summary table (secrets redacted, as in every
# leakhound format), and sets the step outputs. Inputs come from the environment:
# MODE, BASE, HEAD_REF, NOTE, SARIF, CONFIG, BASELINE, EXTRA; GITHUB_OUTPUT and
# GITHUB_STEP_SUMMARY as GitHub sets them (files; stdout/stderr when unset, for tests).
set -uo pipefail
out=${GITHUB_OUTPUT:-/dev/stdout}
summary=${GITHUB_STEP_SUMMARY:-/dev/stderr}
json=$(mktemp)
trap 'rm -f "$json"' EXIT

args=(git .)
if [ "${MODE:-full}" = range ]; then
  args+=(--range "${BASE}..${HEAD_REF}")
fi
[ -n "${CONFIG:-}" ] && args+=(--config "$CONFIG")
[ -n "${BASELINE:-}" ] && args+=(--baseline "$BASELINE")
# EXTRA is the user's own input: split on spaces like a command line, never evaluated.
read -r -a extra <<<"${EXTRA:-}"

echo "leakhound: ${NOTE:-scan}"
leakhound "${args[@]}" "${extra[@]}" --format sarif --output "${SARIF:-leakhound.sarif}"
code=$?
if [ "$code" -ge 2 ] && [ "$code" -ne 3 ]; then
  echo "::error::leakhound exited $code"
  printf 'exit-code=%s\nfindings=0\nsarif-file=\n' "$code" >>"$out"
  exit 0
fi
leakhound "${args[@]}" "${extra[@]}" --format json --output "$json" 2>/dev/null
python3 - "$json" "$summary" "${NOTE:-}" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
findings = doc["findings"]
def esc(s):
    return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
for f in findings:
    where = f"file={esc(f['path'])},line={f['line']},endLine={f['end_line']},col={f['column']}"
    ai = f" [AI: {f['ai']['tool']}]" if f.get("ai") else ""
    msg = f"{f['rule_name']} ({f['rule_id']}, {f['severity']}){ai}: {f['secret']}. Rotate it, then remove it."
    if f.get("present_at_head") is False:
        msg += " Removed from HEAD but still in history."
    print(f"::error {where},title=leakhound: {esc(f['rule_id'])}::{esc(msg)}")
with open(sys.argv[2], "a") as s:
    s.write(f"### leakhound: {len(findings)} finding(s)\n\n{sys.argv[3]}\n\n")
    if findings:
        s.write("| file | line | rule | severity | secret | commit | AI |\n|---|---|---|---|---|---|---|\n")
        for f in findings:
            commit = (f.get("commit") or {}).get("id", "")[:12]
            ai = (f.get("ai") or {}).get("tool", "")
            s.write(f"| `{f['path']}` | {f['line']} | `{f['rule_id']}` | {f['severity']} | `{f['secret']}` | {commit} | {ai} |\n")
PY
count=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["findings"]))' "$json")
printf 'exit-code=%s\nfindings=%s\nsarif-file=%s\n' "$code" "$count" "${SARIF:-leakhound.sarif}" >>"$out"
