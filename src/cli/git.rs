//! `leakhound git`: history, a commit range, a push, staged changes or a commit message,
//! with a progress line on an interactive terminal.

use std::io::{self, IsTerminal, Read, Write};
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;

use leakhound::ai::session;
use leakhound::scan;
use leakhound::source::git::{parse_pre_push, PushUpdate, Selection};

use super::scanning::{accept_baseline, env_var, notify, report, setup, CommonArgs, Setup, Stage};

#[derive(Debug, Args)]
pub(super) struct GitArgs {
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
    /// Remember what this scan learnt in DIR (default: $LEAKHOUND_CACHE_DIR, else
    /// $XDG_CACHE_HOME/leakhound, else ~/.cache/leakhound): the next scan of every ref or of
    /// one --branch reads only new commits and scans only blobs not known clean. Findings
    /// are the same as without it.
    #[arg(long, value_name = "DIR", num_args = 0..=1,
          conflicts_with_all = ["range", "since_commit", "staged", "pre_push", "commit_msg"])]
    cache: Option<Option<PathBuf>>,
    #[command(flatten)]
    common: CommonArgs,
}

pub(super) fn exec(a: GitArgs) -> Result<u8> {
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
        scan::scan_staged(&a.repo, detector, &config)?
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
        let show =
            !a.common.out.quiet && io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let meter = ProgressLine::new();
        let progress = |p: scan::Progress| meter.show(p);
        let cache = match &a.cache {
            Some(dir) => Some(scan::CacheOptions {
                dir: match dir {
                    Some(dir) => dir.clone(),
                    None => default_cache_dir()?,
                },
                repository: a.common.repository.clone(),
            }),
            None => None,
        };
        let outcome = scan::scan_history_cached(
            &a.repo,
            &selection,
            detector,
            &config,
            show.then_some(&progress as scan::ProgressFn<'_>),
            cache.as_ref(),
        )?;
        if show {
            meter.clear();
        }
        if let Some(c) = outcome.cache.as_ref().filter(|_| !a.common.out.quiet) {
            notify(&[cache_line(c)])?;
        }
        if std::env::var_os("LEAKHOUND_TRACE").is_some() {
            let phases: Vec<String> = outcome
                .phases
                .iter()
                .map(|(p, t)| format!("trace: {p} done at {:.3} s", t.as_secs_f64()))
                .collect();
            notify(&phases)?;
        }
        outcome
    };
    accept_baseline(&mut outcome, baseline.as_ref(), &config);
    let stage = if a.staged || a.commit_msg.is_some() {
        Stage::Commit
    } else if a.pre_push {
        Stage::Push
    } else {
        Stage::History
    };
    report(outcome, detector, &a.common, &config, stage)
}

/// Where `--cache` without a directory keeps its files.
fn default_cache_dir() -> Result<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = from("LEAKHOUND_CACHE_DIR") {
        return Ok(dir);
    }
    if let Some(dir) = from("XDG_CACHE_HOME") {
        return Ok(dir.join("leakhound"));
    }
    from("HOME")
        .or_else(|| from("USERPROFILE"))
        .map(|h| h.join(".cache").join("leakhound"))
        .context("--cache: no cache directory (set LEAKHOUND_CACHE_DIR or give --cache DIR)")
}

/// One line on stderr about the cache.
fn cache_line(c: &scan::CacheSummary) -> String {
    let mut line = format!(
        "cache {}: {}; {} commit(s) read, {} blob(s) read, {} known clean",
        c.file.display(),
        c.status,
        c.commits_read,
        c.blobs_read,
        c.blobs_known
    );
    if let Some(e) = &c.write_error {
        line.push_str(&format!("; NOT SAVED: {e}"));
    }
    line
}

/// The refs being pushed: pre-commit's environment if set, else git's pre-push stdin.
fn push_updates() -> Result<Vec<PushUpdate>> {
    if let (Ok(from), Ok(to)) = (
        std::env::var("PRE_COMMIT_FROM_REF"),
        std::env::var("PRE_COMMIT_TO_REF"),
    ) {
        return Ok(vec![PushUpdate {
            local: to,
            remote: from,
        }]);
    }
    let mut input = String::new();
    io::stdin()
        .read_to_string(&mut input)
        .context("cannot read the pre-push input on standard input")?;
    parse_pre_push(&input).map_err(anyhow::Error::msg)
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
