//! SARIF 2.1.0 for GitHub code scanning: rule metadata with help and `security-severity`,
//! repo-relative URIs, one location per result, our fingerprint, never the raw secret.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;
use serde_sarif::sarif;

use crate::finding::Finding;
use crate::rules::{Rule, RuleSet, Severity};
use crate::scan::ScanOutcome;

/// GitHub keeps at most this many results per run.
pub const MAX_RESULTS: usize = 25_000;

/// The key under which our fingerprint goes into `partialFingerprints`.
pub const FINGERPRINT_KEY: &str = "leakhound/v1";

/// GitHub's numeric scale: 9.0+ critical, 7.0-8.9 high, 4.0-6.9 medium, below that low.
pub fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn level(s: Severity) -> sarif::ResultLevel {
    match s {
        Severity::Critical | Severity::High => sarif::ResultLevel::Error,
        Severity::Medium => sarif::ResultLevel::Warning,
        Severity::Low => sarif::ResultLevel::Note,
    }
}

fn level_str(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "note",
    }
}

/// Writes the SARIF log.
pub fn render(outcome: &ScanOutcome, rules: &RuleSet, out: &mut dyn Write) -> io::Result<()> {
    let log = build(outcome, rules);
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

/// Builds the SARIF log in memory.
pub fn build(outcome: &ScanOutcome, rules: &RuleSet) -> sarif::Sarif {
    let truncated = outcome.findings.len() > MAX_RESULTS;
    let shown = &outcome.findings[..outcome.findings.len().min(MAX_RESULTS)];

    // Only the rules that have results, in id order, so the output is stable and small.
    let mut used: BTreeMap<&str, usize> = BTreeMap::new();
    for f in shown {
        used.insert(f.rule_id.as_str(), 0);
    }
    let mut descriptors = Vec::with_capacity(used.len());
    for (i, (id, slot)) in used.iter_mut().enumerate() {
        *slot = i;
        match rules.get(id) {
            Some(rule) => descriptors.push(descriptor(rule)),
            // A rule this binary does not have (a merged report from a scan with user
            // rules): a bare descriptor keeps every later `ruleIndex` pointing at its rule.
            None => descriptors.push(sarif::ReportingDescriptor::builder().id(*id).build()),
        }
    }
    let results: Vec<sarif::Result> = shown
        .iter()
        .map(|f| result(f, used.get(f.rule_id.as_str()).copied().unwrap_or(0)))
        .collect();

    let driver = sarif::ToolComponent::builder()
        .name("leakhound")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/leakhound/leakhound")
        .rules(descriptors)
        .build();
    let mut notes = Vec::new();
    if truncated {
        notes.push(
            sarif::Notification::builder()
                .message(&format!(
                    "{} findings; only the first {MAX_RESULTS} are in this file (GitHub's limit per run). Use --format json for all of them.",
                    outcome.findings.len()
                ))
                .level(json!("warning"))
                .build(),
        );
    }
    for d in &outcome.diagnostics {
        notes.push(
            sarif::Notification::builder()
                .message(&format!("{}: {}", d.subject, d.message))
                .level(json!("note"))
                .build(),
        );
    }
    // An incomplete scan (unreadable files or objects) did not do its job: say so.
    let complete = outcome.unreadable() == 0;
    let invocation = if notes.is_empty() {
        sarif::Invocation::builder()
            .execution_successful(complete)
            .build()
    } else {
        sarif::Invocation::builder()
            .execution_successful(complete)
            .tool_execution_notifications(notes)
            .build()
    };
    let run = sarif::Run::builder()
        .tool(driver)
        .results(results)
        .invocations(vec![invocation])
        .column_kind(json!("unicodeCodePoints"))
        .build();
    sarif::Sarif::builder()
        .schema("https://json.schemastore.org/sarif-2.1.0.json")
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build()
}

fn descriptor(rule: &Rule) -> sarif::ReportingDescriptor {
    let s = &rule.spec;
    let provider = s.id.split('.').next().unwrap_or(&s.id).to_string();
    let full = match &s.description {
        Some(d) => format!("{d} If leaked: {}", s.blast_radius),
        None => format!("{}. If leaked: {}", s.name, s.blast_radius),
    };
    let mut help_md = format!(
        "**{}** (`{}`)\n\nIf leaked: {}\n\nRevoke or rotate the credential at the provider first, then remove it from the code and its history, and load it from a secret store or the environment instead.",
        s.name, s.id, s.blast_radius
    );
    if !s.references.is_empty() {
        help_md.push_str("\n\nReferences:\n");
        for r in &s.references {
            help_md.push_str(&format!("- {r}\n"));
        }
    }
    let help_text = format!(
        "{} ({}). If leaked: {} Revoke or rotate it at the provider, then remove it from the code and history.",
        s.name, s.id, s.blast_radius
    );
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_string(),
        json!(security_severity(s.severity)),
    );
    props.insert(
        "precision".to_string(),
        json!(match s.precision {
            crate::rules::Precision::High => "very-high",
            crate::rules::Precision::Medium => "high",
            crate::rules::Precision::Low => "medium",
        }),
    );
    sarif::ReportingDescriptor::builder()
        .id(s.id.clone())
        .name(truncate(&s.name, 255))
        .short_description(
            sarif::MultiformatMessageString::builder()
                .text(truncate(&s.name, 1024))
                .build(),
        )
        .full_description(
            sarif::MultiformatMessageString::builder()
                .text(truncate(&full, 1024))
                .build(),
        )
        .help(
            sarif::MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_md)
                .build(),
        )
        .default_configuration(
            sarif::ReportingConfiguration::builder()
                .level(json!(level_str(s.severity)))
                .build(),
        )
        .properties(
            sarif::PropertyBag::builder()
                .tags(vec!["security".to_string(), "secret".to_string(), provider])
                .additional_properties(props)
                .build(),
        )
        .build()
}

