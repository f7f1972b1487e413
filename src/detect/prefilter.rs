//! The keyword prefilter: one Aho-Corasick pass over a blob tells which rules can match in it.
//! Sound by construction: `detect` drops any match that contains none of its rule's keywords.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use std::sync::{Arc, OnceLock};

use super::memo::{self, Memo};
use crate::rules::RuleSet;

/// Case-insensitive keyword automaton with a map from keyword to rules.
///
/// Two automata over the same keywords: a noncontiguous NFA, built in about 3 ms and used
/// from the start, and a DFA (about 4x the build time, about twice the search speed) built on
/// a background thread once [`DFA_AFTER`] bytes have been searched, and used as soon as it
/// is ready. A small scan (the pre-commit hook, an agent hook) never builds it: started at
/// once, its build competed with the scan for the two cores and made a three-file staged scan
/// 12 ms slower (53 ms against 42, docs/benchmarks.md). A large scan switches to it early
/// (after 4 MiB instead of 1, git/git's working tree took 7% longer).
/// Both report the same matches with the same pattern ids, so which one a blob met changes
/// nothing in the result.
#[derive(Debug)]
pub struct Prefilter {
    nfa: AhoCorasick,
    dfa: Arc<OnceLock<AhoCorasick>>,
    /// The keywords, for the DFA build; bytes searched so far; whether the build started.
    keywords: Arc<Vec<String>>,
    searched: std::sync::atomic::AtomicU64,
    dfa_started: std::sync::Once,
    /// For each keyword pattern, the indices of the rules that list it, each with the
    /// exact-case form it wants (an index into `exact`) when the rule's keywords are exact.
    rules_of: Vec<Vec<(u32, Option<u32>)>>,
    exact: Vec<Box<[u8]>>,
    /// Length of each keyword pattern.
    lengths: Vec<u32>,
    /// No keyword contains a newline, so chunks that end at newlines can be searched apart.
    chunkable: bool,
    rule_count: usize,
}

/// Bytes searched with the NFA before the DFA is built.
pub const DFA_AFTER: u64 = 1 << 20;

fn builder(kind: AhoCorasickKind) -> AhoCorasickBuilder {
    let mut b = AhoCorasickBuilder::new();
    b.ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .kind(Some(kind));
    b
}

