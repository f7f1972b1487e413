//! Detection: bytes in, candidates out. Prefilter, then each triggered rule's regex, then the
//! rule's own filters (keyword, checksum, entropy floor, placeholders). No paths, no policy.

pub mod decode;
pub mod entropy;
pub mod filter;
pub mod memo;
pub mod prefilter;

use std::ops::Range;
use std::sync::Arc;

use crate::rules::{Precision, Rule, RuleSet};

/// A match that passed every filter of its rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Index of the rule in the detector's rule set.
    pub rule: usize,
    /// Byte range of the whole regex match.
    pub span: Range<usize>,
    /// Byte range of the secret.
    pub secret_span: Range<usize>,
    /// The secret bytes.
    pub secret: Vec<u8>,
    /// Shannon entropy of the secret, bits per byte.
    pub entropy: f64,
    /// Where the secret starts and ends (1-based lines, 1-based character columns).
    pub location: TextLocation,
    /// The text of the first line before the secret, at most [`CONTEXT`] bytes.
    pub before: String,
    /// The text of the last line after the secret, at most [`CONTEXT`] bytes.
    pub after: String,
    /// The whole line the secret starts on (at most [`LINE_MAX`] bytes), for allowlist
    /// line patterns and inline markers.
    pub line: String,
    /// The line before it (at most [`LINE_MAX`] bytes), for next-line markers.
    pub prev_line: String,
    /// The whole regex match (at most [`LINE_MAX`] bytes), for allowlist match patterns.
    pub matched: String,
    /// What the context calls the secret (a rule's `name` group: `shodan_api_key`).
    pub name: Option<String>,
    /// Why the value is weak (a default, a dictionary word, low entropy) when the rule reports
    /// weak values in a credential context instead of dropping them.
    pub weak: Option<String>,
    /// The decodings that led to the secret, outermost first (empty when it is in clear).
    pub decoded: Vec<decode::Encoding>,
}

/// One accepted regex match before overlaps are resolved.
#[derive(Debug)]
struct Hit {
    rule: usize,
    span: Range<usize>,
    secret_span: Range<usize>,
    entropy: f64,
    name: Option<Range<usize>>,
    weak: Option<String>,
}

/// What the filters made of an accepted match.
#[derive(Debug)]
struct Verdict {
    entropy: f64,
    /// Reported although it failed a quality filter, because the rule says its context makes
    /// any value a credential.
    weak: Option<String>,
}

/// How much of a line or match a candidate keeps for allowlists and markers.
pub const LINE_MAX: usize = 4096;

/// How much line context a candidate keeps on each side of the secret.
pub const CONTEXT: usize = 60;

/// Line and column range of a secret.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Default,
    serde::Serialize,
    serde::Deserialize,
)]
pub struct TextLocation {
    /// First line, 1-based.
    pub line: usize,
    /// First column, 1-based, in characters.
    pub column: usize,
    /// Last line, 1-based.
    pub end_line: usize,
    /// Column one past the last character, 1-based.
    pub end_column: usize,
}

/// A regex match that a filter rejected, kept for `--explain-suppressed` and rule checks.
#[derive(Debug, Clone, PartialEq)]
pub struct Dropped {
    /// Index of the rule.
    pub rule: usize,
    /// Byte range of the secret.
    pub secret_span: Range<usize>,
    /// Why it was rejected.
    pub reason: String,
}

/// What one blob yields.
#[derive(Debug, Default)]
pub struct Detection {
    /// Decoding stopped at the per-blob budget: some encoded text was not looked into.
    pub decode_budget_spent: bool,
    /// Accepted candidates, sorted by position.
    pub candidates: Vec<Candidate>,
    /// Rejected matches (only filled when asked for).
    pub dropped: Vec<Dropped>,
    /// Rules whose regex failed to compile (never for tested built-ins).
    pub broken_rules: Vec<(usize, String)>,
}

/// Options that change what `detect` does with a blob.
#[derive(Debug, Clone, Copy, Default)]
pub struct DetectOptions {
    /// Keep rejected matches in [`Detection::dropped`].
    pub keep_dropped: bool,
    /// Bits per byte taken off every entropy floor, so that triage can apply the stricter AI
    /// policy (the full floor still applies to everything else, in triage).
    pub entropy_relief: f64,
    /// Do not look into decoded views (base64, percent, hex, escapes, entities).
    pub no_decode: bool,
}

/// Reusable per-thread buffers.
#[derive(Debug, Default)]
pub struct Scratch {
    hits: prefilter::Hits,
    windows: Vec<Range<usize>>,
    memo: Option<Arc<memo::Memo>>,
}

impl Scratch {
    /// Buffers that share `memo` (see [`memo`]): for scans that see the same text many
    /// times, such as the versions of a file in git history.
    pub fn with_memo(memo: Arc<memo::Memo>) -> Scratch {
        Scratch {
            memo: Some(memo),
            ..Scratch::default()
        }
    }
}

