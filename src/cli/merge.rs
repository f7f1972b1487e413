//! `leakhound merge`: one report from many (organisation scans, one report per repository).

use std::io;
use std::path::PathBuf;

use anyhow::{bail, Result};
use clap::Args;

use leakhound::report::merge::{self, Input};
use leakhound::rules::{RuleSet, Severity};
use leakhound::untrusted::{self, Chooser};

use super::scanning::{parse_severity, write_reports, OutputArgs};

#[derive(Debug, Args)]
pub(super) struct MergeArgs {
    /// JSON reports (`--format json`) and JSON Lines reports (`--format jsonl`, also with
    /// `--append`) from scans; a report without `--repository` is named by its file.
    #[arg(required = true, value_name = "REPORT")]
    inputs: Vec<PathBuf>,
    /// Exit 1 only for findings at or above this severity [default: low].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    #[command(flatten)]
    out: OutputArgs,
}

/// The most a report may weigh: a merge holds them all in memory.
const MAX_REPORT: u64 = 1 << 30;

pub(super) fn exec(a: MergeArgs) -> Result<u8> {
    let mut inputs = Vec::with_capacity(a.inputs.len());
    for path in &a.inputs {
        let Some(text) = untrusted::read_text(path, MAX_REPORT, Chooser::User)? else {
            bail!("{}: no such report", path.display());
        };
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_string();
        inputs.push(Input {
            origin: path.display().to_string(),
            fallback_repository: stem,
            text,
        });
    }
    let outcome = merge::merge(&inputs)?;
    let rules = RuleSet::builtin()?;
    write_reports(&outcome, &rules, &a.out, &mut io::stderr().lock())?;
    let fail_on = a.fail_on.unwrap_or(Severity::Low);
    let failing = outcome
        .findings
        .iter()
        .any(|f| !f.existing && f.severity >= fail_on);
    Ok(if failing {
        1
    } else if outcome.unreadable() > 0 {
        3
    } else {
        0
    })
}