impl Prefilter {
    /// Builds the automaton over every rule's keywords (the DFA follows in the background).
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of: Vec<Vec<(u32, Option<u32>)>> = Vec::new();
        let mut exact: Vec<Box<[u8]>> = Vec::new();
        let mut slots: std::collections::HashMap<String, usize> = Default::default();
        for (i, rule) in rules.rules().iter().enumerate() {
            for k in &rule.spec.keywords {
                let lower = k.to_ascii_lowercase();
                let slot = *slots.entry(lower.clone()).or_insert_with(|| {
                    keywords.push(lower);
                    rules_of.push(Vec::new());
                    keywords.len() - 1
                });
                let case = rule.spec.keywords_exact.then(|| {
                    exact.push(k.as_bytes().into());
                    exact.len() as u32 - 1
                });
                if !rules_of[slot].contains(&(i as u32, case)) {
                    rules_of[slot].push((i as u32, case));
                }
            }
        }
        let nfa = builder(AhoCorasickKind::NoncontiguousNFA)
            .build(&keywords)
            .expect("keywords are plain literals, which always build");
        let dfa = Arc::new(OnceLock::new());
        let lengths = keywords.iter().map(|k| k.len() as u32).collect();
        let chunkable = !keywords.iter().any(|k| k.contains('\n'));
        Prefilter {
            nfa,
            dfa,
            keywords: Arc::new(keywords),
            searched: std::sync::atomic::AtomicU64::new(0),
            dfa_started: std::sync::Once::new(),
            rules_of,
            exact,
            lengths,
            chunkable,
            rule_count: rules.len(),
        }
    }

    /// The fastest automaton ready now, for searching `len` more bytes.
    fn automaton(&self, len: usize) -> &AhoCorasick {
        if let Some(dfa) = self.dfa.get() {
            return dfa;
        }
        let before = self
            .searched
            .fetch_add(len as u64, std::sync::atomic::Ordering::Relaxed);
        if before + len as u64 >= DFA_AFTER {
            self.dfa_started.call_once(|| {
                let (slot, keywords) = (Arc::clone(&self.dfa), Arc::clone(&self.keywords));
                // Without a thread (a platform that refuses one) the NFA serves alone:
                // slower, same matches. A DFA over the automaton's size limit is left out.
                let _ = std::thread::Builder::new()
                    .name("keyword-dfa".into())
                    .spawn(move || {
                        if let Ok(ac) = builder(AhoCorasickKind::DFA).build(&*keywords) {
                            let _ = slot.set(ac);
                        }
                    });
            });
        }
        &self.nfa
    }

    /// Whether a keyword occurrence has the case its rule wants (any, unless exact).
    fn case_fits(&self, case: Option<u32>, found: &[u8]) -> bool {
        case.is_none_or(|e| *self.exact[e as usize] == *found)
    }

    /// Records, per rule, where its keywords occur in `bytes`. Returns the indices of the
    /// rules with at least one occurrence, in rule order.
    pub fn scan(&self, bytes: &[u8], hits: &mut Hits) -> Vec<usize> {
        hits.reset(self.rule_count);
        for m in self.automaton(bytes.len()).find_overlapping_iter(bytes) {
            for &(r, case) in &self.rules_of[m.pattern().as_usize()] {
                if self.case_fits(case, &bytes[m.start()..m.end()]) {
                    hits.push(r as usize, m.start()..m.end());
                }
            }
        }
        let mut touched = hits.touched.clone();
        touched.sort_unstable();
        touched
    }

    /// [`Prefilter::scan`] with the keyword hits of chunks seen before taken from `memo`.
    pub fn scan_memo(&self, bytes: &[u8], hits: &mut Hits, memo: &Memo) -> Vec<usize> {
        if !self.chunkable || bytes.len() > u32::MAX as usize {
            return self.scan(bytes, hits);
        }
        hits.reset(self.rule_count);
        let mut found = std::mem::take(&mut hits.chunk);
        for chunk in memo::chunks(bytes) {
            let text = &bytes[chunk.clone()];
            let key = memo.chunk_key(text);
            if !memo.chunk_hits(key, &mut found) {
                found.clear();
                found.extend(
                    self.automaton(text.len())
                        .find_overlapping_iter(text)
                        .map(|m| (m.pattern().as_u32(), m.start() as u32)),
                );
                memo.remember_chunk(key, &found);
            }
            for &(pattern, at) in &found {
                let start = chunk.start + at as usize;
                let end = start + self.lengths[pattern as usize] as usize;
                for &(r, case) in &self.rules_of[pattern as usize] {
                    if self.case_fits(case, &bytes[start..end]) {
                        hits.push(r as usize, start..end);
                    }
                }
            }
        }
        hits.chunk = found;
        let mut touched = hits.touched.clone();
        touched.sort_unstable();
        touched
    }
}

/// Keyword occurrences per rule, reused across blobs.
#[derive(Debug, Default)]
pub struct Hits {
    spans: Vec<Vec<std::ops::Range<usize>>>,
    touched: Vec<usize>,
    chunk: Vec<(u32, u32)>,
}

impl Hits {
    fn reset(&mut self, rules: usize) {
        for &r in &self.touched {
            self.spans[r].clear();
        }
        self.touched.clear();
        if self.spans.len() < rules {
            self.spans.resize_with(rules, Vec::new);
        }
    }

    fn push(&mut self, rule: usize, span: std::ops::Range<usize>) {
        let v = &mut self.spans[rule];
        if v.is_empty() {
            self.touched.push(rule);
        }
        v.push(span);
    }

    /// The keyword occurrences of `rule`, in the order found.
    pub fn of(&self, rule: usize) -> &[std::ops::Range<usize>] {
        self.spans.get(rule).map_or(&[], |v| v.as_slice())
    }
}
