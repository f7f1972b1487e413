//! AI-authorship signals: a table (data, `rules/ai/signals.toml`) of commit metadata that
//! marks a commit as written or touched by an AI coding agent, and the classifier that
//! applies it to one commit's facts. Trailers come from the final trailer block only.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::source::CommitInfo;

/// The built-in table.
pub const BUILTIN: &str = include_str!("../../rules/ai/signals.toml");

/// How sure a signal is that an agent wrote the commit.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// A heuristic (branch names): context only, never a tag on its own.
    Low,
    /// A real signal that humans or other tools also produce, or an AI-written hunk only.
    #[default]
    Medium,
    /// Emitted by the tool itself with a vendor-controlled identity.
    High,
}

impl Confidence {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Where in a commit a signal looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    /// A trailer of the final trailer block, by key.
    Trailer,
    /// The author identity.
    Author,
    /// The committer identity.
    Committer,
    /// Author or committer.
    Identity,
    /// Any line of the message after the subject.
    Body,
    /// The first line.
    Subject,
    /// The first line of a commit with two or more parents.
    MergeSubject,
}

/// A commit described in the table, for examples and known false positives.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommitExample {
    /// Full message.
    pub message: String,
    /// `Name <address>`; a human when absent.
    #[serde(default)]
    pub author: Option<String>,
    /// `Name <address>`; the author when absent.
    #[serde(default)]
    pub committer: Option<String>,
    /// A merge commit (two parents).
    #[serde(default)]
    pub merge: bool,
    /// Why it is listed (false positives).
    #[serde(default)]
    pub why: Option<String>,
}

/// One row of the table.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalSpec {
    /// `tool.kind`, unique.
    pub id: String,
    /// The agent.
    pub tool: String,
    /// How sure.
    pub confidence: Confidence,
    /// Where to look.
    pub field: Field,
    /// Trailer key (trailers only), case-insensitive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Regex on the address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Regex on the display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Regex on the trailer value, body line or subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Commits this signal must tag.
    #[serde(default, skip_serializing)]
    pub examples: Vec<CommitExample>,
}

/// An identity that is never a signal.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreSpec {
    /// Why.
    pub why: String,
    /// Regex on the address.
    #[serde(default)]
    pub email: Option<String>,
    /// Regex on the display name.
    #[serde(default)]
    pub name: Option<String>,
}

/// The file format of the table (built-in, or `[ai]` in a config file).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignalTable {
    /// Signals.
    #[serde(default, rename = "signal")]
    pub signals: Vec<SignalSpec>,
    /// Identities that are never signals.
    #[serde(default, rename = "ignore")]
    pub ignore: Vec<IgnoreSpec>,
    /// Commits that must never be tagged.
    #[serde(default, rename = "false_positive")]
    pub false_positives: Vec<CommitExample>,
    /// Environment variables that agents set in the commands they run.
    #[serde(default, rename = "session")]
    pub sessions: Vec<SessionSpec>,
}

/// An environment variable that marks a process as running inside an agent session.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SessionSpec {
    /// Variable name (exact).
    pub var: String,
    /// Regex the value must match (any non-empty value when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// The agent.
    pub tool: String,
    /// How sure.
    pub confidence: Confidence,
    /// Where this is documented or seen.
    pub source: String,
}

/// What the classifier says about one commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AiTag {
    /// The agent.
    pub tool: String,
    /// The id of the signal that decided.
    pub signal: String,
    /// How sure.
    pub confidence: Confidence,
    /// The metadata that matched, e.g. `trailer Co-authored-by: Cursor <cursoragent@cursor.com>`.
    pub evidence: String,
}

impl fmt::Display for AiTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} confidence: {})",
            self.tool,
            self.confidence.as_str(),
            self.evidence
        )
    }
}

/// A problem in a signal table.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SignalError {
    /// File (and position when known).
    pub origin: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

struct Compiled {
    spec: SignalSpec,
    key: String,
    email: Option<Regex>,
    name: Option<Regex>,
    text: Option<Regex>,
}

