//! Baselines: a file of accepted findings that never churns. One entry per line, keyed by
//! fingerprint (rule id + secret hash) and rule id, optionally a path; sorted; no line
//! numbers, no timestamps; so edits, moves, reformatting and merges leave it alone. An entry
//! may carry an expiry date: after it the finding fails again, because a credential must be
//! rotated, and a baseline must not become a permanent hiding place.

use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::scan::{ScanOutcome, Suppressed};

const HEADER: &str = "\
# leakhound baseline: accepted findings, one per line, sorted. Keep it in version control.
# <fingerprint> <rule id> [path=<path>] [expires=YYYY-MM-DD] [# note]
# Re-create with `leakhound baseline create`, drop stale entries with `leakhound baseline prune`.
";

/// One accepted finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    /// Finding fingerprint (32 hex digits).
    pub fingerprint: String,
    /// Rule id.
    pub rule_id: String,
    /// Only at this path, when given.
    pub path: Option<String>,
    /// `YYYY-MM-DD`: after this day the finding fails again.
    pub expires: Option<String>,
    /// Free text after `#`.
    pub note: Option<String>,
}

/// A parsed baseline file.
#[derive(Debug, Clone, Default)]
pub struct Baseline {
    /// Entries with the line they were read from.
    pub entries: Vec<(usize, Entry)>,
    /// Where it was read from.
    pub origin: String,
}

/// A baseline line that cannot be read: file, line, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {message}", if *.line == 0 { String::new() } else { format!(":{}", .line) })]
pub struct BaselineError {
    /// File.
    pub origin: String,
    /// 1-based line.
    pub line: usize,
    /// What is wrong, with a fix hint.
    pub message: String,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &std::path::Path) -> Result<Baseline, BaselineError> {
        let text = std::fs::read_to_string(path).map_err(|e| BaselineError {
            origin: path.display().to_string(),
            line: 0,
            message: format!(
                "cannot read the baseline: {e} (create one with `leakhound baseline create -o {}`)",
                path.display()
            ),
        })?;
        Baseline::parse(&text, &path.display().to_string())
    }

    /// Parses baseline text.
    pub fn parse(text: &str, origin: &str) -> Result<Baseline, BaselineError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| BaselineError {
                origin: origin.to_string(),
                line,
                message,
            };
            let (body, note) = match raw.split_once(" #") {
                Some((b, n)) => (b, Some(n.trim().to_string()).filter(|n| !n.is_empty())),
                None => (raw, None),
            };
            let body = body.trim();
            if body.is_empty() || body.starts_with('#') {
                continue;
            }
            let mut words = body.split_whitespace();
            let fingerprint = words.next().unwrap_or_default();
            if fingerprint.len() != 32 || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(err(format!(
                    "{fingerprint:?} is not a fingerprint: an entry is `<32 hex digits> <rule id> [path=P] [expires=YYYY-MM-DD] [# note]`, as `leakhound baseline create` writes it"
                )));
            }
            let Some(rule_id) = words.next() else {
                return Err(err("the rule id is missing after the fingerprint".into()));
            };
            let mut entry = Entry {
                fingerprint: fingerprint.to_ascii_lowercase(),
                rule_id: rule_id.to_string(),
                path: None,
                expires: None,
                note,
            };
            for w in words {
                match w.split_once('=') {
                    Some(("path", p)) => entry.path = Some(decode(p)),
                    Some(("expires", d)) => {
                        if !valid_date(d) {
                            return Err(err(format!(
                                "expires={d} is not a date: write expires=YYYY-MM-DD"
                            )));
                        }
                        entry.expires = Some(d.to_string());
                    }
                    _ => {
                        return Err(err(format!(
                            "unknown field {w:?}: only path=... and expires=YYYY-MM-DD may follow the rule id (notes go after ` #`)"
                        )))
                    }
                }
            }
            entries.push((line, entry));
        }
        Ok(Baseline {
            entries,
            origin: origin.to_string(),
        })
    }

    fn find(&self, f: &Finding) -> Option<&(usize, Entry)> {
        self.entries.iter().find(|(_, e)| {
            e.fingerprint == f.fingerprint.0
                && e.rule_id == f.rule_id
                && e.path.as_ref().is_none_or(|p| *p == f.path)
        })
    }
}

