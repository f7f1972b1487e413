//! The on-disk rule format (TOML or YAML): plain serde types with no behaviour.
//! Building a usable `Rule` from these, and checking them, happens in `rules::mod`.

use serde::{Deserialize, Serialize};

/// The pattern an `assign` rule expands to. `{key}` and `{value}` are regex fragments.
///
/// The key may be followed by up to 24 identifier characters (`_API_KEY`), closing quotes or
/// brackets, a type annotation (`string`, `: str`), then an assignment operator (`=`, `:`,
/// `:=`, `::=`, `?=`, `.=`, `+=`, `=>`, or `>` closing an XML tag),
/// optional quotes, the value, and a terminator. One template covers env files, YAML, JSON,
/// TOML, INI, properties, HCL, XML, shell and most code.
pub const ASSIGN_TEMPLATE: &str = r#"(?im)(?:{key})[\w.\-]{0,24}?[\s'"`\])]{0,3}(?:[ \t]{1,4}(?:string|String|str|&str)\b|:[ \t]{0,3}(?:string|String|str|&str)\b[ \t]{0,3})?(?:=>|[:?.+]{0,3}=|:|>)[\s'"`@]{0,5}(?P<secret>{value})(?:[\s'"`;,)\]}<&\\]|$)"#;

/// One rule file: `[[rule]]` tables.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The rules in this file.
    pub rule: Vec<RuleSpec>,
}

/// One rule as written in a rule file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    /// Stable id, `provider.kind`. Never reused once published.
    pub id: String,
    /// Human name.
    pub name: String,
    /// What the credential is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Literals (lowercase) of which every true match contains at least one. Empty only for
    /// a file rule: one with a `path`, run over the whole of every file whose path matches.
    pub keywords: Vec<String>,
    /// Match the keywords with their case (then they may hold capitals): for token prefixes
    /// whose lowercase forms are everywhere in text (a Discord token's `MTA`/`NDE`/`ODE`
    /// against "index", "node", "mode").
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keywords_exact: bool,
    /// The full pattern, with a named `secret` group. Exclusive with `assign`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// A `key = value` rule expanded through [`ASSIGN_TEMPLATE`]. Exclusive with `regex`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assign: Option<AssignSpec>,
    /// Shannon entropy floor (bits per byte) a real secret of this kind always reaches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_entropy: Option<f64>,
    /// A checksum or structural check the secret must satisfy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    /// Regexes that veto a match: on the whole match, or on the secret alone.
    #[serde(default, skip_serializing_if = "Reject::is_empty")]
    pub reject: Reject,
    /// How bad a leak is.
    pub severity: Severity,
    /// How likely a match is a real credential; `low` rules are off unless enabled.
    #[serde(default)]
    pub precision: Precision,
    /// A structural or generic rule (JWT, URL password, `password = ...`) that does not name a
    /// provider: where its secret overlaps a provider rule's, the provider rule reports it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub catch_all: bool,
    /// What an attacker can do with the credential, in one line.
    pub blast_radius: String,
    /// Vendor documentation about the format.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    /// Rules whose findings are the other part of the same credential (an AWS key id and its
    /// secret): found within a few lines of each other, they are reported together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub partners: Vec<String>,
    /// Where the owner revokes or rotates this credential (the provider's page or doc).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoke: Option<String>,
    /// Examples that `rules check` runs through the full detector (required for built-in
    /// rules and rule files; optional for rules imported from a gitleaks config).
    #[serde(default, skip_serializing_if = "Examples::is_empty")]
    pub examples: Examples,
    /// Which capture group is the secret when the regex has no `secret` group: an index, or
    /// `"first"` for the first group that matched (gitleaks' default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_group: Option<SecretGroup>,
    /// Regex the file path must match for the rule to apply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// In a credential context (a netrc `password`, a wp-config `DB_PASSWORD`) any value is a
    /// credential: values that fail the entropy floor or look weak (defaults, dictionary
    /// words) are reported as weak findings (lower severity) instead of dropped. References
    /// and fillers are still dropped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub report_weak: bool,
    /// Skip the shared placeholder filter (a private key is a key whatever its comment
    /// says; a user's own rule that must not be overruled).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_placeholders: bool,
    /// Whether a match must contain a keyword (true, the default and what makes the
    /// prefilter sound) or only lie near one (rules imported from gitleaks).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub keyword_in_match: bool,
    /// How `--verify` asks the provider whether the credential is live (never used without
    /// `--verify`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify: Option<VerifySpec>,
}

