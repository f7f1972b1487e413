//! Configuration and policy as data: what to scan, which findings count, when to fail.
//! Filled from defaults and CLI flags (and, later, `leakhound.toml`); applied by `triage`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ai::signals::{IgnoreSpec, SessionSpec, SignalSpec, SignalTable};
use crate::ai::{AiPolicy, AiTag, Signals};
use crate::rules::{Precision, Severity};
use crate::untrusted::{self, Chooser};

/// Default `--max-file-size`: 10 MiB. Larger files are almost always data or bundles.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Everything a scan needs to know besides the rules.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Do not honour .gitignore / .ignore.
    pub no_ignore: bool,
    /// Follow symbolic links.
    pub follow_symlinks: bool,
    /// Follow a root path that is a symlink (on for paths a user names, off in `hook`).
    pub root_symlinks: bool,
    /// Skip files larger than this (bytes).
    pub max_file_size: u64,
    /// How deep archives are opened (`--archive-depth`; 0: not at all).
    pub archive_depth: u32,
    /// Worker threads; `None` = one per core.
    pub threads: Option<usize>,
    /// Print secrets in full.
    pub show_secrets: bool,
    /// Keep rejected matches for `--explain-suppressed`.
    pub keep_dropped: bool,
    /// Which findings are reported and which fail the run.
    pub thresholds: Thresholds,
    /// The stricter policy for AI-authored work.
    pub ai: AiPolicy,
    /// The AI-authorship signal table (built-in plus the config's additions).
    #[serde(skip)]
    pub signals: Arc<Signals>,
    /// At commit time: the agent session this process runs in, or the AI trailer of the
    /// message being committed.
    pub session: Option<AiTag>,
    /// Working-tree scans: which agents' file tools can read each file.
    #[serde(skip)]
    pub exposure: Option<Arc<crate::ai::exposure::Checkout>>,
    /// History scans: commits may be AI-authored, so detection keeps matches down to the
    /// AI entropy floor and triage decides per commit.
    #[serde(skip)]
    pub history: bool,
    /// Allowlist entries (the shipped defaults plus the config's).
    #[serde(skip)]
    pub allow: Arc<crate::allow::Allowlist>,
    /// Honour inline markers (`leakhound:allow`, `gitleaks:allow`, `pragma: allowlist secret`).
    pub markers: bool,
    /// `.gitleaksignore` entries: findings at (commit, path, line) are allowed.
    #[serde(skip)]
    pub ignored_locations: Arc<Vec<(Option<String>, String, usize)>>,
    /// Key for fingerprints (`LEAKHOUND_FINGERPRINT_KEY`): when set, no fingerprint can be
    /// checked against guessed secrets without it.
    #[serde(skip)]
    pub fingerprint_key: Option<Arc<[u8]>>,
    /// History scans with a cache: slow fingerprints already derived, by place.
    #[serde(skip)]
    pub fingerprint_book: Option<Arc<crate::finding::FingerprintBook>>,
    /// `[ai.hook]`: what the agent hooks block.
    pub hook: crate::ai::hook::HookSettings,
    /// `[verify]`, from a config the user chose (`--config`) only: where `--verify` may
    /// connect and how hard. A scanned repository's `[verify]` is ignored.
    #[serde(skip)]
    pub verify: VerifySection,
}

impl Config {
    /// Bits per byte detection takes off entropy floors: the AI relief wherever the AI
    /// policy can apply to what is scanned, else none.
    pub fn detect_relief(&self) -> f64 {
        let possible = match self.ai.mode {
            crate::ai::AiMode::Off => false,
            crate::ai::AiMode::Strict => true,
            crate::ai::AiMode::Auto => self.history || self.ai.applies(self.session.as_ref()),
        };
        if possible {
            self.ai.entropy_relief
        } else {
            0.0
        }
    }
}

