#!/usr/bin/env bash
# Scans one shard of an organisation's repositories and appends each repository's findings
# to one JSON Lines report (leakhound --append), so a shard that dies loses at most the
# repository it was on. Repositories come from stdin (scripts/org/shard.sh's output).
#   scripts/org/scan-shard.sh OUT.jsonl < shard-repos.txt
# Environment:
#   MODE        head (the default branch's files, shallow clone) or history (every commit,
#               bare clone)
#   CLONE_URL   template with {repo} (default https://github.com/{repo}.git)
#   GH_TOKEN    used for https clones of private repositories (never written to disk)
#   WORK        where clones go (default: a temp dir, removed after each repository)
#   LEAKHOUND   the binary (default: leakhound on PATH)
#   CACHE_DIR   history mode: leakhound's history cache (git --cache), filed by repository
#               name, so the next run scans only commits and blobs it has not seen
#   MIRRORS     history mode: keep bare clones here and fetch into them next time instead
#               of cloning again (both directories are what actions/cache should hold)
# Both modes ignore the repositories' own leakhound.toml, .gitleaksignore and baselines
# (--no-repo-config): a repository does not get to hide its findings from the organisation.
# A repository that cannot be cloned or scanned gets a summary line with "complete": false,
# so `leakhound merge` reports the merged result as incomplete instead of clean.
set -uo pipefail
out=${1:?output .jsonl}
case "$out" in /*) ;; *) out="$PWD/$out" ;; esac
mode=${MODE:-head}
default_url='https://github.com/{repo}.git'
url_template=${CLONE_URL:-$default_url}
lh=${LEAKHOUND:-leakhound}
work=${WORK:-$(mktemp -d)}
mkdir -p "$work"
case "$mode" in head|history) ;; *) echo "scan-shard.sh: MODE must be head or history" >&2; exit 2 ;; esac

auth=()
if [ -n "${GH_TOKEN:-}" ]; then
  # An extra header on the command line: the token never lands in a clone's config.
  basic=$(printf 'x-access-token:%s' "$GH_TOKEN" | base64 | tr -d '\n')
  auth=(-c "http.https://github.com/.extraheader=AUTHORIZATION: basic $basic")
fi

failed() { # failed REPO REASON: a summary line that keeps the merged report honest
  python3 -c 'import json,sys; print(json.dumps({"summary": {"repository": sys.argv[1], "complete": False, "error": sys.argv[2]}}))' \
    "$1" "$2" >>"$out"
  echo "scan-shard: $1: $2" >&2
}

n=0
while IFS= read -r repo || [ -n "$repo" ]; do
  repo=${repo%$'\r'}
  [ -n "$repo" ] || continue
  n=$((n + 1))
  url=${url_template//\{repo\}/$repo}
  dir="$work/$(printf '%s' "$repo" | tr '/' '_')"
  [ -n "${MIRRORS:-}" ] && [ "$mode" = history ] || rm -rf "$dir"
  start=$(date +%s)
  keep=
  if [ "$mode" = history ]; then
    if [ -n "${MIRRORS:-}" ]; then
      mkdir -p "$MIRRORS"
      dir="$MIRRORS/$(printf '%s' "$repo" | tr '/' '_').git"
      keep=1
    fi
    if [ -n "$keep" ] && [ -d "$dir" ]; then
      # Every branch and tag as the server has them now (deleted ones go too).
      git "${auth[@]}" -C "$dir" fetch --quiet --prune --force "$url" \
        '+refs/heads/*:refs/heads/*' '+refs/tags/*:refs/tags/*' 2>"$work/clone.log" \
        || { failed "$repo" "fetch failed: $(tail -n 1 "$work/clone.log")"; continue; }
    else
      rm -rf "$dir"
      git "${auth[@]}" clone --quiet --bare --no-local "$url" "$dir" 2>"$work/clone.log" \
        || { failed "$repo" "clone failed: $(tail -n 1 "$work/clone.log")"; continue; }
    fi
    cache=()
    [ -n "${CACHE_DIR:-}" ] && cache=(--cache "$CACHE_DIR")
    "$lh" git "$dir" --no-repo-config --repository "$repo" "${cache[@]}" --format jsonl --append -o "$out" --quiet
  else
    git "${auth[@]}" clone --quiet --depth 1 --no-local "$url" "$dir" 2>"$work/clone.log" \
      || { failed "$repo" "clone failed: $(tail -n 1 "$work/clone.log")"; continue; }
    # Paths relative to the checkout (run inside it); its own leakhound.toml or
    # .gitleaksignore must not hide findings from an organisation-wide scan.
    (cd "$dir" && "$lh" scan . --no-repo-config --repository "$repo" --format jsonl --append -o "$out" --quiet)
  fi
  code=$?
  case "$code" in
    0|1|3) echo "scan-shard: $repo ($mode): exit $code in $(( $(date +%s) - start ))s" ;;
    *) failed "$repo" "leakhound exited $code" ;;
  esac
  [ -n "$keep" ] || rm -rf "$dir"
done
echo "scan-shard: $n repositories scanned into $out"
