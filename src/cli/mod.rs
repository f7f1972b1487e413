//! Command line: the `leakhound` parser and dispatch. Each subcommand lives in its own file
//! (arguments, then a short `exec` that maps them onto library calls); nothing else here.

mod ai;
mod baseline;
mod config;
mod git;
mod hook;
mod mcp;
mod merge;
mod rules;
mod scan;
mod scanning;

use anyhow::Result;
use clap::{Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  error: bad arguments, bad rules or config, a missing, dangling or unreadable
     root path, an output that is a symlink
  3  scan incomplete: no failing finding, but files or objects could not be read
     (unreadable files, paths too long; corrupt or missing git objects, partial
     or treeless clones), so not everything was scanned
A closed output pipe (e.g. `| head`) exits 0.";

/// Finds secrets in files, directories and git history.
#[derive(Debug, Parser)]
#[command(name = "leakhound", version, about, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Scan files and directories (default: the current directory). `-` reads stdin.
    #[command(after_help = EXIT_CODES)]
    Scan(scan::ScanArgs),
    /// Scan git history (every blob once), a commit range, or staged changes.
    #[command(after_help = EXIT_CODES)]
    Git(git::GitArgs),
    /// Inspect and validate rules.
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// AI coding agents: which commits they wrote, which files they can read.
    #[command(subcommand)]
    Ai(ai::AiCommand),
    /// Accepted findings: create, prune.
    #[command(subcommand)]
    Baseline(baseline::BaselineCommand),
    /// The configuration: show the effective one, import a gitleaks config.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// For the pre-commit framework: scan the files it passes, in full (the staged files on a
    /// commit, every file under `--all-files`). A secret the HEAD version of a staged file
    /// already holds is reported but does not block; any other finding does.
    #[command(after_help = EXIT_CODES)]
    Hook(hook::HookArgs),
    /// Install leakhound as this repository's git pre-commit hook (`git --staged`), and with
    /// --pre-push as its pre-push hook, for people without the pre-commit framework.
    InstallHook(hook::InstallHookArgs),
    /// Write a commented starter leakhound.toml.
    Init(config::InitArgs),
    /// Combine reports from many scans (one per repository) into one report: one finding per
    /// secret, with every repository and place it appears in.
    #[command(after_help = EXIT_CODES)]
    Merge(merge::MergeArgs),
    /// Serve the Model Context Protocol on stdio: tools to scan text, a file or a folder and
    /// to check a shell command, for agents to call before they write or run something.
    Mcp(mcp::McpArgs),
}

/// Runs the command line; the value is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(a) => scan::exec(a),
        Command::Git(a) => git::exec(a),
        Command::Rules(c) => rules::exec(c),
        Command::Ai(c) => ai::exec(c),
        Command::Baseline(c) => baseline::exec(c),
        Command::Config(c) => config::exec(c),
        Command::Hook(a) => hook::exec(a),
        Command::InstallHook(a) => hook::exec_install(a),
        Command::Init(a) => config::exec_init(a),
        Command::Merge(a) => merge::exec(a),
        Command::Mcp(a) => mcp::exec(a),
    }
}
