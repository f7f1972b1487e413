//! Command line: clap arguments mapped onto `Config` and library calls, nothing more.

use std::io::{self, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use leakhound::ai::exposure::Checkout;
use leakhound::ai::{session, AiMode};
use leakhound::baseline::{self, Baseline};
use leakhound::config::{parse_size, repo_top, Config, FileConfig, DEFAULT_MAX_FILE_SIZE};
use leakhound::detect::Detector;
use leakhound::report::{self, Format, RenderOptions};
use leakhound::rules::{Precision, RuleSet, Severity};
use leakhound::source::git::Selection;
use leakhound::{import, lint, scan};

const EXIT_CODES: &str = "\
Exit codes:
  0  no finding at or above --fail-on
  1  findings at or above --fail-on
  2  error: bad arguments, bad rules or config, unreadable root path
  3  `git` only: no failing finding, but objects could not be read (corrupt, or
     missing as in a partial clone), so the history was not fully scanned
A closed output pipe (e.g. `| head`) exits 0.";

/// Finds secrets in files, directories and (soon) git history.
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
    Scan(ScanArgs),
    /// Scan git history (every blob once), a commit range, or staged changes.
    #[command(after_help = EXIT_CODES)]
    Git(GitArgs),
    /// Inspect and validate rules.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// AI coding agents: which commits they wrote, which files they can read.
    #[command(subcommand)]
    Ai(AiCommand),
    /// Accepted findings: create, prune.
    #[command(subcommand)]
    Baseline(BaselineCommand),
    /// The configuration: show the effective one, import a gitleaks config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// For the pre-commit framework: scan the files it passes, in full (the staged files on a
    /// commit, every file under `--all-files`). A secret the HEAD version of a staged file
    /// already holds is reported but does not block; any other finding does.
    #[command(after_help = EXIT_CODES)]
    Hook {
        /// Files to scan (pre-commit passes them).
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Install leakhound as this repository's git pre-commit hook (`git --staged`), and with
    /// --pre-push as its pre-push hook, for people without the pre-commit framework.
    InstallHook {
        /// The repository.
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Also install the pre-push hook (`git --pre-push`).
        #[arg(long)]
        pre_push: bool,
        /// Replace a hook that leakhound did not write (it is kept as <hook>.before-leakhound).
        #[arg(long)]
        force: bool,
    },
    /// Write a commented starter leakhound.toml.
    Init {
        /// Where (a directory or a file name).
        #[arg(default_value = "leakhound.toml")]
        path: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BaselineCommand {
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

#[derive(Debug, Subcommand)]
enum ConfigCommand {
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

#[derive(Debug, Subcommand)]
enum AiCommand {
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

#[derive(Debug, Subcommand)]
enum RulesCommand {
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

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum OutputFormat {
    Text,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input.
    #[arg(default_value = ".")]
    paths: Vec<PathBuf>,
    /// Do not honour .gitignore, .ignore and git excludes.
    #[arg(long)]
    no_ignore: bool,
    /// Follow symbolic links.
    #[arg(short = 'L', long = "follow")]
    follow: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct GitArgs {
    /// The repository (work tree or bare).
    #[arg(default_value = ".")]
    repo: PathBuf,
    /// Only commits reachable from this ref or revision (default: every ref).
    #[arg(long, value_name = "REF", conflicts_with_all = ["range", "since_commit", "staged"])]
    branch: Option<String>,
    /// Only what the commits in BASE..HEAD introduced (a pull request or push). An all-zero
    /// or unknown BASE scans the commits no other ref has, and says so.
    #[arg(long, value_name = "BASE..HEAD", conflicts_with_all = ["since_commit", "staged"])]
    range: Option<String>,
    /// Only what the commits after REV, up to HEAD, introduced.
    #[arg(long, value_name = "REV", conflicts_with = "staged")]
    since_commit: Option<String>,
    /// What is about to be committed: index entries that differ from HEAD. Secrets already
    /// committed in the same file are reported but do not block.
    #[arg(long)]
    staged: bool,
    /// In a commit-msg hook: when the message being committed (FILE) carries an AI trailer,
    /// checks the staged content again under the AI policy (`[ai]`); otherwise exits 0.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["branch", "range", "since_commit", "staged", "pre_push"])]
    commit_msg: Option<PathBuf>,
    /// What is being pushed: reads git's pre-push input on stdin (or PRE_COMMIT_FROM_REF /
    /// PRE_COMMIT_TO_REF under the pre-commit framework) and scans the commits the remote lacks.
    #[arg(long, conflicts_with_all = ["branch", "range", "since_commit", "staged"])]
    pre_push: bool,
    #[command(flatten)]
    common: CommonArgs,
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Print secrets in full (redacted by default in every format).
    #[arg(long)]
    show_secrets: bool,
    /// Skip files (and blobs) larger than this (K, M, G suffixes) [default: 10M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_file_size: Option<u64>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    threads: Option<usize>,
    /// Exit 1 only for findings at or above this severity [default: low].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    fail_on: Option<Severity>,
    /// Also report low-precision (generic, noisy) rules.
    #[arg(long)]
    all_rules: bool,
    /// List candidates that were dropped, and why.
    #[arg(long)]
    explain_suppressed: bool,
    /// Load extra rule files from this file or directory.
    #[arg(long = "rules", value_name = "PATH")]
    extra_rules: Vec<PathBuf>,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Config file (default: leakhound.toml or .leakhound.toml at the repository root; else
    /// a .gitleaks.toml or .betterleaks.toml there, translated).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Accepted findings (`leakhound baseline create`); overrides `baseline` in the config.
    #[arg(long, value_name = "FILE")]
    baseline: Option<PathBuf>,
    /// The stricter policy for AI-written work: auto (AI-tagged commits, agent sessions,
    /// messages with AI trailers), strict (everything), off. Overrides `[ai] mode`.
    #[arg(long, value_enum, value_name = "MODE")]
    ai: Option<AiModeArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum AiModeArg {
    Auto,
    Strict,
    Off,
}

impl From<AiModeArg> for AiMode {
    fn from(m: AiModeArg) -> AiMode {
        match m {
            AiModeArg::Auto => AiMode::Auto,
            AiModeArg::Strict => AiMode::Strict,
            AiModeArg::Off => AiMode::Off,
        }
    }
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// Runs the command line; the value is the process exit code.
pub fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Scan(a) => run_scan(a),
        Command::Git(a) => run_git(a),
        Command::Rules(RulesCommand::List { format, extra }) => {
            let rules = load_rules(&extra)?;
            list_rules(&rules, format)?;
            Ok(0)
        }
        Command::Rules(RulesCommand::Check { paths }) => check_rules(&paths),
        Command::Ai(AiCommand::Commits {
            repo,
            branch,
            low,
            format,
            config,
        }) => ai_commits(&repo, branch.as_deref(), low, format, config.as_deref()),
        Command::Ai(AiCommand::Agents { path }) => ai_agents(&path),
        Command::Baseline(BaselineCommand::Create {
            paths,
            history,
            output,
            with_paths,
            expires,
            config,
        }) => baseline_create(
            &paths,
            history,
            &output,
            with_paths,
            expires.as_deref(),
            config,
        ),
        Command::Baseline(BaselineCommand::Prune {
            file,
            paths,
            history,
            config,
        }) => baseline_prune(&file, &paths, history, config),
        Command::Config(ConfigCommand::Show { path, config }) => {
            config_show(&path, config.as_deref())
        }
        Command::Config(ConfigCommand::Import { file, output }) => {
            config_import(&file, output.as_deref())
        }
        Command::Init { path, force } => init(&path, force),
        Command::Hook { paths, common } => run_hook(&paths, &common),
        Command::InstallHook {
            repo,
            pre_push,
            force,
        } => install_hook(&repo, pre_push, force),
    }
}

fn load_rules(extra: &[PathBuf]) -> Result<RuleSet> {
    let mut set = RuleSet::builtin().context("built-in rules are broken")?;
    for path in rule_files(extra)? {
        for rule in RuleSet::load_file(&path)? {
            set.push(rule)?;
        }
    }
    Ok(set)
}

fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            let mut here: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("{}: cannot read rule directory", p.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    matches!(
                        f.extension().and_then(|e| e.to_str()),
                        Some("toml" | "yaml" | "yml")
                    )
                })
                .collect();
            here.sort();
            files.extend(here);
        } else if p.exists() {
            files.push(p.clone());
        } else {
            bail!("{}: no such rule file or directory", p.display());
        }
    }
    Ok(files)
}

/// Everything a scan needs besides its input: config, rules, baseline.
struct Setup {
    config: Config,
    detector: Detector,
    baseline: Option<Baseline>,
}

/// Defaults, then the config file (or a translated gitleaks config), then command-line
/// flags, for a scan rooted at `root`.
fn setup(c: &CommonArgs, no_ignore: bool, follow: bool, root: &Path) -> Result<Setup> {
    if c.threads == Some(0) {
        bail!("--threads must be at least 1");
    }
    let mut config = Config {
        no_ignore,
        follow_symlinks: follow,
        threads: c.threads,
        show_secrets: c.show_secrets,
        keep_dropped: c.explain_suppressed,
        ..Config::default()
    };
    let (file, origin) = load_config_file(c.config.as_deref(), root)?;
    file.apply(&mut config, &origin)?;
    if let Some(v) = c.fail_on {
        config.thresholds.fail_on = v;
    }
    if c.all_rules {
        config.thresholds.min_precision = Precision::Low;
    }
    if let Some(v) = c.max_file_size {
        config.max_file_size = if v == 0 { DEFAULT_MAX_FILE_SIZE } else { v };
    }
    if let Some(mode) = c.ai {
        config.ai.mode = mode.into();
    }
    let mut rules = file.rule_set(&origin)?;
    for path in rule_files(&c.extra_rules)? {
        for rule in RuleSet::load_file(&path)? {
            rules.push(rule)?;
        }
    }
    let baseline_path = c.baseline.clone().or_else(|| {
        file.baseline.as_ref().map(|b| {
            Path::new(&origin)
                .parent()
                .map_or_else(|| b.clone(), |dir| dir.join(b))
        })
    });
    let baseline = baseline_path.map(|p| Baseline::load(&p)).transpose()?;
    Ok(Setup {
        config,
        detector: Detector::new(rules),
        baseline,
    })
}

/// The config file that applies, parsed: `--config`, else `leakhound.toml` /
/// `.leakhound.toml` at the repository top, else a `.gitleaks.toml` / `.betterleaks.toml`
/// there (translated, with a notice), else defaults. A `.gitleaksignore` at the top is
/// honoured too.
fn load_config_file(explicit: Option<&Path>, root: &Path) -> Result<(FileConfig, String)> {
    let top = checkout_top(root);
    let mut stderr = io::stderr();
    let (mut file, origin) = match FileConfig::find(explicit, root) {
        Some(path) if is_gitleaks_config(&path) => import_config(&path, &mut stderr)?,
        Some(path) => (FileConfig::load(&path)?, path.display().to_string()),
        None => match [".gitleaks.toml", ".betterleaks.toml"]
            .iter()
            .map(|n| top.join(n))
            .find(|p| p.is_file())
        {
            Some(path) => import_config(&path, &mut stderr)?,
            None => (FileConfig::default(), "defaults".to_string()),
        },
    };
    let ignore = top.join(".gitleaksignore");
    if ignore.is_file() {
        let text = std::fs::read_to_string(&ignore)
            .with_context(|| format!("{}: cannot read", ignore.display()))?;
        file.ignored_locations.extend(import::gitleaksignore(
            &text,
            &ignore.display().to_string(),
        )?);
    }
    Ok((file, origin))
}

/// The repository top holding `root`; outside a repository, `root` (or its folder).
fn checkout_top(root: &Path) -> PathBuf {
    repo_top(root).unwrap_or_else(|| {
        if root.is_dir() {
            root.to_path_buf()
        } else {
            root.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    })
}

fn is_gitleaks_config(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("gitleaks") || n.contains("betterleaks"))
}

fn import_config(path: &Path, status: &mut dyn Write) -> Result<(FileConfig, String)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the config file", path.display()))?;
    let origin = path.display().to_string();
    let imp = import::gitleaks(&text, &origin)?;
    writeln!(
        status,
        "leakhound: reading {origin} as a gitleaks config: {} rules translated, {} not (`leakhound config import {origin}` lists them)",
        imp.rules_translated,
        imp.rules_skipped.len()
    )?;
    Ok((imp.config, origin))
}

fn run_scan(a: ScanArgs) -> Result<u8> {
    let stdin = a.paths.len() == 1 && a.paths[0].as_os_str() == "-";
    let root = if stdin {
        Path::new(".")
    } else {
        a.paths[0].as_path()
    };
    let Setup {
        mut config,
        detector,
        baseline,
    } = setup(&a.common, a.no_ignore, a.follow, root)?;
    config.session = session::from_env(&config.signals, env_var);
    if !stdin {
        let checkout = Checkout::open(&checkout_top(root));
        if !checkout.agents().is_empty() {
            config.exposure = Some(Arc::new(checkout));
        }
    }
    let mut outcome = if stdin {
        let mut bytes = Vec::new();
        io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        scan::scan_bytes(&bytes, "<stdin>", &detector, &config)
    } else {
        scan::scan_paths(&a.paths, &detector, &config)?
    };
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    report(&outcome, &detector, &a.common, &config, false)
}

fn run_git(a: GitArgs) -> Result<u8> {
    let Setup {
        mut config,
        detector,
        baseline,
    } = setup(&a.common, false, false, &a.repo)?;
    if let Some(msg) = &a.commit_msg {
        let tag =
            session::from_message(&config.signals, msg, env_var).map_err(anyhow::Error::msg)?;
        let tag = tag.or_else(|| session::from_env(&config.signals, env_var));
        if !config.ai.applies(tag.as_ref()) {
            // Nothing AI about this commit: the pre-commit hook already checked it.
            return Ok(0);
        }
        config.session = tag;
    } else if a.staged {
        config.session = session::from_env(&config.signals, env_var);
    }
    let mut outcome = if a.staged || a.commit_msg.is_some() {
        scan::scan_staged(&a.repo, &detector, &config)?
    } else {
        let selection = match (&a.branch, &a.range, &a.since_commit) {
            (Some(b), _, _) => Selection::Branch(b.clone()),
            (_, Some(r), _) => {
                let (base, head) = r
                    .split_once("..")
                    .filter(|(b, h)| !b.is_empty() && !h.is_empty() && !h.starts_with('.'))
                    .with_context(|| format!("--range {r:?}: write it as BASE..HEAD"))?;
                Selection::Range {
                    base: base.to_string(),
                    head: head.to_string(),
                }
            }
            (_, _, Some(rev)) => Selection::Range {
                base: rev.clone(),
                head: "HEAD".to_string(),
            },
            _ if a.pre_push => Selection::Push(push_updates()?),
            _ => Selection::All,
        };
        let show = io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let meter = ProgressLine::new();
        let progress = |p: scan::Progress| meter.show(p);
        let outcome = scan::scan_history(
            &a.repo,
            &selection,
            &detector,
            &config,
            show.then_some(&progress as scan::ProgressFn<'_>),
        )?;
        if show {
            meter.clear();
        }
        outcome
    };
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    report(&outcome, &detector, &a.common, &config, true)
}

/// Moves the findings a baseline accepts out of the report (expired entries stay).
fn accept_baseline(outcome: &mut scan::ScanOutcome, b: Option<&Baseline>, config: &Config) {
    if let Some(b) = b {
        baseline::apply(outcome, b, &baseline::today(), config.keep_dropped);
    }
}

/// The refs being pushed: pre-commit's environment if set, else git's pre-push stdin.
fn push_updates() -> Result<Vec<leakhound::source::git::PushUpdate>> {
    if let (Ok(from), Ok(to)) = (
        std::env::var("PRE_COMMIT_FROM_REF"),
        std::env::var("PRE_COMMIT_TO_REF"),
    ) {
        return Ok(vec![leakhound::source::git::PushUpdate {
            local: to,
            remote: from,
        }]);
    }
    let mut input = String::new();
    io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the pre-push input on standard input")?;
    leakhound::source::git::parse_pre_push(&input).map_err(anyhow::Error::msg)
}

/// (time, blobs, bytes) at the first report.
type Origin0 = (std::time::Instant, u64, u64);

/// A one-line progress display on stderr, redrawn at most every 200 ms. Rates are measured
/// from the first report (after the history walk), so they describe the scanning itself.
struct ProgressLine {
    /// The first report, and the time of the last redraw.
    state: std::sync::Mutex<Option<(Origin0, std::time::Instant)>>,
}

impl ProgressLine {
    fn new() -> ProgressLine {
        ProgressLine {
            state: std::sync::Mutex::new(None),
        }
    }

    fn show(&self, p: scan::Progress) {
        let Ok(mut state) = self.state.lock() else {
            return;
        };
        let now = std::time::Instant::now();
        let ((t0, done0, bytes0), last) = match state.as_mut() {
            Some(s) => s,
            None => {
                *state = Some(((now, p.done, p.bytes), now));
                return;
            }
        };
        if now.duration_since(*last) < std::time::Duration::from_millis(200) && p.done < p.total {
            return;
        }
        *last = now;
        let secs = now.duration_since(*t0).as_secs_f64().max(0.001);
        let rate = p.bytes.saturating_sub(*bytes0) as f64 / secs / 1e6;
        let per_blob = secs / (p.done.saturating_sub(*done0)).max(1) as f64;
        let eta = per_blob * p.total.saturating_sub(p.done) as f64;
        let _ = write!(
            io::stderr(),
            "\r\x1b[2Kleakhound: {}/{} blobs, {:.0} MB, {:.0} MB/s, ETA {:.0}s",
            p.done,
            p.total,
            p.bytes as f64 / 1e6,
            rate,
            eta
        );
    }

    fn clear(&self) {
        let _ = write!(io::stderr(), "\r\x1b[2K");
    }
}

fn report(
    outcome: &scan::ScanOutcome,
    detector: &Detector,
    c: &CommonArgs,
    config: &Config,
    incomplete_fails: bool,
) -> Result<u8> {
    let format = match c.format {
        OutputFormat::Text => Format::Text,
        OutputFormat::Json => Format::Json,
        OutputFormat::Jsonl => Format::Jsonl,
        OutputFormat::Sarif => Format::Sarif,
    };
    let color = match c.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            c.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let opts = RenderOptions { color };
    let mut status = io::stderr().lock();
    match &c.output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(
                outcome,
                detector.rules(),
                format,
                opts,
                &mut buf,
                &mut status,
            )?;
            std::fs::write(path, buf)
                .with_context(|| format!("{}: cannot write report", path.display()))?;
        }
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            report::render(
                outcome,
                detector.rules(),
                format,
                opts,
                &mut out,
                &mut status,
            )?;
            out.flush()?;
        }
    }
    let failing = outcome.findings.iter().any(|f| {
        let fail_on = if f.ai_policy {
            config.thresholds.fail_on.min(config.ai.fail_on)
        } else {
            config.thresholds.fail_on
        };
        !f.existing && f.severity >= fail_on
    });
    let unreadable = outcome
        .stats
        .files_skipped
        .get("unreadable")
        .copied()
        .unwrap_or(0);
    if !failing && incomplete_fails && unreadable > 0 {
        writeln!(
            status,
            "leakhound: scan incomplete: {unreadable} object(s) could not be read; exit 3"
        )?;
        return Ok(3);
    }
    Ok(u8::from(failing))
}

fn list_rules(rules: &RuleSet, format: ListFormat) -> Result<()> {
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

fn check_rules(paths: &[PathBuf]) -> Result<u8> {
    let mut set = RuleSet::default();
    if paths.is_empty() {
        set = RuleSet::builtin()?;
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

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn ai_commits(
    repo: &Path,
    branch: Option<&str>,
    low: bool,
    format: ListFormat,
    config_file: Option<&Path>,
) -> Result<u8> {
    let mut config = Config::default();
    if let Some(path) = FileConfig::find(config_file, repo) {
        FileConfig::load(&path)?.apply(&mut config, &path.display().to_string())?;
    }
    let signals = Arc::clone(&config.signals);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut tagged = 0usize;
    let mut failed: Option<io::Error> = None;
    let total = leakhound::source::git::for_each_commit(repo, branch, &mut |c| {
        let tag = signals.classify(c.into()).or_else(|| {
            low.then(|| signals.all_matches(c.into()).into_iter().next())
                .flatten()
        });
        let Some(tag) = tag else { return };
        tagged += 1;
        if failed.is_some() {
            return;
        }
        let written = match format {
            ListFormat::Json => serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "commit": c.id,
                    "author": format!("{} <{}>", c.author_name, c.author_email),
                    "subject": c.subject,
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
                &c.id[..c.id.len().min(12)],
                tag.confidence.as_str(),
                tag.tool,
                tag.evidence
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

fn ai_agents(path: &Path) -> Result<u8> {
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
        writeln!(out, "{}: {}", a.tool, a.evidence.join(", "))?;
    }
    for p in &checkout.problems {
        writeln!(io::stderr(), "leakhound: {p}")?;
    }
    out.flush()?;
    Ok(0)
}

/// A scan for baseline commands: every finding, no baseline applied.
fn scan_for_baseline(
    paths: &[PathBuf],
    history: bool,
    config_file: Option<PathBuf>,
) -> Result<scan::ScanOutcome> {
    let common = CommonArgs {
        format: OutputFormat::Text,
        output: None,
        show_secrets: false,
        max_file_size: None,
        threads: None,
        fail_on: None,
        all_rules: false,
        explain_suppressed: false,
        extra_rules: Vec::new(),
        color: Color::Never,
        config: config_file,
        baseline: None,
        ai: None,
    };
    let root = paths.first().map_or(Path::new("."), PathBuf::as_path);
    let Setup {
        config, detector, ..
    } = setup(&common, false, false, root)?;
    Ok(if history {
        scan::scan_history(root, &Selection::All, &detector, &config, None)?
    } else {
        scan::scan_paths(paths, &detector, &config)?
    })
}

fn baseline_create(
    paths: &[PathBuf],
    history: bool,
    output: &Path,
    with_paths: bool,
    expires: Option<&str>,
    config_file: Option<PathBuf>,
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
    let outcome = scan_for_baseline(paths, history, config_file)?;
    let text = baseline::render(&outcome.findings, previous.as_ref(), with_paths, expires);
    std::fs::write(output, &text).with_context(|| format!("{}: cannot write", output.display()))?;
    let n = text.lines().filter(|l| !l.starts_with('#')).count();
    writeln!(
        io::stderr(),
        "leakhound: {n} accepted finding(s) written to {} (from {} finding(s))",
        output.display(),
        outcome.findings.len()
    )?;
    Ok(0)
}

fn baseline_prune(
    file: &Path,
    paths: &[PathBuf],
    history: bool,
    config_file: Option<PathBuf>,
) -> Result<u8> {
    let old = Baseline::load(file)?;
    let outcome = scan_for_baseline(paths, history, config_file)?;
    let found: std::collections::HashSet<(&str, &str)> = outcome
        .findings
        .iter()
        .map(|f| (f.fingerprint.0.as_str(), f.rule_id.as_str()))
        .collect();
    let kept: Vec<&leakhound::baseline::Entry> = old
        .entries
        .iter()
        .map(|(_, e)| e)
        .filter(|e| found.contains(&(e.fingerprint.as_str(), e.rule_id.as_str())))
        .collect();
    let text = baseline::render_entries(kept.iter().copied());
    std::fs::write(file, text).with_context(|| format!("{}: cannot write", file.display()))?;
    writeln!(
        io::stderr(),
        "leakhound: kept {} of {} baseline entries; {} no longer found were dropped",
        kept.len(),
        old.entries.len(),
        old.entries.len() - kept.len()
    )?;
    Ok(0)
}

#[derive(serde::Serialize)]
struct Shown<'a> {
    baseline: Option<&'a PathBuf>,
    scan: ShownScan,
    rules: ShownRules<'a>,
    ai: &'a leakhound::ai::AiPolicy,
    allowlist: Vec<leakhound::allow::AllowSpec>,
}

#[derive(serde::Serialize)]
struct ShownScan {
    fail_on: &'static str,
    all_rules: bool,
    max_file_size: u64,
    markers: bool,
}

#[derive(serde::Serialize)]
struct ShownRules<'a> {
    active: usize,
    added: Vec<&'a str>,
    disable: &'a [String],
    #[serde(rename = "override")]
    overrides: &'a std::collections::BTreeMap<String, leakhound::config::RuleOverride>,
}

fn config_show(path: &Path, explicit: Option<&Path>) -> Result<u8> {
    let (file, origin) = load_config_file(explicit, path)?;
    let mut config = Config::default();
    file.apply(&mut config, &origin)?;
    let rules = file.rule_set(&origin)?;
    let allowlist = file.allowlist_specs();
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
        allowlist,
    };
    let mut out = io::stdout().lock();
    writeln!(out, "# effective configuration (from {origin})")?;
    write!(out, "{}", toml::to_string(&shown)?)?;
    Ok(0)
}

fn config_import(file: &Path, output: Option<&Path>) -> Result<u8> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let origin = file.display().to_string();
    let imp = import::gitleaks(&text, &origin)?;
    let mut body = format!(
        "# Translated from {origin} by `leakhound config import`: {} rule(s) translated, {} not.\n",
        imp.rules_translated,
        imp.rules_skipped.len()
    );
    for (id, why) in &imp.rules_skipped {
        body.push_str(&format!("# not translated: {id}: {why}\n"));
    }
    for n in &imp.notes {
        body.push_str(&format!("# note: {n}\n"));
    }
    if imp.config.builtin_rules == Some(false) {
        body.push_str(
            "# The gitleaks config replaced gitleaks' default rules. leakhound's built-in rules stay on\n# when this file is used as leakhound.toml; switch some off with [rules] disable = [...].\n",
        );
    }
    body.push_str(&toml::to_string(&imp.config)?);
    match output {
        Some(p) => {
            std::fs::write(p, &body).with_context(|| format!("{}: cannot write", p.display()))?
        }
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
        writeln!(err, "  {id}: {why}")?;
    }
    for n in &imp.notes {
        writeln!(err, "  note: {n}")?;
    }
    Ok(0)
}

const STARTER: &str = include_str!("starter.toml");

fn init(path: &Path, force: bool) -> Result<u8> {
    let target = if path.is_dir() {
        path.join("leakhound.toml")
    } else {
        path.to_path_buf()
    };
    if target.exists() && !force {
        bail!(
            "{}: already exists (use --force to overwrite)",
            target.display()
        );
    }
    std::fs::write(&target, STARTER)
        .with_context(|| format!("{}: cannot write", target.display()))?;
    writeln!(io::stderr(), "leakhound: wrote {}", target.display())?;
    Ok(0)
}

fn run_hook(paths: &[PathBuf], common: &CommonArgs) -> Result<u8> {
    if paths.is_empty() {
        return Ok(0);
    }
    let Setup {
        mut config,
        detector,
        baseline,
    } = setup(common, false, false, Path::new("."))?;
    config.session = session::from_env(&config.signals, env_var);
    let mut outcome = scan::scan_paths(paths, &detector, &config)?;
    scan::mark_existing(&mut outcome, &detector, &config);
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    report(&outcome, &detector, common, &config, false)
}

const HOOK_MARK: &str = "# leakhound-hook v1";

fn install_hook(repo: &Path, pre_push: bool, force: bool) -> Result<u8> {
    let git = git2::Repository::open(repo)
        .with_context(|| format!("{}: not a git repository", repo.display()))?;
    let hooks = match git.config().and_then(|c| c.get_path("core.hooksPath")) {
        Ok(p) if p.is_absolute() => p,
        Ok(p) => git.workdir().unwrap_or(git.path()).join(p),
        Err(_) => git.path().join("hooks"),
    };
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("{}: cannot create the hooks directory", hooks.display()))?;
    let exe = std::env::current_exe()
        .ok()
        .and_then(|p| p.canonicalize().ok())
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "leakhound".into());
    let mut todo = vec![("pre-commit", "git --staged", "what is being committed")];
    if pre_push {
        todo.push(("pre-push", "git --pre-push", "what is being pushed"));
    }
    let mut err = io::stderr();
    for (name, args, what) in todo {
        let path = hooks.join(name);
        if let Ok(existing) = std::fs::read_to_string(&path) {
            if !existing.contains(HOOK_MARK) {
                if !force {
                    bail!(
                        "{}: a {name} hook that leakhound did not write is already there; run it from yours, or use --force (it is kept as {name}.before-leakhound)",
                        path.display()
                    );
                }
                std::fs::rename(&path, hooks.join(format!("{name}.before-leakhound")))
                    .with_context(|| format!("{}: cannot move aside", path.display()))?;
            }
        }
        let script = format!(
            "#!/bin/sh\n{HOOK_MARK}: scans {what}. Remove this file to uninstall.\nLEAKHOUND=\"${{LEAKHOUND:-{exe}}}\"\ncommand -v \"$LEAKHOUND\" >/dev/null 2>&1 || LEAKHOUND=leakhound\nexec \"$LEAKHOUND\" {args}\n"
        );
        std::fs::write(&path, script)
            .with_context(|| format!("{}: cannot write", path.display()))?;
        make_executable(&path)?;
        writeln!(err, "leakhound: installed {}", path.display())?;
    }
    Ok(0)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms)?;
    Ok(())
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> Result<()> {
    Ok(())
}
