#!/usr/bin/env bash
# Runs the Action's range and scan scripts against scratch repositories with simulated event
# payloads (push, pull_request, new branch, force push, schedule) and checks what they scan.
#   scripts/action/test-range.sh [LEAKHOUND_BIN]   (default: target/release/leakhound)
# Prints `action-range: N passed, M failed` and exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/target/release/leakhound}
[ -x "$bin" ] || { echo "no leakhound binary at $bin (cargo build --release)"; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" && ln -s "$bin" "$tmp/bin/leakhound"
export PATH="$tmp/bin:$PATH"
pass=0 fail=0

# A synthetic, format-valid GitHub classic token (checksummed), built here, never stored.
token() { python3 "$here/scripts/lib/synthetic-token.py" "$1"; }

repo="$tmp/repo"
git init -q -b main "$repo"
cd "$repo"
git config user.name "Test" && git config user.email "test@corp.test"
commit() { echo "$2" > "$1" && git add "$1" && git commit -qm "$3" && git rev-parse HEAD; }
old=$(commit old.env "OLD=$(token 1)" "old secret")
a=$(commit readme.md "hello" "clean A")
b=$(commit new.env "NEW=$(token 2)" "new secret B")
c=$(commit readme.md "hello again" "clean C")
git checkout -q -b feature
f=$(commit feature.env "FEAT=$(token 3)" "feature secret")
git checkout -q main

# run NAME EXPECTED_MODE EXPECTED_FINDINGS VAR=VALUE...
run() {
  local name=$1 want_mode=$2 want=$3
  shift 3
  local o="$tmp/out.$name"
  : >"$o"
  env -i PATH="$PATH" HOME="$HOME" "$@" "$here/scripts/action/range.sh" >"$o.range" 2>&1
  local mode base head_ref note
  mode=$(sed -n 's/^mode=//p' "$o.range"); base=$(sed -n 's/^base=//p' "$o.range")
  head_ref=$(sed -n 's/^head=//p' "$o.range"); note=$(sed -n 's/^note=//p' "$o.range")
  local fork=false
  for kv in "$@"; do [ "$kv" = FORK=true ] && fork=true; done
  env -i PATH="$PATH" HOME="$HOME" MODE="$mode" BASE="$base" HEAD_REF="$head_ref" NOTE="$note" \
    SARIF="$tmp/$name.sarif" GITHUB_OUTPUT="$o" GITHUB_STEP_SUMMARY="$tmp/summary.$name" \
    FORK="$fork" "$here/scripts/action/scan.sh" >"$o.log" 2>&1
  local got
  got=$(sed -n 's/^findings=//p' "$o")
  if [ "$mode" = "$want_mode" ] && [ "$got" = "$want" ] && [ -s "$tmp/$name.sarif" ]; then
    pass=$((pass + 1)); echo "ok   $name: $note ($got finding(s))"
  else
    fail=$((fail + 1)); echo "FAIL $name: mode=$mode (want $want_mode), findings=$got (want $want)"
    sed 's/^/     /' "$o.range" "$o.log"
  fi
}

run push range 1 EVENT_NAME=push BEFORE="$a" AFTER="$c"
run push-clean range 0 EVENT_NAME=push BEFORE="$b" AFTER="$c"
run pull-request range 1 EVENT_NAME=pull_request PR_BASE="$c" PR_HEAD="$f"
run new-branch range 1 EVENT_NAME=push BEFORE=0000000000000000000000000000000000000000 AFTER="$f"
run force-push range 1 EVENT_NAME=push BEFORE=1234567890abcdef1234567890abcdef12345678 AFTER="$f"
run schedule full 3 EVENT_NAME=schedule
run inputs range 2 EVENT_NAME=push INPUT_BASE="$old" INPUT_HEAD="$f"

# A pull request from a fork that adds a config switching every rule off: with FORK=true
# (the Action sets it for forks) the checkout's config is ignored and the base's is used.
git checkout -q -b fork "$c"
mkdir -p 'odd|dir'
printf 'FORK=%s\n' "$(token 4)" > 'odd|dir/a,b:c%0A::warning::x.env'
printf '[rules]\ndisable = ["*"]\n' > .leakhound.toml
git add -A && git commit -qm "fork change"
fk=$(git rev-parse HEAD)
# The Action scans the pull request's checkout.
run fork-trusting range 0 EVENT_NAME=pull_request PR_BASE="$c" PR_HEAD="$fk"
run fork range 1 EVENT_NAME=pull_request PR_BASE="$c" PR_HEAD="$fk" FORK=true
git checkout -q main
if grep -q "NOTICE" "$tmp/out.fork-trusting.log"; then
  pass=$((pass + 1)); echo "ok   a repository config that disables rules is announced"
else
  fail=$((fail + 1)); echo "FAIL no notice for a disabling repository config"; cat "$tmp/out.fork-trusting.log"
fi
# Workflow-command properties and the Markdown summary are escaped: the planted name cannot
# end the annotation, start another command, or break the table.
if grep -qF '::error file=odd|dir/a%2Cb%3Ac%250A%3A%3Awarning%3A%3Ax.env,' "$tmp/out.fork.log" \
  && ! grep -q '^::warning::x' "$tmp/out.fork.log" \
  && grep -qF 'odd\|dir/a,b:c%0A::warning::x\.env' "$tmp/summary.fork"; then
  pass=$((pass + 1)); echo "ok   annotation properties and summary cells are escaped"
else
  fail=$((fail + 1)); echo "FAIL escaping"; cat "$tmp/out.fork.log" "$tmp/summary.fork"
fi

# Annotations and the job summary carry no raw secret.
if grep -q "::error file=new.env,line=1" "$tmp/out.push.log" && ! grep -rq "$(token 2)" "$tmp"/out.* "$tmp"/summary.* "$tmp"/*.sarif; then
  pass=$((pass + 1)); echo "ok   annotations and summary are redacted"
else
  fail=$((fail + 1)); echo "FAIL annotations/summary"; cat "$tmp/out.push.log"
fi
echo "action-range: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