/// Reporting policy.
#[derive(Debug, Clone, Serialize)]
pub struct Thresholds {
    /// Findings at or above this severity make the exit code 1.
    pub fail_on: Severity,
    /// Rules below this precision are not reported.
    pub min_precision: Precision,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            fail_on: Severity::Low,
            min_precision: Precision::Medium,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            no_ignore: false,
            follow_symlinks: false,
            root_symlinks: true,
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            archive_depth: 3,
            threads: None,
            show_secrets: false,
            keep_dropped: false,
            thresholds: Thresholds::default(),
            ai: AiPolicy::default(),
            signals: builtin_signals(),
            session: None,
            exposure: None,
            history: false,
            allow: default_allowlist(),
            markers: true,
            ignored_locations: Arc::default(),
            fingerprint_key: None,
            fingerprint_book: None,
            hook: Default::default(),
            verify: VerifySection::default(),
        }
    }
}

/// The built-in signal table, compiled once per process (every `Config` shares it).
fn builtin_signals() -> Arc<Signals> {
    static SIGNALS: std::sync::OnceLock<Arc<Signals>> = std::sync::OnceLock::new();
    Arc::clone(
        SIGNALS.get_or_init(|| {
            Arc::new(Signals::builtin().expect("the built-in signal table is tested"))
        }),
    )
}

/// The shipped allowlist, compiled once per process, on first use.
fn default_allowlist() -> Arc<crate::allow::Allowlist> {
    static ALLOW: std::sync::OnceLock<Arc<crate::allow::Allowlist>> = std::sync::OnceLock::new();
    Arc::clone(
        ALLOW.get_or_init(|| Arc::new(crate::allow::Allowlist::deferred(crate::allow::defaults()))),
    )
}

/// Config file names looked for at the repository root, in order.
pub const CONFIG_NAMES: &[&str] = &["leakhound.toml", ".leakhound.toml"];

/// `leakhound.toml`. Unknown keys are errors with file, line and column.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `baseline = "leakhound.baseline"`: accepted findings (relative to the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<PathBuf>,
    /// `default_allowlist = false` drops the shipped allowlist (lock files, vendored code,
    /// minified bundles, for generic rules).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_allowlist: Option<bool>,
    /// `[scan]`: thresholds and switches (command-line flags win).
    #[serde(default)]
    pub scan: ScanSection,
    /// `[rules]`: disable or override built-in rules by id.
    #[serde(default)]
    pub rules: RulesSection,
    /// `[[rule]]`: rules added, same schema as the built-in rule files.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rule: Vec<crate::rules::RuleSpec>,
    /// `[[allowlist]]`: findings that are fine (global, or per rule with `rules = [...]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowlist: Vec<crate::allow::AllowSpec>,
    /// `[ai]`: the AI policy and additions to the signal table.
    #[serde(default)]
    pub ai: AiSection,
    /// `[verify]`: settings for `--verify` (read only from a config given with `--config`).
    #[serde(default, skip_serializing_if = "VerifySection::is_default")]
    pub verify: VerifySection,
    /// Keep the built-in rules (false when a gitleaks config does not extend its defaults).
    #[serde(skip)]
    pub builtin_rules: Option<bool>,
    /// `.gitleaksignore`-style suppressions: (commit, path, line).
    #[serde(skip)]
    pub ignored_locations: Vec<(Option<String>, String, usize)>,
    /// The file's text, to point errors found after parsing at a line.
    #[serde(skip)]
    pub source: String,
    /// Chosen by the user (`--config`), not found in the scanned checkout: only such a file
    /// may add agent-session variables.
    #[serde(skip)]
    pub trusted: bool,
    /// Translated from a gitleaks config: its allowlists may name gitleaks rules that did not
    /// translate, which is a note of the import, not an error.
    #[serde(skip)]
    pub imported: bool,
}

/// `[scan]` of the config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScanSection {
    /// Findings at or above this severity fail the run (`--fail-on` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fail_on: Option<Severity>,
    /// Report low-precision rules too (`--all-rules` wins).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub all_rules: Option<bool>,
    /// Skip larger files and blobs, e.g. "10M".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_file_size: Option<String>,
    /// Honour inline markers (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub markers: Option<bool>,
}

