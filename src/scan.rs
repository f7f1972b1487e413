//! The one parallel loop: source -> detect -> triage, per blob on a rayon pool, then a sort
//! so the outcome is the same at any thread count. Nothing else spawns threads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::config::Config;
use crate::detect::memo::Memo;
use crate::detect::{DetectOptions, Detector, Scratch};
use crate::finding::{Finding, Occurrence};
use crate::source::git::{self, BlobReader, Selection};
use crate::source::worktree::{self, WalkItem, WalkOptions};
use crate::source::{looks_binary, FileEntry, Origin, SkipReason, SourceError};
use crate::triage::triage;

/// A problem that did not stop the scan (unreadable file, broken rule, walk error).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Diagnostic {
    /// Path or rule id the problem concerns.
    pub subject: String,
    /// What happened.
    pub message: String,
}

/// A candidate that triage or a filter dropped, for `--explain-suppressed`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct Suppressed {
    /// Path.
    pub path: String,
    /// Line of the secret.
    pub line: usize,
    /// Rule id.
    pub rule_id: String,
    /// Why it was not reported.
    pub reason: String,
}

/// Counters for the summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// The repository scanned, as `--repository` named it (organisation scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    /// Merged reports: how many repositories they cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<usize>,
    /// Files read and scanned.
    pub files_scanned: u64,
    /// Files passed over, by reason.
    pub files_skipped: BTreeMap<&'static str, u64>,
    /// Bytes scanned.
    pub bytes_scanned: u64,
    /// Rules loaded.
    pub rules: usize,
    /// Commits walked (history scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<usize>,
    /// Findings a baseline accepted (not reported).
    #[serde(skip_serializing_if = "is_zero")]
    pub baselined: usize,
    /// History scans: commits and findings, AI-tagged versus the rest, by agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ai: Option<AiSummary>,
    /// Wall time (not serialised: it would make output nondeterministic).
    #[serde(skip)]
    pub elapsed: Duration,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Findings per 1,000 commits, for AI-tagged commits and for the rest.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct AiSummary {
    /// Commits with an AI tag (medium confidence or above).
    pub commits_ai: usize,
    /// All other commits.
    pub commits_other: usize,
    /// Findings introduced by AI-tagged commits.
    pub findings_ai: usize,
    /// Findings introduced by the other commits.
    pub findings_other: usize,
    /// `findings_ai` per 1,000 AI-tagged commits (absent without such commits).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_1000_ai: Option<f64>,
    /// `findings_other` per 1,000 other commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub per_1000_other: Option<f64>,
    /// The same per agent.
    pub by_tool: BTreeMap<String, ToolSummary>,
}

/// One agent's line of [`AiSummary`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct ToolSummary {
    /// Commits tagged with this agent.
    pub commits: usize,
    /// Findings those commits introduced.
    pub findings: usize,
    /// Findings per 1,000 of those commits.
    pub per_1000: f64,
}

impl AiSummary {
    fn new(commits: usize, ai_commits: BTreeMap<String, usize>, findings: &[Finding]) -> AiSummary {
        let rate = |f: usize, c: usize| {
            (c > 0).then(|| (f as f64 * 1000.0 / c as f64 * 10.0).round() / 10.0)
        };
        let mut by_tool: BTreeMap<String, ToolSummary> = ai_commits
            .into_iter()
            .map(|(tool, commits)| {
                (
                    tool,
                    ToolSummary {
                        commits,
                        ..ToolSummary::default()
                    },
                )
            })
            .collect();
        let mut findings_ai = 0;
        for f in findings {
            if let Some(tag) = f.ai.as_ref().filter(|_| f.commit.is_some()) {
                findings_ai += 1;
                by_tool.entry(tag.tool.clone()).or_default().findings += 1;
            }
        }
        for t in by_tool.values_mut() {
            t.per_1000 = rate(t.findings, t.commits).unwrap_or(0.0);
        }
        let commits_ai: usize = by_tool.values().map(|t| t.commits).sum();
        let commits_other = commits.saturating_sub(commits_ai);
        let findings_other = findings.len() - findings_ai;
        AiSummary {
            commits_ai,
            commits_other,
            findings_ai,
            findings_other,
            per_1000_ai: rate(findings_ai, commits_ai),
            per_1000_other: rate(findings_other, commits_other),
            by_tool,
        }
    }
}

/// Everything a scan produced, sorted.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings sorted by path, line, column, rule id.
    pub findings: Vec<Finding>,
    /// Dropped candidates (only when `keep_dropped`).
    pub suppressed: Vec<Suppressed>,
    /// Non-fatal problems, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Counters.
    pub stats: Stats,
}

/// Errors that stop a scan.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// A root path is missing or unreadable.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The thread pool could not start.
    #[error("cannot start worker threads: {0}")]
    Threads(String),
}

impl ScanOutcome {
    /// Files or objects that could not be read (unreadable files, paths too long, corrupt or
    /// missing git objects): when not zero the scan is incomplete and must not pass as clean.
    pub fn unreadable(&self) -> u64 {
        self.stats
            .files_skipped
            .get("unreadable")
            .copied()
            .unwrap_or(0)
    }

