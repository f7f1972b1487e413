//! Findings: what reporters see. A finding owns its secret but only ever shows it redacted
//! unless the caller asks otherwise.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ai::exposure::FileExposure;
use crate::ai::AiTag;
use crate::source::CommitInfo;

pub use crate::detect::{redact, redaction_prefix_len, TextLocation};
pub use crate::rules::{Precision, Severity};

/// A reported secret. It reads back from leakhound's own JSON (`leakhound merge`): what JSON
/// does not carry (the line around the secret, an older fingerprint) comes back empty, and the
/// secret comes back as it was printed (redacted unless the report showed it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The repository, when the scan was given one (`--repository`) or the report was merged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Rule id, e.g. `github.pat`.
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Severity after triage.
    pub severity: Severity,
    /// What the context calls the secret, for rules that read it (`shodan_api_key` for a
    /// generic API key): names the provider when no rule of its own does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// Why the value is weak (a default, a dictionary word, low entropy), for credential
    /// contexts where even a weak value is a guessable credential; severity is one step lower.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak: Option<String>,
    /// The other parts of the same credential found nearby (an AWS key id with its secret).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<Related>,
    /// The decodings that revealed the secret, outermost first (`["base64"]`); the location
    /// is the encoded text's.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "decoded_names"
    )]
    pub decoded: Vec<&'static str>,
    /// Rule precision.
    pub precision: Precision,
    /// Display path, `/`-separated.
    pub path: String,
    /// The exact bytes of a path that is not UTF-8 (`path` shows U+FFFD there), as
    /// lowercase hex in JSON: two such names never collide.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "hex_bytes",
        deserialize_with = "unhex_bytes"
    )]
    pub path_bytes: Option<crate::source::RawPath>,
    /// Where in the file.
    #[serde(flatten)]
    pub location: TextLocation,
    /// The secret, redacted unless shown on request.
    pub secret: Secret,
    /// Stable id: hash of rule id and secret. Survives edits and moves.
    pub fingerprint: Fingerprint,
    /// The plain-hash fingerprint older releases gave a guessable secret, for baselines
    /// written by them (never serialised).
    #[serde(skip)]
    pub legacy_fingerprint: Option<Fingerprint>,
    /// Shannon entropy of the secret.
    pub entropy: f64,
    /// What an attacker can do with it.
    pub blast_radius: String,
    /// Where the owner revokes or rotates this credential (the rule's `revoke`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<String>,
    /// Line text before the secret (same line).
    #[serde(skip)]
    pub before: String,
    /// Line text after the secret (same line).
    #[serde(skip)]
    pub after: String,
    /// The rule's whole match, for verifiers that read the secret's context (the
    /// `client_email` of a service-account key).
    #[serde(skip)]
    pub matched: String,
    /// The whole line the secret starts on (at most 4 KiB, not redacted: never printed), for
    /// verifiers that need the rest of a URI or connection string.
    #[serde(skip)]
    pub line: String,
    /// History scans: the commit that introduced the secret at this path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<Arc<CommitInfo>>,
    /// History scans: whether the secret is still in the tree of HEAD.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present_at_head: Option<bool>,
    /// History scans: the other places (later versions, other commits) the secret appears.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_in: Vec<Occurrence>,
    /// Staged scans: the secret was already committed at this path, so it does not block.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub existing: bool,
    /// The AI agent that wrote the commit (history), or the agent session / AI trailer at
    /// commit time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiTag>,
    /// The stricter AI policy (`[ai]`) applied to this finding.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ai_policy: bool,
    /// Working tree: which AI agents' file tools would read this file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposure: Option<FileExposure>,
    /// The baseline accepted this finding until this date, which has passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline_expired: Option<String>,
    /// What was checked without the network (the checksum, a JWT's expiry, the AWS account a
    /// key id names): in every mode.
    #[serde(default, skip_serializing_if = "Checks::is_empty")]
    pub checks: Checks,
    /// What the provider said (`--verify` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
}

/// The offline tier: facts read from the secret itself, no network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checks {
    /// `valid` when the secret's own checksum (GitHub, npm, GitLab routable tokens) matched:
    /// it was generated by the provider, not typed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
    /// A JWT's `exp`, as an RFC 3339 UTC time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// The JWT's `exp` has passed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub expired: bool,
    /// The AWS account id an access key id encodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_account: Option<String>,
    /// The `role` claim of a JWT (Supabase `service_role` / `anon`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl Checks {
    /// Nothing was learned.
    pub fn is_empty(&self) -> bool {
        self == &Checks::default()
    }
}