/// `[verify]` of the config file: where `--verify` may connect and how hard. Only a config
/// the user chose (`--config`) may set it; a scanned repository's is ignored, so a checkout
/// cannot point a provider's check at its own server.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VerifySection {
    /// `[verify.endpoints]`: a base URL per provider (the rule id prefix), replacing the
    /// provider's: `github = "https://ghe.example.com/api/v3"`.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub endpoints: std::collections::BTreeMap<String, String>,
    /// Connect to loopback, private and other special addresses (refused by default, after
    /// resolution, redirects included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_private_addresses: Option<bool>,
    /// An HTTP(S) proxy for every request (the environment's proxy variables are not read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy: Option<String>,
    /// Seconds for one whole request (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<f64>,
    /// Seconds to resolve and connect (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_timeout: Option<f64>,
    /// Checks running at once (default 8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<usize>,
    /// Requests per second to one provider (default 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Retries after HTTP 429 and 502-504 (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<u32>,
}

impl VerifySection {
    /// Nothing set.
    pub fn is_default(&self) -> bool {
        self == &VerifySection::default()
    }

    fn check(&self) -> Result<(), String> {
        for (name, url) in &self.endpoints {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "[verify.endpoints] {name} = {url:?}: an http(s):// base URL"
                ));
            }
        }
        for (what, v) in [
            ("timeout", self.timeout),
            ("connect_timeout", self.connect_timeout),
        ] {
            if let Some(v) = v {
                if !(0.05..=300.0).contains(&v) {
                    return Err(format!(
                        "[verify] {what} = {v}: seconds between 0.05 and 300"
                    ));
                }
            }
        }
        if let Some(r) = self.rate {
            if !(r > 0.0 && r <= 10_000.0) {
                return Err(format!(
                    "[verify] rate = {r}: requests per second, above 0 and at most 10000"
                ));
            }
        }
        if let Some(c) = self.concurrency {
            if !(1..=64).contains(&c) {
                return Err(format!("[verify] concurrency = {c}: 1 to 64"));
            }
        }
        if self.retries.is_some_and(|r| r > 5) {
            return Err("[verify] retries: at most 5".into());
        }
        Ok(())
    }
}

/// `[rules]` of the config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RulesSection {
    /// Rule ids (`*` wildcards allowed) to switch off.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disable: Vec<String>,
    /// Per rule id: values that replace the built-in ones.
    #[serde(
        default,
        rename = "override",
        skip_serializing_if = "std::collections::BTreeMap::is_empty"
    )]
    pub overrides: std::collections::BTreeMap<String, RuleOverride>,
}

/// `[rules.override."<id>"]`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOverride {
    /// New severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// New precision (`low` switches the rule off unless `--all-rules`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub precision: Option<Precision>,
    /// New entropy floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_entropy: Option<f64>,
}

/// `[ai]` of the config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AiSection {
    /// `auto`, `strict` or `off`.
    pub mode: Option<crate::ai::AiMode>,
    /// `medium` or `high`.
    pub min_confidence: Option<crate::ai::Confidence>,
    /// Bits per byte off each entropy floor.
    pub entropy_relief: Option<f64>,
    /// Report low-precision rules for AI work.
    pub all_rules: Option<bool>,
    /// Blocking threshold for AI work.
    pub fail_on: Option<Severity>,
    /// `[[ai.signal]]`: signals added, or replacing a built-in one with the same id.
    #[serde(default, rename = "signal")]
    pub signals: Vec<SignalSpec>,
    /// `[[ai.ignore]]`: identities that are never signals.
    #[serde(default, rename = "ignore")]
    pub ignore: Vec<IgnoreSpec>,
    /// `[[ai.session]]`: environment variables that mark an agent session.
    #[serde(default, rename = "session")]
    pub sessions: Vec<SessionSpec>,
    /// `[ai.hook]`: what the agent hooks block (`leakhound ai hook`).
    #[serde(default)]
    pub hook: crate::ai::hook::HookSection,
}

