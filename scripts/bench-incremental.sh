#!/usr/bin/env bash
# Incremental history scans (leakhound git --cache): cold with no cache, cold writing the
# cache, warm with nothing new, and warm after one new commit, on a clone of REPO (default:
# curl's bare mirror fetched by the library's `fetch`, or any git repository).
#   scripts/bench-incremental.sh [REPO] [LEAKHOUND_BIN]
# Prints wall time and peak memory per run (GNU time) and checks that every warm report is
# byte-identical to a cold one. docs/cache.md has the figures.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
src=${1:-/work/.mirror/curl+curl/repo}
bin=${2:-$here/target/release/leakhound}
[ -x "$bin" ] || { echo "no binary at $bin (cargo build --release)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# --no-local: only what the refs reach, as a clone from a server gets (a local clone would
# share the source's packs, dangling objects and all).
git clone -q --no-local "$src" "$tmp/repo"
cd "$tmp/repo"
run() { # run LABEL ARGS...: wall seconds and peak KiB
  local label=$1; shift
  /usr/bin/time -f "$label %e s %M KiB" "$bin" git . --format json -q "$@" || [ $? -eq 1 ]
}
run "cold (no cache)      " -o "$tmp/cold.json"
run "cold (writing cache) " --cache "$tmp/cache" -o "$tmp/c1.json"
for i in 1 2 3; do
  run "warm (nothing new)   " --cache "$tmp/cache" -o "$tmp/w.json"
done
cmp "$tmp/cold.json" "$tmp/c1.json" && cmp "$tmp/cold.json" "$tmp/w.json"
for i in 1 2 3; do
  echo "/* bench $i */" >>"$(git ls-files | grep -E '\.(c|rs|py|go|js)$' | head -n 1)"
  git -c user.name=bench -c user.email=bench@example.test commit -qam "bench $i"
  run "warm (1 new commit)  " --cache "$tmp/cache" -o "$tmp/w.json"
done
run "cold (same commit)   " -o "$tmp/cold2.json"
cmp "$tmp/cold2.json" "$tmp/w.json" && echo "every warm report equals the cold one"
