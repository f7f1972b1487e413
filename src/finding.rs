//! Findings: what reporters see. A finding owns its secret but only ever shows it redacted
//! unless the caller asks otherwise.

use std::sync::Arc;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::ai::exposure::FileExposure;
use crate::ai::AiTag;
use crate::source::CommitInfo;

pub use crate::detect::TextLocation;
pub use crate::rules::{Precision, Severity};

/// A reported secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `github.pat`.
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Severity after triage.
    pub severity: Severity,
    /// Rule precision.
    pub precision: Precision,
    /// Display path, `/`-separated.
    pub path: String,
    /// Where in the file.
    #[serde(flatten)]
    pub location: TextLocation,
    /// The secret, redacted unless shown on request.
    pub secret: Secret,
    /// Stable id: hash of rule id and secret. Survives edits and moves.
    pub fingerprint: Fingerprint,
    /// Shannon entropy of the secret.
    pub entropy: f64,
    /// What an attacker can do with it.
    pub blast_radius: String,
    /// Line text before the secret (same line).
    #[serde(skip)]
    pub before: String,
    /// Line text after the secret (same line).
    #[serde(skip)]
    pub after: String,
    /// History scans: the commit that introduced the secret at this path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<Arc<CommitInfo>>,
    /// History scans: whether the secret is still in the tree of HEAD.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub present_at_head: Option<bool>,
    /// History scans: the other places (later versions, other commits) the secret appears.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<Occurrence>,
    /// Staged scans: the secret was already committed at this path, so it does not block.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
    /// The AI agent that wrote the commit (history), or the agent session / AI trailer at
    /// commit time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiTag>,
    /// The stricter AI policy (`[ai]`) applied to this finding.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub ai_policy: bool,
    /// Working tree: which AI agents' file tools would read this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure: Option<FileExposure>,
    /// The baseline accepted this finding until this date, which has passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_expired: Option<String>,
}

/// Another place a secret appears.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Occurrence {
    /// Commit id.
    pub commit: String,
    /// Path in that commit.
    pub path: String,
    /// Line of the secret there.
    pub line: usize,
}

/// A secret value with its display policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Secret {
    raw: String,
    show: bool,
}

impl Secret {
    /// Wraps a secret; `show` = print it in full.
    pub fn new(raw: String, show: bool) -> Secret {
        Secret { raw, show }
    }

    /// The value to print: in full when shown, otherwise [`redact`]ed.
    pub fn display(&self) -> String {
        if self.show {
            self.raw.clone()
        } else {
            redact(&self.raw)
        }
    }

    /// True when shown in full.
    pub fn shown(&self) -> bool {
        self.show
    }

    /// Length in characters.
    pub fn len(&self) -> usize {
        self.raw.chars().count()
    }

    /// True for an empty secret (never produced by detection).
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The raw value. Only for hashing and for `--show-secrets`.
    pub fn expose(&self) -> &str {
        &self.raw
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

/// How many leading characters redaction keeps: at most 4, and never more than a quarter.
pub fn redaction_prefix_len(len: usize) -> usize {
    (len / 4).min(4)
}

/// `ghp_…(40)`: a short prefix, then the length. Never reveals more than a quarter.
///
/// ```
/// assert_eq!(leakhound::finding::redact("ghp_0123456789abcdef"), "ghp_…(20)");
/// assert_eq!(leakhound::finding::redact("hunter2!"), "hu…(8)");
/// ```
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let keep: String = secret.chars().take(redaction_prefix_len(n)).collect();
    format!("{keep}…({n})")
}

/// Hex SHA-256 of `rule_id`, a NUL, and the secret, truncated to 128 bits.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

impl Fingerprint {
    /// Computes the fingerprint of a secret under a rule.
    pub fn new(rule_id: &str, secret: &[u8]) -> Fingerprint {
        let mut h = Sha256::new();
        h.update(rule_id.as_bytes());
        h.update([0u8]);
        h.update(secret);
        let digest = h.finalize();
        Fingerprint(digest[..16].iter().map(|b| format!("{b:02x}")).collect())
    }
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn redaction_never_reveals_more_than_its_prefix(s in "\\PC{0,80}") {
            let r = redact(&s);
            let n = s.chars().count();
            let keep = redaction_prefix_len(n);
            let shown: String = s.chars().take(keep).collect();
            prop_assert_eq!(r, format!("{shown}…({n})"));
            prop_assert!(keep <= 4 && keep * 4 <= n);
        }
    }

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        let a = Fingerprint::new("github.pat", b"ghp_x");
        assert_eq!(a, Fingerprint::new("github.pat", b"ghp_x"));
        assert_ne!(a, Fingerprint::new("github.oauth", b"ghp_x"));
        assert_eq!(a.0.len(), 32);
    }
}
