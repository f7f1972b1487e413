//! Rule checks: every problem in a rule set at once, each example run through the full
//! detector. Sits above `detect` because it uses it; used by `rules check` and the tests.

use crate::detect::{DetectOptions, Detector, Scratch};
use crate::rules::RuleSet;

/// One problem with one rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    /// Where the rule came from.
    pub origin: String,
    /// Rule id.
    pub rule_id: String,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}: {}", self.origin, self.rule_id, self.message)
    }
}

/// Checks every rule of `rules`: the regex compiles with a `secret` group, each positive
/// example yields a finding of that rule (with the expected secret if given), and each
/// negative example yields none.
pub fn lint(rules: &RuleSet) -> Vec<Problem> {
    let detector = Detector::new(rules.clone());
    let mut problems = Vec::new();
    let mut scratch = Scratch::default();
    let opts = DetectOptions {
        keep_dropped: true,
        ..DetectOptions::default()
    };
    for (index, rule) in rules.rules().iter().enumerate() {
        let mut problem = |message: String| {
            problems.push(Problem {
                origin: rule.origin.clone(),
                rule_id: rule.id().to_string(),
                message,
            })
        };
        let regex = match rule.regex() {
            Ok(r) => r,
            Err(e) => {
                problem(format!("regex does not compile: {e}"));
                continue;
            }
        };
        if regex.secret_group == crate::rules::SecretAt::Whole {
            problem("regex has no `secret` group".into());
        }
        match regex.reach {
            Some(n) if n <= crate::detect::MAX_REACH => {}
            Some(n) => problem(format!(
                "the longest match is {n} bytes, over the {} byte limit: tighten the bounds",
                crate::detect::MAX_REACH
            )),
            None => problem(
                "the match length is unbounded, so the rule would scan whole files: bound every repetition (`{0,16}` instead of `*`, `{1,64}` instead of `+`)"
                    .into(),
            ),
        }
        for p in &rule.spec.partners {
            if rules.get(p).is_none() {
                problem(format!("partner {p:?} is not a rule id"));
            }
        }
        let at = rule.spec.examples.path.as_deref();
        if rule.spec.path.is_some() && at.is_none() && !rule.spec.examples.is_empty() {
            problem("a rule with a `path` needs examples.path (a path that `path` matches)".into());
        }
        for ex in &rule.spec.examples.positive {
            let text = ex.text();
            let out = detector.detect_at(text.as_bytes(), at, opts, &mut scratch);
            let mine: Vec<&[u8]> = out
                .candidates
                .iter()
                .filter(|c| c.rule == index)
                .map(|c| c.secret.as_slice())
                .collect();
            if mine.is_empty() {
                let why: Vec<&str> = out
                    .dropped
                    .iter()
                    .filter(|d| d.rule == index)
                    .map(|d| d.reason.as_str())
                    .collect();
                let why = if why.is_empty() {
                    "the regex does not match (or no keyword occurs)".to_string()
                } else {
                    why.join("; ")
                };
                problem(format!(
                    "positive example gives no finding ({why}): {}",
                    shorten(text)
                ));
            } else if let Some(want) = ex.secret() {
                if !mine.contains(&want.as_bytes()) {
                    let got: Vec<String> = mine
                        .iter()
                        .map(|s| String::from_utf8_lossy(s).into_owned())
                        .collect();
                    problem(format!(
                        "positive example captures {got:?}, expected {want:?}"
                    ));
                }
            }
            if !rule.spec.keywords.is_empty()
                && !rule
                    .spec
                    .keywords
                    .iter()
                    .any(|k| match rule.spec.keywords_exact {
                        true => text.contains(k.as_str()),
                        false => text.to_ascii_lowercase().contains(k.as_str()),
                    })
            {
                problem(format!(
                    "positive example contains none of the keywords {:?}",
                    rule.spec.keywords
                ));
            }
        }
        for text in &rule.spec.examples.negative {
            let out = detector.detect_at(text.as_bytes(), at, opts, &mut scratch);
            if let Some(c) = out.candidates.iter().find(|c| c.rule == index) {
                problem(format!(
                    "negative example gives a finding {:?}: {}",
                    String::from_utf8_lossy(&c.secret),
                    shorten(text)
                ));
            }
        }
    }
    problems.sort();
    problems
}

fn shorten(s: &str) -> String {
    let one_line = s.replace('\n', "\\n");
    if one_line.chars().count() > 100 {
        format!("{}…", one_line.chars().take(100).collect::<String>())
    } else {
        one_line
    }
}