/// A config file problem: where, what, and how to fix it.
#[derive(Debug, thiserror::Error)]
#[error("{at}: {message}")]
pub struct ConfigError {
    /// `file:line:col` when known.
    pub at: String,
    /// What is wrong.
    pub message: String,
}

/// The text of a config file, read without following a symlink the repository planted.
pub fn read_config_text(path: &Path, by: Chooser) -> Result<String, ConfigError> {
    match untrusted::read_text(path, untrusted::cap::CONFIG, by) {
        Ok(Some(t)) => Ok(t),
        Ok(None) => Err(ConfigError {
            at: path.display().to_string(),
            message: "cannot read the config file: no such file".into(),
        }),
        Err(e) => Err(ConfigError {
            at: e.path,
            message: format!("config file not read: {}", e.reason),
        }),
    }
}

impl FileConfig {
    /// Reads and checks a config file found in the scanned checkout (a symlink is refused).
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        FileConfig::load_as(path, Chooser::Repo)
    }

    /// Reads and checks a config file chosen by `by`.
    pub fn load_as(path: &Path, by: Chooser) -> Result<FileConfig, ConfigError> {
        let text = read_config_text(path, by)?;
        let mut cfg = FileConfig::parse(text, &path.display().to_string())?;
        cfg.trusted = by == Chooser::User;
        Ok(cfg)
    }

    /// Parses and checks config text read from `origin` (untrusted until the caller says).
    pub fn parse(text: String, origin: &str) -> Result<FileConfig, ConfigError> {
        let mut cfg: FileConfig = toml::from_str(&text).map_err(|e| {
            if let Some(hint) = gitleaks_shape(&text, origin) {
                return hint;
            }
            let at = crate::rules::toml_position(&e, &text).map_or_else(
                || origin.to_string(),
                |(line, col)| format!("{origin}:{line}:{col}"),
            );
            ConfigError {
                at,
                message: format!(
                    "{} (see `leakhound config show` for the keys and their defaults)",
                    e.message()
                ),
            }
        })?;
        cfg.source = text;
        Ok(cfg)
    }

    /// What this file does that makes a scan report less, in words, for a loud notice when
    /// the file comes from the scanned checkout (a pull request can add one): rules
    /// disabled, thresholds lowered, findings allowlisted or baselined, settings ignored.
    pub fn weakenings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !self.rules.disable.is_empty() {
            out.push(format!(
                "disables {} rule pattern(s) ({})",
                self.rules.disable.len(),
                self.rules.disable.join(", ")
            ));
        }
        if self.builtin_rules == Some(false) {
            out.push("replaces the built-in rules".into());
        }
        let lowered: Vec<&str> = self
            .rules
            .overrides
            .iter()
            .filter(|(_, o)| {
                o.precision.is_some() || o.severity.is_some() || o.min_entropy.is_some()
            })
            .map(|(id, _)| id.as_str())
            .collect();
        if !lowered.is_empty() {
            out.push(format!(
                "overrides the precision, severity or entropy floor of {} rule(s) ({})",
                lowered.len(),
                lowered.join(", ")
            ));
        }
        if let Some(v) = self.scan.fail_on.filter(|v| *v > Severity::Low) {
            out.push(format!("fails only at {} and above", v.as_str()));
        }
        if let Some(v) = &self.scan.max_file_size {
            if parse_size(v).is_ok_and(|n| n < DEFAULT_MAX_FILE_SIZE) {
                out.push(format!("lowers max_file_size to {v}"));
            }
        }
        if !self.allowlist.is_empty() {
            out.push(format!(
                "allowlists findings ({} [[allowlist]] entries)",
                self.allowlist.len()
            ));
        }
        if !self.ignored_locations.is_empty() {
            out.push(format!(
                "allowlists {} location(s) through .gitleaksignore",
                self.ignored_locations.len()
            ));
        }
        if self.baseline.is_some() {
            out.push("accepts findings through a baseline".into());
        }
        if self.ai.mode == Some(crate::ai::AiMode::Off)
            || self.ai.fail_on.is_some_and(|v| v > Severity::Low)
            || !self.ai.ignore.is_empty()
        {
            out.push("relaxes the AI policy ([ai])".into());
        }
        if !self.trusted && !self.verify.is_default() {
            out.push(
                "has a [verify] section, ignored: only a config given with --config may say where --verify connects".into(),
            );
        }
        if !self.trusted && !self.ai.sessions.is_empty() {
            out.push(format!(
                "has {} [[ai.session]] entries, ignored: only a config given with --config may name environment variables",
                self.ai.sessions.len()
            ));
        }
        out
    }

    /// The config file for a scan rooted at `root`: `explicit` if given, else the first of
    /// [`CONFIG_NAMES`] at the repository top level above `root` (or `root` itself).
    pub fn find(explicit: Option<&Path>, root: &Path) -> Option<PathBuf> {
        if let Some(p) = explicit {
            return Some(p.to_path_buf());
        }
        let top = repo_top(root).unwrap_or_else(|| root.to_path_buf());
        CONFIG_NAMES
            .iter()
            .map(|n| top.join(n))
            .find(|p| p.is_file())
    }

    /// Applies the file to `config`: scan settings, allowlists, policy values, signal table
    /// additions. Rules are applied by [`FileConfig::rule_set`].
    pub fn apply(&self, config: &mut Config, origin: &str) -> Result<(), ConfigError> {
        let at = |message: String| ConfigError {
            at: origin.to_string(),
            message,
        };
        if let Some(v) = self.scan.fail_on {
            config.thresholds.fail_on = v;
        }
        if self.scan.all_rules == Some(true) {
            config.thresholds.min_precision = Precision::Low;
        }
        if let Some(v) = &self.scan.max_file_size {
            config.max_file_size =
                parse_size(v).map_err(|e| at(format!("[scan] max_file_size: {e}")))?;
        }
        if let Some(v) = self.scan.markers {
            config.markers = v;
        }
        self.verify.check().map_err(at)?;
        if self.trusted {
            config.verify = self.verify.clone();
        }
        if !self.ignored_locations.is_empty() {
            config.ignored_locations = Arc::new(self.ignored_locations.clone());
        }
        // Without entries of its own the file keeps the shared, already compiled defaults.
        if !self.allowlist.is_empty() || self.default_allowlist == Some(false) {
            let defaults = self.default_allowlist != Some(false);
            config.allow = Arc::new(
                crate::allow::Allowlist::with_user(&self.allowlist, defaults).map_err(
                    |message| ConfigError {
                        at: self.locate(origin, &message),
                        message: format!("{message} (fix the pattern or remove the entry)"),
                    },
                )?,
            );
        }
        if let Some(v) = self.ai.hook.deny {
            config.hook.deny = v;
        }
        if let Some(v) = self.ai.hook.fail_closed {
            config.hook.fail_closed = v;
        }
        config
            .hook
            .commands
            .extend(self.ai.hook.commands.iter().cloned());
        let f = &self.ai;
        let p = &mut config.ai;
        if let Some(v) = f.mode {
            p.mode = v;
        }
        if let Some(v) = f.min_confidence {
            p.min_confidence = v;
        }
        if let Some(v) = f.entropy_relief {
            p.entropy_relief = v;
        }
        if let Some(v) = f.all_rules {
            p.all_rules = v;
        }
        if let Some(v) = f.fail_on {
            p.fail_on = v;
        }
        p.validate().map_err(|message| ConfigError {
            at: format!("{origin} [ai]"),
            message,
        })?;
        let add = SignalTable {
            signals: self.ai.signals.clone(),
            ignore: self.ai.ignore.clone(),
            false_positives: Vec::new(),
            // A checkout must not choose environment variables to read: only --config may.
            sessions: if self.trusted {
                self.ai.sessions.clone()
            } else {
                Vec::new()
            },
        };
        if !add.signals.is_empty() || !add.ignore.is_empty() || !add.sessions.is_empty() {
            let signals = config
                .signals
                .extended(&add, origin)
                .map_err(|e| ConfigError {
                    at: e.origin,
                    message: e.message,
                })?;
            config.signals = Arc::new(signals);
        }
        Ok(())
    }
}

