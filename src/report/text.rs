//! Text for people: one block per finding with the secret masked in its line, then a
//! summary on the status stream. What is the same for every finding of a rule in a file
//! (what the credential gives, where to rotate it, which agents read the file) is said once.

use std::collections::HashSet;
use std::io::{self, Write};

use crate::finding::{Finding, VerifyStatus};
use crate::rules::Severity;
use crate::scan::ScanOutcome;

use super::{escape, RenderOptions};

struct Paint(bool);

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn severity(&self, s: Severity) -> String {
        let code = match s {
            Severity::Critical => "1;31",
            Severity::High => "31",
            Severity::Medium => "33",
            Severity::Low => "36",
        };
        self.wrap(code, s.as_str())
    }
}

/// Renders findings to `out` and the summary to `status`.
pub fn render(
    outcome: &ScanOutcome,
    opts: RenderOptions,
    out: &mut dyn Write,
    status: &mut dyn Write,
) -> io::Result<()> {
    let p = Paint(opts.color);
    let mut told = Told::default();
    for f in &outcome.findings {
        block(f, &p, &mut told, out)?;
    }
    for s in &outcome.suppressed {
        writeln!(
            out,
            "suppressed: {}:{} {}: {}",
            escape(&s.path),
            s.line,
            escape(&s.rule_id),
            escape(&s.reason)
        )?;
    }
    // The summary goes to the status stream: flush the findings first, so a terminal that
    // shows both streams shows the summary after them.
    out.flush()?;
    diagnostics(outcome, status)?;
    if opts.quiet {
        return Ok(());
    }
    summary(outcome, status)
}

/// What earlier blocks already said: (path, rule) pairs and paths.
#[derive(Default)]
struct Told<'a> {
    rules: HashSet<(&'a str, &'a str)>,
    files: HashSet<&'a str>,
}

fn block<'a>(
    f: &'a Finding,
    p: &Paint,
    told: &mut Told<'a>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let loc = &f.location;
    let ai_mark =
        f.ai.as_ref()
            .map(|t| format!("  {}", p.wrap("35", &format!("[AI: {}]", escape(&t.tool)))))
            .unwrap_or_default();
    let repo = f
        .repository
        .as_ref()
        .map(|r| format!("{}: ", p.wrap("1", &escape(r))))
        .unwrap_or_default();
    writeln!(
        out,
        "{repo}{}:{}:{}  {}  {}{ai_mark}",
        p.wrap("1", &escape(&f.path)),
        loc.line,
        loc.column,
        p.wrap("1", &escape(&f.rule_id)),
        p.severity(f.severity)
    )?;
    let first_of_rule = told.rules.insert((&f.path, &f.rule_id));
    if first_of_rule {
        writeln!(
            out,
            "  {} — {}",
            escape(&f.rule_name),
            escape(&f.blast_radius)
        )?;
        if let Some(url) = &f.revoke {
            writeln!(out, "  rotate: {}", escape(url))?;
        }
    } else {
        writeln!(out, "  {} (as above)", escape(&f.rule_name))?;
    }
    let secret = f.secret.display();
    let line = format!(
        "{}{}{}",
        escape(&f.before),
        p.wrap("7", &escape(&secret)),
        escape(&f.after)
    );
    writeln!(out, "  {:>5} | {}", loc.line, line.trim())?;
    for r in &f.related {
        writeln!(
            out,
            "  with its other part: {} on line {}",
            escape(&r.rule_id),
            r.line
        )?;
    }
    if !f.decoded.is_empty() {
        writeln!(out, "  decoded from {}", f.decoded.join(" → "))?;
    }
    checks(f, p, out)?;
    if let Some(name) = &f.context {
        writeln!(out, "  named {} in its context", escape(name))?;
    }
    if let Some(w) = &f.weak {
        writeln!(
            out,
            "  weak value ({}): still a credential here, and a guessable one",
            escape(w)
        )?;
    }
    if let Some(c) = &f.commit {
        writeln!(
            out,
            "  introduced in {} by {} <{}> on {}: {}",
            escape(&c.id[..c.id.len().min(12)]),
            escape(&c.author_name),
            escape(&c.author_email),
            date(c.author_time),
            escape(&c.subject)
        )?;
    }
    match f.present_at_head {
        Some(true) => writeln!(out, "  still present at HEAD")?,
        Some(false) => writeln!(
            out,
            "  {}",
            p.wrap(
                "33",
                "removed from HEAD but still in history: it is leaked, rotate it"
            )
        )?,
        None => {}
    }
    if f.also_in.iter().any(|o| o.repository.is_some()) {
        // Merged reports: the same secret elsewhere, by repository.
        let shown: Vec<String> = f
            .also_in
            .iter()
            .take(3)
            .map(|o| {
                format!(
                    "{}:{}:{}",
                    escape(o.repository.as_deref().unwrap_or("?")),
                    escape(&o.path),
                    o.line
                )
            })
            .collect();
        let more = f.also_in.len().saturating_sub(shown.len());
        writeln!(
            out,
            "  also in {}{}",
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        )?;
    } else if !f.also_in.is_empty() {
        writeln!(
            out,
            "  also in {} other place(s) in history",
            f.also_in.len()
        )?;
    }
    if let Some(t) = &f.ai {
        writeln!(
            out,
            "  AI-authored ({} confidence): {}{}",
            t.confidence.as_str(),
            escape(&t.evidence),
            if f.ai_policy {
                "; stricter AI thresholds applied"
            } else {
                ""
            }
        )?;
    }
    let first_in_file = told.files.insert(&f.path);
    if let Some(e) = f.exposure.as_ref().filter(|_| first_in_file) {
        if !e.readable_by.is_empty() {
            writeln!(
                out,
                "  AI agents' file tools would read this file: {}",
                escape(&e.readable_by.join(", "))
            )?;
        }
        if !e.excluded_for.is_empty() {
            writeln!(
                out,
                "  excluded for: {}",
                escape(&e.excluded_for.join(", "))
            )?;
        }
        if !e.suggestions.is_empty() {
            writeln!(
                out,
                "  to exclude it: {}",
                escape(&e.suggestions.join("; "))
            )?;
        }
        writeln!(
            out,
            "  (exclusions are not a security boundary: shell tools still read the file; rotate the secret and remove it)"
        )?;
    }
    if let Some(d) = &f.baseline_expired {
        writeln!(
            out,
            "  {}",
            p.wrap(
                "31",
                &format!("baseline entry expired on {d}: rotate this credential")
            )
        )?;
    }
    if f.existing {
        writeln!(
            out,
            "  already committed in this file before: reported, not blocking"
        )?;
    }
    writeln!(out, "  fingerprint {}", f.fingerprint)?;
    writeln!(out)
}

