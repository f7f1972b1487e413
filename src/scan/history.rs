//! History scans: every unique blob of the selected commits once, placed where it first
//! appeared, findings grouped per secret and path; with `--cache`, only the commits and blobs
//! that are new since the last scan are read (`source::cache`), with the same result.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{
    detect_any, detect_blob, fingerprints_in, finish, pool, settle, AiSummary, BlobScan,
    Diagnostic, FileResult, Progress, ProgressFn, ScanError, ScanOutcome, Suppressed,
};
use crate::config::Config;
use crate::detect::memo::Memo;
use crate::detect::{Detector, Scratch};
use crate::finding::{Finding, FingerprintBook, Occurrence};
use crate::source::cache::{self, Facts, Verdict};
use crate::source::git::{self, BlobReader, CommitId, HistoryBlob, Selection};
use crate::source::{BlobId, CommitInfo, IdMap, IdSet, Origin, SkipReason};

/// Fewer blobs than this are read in walk order rather than pack order.
const PACK_ORDER_FROM: usize = 20_000;

/// Where a history scan keeps what it learnt (`leakhound git --cache DIR`).
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// The cache directory (created when missing).
    pub dir: PathBuf,
    /// The name the repository is filed under (`--repository`); else the canonical path of
    /// its git directory.
    pub repository: Option<String>,
}

/// What the cache did, for one line on stderr. Never part of a report: a report is the
/// same with a cold cache, a warm one or none.
#[derive(Debug, Clone, Default)]
pub struct CacheSummary {
    /// The cache file.
    pub file: PathBuf,
    /// `new`, `resumed`, or why what was there was not used.
    pub status: String,
    /// Commits this run read.
    pub commits_read: usize,
    /// Blobs whose verdict came from the cache.
    pub blobs_known: usize,
    /// Blobs this run read.
    pub blobs_read: usize,
    /// Why the cache could not be written, if it could not.
    pub write_error: Option<String>,
}

/// The cache of one scan: what was loaded, under which keys, and where it goes back.
struct Cached {
    file: PathBuf,
    repository: String,
    selection: String,
    scan_key: [u8; 32],
    triage_key: [u8; 32],
    facts_key: [u8; 32],
    book_key: [u8; 32],
    book: Arc<FingerprintBook>,
    walk: Option<git::Prior>,
    facts: Option<Facts>,
    verdicts: IdMap<Verdict>,
    packs: Vec<cache::PackNote>,
    summary: CacheSummary,
}

impl Cached {
    /// Loads the cache for this repository and selection; anything unusable is set aside
    /// with the reason (the scan then runs from scratch and writes a good file).
    fn open(
        options: &CacheOptions,
        repo: &Path,
        selection: &Selection,
        detector: &Detector,
        config: &Config,
    ) -> Option<Cached> {
        let selection = match selection {
            Selection::All => "all".to_string(),
            Selection::Branch(rev) => format!("branch:{rev}"),
            Selection::Range { .. } | Selection::Push(_) => return None,
        };
        let repository = options.repository.clone().unwrap_or_else(|| {
            let dir = git::open(repo).map(|r| r.path().to_path_buf());
            let dir = dir.unwrap_or_else(|_| repo.to_path_buf());
            std::fs::canonicalize(&dir)
                .unwrap_or(dir)
                .to_string_lossy()
                .into_owned()
        });
        let file = cache::file_for(&options.dir, &repository, &selection);
        let Keys {
            scan: scan_key,
            triage: triage_key,
            facts: facts_key,
            book: book_key,
        } = keys(detector, config);
        let mut c = Cached {
            summary: CacheSummary {
                file: file.clone(),
                status: "new".into(),
                ..CacheSummary::default()
            },
            file,
            repository,
            selection,
            scan_key,
            triage_key,
            facts_key,
            book_key,
            book: Arc::default(),
            walk: None,
            facts: None,
            verdicts: IdMap::default(),
            packs: Vec::new(),
        };
        match cache::load(&c.file, &c.repository, &c.selection) {
            Ok(None) => {}
            Ok(Some(state)) => {
                c.summary.status = "resumed".into();
                c.walk = state.walk;
                c.packs = state.packs;
                let mut stale = Vec::new();
                match state.facts {
                    Some((k, f)) if k == facts_key => c.facts = Some(f),
                    Some(_) => stale.push("commit facts"),
                    None => {}
                }
                match state.verdicts {
                    Some((k, t, mut v)) if k == scan_key => {
                        if t != triage_key {
                            v.retain(|_, v| !matches!(v, Verdict::Quiet(..)));
                            stale.push("blobs with dropped candidates");
                        }
                        c.verdicts = v;
                    }
                    Some(_) => stale.push("blob verdicts"),
                    None => {}
                }
                if let Some((_, entries)) = state.book.filter(|(k, _)| *k == book_key) {
                    c.book = Arc::new(FingerprintBook::new(entries));
                }
                if !stale.is_empty() {
                    c.summary.status = format!(
                        "resumed; rules, settings or version changed, so {} were redone",
                        stale.join(" and ")
                    );
                }
            }
            Err(why) => c.summary.status = format!("not used ({why}); scanned from scratch"),
        }
        Some(c)
    }

