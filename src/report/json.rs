//! JSON and JSON Lines: a serde derive of `Finding` plus a summary. Schema: docs/json-schema.md.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::finding::Finding;
use crate::scan::{Diagnostic, ScanOutcome, Stats, Suppressed};

/// Version of the JSON document layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    findings: &'a [Finding],
    summary: Summary<'a>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    suppressed: &'a [Suppressed],
    diagnostics: &'a [Diagnostic],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary<'a> {
    findings: usize,
    /// False when files or objects could not be read: the scan did not see everything.
    complete: bool,
    by_severity: BTreeMap<&'static str, usize>,
    #[serde(flatten)]
    stats: &'a Stats,
}

fn summary(outcome: &ScanOutcome) -> Summary<'_> {
    let mut by_severity = BTreeMap::new();
    for f in &outcome.findings {
        *by_severity.entry(f.severity.as_str()).or_default() += 1;
    }
    Summary {
        findings: outcome.findings.len(),
        complete: outcome.unreadable() == 0,
        by_severity,
        stats: &outcome.stats,
    }
}

/// One pretty-printed JSON document.
pub fn render(outcome: &ScanOutcome, out: &mut dyn Write) -> io::Result<()> {
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "leakhound",
            version: env!("CARGO_PKG_VERSION"),
        },
        findings: &outcome.findings,
        summary: summary(outcome),
        suppressed: &outcome.suppressed,
        diagnostics: &outcome.diagnostics,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// One compact JSON object per finding; with `summary_line`, then `{"summary": {...}}`.
pub fn render_lines(
    outcome: &ScanOutcome,
    summary_line: bool,
    out: &mut dyn Write,
) -> io::Result<()> {
    for f in &outcome.findings {
        serde_json::to_writer(&mut *out, f)?;
        out.write_all(b"\n")?;
    }
    if summary_line {
        #[derive(Serialize)]
        struct Line<'a> {
            summary: Summary<'a>,
        }
        serde_json::to_writer(
            &mut *out,
            &Line {
                summary: summary(outcome),
            },
        )?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