/// The signal table and its matcher. Cheap to share; `classify` takes a few microseconds
/// per commit. The built-in table's regexes compile on first use (about 10 ms, which a scan
/// that never classifies a commit should not pay at start-up); any other table compiles at
/// once, so its errors surface when it is loaded.
pub struct Signals {
    table: SignalTable,
    origin: String,
    matcher: std::sync::OnceLock<Matcher>,
}

/// The compiled patterns of a table.
struct Matcher {
    signals: Vec<Compiled>,
    ignore: Vec<(Option<Regex>, Option<Regex>)>,
    /// Every identity pattern at once: most commits match none, and skip those signals.
    identity_hint: regex::RegexSet,
    /// Every body pattern at once, over the whole message.
    body_hint: regex::RegexSet,
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("signals", &self.table.signals.len())
            .finish_non_exhaustive()
    }
}

/// The facts of one commit the classifier reads.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Author `(name, address)`.
    pub author: (&'a str, &'a str),
    /// Committer `(name, address)`.
    pub committer: (&'a str, &'a str),
    /// Whole message.
    pub message: &'a str,
    /// Final trailer block.
    pub trailers: &'a [(String, String)],
    /// Two or more parents.
    pub merge: bool,
}

impl<'a> From<&'a CommitInfo> for Facts<'a> {
    fn from(c: &'a CommitInfo) -> Facts<'a> {
        Facts {
            author: (&c.author_name, &c.author_email),
            committer: (&c.committer_name, &c.committer_email),
            message: &c.message,
            trailers: &c.trailers,
            merge: c.parents.len() > 1,
        }
    }
}

impl Signals {
    /// The built-in table.
    pub fn builtin() -> Result<Signals, SignalError> {
        let origin = "builtin:ai/signals.toml";
        Ok(Signals {
            table: parse_table(BUILTIN, origin)?,
            origin: origin.to_string(),
            matcher: std::sync::OnceLock::new(),
        })
    }

    /// Compiles a table; every regex is checked.
    pub fn compile(table: SignalTable, origin: &str) -> Result<Signals, SignalError> {
        let matcher = Matcher::new(&table, origin)?;
        Ok(Signals {
            table,
            origin: origin.to_string(),
            matcher: std::sync::OnceLock::from(matcher),
        })
    }

    fn matcher(&self) -> &Matcher {
        self.matcher.get_or_init(|| {
            // Only the built-in table is compiled late, and a test compiles it.
            Matcher::new(&self.table, &self.origin).expect("the built-in signal table is tested")
        })
    }
}