    /// Writes what this scan knows back (the walk only when it read everything).
    fn store(
        &mut self,
        history: &git::History,
        facts: &Facts,
        fresh: impl Iterator<Item = (BlobId, Verdict)>,
        packs: &[cache::PackNote],
        live: &IdSet,
    ) {
        let mut verdicts = std::mem::take(&mut self.verdicts);
        verdicts.extend(fresh);
        // Only what the history still holds: a rewrite must not grow the file for ever.
        verdicts.retain(|id, _| live.contains(id));
        let complete = history.problems.is_empty();
        let mut book = self.book.entries();
        book.retain(|(place, _)| live.contains(&place.blob));
        let state = cache::StateRef {
            walked: history.walked.as_ref().filter(|_| complete),
            blobs: Some(&history.blobs[..]).filter(|_| complete),
            facts: Some((&self.facts_key, facts)).filter(|_| complete),
            verdicts: Some((&self.scan_key, &self.triage_key, &verdicts)),
            book: Some((&self.book_key, &book[..])),
            packs,
        };
        if let Err(e) = cache::store(&self.file, &self.repository, &self.selection, &state) {
            self.summary.write_error = Some(e.to_string());
        }
    }
}

/// The keys the cached parts are valid under.
struct Keys {
    /// Blob verdicts: the engine, the rules, and the settings detection reads.
    scan: [u8; 32],
    /// Quiet verdicts, besides: what triage reads (thresholds, AI policy and signals,
    /// allowlists, inline markers).
    triage: [u8; 32],
    /// Commit facts: the rules, the settings detection reads and the AI signal table.
    facts: [u8; 32],
    /// Slow fingerprints: the rules and the fingerprint key.
    book: [u8; 32],
}

fn keys(detector: &Detector, config: &Config) -> Keys {
    let json = |h: &mut Sha256, v: &dyn erased::Json| {
        h.update(v.json());
        h.update([0]);
    };
    let mut rules = Sha256::new();
    rules.update(env!("CARGO_PKG_VERSION").as_bytes());
    for r in detector.rules().rules() {
        rules.update(r.origin.as_bytes());
        rules.update([0]);
        json(&mut rules, &r.spec);
    }
    let rules = rules.finalize();
    let mut scan = Sha256::new();
    scan.update(b"scan\0");
    scan.update(rules);
    scan.update([u8::from(config.keep_dropped)]);
    scan.update(config.detect_relief().to_bits().to_le_bytes());
    scan.update(config.max_file_size.to_le_bytes());
    scan.update(config.archive_depth.to_le_bytes());
    let mut signals = Sha256::new();
    json(&mut signals, config.signals.table());
    let signals = signals.finalize();
    let mut triage = Sha256::new();
    triage.update(b"triage\0");
    triage.update(signals);
    json(&mut triage, &config.thresholds);
    json(&mut triage, &config.ai);
    triage.update([u8::from(config.markers)]);
    for spec in config.allow.specs() {
        json(&mut triage, spec);
    }
    let scan = scan.finalize();
    let mut facts = Sha256::new();
    facts.update(b"facts\0");
    facts.update(scan);
    facts.update(signals);
    let mut book = Sha256::new();
    book.update(b"book\0");
    book.update(rules);
    match &config.fingerprint_key {
        Some(k) => book.update(Sha256::digest(Sha256::digest(k))),
        None => book.update([0]),
    }
    Keys {
        scan: scan.into(),
        triage: triage.finalize().into(),
        facts: facts.finalize().into(),
        book: book.finalize().into(),
    }
}

