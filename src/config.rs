//! Configuration and policy as data: what to scan, which findings count, when to fail.
//! Filled from defaults and CLI flags (and, later, `leakhound.toml`); applied by `triage`.

use serde::Serialize;

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
        }
    }
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