fn result(f: &Finding, rule_index: usize) -> sarif::Result {
    let loc = &f.location;
    let region = sarif::Region::builder()
        .start_line(loc.line as i64)
        .start_column(loc.column as i64)
        .end_line(loc.end_line as i64)
        .end_column(loc.end_column as i64)
        .build();
    let physical = sarif::PhysicalLocation::builder()
        .artifact_location(
            sarif::ArtifactLocation::builder()
                .uri(match &f.path_bytes {
                    Some(raw) => uri_bytes(raw),
                    None => uri(&f.path),
                })
                .build(),
        )
        .region(region)
        .build();
    let mut fp = BTreeMap::new();
    fp.insert(FINGERPRINT_KEY.to_string(), f.fingerprint.0.clone());
    let mut props = BTreeMap::new();
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    props.insert("fingerprint".to_string(), json!(f.fingerprint.0));
    props.insert("secret".to_string(), json!(f.secret.display()));
    if let Some(c) = &f.commit {
        props.insert(
            "commit".to_string(),
            json!({
                "id": c.id,
                "author": format!("{} <{}>", c.author_name, c.author_email),
                "authorTime": c.author_time,
                "subject": c.subject,
            }),
        );
    }
    if let Some(name) = &f.context {
        props.insert("context".to_string(), json!(name));
    }
    if !f.related.is_empty() {
        props.insert("related".to_string(), json!(f.related));
    }
    if !f.decoded.is_empty() {
        props.insert("decoded".to_string(), json!(f.decoded));
    }
    if let Some(w) = &f.weak {
        props.insert("weak".to_string(), json!(w));
    }
    if let Some(at_head) = f.present_at_head {
        props.insert("presentAtHead".to_string(), json!(at_head));
    }
    if let Some(ai) = &f.ai {
        props.insert("ai".to_string(), json!(ai));
        props.insert("aiPolicy".to_string(), json!(f.ai_policy));
    }
    if let Some(e) = &f.exposure {
        props.insert("agentExposure".to_string(), json!(e));
    }
    if let Some(r) = &f.repository {
        props.insert("repository".to_string(), json!(r));
    }
    if f.also_in.iter().any(|o| o.repository.is_some()) {
        props.insert("alsoIn".to_string(), json!(f.also_in));
    }
    if let Some(url) = &f.revoke {
        props.insert("revoke".to_string(), json!(url));
    }
    if !f.checks.is_empty() {
        props.insert("checks".to_string(), json!(f.checks));
    }
    let live = f
        .verification
        .as_ref()
        .filter(|v| v.status == crate::finding::VerifyStatus::Live);
    if let Some(v) = &f.verification {
        props.insert("verification".to_string(), json!(v));
    }
    // A credential its provider accepts is an incident, whatever its rule's severity.
    if let Some(v) = live {
        props.insert(
            "security-severity".to_string(),
            json!(if v.over_privileged { "10.0" } else { "9.8" }),
        );
    }
    let verdict = match live {
        Some(v) if v.over_privileged => format!(
            " Verified LIVE and OVER-PRIVILEGED with {}: rotate it now.",
            v.provider
        ),
        Some(v) => format!(" Verified LIVE with {}: rotate it now.", v.provider),
        None => String::new(),
    };
    sarif::Result::builder()
        .rule_id(f.rule_id.clone())
        .rule_index(rule_index as i64)
        .level(if live.is_some() {
            sarif::ResultLevel::Error
        } else {
            level(f.severity)
        })
        .message(&format!(
            "{} found: {}. If leaked: {}{verdict}",
            f.rule_name,
            f.secret.display(),
            f.blast_radius
        ))
        .locations(vec![sarif::Location::builder()
            .physical_location(physical)
            .build()])
        .partial_fingerprints(fp)
        .properties(
            sarif::PropertyBag::builder()
                .additional_properties(props)
                .build(),
        )
        .build()
}

/// Percent-encodes a `/`-separated relative path into a URI reference (RFC 3986). `!`, a
/// sub-delimiter that path segments may hold as it is, stays readable: archive members are
/// `outer.zip!inner/path`.
pub fn uri(path: &str) -> String {
    uri_bytes(path.as_bytes())
}

/// [`uri`] of a path's exact bytes (a name that is not UTF-8 stays exact, `%FF`).
pub fn uri_bytes(path: &[u8]) -> String {
    let mut out = String::with_capacity(path.len());
    for &b in path {
        if b.is_ascii_alphanumeric() || b"-._~/!".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max - 1).collect();
        t.push('…');
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded_relative_paths() {
        assert_eq!(uri("src/a b.rs"), "src/a%20b.rs");
        assert_eq!(uri(".env"), ".env");
        assert_eq!(uri("dir/ü.txt"), "dir/%C3%BC.txt");
    }
}
