#!/usr/bin/env python3
"""Distinct secrets a peer reports that leakhound does not (substring match either way).

    scripts/compare-peers.py LEAKHOUND_JSON PEER_JSON {betterleaks|gitleaks|kingfisher}

LEAKHOUND_JSON comes from `leakhound git REPO --format json --show-secrets -o FILE`; the
peer JSON from its own report option (see docs/git-history.md for the exact commands).
"""
import json
import sys


def ours(path):
    return {f["secret"] for f in json.load(open(path))["findings"]}


def peer(path, kind):
    data = json.load(open(path))
    if isinstance(data, dict):
        data = data.get("findings", [])
    out = {}
    for it in data:
        if kind == "kingfisher":
            f = it.get("finding", it)
            secret, rule, where = f.get("snippet"), (it.get("rule") or {}).get("id"), f.get("path")
        else:
            m = it.get("match") or {}
            secret = (m.get("value") if isinstance(m, dict) else None) or it.get("Secret")
            rule = it.get("rule_id") or it.get("RuleID")
            where = (it.get("location") or {}).get("path") or it.get("File")
        if secret:
            out[secret] = (rule, where)
    return out


def main():
    mine, theirs = ours(sys.argv[1]), peer(sys.argv[2], sys.argv[3])
    missed = {s: v for s, v in theirs.items() if not any(s in m or m in s for m in mine)}
    print(f"{sys.argv[3]}: {len(theirs)} distinct secrets, {len(missed)} not reported by leakhound")
    for s, (rule, where) in sorted(missed.items(), key=lambda x: str(x[1])):
        print(f"  {rule}\t{where}\t{s[:60]!r}")


if __name__ == "__main__":
    main()