/// `[rule.verify]`: one read-only request that tells whether a credential is live, whom it
/// acts as and what it may do. HTTP requests are data; signing schemes and database
/// handshakes are named by `kind` and written in code (`verify::sign`, `verify::db`).
///
/// Templates (`url`, header values, `basic`, `body`) take `{secret}`, `{endpoint}` (the
/// provider's base URL, or the user's `[verify.endpoints]` entry) and `{partner}` (the
/// secret of the first finding of a `needs` rule found with this one).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySpec {
    /// The provider: the `[verify.endpoints]` key, the rate-limit group, and what reports name.
    pub provider: String,
    /// The provider documentation the request follows.
    pub docs: String,
    /// `http` (the default: the request below), or a scheme written in code.
    #[serde(default)]
    pub kind: VerifyKind,
    /// The provider's base URL: `{endpoint}` in templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// HTTP method (GET by default; only GET and POST are allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// The URL template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Header templates.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
    /// HTTP Basic credentials: `[user, password]` templates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<[String; 2]>,
    /// Request body template, sent with `content_type`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// The body's media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Partner rules one of whose findings must accompany this one (an AWS key id needs its
    /// secret): the first found is `{partner}`; without one the status is `unknown`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    /// Statuses that mean live (default `[200]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live: Vec<u16>,
    /// Statuses that mean the provider rejected the credential (default `[401]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub invalid: Vec<u16>,
    /// Statuses that mean valid but not allowed this call: live, limited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub limited: Vec<u16>,
    /// A JSON field of a live-status answer that must hold one of `live_values` (Slack's
    /// `ok`); any other value means invalid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub live_field: Option<String>,
    /// The values of `live_field` that mean live (JSON text: `true`, `active`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub live_values: Vec<String>,
    /// Where whom it acts as is read: JSON paths (`login`, `result.email`, `orgs[].name`)
    /// or `header:<name>`; the values found are joined.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identity: Vec<String>,
    /// Where its permissions are read: a JSON path or `header:<name>` (comma-separated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<String>,
    /// Scopes that make a live credential over-privileged (a trailing `*` matches a prefix).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub risky_scopes: Vec<String>,
    /// Why a live credential of this kind is over-privileged whatever its scopes (a Stripe
    /// unrestricted live key, an account-wide token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub over_privileged: Option<String>,
}

/// How a credential is checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyKind {
    /// The HTTP request the spec describes.
    #[default]
    Http,
    /// AWS STS GetCallerIdentity, signed with SigV4 (key id + partner secret).
    AwsSts,
    /// A Google service-account key: a signed JWT exchanged for an access token.
    GoogleServiceAccount,
    /// An Azure Storage account key with its `AccountName`: Shared Key signed Get Blob
    /// Service Properties.
    AzureSharedKey,
    /// A PostgreSQL URI: authenticate, run nothing.
    Postgres,
    /// A MySQL URI: authenticate, run nothing.
    Mysql,
    /// A MongoDB URI: authenticate (SCRAM), run nothing.
    Mongodb,
    /// A Redis URI: AUTH, then `ACL WHOAMI`.
    Redis,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

/// A capture group chosen by number, or the first one that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(untagged)]
pub enum SecretGroup {
    /// Group number (0 = the whole match).
    Index(usize),
    /// `"first"`: the first group that matched.
    First(FirstGroup),
}

/// The word `first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FirstGroup {
    /// The first group that matched.
    First,
}

