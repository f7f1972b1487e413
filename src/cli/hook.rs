//! `leakhound hook` (for the pre-commit framework) and `leakhound install-hook` (plain git
//! hooks, written by the library's `hooks` module).

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;

use leakhound::ai::session;
use leakhound::hooks::{self, Hook};
use leakhound::scan;

use super::scanning::{accept_baseline, env_var, report, setup, CommonArgs, Setup, Stage};

#[derive(Debug, Args)]
pub(super) struct HookArgs {
    /// Files to scan (pre-commit passes them).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
pub(super) struct InstallHookArgs {
    /// The repository.
    #[arg(default_value = ".")]
    repo: PathBuf,
    /// Also install the pre-push hook (`git --pre-push`).
    #[arg(long)]
    pre_push: bool,
    /// Replace a hook that leakhound did not write (it is kept as <hook>.before-leakhound).
    #[arg(long)]
    force: bool,
}

pub(super) fn exec(mut a: HookArgs) -> Result<u8> {
    if a.paths.is_empty() {
        return Ok(0);
    }
    // The notices about the repository's own config are for scans of checkouts one does not
    // control (CI, pull requests); on every commit in one's own repository they are noise.
    let quiet = std::mem::replace(&mut a.common.out.quiet, true);
    let Setup {
        mut config,
        detector,
        baseline,
    } = setup(&a.common, false, false, Path::new("."))?;
    a.common.out.quiet = quiet;
    config.session = session::from_env(&config.signals, env_var);
    // pre-commit passes staged symlinks too: their targets may lie outside the repository.
    config.root_symlinks = false;
    let mut outcome = scan::scan_paths(&a.paths, detector, &config)?;
    scan::mark_existing(&mut outcome, detector, &config);
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    // A clean commit says nothing: the hooks run with `verbose: true` so that secrets already
    // committed (reported, not blocking) are seen, and a summary on every commit is noise.
    if outcome.findings.is_empty() && outcome.diagnostics.is_empty() {
        a.common.out.quiet = true;
    }
    report(outcome, detector, &a.common, &config, Stage::Commit)
}

pub(super) fn exec_install(a: InstallHookArgs) -> Result<u8> {
    let dir = hooks::dir(&a.repo)?;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "leakhound".into());
    let mut todo = vec![Hook::PreCommit];
    if a.pre_push {
        todo.push(Hook::PrePush);
    }
    for hook in todo {
        let path = hooks::install(&dir, hook, a.force, &exe)?;
        writeln!(io::stderr(), "leakhound: installed {}", path.display())?;
    }
    Ok(0)
}
