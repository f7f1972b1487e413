#!/usr/bin/env bash
# The organisation scan's scripts on local repositories (what org-scan.yml runs per shard):
# sharding is stable and covers every repository once; each shard appends one block per
# repository; a repository that cannot be cloned makes the merged report incomplete, not
# clean; the merge gives one finding per secret across repositories, in JSON and SARIF.
#   scripts/org/test-org-scan.sh [LEAKHOUND_BIN]     (default: target/release/leakhound)
# Prints `org-scan: N passed, M failed`.
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:-$here/target/release/leakhound}
[ -x "$bin" ] || { echo "no leakhound binary at $bin (cargo build --release)"; exit 2; }
bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] && echo "keeping $tmp" || trap 'rm -rf "$tmp"' EXIT
export GIT_CONFIG_GLOBAL="$tmp/gitconfig" GIT_CONFIG_NOSYSTEM=1
git config --global user.name "Org Test" && git config --global user.email "org@corp.test"
git config --global init.defaultBranch main
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
token() { python3 "$here/scripts/lib/synthetic-token.py" "$1"; }

# Five repositories under acme/: two share one token, one keeps a secret only in history.
shared=$(token 71)
mk() { # mk NAME FILE TEXT [FILE TEXT]...
  local name=$1; shift
  local w="$tmp/src/$name"
  git init -q "$w"
  while [ $# -gt 0 ]; do printf '%s\n' "$2" >"$w/$1"; git -C "$w" add "$1"; shift 2; done
  git -C "$w" commit -qm "init"
  git clone -q --bare "$w" "$tmp/remote/acme/$name.git"
}
mkdir -p "$tmp/remote/acme"
mk api ci.env "TOKEN=$shared" deploy.env "DEPLOY=$(token 72)"
mk web config.env "GH=$shared"
mk docs README.md "# docs"
mk tools tools.env "T=$(token 73)"
mk legacy old.env "OLD=$(token 74)"
w="$tmp/src/legacy" && git -C "$w" rm -q old.env && git -C "$w" commit -qm "remove" \
  && git -C "$w" push -q "$tmp/remote/acme/legacy.git" HEAD:main 2>/dev/null \
  || { rm -rf "$tmp/remote/acme/legacy.git" && git clone -q --bare "$w" "$tmp/remote/acme/legacy.git"; }
printf '%s\n' acme/api acme/web acme/docs acme/tools acme/legacy >"$tmp/repos.txt"

# Sharding: every repository in exactly one of 3 shards, the same on a second run.
for i in 0 1 2; do "$here/scripts/org/shard.sh" "$i" 3 <"$tmp/repos.txt" >"$tmp/shard-$i.txt"; done
if [ "$(cat "$tmp"/shard-*.txt | sort)" = "$(sort "$tmp/repos.txt")" ]; then
  ok "3 shards cover the 5 repositories, each once"
else bad "sharding: $(cat "$tmp"/shard-*.txt | tr '\n' ' ')"; fi
again=$("$here/scripts/org/shard.sh" 1 3 <"$tmp/repos.txt")
[ "$again" = "$(cat "$tmp/shard-1.txt")" ] && ok "sharding is stable" || bad "sharding changed"
sub=$(printf 'acme/tools\nacme/new\n' | "$here/scripts/org/shard.sh" 1 3)
if grep -qx acme/tools "$tmp/shard-1.txt"; then want=acme/tools; else want=""; fi
[ "$(printf '%s' "$sub" | grep -x acme/tools || true)" = "$want" ] \
  && ok "a repository's shard does not depend on the rest of the list" || bad "shard depends on the list"
"$here/scripts/org/shard.sh" 3 3 </dev/null >/dev/null 2>&1 && bad "shard 3 of 3 accepted" || ok "a bad shard index is an error"

# Scan each shard (history mode), then HEAD mode for one shard, into per-shard JSON Lines.
export CLONE_URL="file://$tmp/remote/{repo}.git" LEAKHOUND="$bin"
mkdir -p "$tmp/out"
for i in 0 1 2; do
  MODE=history "$here/scripts/org/scan-shard.sh" "$tmp/out/h-$i.jsonl" <"$tmp/shard-$i.txt" >>"$tmp/log" 2>&1
  MODE=head "$here/scripts/org/scan-shard.sh" "$tmp/out/n-$i.jsonl" <"$tmp/shard-$i.txt" >>"$tmp/log" 2>&1
done
summaries=$(cat "$tmp"/out/h-*.jsonl 2>/dev/null | grep -c '"summary"')
[ "$summaries" -eq 5 ] && ok "history shards: one summary line per repository (5)" || { bad "history summaries: $summaries"; cat "$tmp/log"; }

"$bin" merge "$tmp"/out/h-*.jsonl --format json -o "$tmp/org.json" --report sarif:"$tmp/org.sarif"; code=$?
python3 - "$tmp/org.json" "$tmp/org.sarif" <<'PY' && ok "history merge: 4 secrets (the shared one once, in 2 repositories), 5 repositories, the removed one found, SARIF written (exit $code)" || bad "history merge"
import json, sys
d = json.load(open(sys.argv[1]))
s = json.load(open(sys.argv[2]))
f = d["findings"]
assert len(f) == 4, len(f)
assert d["summary"]["repositories"] == 5, d["summary"]
assert d["summary"]["complete"] is True
shared = [x for x in f if x.get("also_in")]
assert len(shared) == 1 and {shared[0]["repository"], shared[0]["also_in"][0]["repository"]} == {"acme/api", "acme/web"}, shared
assert any(x["repository"] == "acme/legacy" and x.get("present_at_head") is False for x in f)
assert len(s["runs"][0]["results"]) == 4
PY
[ "$code" -eq 1 ] && ok "merge exits 1 on findings" || bad "merge exit $code"

"$bin" merge "$tmp"/out/n-*.jsonl --format json -o "$tmp/head.json"
python3 - "$tmp/head.json" <<'PY' && ok "HEAD merge: the removed secret is not at HEAD, paths are relative to each repository" || bad "HEAD merge"
import json, sys
d = json.load(open(sys.argv[1]))
f = d["findings"]
assert len(f) == 3, [(x["repository"], x["path"]) for x in f]
assert all(not x["path"].startswith("/") for x in f), [x["path"] for x in f]
assert d["summary"]["repositories"] == 5, d["summary"]   # every repository scanned counts
PY

# A repository that cannot be cloned: its shard says so, and the merge is incomplete.
printf 'acme/api\nacme/gone\n' | MODE=history "$here/scripts/org/scan-shard.sh" "$tmp/out/broken.jsonl" >"$tmp/log-broken" 2>&1
"$bin" merge "$tmp/out/broken.jsonl" --format json -o "$tmp/broken.json"
python3 - "$tmp/broken.json" <<'PY' && ok "an unclonable repository makes the merged report incomplete" || { bad "unclonable repository"; cat "$tmp/log-broken"; }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["summary"]["complete"] is False, d["summary"]
assert d["summary"]["repositories"] == 2, d["summary"]
PY
grep -q "acme/gone: clone failed" "$tmp/log-broken" && ok "...and the shard log names it" || bad "no clone failure in the log"

# Incremental history runs (what the workflow keeps in actions/cache): kept bare clones are
# fetched into, the history cache files each repository by name, and a second run after a
# push scans only what is new, with the findings of a full scan.
export CACHE_DIR="$tmp/cache" MIRRORS="$tmp/mirrors"
printf 'acme/api\nacme/tools\n' >"$tmp/inc.txt"
MODE=history "$here/scripts/org/scan-shard.sh" "$tmp/out/inc1.jsonl" <"$tmp/inc.txt" >"$tmp/log-inc" 2>&1
[ -d "$MIRRORS/acme_api.git" ] && [ "$(ls "$CACHE_DIR" | wc -l)" -eq 2 ] \
  && ok "history with CACHE_DIR and MIRRORS keeps 2 clones and 2 cache files" \
  || { bad "incremental: no clones or cache files kept"; cat "$tmp/log-inc"; }
w="$tmp/src/api" && printf 'NEW=%s\n' "$(token 75)" >"$w/new.env" && git -C "$w" add new.env \
  && git -C "$w" commit -qm "add new" && git -C "$w" push -q "$tmp/remote/acme/api.git" HEAD:main 2>/dev/null
MODE=history "$here/scripts/org/scan-shard.sh" "$tmp/out/inc2.jsonl" <"$tmp/inc.txt" >"$tmp/log-inc2" 2>&1
unset CACHE_DIR MIRRORS
MODE=history "$here/scripts/org/scan-shard.sh" "$tmp/out/full2.jsonl" <"$tmp/inc.txt" >>"$tmp/log-inc2" 2>&1
python3 - "$tmp/out/inc2.jsonl" "$tmp/out/full2.jsonl" <<'PY' && ok "the second, incremental run finds the pushed secret and equals a full scan" || { bad "incremental run"; cat "$tmp/log-inc2"; }
import json, sys
def lines(p):
    return [json.loads(l) for l in open(p) if l.strip()]
inc, full = lines(sys.argv[1]), lines(sys.argv[2])
assert inc == full, (inc, full)
assert any(f.get("path") == "new.env" for f in inc if "rule_id" in f), inc
PY

echo "org-scan: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