/// Applies a baseline to a scan: accepted findings move to the suppressed list (with the
/// entry's line), expired ones stay findings and say so. Returns how many were accepted.
pub fn apply(out: &mut ScanOutcome, b: &Baseline, today: &str, keep_dropped: bool) -> usize {
    let mut accepted = 0;
    let findings = std::mem::take(&mut out.findings);
    for mut f in findings {
        match b.find(&f) {
            Some((_, e)) if e.expires.as_deref().is_some_and(|d| d < today) => {
                f.baseline_expired = e.expires.clone();
                out.findings.push(f);
            }
            Some((line, e)) => {
                accepted += 1;
                if keep_dropped {
                    out.suppressed.push(Suppressed {
                        path: f.path.clone(),
                        line: f.location.line,
                        rule_id: f.rule_id.clone(),
                        reason: format!(
                            "baseline entry at {}:{line}{}",
                            b.origin,
                            e.expires
                                .as_ref()
                                .map_or(String::new(), |d| format!(" (expires {d})"))
                        ),
                    });
                }
            }
            None => out.findings.push(f),
        }
    }
    out.suppressed.sort();
    out.stats.baselined = accepted;
    accepted
}

/// The baseline text for these findings: one entry per (fingerprint, rule[, path]), sorted.
/// Expiry dates and notes of entries in `previous` are kept; `expires` applies to new ones.
pub fn render(
    findings: &[Finding],
    previous: Option<&Baseline>,
    with_paths: bool,
    expires: Option<&str>,
) -> String {
    let mut entries: BTreeMap<(String, String, Option<String>), Entry> = BTreeMap::new();
    for f in findings {
        let path = with_paths.then(|| f.path.clone());
        let key = (f.fingerprint.0.clone(), f.rule_id.clone(), path.clone());
        let old = previous.and_then(|b| b.find(f)).map(|(_, e)| e);
        entries.entry(key).or_insert_with(|| Entry {
            fingerprint: f.fingerprint.0.clone(),
            rule_id: f.rule_id.clone(),
            path,
            expires: old.map_or(expires.map(str::to_string), |e| e.expires.clone()),
            note: old.and_then(|e| e.note.clone()),
        });
    }
    render_entries(entries.values())
}

/// The baseline text for these entries, sorted.
pub fn render_entries<'a>(entries: impl Iterator<Item = &'a Entry>) -> String {
    let mut sorted: Vec<&Entry> = entries.collect();
    sorted.sort();
    sorted.dedup();
    let mut out = String::from(HEADER);
    for e in sorted {
        write_entry(&mut out, e);
    }
    out
}

fn write_entry(out: &mut String, e: &Entry) {
    out.push_str(&e.fingerprint);
    out.push(' ');
    out.push_str(&e.rule_id);
    if let Some(p) = &e.path {
        out.push_str(" path=");
        out.push_str(&encode(p));
    }
    if let Some(d) = &e.expires {
        out.push_str(" expires=");
        out.push_str(d);
    }
    if let Some(n) = &e.note {
        out.push_str(" # ");
        out.push_str(n);
    }
    out.push('\n');
}

/// `YYYY-MM-DD` with plausible numbers.
pub fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && d.split('-').all(|p| p.bytes().all(|c| c.is_ascii_digit()))
        && (1..=12).contains(&d[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&d[8..10].parse::<u32>().unwrap_or(0))
}

/// Today's date (UTC), `YYYY-MM-DD`.
pub fn today() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    crate::report::text::date(secs)
}

fn encode(p: &str) -> String {
    p.replace('%', "%25")
        .replace(' ', "%20")
        .replace('#', "%23")
}

fn decode(p: &str) -> String {
    p.replace("%20", " ")
        .replace("%23", "#")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_name_line_and_fix() {
        let e = Baseline::parse("# ok\nnot-a-fingerprint github.pat\n", "b.txt").expect_err("bad");
        assert_eq!(e.line, 2);
        assert!(e.message.contains("32 hex digits"), "{e}");
        let fp = "0123456789abcdef0123456789abcdef";
        let e = Baseline::parse(&format!("{fp} github.pat expires=2026-13-01\n"), "b")
            .expect_err("date");
        assert!(e.message.contains("YYYY-MM-DD"), "{e}");
        let e = Baseline::parse(&format!("{fp} github.pat owner=me\n"), "b").expect_err("field");
        assert!(e.message.contains("unknown field"), "{e}");
        let b = Baseline::parse(
            &format!("{fp} github.pat path=a%20b.env expires=2030-01-01 # rotate with OPS-1\n"),
            "b",
        )
        .expect("valid");
        let e = &b.entries[0].1;
        assert_eq!(e.path.as_deref(), Some("a b.env"));
        assert_eq!(e.note.as_deref(), Some("rotate with OPS-1"));
    }

    #[test]
    fn dates() {
        assert!(valid_date("2026-11-24"));
        assert!(!valid_date("2026-11-4"));
        assert!(!valid_date("2026-00-10"));
        assert!("2026-01-31" < "2026-02-01");
        assert!(valid_date(&today()));
    }
}