pub use crate::clock::date;

/// The offline checks and, with `--verify`, the provider's answer.
fn checks(f: &Finding, p: &Paint, out: &mut dyn Write) -> io::Result<()> {
    let c = &f.checks;
    let mut facts = Vec::new();
    if let Some(v) = &c.checksum {
        facts.push(format!("checksum {v}"));
    }
    if let Some(e) = &c.expires {
        facts.push(if c.expired {
            format!("expired {e}")
        } else {
            format!("expires {e}")
        });
    }
    if let Some(r) = &c.role {
        facts.push(format!("role {}", escape(r)));
    }
    if let Some(a) = &c.aws_account {
        facts.push(format!("AWS account {a} (decoded from the key id)"));
    }
    if !facts.is_empty() {
        writeln!(out, "  offline: {}", facts.join(", "))?;
    }
    let Some(v) = &f.verification else {
        return Ok(());
    };
    let status = match v.status {
        VerifyStatus::Live => p.wrap("1;31", "LIVE"),
        VerifyStatus::Invalid => p.wrap("32", "invalid"),
        s => s.as_str().to_string(),
    };
    let mut line = format!("  verified ({}): {status}", escape(&v.provider));
    if let Some(who) = &v.identity {
        line.push_str(&format!(" as {}", escape(who)));
    }
    if !v.scopes.is_empty() {
        line.push_str(&format!("; scopes: {}", escape(&v.scopes.join(", "))));
    }
    if v.over_privileged {
        line.push_str(&format!("; {}", p.wrap("1;31", "OVER-PRIVILEGED")));
    }
    writeln!(out, "{line}")?;
    writeln!(out, "    {}", escape(&v.detail))?;
    if v.status == VerifyStatus::Live {
        if let Some(url) = &f.revoke {
            writeln!(out, "    live: rotate it now at {}", escape(url))?;
        }
    }
    Ok(())
}

/// Diagnostics printed on the terminal before the rest are counted.
const MAX_DIAGNOSTICS: usize = 50;