/// What verification concluded about a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerifyStatus {
    /// The provider accepted it.
    Live,
    /// The provider rejected it (revoked, expired, never valid).
    Invalid,
    /// Could not be decided (missing context, a refused address, an answer that says neither).
    Unknown,
    /// The check failed (network, TLS, timeout, a malformed or oversized answer).
    Error,
}

impl VerifyStatus {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyStatus::Live => "live",
            VerifyStatus::Invalid => "invalid",
            VerifyStatus::Unknown => "unknown",
            VerifyStatus::Error => "error",
        }
    }
}

/// The provider's answer about one credential (`--verify`). Never holds a response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verification {
    /// Live, invalid, unknown or error.
    pub status: VerifyStatus,
    /// Whom the credential acts as (a login, an account, an ARN), when the provider says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
    /// The permissions the provider reports for it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub scopes: Vec<String>,
    /// It can do more than its use needs, or holds destructive or admin rights (`detail`
    /// says why).
    #[serde(default)]
    pub over_privileged: bool,
    /// Why: the reason for the status, the limitation, what makes it over-privileged.
    pub detail: String,
    /// The provider asked (the rule's `[rule.verify] provider`).
    pub provider: String,
}

/// The names decodings are shown by, back from a report (an unknown name reads as "encoded").
fn decoded_names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<&'static str>, D::Error> {
    let names: Vec<String> = Vec::deserialize(d)?;
    Ok(names
        .iter()
        .map(|n| crate::detect::decode::Encoding::named(n).map_or("encoded", |e| e.as_str()))
        .collect())
}

