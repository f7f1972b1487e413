#!/usr/bin/env bash
# Prints the repositories of one shard: those whose stable hash (POSIX cksum of the name)
# modulo SHARDS is SHARD. The same name always lands in the same shard, whatever else the
# list holds, so a shard's cache stays warm as repositories come and go.
#   scripts/org/shard.sh SHARD SHARDS < repos.txt      (one owner/name per line)
set -euo pipefail
shard=${1:?shard index}
shards=${2:?shard count}
[[ "$shard" =~ ^[0-9]+$ && "$shards" =~ ^[0-9]+$ && "$shards" -gt 0 && "$shard" -lt "$shards" ]] \
  || { echo "shard.sh: SHARD must be in 0..SHARDS-1" >&2; exit 2; }
while IFS= read -r repo || [ -n "$repo" ]; do
  repo=${repo%$'\r'}
  [ -n "$repo" ] || continue
  sum=$(printf '%s' "$repo" | cksum | cut -d' ' -f1)
  if [ $((sum % shards)) -eq "$shard" ]; then printf '%s\n' "$repo"; fi
done
