//! Commit message trailers, read the way `git log --format=%(trailers)` reads a stored
//! commit: the last paragraph of the message (never the subject's), `Key: value` lines with
//! indented continuation lines folded in. A paragraph counts when every line is a trailer, or
//! when at least a quarter are and one has a key git or the AI tools use (as git does for keys
//! configured with `trailer.<key>`). Unlike `git interpret-trailers`, a `---` line does not end
//! the message: git keeps what follows it in the commit, and tools write trailers there.
//! Also read: a trailer line indented by a few spaces, and a trailer paragraph with a non-trailer
//! line above it and no blank line between (`🤖 Generated with ...` right above
//! `Co-Authored-By:`), which `git interpret-trailers` misses.

/// Keys that make a mixed paragraph a trailer block (lowercase).
const KNOWN: &[&str] = &[
    "signed-off-by",
    "co-authored-by",
    "assisted-by",
    "generated-by",
    "reviewed-by",
    "acked-by",
    "helped-by",
    "made-with",
    "claude-session",
    "claude-generated-by",
    "amp-thread-id",
    "change-id",
];

/// The trailers of a commit message: `(key, value)` in order, values with continuation lines
/// joined by a space.
pub fn parse(message: &str) -> Vec<(String, String)> {
    let lines: Vec<&str> = message.lines().map(|l| l.trim_end_matches('\r')).collect();
    let mut end = lines.len();
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && !lines[start - 1].trim().is_empty() {
        start -= 1;
    }
    // The first paragraph is the subject's: never trailers.
    if lines[..start].iter().all(|l| l.trim().is_empty()) {
        return Vec::new();
    }
    let paragraph = &lines[start..end];
    let mut out: Vec<(String, String)> = Vec::new();
    let mut trailer_lines = 0usize;
    let mut other_lines = 0usize;
    let mut known = false;
    let mut last_was_trailer = false;
    for line in paragraph {
        let indented = line.starts_with([' ', '\t']);
        let parsed = split(line);
        // An indented line after a trailer continues it, unless it is a known trailer itself.
        let continues = indented
            && last_was_trailer
            && parsed.is_none_or(|(k, _)| !KNOWN.contains(&k.to_ascii_lowercase().as_str()));
        if continues {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        match parsed {
            Some((k, v)) if !indented || line.len() - line.trim_start().len() <= 4 => {
                known |= KNOWN.contains(&k.to_ascii_lowercase().as_str());
                out.push((k.to_string(), v.to_string()));
                trailer_lines += 1;
                last_was_trailer = true;
            }
            _ => {
                other_lines += 1;
                last_was_trailer = false;
            }
        }
    }
    let total = trailer_lines + other_lines;
    let counts = total > 0 && (other_lines == 0 || (known && trailer_lines * 4 >= total));
    if counts {
        out
    } else {
        Vec::new()
    }
}

/// `Key: value` with a key of letters, digits and hyphens (no spaces), and a value.
fn split(line: &str) -> Option<(&str, &str)> {
    let t = line.trim_start();
    let colon = t.find(':')?;
    let key = &t[..colon];
    let value = t[colon + 1..].trim();
    let ok = !key.is_empty()
        && key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_alphanumeric())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !value.is_empty()
        // `https://...` is a URL, not a trailer.
        && !value.starts_with("//");
    ok.then_some((key, value))
}

#[cfg(test)]
mod tests {
    use super::parse;

    fn keys(m: &str) -> Vec<String> {
        parse(m)
            .into_iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    #[test]
    fn the_last_paragraph_of_trailers() {
        assert_eq!(
            keys(
                "Fix\n\nBody text.\n\nSigned-off-by: A <a@x.test>\nCo-authored-by: B <b@x.test>\n"
            ),
            ["Signed-off-by=A <a@x.test>", "Co-authored-by=B <b@x.test>"]
        );
        // The subject's paragraph never holds trailers.
        assert!(keys("Fixes: the parser\n").is_empty());
        // A prose paragraph with a colon in it is not a trailer block.
        assert!(keys(
            "Fix\n\nNote: this changes\nthe order of the\nsteps we run and\nwhy we do it\n"
        )
        .is_empty());
    }

    #[test]
    fn after_a_dashes_line_as_git_log_shows_them() {
        assert_eq!(
            keys("Fix\n\nbody\n---\nCo-authored-by: Codex <noreply@openai.com>\n"),
            ["Co-authored-by=Codex <noreply@openai.com>"]
        );
        assert_eq!(
            keys("Squash\n\n* one\n\n---------\n\nCo-authored-by: X <x@y.test>\n"),
            ["Co-authored-by=X <x@y.test>"]
        );
    }

    #[test]
    fn unseparated_indented_and_continued() {
        assert_eq!(
            keys("Add\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)\nCo-Authored-By: Claude <noreply@anthropic.com>\n"),
            ["Co-Authored-By=Claude <noreply@anthropic.com>"]
        );
        assert_eq!(
            keys("Add\n\n    Co-Authored-By: Claude <noreply@anthropic.com>\n"),
            ["Co-Authored-By=Claude <noreply@anthropic.com>"]
        );
        assert_eq!(
            keys("Add\n\nReviewed-by: A long\n  name <a@x.test>\n  Co-authored-by: B <b@x.test>\n"),
            [
                "Reviewed-by=A long name <a@x.test>",
                "Co-authored-by=B <b@x.test>"
            ]
        );
    }
}