fn unhex_bytes<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<crate::source::RawPath>, D::Error> {
    let Some(text) = Option::<String>::deserialize(d)? else {
        return Ok(None);
    };
    let bytes: Option<Vec<u8>> = (text.len() % 2 == 0)
        .then(|| {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten();
    bytes
        .map(|b| Some(b.into()))
        .ok_or_else(|| serde::de::Error::custom("path_bytes is not hex"))
}

fn hex_bytes<S: serde::Serializer>(
    raw: &Option<crate::source::RawPath>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match raw {
        Some(b) => s.serialize_str(&hex(b)),
        None => s.serialize_none(),
    }
}

/// Another part of a multi-part credential, found near a finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Related {
    /// Its rule.
    pub rule_id: String,
    /// Its line.
    pub line: usize,
    /// Its fingerprint (the finding is reported on its own too).
    pub fingerprint: String,
}

/// Another place a secret appears.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Occurrence {
    /// The repository (merged reports: the same secret in another repository).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
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

impl<'de> Deserialize<'de> for Secret {
    /// A secret read back from a report is what the report printed: shown as it is.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
        Ok(Secret::new(String::deserialize(d)?, true))
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

/// A stable, one-way id of a secret under a rule: 32 hex digits. It survives edits and moves
/// and is the same on every machine, so baselines and SARIF alert tracking can rely on it.
///
/// A secret that could be guessed gets a deliberately slow, salted derivation (Argon2id,
/// [`SLOW_PARAMS`]), so that a published report or baseline does not give it away to a
/// dictionary search in milliseconds: anything a person may have chosen (found by a generic
/// or lower-precision rule: passwords, connection strings) and any value with fewer than
/// [`GUESSABLE_BITS`] of possible strength. Tokens in a provider's generated format (found by
/// a high-precision rule) with more get SHA-256, which no search can invert. With a
/// fingerprint key (`LEAKHOUND_FINGERPRINT_KEY`) every fingerprint is keyed and none can be
/// checked against guesses without the key. docs/security.md has the threat model and the
/// measured cost.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

/// Where a secret sits: the key of a [`FingerprintBook`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Place {
    /// The blob.
    pub blob: crate::source::BlobId,
    /// The rule id.
    pub rule: String,
    /// The secret's byte span in the blob.
    pub span: (u64, u64),
}

/// Slow fingerprints already derived, by the place of their secret, kept by the history
/// cache so that a warm scan does not derive them again. Keyed by place, not by secret:
/// nothing in it can be checked against a guess (a blob id hashes the whole file).
#[derive(Debug, Default)]
pub struct FingerprintBook {
    map: std::sync::Mutex<std::collections::HashMap<Place, Fingerprint>>,
}

impl FingerprintBook {
    /// A book holding `entries`.
    pub fn new(entries: impl IntoIterator<Item = (Place, Fingerprint)>) -> FingerprintBook {
        FingerprintBook {
            map: std::sync::Mutex::new(entries.into_iter().collect()),
        }
    }

    /// The fingerprint derived for the secret at `place`.
    pub fn get(&self, place: &Place) -> Option<Fingerprint> {
        self.map.lock().ok()?.get(place).cloned()
    }

    /// Remembers a derived fingerprint.
    pub fn insert(&self, place: Place, fingerprint: Fingerprint) {
        if let Ok(mut m) = self.map.lock() {
            m.insert(place, fingerprint);
        }
    }

    /// Every entry, sorted.
    pub fn entries(&self) -> Vec<(Place, Fingerprint)> {
        let mut all: Vec<(Place, Fingerprint)> = self
            .map
            .lock()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default();
        all.sort();
        all
    }
}

/// Below this many bits (length x log2 of the size of the character classes it uses) a
/// generated token still counts as guessable.
pub const GUESSABLE_BITS: f64 = 100.0;

/// Argon2id memory (KiB), passes and lanes of the slow derivation (about 25 ms a guess on
/// one core of the machines we measured; 19 MiB a guess on a GPU).
pub const SLOW_PARAMS: (u32, u32, u32) = (19 * 1024, 2, 1);

impl Fingerprint {
    /// The fingerprint of a secret in a provider's generated format, without a key.
    pub fn new(rule_id: &str, secret: &[u8]) -> Fingerprint {
        Fingerprint::derive(rule_id, secret, None, true)
    }

    /// The fingerprint of a secret under a rule, keyed with `key` when given. `generated`:
    /// the rule only matches machine-generated values (see [`guessable`]).
    pub fn derive(
        rule_id: &str,
        secret: &[u8],
        key: Option<&[u8]>,
        generated: bool,
    ) -> Fingerprint {
        if !guessable(secret, generated) {
            return Fingerprint(hex(&fast(rule_id, secret, key)[..16]));
        }
        static CACHE: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<[u8; 32], Fingerprint>>,
        > = std::sync::OnceLock::new();
        // The same password recurs across a history; the slow part runs once per process.
        let memo_key = fast(rule_id, secret, key);
        let cache = CACHE.get_or_init(Default::default);
        if let Some(f) = cache.lock().ok().and_then(|c| c.get(&memo_key).cloned()) {
            return f;
        }
        let f = Fingerprint(hex(&slow(rule_id, secret, key)));
        if let Ok(mut c) = cache.lock() {
            c.insert(memo_key, f.clone());
        }
        f
    }

    /// The fingerprint older releases gave a guessable secret (plain SHA-256), so that a
    /// baseline written by them still matches; `None` where the two agree or a key is used.
    pub fn legacy(
        rule_id: &str,
        secret: &[u8],
        key: Option<&[u8]>,
        generated: bool,
    ) -> Option<Fingerprint> {
        (key.is_none() && guessable(secret, generated))
            .then(|| Fingerprint(hex(&fast(rule_id, secret, None)[..16])))
    }
}

/// True when a dictionary or brute-force search could find the secret: a value a person may
/// have chosen (`generated` false), or one whose possible strength (length x log2 of the
/// size of the character classes it uses) is under [`GUESSABLE_BITS`].
pub fn guessable(secret: &[u8], generated: bool) -> bool {
    !generated || strength_bits(secret) < GUESSABLE_BITS
}

/// Length x log2 of the alphabet the value draws from (lowercase, uppercase, digits, other
/// printable ASCII, anything else), an upper bound on its entropy.
pub fn strength_bits(secret: &[u8]) -> f64 {
    let mut classes = [false; 5];
    for &b in secret {
        let class = match b {
            b'a'..=b'z' => 0,
            b'A'..=b'Z' => 1,
            b'0'..=b'9' => 2,
            0x21..=0x7e => 3,
            _ => 4,
        };
        classes[class] = true;
    }
    let size: u32 = [26, 26, 10, 32, 128]
        .iter()
        .zip(classes)
        .filter(|(_, used)| *used)
        .map(|(n, _)| n)
        .sum();
    secret.len() as f64 * f64::from(size.max(1)).log2()
}

fn fast(rule_id: &str, secret: &[u8], key: Option<&[u8]>) -> [u8; 32] {
    let mut h = Sha256::new();
    if let Some(k) = key {
        h.update(b"leakhound-keyed-fingerprint\0");
        h.update((k.len() as u64).to_le_bytes());
        h.update(k);
    }
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret);
    h.finalize().into()
}