impl Matcher {
    fn new(table: &SignalTable, origin: &str) -> Result<Matcher, SignalError> {
        let err = |message: String| SignalError {
            origin: origin.to_string(),
            message,
        };
        let mut signals = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for spec in &table.signals {
            if !seen.insert(spec.id.clone()) {
                return Err(err(format!("signal id {:?} appears twice", spec.id)));
            }
            let pattern = |p: &Option<String>, what: &str| -> Result<Option<Regex>, SignalError> {
                p.as_deref()
                    .map(|p| {
                        RegexBuilder::new(p)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| {
                                err(format!(
                                    "signal {}: `{what}` does not compile: {e}",
                                    spec.id
                                ))
                            })
                    })
                    .transpose()
            };
            let c = Compiled {
                key: spec.key.clone().unwrap_or_default().to_ascii_lowercase(),
                email: pattern(&spec.email, "email")?,
                name: pattern(&spec.name, "name")?,
                text: pattern(&spec.text, "text")?,
                spec: spec.clone(),
            };
            let identity_field = matches!(
                spec.field,
                Field::Author | Field::Committer | Field::Identity
            );
            if c.email.is_none() && c.name.is_none() && c.text.is_none() {
                return Err(err(format!(
                    "signal {}: give at least one of `email`, `name`, `text`",
                    spec.id
                )));
            }
            if identity_field && c.text.is_some() {
                return Err(err(format!(
                    "signal {}: identities have only `email` and `name`",
                    spec.id
                )));
            }
            if !identity_field && spec.field != Field::Trailer && c.text.is_none() {
                return Err(err(format!(
                    "signal {}: a {:?} signal needs `text`",
                    spec.id, spec.field
                )));
            }
            if (spec.field == Field::Trailer) != spec.key.is_some() {
                return Err(err(format!(
                    "signal {}: `key` goes with `field = \"trailer\"`, and only there",
                    spec.id
                )));
            }
            signals.push(c);
        }
        for v in &table.sessions {
            if let Some(p) = &v.value {
                Regex::new(p).map_err(|e| err(format!("session {}: `value`: {e}", v.var)))?;
            }
        }
        let mut ignore = Vec::new();
        for i in &table.ignore {
            let build = |p: &Option<String>| -> Result<Option<Regex>, SignalError> {
                p.as_deref()
                    .map(|p| {
                        RegexBuilder::new(p)
                            .case_insensitive(true)
                            .build()
                            .map_err(|e| err(format!("ignore entry ({}): {e}", i.why)))
                    })
                    .transpose()
            };
            ignore.push((build(&i.email)?, build(&i.name)?));
        }
        let set = |patterns: Vec<String>| {
            regex::RegexSetBuilder::new(patterns)
                .case_insensitive(true)
                .build()
                .map_err(|e| err(format!("signal patterns do not combine: {e}")))
        };
        let identity_hint = set(table
            .signals
            .iter()
            .filter(|s| matches!(s.field, Field::Author | Field::Committer | Field::Identity))
            .flat_map(|s| s.email.iter().chain(s.name.iter()).cloned())
            .collect())?;
        let body_hint = set(table
            .signals
            .iter()
            .filter(|s| s.field == Field::Body)
            .filter_map(|s| s.text.as_ref().map(|t| format!("(?m){t}")))
            .collect())?;
        Ok(Matcher {
            signals,
            ignore,
            identity_hint,
            body_hint,
        })
    }
}

impl Signals {
    /// This table with `other`'s signals added; an entry with an existing id replaces it.
    pub fn extended(&self, other: &SignalTable, origin: &str) -> Result<Signals, SignalError> {
        let mut table = self.table.clone();
        for s in &other.signals {
            match table.signals.iter_mut().find(|x| x.id == s.id) {
                Some(x) => *x = s.clone(),
                None => table.signals.push(s.clone()),
            }
        }
        table.ignore.extend(other.ignore.iter().cloned());
        table
            .false_positives
            .extend(other.false_positives.iter().cloned());
        table.sessions.extend(other.sessions.iter().cloned());
        Signals::compile(table, origin)
    }

    /// The table as loaded (for `config show` and tests).
    pub fn table(&self) -> &SignalTable {
        &self.table
    }

    /// The strongest signal of a commit at medium confidence or above, if any. Low signals
    /// never decide on their own; among equals the table's order wins.
    pub fn classify(&self, facts: Facts<'_>) -> Option<AiTag> {
        self.matcher().classify(facts)
    }

    /// Every signal that matches, low ones included (for explanations and tests).
    pub fn all_matches(&self, facts: Facts<'_>) -> Vec<AiTag> {
        self.matcher().all_matches(facts)
    }
}

impl Matcher {
    fn classify(&self, facts: Facts<'_>) -> Option<AiTag> {
        let mut best: Option<AiTag> = None;
        // One pass each over identities and message decides which signals can match at all.
        let h = &self.identity_hint;
        let identities = h.is_match(facts.author.1)
            || h.is_match(facts.author.0)
            || h.is_match(facts.committer.1)
            || h.is_match(facts.committer.0);
        let body = self.body_hint.is_match(facts.message);
        for c in &self.signals {
            let possible = match c.spec.field {
                Field::Author | Field::Committer | Field::Identity => identities,
                Field::Body => body,
                Field::Trailer => !facts.trailers.is_empty(),
                Field::Subject | Field::MergeSubject => true,
            };
            if !possible
                || c.spec.confidence == Confidence::Low
                || best
                    .as_ref()
                    .is_some_and(|b| b.confidence >= c.spec.confidence)
            {
                continue;
            }
            if let Some(tag) = self.try_signal(c, facts) {
                best = Some(tag);
            }
        }
        best
    }

