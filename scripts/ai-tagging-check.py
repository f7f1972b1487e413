#!/usr/bin/env python3
"""Checks leakhound's AI-commit tagging on a real repository, independently of its table.

    scripts/ai-tagging-check.py REPO [--bin target/release/leakhound] [--sample 20] [--seed 1]

1. Lists the commits leakhound tags (`leakhound ai commits --format json`).
2. Finds, with git itself (`git log --all` and `%(trailers)`, which parses the final trailer
   block) and a plain substring list written from ../shared/reference/ai-authorship-signals.md
   section 4, the commits that carry a high-confidence marker.
3. Prints per-tool counts, the recall on high-confidence markers (target >= 95%), the
   commits tagged without an independent high marker (expected: medium signals), and a
   seeded random sample of tagged and untagged commits to check by hand.
"""
import argparse
import collections
import json
import random
import subprocess
import sys

# Addresses (or address fragments) that are agent identities: reference section 4.2.
HIGH_ADDRESSES = [
    "noreply@anthropic.com",
    "claude[bot]@users.noreply.github.com",
    "aider@aider.chat",
    "noreply@aider.chat",
    "noreply@aider.dev",
    "198982749+copilot@users.noreply.github.com",
    "copilot-swe-agent[bot]@users.noreply.github.com",
    "223556219+copilot@users.noreply.github.com",
    "cursoragent@cursor.com",
    "google-labs-jules[bot]@users.noreply.github.com",
    "devin-ai-integration[bot]@users.noreply.github.com",
    "openhands@all-hands.dev",
    "amazon-q-developer[bot]@users.noreply.github.com",
    "sweep-ai[bot]@users.noreply.github.com",
]
# Assisted-by also credits people (curl, git/git), so it is not in the independent list.
HIGH_TRAILER_KEYS = ["claude-session", "agent-logs-url"]
HIGH_BODY = ["generated with [claude code](", "generated with [devin]("]

SEP, END = "\x1f", "\x1e"


def git_commits(repo):
    fmt = SEP.join(["%H", "%an", "%ae", "%cn", "%ce", "%P", "%(trailers:unfold,only)", "%B"]) + END
    out = subprocess.run(
        ["git", "-C", repo, "log", "--all", f"--format={fmt}"],
        check=True, capture_output=True,
    ).stdout.decode("utf-8", "replace")
    for rec in out.split(END):
        rec = rec.strip("\n")
        if not rec:
            continue
        h, an, ae, cn, ce, parents, trailers, body = rec.split(SEP, 7)
        yield {
            "id": h, "author": f"{an} <{ae}>", "committer": f"{cn} <{ce}>",
            "parents": parents.split(), "trailers": trailers.strip().splitlines(),
            "body": body,
        }


def high_marker(c):
    """The independent verdict: a reason string when a high-confidence marker is present."""
    for who in (c["author"], c["committer"]):
        low = who.lower()
        if any(a in low for a in HIGH_ADDRESSES) and "@example." not in low:
            return f"identity {who}"
        name = who.rsplit("<", 1)[0].strip()
        if name.endswith("(aider)"):
            return f"identity {who}"
    for t in c["trailers"]:
        key, _, value = t.partition(":")
        k, v = key.strip().lower(), value.strip().lower()
        if k == "co-authored-by" and any(a in v for a in HIGH_ADDRESSES):
            if "noreply@openai.com" in v and not v.startswith("codex"):
                continue
            return f"trailer {t}"
        if k == "co-authored-by" and "noreply@openai.com" in v and v.startswith("codex"):
            return f"trailer {t}"
        if k in HIGH_TRAILER_KEYS and v:
            return f"trailer {t}"
    body = c["body"].lower()
    if any(b in body for b in HIGH_BODY):
        return "body marker"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("repo")
    ap.add_argument("--bin", default="target/release/leakhound")
    ap.add_argument("--sample", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    out = subprocess.run(
        [a.bin, "ai", "commits", a.repo, "--format", "json"],
        check=True, capture_output=True,
    ).stdout.decode()
    tagged = {}
    for line in out.splitlines():
        d = json.loads(line)
        tagged[d["commit"]] = d
    commits = {c["id"]: c for c in git_commits(a.repo)}
    marked = {h: r for h, c in commits.items() if (r := high_marker(c))}

    by_tool = collections.Counter((d["tool"], d["confidence"]) for d in tagged.values())
    print(f"{a.repo}: {len(commits)} commits, {len(tagged)} tagged")
    for (tool, conf), n in by_tool.most_common():
        print(f"  {n:6d}  {tool} ({conf})")
    hit = [h for h in marked if h in tagged]
    recall = 100.0 * len(hit) / len(marked) if marked else 100.0
    print(f"high-confidence markers (independent check): {len(marked)}; tagged: {len(hit)} "
          f"-> recall {recall:.1f}%")
    missed = [h for h in marked if h not in tagged]
    for h in missed[:20]:
        print(f"  MISSED {h[:12]} {marked[h]}")
    extra = [h for h in tagged if h not in marked]
    extra_by = collections.Counter(tagged[h]["signal"] for h in extra)
    print(f"tagged without an independent high marker: {len(extra)} {dict(extra_by)}")

    rnd = random.Random(a.seed)
    print(f"\nsample of {a.sample} tagged commits:")
    for h in rnd.sample(sorted(tagged), min(a.sample, len(tagged))):
        d, c = tagged[h], commits.get(h, {})
        print(f"  {h[:12]} [{d['tool']}, {d['confidence']}] author {c.get('author')}; "
              f"evidence {d['evidence'][:100]!r}; subject {d['subject'][:60]!r}")
    untagged = sorted(set(commits) - set(tagged))
    print(f"\nsample of {a.sample} untagged commits:")
    for h in rnd.sample(untagged, min(a.sample, len(untagged))):
        c = commits[h]
        subject = c["body"].splitlines()[0] if c["body"] else ""
        print(f"  {h[:12]} author {c['author']}; committer {c['committer']}; "
              f"trailers {c['trailers'][:3]}; subject {subject[:60]!r}")
    return 0 if recall >= 95.0 else 1


if __name__ == "__main__":
    sys.exit(main())