    /// Keeps what a commit message's scan found, without counting it as a file.
    fn absorb_message(&mut self, result: FileResult) -> Vec<Finding> {
        match result {
            FileResult::Scanned {
                findings,
                suppressed,
                broken,
                ..
            } => {
                self.suppressed.extend(suppressed);
                self.diagnostics.extend(broken);
                findings
            }
            FileResult::Skipped(..) => Vec::new(),
            FileResult::Failed(d) | FileResult::Notice(d) => {
                self.diagnostics.push(d);
                Vec::new()
            }
        }
    }

    /// Counts one blob's result and keeps its suppressions and diagnostics; returns its
    /// findings for the caller to place.
    fn absorb(&mut self, result: FileResult, config: &Config) -> Vec<Finding> {
        match result {
            FileResult::Scanned {
                bytes,
                findings,
                suppressed,
                broken,
            } => {
                self.stats.files_scanned += 1;
                self.stats.bytes_scanned += bytes;
                self.suppressed.extend(suppressed);
                self.diagnostics.extend(broken);
                findings
            }
            FileResult::Skipped(origin, why) => {
                *self.stats.files_skipped.entry(why.as_str()).or_default() += 1;
                if let (Some(origin), SkipReason::TooLarge) = (origin, why) {
                    self.diagnostics.push(Diagnostic {
                        subject: origin.path().to_string(),
                        message: format!(
                            "NOT SCANNED: larger than the {} byte limit (scan it with --max-file-size {})",
                            config.max_file_size,
                            size_flag(config.max_file_size)
                        ),
                    });
                }
                Vec::new()
            }
            FileResult::Failed(d) => {
                *self.stats.files_skipped.entry("unreadable").or_default() += 1;
                self.diagnostics.push(d);
                Vec::new()
            }
            FileResult::Notice(d) => {
                self.diagnostics.push(d);
                Vec::new()
            }
        }
    }
}

/// A `--max-file-size` value ten times `limit`, for the hint on skipped files.
fn size_flag(limit: u64) -> String {
    let n = limit.saturating_mul(10);
    if n >= 1 << 30 && n.is_multiple_of(1 << 30) {
        format!("{}G", n >> 30)
    } else if n >= 1 << 20 && n.is_multiple_of(1 << 20) {
        format!("{}M", n >> 20)
    } else {
        n.to_string()
    }
}

enum FileResult {
    Scanned {
        bytes: u64,
        findings: Vec<Finding>,
        suppressed: Vec<Suppressed>,
        broken: Vec<Diagnostic>,
    },
    Skipped(Option<Origin>, SkipReason),
    Failed(Diagnostic),
    /// Nothing was lost, but the user should know (an ignore file not read).
    Notice(Diagnostic),
}

/// Scans files and directories.
pub fn scan_paths(
    roots: &[PathBuf],
    detector: &Detector,
    config: &Config,
) -> Result<ScanOutcome, ScanError> {
    let started = Instant::now();
    let walk = worktree::walk(
        roots,
        &WalkOptions {
            no_ignore: config.no_ignore,
            follow_symlinks: config.follow_symlinks,
            max_file_size: config.max_file_size,
            root_symlinks: config.root_symlinks,
        },
    )?;
    let pool = pool(config)?;
    // The walk feeds the workers as it goes; `finish` sorts, so the order here is free.
    let results: Vec<FileResult> = pool.install(|| {
        walk.par_bridge()
            .map_init(Scratch::default, |scratch, item| match item {
                WalkItem::File(f) => scan_file(&f, detector, config, scratch),
                WalkItem::Skipped(origin, why) => FileResult::Skipped(Some(origin), why),
                WalkItem::Error(path, message) => FileResult::Failed(Diagnostic {
                    subject: path,
                    message,
                }),
                WalkItem::Notice(subject, message) => {
                    FileResult::Notice(Diagnostic { subject, message })
                }
            })
            .collect()
    });
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    for r in results {
        let found = out.absorb(r, config);
        out.findings.extend(found);
    }
    finish(&mut out, detector, config);
    out.stats.elapsed = started.elapsed();
    Ok(out)
}

/// Scans one in-memory blob (stdin, tests, rule examples) as if it were a file at `path`.
pub fn scan_bytes(bytes: &[u8], path: &str, detector: &Detector, config: &Config) -> ScanOutcome {
    let started = Instant::now();
    let origin = Origin::File {
        path: path.to_string(),
        raw: None,
    };
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    let scan = detect_any(bytes, Some(path), detector, config, &mut Scratch::default());
    let result = settle(scan, &origin, detector, config);
    let found = out.absorb(result, config);
    out.findings = found;
    finish(&mut out, detector, config);
    out.stats.elapsed = started.elapsed();
    out
}

/// How far a long scan has got, for a progress display.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// Blobs read so far.
    pub done: u64,
    /// Blobs to read.
    pub total: u64,
    /// Bytes scanned so far.
    pub bytes: u64,
}

/// A progress callback; called from worker threads, so it must be cheap and `Sync`.
pub type ProgressFn<'a> = &'a (dyn Fn(Progress) + Sync);