    fn all_matches(&self, facts: Facts<'_>) -> Vec<AiTag> {
        self.signals
            .iter()
            .filter_map(|c| self.try_signal(c, facts))
            .collect()
    }

    fn ignored(&self, name: &str, email: &str) -> bool {
        self.ignore.iter().any(|(e, n)| {
            (e.is_some() || n.is_some())
                && e.as_ref().is_none_or(|r| r.is_match(email))
                && n.as_ref().is_none_or(|r| r.is_match(name))
        })
    }

    fn identity_matches(&self, c: &Compiled, name: &str, email: &str) -> bool {
        !self.ignored(name, email)
            && c.email.as_ref().is_none_or(|r| r.is_match(email))
            && c.name.as_ref().is_none_or(|r| r.is_match(name))
    }

    fn tag(c: &Compiled, tool: Option<&str>, evidence: String) -> AiTag {
        AiTag {
            tool: tool.map_or_else(|| c.spec.tool.clone(), str::to_string),
            signal: c.spec.id.clone(),
            confidence: c.spec.confidence,
            evidence,
        }
    }

    fn try_signal(&self, c: &Compiled, f: Facts<'_>) -> Option<AiTag> {
        let text_tool = |text: &str| -> Option<Option<String>> {
            match &c.text {
                None => Some(None),
                Some(r) => r
                    .captures(text)
                    .map(|caps| caps.name("tool").map(|m| m.as_str().to_string())),
            }
        };
        match c.spec.field {
            Field::Trailer => f.trailers.iter().find_map(|(k, v)| {
                if !k.trim().eq_ignore_ascii_case(&c.key) {
                    return None;
                }
                let v = v.trim();
                let (name, email) = split_identity(v);
                if (c.email.is_some() || c.name.is_some()) && !self.identity_matches(c, name, email)
                {
                    return None;
                }
                let tool = text_tool(v)?;
                Some(Self::tag(
                    c,
                    tool.as_deref(),
                    format!("trailer {}: {v}", k.trim()),
                ))
            }),
            Field::Author | Field::Committer | Field::Identity => {
                let mut who = Vec::new();
                if c.spec.field != Field::Committer {
                    who.push(("author", f.author));
                }
                if c.spec.field != Field::Author {
                    who.push(("committer", f.committer));
                }
                who.into_iter().find_map(|(role, (name, email))| {
                    self.identity_matches(c, name, email)
                        .then(|| Self::tag(c, None, format!("{role} {name} <{email}>")))
                })
            }
            Field::Body => f.message.lines().skip(1).find_map(|line| {
                let tool = text_tool(line.trim_end())?;
                Some(Self::tag(
                    c,
                    tool.as_deref(),
                    format!("body line {:?}", line.trim()),
                ))
            }),
            Field::Subject | Field::MergeSubject => {
                if c.spec.field == Field::MergeSubject && !f.merge {
                    return None;
                }
                let subject = f.message.lines().next().unwrap_or_default();
                let tool = text_tool(subject)?;
                Some(Self::tag(
                    c,
                    tool.as_deref(),
                    format!("subject {subject:?}"),
                ))
            }
        }
    }
}

/// `Name <address>` into its parts. Without angle brackets, a last word holding an `@` is
/// the address (`OpenHands-GPT-5 openhands@all-hands.dev` is seen in real history); any
/// other value is all name.
pub fn split_identity(v: &str) -> (&str, &str) {
    match (v.rfind('<'), v.rfind('>')) {
        (Some(open), Some(close)) if open < close && v[open..close].contains('@') => {
            (v[..open].trim(), v[open + 1..close].trim())
        }
        _ => {
            let v = v.trim();
            match v.rsplit_once(char::is_whitespace) {
                Some((name, last)) if last.contains('@') => (name.trim(), last),
                None if v.contains('@') && !v.contains(char::is_whitespace) => ("", v),
                _ => (v, ""),
            }
        }
    }
}

