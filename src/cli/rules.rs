//! `leakhound rules list` and `leakhound rules check`.

use std::io::{self, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;

use leakhound::lint;
use leakhound::rules::RuleSet;

use super::scanning::{rule_files, ListFormat};

#[derive(Debug, Subcommand)]
pub(super) enum RulesCommand {
    /// List the rules (built-in plus --rules).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Also load rule files from this file or directory.
        #[arg(long = "rules", value_name = "PATH")]
        extra: Vec<PathBuf>,
    },
    /// Validate rule files (TOML or YAML): schema, regexes, and every example through the
    /// full detector. With no path, checks the built-in rules.
    #[command(
        after_help = "Exit codes: 0 all rules valid, 1 problems found, 2 unreadable or unparsable files."
    )]
    Check {
        /// Rule files or directories.
        paths: Vec<PathBuf>,
    },
}

pub(super) fn exec(c: RulesCommand) -> Result<u8> {
    match c {
        RulesCommand::List { format, extra } => {
            let rules = load_rules(&extra)?;
            list(&rules, format)?;
            Ok(0)
        }
        RulesCommand::Check { paths } => check(&paths),
    }
}

fn load_rules(extra: &[PathBuf]) -> Result<RuleSet> {
    let mut set = RuleSet::builtin_with_examples().context("built-in rules are broken")?;
    for path in rule_files(extra)? {
        for rule in RuleSet::load_file(&path)? {
            set.push(rule)?;
        }
    }
    Ok(set)
}

fn list(rules: &RuleSet, format: ListFormat) -> Result<()> {
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        ListFormat::Json => {
            let specs: Vec<_> = rules.rules().iter().map(|r| &r.spec).collect();
            serde_json::to_writer_pretty(&mut out, &specs)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            let mut sorted: Vec<_> = rules.rules().iter().collect();
            sorted.sort_by(|a, b| a.id().cmp(b.id()));
            for r in &sorted {
                writeln!(
                    out,
                    "{:<44} {:<8} {:<6} {}",
                    r.id(),
                    r.spec.severity.as_str(),
                    r.spec.precision.as_str(),
                    r.spec.name
                )?;
            }
            writeln!(out, "{} rules", sorted.len())?;
        }
    }
    out.flush()?;
    Ok(())
}

fn check(paths: &[PathBuf]) -> Result<u8> {
    let mut set = RuleSet::default();
    if paths.is_empty() {
        set = RuleSet::builtin_with_examples()?;
    } else {
        for path in rule_files(paths)? {
            for rule in RuleSet::parse_file(&path)? {
                set.push(rule)?;
            }
        }
    }
    let problems = lint::lint(&set);
    let mut out = io::stdout().lock();
    for p in &problems {
        writeln!(out, "{p}")?;
    }
    writeln!(
        out,
        "{} rules checked, {} problem{}",
        set.len(),
        problems.len(),
        if problems.len() == 1 { "" } else { "s" }
    )?;
    Ok(u8::from(!problems.is_empty()))
}