impl FileConfig {
    /// The allowlist entries in effect: the shipped ones (unless `default_allowlist =
    /// false`), then the file's.
    pub fn allowlist_specs(&self) -> Vec<crate::allow::AllowSpec> {
        let mut specs = if self.default_allowlist == Some(false) {
            Vec::new()
        } else {
            crate::allow::defaults()
        };
        specs.extend(self.allowlist.iter().cloned());
        specs
    }

    /// `[rules] disable` and `[[allowlist]] rules` name rules that exist: a typo would
    /// otherwise switch nothing off, or allow nothing, in silence. `set` is the built-in set;
    /// the file's own `[[rule]]` ids count too.
    fn check_rule_patterns(
        &self,
        origin: &str,
        set: &crate::rules::RuleSet,
    ) -> Result<(), ConfigError> {
        if self.imported
            || (self.rules.disable.is_empty() && self.allowlist.iter().all(|a| a.rules.is_empty()))
        {
            return Ok(());
        }
        let ids: Vec<&str> = set
            .rules()
            .iter()
            .map(|r| r.id())
            .chain(self.rule.iter().map(|r| r.id.as_str()))
            .collect();
        let wanted = self
            .rules
            .disable
            .iter()
            .map(|p| ("[rules] disable", p))
            .chain(
                self.allowlist
                    .iter()
                    .flat_map(|a| a.rules.iter().map(|p| ("[[allowlist]] rules", p))),
            );
        for (key, pattern) in wanted {
            let at = self.locate(origin, &format!("\"{pattern}\""));
            if let Err(why) = check_id_pattern(pattern) {
                return Err(ConfigError {
                    at,
                    message: format!("{key}: {pattern:?} {why}"),
                });
            }
            if !ids.iter().any(|id| crate::allow::glob_id(pattern, id)) {
                let hint = nearest_id(pattern, &ids)
                    .map(|n| format!("did you mean {n:?}? "))
                    .unwrap_or_default();
                return Err(ConfigError {
                    at,
                    message: format!(
                        "{key}: no rule matches {pattern:?}: {hint}(`leakhound rules list` shows the ids; `github.*` matches a provider's rules)"
                    ),
                });
            }
        }
        Ok(())
    }

