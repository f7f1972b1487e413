//! Baselines: a file of accepted findings that never churns. One entry per line, keyed by
//! fingerprint (rule id + secret hash) and rule id, optionally a path; sorted; no line
//! numbers, no timestamps; so edits, moves, reformatting and merges leave it alone. An entry
//! may carry an expiry date: after it the finding fails again, because a credential must be
//! rotated, and a baseline must not become a permanent hiding place.

use std::collections::BTreeMap;

use crate::finding::Finding;
use crate::scan::{ScanOutcome, Suppressed};
use crate::untrusted::{self, Chooser};

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
    /// Entry positions by fingerprint.
    index: std::collections::HashMap<String, Vec<usize>>,
}

/// A baseline line that cannot be read: file, line, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{origin}{}: {message}", match (*.line, *.column) {
    (0, _) => String::new(),
    (l, 0) => format!(":{l}"),
    (l, c) => format!(":{l}:{c}"),
})]
pub struct BaselineError {
    /// File.
    pub origin: String,
    /// 1-based line (0: the whole file).
    pub line: usize,
    /// 1-based column of the offending word (0: the whole line).
    pub column: usize,
    /// What is wrong, with a fix hint.
    pub message: String,
}

impl Baseline {
    /// Reads a baseline file found through the scanned checkout's config (a symlink is
    /// refused).
    pub fn load(path: &std::path::Path) -> Result<Baseline, BaselineError> {
        Baseline::load_as(path, Chooser::Repo)
    }

    /// Reads a baseline file chosen by `by`. Errors never quote the file's content.
    pub fn load_as(path: &std::path::Path, by: Chooser) -> Result<Baseline, BaselineError> {
        let missing = |message: String| BaselineError {
            origin: path.display().to_string(),
            line: 0,
            column: 0,
            message,
        };
        let text = match untrusted::read_text(path, untrusted::cap::BASELINE, by) {
            Ok(Some(t)) => t,
            Ok(None) => {
                return Err(missing(format!(
                    "cannot read the baseline: no such file (create one with `leakhound baseline create -o {}`)",
                    path.display()
                )))
            }
            Err(e) => return Err(missing(format!("baseline not read: {}", e.reason))),
        };
        Baseline::parse(&text, &path.display().to_string())
    }

    /// Parses baseline text.
    pub fn parse(text: &str, origin: &str) -> Result<Baseline, BaselineError> {
        let mut entries = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            // Messages describe, never quote: a baseline path can be pointed at a file that
            // is not a baseline (an environment, a credentials file).
            let err_at = |word: &str, message: String| BaselineError {
                origin: origin.to_string(),
                line,
                column: column_of(raw, word),
                message,
            };
            let err = |message: String| err_at("", message);
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
                return Err(err_at(
                    fingerprint,
                    "the first word is not a fingerprint: an entry is `<32 hex digits> <rule id> [path=P] [expires=YYYY-MM-DD] [# note]`, as `leakhound baseline create` writes it".into(),
                ));
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
                            return Err(err_at(
                                w,
                                "the expires= value is not a date: write expires=YYYY-MM-DD"
                                    .into(),
                            ));
                        }
                        entry.expires = Some(d.to_string());
                    }
                    _ => {
                        return Err(err_at(
                            w,
                            "unknown field: only path=... and expires=YYYY-MM-DD may follow the rule id (notes go after ` #`)".into(),
                        ))
                    }
                }
            }
            entries.push((line, entry));
        }
        let mut index: std::collections::HashMap<String, Vec<usize>> = Default::default();
        for (i, (_, e)) in entries.iter().enumerate() {
            index.entry(e.fingerprint.clone()).or_default().push(i);
        }
        Ok(Baseline {
            entries,
            origin: origin.to_string(),
            index,
        })
    }

    fn find(&self, f: &Finding) -> Option<&(usize, Entry)> {
        self.find_by(f, &f.fingerprint.0)
    }

    /// The entry for `f`, and whether it matched only the older, plain fingerprint.
    fn find_any(&self, f: &Finding) -> Option<(&(usize, Entry), bool)> {
        self.find(f).map(|e| (e, false)).or_else(|| {
            let legacy = f.legacy_fingerprint.as_ref()?;
            self.find_by(f, &legacy.0).map(|e| (e, true))
        })
    }

    fn find_by(&self, f: &Finding, fingerprint: &str) -> Option<&(usize, Entry)> {
        self.index
            .get(fingerprint)?
            .iter()
            .map(|&i| &self.entries[i])
            .find(|(_, e)| e.rule_id == f.rule_id && e.path.as_ref().is_none_or(|p| *p == f.path))
    }
}