/// Bytes of the line kept on each side of an encoded span when its decoded view is scanned.
const VIEW_CONTEXT: usize = 256;

/// Regexes whose longest match is beyond this run over the whole blob instead of windows;
/// `rules check` rejects such rules, so only user rules loaded without checking hit it.
pub const MAX_REACH: usize = 64 * 1024;

/// The rule set plus its compiled prefilter. Cheap to share across threads.
#[derive(Debug)]
pub struct Detector {
    rules: RuleSet,
    prefilter: prefilter::Prefilter,
    /// Distinctive token prefixes (`xoxp-`, `ghp_`, `sk_live_`) and the rule that owns each.
    owned_prefixes: Vec<(String, usize)>,
    /// Rules with a `path` (credential files): their indices, their path patterns as one
    /// set, and whether each has no keywords (then it runs over the whole file). They run
    /// only where the path is known and matches, so they never take a match from a rule that
    /// applies everywhere.
    path_rules: Vec<usize>,
    path_set: Option<regex::bytes::RegexSet>,
    is_path_rule: Vec<bool>,
}

impl Detector {
    /// Builds the prefilter for `rules`. Regexes compile lazily, on first use.
    pub fn new(rules: RuleSet) -> Detector {
        let prefilter = prefilter::Prefilter::new(&rules);
        let owned_prefixes = owned_prefixes(&rules);
        let path_rules: Vec<usize> = (0..rules.len())
            .filter(|&i| rules.rules()[i].spec.path.is_some())
            .collect();
        // A path pattern that does not compile leaves its rules off; `rules check` says why.
        let path_set = path_set(
            path_rules
                .iter()
                .map(|&i| rules.rules()[i].spec.path.as_deref()),
        )
        .ok()
        .filter(|_| !path_rules.is_empty());
        let mut is_path_rule = vec![false; rules.len()];
        for &i in &path_rules {
            is_path_rule[i] = true;
        }
        Detector {
            rules,
            prefilter,
            owned_prefixes,
            path_rules,
            path_set,
            is_path_rule,
        }
    }

    /// True when some rule for a credential file (`.pgpass`, `.netrc`) applies at `path`.
    pub fn has_path_rules_for(&self, path: &str) -> bool {
        self.path_set
            .as_ref()
            .is_some_and(|s| s.is_match(path.as_bytes()))
    }

    /// True when some rule's keyword occurs in `bytes`: the cheap first step of
    /// [`Detector::detect`], for callers that decide whether text is worth keeping.
    pub fn triggers(&self, bytes: &[u8], scratch: &mut Scratch) -> bool {
        !self.prefilter.scan(bytes, &mut scratch.hits).is_empty()
    }

    /// For each rule with a keyword in `bytes`, how many keyword occurrences (benchmarks).
    #[doc(hidden)]
    pub fn keyword_hit_counts(&self, bytes: &[u8], scratch: &mut Scratch) -> Vec<(usize, usize)> {
        let rules = self.prefilter.scan(bytes, &mut scratch.hits);
        rules
            .into_iter()
            .map(|r| (r, scratch.hits.of(r).len()))
            .collect()
    }

    /// The rules this detector runs.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The rule at `index`.
    pub fn rule(&self, index: usize) -> &Arc<Rule> {
        &self.rules.rules()[index]
    }

    /// Finds the candidates in `bytes`.
    pub fn detect(&self, bytes: &[u8], opts: DetectOptions, scratch: &mut Scratch) -> Detection {
        self.detect_at(bytes, None, opts, scratch)
    }