/// Scans git history: every unique blob reachable from the selected commits, once.
/// Findings are grouped by secret and path: the earliest commit is the finding, later
/// appearances are listed in `also_in`, and `present_at_head` says whether HEAD still has it.
pub fn scan_history(
    repo: &Path,
    selection: &Selection,
    detector: &Detector,
    config: &Config,
    progress: Option<ProgressFn<'_>>,
) -> Result<ScanOutcome, ScanError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    let started = Instant::now();
    let config = &Config {
        history: true,
        ..config.clone()
    };
    let pool = pool(config)?;
    let memo = Arc::new(Memo::default());
    // Full history: every blob in the packs is read in pack order (bases before deltas) while
    // the walk that says where each blob entered runs alongside; triage waits for the walk.
    let packed = match selection {
        Selection::All => git::packed_blobs(&git::open(repo)?),
        _ => Vec::new(),
    };
    let total = AtomicU64::new(packed.len() as u64);
    let (done, bytes_done) = (AtomicU64::new(0), AtomicU64::new(0));
    let tick = |scan: &BlobScan| {
        let Some(report) = progress else { return };
        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
        if let BlobScan::Clean { bytes } | BlobScan::Found { bytes, .. } = scan {
            bytes_done.fetch_add(*bytes, Ordering::Relaxed);
        }
        let total = total.load(Ordering::Relaxed);
        if n % 256 == 0 || n == total {
            report(Progress {
                done: n,
                total,
                bytes: bytes_done.load(Ordering::Relaxed),
            });
        }
    };
    let read = |ids: &[&crate::source::BlobId]| -> Vec<BlobScan> {
        pool.install(|| {
            ids.par_iter()
                .map_init(
                    || {
                        let reader = BlobReader::new(repo).ok();
                        (reader, Scratch::with_memo(Arc::clone(&memo)))
                    },
                    |(reader, scratch), id| {
                        let scan = match reader {
                            Some(r) => detect_blob(r, id, None, detector, config, scratch),
                            None => {
                                BlobScan::Failed("cannot open the repository in a worker".into())
                            }
                        };
                        tick(&scan);
                        scan
                    },
                )
                .collect()
        })
    };
    let signals = Arc::clone(&config.signals);
    let ((history, ai_commits, commits), early) = std::thread::scope(|s| {
        let walker = s.spawn(|| {
            // Commits per agent, for the summary: classifying is a few microseconds each.
            let mut tally: BTreeMap<String, usize> = BTreeMap::new();
            // Messages with a rule keyword, kept for the message scan (most have none).
            let mut commits = Vec::new();
            let mut scratch = Scratch::default();
            let history = git::walk_history(repo, selection, &mut |c| {
                if let Some(tag) = signals.classify(c.as_ref().into()) {
                    *tally.entry(tag.tool).or_default() += 1;
                }
                if detector.triggers(c.message.as_bytes(), &mut scratch) {
                    commits.push(Arc::clone(c));
                }
            });
            (history, tally, commits)
        });
        let early = read(&packed.iter().collect::<Vec<_>>());
        let history = walker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (history, early)
    });
    let history = history?;
    let mut early: HashMap<crate::source::BlobId, BlobScan> =
        packed.into_iter().zip(early).collect();
    // What the pack pass did not read (loose objects; every blob of a partial selection),
    // in pack order where there is one.
    let mut rest: Vec<usize> = (0..history.blobs.len())
        .filter(|&i| !early.contains_key(&history.blobs[i].id))
        .collect();
    if !rest.is_empty() {
        if let Ok(reader) = BlobReader::new(repo) {
            let pos = git::pack_positions(reader.repo());
            rest.sort_by_key(|&i| {
                pos.get(&history.blobs[i].id)
                    .copied()
                    .unwrap_or((u32::MAX, i as u64))
            });
        }
        total.fetch_add(rest.len() as u64, Ordering::Relaxed);
    }
    let late = read(
        &rest
            .iter()
            .map(|&i| &history.blobs[i].id)
            .collect::<Vec<_>>(),
    );
    let mut scans: Vec<Option<BlobScan>> = (0..history.blobs.len()).map(|_| None).collect();
    for (i, scan) in rest.into_iter().zip(late) {
        scans[i] = Some(scan);
    }
    let mut paired: Vec<(usize, BlobScan)> = Vec::with_capacity(scans.len());
    for (i, scan) in scans.into_iter().enumerate() {
        let blob = &history.blobs[i];
        if let Some(scan) = scan.or_else(|| early.remove(&blob.id)) {
            paired.push((i, scan));
        }
    }
    // Triage in parallel: a guessable secret's fingerprint is deliberately slow. Blobs read
    // before their path was known are read again where a file rule (`.pgpass`,
    // `config/master.key`) applies at that path.
    let results: Vec<(usize, FileResult)> = pool.install(|| {
        paired
            .into_par_iter()
            .map_init(
                || {
                    (
                        BlobReader::new(repo).ok(),
                        Scratch::with_memo(Arc::clone(&memo)),
                    )
                },
                |(reader, scratch), (i, scan)| {
                    let blob = &history.blobs[i];
                    let scan = match reader {
                        Some(r) if detector.has_path_rules_for(&blob.path) => {
                            detect_blob(r, &blob.id, Some(&blob.path), detector, config, scratch)
                        }
                        _ => scan,
                    };
                    let origin = Origin::Commit {
                        commit: blob.commit.clone(),
                        path: blob.path.clone(),
                        raw: blob.raw.clone(),
                    };
                    (i, settle(scan, &origin, detector, config))
                },
            )
            .collect()
    });
    let unreachable = early.len();
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    out.stats.commits = Some(history.commits);
    if unreachable > 0 {
        out.diagnostics.push(Diagnostic {
            subject: repo.display().to_string(),
            message: format!(
                "{unreachable} stored blob(s) are reachable from no ref (dangling or left by a rewrite): not reported"
            ),
        });
    }
    for note in &history.notes {
        out.diagnostics.push(Diagnostic {
            subject: repo.display().to_string(),
            message: note.clone(),
        });
    }
    for problem in &history.problems {
        *out.stats.files_skipped.entry("unreadable").or_default() += 1;
        out.diagnostics.push(Diagnostic {
            subject: repo.display().to_string(),
            message: problem.clone(),
        });
    }
    let mut found_all: Vec<(usize, Finding)> = Vec::new();
    for (i, r) in results {
        let found = out.absorb(r, config);
        found_all.extend(found.into_iter().map(|f| (i, f)));
    }
    // Commit messages are content too: agents and people paste tokens into them. They
    // sort after every blob, so a secret in both is reported where its blob entered.
    let messages = scan_messages(&commits, detector, config, &pool);
    let redacted = redacted_commits(&messages, config);
    for (i, r) in messages.into_iter().map(|(_, r)| r).enumerate() {
        let found = out.absorb_message(r);
        found_all.extend(found.into_iter().map(|f| (history.blobs.len() + i, f)));
    }
    for (_, f) in &mut found_all {
        if let Some(c) = f.commit.as_ref().and_then(|c| redacted.get(&c.id)) {
            f.commit = Some(Arc::clone(c));
        }
    }
    let in_head: HashSet<usize> = history
        .blobs
        .iter()
        .enumerate()
        .filter(|(_, b)| history.head_blobs.contains(&b.id))
        .map(|(i, _)| i)
        .collect();
    drop_ignored_blobs(&mut found_all, &history.blobs, repo, &mut out, config);
    out.findings = group_history(found_all, &in_head);
    if matches!(selection, Selection::Range { .. } | Selection::Push(_)) {
        mark_inherited(&mut out.findings, repo, detector, config);
    }
    finish(&mut out, detector, config);
    out.stats.ai = Some(AiSummary::new(history.commits, ai_commits, &out.findings));
    out.stats.elapsed = started.elapsed();
    Ok(out)
}