/// The 1-based character column where `word` (a slice of `line`) starts; 0 if it is not one.
fn column_of(line: &str, word: &str) -> usize {
    let start = (word.as_ptr() as usize).wrapping_sub(line.as_ptr() as usize);
    if word.is_empty() || start > line.len() {
        return 0;
    }
    line.get(..start).map_or(0, |s| s.chars().count() + 1)
}

/// Applies a baseline to a scan: accepted findings move to the suppressed list (with the
/// entry's line), expired ones stay findings and say so. Returns how many were accepted.
pub fn apply(out: &mut ScanOutcome, b: &Baseline, today: &str, keep_dropped: bool) -> usize {
    let mut accepted = 0;
    let mut legacy = 0;
    let findings = std::mem::take(&mut out.findings);
    for mut f in findings {
        let found = b.find_any(&f).map(|(e, old)| {
            legacy += usize::from(old);
            e
        });
        match found {
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
    if legacy > 0 {
        out.diagnostics.push(crate::scan::Diagnostic {
            subject: b.origin.clone(),
            message: format!(
                "{legacy} entry(ies) matched through the older fingerprint, which a dictionary search can invert for weak secrets: re-create the baseline with `leakhound baseline create` (notes and expiry dates are kept)"
            ),
        });
        out.diagnostics.sort();
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
        let old = previous.and_then(|b| b.find_any(f)).map(|((_, e), _)| e);
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

/// A baseline with its stale entries dropped: see [`prune`].
#[derive(Debug, Clone)]
pub struct Pruned {
    /// The new baseline text.
    pub text: String,
    /// Entries kept.
    pub kept: usize,
    /// Entries dropped.
    pub dropped: usize,
}

/// Drops the entries of `b` that none of `findings` matches any more (by fingerprint and
/// rule id, wherever the secret now is). Kept entries keep their paths, dates and notes.
pub fn prune(b: &Baseline, findings: &[Finding]) -> Pruned {
    let found: std::collections::HashSet<(&str, &str)> = findings
        .iter()
        .map(|f| (f.fingerprint.0.as_str(), f.rule_id.as_str()))
        .collect();
    let kept: Vec<&Entry> = b
        .entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| found.contains(&(e.fingerprint.as_str(), e.rule_id.as_str())))
        .collect();
    Pruned {
        text: render_entries(kept.iter().copied()),
        kept: kept.len(),
        dropped: b.entries.len() - kept.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_entries_still_found_anywhere() {
        let detector =
            crate::detect::Detector::new(crate::rules::RuleSet::builtin().expect("rules"));
        // Assembled at run time so this file holds no token literal.
        let text = ["STRIPE_KEY=sk_", "live_", "pReKS4ZvioRX", "9Qm5BBljcl23"].concat();
        let config = crate::config::Config::default();
        let outcome = crate::scan::scan_bytes(text.as_bytes(), "moved.env", &detector, &config);
        let fp = &outcome.findings[0].fingerprint.0;
        let stale = "0123456789abcdef0123456789abcdef";
        let b = Baseline::parse(
            &format!("{fp} stripe.secret_key path=old.env # rotate\n{stale} github.pat\n"),
            "b",
        )
        .expect("valid");
        let pruned = prune(&b, &outcome.findings);
        assert_eq!((pruned.kept, pruned.dropped), (1, 1));
        assert!(pruned.text.starts_with(HEADER));
        assert!(
            pruned
                .text
                .ends_with(&format!("{fp} stripe.secret_key path=old.env # rotate\n")),
            "{}",
            pruned.text
        );
        assert!(!pruned.text.contains(stale));
    }

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