/// Serialisation of settings for digests.
mod erased {
    /// A value whose JSON form is digested.
    pub trait Json {
        fn json(&self) -> Vec<u8>;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> Vec<u8> {
            serde_json::to_vec(self).unwrap_or_default()
        }
    }
}

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
    scan_history_cached(repo, selection, detector, config, progress, None)
}

/// [`scan_history`] with a cache: a scan of every ref or of one branch reads only the
/// commits added since the last scan and scans only blobs it has not judged clean before.
/// The outcome is the same as without the cache.
pub fn scan_history_cached(
    repo: &Path,
    selection: &Selection,
    detector: &Detector,
    config: &Config,
    progress: Option<ProgressFn<'_>>,
    cache: Option<&CacheOptions>,
) -> Result<ScanOutcome, ScanError> {
    let started = Instant::now();
    // When each phase ended, for `LEAKHOUND_TRACE=1` (the CLI prints them).
    let phases = std::sync::Mutex::new(Vec::new());
    let trace = |phase: &'static str| {
        if let Ok(mut p) = phases.lock() {
            p.push((phase, started.elapsed()));
        }
    };
    let mut config = Config {
        history: true,
        ..config.clone()
    };
    let mut cached = cache.and_then(|o| Cached::open(o, repo, selection, detector, &config));
    config.fingerprint_book = cached.as_ref().map(|c| Arc::clone(&c.book));
    let config = &config;
    let pool = pool(config)?;
    let memo = Arc::new(Memo::default());
    let prior = cached.as_mut().and_then(|c| c.walk.take());
    let prior_facts = cached.as_mut().and_then(|c| c.facts.take());
    // Full history: every blob in the packs is read in pack order (bases before deltas) while
    // the walk that says where each blob entered runs alongside; triage waits for the walk.
    // With blob verdicts cached, only what they lack is read, after the walk.
    trace("cache load");
    let packs = match selection {
        Selection::All => git::packs(&git::open(repo)?),
        _ => Vec::new(),
    };
    trace("pack listing");
    let warm = cached.as_ref().is_some_and(|c| !c.verdicts.is_empty());
    let in_packs: Vec<Option<Vec<BlobId>>> = packs
        .iter()
        .map(|p| (!warm).then(|| git::pack_blobs(p)))
        .collect();
    let packed: Vec<BlobId> = in_packs.iter().flatten().flatten().copied().collect();
    let reader = Reader::new(repo, detector, config, &pool, &memo, progress);
    let ((history, tally, triggered), early) = std::thread::scope(|s| {
        let walker = s.spawn(|| {
            let w = walk(repo, selection, prior, detector, config);
            trace("walk (thread)");
            w
        });
        let early = if warm {
            Vec::new()
        } else {
            reader
                .total
                .fetch_add(packed.len() as u64, Ordering::Relaxed);
            let early = reader.read(&packed.iter().collect::<Vec<_>>());
            trace("pack pass (thread)");
            early
        };
        let walked = walker
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (walked, early)
    });
    trace("walk and pack pass");
    let history = history?;
    let in_history: IdSet = history.blobs.iter().map(|b| b.id).collect();
    let notes = pack_notes(&packs, in_packs, &history, &in_history, cached.as_mut());
    let unreachable: usize = notes.iter().map(|n| n.2.len()).sum();
    let mut early: IdMap<BlobScan> = packed.iter().copied().zip(early).collect();
    // A cached verdict holds while the blob enters history where it did (a quiet blob's
    // candidates were dropped at that commit and path).
    let known = |b: &HistoryBlob| -> Option<Verdict> {
        let v = cached.as_ref()?.verdicts.get(&b.id).copied()?;
        match v {
            Verdict::Quiet(_, commit) if commit != b.commit => None,
            v => Some(v),
        }
    };
    // What is neither read by the pack pass nor known: loose objects, every blob of a
    // partial selection, the new blobs of a warm scan. In pack order where there is one.
    let mut rest: Vec<usize> = (0..history.blobs.len())
        .filter(|&i| {
            let b = &history.blobs[i];
            !early.contains_key(&b.id) && known(b).is_none()
        })
        .collect();
    if !rest.is_empty() {
        // Pack order pays for many blobs (a cold partial selection); for a warm scan's few
        // it only costs reading the pack index (50 ms on curl, no faster reads).
        if let Some(r) = BlobReader::new(repo)
            .ok()
            .filter(|_| rest.len() > PACK_ORDER_FROM)
        {
            let pos = git::pack_positions(r.repo());
            rest.sort_by_key(|&i| {
                pos.get(&history.blobs[i].id)
                    .copied()
                    .unwrap_or((u32::MAX, i as u64))
            });
        }
        reader.total.fetch_add(rest.len() as u64, Ordering::Relaxed);
    }
    trace("ordering the rest");
    let late = reader.read(
        &rest
            .iter()
            .map(|&i| &history.blobs[i].id)
            .collect::<Vec<_>>(),
    );
    let blobs_read = early.len() + late.len();
    let mut scans: Vec<Option<BlobScan>> = (0..history.blobs.len()).map(|_| None).collect();
    for (i, scan) in rest.into_iter().zip(late) {
        scans[i] = Some(scan);
    }
    let Pairing {
        paired,
        quiet,
        mut fresh,
        fresh_found,
        blobs_known,
    } = pair(&history, scans, &mut early, &known, cached.is_some());
    trace("reading the rest");
    let old = origin_commits(repo, &history, &paired, detector);
    let mut results = reader.settle(&history.blobs, paired, &history.infos, &old);
    trace("triage");
    learn_quiet(&results, &fresh_found, &history, &mut fresh);
    results.extend(quiet);
    let mut out = ScanOutcome::default();
    out.stats.rules = detector.rules().len();
    out.stats.commits = Some(history.commits);
    walk_diagnostics(&mut out, &history, unreachable, repo);
    let mut found_all: Vec<(usize, Finding)> = Vec::new();
    for (i, r) in results {
        let found = out.absorb(r, config);
        found_all.extend(found.into_iter().map(|f| (i, f)));
    }
    trace("absorbing");
    // Commit facts: from this walk, plus the cached ones of the commits it did not read.
    let facts = commit_facts(
        repo,
        &history,
        tally,
        triggered,
        prior_facts,
        detector,
        config,
    );
    let commits = message_commits(repo, &history, &facts);
    // Commit messages are content too: agents and people paste tokens into them. They
    // sort after every blob, so a secret in both is reported where its blob entered.
    let messages = scan_messages(&commits, detector, config, &pool);
    // Only messages with something in them need reading next time.
    let facts = Facts {
        triggered: messages
            .iter()
            .filter_map(|(c, _)| BlobId::from_hex(&c.id))
            .collect(),
        ..facts
    };
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
    trace("commit messages");
    drop_ignored_blobs(&mut found_all, &history.blobs, repo, &mut out, config);
    out.findings = group_history(found_all, &in_head);
    if matches!(selection, Selection::Range { .. } | Selection::Push(_)) {
        mark_inherited(&mut out.findings, repo, detector, config);
    }
    finish(&mut out, detector, config);
    let tally: BTreeMap<String, usize> = facts
        .tally
        .iter()
        .map(|(t, n)| (t.clone(), *n as usize))
        .collect();
    out.stats.ai = Some(AiSummary::new(history.commits, tally, &out.findings));
    trace("grouping");
    if let Some(c) = cached.as_mut() {
        c.summary.commits_read = history.infos.len();
        c.summary.blobs_known = blobs_known;
        c.summary.blobs_read = blobs_read;
        if let Some(note) = &history.cache_note {
            c.summary.status = note.clone();
        }
        c.store(&history, &facts, fresh.into_iter(), &notes, &in_history);
        out.cache = Some(c.summary.clone());
    }
    trace("cache store");
    out.phases = phases.into_inner().unwrap_or_default();
    out.stats.elapsed = started.elapsed();
    Ok(out)
}