    /// `origin:line` of the first line of the file that holds a quoted piece of `message`
    /// (the offending pattern), else `origin`.
    fn locate(&self, origin: &str, message: &str) -> String {
        // The most specific quoted piece (the pattern) comes last.
        let quoted: Vec<&str> = message.split('"').skip(1).step_by(2).collect();
        for q in quoted.iter().rev().filter(|q| q.len() > 1) {
            if let Some((i, _)) = self
                .source
                .lines()
                .enumerate()
                .find(|(_, l)| l.contains(*q))
            {
                return format!("{origin}:{}", i + 1);
            }
        }
        origin.to_string()
    }

    /// The rules to run: built-in (unless a gitleaks config replaces them) minus
    /// `[rules] disable`, with `[rules.override]` applied, plus `[[rule]]` and imported rules.
    pub fn rule_set(&self, origin: &str) -> Result<crate::rules::RuleSet, ConfigError> {
        use crate::rules::{Rule, RuleSet};
        let err = |message: String| ConfigError {
            at: origin.to_string(),
            message,
        };
        let mut set = RuleSet::builtin().map_err(|e| err(e.to_string()))?;
        for id in self.rules.overrides.keys() {
            if set.get(id).is_none() {
                return Err(ConfigError {
                    at: self.locate(origin, &format!("\"{id}\"")),
                    message: format!(
                        "[rules.override.\"{id}\"]: no built-in rule has this id (`leakhound rules list` shows them)"
                    ),
                });
            }
        }
        self.check_rule_patterns(origin, &set)?;
        if self.builtin_rules == Some(false) {
            set = RuleSet::default();
        }
        set.retain(|r| {
            !self
                .rules
                .disable
                .iter()
                .any(|g| crate::allow::glob_id(g, r.id()))
        });
        // Only overridden rules are rebuilt; the rest stay as parsed.
        for (id, o) in &self.rules.overrides {
            let Some(r) = set.get(id) else { continue };
            let mut spec = r.spec.clone();
            if let Some(v) = o.severity {
                spec.severity = v;
            }
            if let Some(v) = o.precision {
                spec.precision = v;
            }
            if let Some(v) = o.min_entropy {
                spec.min_entropy = Some(v);
            }
            let rule = Rule::embedded(spec, &format!("{} (overridden in {origin})", r.origin))
                .map_err(|e| err(e.to_string()))?;
            set.replace(rule);
        }
        // Config rules need no examples (`leakhound rules check` lints the ones that have
        // them); rules translated from gitleaks have none.
        for spec in &self.rule {
            let rule = Rule::imported(spec.clone(), origin).map_err(|e| ConfigError {
                at: self.locate(origin, &format!("\"{}\"", spec.id)),
                message: e.to_string(),
            })?;
            rule.compile_now().map_err(|e| ConfigError {
                at: self.locate(origin, &format!("\"{}\"", spec.id)),
                message: e.to_string(),
            })?;
            set.push(rule).map_err(|e| err(e.to_string()))?;
        }
        Ok(set)
    }
}

