//! Reports: sorted, redacted findings rendered as text, JSON, JSON Lines or SARIF.
//! Renderers only format; they never filter, sort or decide severity.

pub mod json;
pub mod merge;
pub mod sarif;
pub mod text;

use std::borrow::Cow;
use std::io::{self, Write};

use crate::rules::RuleSet;
use crate::scan::ScanOutcome;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person at a terminal.
    Text,
    /// One JSON document.
    Json,
    /// One JSON object per finding, per line.
    Jsonl,
    /// SARIF 2.1.0 for code scanning.
    Sarif,
}

/// How to render.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Use ANSI colours (text only).
    pub color: bool,
    /// No summary on the status stream (`--quiet`): the findings, or nothing.
    pub quiet: bool,
    /// JSON Lines: end with one summary line (`{"summary": {...}}`), for reports that many
    /// scans append to (`--append`): a reader knows which scans finished.
    pub summary_line: bool,
}

/// Where a run that found something stands, for the advice after the report: what has
/// already left the machine decides what removing the secret still achieves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Files on disk (`leakhound scan`).
    Files,
    /// A commit being made (pre-commit hook, `git --staged`, `git --commit-msg`).
    Commit,
    /// A push being made (`git --pre-push`).
    Push,
    /// Commits already made: history, a range, a pull request in CI.
    History,
}

/// The short "what to do" after a report with blocking findings, on the status stream:
/// rotate, take the secret out of the code (and out of unpushed commits), or accept it.
pub fn advice(stage: Stage, outcome: &ScanOutcome, status: &mut dyn Write) -> io::Result<()> {
    let urls = outcome
        .findings
        .iter()
        .filter(|f| f.revoke.is_some())
        .count();
    let rotate = if urls > 0 {
        "rotate or revoke each credential first (the `rotate:` line of a finding says where)"
    } else {
        "rotate or revoke each credential first, at the provider that issued it"
    };
    let remove = match stage {
        Stage::Files => "then take it out of the file: read it from the environment or a secret manager",
        Stage::Commit => {
            "then take it out of the staged file (read it from the environment or a secret manager), `git add` it and commit again: nothing has left this machine yet"
        }
        Stage::Push => {
            "then take it out of the commits being pushed (`git commit --amend`, or `git rebase -i` for older ones) and push again: the remote has not seen them"
        }
        Stage::History => {
            "it is in commits others may have cloned: rotating is the fix; removing it from history (`git filter-repo`) only stops further copies"
        }
    };
    writeln!(status, "leakhound: what to do:")?;
    writeln!(status, "  1. {rotate};")?;
    writeln!(status, "  2. {remove};")?;
    writeln!(
        status,
        "  3. not a secret, or accepted? a `leakhound:allow` comment on its line, or `leakhound baseline create` (docs/config.md)."
    )
}

/// Writes the findings of `outcome` in `format`. The summary of the text format goes to
/// `status` (stderr), so `out` stays byte-for-byte deterministic.
pub fn render(
    outcome: &ScanOutcome,
    rules: &RuleSet,
    format: Format,
    opts: RenderOptions,
    out: &mut dyn Write,
    status: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(outcome, opts, out, status),
        Format::Json => json::render(outcome, out),
        Format::Jsonl => json::render_lines(outcome, opts.summary_line, out),
        Format::Sarif => sarif::render(outcome, rules, out),
    }
}

/// Makes text that the scanned content chose safe for a terminal or a log: C0 and C1 control
/// characters (line breaks, carriage returns, escape sequences), DEL and the Unicode bidi and
/// line-separator controls are written as `\x1b` / `\u{202e}` escapes, so what is shown
/// cannot move the cursor, rewrite a line, forge a summary or reorder text. Tabs stay.
///
/// ```
/// use leakhound::report::escape;
/// assert_eq!(escape("a\x1b[2Jb\rc"), "a\\x1b[2Jb\\rc");
/// assert_eq!(escape("plain/path.rs"), "plain/path.rs");
/// assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
/// ```
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if needs_escape(c) && (c as u32) < 0x80 => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn needs_escape(c: char) -> bool {
    matches!(c,
        '\0'..='\x08' | '\x0a'..='\x1f' | '\x7f'..='\u{9f}'
        | '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}'..='\u{202e}'
        | '\u{2066}'..='\u{2069}')
}