/// Each blob's scan, from this run's reads or from a cached verdict, and what this run
/// learnt to remember.
struct Pairing {
    /// Blobs to triage.
    paired: Vec<(usize, BlobScan)>,
    /// Blobs known quiet where they entered: settled already.
    quiet: Vec<(usize, FileResult)>,
    /// Verdicts of the blobs read now (only when there is a cache to keep them).
    fresh: Vec<(BlobId, Verdict)>,
    /// Blobs read now with candidates: quiet if triage drops every one.
    fresh_found: HashSet<usize>,
    /// Blobs whose verdict came from the cache.
    blobs_known: usize,
}

fn pair(
    history: &git::History,
    scans: Vec<Option<BlobScan>>,
    early: &mut IdMap<BlobScan>,
    known: &dyn Fn(&HistoryBlob) -> Option<Verdict>,
    remember: bool,
) -> Pairing {
    let mut p = Pairing {
        paired: Vec::with_capacity(scans.len()),
        quiet: Vec::new(),
        fresh: Vec::new(),
        fresh_found: HashSet::new(),
        blobs_known: 0,
    };
    for (i, scan) in scans.into_iter().enumerate() {
        let blob = &history.blobs[i];
        match scan.or_else(|| early.remove(&blob.id)) {
            Some(scan) => {
                if remember {
                    match verdict(&scan) {
                        Some(v) => p.fresh.push((blob.id, v)),
                        None => {
                            p.fresh_found.insert(i);
                        }
                    }
                }
                p.paired.push((i, scan));
            }
            None => match known(blob) {
                Some(Verdict::Quiet(bytes, _)) => {
                    p.blobs_known += 1;
                    p.quiet.push((i, quiet_result(bytes)));
                }
                Some(v) => {
                    p.blobs_known += 1;
                    p.paired.push((i, from_verdict(v)));
                }
                None => {}
            },
        }
    }
    p
}