/// A rule id, or an id with one `*` (`github.*`, `*.password`).
fn check_id_pattern(p: &str) -> Result<(), &'static str> {
    if p.is_empty()
        || !p
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-*".contains(&b))
    {
        return Err("is not a rule id: ids are lower-case letters, digits, `.`, `_` and `-`");
    }
    if p.matches('*').count() > 1 {
        return Err("has more than one `*`: use one (`github.*`), or list the ids");
    }
    Ok(())
}

/// The id closest to a mistyped one (edit distance at most a third of its length).
fn nearest_id<'a>(wanted: &str, ids: &[&'a str]) -> Option<&'a str> {
    let plain = wanted.replace('*', "");
    ids.iter()
        .map(|id| (edit_distance(&plain, id), *id))
        .filter(|(d, _)| *d <= plain.len().max(3) / 3)
        .min()
        .map(|(_, id)| id)
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(x != y)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// When a config that does not parse is a gitleaks config (its `[allowlist]` table,
/// `[extend]`, `[[rules]]`, `title`), the error says so and how to translate it, at the line
/// that gives it away.
fn gitleaks_shape(text: &str, origin: &str) -> Option<ConfigError> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let line_of = |header: &str| {
        text.lines()
            .position(|l| l.trim_start().starts_with(header))
            .map_or_else(|| origin.to_string(), |i| format!("{origin}:{}", i + 1))
    };
    let import = format!(
        "translate the whole file with `leakhound config import {origin}` (gitleaks configs named .gitleaks.toml are read and translated as they are)"
    );
    if table.get("allowlist").is_some_and(toml::Value::is_table) {
        return Some(ConfigError {
            at: line_of("[allowlist]"),
            message: format!(
                "`[allowlist]` is gitleaks' syntax. leakhound's entries are `[[allowlist]]` (one table per entry) with `paths` (gitignore globs), `path_regexes`, `secrets`, `stopwords`, `commits` and `rules`; or {import}"
            ),
        });
    }
    for (key, header) in [
        ("extend", "[extend]"),
        ("rules", "[[rules]]"),
        ("allowlists", "[[allowlists]]"),
    ] {
        let gitleaks = match table.get(key) {
            Some(toml::Value::Array(_)) => true,
            Some(toml::Value::Table(_)) => key == "extend",
            _ => false,
        };
        if gitleaks {
            return Some(ConfigError {
                at: line_of(header),
                message: format!(
                    "`{header}` is gitleaks' syntax, not leakhound's (rules are `[[rule]]`, allowlists `[[allowlist]]`): {import}"
                ),
            });
        }
    }
    None
}

