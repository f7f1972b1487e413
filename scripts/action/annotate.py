#!/usr/bin/env python3
"""The Action's annotations and job summary from a leakhound JSON report.

    annotate.py REPORT.json SUMMARY_FILE NOTE

Everything in the report that the scanned repository chose (paths, rule ids and names from
a repository config, commit subjects, AI tool names) is escaped for where it lands: workflow
command properties (`%`, CR, LF, `:` and `,`), workflow command messages (`%`, CR, LF), and
the Markdown job summary (table pipes, backticks, HTML and link syntax). Control characters
become visible escapes everywhere. Secrets are already redacted by leakhound.
"""
import json
import re
import sys

CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]")


def visible(s: str) -> str:
    """Control, bidi and line-separator characters as \\xNN / \\u{NNNN} escapes."""
    def sub(m):
        c = ord(m.group(0))
        return f"\\x{c:02x}" if c < 0x80 else f"\\u{{{c:x}}}"
    return CONTROL.sub(sub, str(s))


def data(s: str) -> str:
    """A workflow command's message."""
    return visible(s).replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def prop(s: str) -> str:
    """A workflow command's property value (file=, title=)."""
    return data(s).replace(":", "%3A").replace(",", "%2C")


MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def md(s: str) -> str:
    """Plain text in a Markdown table cell: no code spans, links, HTML or column breaks."""
    s = visible(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MD_SPECIAL.sub(r"\\\1", s)


def main() -> None:
    report, summary_path, note = sys.argv[1], sys.argv[2], sys.argv[3]
    doc = json.load(open(report))
    findings = doc["findings"]
    for f in findings:
        where = (
            f"file={prop(f['path'])},line={int(f['line'])},endLine={int(f['end_line'])},"
            f"col={int(f['column'])}"
        )
        ai = f" [AI: {f['ai']['tool']}]" if f.get("ai") else ""
        msg = (
            f"{f['rule_name']} ({f['rule_id']}, {f['severity']}){ai}: {f['secret']}. "
            "Rotate it, then remove it."
        )
        if f.get("present_at_head") is False:
            msg += " Removed from HEAD but still in history."
        if f.get("existing"):
            msg += " Already there before this change: not blocking."
        level = "warning" if f.get("existing") else "error"
        print(f"::{level} {where},title={prop('leakhound: ' + f['rule_id'])}::{data(msg)}")
    with open(summary_path, "a") as s:
        s.write(f"### leakhound: {len(findings)} finding(s)\n\n{md(note)}\n\n")
        if not doc.get("summary", {}).get("complete", True):
            s.write("**The scan is incomplete**: some files or objects could not be read.\n\n")
        if findings:
            s.write("| file | line | rule | severity | secret | commit | AI |\n")
            s.write("|---|---|---|---|---|---|---|\n")
            for f in findings:
                commit = (f.get("commit") or {}).get("id", "")[:12]
                tool = (f.get("ai") or {}).get("tool", "")
                cells = [f["path"], str(f["line"]), f["rule_id"], f["severity"], f["secret"],
                         commit, tool]
                s.write("| " + " | ".join(md(c) for c in cells) + " |\n")


if __name__ == "__main__":
    main()
