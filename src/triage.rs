//! Triage: candidate + origin + policy -> finding, or the reason there is none. The only
//! place where organisation policy (precision floor, severity, later AI thresholds and
//! allowlists) and file-type knowledge apply.

use crate::config::Config;
use crate::detect::Candidate;
use crate::finding::{Finding, Fingerprint, Secret};
use crate::rules::Rule;
use crate::source::Origin;

/// Languages in which `'...'` is a character literal, so a multi-character single-quoted
/// value cannot be a string (and so cannot be a credential string).
const CHAR_LITERAL_LANGS: &[&str] = &[
    "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "java", "cs", "go", "rs", "kt", "kts", "swift",
    "scala",
];

/// `.gitleaksignore`: its lines name findings by path and rule, which generic rules would
/// otherwise read as `path:password-rule` assignments.
fn is_fingerprint_list(path: &str) -> bool {
    path.rsplit('/').next() == Some(".gitleaksignore")
}

/// Decides whether a candidate becomes a finding, and how severe it is.
pub fn triage(
    candidate: &Candidate,
    rule: &Rule,
    origin: &Origin,
    config: &Config,
) -> Result<Finding, String> {
    if is_fingerprint_list(origin.path()) {
        return Err(
            "a .gitleaksignore lists fingerprints (commit:path:rule:line), not secrets".into(),
        );
    }
    match rule.applies_to(origin.path()) {
        Ok(true) => {}
        Ok(false) => return Err("the path does not match the rule's `path` pattern".into()),
        Err(e) => return Err(e),
    }
    let ai = origin
        .commit()
        .and_then(|c| config.signals.classify(c.as_ref().into()))
        .or_else(|| config.session.clone());
    let strict = config.ai.applies(ai.as_ref());
    let ai_note = if strict || config.ai.mode == crate::ai::AiMode::Off {
        ""
    } else {
        " (it would be reported for AI-authored work)"
    };
    let floor = if strict && config.ai.all_rules {
        crate::rules::Precision::Low
    } else {
        config.thresholds.min_precision
    };
    if rule.spec.precision < floor {
        return Err(format!(
            "rule precision {} is below the reporting floor {}{ai_note}",
            rule.spec.precision.as_str(),
            floor.as_str()
        ));
    }
    if let Some(min) = rule.spec.min_entropy {
        let min = if strict {
            min - config.ai.entropy_relief
        } else {
            min
        };
        if candidate.entropy < min && !rule.spec.report_weak {
            return Err(format!(
                "entropy {:.2} below the rule's floor {min}{ai_note}",
                candidate.entropy
            ));
        }
    }
    if rule.spec.catch_all && is_char_literal(candidate, origin.path()) {
        return Err("single-quoted text is a character literal in this language".into());
    }
    if config.markers {
        if let Some(why) = crate::allow::marker(candidate, rule.id()) {
            return Err(why);
        }
    }
    let commit_id = origin.commit().map(|c| c.id.as_str());
    if let Some(why) = config.allow.allows(crate::allow::Subject {
        rule,
        candidate,
        path: origin.path(),
        commit: commit_id,
    }) {
        return Err(why);
    }
    let secret = String::from_utf8_lossy(&candidate.secret).into_owned();
    // Only a precise rule for a machine-made format (a provider token, a hash string) vouches
    // that the value was generated, not chosen: not generic context rules, not passwords.
    let generated = rule.spec.precision >= crate::rules::Precision::High
        && !rule.spec.report_weak
        && !rule.spec.id.contains("pass");
    let weak = candidate.weak.clone().or_else(|| {
        let floor = rule.spec.min_entropy?;
        (rule.spec.report_weak && candidate.entropy < floor)
            .then(|| format!("low entropy ({:.2})", candidate.entropy))
    });
    // A weak value in a credential context is still a credential, a guessable one.
    let severity = if weak.is_some() {
        rule.spec.severity.lower()
    } else {
        rule.spec.severity
    };
    Ok(Finding {
        repository: None,
        rule_id: rule.spec.id.clone(),
        rule_name: rule.spec.name.clone(),
        severity,
        context: candidate.name.clone(),
        weak,
        decoded: candidate.decoded.iter().map(|e| e.as_str()).collect(),
        related: Vec::new(),
        precision: rule.spec.precision,
        path: origin.path().to_string(),
        path_bytes: origin.raw_path().cloned(),
        location: candidate.location,
        fingerprint: fingerprint(candidate, rule, origin, config, generated),
        legacy_fingerprint: Fingerprint::legacy(
            &rule.spec.id,
            &candidate.secret,
            config.fingerprint_key.as_deref(),
            generated,
        ),
        secret: Secret::new(secret, config.show_secrets),
        entropy: (candidate.entropy * 100.0).round() / 100.0,
        blast_radius: rule.spec.blast_radius.clone(),
        revoke: rule.spec.revoke.clone(),
        before: candidate.before.clone(),
        after: candidate.after.clone(),
        matched: candidate.matched.clone(),
        line: candidate.line.clone(),
        commit: origin.commit().cloned(),
        present_at_head: None,
        also_in: Vec::new(),
        existing: false,
        ai,
        ai_policy: strict,
        baseline_expired: None,
        checks: Default::default(),
        verification: None,
        exposure: match origin {
            Origin::File { path, .. } => config
                .exposure
                .as_ref()
                .and_then(|c| c.of(std::path::Path::new(path))),
            _ => None,
        },
    })
}