/// The top level of the git work tree (or bare repository) holding `start`, if any.
pub fn repo_top(start: &Path) -> Option<PathBuf> {
    let abs = std::path::absolute(start).ok()?;
    let mut dir = if abs.is_dir() {
        Some(abs.as_path())
    } else {
        abs.parent()
    };
    while let Some(d) = dir {
        if d.join(".git").exists() || (d.join("HEAD").is_file() && d.join("objects").is_dir()) {
            return Some(d.to_path_buf());
        }
        dir = d.parent();
    }
    None
}

/// Parses sizes like `10M`, `512K`, `2G`, `1000` (bytes; K/M/G are powers of 1024).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(format!("unknown size suffix {c:?} in {s:?}: use K, M or G")),
            };
            (&t[..i], m)
        }
        _ => (t, 1),
    };
    let n: u64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size: try 10M, 512K or 1048576"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("{s:?} is too large"))
}

#[derive(Serialize)]
struct Shown<'a> {
    baseline: Option<&'a PathBuf>,
    scan: ShownScan,
    rules: ShownRules<'a>,
    ai: &'a AiPolicy,
    allowlist: Vec<crate::allow::AllowSpec>,
}

#[derive(Serialize)]
struct ShownScan {
    fail_on: &'static str,
    all_rules: bool,
    max_file_size: u64,
    markers: bool,
}

#[derive(Serialize)]
struct ShownRules<'a> {
    active: usize,
    added: Vec<&'a str>,
    disable: &'a [String],
    #[serde(rename = "override")]
    overrides: &'a std::collections::BTreeMap<String, RuleOverride>,
}

/// The effective configuration of `file` (read from `origin`) over the defaults, as
/// `leakhound config show` prints it: a `# effective configuration` comment, then TOML with
/// the scan settings, the rules added, disabled and overridden, the AI policy and every
/// allowlist entry in effect (the shipped ones too).
pub fn show_effective(file: &FileConfig, origin: &str) -> Result<String, ConfigError> {
    let mut config = Config::default();
    file.apply(&mut config, origin)?;
    let rules = file.rule_set(origin)?;
    let shown = Shown {
        baseline: file.baseline.as_ref(),
        scan: ShownScan {
            fail_on: config.thresholds.fail_on.as_str(),
            all_rules: config.thresholds.min_precision == Precision::Low,
            max_file_size: config.max_file_size,
            markers: config.markers,
        },
        rules: ShownRules {
            active: rules.len(),
            added: file.rule.iter().map(|r| r.id.as_str()).collect(),
            disable: &file.rules.disable,
            overrides: &file.rules.overrides,
        },
        ai: &config.ai,
        allowlist: file.allowlist_specs(),
    };
    let body = toml::to_string(&shown).map_err(|e| ConfigError {
        at: origin.to_string(),
        message: format!("cannot show the configuration: {e}"),
    })?;
    Ok(format!("# effective configuration (from {origin})\n{body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_config_shows_file_values_over_defaults() {
        let file: FileConfig =
            toml::from_str("[scan]\nfail_on = \"high\"\n[rules]\ndisable = [\"github.*\"]\n")
                .expect("parses");
        let shown = show_effective(&file, "x.toml").expect("shows");
        assert!(
            shown.starts_with("# effective configuration (from x.toml)\n[scan]\n"),
            "{shown}"
        );
        assert!(shown.contains("fail_on = \"high\""), "{shown}");
        assert!(shown.contains("disable = [\"github.*\"]"), "{shown}");
        assert!(shown.contains("[[allowlist]]"), "{shown}");
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("77"), Ok(77));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5T").is_err());
    }
}