    /// [`Detector::detect`] for a file at `path`: file rules whose path pattern matches run
    /// over the whole of it too.
    pub fn detect_at(
        &self,
        bytes: &[u8],
        path: Option<&str>,
        opts: DetectOptions,
        scratch: &mut Scratch,
    ) -> Detection {
        let mut out = Detection::default();
        let memo = scratch.memo.clone();
        let triggered = match &memo {
            Some(m) => self.prefilter.scan_memo(bytes, &mut scratch.hits, m),
            None => self.prefilter.scan(bytes, &mut scratch.hits),
        };
        // Empty windows are remembered only when rejected matches are not wanted.
        let memo = memo.filter(|_| !opts.keep_dropped);
        let mut triggered = triggered;
        let here: Vec<usize> = match (path, &self.path_set) {
            (Some(p), Some(set)) => set
                .matches(p.as_bytes())
                .into_iter()
                .map(|i| self.path_rules[i])
                .collect(),
            _ => Vec::new(),
        };
        triggered.retain(|r| !self.is_path_rule[*r] || here.contains(r));
        let whole_file: Vec<usize> = here
            .into_iter()
            .filter(|&r| self.rule(r).spec.keywords.is_empty())
            .collect();
        triggered.extend(whole_file.iter().copied());
        // Without a keyword in clear there is nothing to match here, but a decoded view may
        // still hold a secret (a base64 value whose name is encoded with it).
        if triggered.is_empty() && opts.no_decode {
            return out;
        }
        let mut raw: Vec<Hit> = Vec::new();
        // Every secret span any rule matched, kept or rejected: masked in the context of
        // the others so that no report shows a second secret in clear.
        let mut seen: Vec<Range<usize>> = Vec::new();
        for index in triggered {
            let rule = self.rule(index);
            let compiled = match rule.regex() {
                Ok(r) => r,
                Err(e) => {
                    out.broken_rules.push((index, e.to_string()));
                    continue;
                }
            };
            if whole_file.contains(&index) {
                scratch.windows.clear();
                scratch.windows.push(0..bytes.len());
            } else {
                // Without a memo, windows a short gap apart are searched as one: fewer
                // searches for a dense keyword (`test_` in a test suite), the same matches
                // (every match holds a keyword, so it lies in some window anyway). With a
                // memo, small windows are what lets versions of a file share results.
                let gap = if memo.is_some() { 0 } else { WINDOW_GAP };
                windows(
                    scratch.hits.of(index),
                    compiled.reach.filter(|&r| r <= MAX_REACH),
                    bytes.len(),
                    gap,
                    &mut scratch.windows,
                );
            }
            let mut caps = compiled.regex.create_captures();
            for window in &scratch.windows {
                let key = memo.as_ref().map(|m| m.window_key(index, bytes, window));
                if let (Some(m), Some(k)) = (&memo, key) {
                    if m.window_is_empty(k) {
                        continue;
                    }
                }
                // A window is remembered as empty only if no rule matched there at all: a
                // rejected match still masks the context of its neighbours.
                let seen_before = seen.len();
                let mut input = regex_automata::Input::new(bytes).span(window.clone());
                loop {
                    compiled.regex.search_captures(&input, &mut caps);
                    let Some(whole) = caps.get_match() else { break };
                    let whole = whole.range();
                    // A secret group that did not take part means no secret here (an
                    // alternation that matched another way), not the whole match.
                    let secret_span = compiled.secret_span(&caps).unwrap_or(whole.end..whole.end);
                    if !secret_span.is_empty() {
                        seen.push(secret_span.clone());
                        let secret = &bytes[secret_span.clone()];
                        let verdict =
                            judge(rule, &bytes[whole.clone()], secret, opts.entropy_relief)
                                .and_then(|v| self.not_owned(rule, secret).map(|()| v));
                        match verdict {
                            Ok(v) => raw.push(Hit {
                                rule: index,
                                span: whole.clone(),
                                secret_span,
                                entropy: v.entropy,
                                name: compiled.name_span(&caps),
                                weak: v.weak,
                            }),
                            Err(reason) if opts.keep_dropped => out.dropped.push(Dropped {
                                rule: index,
                                secret_span,
                                reason,
                            }),
                            Err(_) => {}
                        }
                    }
                    let next = if whole.is_empty() {
                        whole.end + 1
                    } else {
                        whole.end
                    };
                    if next > window.end {
                        break;
                    }
                    input.set_start(next);
                }
                if let (Some(m), Some(k)) = (&memo, key) {
                    if seen.len() == seen_before {
                        m.remember_empty_window(k);
                    }
                }
            }
        }
        let kept = self.resolve_overlaps(raw, opts, &mut out.dropped);
        if opts.no_decode {
            let masker = Masker::new(bytes, seen, kept.is_empty(), Vec::new());
            out.candidates = locate(bytes, kept, &masker);
            return out;
        }
        let mut budget = decode::Limits::default().budget;
        let mut found = self.decoded(bytes, path, opts, 1, &mut budget, memo.as_deref());
        out.decode_budget_spent = budget == 0;
        // One mask for every context: the spans matched in clear, the encoded spans that
        // decoded to a secret, and every repeat of either's text or of a decoded secret's
        // text (a secret known only from a decoded view may also stand in clear elsewhere).
        let revealed: Vec<Vec<u8>> = found.iter().map(|c| c.secret.clone()).collect();
        seen.extend(found.iter().map(|c| c.secret_span.clone()));
        let nothing = kept.is_empty() && found.is_empty();
        let masker = Masker::new(bytes, seen, nothing, revealed.clone());
        out.candidates = locate(bytes, kept, &masker);
        for c in &mut found {
            (c.before, c.after) = context(bytes, c.secret_span.clone(), &masker);
        }
        merge_decoded(&mut out.candidates, found, self);
        // A name comes from the view it was found in: mask decoded secrets there by text.
        for c in &mut out.candidates {
            for t in revealed.iter().filter(|t| t.len() >= MIN_REPEAT_MASK) {
                let t = String::from_utf8_lossy(t);
                if let Some(n) = c.name.as_mut().filter(|n| n.contains(t.as_ref())) {
                    *n = n.replace(t.as_ref(), &redact(&t));
                }
            }
        }
        out
    }

