#!/usr/bin/env bash
# The Action's install steps. Two subcommands, with the cache restore between them:
#   install.sh plan      prints `key=`, `dir=`, `target=`, `version=` for $GITHUB_OUTPUT
#   install.sh install   puts leakhound in $DIR/bin (unless the cache did) and on $GITHUB_PATH
#
# `install` takes the release binary for this version and platform when the Action comes from
# a repository with releases: it downloads `leakhound-<target>.tar.xz` (`.zip` on Windows) and
# its `.sha256`, checks the digest (a mismatch is an error, never a fallback), checks GitHub's
# build provenance attestation when `gh` is there and VERIFY_ATTESTATION is true, and unpacks
# the binary. Only when there is no such release (404), or the Action runs from a local
# checkout (`uses: ./`), or the version is a pre-release (`-dev`), does it build from source
# with `cargo install --locked`.
#
# The cache key holds the target, the version and a digest of the Action's own source
# (Cargo.toml, Cargo.lock, build.rs, src/, rules/), so `@main` and a moved `@v1` never reuse
# an older binary, and a sha pin always reuses its own.
#
# Environment: ACTION_PATH, ACTION_REPO (owner/name; empty for `uses: ./`), RUNNER_OS,
# RUNNER_ARCH, RUNNER_TEMP, VERSION (input; default: the Action's Cargo.toml), DIR (from
# plan), VERIFY_ATTESTATION (true|false), GH_TOKEN; RELEASE_URL (default
# https://github.com/$ACTION_REPO/releases/download; tests point it at a local server).
# Tested by scripts/action/test-install.sh.
set -euo pipefail

out=${GITHUB_OUTPUT:-/dev/stdout}

# sha256sum on Linux and Windows (Git Bash), shasum on macOS: `<hex>  <file>` lines.
hasher=(sha256sum)
command -v sha256sum >/dev/null 2>&1 || hasher=(shasum -a 256)

target() {
  case "${RUNNER_OS:-Linux}/${RUNNER_ARCH:-X64}" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

version() {
  if [ -n "${VERSION:-}" ]; then echo "${VERSION#v}"; return; fi
  sed -n 's/^version = "\(.*\)"$/\1/p' "$ACTION_PATH/Cargo.toml" | head -n 1
}

plan() {
  local t v src
  t=$(target)
  v=$(version)
  src=$(cd "$ACTION_PATH" && find Cargo.toml Cargo.lock build.rs src rules -type f -print0 2>/dev/null \
    | LC_ALL=C sort -z | xargs -0 "${hasher[@]}" | "${hasher[@]}" | cut -c1-16)
  printf 'key=leakhound-%s-%s-%s-%s\n' "${t:-${RUNNER_OS:-x}-${RUNNER_ARCH:-x}}" "$v" "$src" \
    "${VERIFY_ATTESTATION:-true}" >>"$out"
  printf 'dir=%s\ntarget=%s\nversion=%s\n' "${RUNNER_TEMP:-/tmp}/leakhound-$v-$src" "$t" "$v" >>"$out"
}

exe() { case "${RUNNER_OS:-Linux}" in Windows) echo leakhound.exe ;; *) echo leakhound ;; esac; }

# Downloads and checks the release archive; returns 1 when the release does not exist.
from_release() {
  local t=$1 v=$2 dir=$3 ext=tar.xz
  [ "${RUNNER_OS:-Linux}" = Windows ] && ext=zip
  local name="leakhound-$t.$ext"
  local base=${RELEASE_URL:-https://github.com/$ACTION_REPO/releases/download}
  local url="$base/v$v/$name" work
  work=$(mktemp -d "${RUNNER_TEMP:-/tmp}/leakhound-dl.XXXXXX")
  local code=0
  curl -fsSL --retry 3 --retry-delay 2 -o "$work/$name" "$url" || code=$?
  if [ "$code" -ne 0 ]; then
    # 22: an HTTP error (404: no release of this version for this platform).
    echo "leakhound: no release archive at $url (curl exit $code)"
    rm -rf "$work"
    return 1
  fi
  curl -fsSL --retry 3 --retry-delay 2 -o "$work/$name.sha256" "$url.sha256" || {
    echo "::error::leakhound: $url has no .sha256 beside it: refusing an unchecked binary"
    exit 2
  }
  local want got
  want=$(cut -d' ' -f1 <"$work/$name.sha256" | tr 'A-F' 'a-f')
  got=$("${hasher[@]}" "$work/$name" | cut -d' ' -f1)
  if [ -z "$want" ] || [ "$want" != "$got" ]; then
    echo "::error::leakhound: checksum mismatch for $name (expected ${want:-nothing}, got $got): not installed"
    exit 2
  fi
  echo "leakhound: $name sha256 $got verified"
  if [ "${VERIFY_ATTESTATION:-true}" = true ]; then
    if command -v gh >/dev/null 2>&1 && [ -n "${GH_TOKEN:-}" ] && [ -n "${ACTION_REPO:-}" ]; then
      gh attestation verify "$work/$name" --repo "$ACTION_REPO" >/dev/null || {
        echo "::error::leakhound: $name has no valid build provenance attestation from $ACTION_REPO (set verify-attestation: false to skip this check)"
        exit 2
      }
      echo "leakhound: build provenance attestation verified"
    else
      echo "leakhound: attestation not checked (needs gh and a token)"
    fi
  fi
  mkdir -p "$dir/bin"
  if [ "$ext" = zip ]; then
    # Git Bash on Windows runners: unzip where present, else 7-Zip (always installed there).
    if command -v unzip >/dev/null 2>&1; then
      unzip -q -o -j "$work/$name" "leakhound-$t/$(exe)" -d "$dir/bin"
    else
      7z e -y -o"$dir/bin" "$work/$name" "leakhound-$t/$(exe)" >/dev/null
    fi
  else
    tar -xJf "$work/$name" -C "$dir/bin" --strip-components=1 "leakhound-$t/$(exe)"
  fi
  chmod +x "$dir/bin/$(exe)"
  rm -rf "$work"
}

install() {
  local t v dir how
  t=$(target)
  v=$(version)
  dir=${DIR:?DIR comes from the plan step}
  if [ -x "$dir/bin/$(exe)" ]; then
    how=cache
  elif [ -n "$t" ] && [ -n "${ACTION_REPO:-}" ] && [[ "$v" != *-* ]] && from_release "$t" "$v" "$dir"; then
    how=release
  else
    if ! command -v cargo >/dev/null 2>&1; then
      echo "::error::leakhound: no release binary of $v for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?} and cargo is not on PATH: add a Rust toolchain step (e.g. dtolnay/rust-toolchain@stable) before leakhound"
      exit 2
    fi
    echo "leakhound: building $v from source (cargo install --locked)"
    cargo install --locked --path "$ACTION_PATH" --root "$dir"
    how=source
  fi
  "$dir/bin/$(exe)" --version
  echo "$dir/bin" >>"${GITHUB_PATH:-/dev/null}"
  echo "how=$how" >>"$out"
}

case "${1:-}" in
  plan) plan ;;
  install) install ;;
  *) echo "usage: install.sh plan|install" >&2; exit 2 ;;
esac
