//! Every built-in rule proves itself: its examples run through the full detector, and the
//! keyword prefilter can never hide a match of its regex.

use leakhound::lint::lint;
use leakhound::rules::RuleSet;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, TestRunner};
use regex_syntax::hir::{Hir, HirKind};

#[test]
fn every_builtin_rule_passes_its_examples() {
    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    // The examples are loaded (a scan's rule set leaves them out): every rule has both kinds.
    let examples: usize = (set.rules().iter())
        .map(|r| r.spec.examples.positive.len() + r.spec.examples.negative.len())
        .sum();
    assert!(examples >= 2 * set.len(), "only {examples} examples");
    // And the scan's rule set is the same rules without them.
    let lean = RuleSet::builtin().expect("built-in rules load");
    assert_eq!(lean.len(), set.len());
    assert!(lean.rules().iter().all(|r| r.spec.examples.is_empty()));
    let problems = lint(&set);
    let listing: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    assert!(problems.is_empty(), "{}", listing.join("\n"));
}

#[test]
fn there_are_at_least_300_builtin_rules() {
    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    assert!(set.len() >= 300, "only {} rules", set.len());
}

#[test]
fn rule_ids_match_their_file_names() {
    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    for rule in set.rules() {
        let file = rule
            .origin
            .trim_start_matches("builtin:")
            .trim_end_matches(".toml");
        let provider = rule.id().split('.').next().unwrap_or_default();
        assert_eq!(provider, file, "{} lives in {}", rule.id(), rule.origin);
    }
}

/// Replaces look-around assertions with the empty string: the result matches a superset
/// of what the rule matches, so "every string it generates contains a keyword" is a
/// stronger claim than the prefilter needs.
fn without_looks(h: &Hir) -> Hir {
    match h.kind() {
        HirKind::Look(_) => Hir::empty(),
        HirKind::Repetition(r) => {
            let mut r = r.clone();
            r.sub = Box::new(without_looks(&r.sub));
            Hir::repetition(r)
        }
        HirKind::Capture(c) => {
            let mut c = c.clone();
            c.sub = Box::new(without_looks(&c.sub));
            Hir::capture(c)
        }
        HirKind::Concat(v) => Hir::concat(v.iter().map(without_looks).collect()),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(without_looks).collect()),
        _ => h.clone(),
    }
}

#[test]
fn prefilter_is_sound_strings_matching_a_rule_contain_its_keyword() {
    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    let mut runner = TestRunner::new(Config {
        cases: 64,
        ..Config::default()
    });
    // More samples when hunting: LEAKHOUND_PREFILTER_SAMPLES=2000 cargo test --test rules
    let samples: usize = std::env::var("LEAKHOUND_PREFILTER_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(64);
    let mut failures = Vec::new();
    // File rules (no keywords) never go through the prefilter: their path decides.
    for rule in set.rules().iter().filter(|r| !r.spec.keywords.is_empty()) {
        let hir = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(&rule.pattern)
            .expect("built-in regexes parse");
        let strategy = proptest::string::bytes_regex_parsed(&without_looks(&hir))
            .expect("look-free regexes generate");
        for _ in 0..samples {
            let sample = strategy
                .new_tree(&mut runner)
                .expect("strategy yields a value")
                .current();
            // Exact-case keywords must occur with their case.
            let text = match rule.spec.keywords_exact {
                true => sample.clone(),
                false => sample.to_ascii_lowercase(),
            };
            let hit = rule
                .spec
                .keywords
                .iter()
                .any(|k| text.windows(k.len()).any(|w| w == k.as_bytes()));
            if !hit {
                failures.push(format!(
                    "{}: {:?} matches the regex but contains none of {:?}",
                    rule.id(),
                    String::from_utf8_lossy(&sample),
                    rule.spec.keywords
                ));
                break;
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The history memo (see `detect::memo`) only saves work: scanning versions of a file that
/// share most of their text gives, version by version, exactly what a fresh detector gives.
#[test]
fn memoised_detection_equals_fresh_detection() {
    use leakhound::detect::memo::Memo;
    use leakhound::detect::{DetectOptions, Detector, Scratch};
    use std::sync::Arc;

    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    let mut texts: Vec<String> = Vec::new();
    for rule in set.rules() {
        texts.extend(
            rule.spec
                .examples
                .positive
                .iter()
                .map(|e| e.text().to_string()),
        );
        texts.extend(rule.spec.examples.negative.iter().cloned());
    }
    let detector = Detector::new(set);
    // Version 1 holds every example between filler lines; each later version drops or
    // moves some of them, as edits do.
    let version = |n: usize| -> String {
        let mut out = String::new();
        for (i, t) in texts.iter().enumerate() {
            if n > 0 && i % (n + 2) == 0 {
                continue;
            }
            out.push_str(&format!(
                "// filler {} of version {}\n{t}\n",
                i % 7,
                n.min(1)
            ));
        }
        out
    };
    let memo = Arc::new(Memo::with_capacity(50_000));
    let mut cached = Scratch::with_memo(Arc::clone(&memo));
    let opts = DetectOptions::default();
    for n in [0, 1, 2, 0, 3, 1] {
        let text = version(n);
        let fresh = detector.detect(text.as_bytes(), opts, &mut Scratch::default());
        let memoised = detector.detect(text.as_bytes(), opts, &mut cached);
        assert!(!fresh.candidates.is_empty());
        assert_eq!(fresh.candidates, memoised.candidates, "version {n}");
    }
}
