//! Triage: candidate + origin + policy -> finding (or nothing). The only place where
//! organisation policy (precision floor, severity, later AI thresholds and allowlists) applies.

use crate::config::Config;
use crate::detect::Candidate;
use crate::finding::{Finding, Fingerprint, Secret};
use crate::rules::Rule;
use crate::source::Origin;

/// Decides whether a candidate becomes a finding, and how severe it is.
pub fn triage(
    candidate: &Candidate,
    rule: &Rule,
    origin: &Origin,
    config: &Config,
) -> Option<Finding> {
    if rule.spec.precision < config.thresholds.min_precision {
        return None;
    }
    let secret = String::from_utf8_lossy(&candidate.secret).into_owned();
    Some(Finding {
        rule_id: rule.spec.id.clone(),
        rule_name: rule.spec.name.clone(),
        severity: rule.spec.severity,
        precision: rule.spec.precision,
        path: origin.path().to_string(),
        location: candidate.location,
        fingerprint: Fingerprint::new(&rule.spec.id, &candidate.secret),
        secret: Secret::new(secret, config.show_secrets),
        entropy: (candidate.entropy * 100.0).round() / 100.0,
        blast_radius: rule.spec.blast_radius.clone(),
        before: candidate.before.clone(),
        after: candidate.after.clone(),
    })
}