/// Problems that did not stop the scan: printed even with `--quiet`. A partial clone or a
/// damaged pack can mean thousands of unreadable objects: the terminal gets the first ones,
/// the JSON and SARIF reports get them all.
fn diagnostics(outcome: &ScanOutcome, status: &mut dyn Write) -> io::Result<()> {
    for d in outcome.diagnostics.iter().take(MAX_DIAGNOSTICS) {
        writeln!(
            status,
            "leakhound: {}: {}",
            escape(&d.subject),
            escape(&d.message)
        )?;
    }
    if let Some(more) = outcome.diagnostics.len().checked_sub(MAX_DIAGNOSTICS) {
        if more > 0 {
            writeln!(
                status,
                "leakhound: ... and {more} more diagnostics (--format json lists them all)"
            )?;
        }
    }
    Ok(())
}

fn summary(outcome: &ScanOutcome, status: &mut dyn Write) -> io::Result<()> {
    let s = &outcome.stats;
    let mut counts = Vec::new();
    for sev in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ] {
        let n = outcome
            .findings
            .iter()
            .filter(|f| f.severity == sev)
            .count();
        if n > 0 {
            counts.push(format!("{n} {}", sev.as_str()));
        }
    }
    let n = outcome.findings.len();
    let unreadable = outcome.unreadable();
    let findings = if n == 0 && unreadable > 0 {
        format!(
            "scan incomplete: {unreadable} file(s) or object(s) could not be read (listed above); nothing found in what was read"
        )
    } else if n == 0 {
        "no secrets found".to_string()
    } else {
        format!(
            "{n} finding{} ({})",
            if n == 1 { "" } else { "s" },
            counts.join(", ")
        )
    };
    let findings = if s.baselined > 0 {
        format!("{findings} ({} accepted in the baseline)", s.baselined)
    } else {
        findings
    };
    let skipped: u64 = s.files_skipped.values().sum();
    let skipped = if skipped == 0 {
        String::new()
    } else {
        let parts: Vec<String> = s
            .files_skipped
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        format!(", skipped {skipped} ({})", parts.join(", "))
    };
    // The AI line means something only where AI agents wrote some of the commits.
    if let Some(ai) = s.ai.as_ref().filter(|ai| ai.commits_ai > 0) {
        let rate = |r: Option<f64>| r.map_or_else(|| "-".to_string(), |r| format!("{r}"));
        let tools: Vec<String> = ai
            .by_tool
            .iter()
            .map(|(tool, t)| {
                format!(
                    "{} {} commits, {} findings",
                    escape(tool),
                    t.commits,
                    t.findings
                )
            })
            .collect();
        writeln!(
            status,
            "leakhound: AI-tagged commits {} of {}; findings per 1,000 commits: AI-tagged {}, others {}{}",
            ai.commits_ai,
            ai.commits_ai + ai.commits_other,
            rate(ai.per_1000_ai),
            rate(ai.per_1000_other),
            if tools.is_empty() {
                String::new()
            } else {
                format!(" ({})", tools.join("; "))
            }
        )?;
    }
    if let Some(v) = &s.verified {
        writeln!(
            status,
            "leakhound: verified {} credential(s) with their providers: {} live ({} over-privileged), {} invalid, {} unknown, {} error; {} finding(s) have no check",
            v.checked, v.live, v.over_privileged, v.invalid, v.unknown, v.error, v.unverifiable
        )?;
    }
    if let Some(n) = s.repositories {
        return writeln!(
            status,
            "leakhound: {findings}; merged from {n} repositor{}: {} file(s) or blob(s) ({}){skipped}",
            if n == 1 { "y" } else { "ies" },
            s.files_scanned,
            human_bytes(s.bytes_scanned)
        );
    }
    writeln!(
        status,
        "leakhound: {findings}; scanned {}{} {}{} ({}){skipped} with {} rules in {:.0?}",
        s.commits.map_or(String::new(), |c| format!(
            "{c} commit{}, ",
            if c == 1 { "" } else { "s" }
        )),
        s.files_scanned,
        if s.commits.is_some() { "blob" } else { "file" },
        if s.files_scanned == 1 { "" } else { "s" },
        human_bytes(s.bytes_scanned),
        s.rules,
        s.elapsed
    )
}

/// `1536` -> `1.5 KiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates() {
        assert_eq!(super::date(0), "1970-01-01");
        assert_eq!(super::date(1_767_225_600), "2026-01-01");
        assert_eq!(super::date(951_782_400), "2000-02-29");
    }
}