    /// Candidates that only a decoded view shows: each encoded span of `bytes` is replaced by
    /// its decoding in its line, and the line is scanned again (nested decodings up to the
    /// depth limit). Candidates point at the encoded span.
    fn decoded(
        &self,
        bytes: &[u8],
        path: Option<&str>,
        opts: DetectOptions,
        depth: usize,
        budget: &mut usize,
        memo: Option<&memo::Memo>,
    ) -> Vec<Candidate> {
        let limits = decode::Limits::default();
        if depth > limits.depth || *budget == 0 {
            return Vec::new();
        }
        let mut out = Vec::new();
        let mut scratch = Scratch::default();
        let spans = match memo {
            Some(m) => decode::find_memo(bytes, &limits, budget, m),
            None => decode::find(bytes, &limits, budget),
        };
        for d in spans {
            // The line around the span, at most VIEW_CONTEXT bytes on each side: a minified
            // file's single line must not be scanned again for every token in it.
            let from = d.span.start.saturating_sub(VIEW_CONTEXT);
            let to = (d.span.end + VIEW_CONTEXT).min(bytes.len());
            let line_start =
                memchr::memrchr(b'\n', &bytes[from..d.span.start]).map_or(from, |p| from + p + 1);
            let line_end =
                memchr::memchr(b'\n', &bytes[d.span.end..to]).map_or(to, |p| d.span.end + p);
            let context = (d.span.start - line_start) + (line_end - d.span.end);
            if context > *budget {
                *budget = 0;
                break;
            }
            *budget -= context;
            let mut view = Vec::with_capacity(line_end - line_start + d.text.len());
            view.extend_from_slice(&bytes[line_start..d.span.start]);
            let region = view.len()..view.len() + d.text.len();
            view.extend_from_slice(&d.text);
            view.extend_from_slice(&bytes[d.span.end..line_end]);
            let inner_opts = DetectOptions {
                keep_dropped: false,
                no_decode: true,
                ..opts
            };
            // Most views hold no keyword: the prefilter alone settles them.
            let worth = self.triggers(&view, &mut scratch)
                || path.is_some_and(|p| self.has_path_rules_for(p));
            let mut inner = if worth {
                self.detect_at(&view, path, inner_opts, &mut scratch)
                    .candidates
            } else {
                Vec::new()
            };
            inner.extend(self.decoded(&view, path, opts, depth + 1, budget, None));
            for c in inner {
                if c.secret_span.start >= region.end || c.secret_span.end <= region.start {
                    continue;
                }
                // A secret may run past the decoded region into the clear text around it:
                // that part is part of the secret's span in the original too (located and
                // masked with it).
                let before = region.start.saturating_sub(c.secret_span.start);
                let after = c.secret_span.end.saturating_sub(region.end);
                let span = d.span.start - before..d.span.end + after;
                out.push(place_decoded(bytes, span, d.encoding, c));
            }
        }
        out
    }

    /// A catch-all rule does not report a value that carries a provider's distinctive prefix:
    /// that provider's rule owns the format, and it did not accept this value.
    fn not_owned(&self, rule: &Rule, secret: &[u8]) -> Result<(), String> {
        if !rule.spec.catch_all {
            return Ok(());
        }
        let lower = secret.to_ascii_lowercase();
        match self
            .owned_prefixes
            .iter()
            .find(|(p, _)| lower.starts_with(p.as_bytes()))
        {
            Some((p, owner)) => Err(format!(
                "carries the `{p}` prefix of {} but fails that rule's format",
                self.rule(*owner).id()
            )),
            None => Ok(()),
        }
    }

    /// Where secrets of two rules overlap, keeps a provider rule over a `catch_all` one, then
    /// the more precise rule, then the longer secret, then the earlier rule: a token is
    /// reported once, by the most specific rule that saw it.
    fn resolve_overlaps(
        &self,
        mut raw: Vec<Hit>,
        opts: DetectOptions,
        dropped: &mut Vec<Dropped>,
    ) -> Vec<Hit> {
        let rank = |r: &Hit| {
            let rule = self.rule(r.rule);
            (
                rule.spec.catch_all,
                // A weak value (reported only for its credential context) yields to a strong one.
                r.weak.is_some(),
                std::cmp::Reverse(rule.spec.precision),
                std::cmp::Reverse(r.secret_span.len()),
                r.rule,
                r.secret_span.start,
            )
        };
        raw.sort_by_key(|r| rank(r));
        let mut kept: Vec<Hit> = Vec::new();
        // Kept secret spans are disjoint, so the one starting last before a span's end is
        // the only one that can overlap it: start -> (end, rule).
        let mut taken: std::collections::BTreeMap<usize, (usize, usize)> = Default::default();
        for r in raw {
            let s = r.secret_span.clone();
            let clash = taken
                .range(..s.end)
                .next_back()
                .filter(|(_, (end, _))| *end > s.start)
                .map(|(_, (_, rule))| *rule);
            match clash {
                None => {
                    taken.insert(s.start, (s.end, r.rule));
                    kept.push(r);
                }
                Some(winner) if opts.keep_dropped => dropped.push(Dropped {
                    rule: r.rule,
                    secret_span: s,
                    reason: format!("overlaps a finding of {}", self.rule(winner).id()),
                }),
                Some(_) => {}
            }
        }
        kept.sort_by_key(|r| (r.secret_span.start, r.rule));
        kept
    }
}

