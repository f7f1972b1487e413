//! `leakhound merge`: many reports (one per repository, from organisation scans) into one.
//! Input is leakhound's own JSON documents and JSON Lines (`--format jsonl`, with `--append`
//! one summary line per scan); anything else is an error that names the file and line. One
//! finding per secret (its fingerprint): the first place, ordered by repository, path and line,
//! is the finding, and every other place, in any repository, is listed in `also_in` with its
//! repository. The result renders in every format, like a scan's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::Deserialize;

use crate::finding::{Finding, Occurrence};
use crate::scan::{Diagnostic, ScanOutcome};
use crate::source::SkipReason;

/// One report to merge: its text, and the name used for its repository when the report
/// names none (the file's name without extension).
#[derive(Debug, Clone)]
pub struct Input {
    /// Where it came from, for messages.
    pub origin: String,
    /// Its repository when the report does not say (`--repository` was not given).
    pub fallback_repository: String,
    /// The report.
    pub text: String,
}

/// A report that is not one of leakhound's.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct MergeError {
    /// `file` or `file:line`.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

#[derive(Deserialize)]
struct Document {
    schema_version: u32,
    findings: Vec<Finding>,
    summary: SummaryIn,
    #[serde(default)]
    diagnostics: Vec<Diagnostic>,
}

/// What a report's summary says that a merged one adds up.
#[derive(Deserialize, Default)]
struct SummaryIn {
    #[serde(default)]
    repository: Option<String>,
    #[serde(default = "yes")]
    complete: bool,
    #[serde(default)]
    files_scanned: u64,
    #[serde(default)]
    bytes_scanned: u64,
    #[serde(default)]
    rules: usize,
    #[serde(default)]
    commits: Option<usize>,
    #[serde(default)]
    files_skipped: BTreeMap<String, u64>,
}

fn yes() -> bool {
    true
}

/// A JSON Lines summary line (`--append`): `{"summary": {...}}`.
#[derive(Deserialize)]
struct SummaryLine {
    summary: SummaryIn,
}

/// The reasons a scan skips files, as the summary names them (the walk's, and files or
/// objects that could not be read).
const SKIP_REASONS: &[&str] = &[
    SkipReason::Binary.as_str(),
    SkipReason::TooLarge.as_str(),
    SkipReason::Symlink.as_str(),
    SkipReason::Special.as_str(),
    "unreadable",
];

/// Merges reports into one outcome (findings sorted, one per fingerprint).
pub fn merge(inputs: &[Input]) -> Result<ScanOutcome, MergeError> {
    let mut out = ScanOutcome::default();
    let mut found: Vec<Finding> = Vec::new();
    let mut repositories = BTreeSet::new();
    for input in inputs {
        for (summary, findings, diagnostics) in parse(input)? {
            let repo = summary
                .repository
                .clone()
                .unwrap_or_else(|| input.fallback_repository.clone());
            repositories.insert(repo.clone());
            add_summary(&mut out, &summary);
            for d in diagnostics {
                out.diagnostics.push(Diagnostic {
                    subject: format!("{repo}: {}", d.subject),
                    message: d.message,
                });
            }
            for mut f in findings {
                let repo = f.repository.clone().unwrap_or_else(|| repo.clone());
                f.repository = Some(repo.clone());
                for o in &mut f.also_in {
                    o.repository.get_or_insert_with(|| repo.clone());
                }
                found.push(f);
            }
        }
    }
    out.stats.repositories = Some(repositories.len());
    out.findings = dedup(found);
    out.diagnostics.sort();
    out.diagnostics.dedup();
    Ok(out)
}

type Parsed = (SummaryIn, Vec<Finding>, Vec<Diagnostic>);