/// Where a finding in a commit message is placed: a path git cannot track, so it never
/// collides with a file.
pub const MESSAGE_PATH: &str = ".git/COMMIT_MSG";

/// Detection over each commit's message, on the pool; only commits with something found
/// are returned, oldest first.
fn scan_messages(
    commits: &[Arc<crate::source::CommitInfo>],
    detector: &Detector,
    config: &Config,
    pool: &rayon::ThreadPool,
) -> Vec<(Arc<crate::source::CommitInfo>, FileResult)> {
    pool.install(|| {
        commits
            .par_iter()
            .map_init(Scratch::default, |scratch, c| {
                let scan = detect_any(c.message.as_bytes(), None, detector, config, scratch);
                if matches!(scan, BlobScan::Clean { .. }) {
                    return None;
                }
                let origin = Origin::Commit {
                    commit: Arc::clone(c),
                    path: MESSAGE_PATH.to_string(),
                    raw: None,
                };
                Some((Arc::clone(c), settle(scan, &origin, detector, config)))
            })
            .flatten()
            .collect()
    })
}

/// Commits whose subject line holds a detected secret, with the secret redacted there
/// (unless secrets are shown): the subject is printed with every finding of the commit.
fn redacted_commits(
    messages: &[(Arc<crate::source::CommitInfo>, FileResult)],
    config: &Config,
) -> HashMap<String, Arc<crate::source::CommitInfo>> {
    let mut out = HashMap::new();
    if config.show_secrets {
        return out;
    }
    for (c, r) in messages {
        let FileResult::Scanned { findings, .. } = r else {
            continue;
        };
        let mut subject = c.subject.clone();
        for f in findings {
            let secret = f.secret.expose();
            if !secret.is_empty() && subject.contains(secret) {
                subject = subject.replace(secret, &crate::detect::redact(secret));
            }
        }
        if subject != c.subject {
            let mut info = (**c).clone();
            info.subject = subject;
            out.insert(c.id.clone(), Arc::new(info));
        }
    }
    out
}