/// The path patterns of credential-file rules as one set, with byte semantics as in
/// `Rule::applies_to` (`[^/]` is one byte, not any Unicode scalar): the same matches on the
/// paths these rules name, and a compile six times cheaper, which a one-file scan pays in full.
pub fn path_set<'a>(
    patterns: impl IntoIterator<Item = Option<&'a str>>,
) -> Result<regex::bytes::RegexSet, regex::Error> {
    regex::bytes::RegexSetBuilder::new(patterns.into_iter().map(|p| p.unwrap_or("")))
        .unicode(false)
        .build()
}

/// Keywords of precise provider rules that read as token prefixes: at least 4 bytes, ending
/// in `_`, `-` or `.`, made of letters, digits and those separators.
fn owned_prefixes(rules: &RuleSet) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for (i, rule) in rules.rules().iter().enumerate() {
        if rule.spec.catch_all || rule.spec.precision < Precision::High {
            continue;
        }
        for k in &rule.spec.keywords {
            let prefix_like = k.len() >= 4
                && k.ends_with(['_', '-', '.'])
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
            if prefix_like {
                out.push((k.clone(), i));
            }
        }
    }
    out
}

/// The spans to search for one rule: each keyword occurrence widened by the regex's reach
/// on both sides, merged; the whole blob when the reach is unbounded.
/// Windows closer than this are searched as one when no memo keys them.
const WINDOW_GAP: usize = 256;

fn windows(
    hits: &[Range<usize>],
    reach: Option<usize>,
    len: usize,
    gap: usize,
    out: &mut Vec<Range<usize>>,
) {
    out.clear();
    let Some(reach) = reach else {
        out.push(0..len);
        return;
    };
    let mut spans: Vec<Range<usize>> = hits
        .iter()
        .map(|h| h.start.saturating_sub(reach)..(h.end + reach).min(len))
        .collect();
    spans.sort_unstable_by_key(|r| r.start);
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start <= last.end + gap => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
}

/// Applies a rule's filters to one match; the entropy on success, the reason on rejection.
/// For a rule with `report_weak`, a value that fails only the quality filters (entropy
/// floor, dictionary words, defaults) is kept and marked weak; references and fillers are
/// still dropped, since they hold no credential.
fn judge(rule: &Rule, whole: &[u8], secret: &[u8], relief: f64) -> Result<Verdict, String> {
    let spec = &rule.spec;
    let lower = whole.to_ascii_lowercase();
    if spec.keyword_in_match
        && !spec.keywords.is_empty()
        && !spec.keywords.iter().any(|k| match spec.keywords_exact {
            true => memchr::memmem::find(whole, k.as_bytes()).is_some(),
            false => memchr::memmem::find(&lower, k.as_bytes()).is_some(),
        })
    {
        return Err("match contains none of the rule's keywords".into());
    }
    let reject = rule
        .reject()
        .map_err(|e| format!("reject pattern does not compile: {e}"))?;
    if reject.in_match.iter().any(|r| r.is_match(whole)) {
        return Err("match vetoed by the rule's reject.match".into());
    }
    if reject.secret.iter().any(|r| r.is_match(secret)) {
        return Err("secret vetoed by the rule's reject.secret".into());
    }
    if let Some(kind) = spec.checksum {
        if !filter::checksum_ok(kind, secret) {
            return Err("checksum does not match".into());
        }
    }
    let entropy = entropy::shannon(secret);
    let mut weak = None;
    if let Some(floor) = spec.min_entropy.map(|f| f - relief) {
        if entropy < floor {
            let why = format!("entropy {entropy:.2} below the rule's floor {floor}");
            if !spec.report_weak {
                return Err(why);
            }
            weak = Some(format!("low entropy ({entropy:.2})"));
        }
    }
    if !spec.allow_placeholders {
        let strict = spec.precision < Precision::High || spec.report_weak;
        if let Some(why) = filter::placeholder_reason(secret, strict) {
            if spec.report_weak && filter::weak_not_fake(why) {
                weak = Some(why.to_string());
            } else {
                let opt_out = if spec.catch_all || spec.report_weak {
                    ""
                } else {
                    "; the rule can keep such values with allow_placeholders = true"
                };
                return Err(format!("looks like a placeholder ({why}{opt_out})"));
            }
        }
    }
    Ok(Verdict { entropy, weak })
}

