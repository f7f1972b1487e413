//! Shell commands an agent must not run: patterns as data (`rules/ai/commands.toml`, and
//! `[[ai.hook.command]]` in a config), each with the reason the agent and the person see.

use regex::Regex;
use serde::{Deserialize, Serialize};

/// The built-in command table.
const BUILTIN: &str = include_str!("../../../rules/ai/commands.toml");

/// One command pattern as written.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Stable id (`env.dump`).
    pub id: String,
    /// Why the command is denied, completing "this command ...".
    pub reason: String,
    /// Lowercase literals of which every denied command contains one: the pattern is
    /// compiled and run only for commands that do (empty: always).
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Matched against the whole command line.
    pub regex: String,
    /// Commands that must match (`deny`) and must not (`allow`); required for built-ins.
    #[serde(default)]
    pub examples: CommandExamples,
}

/// Examples of a command pattern.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommandExamples {
    /// Command lines the pattern denies.
    #[serde(default)]
    pub deny: Vec<String>,
    /// Command lines it lets through.
    #[serde(default)]
    pub allow: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CommandFile {
    command: Vec<CommandSpec>,
}

/// A command pattern, compiled on first use.
#[derive(Debug)]
pub struct CommandRule {
    /// As written.
    pub spec: CommandSpec,
    regex: std::sync::OnceLock<Result<Regex, String>>,
}

impl CommandRule {
    /// A pattern from its spec (compiled when first needed; [`CommandRule::compile`] checks).
    pub fn new(spec: CommandSpec) -> CommandRule {
        CommandRule {
            spec,
            regex: std::sync::OnceLock::new(),
        }
    }

    /// The compiled regex; the error names the pattern.
    pub fn compile(&self) -> Result<&Regex, String> {
        self.regex
            .get_or_init(|| {
                regex::RegexBuilder::new(&self.spec.regex)
                    .size_limit(8 << 20)
                    .build()
                    .map_err(|e| format!("command pattern {}: {e}", self.spec.id))
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether the command line matches (a keyword first, then the regex; a pattern that
    /// does not compile matches nothing, and `compile` says why).
    pub fn matches(&self, command: &str) -> bool {
        if !self.spec.keywords.is_empty() {
            let lower = command.to_ascii_lowercase();
            if !self
                .spec
                .keywords
                .iter()
                .any(|k| lower.contains(k.as_str()))
            {
                return false;
            }
        }
        self.compile().is_ok_and(|r| r.is_match(command))
    }

    /// Compiles the pattern and runs the examples: every `deny` must match and no `allow`
    /// may.
    pub fn check_examples(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = self.compile() {
            return vec![e];
        }
        for d in &self.spec.examples.deny {
            if !self.matches(d) {
                problems.push(format!("{}: does not deny {d:?}", self.spec.id));
            }
        }
        for a in &self.spec.examples.allow {
            if self.matches(a) {
                problems.push(format!("{}: denies {a:?}", self.spec.id));
            }
        }
        problems
    }
}

/// The built-in command patterns.
pub fn builtin() -> Vec<CommandRule> {
    let file: CommandFile = toml::from_str(BUILTIN).expect("rules/ai/commands.toml is tested");
    file.command.into_iter().map(CommandRule::new).collect()
}

/// The file arguments of simple read commands (`cat F`, `head -n 5 F`, `grep X F`), so the
/// files themselves can be scanned: a command that prints a file is a read of that file.
pub fn read_targets(command: &str) -> Vec<String> {
    const READERS: &[&str] = &[
        "cat",
        "less",
        "more",
        "head",
        "tail",
        "bat",
        "batcat",
        "nl",
        "tac",
        "strings",
        "xxd",
        "od",
        "hexdump",
        "base64",
        "type",
        "Get-Content",
        "gc",
        "grep",
        "egrep",
        "rg",
        "awk",
        "sed",
        "cut",
        "sort",
        "uniq",
        "jq",
        "yq",
        "source",
        ".",
        "cp",
        "scp",
    ];
    let mut out = Vec::new();
    for part in command.split(['\n', ';', '|', '&']) {
        let words = shell_words(part);
        let mut words = words
            .iter()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'));
        let Some(first) = words.next() else { continue };
        let name = first.rsplit('/').next().unwrap_or(first);
        if !READERS.contains(&name) {
            continue;
        }
        // grep/rg take a pattern first; the rest are paths. Flags are skipped.
        let pattern_first = matches!(name, "grep" | "egrep" | "rg" | "awk" | "sed");
        let mut seen_pattern = !pattern_first;
        for w in words {
            if w.starts_with('-') || w.starts_with('>') || w.starts_with('<') {
                continue;
            }
            if !seen_pattern {
                seen_pattern = true;
                continue;
            }
            out.push(w.clone());
        }
    }
    out.truncate(32);
    out
}

/// Words of one simple command, with quotes removed (no expansion).
fn shell_words(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_pattern_passes_its_examples() {
        let rules = builtin();
        assert!(rules.len() >= 5);
        let mut problems = Vec::new();
        for r in &rules {
            assert!(
                !r.spec.examples.deny.is_empty() && !r.spec.examples.allow.is_empty(),
                "{} needs deny and allow examples",
                r.spec.id
            );
            problems.extend(r.check_examples());
            assert!(!r.spec.keywords.is_empty(), "{} needs keywords", r.spec.id);
            for d in &r.spec.examples.deny {
                let lower = d.to_ascii_lowercase();
                assert!(
                    r.spec.keywords.iter().any(|k| lower.contains(k.as_str())),
                    "{}: {d:?} holds none of its keywords",
                    r.spec.id
                );
            }
        }
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    #[test]
    fn read_targets_are_the_file_arguments() {
        assert_eq!(read_targets("cat config/app.yml"), ["config/app.yml"]);
        assert_eq!(
            read_targets("grep -n token 'a b.txt' c.txt | head -3"),
            ["a b.txt", "c.txt"]
        );
        assert_eq!(read_targets("FOO=1 head -n 5 x.env"), ["5", "x.env"]);
        assert!(read_targets("make test && ls").is_empty());
    }
}