/// One finding per secret and path: the earliest blob (in oldest-first commit order) wins.
fn group_history(mut found: Vec<(usize, Finding)>, in_head: &HashSet<usize>) -> Vec<Finding> {
    found.sort_by(|a, b| {
        (
            &a.1.fingerprint,
            &a.1.path,
            &a.1.path_bytes,
            a.0,
            a.1.location,
        )
            .cmp(&(
                &b.1.fingerprint,
                &b.1.path,
                &b.1.path_bytes,
                b.0,
                b.1.location,
            ))
    });
    let mut out: Vec<Finding> = Vec::new();
    type Key = (String, String, Option<crate::source::RawPath>);
    let mut last_key: Option<Key> = None;
    for (order, f) in found {
        let key = (
            f.fingerprint.0.clone(),
            f.path.clone(),
            f.path_bytes.clone(),
        );
        let at_head = in_head.contains(&order);
        if last_key.as_ref() == Some(&key) {
            let first = out.last_mut().expect("a group has a first finding");
            first.present_at_head = Some(first.present_at_head == Some(true) || at_head);
            first.also_in.push(Occurrence {
                repository: None,
                commit: f.commit.as_ref().map_or_else(String::new, |c| c.id.clone()),
                path: f.path.clone(),
                line: f.location.line,
            });
            continue;
        }
        last_key = Some(key);
        let mut f = f;
        f.present_at_head = Some(at_head);
        out.push(f);
    }
    out
}

/// Range and push scans: a secret counts as introduced by a commit only if no parent held
/// it at the same path. One that a parent already had (a commit that only touched another
/// line of the file) becomes `existing`: reported, not blocking, as in `--staged`.
fn mark_inherited(findings: &mut [Finding], repo: &Path, detector: &Detector, config: &Config) {
    let Ok(reader) = BlobReader::new(repo) else {
        return;
    };
    let mut known: HashMap<(String, String), HashSet<String>> = HashMap::new();
    let mut scratch = Scratch::default();
    for f in findings.iter_mut() {
        let Some(commit) = f.commit.as_ref().map(|c| c.id.clone()) else {
            continue;
        };
        let prints = known
            .entry((commit.clone(), f.path.clone()))
            .or_insert_with(|| {
                let mut all = HashSet::new();
                for old in reader.parent_blobs(&commit, &f.path) {
                    let origin = Origin::Staged {
                        path: f.path.clone(),
                    };
                    all.extend(fingerprints_in(
                        &reader,
                        &old,
                        origin,
                        detector,
                        config,
                        &mut scratch,
                    ));
                }
                all
            });
        f.existing = prints.contains(&f.fingerprint.0);
    }
}

/// For a pre-commit hook that scanned files in full: findings in a file that is staged as a
/// modification, whose secret the HEAD version of that file already holds, become
/// `existing` (reported, not blocking). Files not staged (`pre-commit run --all-files`) keep
/// every finding blocking. Does nothing outside a git work tree.
pub fn mark_existing(out: &mut ScanOutcome, detector: &Detector, config: &Config) {
    let Some(top) = crate::config::repo_top(Path::new(".")) else {
        return;
    };
    let (Ok(entries), Ok(reader)) = (git::staged(&top), BlobReader::new(&top)) else {
        return;
    };
    let old_of: HashMap<&str, &crate::source::BlobId> = entries
        .iter()
        .filter_map(|e| e.old.as_ref().map(|o| (e.path.as_str(), o)))
        .collect();
    let mut known: HashMap<String, HashSet<String>> = HashMap::new();
    let mut scratch = Scratch::default();
    for f in &mut out.findings {
        let Some(rel) = std::path::absolute(&f.path).ok().and_then(|a| {
            a.strip_prefix(&top)
                .ok()
                .map(|r| r.to_string_lossy().replace('\\', "/"))
        }) else {
            continue;
        };
        let Some(old) = old_of.get(rel.as_str()) else {
            continue;
        };
        let prints = known.entry(rel.clone()).or_insert_with(|| {
            let origin = Origin::Staged { path: rel.clone() };
            fingerprints_in(&reader, old, origin, detector, config, &mut scratch)
        });
        f.existing = prints.contains(&f.fingerprint.0);
    }
}

/// Scans what is staged: index blobs that differ from HEAD. A secret whose fingerprint is
/// already in the HEAD version of the same file is reported with `existing = true` and does
/// not block: an untouched old secret must not block every later commit, a new one always does.
pub fn scan_staged(
    repo: &Path,
    detector: &Detector,
    config: &Config,
) -> Result<ScanOutcome, ScanError> {
    let started = Instant::now();
    let entries = git::staged(repo)?;
    let reader = BlobReader::new(repo)?;
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    let mut scratch = Scratch::default();
    for e in entries {
        let origin = Origin::Staged {
            path: e.path.clone(),
        };
        let scanned = scan_blob(
            &reader,
            &e.new,
            origin.clone(),
            detector,
            config,
            &mut scratch,
        );
        // The HEAD version is only needed to tell old secrets from new ones.
        let has_findings =
            matches!(&scanned, FileResult::Scanned { findings, .. } if !findings.is_empty());
        let old: HashSet<String> = match e.old.filter(|_| has_findings) {
            Some(old) => fingerprints_in(&reader, &old, origin, detector, config, &mut scratch),
            None => HashSet::new(),
        };
        let found = out.absorb(scanned, config);
        out.findings.extend(found.into_iter().map(|mut f| {
            f.existing = old.contains(&f.fingerprint.0);
            f
        }));
    }
    finish(&mut out, detector, config);
    out.stats.elapsed = started.elapsed();
    Ok(out)
}