fn is_char_literal(c: &Candidate, path: &str) -> bool {
    let ext = path.rsplit_once('.').map_or("", |(_, e)| e);
    CHAR_LITERAL_LANGS.contains(&ext.to_ascii_lowercase().as_str())
        && c.secret.len() > 1
        && c.before.ends_with('\'')
        && c.after.starts_with('\'')
}

/// The finding's fingerprint. A guessable secret's is deliberately slow to derive; a cached
/// history scan finds the ones it derived before by place (blob, rule, span).
fn fingerprint(
    candidate: &Candidate,
    rule: &Rule,
    origin: &Origin,
    config: &Config,
    generated: bool,
) -> Fingerprint {
    let derive = || {
        Fingerprint::derive(
            &rule.spec.id,
            &candidate.secret,
            config.fingerprint_key.as_deref(),
            generated,
        )
    };
    let (Some(book), Some(blob)) = (config.fingerprint_book.as_deref(), origin.blob()) else {
        return derive();
    };
    let place = crate::finding::Place {
        blob,
        rule: rule.spec.id.clone(),
        span: (
            candidate.secret_span.start as u64,
            candidate.secret_span.end as u64,
        ),
    };
    if let Some(f) = book.get(&place) {
        return f;
    }
    let f = derive();
    if crate::finding::guessable(&candidate.secret, generated) {
        book.insert(place, f.clone());
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::TextLocation;
    use crate::rules::{parse_rules, Format};

    fn rule(catch_all: bool, precision: &str) -> Rule {
        let text = format!(
            "[[rule]]\nid = \"generic.password\"\nname = \"p\"\nkeywords = [\"pass\"]\nregex = '(?P<secret>x)'\nseverity = \"high\"\nprecision = \"{precision}\"\ncatch_all = {catch_all}\nblast_radius = \"b\"\nexamples.positive = [\"x\"]\nexamples.negative = [\"y\"]\n"
        );
        parse_rules(&text, "t", Format::Toml)
            .expect("rule")
            .remove(0)
    }

    fn candidate(before: &str, after: &str) -> Candidate {
        Candidate {
            rule: 0,
            span: 0..1,
            secret_span: 0..1,
            secret: b"s3cret!x".to_vec(),
            entropy: 3.0,
            location: TextLocation::default(),
            before: before.into(),
            after: after.into(),
            line: format!("{before}s3cret!x{after}"),
            prev_line: String::new(),
            matched: "s3cret!x".into(),
            name: None,
            weak: None,
            decoded: Vec::new(),
        }
    }

    fn file(path: &str) -> Origin {
        Origin::File {
            path: path.into(),
            raw: None,
        }
    }

    #[test]
    fn triage_table() {
        let cfg = Config::default();
        let cases = [
            // (catch_all, precision, before, after, path, reported)
            (true, "medium", "pw = '", "';", "a.c", false),
            (true, "medium", "pw = '", "';", "a.py", true),
            (true, "medium", "pw = \"", "\";", "a.c", true),
            (false, "high", "pw = '", "';", "a.java", true),
            (true, "low", "pw = \"", "\"", "a.py", false),
        ];
        for (catch_all, precision, before, after, path, reported) in cases {
            let got = triage(
                &candidate(before, after),
                &rule(catch_all, precision),
                &file(path),
                &cfg,
            );
            assert_eq!(
                got.is_ok(),
                reported,
                "{catch_all} {precision} {before} {path}: {got:?}"
            );
        }
    }
}
