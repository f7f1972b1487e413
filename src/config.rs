//! Configuration and policy as data: what to scan, which findings count, when to fail.
//! Filled from defaults and CLI flags (and, later, `leakhound.toml`); applied by `triage`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::ai::signals::{IgnoreSpec, SessionSpec, SignalSpec, SignalTable};
use crate::ai::{AiPolicy, AiTag, Signals};
use crate::rules::{Precision, Severity};

/// Default `--max-file-size`: 10 MiB. Larger files are almost always data or bundles.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 10 * 1024 * 1024;

/// Everything a scan needs to know besides the rules.
#[derive(Debug, Clone, Serialize)]
pub struct Config {
    /// Do not honour .gitignore / .ignore.
    pub no_ignore: bool,
    /// Follow symbolic links.
    pub follow_symlinks: bool,
    /// Skip files larger than this (bytes).
    pub max_file_size: u64,
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
            max_file_size: DEFAULT_MAX_FILE_SIZE,
            threads: None,
            show_secrets: false,
            keep_dropped: false,
            thresholds: Thresholds::default(),
            ai: AiPolicy::default(),
            signals: Arc::new(Signals::builtin().expect("the built-in signal table is tested")),
            session: None,
            exposure: None,
            history: false,
        }
    }
}

/// Config file names looked for at the repository root, in order.
pub const CONFIG_NAMES: &[&str] = &["leakhound.toml", ".leakhound.toml"];

/// `leakhound.toml`. Unknown keys are errors with file, line and column.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// `[ai]`: the AI policy and additions to the signal table.
    #[serde(default)]
    pub ai: AiSection,
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

impl FileConfig {
    /// Reads and checks a config file.
    pub fn load(path: &Path) -> Result<FileConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            at: path.display().to_string(),
            message: format!("cannot read the config file: {e}"),
        })?;
        let cfg: FileConfig = toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!("{}:{line}:{col}", path.display())
                })
                .unwrap_or_else(|| path.display().to_string());
            ConfigError {
                at,
                message: format!(
                    "{} (see `leakhound config show` for the keys and their defaults)",
                    e.message()
                ),
            }
        })?;
        Ok(cfg)
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

    /// Applies the file to `config`: policy values, signal table additions.
    pub fn apply(&self, config: &mut Config, origin: &str) -> Result<(), ConfigError> {
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
            sessions: self.ai.sessions.clone(),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("10M"), Ok(10 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("77"), Ok(77));
        assert!(parse_size("ten").is_err());
        assert!(parse_size("5T").is_err());
    }
}