/// Turns byte spans into candidates with line/column and context, in one pass over the text.
fn locate(bytes: &[u8], kept: Vec<Hit>, masker: &Masker) -> Vec<Candidate> {
    let mut out = Vec::with_capacity(kept.len());
    let mut line = 1usize;
    let mut line_start = 0usize;
    let mut pos = 0usize;
    for hit in kept {
        let Hit {
            rule,
            span,
            secret_span,
            entropy,
            name,
            weak,
        } = hit;
        let advance = |to: usize, line: &mut usize, line_start: &mut usize, pos: &mut usize| {
            for nl in memchr::memchr_iter(b'\n', &bytes[*pos..to]) {
                *line += 1;
                *line_start = *pos + nl + 1;
            }
            *pos = to;
        };
        advance(secret_span.start, &mut line, &mut line_start, &mut pos);
        let start_line = line;
        let start_col = chars(&bytes[line_start..secret_span.start]) + 1;
        let first_line_start = line_start;
        let (mut end_line, mut end_line_start) = (line, line_start);
        for nl in memchr::memchr_iter(b'\n', &bytes[secret_span.start..secret_span.end]) {
            end_line += 1;
            end_line_start = secret_span.start + nl + 1;
        }
        let end_col = chars(&bytes[end_line_start..secret_span.end]) + 1;
        let (before, after) = context(bytes, secret_span.clone(), masker);
        let first_line_end = memchr::memchr(b'\n', &bytes[first_line_start..])
            .map_or(bytes.len(), |p| first_line_start + p);
        let capped = |r: std::ops::Range<usize>| {
            let end = r.end.min(r.start + LINE_MAX);
            String::from_utf8_lossy(&bytes[r.start..end])
                .trim_end_matches('\r')
                .to_string()
        };
        let line_text = capped(first_line_start..first_line_end);
        let prev_line = if first_line_start == 0 {
            String::new()
        } else {
            let prev_end = first_line_start - 1;
            let prev_start = memchr::memrchr(b'\n', &bytes[..prev_end]).map_or(0, |p| p + 1);
            capped(prev_start..prev_end)
        };
        let matched = capped(span.clone());
        out.push(Candidate {
            rule,
            secret: bytes[secret_span.clone()].to_vec(),
            span,
            secret_span,
            entropy,
            location: TextLocation {
                line: start_line,
                column: start_col,
                end_line,
                end_column: end_col,
            },
            before,
            after,
            line: line_text,
            prev_line,
            matched,
            // The name is printed too: any secret inside it is redacted like in the context.
            name: name.map(|r| String::from_utf8_lossy(&masker.mask(bytes, r)).into_owned()),
            weak,
            decoded: Vec::new(),
        });
    }
    out
}

/// The masked text before and after `secret_span` on its line(s), at most CONTEXT characters
/// each.
fn context(bytes: &[u8], secret_span: Range<usize>, masker: &Masker) -> (String, String) {
    let line_start = memchr::memrchr(b'\n', &bytes[..secret_span.start]).map_or(0, |p| p + 1);
    let line_end = memchr::memchr(b'\n', &bytes[secret_span.end..])
        .map_or(bytes.len(), |p| secret_span.end + p);
    let before = tail(&masker.mask(bytes, line_start..secret_span.start), CONTEXT);
    let after = head(&masker.mask(bytes, secret_span.end..line_end), CONTEXT);
    (before, after)
}

/// Sorted, disjoint spans covering the same bytes.
fn merge_spans(mut spans: Vec<Range<usize>>) -> Vec<Range<usize>> {
    spans.sort_unstable_by_key(|r| r.start);
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for s in spans {
        match out.last_mut() {
            Some(last) if s.start < last.end => last.end = last.end.max(s.end),
            _ => out.push(s),
        }
    }
    out
}

/// What context must not show: every span a rule matched as a secret, and every other
/// occurrence of those secrets' text (a token repeated later on the line, where no rule's
/// context matched it).
struct Masker {
    /// Sorted, disjoint.
    spans: Vec<Range<usize>>,
    secrets: Option<aho_corasick::AhoCorasick>,
}

/// Secrets shorter than this are masked where matched, not searched for elsewhere.
const MIN_REPEAT_MASK: usize = 6;

impl Masker {
    /// Masks `spans` of `bytes` and, unless nothing is reported, every repeat of their text
    /// or of the `also` texts (secrets known from decoded views).
    fn new(
        bytes: &[u8],
        spans: Vec<Range<usize>>,
        nothing_kept: bool,
        also: Vec<Vec<u8>>,
    ) -> Masker {
        if nothing_kept {
            return Masker {
                spans: merge_spans(spans),
                secrets: None,
            };
        }
        // Each secret's own text, before overlapping spans merge: a repeat of one secret is
        // not a repeat of the union of two.
        let mut texts: Vec<&[u8]> = spans
            .iter()
            .map(|r| &bytes[r.clone()])
            .chain(also.iter().map(|t| t.as_slice()))
            .filter(|t| t.len() >= MIN_REPEAT_MASK)
            .collect();
        let spans = merge_spans(spans);
        texts.sort_unstable();
        texts.dedup();
        let secrets = aho_corasick::AhoCorasick::builder()
            .match_kind(aho_corasick::MatchKind::LeftmostLongest)
            .build(&texts)
            .ok();
        Masker { spans, secrets }
    }

