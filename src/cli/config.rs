//! `leakhound config show`, `leakhound config import` and `leakhound init`.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use leakhound::config::show_effective;
use leakhound::report::escape;
use leakhound::{import, untrusted};

use super::scanning::load_config_file;

#[derive(Debug, Subcommand)]
pub(super) enum ConfigCommand {
    /// Print the effective configuration for a scan of PATH (defaults, config file, its
    /// allowlists, rules added, disabled and overridden) as TOML.
    Show {
        /// Where the scan would run.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Config file.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Translate a gitleaks or betterleaks config (`.gitleaks.toml`) into leakhound.toml
    /// form; rules that do not translate are listed with the reason.
    Import {
        /// The gitleaks config.
        file: PathBuf,
        /// Write the result here instead of standard output.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub(super) struct InitArgs {
    /// Where (a directory or a file name).
    #[arg(default_value = "leakhound.toml")]
    path: PathBuf,
    /// Overwrite an existing file.
    #[arg(long)]
    force: bool,
}

pub(super) fn exec(c: ConfigCommand) -> Result<u8> {
    match c {
        ConfigCommand::Show { path, config } => show(&path, config.as_deref()),
        ConfigCommand::Import { file, output } => import(&file, output.as_deref()),
    }
}

fn show(path: &Path, explicit: Option<&Path>) -> Result<u8> {
    let (file, origin) = load_config_file(explicit, path)?;
    let shown = show_effective(&file, &origin)?;
    io::stdout().lock().write_all(shown.as_bytes())?;
    Ok(0)
}

fn import(file: &Path, output: Option<&Path>) -> Result<u8> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let origin = file.display().to_string();
    let imp = import::gitleaks(&text, &origin)?;
    let body = import::render(&imp, &origin)?;
    match output {
        Some(p) => untrusted::write(p, body.as_bytes())?,
        None => io::stdout().lock().write_all(body.as_bytes())?,
    }
    let mut err = io::stderr();
    writeln!(
        err,
        "leakhound: {} rule(s) translated, {} not translatable{}",
        imp.rules_translated,
        imp.rules_skipped.len(),
        if imp.rules_skipped.is_empty() {
            ""
        } else {
            ":"
        }
    )?;
    for (id, why) in &imp.rules_skipped {
        writeln!(err, "  {}: {}", escape(id), escape(why))?;
    }
    for n in &imp.notes {
        writeln!(err, "  note: {}", escape(n))?;
    }
    Ok(0)
}

const STARTER: &str = include_str!("../starter.toml");

pub(super) fn exec_init(a: InitArgs) -> Result<u8> {
    let target = if a.path.is_dir() {
        a.path.join("leakhound.toml")
    } else {
        a.path.clone()
    };
    if target.exists() && !a.force {
        bail!(
            "{}: already exists (use --force to overwrite)",
            target.display()
        );
    }
    untrusted::write(&target, STARTER.as_bytes())?;
    writeln!(io::stderr(), "leakhound: wrote {}", target.display())?;
    Ok(0)
}
