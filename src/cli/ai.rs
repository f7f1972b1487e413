//! `leakhound ai commits` and `leakhound ai agents`: what the AI signals tag, listed.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};
use clap::Subcommand;

use leakhound::ai::exposure::Checkout;
use leakhound::config::{repo_top, Config, FileConfig};
use leakhound::detect::Detector;
use leakhound::report::escape;
use leakhound::rules::RuleSet;
use leakhound::scan::Redactor;
use leakhound::source::git::for_each_commit;
use leakhound::untrusted::Chooser;

use super::scanning::ListFormat;

#[derive(Debug, Subcommand)]
pub(super) enum AiCommand {
    /// List the commits that AI-authorship signals tag (one line each), with the evidence.
    Commits {
        /// The repository (work tree or bare).
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Only commits reachable from this ref (default: every ref).
        #[arg(long, value_name = "REF")]
        branch: Option<String>,
        /// Also list commits with only low-confidence signals (branch names), marked `low`.
        #[arg(long)]
        low: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Config file (for `[[ai.signal]]` additions).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Which AI agents work in a checkout (by their instruction files) and how each one
    /// excludes files.
    Agents {
        /// The checkout.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
}

pub(super) fn exec(c: AiCommand) -> Result<u8> {
    match c {
        AiCommand::Commits {
            repo,
            branch,
            low,
            format,
            config,
        } => commits(&repo, branch.as_deref(), low, format, config.as_deref()),
        AiCommand::Agents { path } => agents(&path),
    }
}

fn commits(
    repo: &Path,
    branch: Option<&str>,
    low: bool,
    format: ListFormat,
    config_file: Option<&Path>,
) -> Result<u8> {
    let mut config = Config::default();
    let by = if config_file.is_some() {
        Chooser::User
    } else {
        Chooser::Repo
    };
    if let Some(path) = FileConfig::find(config_file, repo) {
        FileConfig::load_as(&path, by)?.apply(&mut config, &path.display().to_string())?;
    }
    let signals = Arc::clone(&config.signals);
    // Subjects and trailers are printed: a token pasted into a message is redacted there.
    let detector = Detector::new(RuleSet::builtin()?);
    let mut redactor = Redactor::new(&detector, config.thresholds.min_precision);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut tagged = 0usize;
    let mut failed: Option<io::Error> = None;
    let total = for_each_commit(repo, branch, &mut |c| {
        let tag = signals.classify(c.into()).or_else(|| {
            low.then(|| signals.all_matches(c.into()).into_iter().next())
                .flatten()
        });
        let Some(mut tag) = tag else { return };
        tagged += 1;
        let mut subject = c.subject.clone();
        redactor.redact_in_place(&mut subject);
        redactor.redact_in_place(&mut tag.evidence);
        if failed.is_some() {
            return;
        }
        let written = match format {
            ListFormat::Json => serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "commit": c.id,
                    "author": format!("{} <{}>", c.author_name, c.author_email),
                    "subject": subject,
                    "tool": tag.tool,
                    "signal": tag.signal,
                    "confidence": tag.confidence,
                    "evidence": tag.evidence,
                }),
            )
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out)),
            ListFormat::Text => writeln!(
                out,
                "{}  {:<6}  {}  {}",
                escape(&c.id[..c.id.len().min(12)]),
                tag.confidence.as_str(),
                escape(&tag.tool),
                escape(&tag.evidence)
            ),
        };
        if let Err(e) = written {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    writeln!(
        io::stderr(),
        "leakhound: {tagged} of {total} commits tagged{}",
        if low {
            " (low-confidence signals included)"
        } else {
            ""
        }
    )?;
    Ok(0)
}

fn agents(path: &Path) -> Result<u8> {
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    let top = repo_top(path).unwrap_or_else(|| path.to_path_buf());
    let checkout = Checkout::open(&top);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let agents = checkout.agents();
    if agents.is_empty() {
        writeln!(
            out,
            "no AI agent instruction or ignore files found in {}",
            top.display()
        )?;
    }
    for a in &agents {
        writeln!(out, "{}: {}", a.tool, escape(&a.evidence.join(", ")))?;
    }
    for p in &checkout.problems {
        writeln!(io::stderr(), "leakhound: {}", escape(p))?;
    }
    out.flush()?;
    Ok(0)
}
