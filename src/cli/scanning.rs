//! What the scanning subcommands share: the common flags, turning them into a config,
//! detector and baseline, and rendering the outcome into an exit code.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use clap::{Args, ValueEnum};

pub(super) use leakhound::report::Stage;

use leakhound::ai::AiMode;
use leakhound::baseline::{self, Baseline};
use leakhound::config::{parse_size, Config, FileConfig, DEFAULT_MAX_FILE_SIZE};
use leakhound::detect::Detector;
use leakhound::report::{self, Format, RenderOptions};
use leakhound::rules::{Precision, RuleSet, Severity};
use leakhound::{discover, scan, untrusted};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum ListFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum OutputFormat {
    Text,
    Json,
    Jsonl,
    Sarif,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum Color {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
pub(super) struct CommonArgs {
    #[command(flatten)]
    pub(super) out: OutputArgs,
    /// Print secrets in full (redacted by default in every format).
    #[arg(long)]
    pub(super) show_secrets: bool,
    /// Skip files (and blobs) larger than this (K, M, G suffixes) [default: 10M].
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub(super) max_file_size: Option<u64>,
    /// Open archives (zip, jar, whl, tar, tar.gz, .gz, .xz, ...) this many levels deep and
    /// scan their members, reported as `outer.zip!inner/path`; 0 scans none [default: 3].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=8))]
    pub(super) archive_depth: Option<u32>,
    /// Worker threads (default: one per core).
    #[arg(short = 'j', long, value_name = "N")]
    pub(super) threads: Option<usize>,
    /// Exit 1 only for findings at or above this severity [default: low].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub(super) fail_on: Option<Severity>,
    /// Also report low-precision (generic, noisy) rules.
    #[arg(long)]
    pub(super) all_rules: bool,
    /// List candidates that were dropped, and why.
    #[arg(long)]
    pub(super) explain_suppressed: bool,
    /// Load extra rule files from this file or directory.
    #[arg(long = "rules", value_name = "PATH")]
    pub(super) extra_rules: Vec<PathBuf>,
    /// Config file (default: leakhound.toml or .leakhound.toml at the repository root; else
    /// a .gitleaks.toml or .betterleaks.toml there, translated).
    #[arg(long, value_name = "FILE")]
    pub(super) config: Option<PathBuf>,
    /// Accepted findings (`leakhound baseline create`); overrides `baseline` in the config.
    #[arg(long, value_name = "FILE")]
    pub(super) baseline: Option<PathBuf>,
    /// The stricter policy for AI-written work: auto (AI-tagged commits, agent sessions,
    /// messages with AI trailers), strict (everything), off. Overrides `[ai] mode`.
    #[arg(long, value_enum, value_name = "MODE")]
    pub(super) ai: Option<AiModeArg>,
    /// Ignore the scanned repository's own settings (leakhound.toml, .gitleaks.toml,
    /// .gitleaksignore and the baseline they name): for pull requests from forks and other
    /// untrusted checkouts. `--config` and `--baseline` still apply.
    #[arg(long)]
    pub(super) no_repo_config: bool,
    /// Name the repository in the report (JSON `repository` on each finding and in the
    /// summary): for organisation scans that `leakhound merge` combines.
    #[arg(long, value_name = "NAME")]
    pub(super) repository: Option<String>,
    #[command(flatten)]
    pub(super) check: VerifyArgs,
}

/// `--verify` and what depends on it.
#[derive(Debug, Args, Default)]
pub(super) struct VerifyArgs {
    /// Ask each credential's provider, read-only, whether it is live, as whom and with which
    /// permissions. Off by default: nothing leaves the machine without it. Endpoints, proxy
    /// and limits come from [verify] in a --config file or ~/.config/leakhound/config.toml,
    /// never from the scanned repository.
    #[arg(long)]
    pub(super) verify: bool,
    /// Report only findings verified live (needs --verify).
    #[arg(long, requires = "verify")]
    pub(super) only_verified: bool,
    /// Exit 1 only for findings verified live; the rest are reported (needs --verify).
    #[arg(long, requires = "verify")]
    pub(super) fail_on_live: bool,
}

/// `[verify]`: from the `--config` file when it has the section, else from the user's own
/// file (`$XDG_CONFIG_HOME/leakhound/config.toml`, `~/.config/leakhound/config.toml`), of
/// which only `[verify]` is read. Never from the scanned repository.
fn verify_settings(config: &Config) -> Result<leakhound::config::VerifySection> {
    if !config.verify.is_default() {
        return Ok(config.verify.clone());
    }
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let path = var("XDG_CONFIG_HOME")
        .or_else(|| var("HOME").map(|h| h.join(".config")))
        .map(|d| d.join("leakhound").join("config.toml"));
    let Some(path) = path.filter(|p| p.is_file()) else {
        return Ok(Default::default());
    };
    let file = FileConfig::load_as(&path, untrusted::Chooser::User)?;
    let mut user = Config::default();
    file.apply(&mut user, &path.display().to_string())?;
    Ok(user.verify)
}

/// The verify stage: offline checks always; with `--verify`, the providers (settings from
/// `[verify]` of a config given with `--config`).
pub(super) fn verify_findings(
    findings: &mut Vec<leakhound::finding::Finding>,
    rules: &RuleSet,
    config: &Config,
    v: &VerifyArgs,
) -> Result<Option<leakhound::verify::Stats>> {
    leakhound::verify::offline::check_all(findings, rules, leakhound::clock::now());
    if !v.verify {
        return Ok(None);
    }
    let opts = leakhound::verify::Options::from_section(&verify_settings(config)?);
    let stats = leakhound::verify::verify(findings, rules, &opts).map_err(anyhow::Error::msg)?;
    if v.only_verified {
        findings.retain(|f| {
            f.verification
                .as_ref()
                .is_some_and(|r| r.status == leakhound::finding::VerifyStatus::Live)
        });
    }
    Ok(Some(stats))
}

/// Where and how a report is written (scans and `merge`).
#[derive(Debug, Args)]
pub(super) struct OutputArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = OutputFormat::Text)]
    pub(super) format: OutputFormat,
    /// Write the report to FILE instead of standard output.
    #[arg(short, long, value_name = "FILE")]
    pub(super) output: Option<PathBuf>,
    /// With `--format jsonl -o FILE`: add to FILE instead of replacing it, and end with one
    /// summary line, so many scans (one per repository) build one report and a crash loses
    /// at most the scan that was running.
    #[arg(long, requires = "output")]
    pub(super) append: bool,
    /// Also write the same scan's report in FORMAT to FILE (repeatable): one scan, several
    /// reports, e.g. `--report sarif:leakhound.sarif --report json:leakhound.json`.
    #[arg(long = "report", value_name = "FORMAT:FILE", value_parser = parse_report)]
    pub(super) reports: Vec<(OutputFormat, PathBuf)>,
    /// No summary or notices on standard error: the findings, or nothing (errors and
    /// unreadable files are still reported).
    #[arg(short, long)]
    pub(super) quiet: bool,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always, never.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub(super) color: Color,
}

