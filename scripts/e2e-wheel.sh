#!/usr/bin/env bash
# End to end for the Python wheel and the pre-commit mirror (language: python):
#   scripts/e2e-wheel.sh
# Builds the wheel with maturin (pyproject.toml; profile release, so it reuses a preceding
# `cargo build --release` in target/), installs it in a fresh venv and scans fixtures/demo;
# then publishes packaging/pre-commit-mirror as a local git repository tagged v<version>
# and drives it with real pre-commit and real git hooks: a staged synthetic AWS key pair is
# blocked on `pre-commit run` and on `git commit`, a clean file passes.
# Everything the hooks install comes from the local wheel directory (PIP_NO_INDEX): PyPI
# holds an unrelated project named `leakhound` that must never be picked up here.
# Needs git, python3 (venv), cargo, PyPI (maturin, pre-commit, setuptools).
# Prints timings and `e2e-wheel: N passed, M failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$here/target}"
export PRE_COMMIT_HOME="$tmp/pre-commit-home"
export GIT_CONFIG_GLOBAL="$tmp/gitconfig" GIT_CONFIG_NOSYSTEM=1
unset CLAUDECODE CLAUDE_CODE_CHILD_SESSION AI_AGENT CURSOR_AGENT CODEX_THREAD_ID CODEX_CI GEMINI_CLI COPILOT_CLI
unset PIP_FIND_LINKS PIP_NO_INDEX VIRTUAL_ENV
git config --global user.name "E2E Test" && git config --global user.email "e2e@corp.test"
git config --global init.defaultBranch main
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)
wheels="$tmp/wheels"
pass=0 fail=0 timings=""
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}s')" "$1" "$(now)"; }
check() { # check NAME COMMAND...: the command must succeed
  local name=$1; shift
  if "$@" >"$tmp/last.log" 2>&1; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name"; sed 's/^/     /' "$tmp/last.log" | tail -20; fi
}
refuse() { # refuse NAME COMMAND...: the command must fail (exit 1: findings)
  local name=$1; shift
  "$@" >"$tmp/last.log" 2>&1
  local code=$?
  if [ "$code" -eq 1 ]; then pass=$((pass + 1)); echo "ok   $name"
  else fail=$((fail + 1)); echo "FAIL $name (exit $code, expected 1)"; sed 's/^/     /' "$tmp/last.log" | tail -20; fi
}
timed() { # timed LABEL check|refuse NAME COMMAND...
  local label=$1; shift
  local t0; t0=$(now)
  "$@"
  timings+="$(printf '  %-48s %s' "$label" "$(elapsed "$t0")")"$'\n'
}
found() { # found PATTERN: the last command's output names it
  if grep -q -- "$1" "$tmp/last.log"; then pass=$((pass + 1)); echo "ok   ...output shows $1"
  else fail=$((fail + 1)); echo "FAIL ...output lacks $1"; sed 's/^/     /' "$tmp/last.log" | tail -20; fi
}
start=$(now)

echo "e2e-wheel: installing maturin, pre-commit and setuptools (the mirror's build backend) from PyPI"
python3 -m venv "$tmp/venv" && "$tmp/venv/bin/pip" install -q maturin 'pre-commit>=3.2' \
  && "$tmp/venv/bin/pip" download -q --only-binary :all: -d "$wheels" 'setuptools>=61' \
  || { echo "e2e-wheel: cannot install from PyPI"; exit 2; }
pc="$tmp/venv/bin/pre-commit"

timed "maturin build --release (wheel)" check "maturin builds the wheel" \
  "$tmp/venv/bin/maturin" build --release --manifest-path "$here/Cargo.toml" -o "$wheels"
grep -q "Compiling leakhound" "$tmp/last.log" && echo "     (maturin compiled leakhound: target/release was not reused)"
ls "$wheels"/leakhound_cli-"$version"-*.whl >/dev/null 2>&1 || { echo "e2e-wheel: no wheel for $version"; exit 1; }

python3 -m venv "$tmp/user"
timed "pip install leakhound-cli (fresh venv, local wheel)" check "pip installs the wheel in a fresh venv" \
  "$tmp/user/bin/pip" install -q --no-index --find-links "$wheels" "leakhound-cli==$version"
check "the installed leakhound is this version" grep -qx "leakhound $version" <("$tmp/user/bin/leakhound" --version)
refuse "the installed leakhound finds the demo's secrets" "$tmp/user/bin/leakhound" scan "$here/fixtures/demo"

# The mirror repository, as it would be published for this release.
mirror="$tmp/mirror"
cp -r "$here/packaging/pre-commit-mirror" "$mirror"
sed -i "s/^version = \".*\"/version = \"$version\"/; s/\"leakhound-cli==[^\"]*\"/\"leakhound-cli==$version\"/" "$mirror/pyproject.toml"
check "the mirror's manifest validates" "$pc" validate-manifest "$mirror/.pre-commit-hooks.yaml"
(cd "$mirror" && git init -q && git add -A && git commit -qm "leakhound $version" && git tag "v$version") \
  || { echo "e2e-wheel: cannot create the mirror repository"; exit 2; }

repo="$tmp/consumer"
git init -q "$repo" && cd "$repo" || exit 2
cat >.pre-commit-config.yaml <<YAML
repos:
  - repo: $mirror
    rev: v$version
    hooks:
      - id: leakhound
YAML
echo "# demo" >README.md
git add . && git commit -q --no-verify -m "init"

# A synthetic AWS key pair, random on every run (no credential lives in this repository).
python3 - >aws.env <<'PY'
import secrets
b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
print("aws_access_key_id = " + "AKIA" + "".join(secrets.choice(b32) for _ in range(16)))
print("aws_secret_access_key = " + "".join(secrets.choice(b64) for _ in range(40)))
PY
echo "region = eu-west-1" >clean.cfg
git add aws.env clean.cfg
export PIP_NO_INDEX=1 PIP_FIND_LINKS="$wheels"
timed "pre-commit run, first (installs the hook env)" refuse "pre-commit run blocks the staged key pair (first run)" \
  "$pc" run --files aws.env
found "aws.secret_access_key"
timed "pre-commit run, second (env cached)" refuse "pre-commit run blocks it again (second run)" \
  "$pc" run --files aws.env
timed "pre-commit run on a clean file" check "a clean file passes" "$pc" run --files clean.cfg
hookbin=$(find "$PRE_COMMIT_HOME" -path '*/bin/leakhound' -type f | head -n 1)
check "the hook's environment runs this leakhound (not another project's)" \
  grep -qx "leakhound $version" <("${hookbin:-/nonexistent}" --version)

check "pre-commit install" "$pc" install
timed "git commit with the secret (hook runs)" refuse "git commit with the key pair is blocked" git commit -qm "add aws"
check "...and nothing was committed" test -z "$(git ls-tree HEAD aws.env)"
git reset -q aws.env
check "git commit of a clean file passes" git commit -qm "clean config"

echo
echo "e2e-wheel timings:"
printf '%s' "$timings"
printf '  %-48s %s\n' "total" "$(elapsed "$start")"
echo "e2e-wheel: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