/// Blobs read now whose candidates triage dropped, every one: quiet where they entered.
fn learn_quiet(
    results: &[(usize, FileResult)],
    fresh_found: &HashSet<usize>,
    history: &git::History,
    fresh: &mut Vec<(BlobId, Verdict)>,
) {
    for (i, r) in results {
        if let FileResult::Scanned {
            bytes,
            findings,
            suppressed,
            broken,
        } = r
        {
            if fresh_found.contains(i)
                && findings.is_empty()
                && suppressed.is_empty()
                && broken.is_empty()
            {
                let b = &history.blobs[*i];
                fresh.push((b.id, Verdict::Quiet(*bytes, b.commit)));
            }
        }
    }
}

/// What the walk reports: unreached blobs, notes, and problems (each makes the scan
/// incomplete).
fn walk_diagnostics(
    out: &mut ScanOutcome,
    history: &git::History,
    unreachable: usize,
    repo: &Path,
) {
    let subject = repo.display().to_string();
    if unreachable > 0 {
        out.diagnostics.push(Diagnostic {
            subject: subject.clone(),
            message: format!(
                "{unreachable} stored blob(s) are reachable from no ref (dangling or left by a rewrite): not reported"
            ),
        });
    }
    for note in &history.notes {
        out.diagnostics.push(Diagnostic {
            subject: subject.clone(),
            message: note.clone(),
        });
    }
    for problem in &history.problems {
        *out.stats.files_skipped.entry("unreadable").or_default() += 1;
        out.diagnostics.push(Diagnostic {
            subject: subject.clone(),
            message: problem.clone(),
        });
    }
}

