//! The one parallel loop: source -> detect -> triage, per blob on a rayon pool, then a sort
//! so the outcome is the same at any thread count. Nothing else spawns threads.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rayon::prelude::*;

use crate::config::Config;
use crate::detect::{DetectOptions, Detector, Scratch};
use crate::finding::Finding;
use crate::source::git::{self, BlobReader};
use crate::source::worktree::{self, WalkItem, WalkOptions};
use crate::source::{archive, looks_binary, FileEntry, Origin, SkipReason, SourceError};
use crate::triage::triage;

mod history;
pub use history::{scan_history, scan_history_cached, CacheOptions, CacheSummary, MESSAGE_PATH};

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
    /// `--verify`: what the providers said, counted per credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified: Option<crate::verify::Stats>,
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
    /// History scans with `--cache`: what the cache did (never part of a report).
    pub cache: Option<CacheSummary>,
    /// History scans: when each phase ended (`LEAKHOUND_TRACE=1` prints them).
    pub phases: Vec<(&'static str, Duration)>,
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
    // Fails early, with the repository's own error, when it cannot be read.
    drop(BlobReader::new(repo)?);
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    // Files in parallel: a commit of two large files took one core (docs/benchmarks.md).
    let scan_one = |reader: &Option<BlobReader>, scratch: &mut Scratch, e: &git::StagedEntry| {
        let origin = Origin::Staged {
            path: e.path.clone(),
        };
        let Some(reader) = reader else {
            return (
                FileResult::Failed(Diagnostic {
                    subject: e.path.clone(),
                    message: "cannot open the repository in a worker".into(),
                }),
                HashSet::new(),
            );
        };
        let scanned = scan_blob(reader, &e.new, origin.clone(), detector, config, scratch);
        // The HEAD version is only needed to tell old secrets from new ones.
        let has_findings =
            matches!(&scanned, FileResult::Scanned { findings, .. } if !findings.is_empty());
        let old: HashSet<String> = match e.old.filter(|_| has_findings) {
            Some(old) => fingerprints_in(reader, &old, origin, detector, config, scratch),
            None => HashSet::new(),
        };
        (scanned, old)
    };
    let results: Vec<(FileResult, HashSet<String>)> = if entries.len() > 1 {
        pool(config)?.install(|| {
            entries
                .par_iter()
                .map_init(
                    || (BlobReader::new(repo).ok(), Scratch::default()),
                    |(reader, scratch), e| scan_one(reader, scratch, e),
                )
                .collect()
        })
    } else {
        let reader = BlobReader::new(repo).ok();
        let mut scratch = Scratch::default();
        entries
            .iter()
            .map(|e| scan_one(&reader, &mut scratch, e))
            .collect()
    };
    for (scanned, old) in results {
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
    /// An archive: each member's scan, and what could not be scanned.
    Archive(Box<ArchiveScan>),
}

struct ArchiveScan {
    /// Bytes of the members scanned.
    bytes: u64,
    /// Each member's path inside the archive and its scan.
    members: Vec<(String, BlobScan)>,
    notes: Vec<archive::Note>,
}

impl ArchiveScan {
    /// Nothing found and nothing left unscanned: as good as a clean file.
    fn is_clean(&self) -> bool {
        self.notes.is_empty()
            && self.members.iter().all(|(_, s)| {
                matches!(
                    s,
                    BlobScan::Clean { .. } | BlobScan::Skipped(SkipReason::Binary)
                )
            })
    }
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
    if config.archive_depth > 0 && archive::format_of(bytes).is_some() {
        return detect_archive(bytes, path, detector, config, scratch);
    }
    detect_plain(bytes, path, detector, config, scratch)
}

/// Detection after the binary sniff.
fn detect_plain(
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

/// Detection over every member of an archive (`source::archive` opens it, within its caps).
fn detect_archive(
    bytes: &[u8],
    path: Option<&str>,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
) -> BlobScan {
    let limits = archive::Limits {
        depth: config.archive_depth,
        entry_bytes: config.max_file_size,
        ..archive::Limits::default()
    };
    let mut members = Vec::new();
    let mut total = 0u64;
    let notes = archive::expand(bytes, &limits, &mut |m| {
        let full = match (path, m.path.is_empty()) {
            (Some(p), false) => Some(format!("{p}!{}", m.path)),
            (p, _) => p.map(str::to_string),
        };
        let scan = if m.raw {
            detect_any(m.bytes, full.as_deref(), detector, config, scratch)
        } else {
            detect_plain(m.bytes, full.as_deref(), detector, config, scratch)
        };
        total += m.bytes.len() as u64;
        members.push((m.path.to_string(), scan));
    });
    BlobScan::Archive(Box::new(ArchiveScan {
        bytes: total,
        members,
        notes,
    }))
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
        BlobScan::Archive(a) => return settle_archive(*a, origin, detector, config),
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

/// Triage for each member of an archive, at `outer!inner`; one result for the archive.
fn settle_archive(
    a: ArchiveScan,
    origin: &Origin,
    detector: &Detector,
    config: &Config,
) -> FileResult {
    let mut findings = Vec::new();
    let mut suppressed = Vec::new();
    let mut broken = Vec::new();
    for (inner, scan) in a.members {
        let at = origin.member(&inner);
        match settle(scan, &at, detector, config) {
            FileResult::Scanned {
                findings: f,
                suppressed: s,
                broken: b,
                ..
            } => {
                findings.extend(f);
                suppressed.extend(s);
                broken.extend(b);
            }
            FileResult::Skipped(..) => {}
            FileResult::Failed(d) | FileResult::Notice(d) => broken.push(d),
        }
    }
    for note in a.notes {
        broken.push(Diagnostic {
            subject: origin.member(&note.path).path().to_string(),
            message: format!("in an archive: {}", note.message),
        });
    }
    FileResult::Scanned {
        bytes: a.bytes,
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