/// The fingerprints of the findings in one blob (an older version of a staged file), to
/// tell secrets that were already committed from new ones.
fn fingerprints_in(
    reader: &BlobReader,
    id: &crate::source::BlobId,
    origin: Origin,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> HashSet<String> {
    match scan_blob(reader, id, origin, detector, config, scratch) {
        FileResult::Scanned { findings, .. } => {
            findings.into_iter().map(|f| f.fingerprint.0).collect()
        }
        _ => HashSet::new(),
    }
}

fn scan_blob(
    reader: &BlobReader,
    id: &crate::source::BlobId,
    origin: Origin,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> FileResult {
    let scan = detect_blob(reader, id, Some(origin.path()), detector, config, scratch);
    settle(scan, &origin, detector, config)
}

/// Reads one blob and runs detection on it: everything that does not depend on its path
/// (and, when `path` is known, the file rules that apply there).
fn detect_blob(
    reader: &BlobReader,
    id: &crate::source::BlobId,
    path: Option<&str>,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> BlobScan {
    if reader
        .size(id)
        .is_some_and(|n| n as u64 > config.max_file_size)
    {
        return BlobScan::Skipped(SkipReason::TooLarge);
    }
    reader
        .with_blob(id, |bytes| {
            detect_text(bytes, path, detector, config, scratch)
        })
        .unwrap_or_else(BlobScan::Failed)
}

fn finish(out: &mut ScanOutcome, detector: &Detector, config: &Config) {
    drop_ignored_locations(out, config);
    if !config.show_secrets {
        redact_paths(out, detector, config);
    }
    out.findings.sort_by(|a, b| {
        (&a.path, &a.path_bytes, a.location, &a.rule_id).cmp(&(
            &b.path,
            &b.path_bytes,
            b.location,
            &b.rule_id,
        ))
    });
    out.suppressed.sort();
    out.diagnostics.sort();
    out.diagnostics.dedup();
}

/// `.gitleaksignore` entries (`commit:path:rule:line`, or `path:rule:line`): a finding is
/// dropped when the entry names one of its places (in history, the commit that added it or
/// any later one listed in `also_in`), whatever the rule, since gitleaks' rule ids are not
/// ours. gitleaks reports a secret where a commit's diff adds its line; leakhound reports it
/// once per path with every blob that holds it, so an entry for any of them accepts the secret
/// at that path, as it does in gitleaks.
fn drop_ignored_locations(out: &mut ScanOutcome, config: &Config) {
    if config.ignored_locations.is_empty() {
        return;
    }
    let mut by_place: HashMap<(&str, usize), Vec<Option<&str>>> = HashMap::new();
    for (commit, path, line) in config.ignored_locations.iter() {
        by_place
            .entry((path.as_str(), *line))
            .or_default()
            .push(commit.as_deref());
    }
    let ignored = |commit: Option<&str>, path: &str, line: usize| {
        by_place.get(&(path, line)).is_some_and(|commits| {
            commits.iter().any(|c| match (c, commit) {
                (None, _) => true,
                (Some(prefix), Some(id)) => id.starts_with(prefix),
                (Some(_), None) => false,
            })
        })
    };
    let mut kept = Vec::with_capacity(out.findings.len());
    for f in std::mem::take(&mut out.findings) {
        let commit = f.commit.as_ref().map(|c| c.id.as_str());
        let hit = ignored(commit, &f.path, f.location.line)
            || f.also_in
                .iter()
                .any(|o| ignored(Some(o.commit.as_str()), &o.path, o.line));
        if !hit {
            kept.push(f);
        } else if config.keep_dropped {
            out.suppressed.push(Suppressed {
                path: f.path.clone(),
                line: f.location.line,
                rule_id: f.rule_id.clone(),
                reason: ".gitleaksignore entry for this secret at this path".into(),
            });
        }
    }
    out.findings = kept;
}

/// History: a `.gitleaksignore` entry names a commit and a path, which is a blob. leakhound
/// reads each blob once, at the first commit and path it appeared under, so the entry's own
/// place may not be among a finding's; the blob and line are. A finding on an ignored line of
/// that blob is dropped with every other place of the same secret at its path.
fn drop_ignored_blobs(
    found: &mut Vec<(usize, Finding)>,
    blobs: &[git::HistoryBlob],
    repo: &Path,
    out: &mut ScanOutcome,
    config: &Config,
) {
    if !config.ignored_locations.iter().any(|(c, _, _)| c.is_some()) {
        return;
    }
    let Ok(r) = git::open(repo) else { return };
    // (blob, line) -> the paths the entries name for it.
    let mut lines: HashMap<(crate::source::BlobId, usize), Vec<&str>> = HashMap::new();
    for (c, p, l) in config.ignored_locations.iter() {
        if let Some(blob) = c.as_deref().and_then(|c| git::blob_at(&r, c, p)) {
            lines.entry((blob, *l)).or_default().push(p);
        }
    }
    // The secret is accepted at the entry's path and at the path the blob was read under.
    let mut keys: HashSet<(String, String)> = HashSet::new();
    for (i, f) in found.iter() {
        let Some(paths) = blobs
            .get(*i)
            .and_then(|b| lines.get(&(b.id, f.location.line)))
        else {
            continue;
        };
        keys.insert((f.fingerprint.0.clone(), f.path.clone()));
        for p in paths {
            keys.insert((f.fingerprint.0.clone(), (*p).to_string()));
        }
    }
    if keys.is_empty() {
        return;
    }
    found.retain(|(_, f)| {
        let keep = !keys.contains(&(f.fingerprint.0.clone(), f.path.clone()));
        if !keep && config.keep_dropped {
            out.suppressed.push(Suppressed {
                path: f.path.clone(),
                line: f.location.line,
                rule_id: f.rule_id.clone(),
                reason: ".gitleaksignore entry for the same content at another commit or path"
                    .into(),
            });
        }
        keep
    });
}

/// Redacts what the detector finds in short printed text (paths, commit subjects), with a
/// memo: the same path is printed with every finding in it.
pub struct Redactor<'a> {
    detector: &'a Detector,
    min_precision: crate::rules::Precision,
    scratch: Scratch,
    memo: HashMap<String, Option<String>>,
}

impl<'a> Redactor<'a> {
    /// Redacts findings of rules at or above `min_precision`.
    pub fn new(detector: &'a Detector, min_precision: crate::rules::Precision) -> Redactor<'a> {
        Redactor {
            detector,
            min_precision,
            scratch: Scratch::default(),
            memo: HashMap::new(),
        }
    }

    /// `text` with every detected secret redacted; `None` when nothing was found.
    pub fn redact(&mut self, text: &str) -> Option<String> {
        if let Some(known) = self.memo.get(text) {
            return known.clone();
        }
        let found =
            self.detector
                .detect(text.as_bytes(), DetectOptions::default(), &mut self.scratch);
        let mut shown = text.to_string();
        for c in &found.candidates {
            if self.detector.rule(c.rule).spec.precision < self.min_precision {
                continue;
            }
            let secret = String::from_utf8_lossy(&c.secret);
            shown = shown.replace(secret.as_ref(), &crate::detect::redact(&secret));
        }
        let out = (shown != text).then_some(shown);
        self.memo.insert(text.to_string(), out.clone());
        out
    }

    /// Redacts `text` in place.
    pub fn redact_in_place(&mut self, text: &mut String) {
        if let Some(r) = self.redact(text) {
            *text = r;
        }
    }
}

/// A path is printed with every finding in it: a secret in a file name (`keys/AKIA….txt`)
/// is redacted there like anywhere else.
fn redact_paths(out: &mut ScanOutcome, detector: &Detector, config: &Config) {
    let mut r = Redactor::new(detector, config.thresholds.min_precision);
    for f in &mut out.findings {
        r.redact_in_place(&mut f.path);
        for o in &mut f.also_in {
            r.redact_in_place(&mut o.path);
        }
    }
    for s in &mut out.suppressed {
        r.redact_in_place(&mut s.path);
    }
    for d in &mut out.diagnostics {
        r.redact_in_place(&mut d.subject);
    }
}

fn scan_file(
    f: &FileEntry,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> FileResult {
    let bytes = match std::fs::read(&f.fs_path) {
        Ok(b) => b,
        Err(e) => {
            return FileResult::Failed(Diagnostic {
                subject: f.origin.path().to_string(),
                message: format!("cannot read: {e}"),
            })
        }
    };
    if bytes.len() as u64 > config.max_file_size {
        return FileResult::Skipped(Some(f.origin.clone()), SkipReason::TooLarge);
    }
    scan_text(&bytes, &f.origin, detector, config, scratch)
}

/// The common tail of every file and blob scan: skip binaries, detect, triage.
fn scan_text(
    bytes: &[u8],
    origin: &Origin,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> FileResult {
    let scan = detect_text(bytes, Some(origin.path()), detector, config, scratch);
    settle(scan, origin, detector, config)
}

/// What detection made of one blob, before anything that needs its path (triage does).
enum BlobScan {
    /// Nothing found (the common case, kept small).
    Clean {
        bytes: u64,
    },
    /// Candidates or rejected matches to settle.
    Found {
        bytes: u64,
        found: Box<Found>,
    },
    Skipped(SkipReason),
    Failed(String),
}

struct Found {
    detection: crate::detect::Detection,
    /// Line of each entry of `detection.dropped`.
    dropped_lines: Vec<usize>,
}

fn detect_text(
    bytes: &[u8],
    path: Option<&str>,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> BlobScan {
    if looks_binary(bytes) {
        return BlobScan::Skipped(SkipReason::Binary);
    }
    detect_any(bytes, path, detector, config, scratch)
}

/// Detection without the binary sniff (stdin and in-memory input are scanned as given).
fn detect_any(
    bytes: &[u8],
    path: Option<&str>,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> BlobScan {
    let opts = DetectOptions {
        keep_dropped: config.keep_dropped,
        entropy_relief: config.detect_relief(),
        no_decode: false,
    };
    let detection = detector.detect_at(bytes, path, opts, scratch);
    let len = bytes.len() as u64;
    if detection.candidates.is_empty()
        && detection.dropped.is_empty()
        && detection.broken_rules.is_empty()
        && !detection.decode_budget_spent
    {
        return BlobScan::Clean { bytes: len };
    }
    let dropped_lines = lines_of(bytes, detection.dropped.iter().map(|d| d.secret_span.start));
    BlobScan::Found {
        bytes: len,
        found: Box::new(Found {
            detection,
            dropped_lines,
        }),
    }
}

/// How far apart (in lines) the parts of one credential may be.
const PARTNER_LINES: usize = 5;

/// Findings of one blob whose rules name each other as `partners` and that lie within
/// [`PARTNER_LINES`] lines list each other as `related`: the parts of one credential.
fn link_partners(findings: &mut [Finding], detector: &Detector) {
    if findings.len() < 2 {
        return;
    }
    // Each rule's partners, looked up once per rule seen in this blob.
    let mut partners_of: HashMap<&str, &[String]> = HashMap::new();
    for f in findings.iter() {
        partners_of.entry(f.rule_id.as_str()).or_insert_with(|| {
            detector
                .rules()
                .get(&f.rule_id)
                .map_or(&[][..], |r| r.spec.partners.as_slice())
        });
    }
    if partners_of.values().all(|p| p.is_empty()) {
        return;
    }
    let partners = |a: &str, b: &str| partners_of.get(a).is_some_and(|p| p.iter().any(|x| x == b));
    // Findings in line order: only those within PARTNER_LINES of each other are compared.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| findings[i].location.line);
    let mut links: Vec<(usize, crate::finding::Related)> = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        for &j in &order[k + 1..] {
            let (a, b) = (&findings[i], &findings[j]);
            if b.location.line - a.location.line > PARTNER_LINES {
                break;
            }
            if a.fingerprint != b.fingerprint
                && (partners(&a.rule_id, &b.rule_id) || partners(&b.rule_id, &a.rule_id))
            {
                for (from, to) in [(i, b), (j, a)] {
                    links.push((
                        from,
                        crate::finding::Related {
                            rule_id: to.rule_id.clone(),
                            line: to.location.line,
                            fingerprint: to.fingerprint.0.clone(),
                        },
                    ));
                }
            }
        }
    }
    for (i, r) in links {
        findings[i].related.push(r);
    }
    for f in findings.iter_mut() {
        f.related.sort();
        f.related.dedup();
    }
}

/// The 1-based line of each byte offset, in one pass over the text whatever the order or
/// number of offsets.
fn lines_of(bytes: &[u8], offsets: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut order: Vec<(usize, usize)> = offsets.enumerate().map(|(i, o)| (o, i)).collect();
    order.sort_unstable();
    let mut lines = vec![0; order.len()];
    let (mut line, mut pos) = (1usize, 0usize);
    for (offset, i) in order {
        let to = offset.min(bytes.len());
        if to > pos {
            line += memchr::memchr_iter(b'\n', &bytes[pos..to]).count();
            pos = to;
        }
        lines[i] = line;
    }
    lines
}

/// Triage: what a blob's candidates mean at `origin`.
fn settle(scan: BlobScan, origin: &Origin, detector: &Detector, config: &Config) -> FileResult {
    let (bytes, found) = match scan {
        BlobScan::Clean { bytes } => {
            return FileResult::Scanned {
                bytes,
                findings: Vec::new(),
                suppressed: Vec::new(),
                broken: Vec::new(),
            }
        }
        BlobScan::Found { bytes, found } => (bytes, found),
        BlobScan::Skipped(why) => {
            let origin = (why == SkipReason::TooLarge).then(|| origin.clone());
            return FileResult::Skipped(origin, why);
        }
        BlobScan::Failed(message) => {
            return FileResult::Failed(Diagnostic {
                subject: origin.path().to_string(),
                message,
            })
        }
    };
    let Found {
        detection,
        dropped_lines,
    } = *found;
    let mut findings = Vec::with_capacity(detection.candidates.len());
    let mut suppressed = Vec::new();
    for c in &detection.candidates {
        let rule = detector.rule(c.rule);
        match triage(c, rule, origin, config) {
            Ok(f) => findings.push(f),
            Err(reason) if config.keep_dropped => suppressed.push(Suppressed {
                path: origin.path().to_string(),
                line: c.location.line,
                rule_id: rule.id().to_string(),
                reason,
            }),
            Err(_) => {}
        }
    }
    for (d, line) in detection.dropped.into_iter().zip(dropped_lines) {
        suppressed.push(Suppressed {
            path: origin.path().to_string(),
            line,
            rule_id: detector.rule(d.rule).id().to_string(),
            reason: d.reason,
        });
    }
    link_partners(&mut findings, detector);
    let mut broken: Vec<Diagnostic> = detection
        .broken_rules
        .into_iter()
        .map(|(i, e)| Diagnostic {
            subject: detector.rule(i).id().to_string(),
            message: format!("rule skipped: regex does not compile: {e}"),
        })
        .collect();
    if detection.decode_budget_spent {
        broken.push(Diagnostic {
            subject: origin.path().to_string(),
            message: format!(
                "decoding stopped after {} KiB of decoded text: encoded text past that was scanned as it is, not decoded",
                crate::detect::decode::Limits::default().budget >> 10
            ),
        });
    }
    FileResult::Scanned {
        bytes,
        findings,
        suppressed,
        broken,
    }
}

fn pool(config: &Config) -> Result<rayon::ThreadPool, ScanError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(config.threads.unwrap_or(0))
        .build()
        .map_err(|e| ScanError::Threads(e.to_string()))
}
