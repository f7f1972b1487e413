//! The keyword prefilter: one Aho-Corasick pass over a blob tells which rules can match in it.
//! Sound by construction: `detect` drops any match that contains none of its rule's keywords.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

use crate::rules::RuleSet;

/// Case-insensitive keyword automaton with a map from keyword to rules.
#[derive(Debug)]
pub struct Prefilter {
    automaton: AhoCorasick,
    /// For each keyword pattern, the indices of the rules that list it.
    rules_of: Vec<Vec<u32>>,
    rule_count: usize,
}

impl Prefilter {
    /// Builds the automaton over every rule's keywords.
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of: Vec<Vec<u32>> = Vec::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            for k in &rule.spec.keywords {
                let k = k.to_ascii_lowercase();
                let slot = match keywords.iter().position(|x| *x == k) {
                    Some(p) => p,
                    None => {
                        keywords.push(k);
                        rules_of.push(Vec::new());
                        keywords.len() - 1
                    }
                };
                if !rules_of[slot].contains(&(i as u32)) {
                    rules_of[slot].push(i as u32);
                }
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&keywords)
            .or_else(|_| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .build(&keywords)
            })
            .expect("keywords are plain literals, which always build");
        Prefilter {
            automaton,
            rules_of,
            rule_count: rules.len(),
        }
    }

    /// Marks in `hit` (one flag per rule) every rule whose keyword occurs in `bytes`;
    /// returns how many rules were marked.
    pub fn scan(&self, bytes: &[u8], hit: &mut Vec<bool>) -> usize {
        hit.clear();
        hit.resize(self.rule_count, false);
        let mut seen_pattern = vec![false; self.rules_of.len()];
        let mut marked = 0;
        let mut patterns_left = self.rules_of.len();
        for m in self.automaton.find_overlapping_iter(bytes) {
            let p = m.pattern().as_usize();
            if seen_pattern[p] {
                continue;
            }
            seen_pattern[p] = true;
            for &r in &self.rules_of[p] {
                let r = r as usize;
                if !hit[r] {
                    hit[r] = true;
                    marked += 1;
                }
            }
            patterns_left -= 1;
            if patterns_left == 0 {
                break;
            }
        }
        marked
    }
}