/// Per pack, the blobs no ref reaches (reported as a count). A resumed walk only adds
/// reachable blobs, so a pack seen before needs only its earlier list checked; new packs
/// (a fetch, a repack) are read, and everything is after a walk from scratch.
fn pack_notes(
    packs: &[git::Pack],
    read: Vec<Option<Vec<BlobId>>>,
    history: &git::History,
    in_history: &IdSet,
    cached: Option<&mut Cached>,
) -> Vec<cache::PackNote> {
    let mut prior: HashMap<(String, u64), Vec<BlobId>> = cached
        .map(|c| std::mem::take(&mut c.packs))
        .unwrap_or_default()
        .into_iter()
        .map(|(name, size, ids)| ((name, size), ids))
        .collect();
    packs
        .iter()
        .zip(read)
        .map(|(p, blobs)| {
            let earlier = prior
                .remove(&(p.name.clone(), p.size))
                .filter(|_| history.resumed);
            let candidates = blobs.or(earlier).unwrap_or_else(|| git::pack_blobs(p));
            let unreached = candidates
                .into_iter()
                .filter(|id| !in_history.contains(id))
                .collect();
            (p.name.clone(), p.size, unreached)
        })
        .collect()
}

/// A clean or skipped blob's verdict, to remember; blobs with candidates are not kept.
fn verdict(scan: &BlobScan) -> Option<Verdict> {
    match scan {
        BlobScan::Clean { bytes } => Some(Verdict::Clean(*bytes)),
        BlobScan::Archive(a) if a.is_clean() => Some(Verdict::Clean(a.bytes)),
        BlobScan::Skipped(SkipReason::Binary) => Some(Verdict::Binary),
        BlobScan::Skipped(SkipReason::TooLarge) => Some(Verdict::TooLarge),
        _ => None,
    }
}

/// What a blob read before and found quiet at the same place settles to.
fn quiet_result(bytes: u64) -> FileResult {
    FileResult::Scanned {
        bytes,
        findings: Vec::new(),
        suppressed: Vec::new(),
        broken: Vec::new(),
    }
}

fn from_verdict(v: Verdict) -> BlobScan {
    match v {
        Verdict::Clean(bytes) | Verdict::Quiet(bytes, _) => BlobScan::Clean { bytes },
        Verdict::Binary => BlobScan::Skipped(SkipReason::Binary),
        Verdict::TooLarge => BlobScan::Skipped(SkipReason::TooLarge),
    }
}

type Walk = (
    Result<git::History, crate::source::SourceError>,
    BTreeMap<String, u64>,
    Vec<Arc<CommitInfo>>,
);

/// The history walk, classifying each commit it reads (a few microseconds each) and keeping
/// those whose message holds a rule keyword (most hold none).
fn walk(
    repo: &Path,
    selection: &Selection,
    prior: Option<git::Prior>,
    detector: &Detector,
    config: &Config,
) -> Walk {
    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut triggered = Vec::new();
    let mut scratch = Scratch::default();
    let history = git::walk_history(repo, selection, prior, &mut |c| {
        observe(
            c,
            detector,
            config,
            &mut scratch,
            &mut tally,
            &mut triggered,
        );
    });
    (history, tally, triggered)
}

fn observe(
    c: &Arc<CommitInfo>,
    detector: &Detector,
    config: &Config,
    scratch: &mut Scratch,
    tally: &mut BTreeMap<String, u64>,
    triggered: &mut Vec<Arc<CommitInfo>>,
) {
    if let Some(tag) = config.signals.classify(c.as_ref().into()) {
        *tally.entry(tag.tool).or_default() += 1;
    }
    if detector.triggers(c.message.as_bytes(), scratch) {
        triggered.push(Arc::clone(c));
    }
}