/// The two halves of an `assign` rule.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AssignSpec {
    /// Regex fragment for the variable or key name.
    pub key: String,
    /// Regex fragment for the secret value.
    pub value: String,
}

/// Veto patterns of a rule. A match is dropped when any pattern finds a match.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Reject {
    /// Applied to the whole regex match (e.g. key names that hold identifiers, not secrets).
    #[serde(default, rename = "match", skip_serializing_if = "Vec::is_empty")]
    pub in_match: Vec<String>,
    /// Applied to the secret alone (e.g. values that are code references).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret: Vec<String>,
}

impl Reject {
    /// True when there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.in_match.is_empty() && self.secret.is_empty()
    }
}

/// Positive and negative examples of a rule.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    /// Texts in which the rule must report a finding.
    pub positive: Vec<Example>,
    /// Texts in which the rule must report nothing.
    pub negative: Vec<String>,
    /// The file path the examples are checked at, for rules with a `path` (a credential file
    /// such as `config/master.key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl Examples {
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.positive.is_empty() && self.negative.is_empty()
    }
}

/// A positive example: the text alone, or the text and the secret the rule must capture.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum Example {
    /// Just the text.
    Text(String),
    /// Text plus the expected secret.
    WithSecret {
        /// The text to scan.
        text: String,
        /// The secret that must be reported.
        secret: String,
    },
}

impl Example {
    /// The text of the example.
    pub fn text(&self) -> &str {
        match self {
            Example::Text(t) | Example::WithSecret { text: t, .. } => t,
        }
    }
    /// The expected secret, if given.
    pub fn secret(&self) -> Option<&str> {
        match self {
            Example::Text(_) => None,
            Example::WithSecret { secret, .. } => Some(secret),
        }
    }
}

/// Severity of a leak, lowest first so that `Ord` compares as people expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Weak or low-value.
    Low,
    /// Limited scope, read-only or test-mode.
    Medium,
    /// Write-capable API access.
    High,
    /// Account takeover, payments, private keys, database masters.
    Critical,
}

impl Severity {
    /// One step down (`low` stays `low`).
    pub fn lower(self) -> Severity {
        match self {
            Severity::Critical => Severity::High,
            Severity::High => Severity::Medium,
            Severity::Medium | Severity::Low => Severity::Low,
        }
    }

    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl std::str::FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(format!(
                "unknown severity {s:?}: use low, medium, high or critical"
            )),
        }
    }
}

/// How often a match of the rule is a real credential.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// Noisy: generic heuristics, off by default (on for AI-authored content).
    Low,
    /// Needs context (a provider name next to an unprefixed value).
    Medium,
    /// Self-identifying format (prefix, structure, checksum).
    #[default]
    High,
}

impl Precision {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Low => "low",
            Precision::Medium => "medium",
            Precision::High => "high",
        }
    }
}

/// Named checksum validators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Checksum {
    /// Last six characters are the base62 CRC32 of the random part (GitHub, npm).
    GithubCrc32,
    /// A JSON Web Token: base64url segments whose header (and payload) decode to JSON objects.
    Jwt,
    /// Base64 of `user:password` (HTTP Basic, Docker `auths`, npm `_auth`): decodes to
    /// printable text with a colon and a non-empty password.
    BasicAuth,
    /// A GitLab routable token (`<prefix><payload>.[<version>.]<length><crc>`): the last 7
    /// characters are the zero-padded base36 CRC32 of everything before them (GitLab's
    /// routable-token design document and generator). A token without the `.` suffix (the
    /// legacy fixed-length form) has no checksum to check.
    GitlabRoutable,
    /// An OpenSSH private key (`openssh-key-v1`) stored without a passphrase: its cipher is
    /// `none` (the key format in OpenSSH's PROTOCOL.key), or its body does not parse.
    OpensshUnencrypted,
    /// An OpenSSH private key encrypted with a passphrase (any cipher but `none`).
    OpensshEncrypted,
}
