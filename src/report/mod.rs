//! Reports: sorted, redacted findings rendered as text, JSON, JSON Lines or SARIF.
//! Renderers only format; they never filter, sort or decide severity.

pub mod json;
pub mod sarif;
pub mod text;

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
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    /// Use ANSI colours (text only).
    pub color: bool,
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
        Format::Jsonl => json::render_lines(outcome, out),
        Format::Sarif => sarif::render(outcome, rules, out),
    }
}
