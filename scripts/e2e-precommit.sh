#!/usr/bin/env bash
# End to end through the real pre-commit framework (from PyPI) and real git hooks:
#   scripts/e2e-precommit.sh
# A consumer repository points at this checkout's HEAD; a clean commit passes, a commit with
# a synthetic secret is blocked and nothing is committed, an old secret in an untouched line
# does not block the next commit, `pre-commit run --all-files` catches an old secret,
# pre-push blocks a pushed leak, the commit-msg hook re-checks AI-authored commits, and
# `leakhound install-hook` works without the framework. Also validates action.yml and the
# workflow with check-jsonschema's GitHub schemas. Needs git, python3 (venv), cargo, PyPI.
# Reuses target/ (CARGO_TARGET_DIR) so pre-commit's `cargo install` takes seconds.
# Prints `e2e: N passed, M failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export PRE_COMMIT_HOME="$tmp/home" CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export GIT_CONFIG_GLOBAL="$tmp/gitconfig" GIT_CONFIG_NOSYSTEM=1
unset CLAUDECODE CLAUDE_CODE_CHILD_SESSION AI_AGENT CURSOR_AGENT CODEX_THREAD_ID CODEX_CI GEMINI_CLI COPILOT_CLI
git config --global user.name "E2E Test" && git config --global user.email "e2e@corp.test"
git config --global init.defaultBranch main
pass=0 fail=0
check() { # check NAME COMMAND...
  local name=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     /' "$tmp/last.log" | tail -20; fi
}
refuse() { # refuse NAME COMMAND...: the command must fail
  local name=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then fail=$((fail + 1)); echo "FAIL $name (it passed)"; sed 's/^/     /' "$tmp/last.log" | tail -20
  else pass=$((pass + 1)); echo "ok   $name"; fi
}
token() { python3 "$here/scripts/lib/synthetic-token.py" "$1"; }

echo "e2e: installing pre-commit and check-jsonschema from PyPI"
python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install -q 'pre-commit>=3.2' check-jsonschema || { echo "e2e: cannot install from PyPI"; exit 2; }
pc="$tmp/venv/bin/pre-commit"
rev=$(git -C "$here" rev-parse HEAD)
[ -z "$(git -C "$here" status --porcelain -- .pre-commit-hooks.yaml src Cargo.toml)" ] || echo "e2e: note: uncommitted changes are not tested (pre-commit installs $rev)"

check "manifest validates" "$pc" validate-manifest "$here/.pre-commit-hooks.yaml"
check "action.yml validates (vendor.github-actions)" "$tmp/venv/bin/check-jsonschema" --builtin-schema vendor.github-actions "$here/action.yml"
check "workflow validates (vendor.github-workflows)" "$tmp/venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows "$here"/.github/workflows/*.yml

repo="$tmp/consumer"
git init -q "$repo" && cd "$repo" || exit 2
git init -q --bare "$tmp/remote.git" && git remote add origin "$tmp/remote.git"
cat >.pre-commit-config.yaml <<YAML
default_install_hook_types: [pre-commit, pre-push, commit-msg]
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: leakhound
      - id: leakhound-pre-push
      - id: leakhound-commit-msg
YAML
for i in 1 2 3 4 5 6 7 8 9 10; do echo "module $i" >"mod$i.txt"; done
echo "# demo" >README.md
git add . && git commit -q --no-verify -m "init"
check "pre-commit run --all-files passes on a clean repo" "$pc" run --all-files
check "pre-commit install" "$pc" install
echo "more" >>README.md && git add README.md
check "a clean commit passes" git commit -qm "clean change"
check "a clean push passes" git push -q -u origin main

echo "API_TOKEN=$(token 11)" >settings.env && git add settings.env
refuse "a commit with a secret is blocked" git commit -qm "add settings"
refuse "...and nothing was committed" git cat-file -e HEAD:settings.env
git reset -q settings.env && rm settings.env

echo "OLD_TOKEN=$(token 12)" >legacy.env && git add legacy.env && git commit -qm "legacy (bypassing hooks)" --no-verify
echo "# comment" >>legacy.env && git add legacy.env
check "an untouched old secret does not block a later commit to its file" git commit -qm "touch legacy"
cp "$tmp/last.log" "$tmp/legacy.log"
check "...and the commit shows it (verbose hook output, no flag needed)" grep -q "already committed in this file before" "$tmp/legacy.log"
check "...once: the hook runs as one process (require_serial), one report" \
  test "$(grep -c "already committed in this file before" "$tmp/legacy.log")" -eq 1
echo "# another" >>README.md && git add README.md
check "a clean commit prints no leakhound summary" git commit -qm "clean again"
cp "$tmp/last.log" "$tmp/clean.log"
check "...(nothing from the hook)" bash -c '! grep -q "leakhound:" "$1"' _ "$tmp/clean.log"
refuse "pre-commit run --all-files catches the old secret" "$pc" run --all-files
refuse "pre-push blocks the leaked commits" git push -q origin main
refuse "...and the remote did not get them" git --git-dir "$tmp/remote.git" cat-file -e "$(git rev-parse HEAD)"

git reset -q --hard HEAD~3
printf 'const tiles = ["%s"];\n' "$(python3 -c 'print("AI"+"zaSy"+"".join("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-"[(i*7+3)%61] for i in range(33)))')" >maps.js
git add maps.js
check "a bare Google key passes a person's commit" git commit -qm "maps" 
git reset -q --soft HEAD~1
refuse "the same key is blocked in a commit with an AI co-author trailer" git commit -qm "maps" -m "Co-Authored-By: Claude <noreply@anthropic.com>"
git reset -q maps.js && rm maps.js

# Parallel chunks: many staged files, one secret among them.
for i in $(seq 1 40); do echo "line $i" >"chunk$i.txt"; done
echo "DEPLOY=$(token 13)" >chunk33.txt
git add chunk*.txt
refuse "several parallel hook processes still block" git commit -qm "many files"
git reset -q && rm chunk*.txt

# Without the framework.
"$pc" uninstall -q >/dev/null 2>&1 || "$pc" uninstall >/dev/null 2>&1
plain="$tmp/plain"
git init -q "$plain" && cd "$plain" || exit 2
echo "x" >a.txt && git add a.txt && git commit -qm init
check "leakhound install-hook" "$CARGO_TARGET_DIR/release/leakhound" install-hook --pre-push
echo "K=$(token 14)" >b.env && git add b.env
refuse "the installed hook blocks a secret" git commit -qm "leak"
printf '#!/bin/sh\nexit 0\n' >.git/hooks/pre-commit
refuse "install-hook refuses to overwrite a foreign hook" "$CARGO_TARGET_DIR/release/leakhound" install-hook

echo "e2e: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