/// Commit facts for the whole selection: this walk's, plus the cached facts of the commits a
/// resumed walk did not read (or, when those are stale, the facts read again from them).
fn commit_facts(
    repo: &Path,
    history: &git::History,
    mut tally: BTreeMap<String, u64>,
    mut triggered: Vec<Arc<CommitInfo>>,
    prior: Option<Facts>,
    detector: &Detector,
    config: &Config,
) -> Facts {
    let mut ids: Vec<CommitId> = Vec::new();
    if history.resumed {
        match prior {
            Some(p) => {
                for (tool, n) in p.tally {
                    *tally.entry(tool).or_default() += n;
                }
                ids.extend(p.triggered);
            }
            None => {
                // Stale facts: read the commits the walk skipped once more (no trees).
                let old = history.walked.iter().flat_map(|w| w.keys.keys());
                let old = old.filter(|id| !history.infos.contains_key(id)).copied();
                if let Ok(r) = git::open(repo) {
                    let mut scratch = Scratch::default();
                    for c in git::commit_infos(&r, old).into_values() {
                        observe(
                            &c,
                            detector,
                            config,
                            &mut scratch,
                            &mut tally,
                            &mut triggered,
                        );
                    }
                }
            }
        }
    }
    ids.extend(triggered.iter().filter_map(|c| BlobId::from_hex(&c.id)));
    let key = |id: &CommitId| {
        history
            .walked
            .as_ref()
            .and_then(|w| w.keys.get(id).copied())
    };
    if history.walked.is_some() {
        ids.sort_by_key(|id| (key(id), *id));
        ids.dedup();
    }
    Facts {
        triggered: ids,
        tally: tally.into_iter().collect(),
    }
}

/// The commits whose messages are scanned, in history order.
fn message_commits(repo: &Path, history: &git::History, facts: &Facts) -> Vec<Arc<CommitInfo>> {
    let read = read_unread(repo, history, facts.triggered.iter().copied());
    facts
        .triggered
        .iter()
        .filter_map(|id| history.infos.get(id).or_else(|| read.get(id)).cloned())
        .collect()
}

/// Facts of the commits among `ids` that this walk did not read (a resumed walk reads only
/// the new ones); the rest are in `history.infos`.
fn read_unread(
    repo: &Path,
    history: &git::History,
    ids: impl Iterator<Item = CommitId>,
) -> IdMap<Arc<CommitInfo>> {
    let missing: IdSet = ids.filter(|id| !history.infos.contains_key(id)).collect();
    match git::open(repo) {
        Ok(r) if !missing.is_empty() => git::commit_infos(&r, missing.into_iter()),
        _ => IdMap::default(),
    }
}

/// Facts of the old commits a finding or a diagnostic may name (few: most blobs are clean).
fn origin_commits(
    repo: &Path,
    history: &git::History,
    paired: &[(usize, BlobScan)],
    detector: &Detector,
) -> IdMap<Arc<CommitInfo>> {
    let named = paired.iter().filter(|(i, scan)| {
        needs_origin(scan) || detector.has_path_rules_for(&history.blobs[*i].path)
    });
    read_unread(repo, history, named.map(|(i, _)| history.blobs[*i].commit))
}

/// Whether triage reads where a blob came from (a clean or binary blob is only counted).
fn needs_origin(scan: &BlobScan) -> bool {
    !matches!(
        scan,
        BlobScan::Clean { .. } | BlobScan::Skipped(SkipReason::Binary)
    )
}

/// Blob reading and triage on the pool, with the progress line.
struct Reader<'a> {
    repo: &'a Path,
    detector: &'a Detector,
    config: &'a Config,
    pool: &'a rayon::ThreadPool,
    memo: &'a Arc<Memo>,
    progress: Option<ProgressFn<'a>>,
    total: AtomicU64,
    done: AtomicU64,
    bytes: AtomicU64,
}