thread_local! {
    /// One Argon2 work area per thread, reused by every slow fingerprint. A fresh 19 MiB
    /// allocation per call let glibc's heap grow without bound (a scan of 4,847 guessable
    /// secrets reached 24 GiB and was killed); reused, a thread holds 19 MiB. Argon2 writes
    /// every block before it reads it, so what a previous call left does not matter.
    static ARGON2_BLOCKS: std::cell::RefCell<Vec<argon2::Block>> =
        const { std::cell::RefCell::new(Vec::new()) };
}

fn slow(rule_id: &str, secret: &[u8], key: Option<&[u8]>) -> [u8; 16] {
    use argon2::{Algorithm, Argon2, Params, Version};
    // Fuzzing explores the code paths, not the cost: the smallest parameters keep it fast.
    let (m, t, p) = if cfg!(fuzzing) {
        (8, 1, 1)
    } else {
        SLOW_PARAMS
    };
    let params = Params::new(m, t, p, Some(16)).expect("constant Argon2 parameters are valid");
    let blocks = params.block_count();
    let salt = Sha256::digest(format!("leakhound-fingerprint-v2\0{rule_id}").as_bytes());
    let mut out = [0u8; 16];
    let argon = match key {
        Some(k) => Argon2::new_with_secret(k, Algorithm::Argon2id, Version::V0x13, params),
        None => Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params)),
    };
    // Errors are impossible here (valid parameters, 32-byte salt, 16-byte output), and a key
    // too long for Argon2 (over 4 GiB) cannot come from an environment variable.
    if let Ok(a) = argon {
        ARGON2_BLOCKS.with_borrow_mut(|work| {
            if work.len() < blocks {
                work.resize(blocks, argon2::Block::default());
            }
            let _ = a.hash_password_into_with_memory(secret, &salt, &mut out, &mut work[..blocks]);
        });
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl std::fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reused work area gives what a fresh allocation gives, call after call (a stale
    /// area from a longer or different secret must not change a fingerprint).
    #[test]
    fn reused_argon2_memory_gives_the_same_fingerprints() {
        use argon2::{Algorithm, Argon2, Params, Version};
        let (m, t, p) = SLOW_PARAMS;
        let fresh = |rule: &str, secret: &[u8]| {
            let params = Params::new(m, t, p, Some(16)).expect("params");
            let salt = Sha256::digest(format!("leakhound-fingerprint-v2\0{rule}").as_bytes());
            let mut out = [0u8; 16];
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(secret, &salt, &mut out)
                .expect("argon2");
            out
        };
        for (rule, secret) in [
            ("generic.password", &b"hunter2-but-longer"[..]),
            ("generic.password", &b"x"[..]),
            ("connection.postgres", &b"s3cr3t"[..]),
            ("generic.password", &b"hunter2-but-longer"[..]),
        ] {
            assert_eq!(slow(rule, secret, None), fresh(rule, secret), "{rule}");
        }
    }
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
    fn guessable_secrets_get_the_slow_fingerprint() {
        let weak = b"Summer2024!";
        let slow = Fingerprint::derive("generic.password", weak, None, false);
        let plain = Fingerprint::legacy("generic.password", weak, None, false).expect("weak");
        assert_ne!(slow, plain, "a weak secret must not get the plain hash");
        // Short enough to be guessed even in a generated format.
        assert_eq!(slow, Fingerprint::new("generic.password", weak));
        let keyed = Fingerprint::derive("generic.password", weak, Some(b"k1"), false);
        assert_ne!(keyed, slow);
        assert_ne!(
            keyed,
            Fingerprint::derive("generic.password", weak, Some(b"k2"), false)
        );
        let strong = b"ghp_Qm7vT2pLx9RkZ4nBw8YcJd3FhGs6Ua1Ve0Xi";
        assert!(!guessable(strong, true));
        assert!(guessable(strong, false), "a person may have chosen it");
        assert!(guessable(b"AB12", true), "short values are guessable");
        assert!(Fingerprint::legacy("github.pat", strong, None, true).is_none());
        assert_ne!(
            Fingerprint::derive("github.pat", strong, Some(b"k1"), true),
            Fingerprint::new("github.pat", strong)
        );
    }

    #[test]
    fn fingerprint_depends_on_rule_and_secret_only() {
        let a = Fingerprint::new("github.pat", b"ghp_x");
        assert_eq!(a, Fingerprint::new("github.pat", b"ghp_x"));
        assert_ne!(a, Fingerprint::new("github.oauth", b"ghp_x"));
        assert_eq!(a.0.len(), 32);
    }
}
