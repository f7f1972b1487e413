//! Renderer snapshots: a hand-built outcome through each format, in process.
//! Update with `cargo insta review` (or INSTA_UPDATE=always) and review the diff.

use leakhound::detect::TextLocation;
use leakhound::finding::{Finding, Fingerprint, Secret};
use leakhound::report::{render, Format, RenderOptions};
use leakhound::rules::{Precision, RuleSet, Severity};
use leakhound::scan::{Diagnostic, ScanOutcome, Stats};

fn finding(rule_id: &str, path: &str, line: usize, secret: &str, show: bool) -> Finding {
    let rules = RuleSet::builtin().expect("rules");
    let rule = rules.get(rule_id).expect("rule exists");
    Finding {
        repository: None,
        rule_id: rule_id.into(),
        rule_name: rule.spec.name.clone(),
        severity: rule.spec.severity,
        context: None,
        weak: None,
        decoded: Vec::new(),
        related: Vec::new(),
        precision: rule.spec.precision,
        path: path.into(),
        path_bytes: None,
        location: TextLocation {
            line,
            column: 14,
            end_line: line,
            end_column: 14 + secret.len(),
        },
        secret: Secret::new(secret.into(), show),
        fingerprint: Fingerprint::new(rule_id, secret.as_bytes()),
        legacy_fingerprint: None,
        entropy: 4.5,
        blast_radius: rule.spec.blast_radius.clone(),
        revoke: rule.spec.revoke.clone(),
        before: "GITHUB_TOKEN=".into(),
        after: "  # ci".into(),
        commit: None,
        present_at_head: None,
        also_in: Vec::new(),
        existing: false,
        ai: None,
        ai_policy: false,
        exposure: None,
        baseline_expired: None,
        checks: Default::default(),
        matched: String::new(),
        line: String::new(),
        verification: None,
    }
}

fn outcome(show: bool) -> ScanOutcome {
    let mut stats = Stats {
        files_scanned: 7,
        bytes_scanned: 4096,
        rules: 3,
        ..Stats::default()
    };
    stats.files_skipped.insert("binary", 1);
    ScanOutcome {
        findings: vec![
            finding(
                "github.pat_classic",
                "ci/deploy.env",
                3,
                "ghp_FakeTokenForRendererSnapshot0000AAAA",
                show,
            ),
            finding("generic.password", "src/db.py", 12, "Rend3r!Snapsh0t", show),
        ],
        diagnostics: vec![Diagnostic {
            subject: "big.min.js".into(),
            message: "skipped: larger than --max-file-size (10485760 bytes)".into(),
        }],
        stats,
        ..ScanOutcome::default()
    }
}

fn rendered(format: Format, show: bool) -> (String, String) {
    let rules = RuleSet::builtin().expect("rules");
    let (mut out, mut status) = (Vec::new(), Vec::new());
    render(
        &outcome(show),
        &rules,
        format,
        RenderOptions {
            color: false,
            ..RenderOptions::default()
        },
        &mut out,
        &mut status,
    )
    .expect("render");
    (
        String::from_utf8(out).expect("utf8"),
        String::from_utf8(status).expect("utf8"),
    )
}

#[test]
fn text() {
    let (out, status) = rendered(Format::Text, false);
    insta::assert_snapshot!(out);
    insta::assert_snapshot!("text_status", status);
}

#[test]
fn json() {
    insta::assert_snapshot!(rendered(Format::Json, false).0);
}

#[test]
fn jsonl() {
    insta::assert_snapshot!(rendered(Format::Jsonl, false).0);
}

#[test]
fn sarif() {
    insta::assert_snapshot!(rendered(Format::Sarif, false).0);
}

#[test]
fn secrets_are_redacted_unless_shown() {
    for format in [Format::Text, Format::Json, Format::Jsonl, Format::Sarif] {
        let (hidden, _) = rendered(format, false);
        assert!(
            !hidden.contains("FakeTokenForRendererSnapshot"),
            "{format:?}"
        );
        assert!(!hidden.contains("Rend3r!Snapsh0t"), "{format:?}");
    }
    let (shown, _) = rendered(Format::Json, true);
    assert!(shown.contains("ghp_FakeTokenForRendererSnapshot0000AAAA"));
}

#[test]
fn severity_orders_low_to_critical() {
    assert!(Severity::Critical > Severity::High && Severity::Medium > Severity::Low);
    assert!(Precision::High > Precision::Low);
}

/// What is the same for every finding of a rule in a file (blast radius, where to rotate) is
/// said once; the status summary comes after the findings are flushed, and `quiet` drops it.
#[test]
fn repeated_text_folds_and_quiet_drops_the_summary() {
    let mut o = outcome(false);
    o.findings.insert(
        1,
        finding(
            "github.pat_classic",
            "ci/deploy.env",
            9,
            "ghp_FakeTokenForRendererSnapshot0000BBBB",
            false,
        ),
    );
    let rules = RuleSet::builtin().expect("rules");
    let (mut out, mut status) = (Vec::new(), Vec::new());
    render(
        &o,
        &rules,
        Format::Text,
        RenderOptions::default(),
        &mut out,
        &mut status,
    )
    .expect("render");
    let text = String::from_utf8(out).expect("utf-8");
    let blast = &o.findings[0].blast_radius;
    assert_eq!(text.matches(blast.as_str()).count(), 1, "{text}");
    assert_eq!(
        text.matches("rotate: https://github.com/settings/tokens")
            .count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("(as above)").count(), 1, "{text}");
    assert!(String::from_utf8_lossy(&status).contains("3 findings"));

    let (mut out, mut status) = (Vec::new(), Vec::new());
    let quiet = RenderOptions {
        quiet: true,
        ..RenderOptions::default()
    };
    render(&o, &rules, Format::Text, quiet, &mut out, &mut status).expect("render");
    let status = String::from_utf8(status).expect("utf-8");
    assert!(!status.contains("findings"), "{status}");
    assert!(status.contains("big.min.js"), "diagnostics stay: {status}");
}