/// A JSON document, or JSON Lines: findings, each scan's closed by a summary line when it
/// was appended (findings after the last summary line belong to a scan without one).
fn parse(input: &Input) -> Result<Vec<Parsed>, MergeError> {
    let text = input.text.trim_start();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    if let Ok(doc) = serde_json::from_str::<Document>(text) {
        if doc.schema_version != crate::report::json::SCHEMA_VERSION {
            return Err(MergeError {
                at: input.origin.clone(),
                message: format!(
                    "schema_version {} is not {}: merge reports from the same leakhound version",
                    doc.schema_version,
                    crate::report::json::SCHEMA_VERSION
                ),
            });
        }
        return Ok(vec![(doc.summary, doc.findings, doc.diagnostics)]);
    }
    let mut out = Vec::new();
    let mut pending = Vec::new();
    let mut notes = Vec::new();
    let lines: Vec<&str> = input.text.lines().collect();
    let cut_short = !input.text.ends_with('\n');
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let at = || format!("{}:{}", input.origin, i + 1);
        let value: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            // A scan that died while appending leaves a last line without its end: what
            // came before stays, and the report says it is incomplete.
            Err(_) if cut_short && i + 1 == lines.len() && i > 0 => {
                notes.push(Diagnostic {
                    subject: at(),
                    message: "the last line was cut short (a scan stopped while writing): ignored".into(),
                });
                continue;
            }
            Err(e) => {
                return Err(MergeError {
                    at: at(),
                    message: format!(
                        "not a leakhound JSON report or JSON Lines finding ({e}); merge reads --format json or jsonl output"
                    ),
                })
            }
        };
        if value.get("rule_id").is_some() {
            pending.push(serde_json::from_value(value).map_err(|e| MergeError {
                at: at(),
                message: format!("not a leakhound finding: {e}"),
            })?);
        } else if value.get("summary").is_some() {
            let s: SummaryLine = serde_json::from_value(value).map_err(|e| MergeError {
                at: at(),
                message: format!("not a leakhound summary line: {e}"),
            })?;
            out.push((s.summary, std::mem::take(&mut pending), Vec::new()));
        } else {
            return Err(MergeError {
                at: at(),
                message: "neither a finding (rule_id) nor a summary line".into(),
            });
        }
    }
    let appended = !out.is_empty();
    if !pending.is_empty() || !notes.is_empty() {
        // Findings after the last summary line: from a plain `--format jsonl` report (complete
        // as far as it says), or from an appended scan that never finished (incomplete).
        if appended || !notes.is_empty() {
            notes.push(Diagnostic {
                subject: input.origin.clone(),
                message: format!(
                    "{} finding(s) after the last summary line: a scan that did not finish; kept, and the report is incomplete",
                    pending.len()
                ),
            });
        }
        let summary = SummaryIn {
            complete: notes.is_empty(),
            ..SummaryIn::default()
        };
        out.push((summary, pending, notes));
    }
    Ok(out)
}

fn add_summary(out: &mut ScanOutcome, s: &SummaryIn) {
    let st = &mut out.stats;
    st.files_scanned += s.files_scanned;
    st.bytes_scanned += s.bytes_scanned;
    st.rules = st.rules.max(s.rules);
    if let Some(c) = s.commits {
        *st.commits.get_or_insert(0) += c;
    }
    for (reason, n) in &s.files_skipped {
        let key = SKIP_REASONS
            .iter()
            .find(|r| **r == reason.as_str())
            .copied()
            .unwrap_or("other");
        *st.files_skipped.entry(key).or_default() += n;
    }
    // A report that says it is incomplete keeps the merged report incomplete.
    if !s.complete && s.files_skipped.get("unreadable").copied().unwrap_or(0) == 0 {
        *st.files_skipped.entry("unreadable").or_default() += 1;
    }
}

/// One finding per fingerprint: the first by (repository, path, line, rule) keeps its place,
/// the others' places (and their own `also_in`) join its `also_in`, without repeats.
fn dedup(mut found: Vec<Finding>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        (&a.repository, &a.path, a.location, &a.rule_id).cmp(&(
            &b.repository,
            &b.path,
            b.location,
            &b.rule_id,
        ))
    });
    let mut out: Vec<Finding> = Vec::new();
    let mut by_print: HashMap<String, usize> = HashMap::new();
    for f in found {
        let Some(&i) = by_print.get(&f.fingerprint.0) else {
            by_print.insert(f.fingerprint.0.clone(), out.len());
            out.push(f);
            continue;
        };
        let first = &mut out[i];
        let mut places = vec![Occurrence {
            repository: f.repository.clone(),
            commit: f.commit.as_ref().map_or_else(String::new, |c| c.id.clone()),
            path: f.path.clone(),
            line: f.location.line,
        }];
        places.extend(f.also_in);
        for p in places {
            let same_as_first = p.repository == first.repository
                && p.path == first.path
                && p.line == first.location.line
                && first.commit.as_ref().map_or("", |c| c.id.as_str()) == p.commit;
            if !same_as_first && !first.also_in.contains(&p) {
                first.also_in.push(p);
            }
        }
        first.present_at_head = match (first.present_at_head, f.present_at_head) {
            (Some(a), Some(b)) => Some(a || b),
            (a, b) => a.or(b),
        };
        first.severity = first.severity.max(f.severity);
    }
    for f in &mut out {
        f.also_in.sort();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(origin: &str, text: &str) -> Input {
        Input {
            origin: origin.into(),
            fallback_repository: origin.trim_end_matches(".json").into(),
            text: text.into(),
        }
    }

    #[test]
    fn junk_is_an_error_with_file_and_line() {
        let e = merge(&[input("a.jsonl", "{\"rule_id\":\"x\"}\n")]).expect_err("bad");
        assert!(
            e.at == "a.jsonl:1" && e.message.contains("not a leakhound finding"),
            "{e}"
        );
        let e = merge(&[input("b.txt", "hello\n")]).expect_err("bad");
        assert!(e.at == "b.txt:1", "{e}");
        let e = merge(&[input(
            "c.json",
            "{\"schema_version\": 99, \"findings\": [], \"summary\": {}}",
        )])
        .expect_err("bad");
        assert!(e.message.contains("schema_version 99"), "{e}");
        assert!(merge(&[input("empty.jsonl", "")]).is_ok());
    }
}