/// The most worker threads `--threads` accepts.
const MAX_THREADS: usize = 1024;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(super) enum AiModeArg {
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

pub(super) fn parse_severity(s: &str) -> Result<Severity, String> {
    s.parse()
}

/// `FORMAT:FILE` for `--report`.
fn parse_report(s: &str) -> Result<(OutputFormat, PathBuf), String> {
    let (format, path) = s
        .split_once(':')
        .filter(|(_, p)| !p.is_empty())
        .ok_or_else(|| format!("{s:?}: write it as FORMAT:FILE, e.g. sarif:leakhound.sarif"))?;
    let format = OutputFormat::from_str(format, true).map_err(|_| {
        format!("{format:?} is not a format: use text, json, jsonl or sarif (as in sarif:{path})")
    })?;
    Ok((format, PathBuf::from(path)))
}

impl From<OutputFormat> for Format {
    fn from(f: OutputFormat) -> Format {
        match f {
            OutputFormat::Text => Format::Text,
            OutputFormat::Json => Format::Json,
            OutputFormat::Jsonl => Format::Jsonl,
            OutputFormat::Sarif => Format::Sarif,
        }
    }
}

/// Everything a scan needs besides its input: config, rules, baseline.
pub(super) struct Setup {
    pub(super) config: Config,
    /// Leaked on purpose: the process ends with the command, and freeing a thousand rules'
    /// automata and caches at exit cost 3 ms of every one-file scan.
    pub(super) detector: &'static Detector,
    pub(super) baseline: Option<Baseline>,
}

/// Defaults, then the config file (or a translated gitleaks config), then command-line
/// flags, for a scan rooted at `root`.
pub(super) fn setup(c: &CommonArgs, no_ignore: bool, follow: bool, root: &Path) -> Result<Setup> {
    match c.threads {
        Some(0) => bail!("--threads must be at least 1"),
        Some(n) if n > MAX_THREADS => bail!("--threads {n}: at most {MAX_THREADS}"),
        _ => {}
    }
    let mut config = Config {
        no_ignore,
        follow_symlinks: follow,
        threads: c.threads,
        show_secrets: c.show_secrets,
        keep_dropped: c.explain_suppressed,
        fingerprint_key: fingerprint_key(),
        ..Config::default()
    };
    let found = discover::settings(
        root,
        discover::Lookup {
            config: c.config.as_deref(),
            baseline: c.baseline.as_deref(),
            repo_config: !c.no_repo_config,
        },
    )?;
    if !c.out.quiet {
        notify(&found.notices)?;
    }
    let (file, origin) = (&found.file, &found.origin);
    file.apply(&mut config, origin)?;
    if let Some(v) = c.fail_on {
        config.thresholds.fail_on = v;
    }
    if c.all_rules {
        config.thresholds.min_precision = Precision::Low;
    }
    if let Some(v) = c.max_file_size {
        config.max_file_size = if v == 0 { DEFAULT_MAX_FILE_SIZE } else { v };
    }
    if let Some(d) = c.archive_depth {
        config.archive_depth = d;
    }
    if let Some(mode) = c.ai {
        config.ai.mode = mode.into();
    }
    let mut rules = file.rule_set(origin)?;
    for path in rule_files(&c.extra_rules)? {
        for rule in RuleSet::load_file(&path)? {
            rules.push(rule)?;
        }
    }
    Ok(Setup {
        config,
        detector: Box::leak(Box::new(Detector::new(rules))),
        baseline: found.baseline,
    })
}

/// `LEAKHOUND_FINGERPRINT_KEY`: a key for fingerprints (see docs/security.md).
fn fingerprint_key() -> Option<std::sync::Arc<[u8]>> {
    std::env::var_os("LEAKHOUND_FINGERPRINT_KEY")
        .filter(|v| !v.is_empty())
        .map(|v| v.as_encoded_bytes().into())
}

/// Prints notices on stderr, escaped: they may name files the repository chose.
pub(super) fn notify(notices: &[String]) -> Result<()> {
    let mut err = io::stderr().lock();
    for n in notices {
        writeln!(err, "leakhound: {}", report::escape(n))?;
    }
    Ok(())
}

/// The config file that applies for a scan of `root`, with its origin (for `config show`).
pub(super) fn load_config_file(
    explicit: Option<&Path>,
    root: &Path,
) -> Result<(FileConfig, String)> {
    let found = discover::settings(
        root,
        discover::Lookup {
            config: explicit,
            repo_config: true,
            ..discover::Lookup::default()
        },
    )?;
    notify(&found.notices)?;
    Ok((found.file, found.origin))
}

/// The repository top holding `root`; outside a repository, `root` (or its folder).
pub(super) fn checkout_top(root: &Path) -> PathBuf {
    discover::checkout_top(root)
}

/// Moves the findings a baseline accepts out of the report (expired entries stay).
pub(super) fn accept_baseline(
    outcome: &mut scan::ScanOutcome,
    b: Option<&Baseline>,
    config: &Config,
) {
    if let Some(b) = b {
        baseline::apply(outcome, b, &baseline::today(), config.keep_dropped);
    }
}

/// Writes the outcome in the chosen format to `--output` (or appends it, `--append`) or
/// stdout, and to each `--report` file.
pub(super) fn write_reports(
    outcome: &scan::ScanOutcome,
    rules: &RuleSet,
    o: &OutputArgs,
    status: &mut dyn Write,
) -> Result<()> {
    let format = Format::from(o.format);
    if o.append && format != Format::Jsonl {
        bail!("--append adds JSON Lines to a file: use it with --format jsonl");
    }
    let color = match o.color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => {
            o.output.is_none()
                && io::stdout().is_terminal()
                && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    };
    let opts = RenderOptions {
        color,
        quiet: o.quiet,
        summary_line: o.append,
    };
    for (format, path) in &o.reports {
        let mut buf = Vec::new();
        let plain = RenderOptions {
            quiet: true,
            ..RenderOptions::default()
        };
        report::render(
            outcome,
            rules,
            Format::from(*format),
            plain,
            &mut buf,
            &mut io::sink(),
        )?;
        untrusted::write(path, &buf)?;
    }
    match &o.output {
        Some(path) => {
            let mut buf = Vec::new();
            report::render(outcome, rules, format, opts, &mut buf, status)?;
            if o.append {
                untrusted::append(path, &buf)?;
            } else {
                untrusted::write(path, &buf)?;
            }
        }
        None => {
            let mut out = io::BufWriter::new(io::stdout().lock());
            report::render(outcome, rules, format, opts, &mut out, status)?;
            out.flush()?;
        }
    }
    Ok(())
}

/// Renders the outcome (`write_reports`), then, when something blocks, what to do about it
/// (for `stage`). The value is the exit code: 1 for a finding at or above its `fail_on`, else
/// 3 when some files or objects could not be read (the scan is incomplete), else 0.
pub(super) fn report(
    mut outcome: scan::ScanOutcome,
    detector: &Detector,
    c: &CommonArgs,
    config: &Config,
    stage: report::Stage,
) -> Result<u8> {
    if let Some(name) = &c.repository {
        outcome.stats.repository = Some(name.clone());
        for f in &mut outcome.findings {
            f.repository = Some(name.clone());
        }
    }
    outcome.stats.verified =
        verify_findings(&mut outcome.findings, detector.rules(), config, &c.check)?;
    let mut status = io::stderr().lock();
    write_reports(&outcome, detector.rules(), &c.out, &mut status)?;
    let failing = outcome.findings.iter().any(|f| {
        let fail_on = if f.ai_policy {
            config.thresholds.fail_on.min(config.ai.fail_on)
        } else {
            config.thresholds.fail_on
        };
        if c.check.fail_on_live {
            let live = f
                .verification
                .as_ref()
                .is_some_and(|v| v.status == leakhound::finding::VerifyStatus::Live);
            return !f.existing && live;
        }
        !f.existing && f.severity >= fail_on
    });
    if failing && !c.out.quiet && matches!(c.out.format, OutputFormat::Text) {
        report::advice(stage, &outcome, &mut status)?;
    }
    let unreadable = outcome.unreadable();
    if !failing && unreadable > 0 {
        writeln!(
            status,
            "leakhound: scan incomplete: {unreadable} file(s) or object(s) could not be read; exit 3"
        )?;
        return Ok(3);
    }
    Ok(u8::from(failing))
}

/// The rule files named by `paths`: files as given, directories as their `.toml`, `.yaml`
/// and `.yml` files in name order.
pub(super) fn rule_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
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

/// The process environment, as the library's session detection reads it.
pub(super) fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok()
}
