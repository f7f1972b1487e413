//! `leakhound baseline create` and `leakhound baseline prune`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};
use clap::Subcommand;

use leakhound::baseline::{self, Baseline};
use leakhound::source::git::Selection;
use leakhound::{scan, untrusted};

use leakhound::finding::{Finding, VerifyStatus};
use leakhound::report::escape;

use super::scanning::{
    setup, verify_findings, Color, CommonArgs, OutputArgs, OutputFormat, Setup, VerifyArgs,
};

#[derive(Debug, Subcommand)]
pub(super) enum BaselineCommand {
    /// Scan and write every finding as an accepted entry (sorted, no line numbers or
    /// timestamps). Expiry dates and notes of entries already in the file are kept.
    Create {
        /// Files or directories to scan, or with --history the repository.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Scan git history instead of the files.
        #[arg(long)]
        history: bool,
        /// The baseline file.
        #[arg(short, long, value_name = "FILE", default_value = "leakhound.baseline")]
        output: PathBuf,
        /// Key entries by path too (a moved secret then counts as new).
        #[arg(long)]
        with_paths: bool,
        /// Expiry date for new entries (YYYY-MM-DD): rotate before it.
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
        /// Config file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Ask each credential's provider whether it is live first (settings: [verify] of
        /// --config): a live credential is left out of the baseline, to be rotated, not
        /// accepted.
        #[arg(long)]
        verify: bool,
    },
    /// Drop entries that a scan no longer finds.
    Prune {
        /// The baseline file.
        file: PathBuf,
        /// Files or directories to scan, or with --history the repository.
        #[arg(default_value = ".")]
        paths: Vec<PathBuf>,
        /// Scan git history instead of the files.
        #[arg(long)]
        history: bool,
        /// Config file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

pub(super) fn exec(c: BaselineCommand) -> Result<u8> {
    match c {
        BaselineCommand::Create {
            paths,
            history,
            output,
            with_paths,
            expires,
            config,
            verify,
        } => create(
            &paths,
            history,
            &output,
            with_paths,
            expires.as_deref(),
            config,
            verify,
        ),
        BaselineCommand::Prune {
            file,
            paths,
            history,
            config,
        } => prune(&file, &paths, history, config),
    }
}

/// A scan for baseline commands: every finding, no baseline applied.
fn scan_for_baseline(
    paths: &[PathBuf],
    history: bool,
    config_file: Option<PathBuf>,
    verify: bool,
) -> Result<scan::ScanOutcome> {
    let common = CommonArgs {
        out: OutputArgs {
            format: OutputFormat::Text,
            output: None,
            append: false,
            reports: Vec::new(),
            quiet: false,
            color: Color::Never,
        },
        repository: None,
        show_secrets: false,
        max_file_size: None,
        archive_depth: None,
        threads: None,
        fail_on: None,
        all_rules: false,
        explain_suppressed: false,
        extra_rules: Vec::new(),
        config: config_file,
        baseline: None,
        ai: None,
        no_repo_config: false,
        check: VerifyArgs {
            verify,
            ..VerifyArgs::default()
        },
    };
    let root = paths.first().map_or(Path::new("."), PathBuf::as_path);
    let Setup {
        config, detector, ..
    } = setup(&common, false, false, root)?;
    let mut outcome = if history {
        scan::scan_history(root, &Selection::All, detector, &config, None)?
    } else {
        scan::scan_paths(paths, detector, &config)?
    };
    outcome.stats.verified = verify_findings(
        &mut outcome.findings,
        detector.rules(),
        &config,
        &common.check,
    )?;
    Ok(outcome)
}

fn create(
    paths: &[PathBuf],
    history: bool,
    output: &Path,
    with_paths: bool,
    expires: Option<&str>,
    config_file: Option<PathBuf>,
    verify: bool,
) -> Result<u8> {
    if let Some(d) = expires {
        if !baseline::valid_date(d) {
            bail!("--expires {d}: write the date as YYYY-MM-DD");
        }
    }
    let previous = if output.is_file() {
        Some(Baseline::load(output)?)
    } else {
        None
    };
    let mut outcome = scan_for_baseline(paths, history, config_file, verify)?;
    let live: Vec<Finding> = outcome
        .findings
        .extract_if(.., |f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == VerifyStatus::Live)
        })
        .collect();
    for f in &live {
        writeln!(
            io::stderr(),
            "leakhound: {}:{}: {} is LIVE ({}): not accepted; rotate it{}",
            escape(&f.path),
            f.location.line,
            f.rule_id,
            f.verification.as_ref().map_or("", |v| v.provider.as_str()),
            f.revoke
                .as_ref()
                .map(|u| format!(" at {}", escape(u)))
                .unwrap_or_default()
        )?;
    }
    let text = baseline::render(&outcome.findings, previous.as_ref(), with_paths, expires);
    untrusted::write(output, text.as_bytes())?;
    let n = text.lines().filter(|l| !l.starts_with('#')).count();
    writeln!(
        io::stderr(),
        "leakhound: {n} accepted finding(s) written to {} (from {} finding(s))",
        output.display(),
        outcome.findings.len()
    )?;
    Ok(0)
}

fn prune(
    file: &Path,
    paths: &[PathBuf],
    history: bool,
    config_file: Option<PathBuf>,
) -> Result<u8> {
    let old = Baseline::load_as(file, untrusted::Chooser::User)?;
    let outcome = scan_for_baseline(paths, history, config_file, false)?;
    let pruned = baseline::prune(&old, &outcome.findings);
    untrusted::write(file, pruned.text.as_bytes())?;
    writeln!(
        io::stderr(),
        "leakhound: kept {} of {} baseline entries; {} no longer found were dropped",
        pruned.kept,
        old.entries.len(),
        pruned.dropped
    )?;
    Ok(0)
}