    /// The bytes of `range` with every masked span that touches it replaced by its
    /// redaction; a span cut by the edge of `range` shows as `…` alone.
    fn mask(&self, bytes: &[u8], range: Range<usize>) -> Vec<u8> {
        let first = self.spans.partition_point(|m| m.end <= range.start);
        let mut spans: Vec<Range<usize>> = self.spans[first..]
            .iter()
            .take_while(|m| m.start < range.end)
            .cloned()
            .collect();
        if let Some(ac) = &self.secrets {
            spans.extend(
                ac.find_iter(&bytes[range.clone()])
                    .map(|m| range.start + m.start()..range.start + m.end()),
            );
            spans = merge_spans(spans);
        }
        let mut out = Vec::with_capacity(range.len());
        let mut pos = range.start;
        for m in &spans {
            let (start, end) = (m.start.max(range.start), m.end.min(range.end));
            out.extend_from_slice(&bytes[pos..start]);
            if (start, end) == (m.start, m.end) {
                let whole = String::from_utf8_lossy(&bytes[start..end]);
                out.extend_from_slice(redact(&whole).as_bytes());
            } else {
                out.extend_from_slice("…".as_bytes());
            }
            pos = end;
        }
        out.extend_from_slice(&bytes[pos..range.end]);
        out
    }
}

/// How many leading characters redaction keeps: at most 4, and never more than a quarter.
pub fn redaction_prefix_len(len: usize) -> usize {
    (len / 4).min(4)
}

/// `ghp_…(40)`: a short prefix, then the length. Never reveals more than a quarter.
///
/// ```
/// assert_eq!(leakhound::detect::redact("ghp_0123456789abcdef"), "ghp_…(20)");
/// assert_eq!(leakhound::detect::redact("hunter2!"), "hu…(8)");
/// ```
pub fn redact(secret: &str) -> String {
    let n = secret.chars().count();
    let keep: String = secret.chars().take(redaction_prefix_len(n)).collect();
    format!("{keep}…({n})")
}

/// A candidate found in a decoded view, placed at the encoded span of the original text:
/// its location, context (with the encoded span redacted) and the decodings that led to it.
fn place_decoded(
    bytes: &[u8],
    span: Range<usize>,
    encoding: decode::Encoding,
    inner: Candidate,
) -> Candidate {
    let hit = Hit {
        rule: inner.rule,
        span: span.clone(),
        secret_span: span.clone(),
        entropy: inner.entropy,
        name: None,
        weak: inner.weak.clone(),
    };
    let masker = Masker::new(bytes, vec![span], true, Vec::new());
    let mut placed = locate(bytes, vec![hit], &masker)
        .pop()
        .expect("locate returns one candidate per hit");
    placed.secret = inner.secret;
    placed.name = inner.name;
    placed.decoded = std::iter::once(encoding).chain(inner.decoded).collect();
    placed
}

/// Adds decoded candidates: one overlapping a candidate found in clear replaces it only when
/// the clear one is a catch-all and the decoded one names a provider (a generic rule that
/// saw the base64 of a GitHub token) or is the same rule (the password, not its base64);
/// otherwise the clear one stays.
fn merge_decoded(candidates: &mut Vec<Candidate>, decoded: Vec<Candidate>, d: &Detector) {
    for c in decoded {
        let overlapping: Vec<usize> = candidates
            .iter()
            .enumerate()
            .filter(|(_, k)| {
                k.secret_span.start < c.secret_span.end && c.secret_span.start < k.secret_span.end
            })
            .map(|(i, _)| i)
            .collect();
        let replaces = overlapping.iter().all(|&i| {
            let k = d.rule(candidates[i].rule);
            k.spec.catch_all && (!d.rule(c.rule).spec.catch_all || candidates[i].rule == c.rule)
        });
        if overlapping.is_empty() || replaces {
            for &i in overlapping.iter().rev() {
                candidates.remove(i);
            }
            candidates.push(c);
        }
    }
    candidates.sort_by_key(|c| (c.secret_span.start, c.rule));
    candidates.dedup_by(|a, b| a.secret_span == b.secret_span && a.rule == b.rule);
}

/// Counts characters the way an editor does: UTF-8 continuation bytes do not count.
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

fn head(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let s = s.trim_end_matches('\r');
    s.chars().take(max).collect()
}

