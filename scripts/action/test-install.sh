#!/usr/bin/env bash
# Runs the Action's install script (scripts/action/install.sh) against a release served from
# localhost, laid out as the release workflow (dist) publishes it: the binary is a copy of
# LEAKHOUND_BIN in `leakhound-<target>/` inside `leakhound-<target>.tar.xz`, with a `.sha256`.
#   scripts/action/test-install.sh [LEAKHOUND_BIN]   (default: target/release/leakhound)
# Checks: the plan's cache key changes with the Action's source and stays put otherwise; a
# release is downloaded, verified and put on PATH; a tampered archive is refused (exit 2,
# no binary, no fallback); a missing release falls back to `cargo install --locked` (a stub
# cargo records the call); no release and no cargo is a clear error; a cached binary is used
# as it is. Prints `action-install: N passed, M failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/target/release/leakhound}
[ -x "$bin" ] || { echo "no leakhound binary at $bin (cargo build --release)"; exit 2; }
tmp=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; [ -f "$tmp/log" ] && sed 's/^/     /' "$tmp/log" | tail -15; }

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$here/Cargo.toml" | head -n 1)
target=x86_64-unknown-linux-musl

# The Action as GitHub checks it out: a copy of the source the key digests.
action="$tmp/action"
mkdir -p "$action"
cp -r "$here/Cargo.toml" "$here/Cargo.lock" "$here/build.rs" "$here/src" "$here/rules" "$action/"
mkdir -p "$action/scripts" && cp -r "$here/scripts/action" "$action/scripts/"

# The release, served over HTTP from localhost.
rel="$tmp/releases/v$version"
mkdir -p "$rel/leakhound-$target"
cp "$bin" "$rel/leakhound-$target/leakhound"
(cd "$rel" && tar -cJf "leakhound-$target.tar.xz" "leakhound-$target" \
  && sha256sum "leakhound-$target.tar.xz" | sed 's/  / */' >"leakhound-$target.tar.xz.sha256" \
  && rm -r "leakhound-$target")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
(cd "$tmp/releases" && exec python3 -m http.server "$port" --bind 127.0.0.1 >/dev/null 2>&1) &
server=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done

# step KIND EXTRA_ENV...: runs install.sh KIND like the Action does (Linux X64).
step() {
  local kind=$1; shift
  env -i PATH="$PATH" HOME="$HOME" RUNNER_OS=Linux RUNNER_ARCH=X64 RUNNER_TEMP="$tmp/runner" \
    ACTION_PATH="$action" ACTION_REPO=leakhound/leakhound VERIFY_ATTESTATION=false \
    RELEASE_URL="http://127.0.0.1:$port" GITHUB_OUTPUT="$tmp/out" GITHUB_PATH="$tmp/path" "$@" \
    "$action/scripts/action/install.sh" "$kind" >"$tmp/log" 2>&1
}
val() { sed -n "s/^$1=//p" "$tmp/out" | tail -n 1; }
mkdir -p "$tmp/runner"

: >"$tmp/out"; step plan
key1=$(val key) dir=$(val dir)
: >"$tmp/out"; step plan
[ "$(val key)" = "$key1" ] && [ -n "$key1" ] && ok "the cache key is stable for the same source ($key1)" || bad "stable key"
echo "// changed" >>"$action/src/lib.rs"
: >"$tmp/out"; step plan
key2=$(val key)
[ "$key2" != "$key1" ] && ok "the cache key changes with the Action's source (@main moving)" || bad "key did not change"
dir=$(val dir)

: >"$tmp/out"; : >"$tmp/path"
if step install DIR="$dir" && [ "$(val how)" = release ] && grep -qx "$dir/bin" "$tmp/path" \
  && "$dir/bin/leakhound" --version | grep -qx "leakhound $version" \
  && grep -q "sha256 .* verified" "$tmp/log"; then
  ok "the release archive is downloaded, its sha256 checked and the binary put on PATH"
else bad "release install"; fi

: >"$tmp/out"
if step install DIR="$dir" && [ "$(val how)" = cache ]; then ok "a cached binary is used as it is"; else bad "cache"; fi

# A tampered archive: the digest no longer matches.
printf 'x' >>"$rel/leakhound-$target.tar.xz"
: >"$tmp/out"
step install DIR="$tmp/runner/tampered"; code=$?
if [ "$code" -eq 2 ] && grep -q "checksum mismatch" "$tmp/log" && [ ! -e "$tmp/runner/tampered/bin/leakhound" ]; then
  ok "a tampered archive is refused (exit 2, nothing installed, no fallback)"
else bad "tampered archive accepted (exit $code)"; fi

# No release of this version: build from source with cargo (a stub records the call).
mkdir -p "$tmp/stub"
cat >"$tmp/stub/cargo" <<'SH'
#!/usr/bin/env bash
echo "$@" >"$STUB_LOG"
root=""; while [ $# -gt 0 ]; do [ "$1" = --root ] && root=$2; shift; done
mkdir -p "$root/bin" && cp "$STUB_BIN" "$root/bin/leakhound"
SH
chmod +x "$tmp/stub/cargo"
: >"$tmp/out"
if PATH="$tmp/stub:$PATH" step install DIR="$tmp/runner/src" VERSION=9.9.9 STUB_LOG="$tmp/cargo.log" STUB_BIN="$bin" \
  && [ "$(val how)" = source ] && grep -q -- "install --locked --path $action --root $tmp/runner/src" "$tmp/cargo.log"; then
  ok "no release of the version: cargo install --locked from the Action's source"
else bad "fallback to cargo"; fi

: >"$tmp/out"
PATH="/usr/bin:/bin" step install DIR="$tmp/runner/none" VERSION=9.9.9; code=$?
if [ "$code" -eq 2 ] && grep -q "cargo is not on PATH" "$tmp/log"; then
  ok "no release and no cargo: a clear error (exit 2)"
else bad "no release, no cargo (exit $code)"; fi

# `uses: ./` (no action repository): always from source, never a download.
: >"$tmp/out"
if PATH="$tmp/stub:$PATH" step install DIR="$tmp/runner/local" ACTION_REPO= STUB_LOG="$tmp/cargo2.log" STUB_BIN="$bin" \
  && [ "$(val how)" = source ]; then
  ok "a local checkout of the Action (uses: ./) builds from source"
else bad "local action"; fi

echo "action-install: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