impl<'a> Reader<'a> {
    fn new(
        repo: &'a Path,
        detector: &'a Detector,
        config: &'a Config,
        pool: &'a rayon::ThreadPool,
        memo: &'a Arc<Memo>,
        progress: Option<ProgressFn<'a>>,
    ) -> Reader<'a> {
        Reader {
            repo,
            detector,
            config,
            pool,
            memo,
            progress,
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    fn tick(&self, scan: &BlobScan) {
        let Some(report) = self.progress else { return };
        let n = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        if let BlobScan::Clean { bytes } | BlobScan::Found { bytes, .. } = scan {
            self.bytes.fetch_add(*bytes, Ordering::Relaxed);
        }
        let total = self.total.load(Ordering::Relaxed);
        if n.is_multiple_of(256) || n == total {
            report(Progress {
                done: n,
                total,
                bytes: self.bytes.load(Ordering::Relaxed),
            });
        }
    }

    /// Detection over each blob, without its path.
    fn read(&self, ids: &[&BlobId]) -> Vec<BlobScan> {
        self.pool.install(|| {
            ids.par_iter()
                .map_init(
                    || {
                        let reader = BlobReader::new(self.repo).ok();
                        (reader, Scratch::with_memo(Arc::clone(self.memo)))
                    },
                    |(reader, scratch), id| {
                        let scan = match reader {
                            Some(r) => {
                                detect_blob(r, id, None, self.detector, self.config, scratch)
                            }
                            None => {
                                BlobScan::Failed("cannot open the repository in a worker".into())
                            }
                        };
                        self.tick(&scan);
                        scan
                    },
                )
                .collect()
        })
    }

    /// Triage in parallel: a guessable secret's fingerprint is deliberately slow. Blobs read
    /// before their path was known are read again where a file rule (`.pgpass`,
    /// `config/master.key`) applies at that path.
    fn settle(
        &self,
        blobs: &[HistoryBlob],
        paired: Vec<(usize, BlobScan)>,
        infos: &IdMap<Arc<CommitInfo>>,
        old: &IdMap<Arc<CommitInfo>>,
    ) -> Vec<(usize, FileResult)> {
        let (detector, config) = (self.detector, self.config);
        self.pool.install(|| {
            paired
                .into_par_iter()
                .map_init(
                    || {
                        (
                            BlobReader::new(self.repo).ok(),
                            Scratch::with_memo(Arc::clone(self.memo)),
                        )
                    },
                    |(reader, scratch), (i, scan)| {
                        let blob = &blobs[i];
                        let path_rules = detector.has_path_rules_for(&blob.path);
                        let scan = match reader {
                            Some(r) if path_rules => detect_blob(
                                r,
                                &blob.id,
                                Some(&blob.path),
                                detector,
                                config,
                                scratch,
                            ),
                            _ => scan,
                        };
                        if !needs_origin(&scan) {
                            return (i, settle(scan, &unused_origin(), detector, config));
                        }
                        let commit = infos.get(&blob.commit).or_else(|| old.get(&blob.commit));
                        let origin = match commit {
                            Some(commit) => Origin::Commit {
                                commit: Arc::clone(commit),
                                path: blob.path.to_string(),
                                raw: blob.raw.clone(),
                                blob: Some(blob.id),
                            },
                            None => {
                                return (
                                    i,
                                    FileResult::Failed(Diagnostic {
                                        subject: blob.path.to_string(),
                                        message: format!("commit {} cannot be read", blob.commit),
                                    }),
                                )
                            }
                        };
                        (i, settle(scan, &origin, detector, config))
                    },
                )
                .collect()
        })
    }
}

/// An origin for results that never read it (clean and binary blobs are only counted).
fn unused_origin() -> Origin {
    Origin::File {
        path: String::new(),
        raw: None,
    }
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
                    blob: None,
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