fn tail(bytes: &[u8], max: usize) -> String {
    let s = String::from_utf8_lossy(bytes);
    let n = s.chars().count();
    s.chars().skip(n.saturating_sub(max)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{parse_rules, Format};

    fn detector(toml: &str) -> Detector {
        let mut set = RuleSet::default();
        for r in parse_rules(toml, "test", Format::Toml).expect("valid rules") {
            set.push(r).expect("unique");
        }
        Detector::new(set)
    }

    const RULES: &str = r#"
[[rule]]
id = "acme.token"
name = "Acme token"
keywords = ["acme_"]
regex = '''\b(?P<secret>acme_[A-Za-z0-9]{16})\b'''
min_entropy = 3.0
severity = "high"
blast_radius = "x"
examples.positive = ["acme_Qm7vT2pLx9RkZ4nB"]
examples.negative = ["acme_"]

[[rule]]
id = "generic.zzval"
name = "Generic test value"
keywords = ["zzval"]
assign = { key = 'zzval', value = '''[A-Za-z0-9_]{16,64}''' }
severity = "medium"
precision = "low"
catch_all = true
blast_radius = "x"
examples.positive = ["zzval = Qm7vT2pLx9RkZ4nB"]
examples.negative = ["zzval = x"]
"#;

    /// A blob with no keyword in clear is still decoded: the base64 of `acme_...` holds no
    /// `acme_` (standard base64 has no `_`), and the token is found through its decoding.
    #[test]
    fn a_blob_without_keywords_is_still_decoded() {
        let d = detector(RULES);
        // base64 of a "token: acme_..." line (synthetic). leakhound:allow-next-line
        let text = b"opaque: dG9rZW46IGFjbWVfUW03dlQycEx4OVJrWjRuQg==\n";
        let mut scratch = Scratch::default();
        assert!(!d.triggers(text, &mut scratch));
        let got = d.detect(text, DetectOptions::default(), &mut scratch);
        assert_eq!(got.candidates.len(), 1, "{:?}", got.candidates);
        assert_eq!(got.candidates[0].secret, b"acme_Qm7vT2pLx9RkZ4nB");
        assert_eq!(got.candidates[0].decoded, [decode::Encoding::Base64]);
    }

    #[test]
    fn reports_line_column_and_context() {
        let d = detector(RULES);
        let text = "first\nkey: é acme_Qm7vT2pLx9RkZ4nB done\n";
        let out = d.detect(
            text.as_bytes(),
            DetectOptions::default(),
            &mut Scratch::default(),
        );
        assert_eq!(out.candidates.len(), 1);
        let c = &out.candidates[0];
        assert_eq!(c.secret, b"acme_Qm7vT2pLx9RkZ4nB");
        assert_eq!(
            c.location,
            TextLocation {
                line: 2,
                column: 8,
                end_line: 2,
                end_column: 29
            }
        );
        assert_eq!(c.before, "key: é ");
        assert_eq!(c.after, " done");
    }

    #[test]
    fn context_never_shows_another_secret() {
        let d = detector(RULES);
        // Two tokens, a repeat, and a value only the assignment rule matches, on one line.
        let text = "acme_Qm7vT2pLx9RkZ4nB and acme_Zx8cV7bN6mQ5wE4r zzval = Hq3Lp9Vt2Rk8Wm4Z then acme_Qm7vT2pLx9RkZ4nB, Hq3Lp9Vt2Rk8Wm4Z\n";
        let out = d.detect(
            text.as_bytes(),
            DetectOptions {
                keep_dropped: true,
                ..DetectOptions::default()
            },
            &mut Scratch::default(),
        );
        assert!(out.candidates.len() >= 3, "{:?}", out.candidates);
        for c in &out.candidates {
            let shown = format!("{}{}{}", c.before, c.after, c.name.as_deref().unwrap_or(""));
            for secret in ["Qm7vT2pLx9RkZ4nB", "Zx8cV7bN6mQ5wE4r", "Hq3Lp9Vt2Rk8Wm4Z"] {
                assert!(!shown.contains(&secret[2..]), "{secret} in {shown:?}");
            }
        }
    }

    #[test]
    fn precise_rule_wins_an_overlap() {
        let d = detector(RULES);
        let text = "ZZVAL = acme_Qm7vT2pLx9RkZ4nB\n";
        let out = d.detect(
            text.as_bytes(),
            DetectOptions {
                keep_dropped: true,
                ..DetectOptions::default()
            },
            &mut Scratch::default(),
        );
        let ids: Vec<&str> = out.candidates.iter().map(|c| d.rule(c.rule).id()).collect();
        assert_eq!(ids, ["acme.token"]);
        assert!(out.dropped.iter().any(|x| x.reason.contains("acme.token")));
    }

    #[test]
    fn filters_say_why() {
        let d = detector(RULES);
        let out = d.detect(
            b"acme_aaaaaaaaaaaaaaaa acme_EXAMPLEEXAMPLE12",
            DetectOptions {
                keep_dropped: true,
                ..DetectOptions::default()
            },
            &mut Scratch::default(),
        );
        assert!(out.candidates.is_empty());
        let reasons: Vec<&str> = out.dropped.iter().map(|x| x.reason.as_str()).collect();
        assert!(reasons[0].contains("entropy"), "{reasons:?}");
        assert!(reasons[1].contains("placeholder"), "{reasons:?}");
    }

    #[test]
    fn no_keyword_no_work() {
        let d = detector(RULES);
        let out = d.detect(
            b"nothing to see",
            DetectOptions::default(),
            &mut Scratch::default(),
        );
        assert!(out.candidates.is_empty() && out.dropped.is_empty());
    }
}
