//! AI coding agents: which commits they wrote (`signals`), whether a commit is being made
//! inside an agent session (`session`), which files their tools can read (`exposure`), and
//! the stricter policy that applies to their work. Policy is data (`[ai]` in the config);
//! `triage` applies it.

pub mod exposure;
pub mod hook;
pub mod reach;
pub mod session;
pub mod signals;

use serde::{Deserialize, Serialize};

use crate::rules::Severity;
pub use signals::{AiTag, Confidence, Signals};

/// When the stricter AI policy applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AiMode {
    /// To commits tagged at `min_confidence` or above, and at commit time inside an agent
    /// session or under a message with an AI trailer.
    #[default]
    Auto,
    /// To everything scanned.
    Strict,
    /// Never (tags are still shown).
    Off,
}

impl AiMode {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AiMode::Auto => "auto",
            AiMode::Strict => "strict",
            AiMode::Off => "off",
        }
    }
}

/// The stricter thresholds for AI-authored work. Defaults and their reasons: docs/ai.md.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct AiPolicy {
    /// When it applies.
    pub mode: AiMode,
    /// Tags at or above this confidence get the policy (`low` is not allowed: low signals
    /// never tag).
    pub min_confidence: Confidence,
    /// Bits per byte taken off every rule's entropy floor.
    pub entropy_relief: f64,
    /// Report low-precision rules too (what `--all-rules` does for everything).
    pub all_rules: bool,
    /// Findings at or above this severity fail the run (the human threshold is `--fail-on`).
    pub fail_on: Severity,
}

impl Default for AiPolicy {
    fn default() -> AiPolicy {
        AiPolicy {
            mode: AiMode::Auto,
            min_confidence: Confidence::Medium,
            entropy_relief: 0.5,
            all_rules: true,
            fail_on: Severity::Low,
        }
    }
}

impl AiPolicy {
    /// Whether work with this tag (or none) gets the stricter thresholds.
    pub fn applies(&self, tag: Option<&AiTag>) -> bool {
        match self.mode {
            AiMode::Strict => true,
            AiMode::Off => false,
            AiMode::Auto => tag.is_some_and(|t| t.confidence >= self.min_confidence),
        }
    }

    /// Checks values a config file may get wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=4.0).contains(&self.entropy_relief) {
            return Err(format!(
                "entropy_relief = {} is out of range: use 0.0 to 4.0 bits (default 0.5)",
                self.entropy_relief
            ));
        }
        if self.min_confidence == Confidence::Low {
            return Err(
                "min_confidence = \"low\" is not allowed: low signals (branch names) never tag a commit; use \"medium\" or \"high\""
                    .into(),
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(confidence: Confidence) -> AiTag {
        AiTag {
            tool: "t".into(),
            signal: "t.s".into(),
            confidence,
            evidence: String::new(),
        }
    }

    #[test]
    fn modes() {
        let mut p = AiPolicy::default();
        assert!(p.applies(Some(&tag(Confidence::Medium))));
        assert!(!p.applies(None));
        p.min_confidence = Confidence::High;
        assert!(!p.applies(Some(&tag(Confidence::Medium))));
        p.mode = AiMode::Strict;
        assert!(p.applies(None));
        p.mode = AiMode::Off;
        assert!(!p.applies(Some(&tag(Confidence::High))));
    }

    #[test]
    fn validation_explains() {
        let p = AiPolicy {
            entropy_relief: 9.0,
            ..AiPolicy::default()
        };
        assert!(p.validate().expect_err("range").contains("0.0 to 4.0"));
    }
}