/// Parses a signal table; errors carry the line and column.
pub fn parse_table(text: &str, origin: &str) -> Result<SignalTable, SignalError> {
    toml::from_str(text).map_err(|e| {
        let at = crate::rules::toml_position(&e, text)
            .map(|(line, col)| format!(":{line}:{col}"))
            .unwrap_or_default();
        SignalError {
            origin: format!("{origin}{at}"),
            message: e.message().to_string(),
        }
    })
}

/// The trailers of a message, final block only, as `git log` reads them ([`crate::source::trailers`]).
pub fn message_trailers(message: &str) -> Vec<(String, String)> {
    crate::source::trailers::parse(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts<'a>(message: &'a str, trailers: &'a [(String, String)]) -> Facts<'a> {
        Facts {
            author: ("Dev Human", "dev@corp.test"),
            committer: ("Dev Human", "dev@corp.test"),
            message,
            trailers,
            merge: false,
        }
    }

    #[test]
    fn builtin_table_compiles() {
        let s = Signals::builtin().expect("builtin signals");
        assert!(s.table().signals.len() >= 30);
        // The built-in matcher compiles lazily; this is what `matcher()` relies on.
        let m = Matcher::new(s.table(), "builtin").expect("every built-in pattern compiles");
        assert_eq!(m.signals.len(), s.table().signals.len());
    }

    #[test]
    fn high_beats_medium_and_low_never_tags() {
        let s = Signals::builtin().expect("builtin");
        let msg = "x\n\nMade-with: Cursor\nCo-authored-by: Cursor <cursoragent@cursor.com>\n";
        let t = message_trailers(msg);
        let tag = s.classify(facts(msg, &t)).expect("tagged");
        assert_eq!(tag.confidence, Confidence::High);
        assert_eq!(tag.signal, "cursor.co-author");
        let merge = "Merge pull request #3 from acme/claude/issue-3-1\n";
        let mut f = facts(merge, &[]);
        f.merge = true;
        assert!(s.classify(f).is_none());
        assert_eq!(s.all_matches(f).len(), 1);
    }

    #[test]
    fn tool_can_come_from_the_value() {
        let s = Signals::builtin().expect("builtin");
        let msg = "x\n\nAssisted-by: Kiro:some-model-1\n";
        let t = message_trailers(msg);
        assert_eq!(s.classify(facts(msg, &t)).expect("tag").tool, "Kiro");
    }

    #[test]
    fn table_errors_name_the_problem() {
        let bad = "[[signal]]\nid = \"x.y\"\ntool = \"X\"\nconfidence = \"sure\"\nfield = \"body\"\ntext = \"a\"\n";
        let e = parse_table(bad, "t.toml").expect_err("bad confidence");
        assert!(e.origin.starts_with("t.toml:4:"), "{e}");
        let no_key = "[[signal]]\nid = \"x.y\"\ntool = \"X\"\nconfidence = \"high\"\nfield = \"trailer\"\ntext = \"a\"\n";
        let t = parse_table(no_key, "t.toml").expect("parses");
        let e = Signals::compile(t, "t.toml").expect_err("trailer without key");
        assert!(e.message.contains("key"), "{e}");
    }

    #[test]
    fn identities_split() {
        assert_eq!(
            split_identity("Claude <noreply@anthropic.com>"),
            ("Claude", "noreply@anthropic.com")
        );
        assert_eq!(split_identity("gemini-cli"), ("gemini-cli", ""));
        assert_eq!(
            split_identity("OpenHands-GPT-5 openhands@all-hands.dev"),
            ("OpenHands-GPT-5", "openhands@all-hands.dev")
        );
        assert_eq!(
            split_identity("OpenHands-<MODEL_ID> openhands@all-hands.dev"),
            ("OpenHands-<MODEL_ID>", "openhands@all-hands.dev")
        );
        assert_eq!(
            split_identity("Claude:claude-opus-4-6 coccinelle"),
            ("Claude:claude-opus-4-6 coccinelle", "")
        );
    }
}
