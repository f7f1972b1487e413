//! Allowlists and inline markers: the ways a team says "this one is fine". Policy, applied
//! by `triage`; every suppression keeps its reason for `--explain-suppressed`.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use crate::detect::Candidate;
use crate::rules::{Precision, Rule};

/// How the criteria of one allowlist entry combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Condition {
    /// Any criterion that matches allows the finding.
    #[default]
    Any,
    /// Every criterion given must match.
    All,
}

/// One `[[allowlist]]` entry (global, or per rule through `rules`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSpec {
    /// What this entry is for; shown in `--explain-suppressed`.
    #[serde(default)]
    pub description: String,
    /// Rule ids it applies to (`*` wildcards, e.g. `generic.*`); all rules when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// Only rules that do not name a provider (`catch_all`) or have low/medium precision:
    /// for shipped defaults such as lock files, where provider-prefixed tokens still count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub generic_only: bool,
    /// Gitignore-style globs on the path (relative to the repository root).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Regexes on the path (the gitleaks style).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub path_regexes: Vec<String>,
    /// Regexes on the secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<String>,
    /// Regexes on the whole match.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<String>,
    /// Regexes on the line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
    /// Words; a secret containing one (case-insensitive) is allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stopwords: Vec<String>,
    /// Commit ids (or prefixes of at least 7 characters) whose findings are allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<String>,
    /// `any` (default) or `all`.
    #[serde(default, skip_serializing_if = "is_any")]
    pub condition: Condition,
}

fn is_any(c: &Condition) -> bool {
    *c == Condition::Any
}

/// The allowlist entries shipped with leakhound: places where generic rules are noise and
/// provider-prefixed tokens are not (`default_allowlist = false` in the config drops them).
pub fn defaults() -> Vec<AllowSpec> {
    vec![
        AllowSpec {
            description: "lock files (generic rules only)".into(),
            generic_only: true,
            paths: [
                "package-lock.json",
                "npm-shrinkwrap.json",
                "yarn.lock",
                "pnpm-lock.yaml",
                "bun.lock",
                "Cargo.lock",
                "go.sum",
                "poetry.lock",
                "uv.lock",
                "Pipfile.lock",
                "composer.lock",
                "Gemfile.lock",
                "packages.lock.json",
                "gradle.lockfile",
                "flake.lock",
            ]
            .map(String::from)
            .to_vec(),
            ..AllowSpec::default()
        },
        AllowSpec {
            description: "vendored dependencies (generic rules only)".into(),
            generic_only: true,
            paths: [
                "node_modules/",
                "vendor/",
                "third_party/",
                "bower_components/",
            ]
            .map(String::from)
            .to_vec(),
            ..AllowSpec::default()
        },
        AllowSpec {
            description: "minified bundles and source maps (generic rules only)".into(),
            generic_only: true,
            paths: [
                "*.min.js",
                "*.min.css",
                "*.min.mjs",
                "*.js.map",
                "*.css.map",
            ]
            .map(String::from)
            .to_vec(),
            ..AllowSpec::default()
        },
    ]
}

struct Compiled {
    spec: AllowSpec,
    paths: Option<Gitignore>,
    path_regexes: Vec<Regex>,
    secrets: Vec<Regex>,
    matches: Vec<Regex>,
    lines: Vec<Regex>,
    stopwords: Vec<String>,
}

/// Compiled allowlist entries.
#[derive(Default)]
pub struct Allowlist {
    entries: std::sync::OnceLock<Vec<Compiled>>,
    /// Entries compiled one by one on first use ([`Allowlist::deferred`]).
    deferred: Vec<(AllowSpec, std::sync::OnceLock<Option<Compiled>>)>,
}

impl std::fmt::Debug for Allowlist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Allowlist")
            .field("entries", &self.len())
            .finish()
    }
}

/// What a finding is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// The rule.
    pub rule: &'a Rule,
    /// The candidate.
    pub candidate: &'a Candidate,
    /// Display path.
    pub path: &'a str,
    /// Introducing commit (history).
    pub commit: Option<&'a str>,
}

impl Allowlist {
    /// Compiles entries; `origin` names the config for error messages.
    pub fn compile(specs: &[AllowSpec], origin: &str) -> Result<Allowlist, String> {
        let mut entries = Vec::new();
        for (i, spec) in specs.iter().enumerate() {
            let at = |what: &str, e: &dyn std::fmt::Display| {
                let prefix = if origin.is_empty() {
                    String::new()
                } else {
                    format!("{origin}: ")
                };
                format!(
                    "{prefix}allowlist entry {} ({:?}): {what}: {e}",
                    i + 1,
                    spec.description
                )
            };
            let regexes = |v: &[String], what: &str| -> Result<Vec<Regex>, String> {
                v.iter()
                    .map(|p| Regex::new(p).map_err(|e| at(&format!("{what} {p:?}"), &e)))
                    .collect()
            };
            let paths = if spec.paths.is_empty() {
                None
            } else {
                let mut b = GitignoreBuilder::new("");
                for p in &spec.paths {
                    b.add_line(None, p).map_err(|e| at("paths", &e))?;
                }
                Some(b.build().map_err(|e| at("paths", &e))?)
            };
            for r in &spec.rules {
                if r.is_empty()
                    || !r
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || "._-*".contains(c))
                {
                    return Err(at(
                        "rules",
                        &format!("{r:?} is not a rule id or an id with `*`"),
                    ));
                }
            }
            if spec
                .commits
                .iter()
                .any(|c| c.len() < 7 || !c.chars().all(|x| x.is_ascii_hexdigit()))
            {
                return Err(at("commits", &"give commit ids (at least 7 hex digits)"));
            }
            entries.push(Compiled {
                path_regexes: regexes(&spec.path_regexes, "path_regexes")?,
                secrets: regexes(&spec.secrets, "secrets")?,
                matches: regexes(&spec.matches, "matches")?,
                lines: regexes(&spec.lines, "lines")?,
                stopwords: spec.stopwords.iter().map(|w| w.to_lowercase()).collect(),
                paths,
                spec: spec.clone(),
            });
        }
        Ok(Allowlist {
            entries: entries.into(),
            deferred: Vec::new(),
        })
    }

    /// The shipped entries (unless `with_defaults` is false), then the user's: errors number
    /// the user's entries from 1, in the order the config file gives them.
    pub fn with_user(user: &[AllowSpec], with_defaults: bool) -> Result<Allowlist, String> {
        let mut entries = if with_defaults {
            Allowlist::compile(&defaults(), "builtin")?.into_entries()
        } else {
            Vec::new()
        };
        entries.extend(Allowlist::compile(user, "")?.into_entries());
        Ok(Allowlist {
            entries: entries.into(),
            deferred: Vec::new(),
        })
    }

    fn into_entries(self) -> Vec<Compiled> {
        self.entries.into_inner().unwrap_or_default()
    }

    /// Entries known to compile (the shipped defaults, which a test compiles), each compiled
    /// when a finding first reaches it: a scan that finds nothing, or finds only what the
    /// entry does not apply to (a precise token, for a generic-only entry), never pays.
    pub fn deferred(specs: Vec<AllowSpec>) -> Allowlist {
        Allowlist {
            entries: std::sync::OnceLock::new(),
            deferred: specs
                .into_iter()
                .map(|s| (s, std::sync::OnceLock::new()))
                .collect(),
        }
    }

    /// The reason the first entry that allows this finding gives, if any.
    pub fn allows(&self, s: Subject<'_>) -> Option<String> {
        if self.deferred.is_empty() {
            return self.entries.get()?.iter().find_map(|e| e.allows(s));
        }
        self.deferred.iter().find_map(|(spec, cell)| {
            if spec.generic_only && !generic(s.rule) {
                return None;
            }
            cell.get_or_init(|| {
                Allowlist::compile(std::slice::from_ref(spec), "builtin")
                    .ok()
                    .and_then(|a| a.entries.into_inner()?.pop())
            })
            .as_ref()?
            .allows(s)
        })
    }

    /// The entries as written, in order (for digests of the effective settings).
    pub fn specs(&self) -> Vec<&AllowSpec> {
        match self.entries.get() {
            Some(e) => e.iter().map(|c| &c.spec).collect(),
            None => self.deferred.iter().map(|(s, _)| s).collect(),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.entries.get() {
            Some(e) => e.len(),
            None => self.deferred.len(),
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a rule counts as generic for `generic_only` entries.
fn generic(rule: &Rule) -> bool {
    rule.spec.catch_all || rule.spec.precision < Precision::High
}

impl Compiled {
    fn allows(&self, s: Subject<'_>) -> Option<String> {
        let spec = &self.spec;
        if spec.generic_only && !generic(s.rule) {
            return None;
        }
        if !spec.rules.is_empty() && !spec.rules.iter().any(|g| glob_id(g, s.rule.id())) {
            return None;
        }
        let secret = String::from_utf8_lossy(&s.candidate.secret);
        let mut results: Vec<(bool, &str)> = Vec::new();
        if let Some(p) = &self.paths {
            results.push((
                p.matched_path_or_any_parents(s.path, false).is_ignore(),
                "path",
            ));
        }
        if !self.path_regexes.is_empty() {
            results.push((self.path_regexes.iter().any(|r| r.is_match(s.path)), "path"));
        }
        if !self.secrets.is_empty() {
            results.push((self.secrets.iter().any(|r| r.is_match(&secret)), "secret"));
        }
        if !self.matches.is_empty() {
            let m = &s.candidate.matched;
            results.push((self.matches.iter().any(|r| r.is_match(m)), "match"));
        }
        if !self.lines.is_empty() {
            let l = &s.candidate.line;
            results.push((self.lines.iter().any(|r| r.is_match(l)), "line"));
        }
        if !self.stopwords.is_empty() {
            let lower = secret.to_lowercase();
            results.push((
                self.stopwords.iter().any(|w| lower.contains(w.as_str())),
                "stopword",
            ));
        }
        if !spec.commits.is_empty() {
            let hit = s
                .commit
                .is_some_and(|c| spec.commits.iter().any(|p| c.starts_with(p.as_str())));
            results.push((hit, "commit"));
        }
        let allowed = match (results.is_empty(), spec.condition) {
            // Only a rule scope: every finding of those rules.
            (true, _) => true,
            (false, Condition::Any) => results.iter().any(|r| r.0),
            (false, Condition::All) => results.iter().all(|r| r.0),
        };
        allowed.then(|| {
            let by: Vec<&str> = results.iter().filter(|r| r.0).map(|r| r.1).collect();
            let name = if spec.description.is_empty() {
                "allowlist entry".to_string()
            } else {
                format!("allowlist entry {:?}", spec.description)
            };
            if by.is_empty() {
                format!("{name} (rule scope)")
            } else {
                format!("{name} ({})", by.join(", "))
            }
        })
    }
}

/// `generic.*` style matching of rule ids.
pub fn glob_id(glob: &str, id: &str) -> bool {
    match glob.split_once('*') {
        None => glob == id,
        Some((pre, post)) => {
            id.len() >= pre.len() + post.len() && id.starts_with(pre) && id.ends_with(post)
        }
    }
}

/// Inline markers: `leakhound:allow` (optionally naming rule ids) on the line,
/// `leakhound:allow-next-line` on the line above, and the markers users already have:
/// `gitleaks:allow`, `pragma: allowlist secret`, `pragma: allowlist nextline secret`.
pub fn marker(c: &Candidate, rule_id: &str) -> Option<String> {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        RegexBuilder::new(
            r"leakhound:allow(?P<next>-next-line)?(?:[ \t]*[(:]?[ \t]*(?P<ids>[a-z0-9_]+\.[a-z0-9_*]+(?:[ \t]*,[ \t]*[a-z0-9_]+\.[a-z0-9_*]+)*))?",
        )
        .build()
        .expect("marker pattern is valid")
    });
    let check = |line: &str, next: bool| -> Option<String> {
        for caps in re.captures_iter(line) {
            if caps.name("next").is_some() != next {
                continue;
            }
            let ids = caps.name("ids").map(|m| m.as_str());
            let covers = ids.is_none_or(|ids| ids.split(',').any(|g| glob_id(g.trim(), rule_id)));
            if covers {
                return Some(format!(
                    "inline marker `{}` on {}",
                    caps.get(0).map_or("", |m| m.as_str()),
                    if next { "the line above" } else { "the line" }
                ));
            }
        }
        None
    };
    if let Some(r) = check(&c.line, false) {
        return Some(r);
    }
    if let Some(r) = check(&c.prev_line, true) {
        return Some(r);
    }
    let lower = c.line.to_lowercase();
    if lower.contains("gitleaks:allow") {
        return Some("inline marker `gitleaks:allow` on the line".into());
    }
    if lower.contains("pragma: allowlist secret") {
        return Some("inline marker `pragma: allowlist secret` on the line".into());
    }
    if c.prev_line
        .to_lowercase()
        .contains("pragma: allowlist nextline secret")
    {
        return Some("inline marker `pragma: allowlist nextline secret` on the line above".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(line: &str, prev: &str) -> Candidate {
        Candidate {
            rule: 0,
            span: 0..1,
            secret_span: 0..1,
            secret: b"Qm7vT2pLx9RkZ4nB".to_vec(),
            entropy: 4.0,
            location: crate::detect::TextLocation::default(),
            before: String::new(),
            after: String::new(),
            line: line.into(),
            prev_line: prev.into(),
            matched: String::new(),
            name: None,
            weak: None,
            decoded: Vec::new(),
        }
    }

    #[test]
    fn markers() {
        let m = |line: &str, prev: &str, id: &str| marker(&cand(line, prev), id).is_some();
        assert!(m("token = x # leakhound:allow", "", "github.pat"));
        assert!(m(
            "token = x # leakhound:allow github.pat",
            "",
            "github.pat"
        ));
        assert!(!m(
            "token = x # leakhound:allow aws.access_key",
            "",
            "github.pat"
        ));
        assert!(m(
            "token = x # leakhound:allow(generic.*)",
            "",
            "generic.password"
        ));
        assert!(m("token = x", "# leakhound:allow-next-line", "github.pat"));
        assert!(
            !m("token = x # leakhound:allow-next-line", "", "github.pat"),
            "next-line marks the next line"
        );
        assert!(
            !m("token = x", "# leakhound:allow", "github.pat"),
            "same-line marker above does not count"
        );
        assert!(m("token = x // gitleaks:allow", "", "a.b"));
        assert!(m("token = x  # pragma: allowlist secret", "", "a.b"));
        assert!(m("token = x", "# pragma: allowlist nextline secret", "a.b"));
        assert!(!m("token = x", "", "a.b"));
    }

    #[test]
    fn rule_globs() {
        assert!(glob_id("generic.*", "generic.password"));
        assert!(!glob_id("generic.*", "github.pat"));
        assert!(glob_id("*", "x.y"));
        assert!(glob_id("github.pat", "github.pat"));
    }

    #[test]
    fn bad_entries_explain() {
        let bad = AllowSpec {
            description: "x".into(),
            secrets: vec!["(".into()],
            ..AllowSpec::default()
        };
        let e = Allowlist::compile(&[bad], "leakhound.toml").expect_err("bad regex");
        assert!(
            e.contains("allowlist entry 1") && e.contains("secrets"),
            "{e}"
        );
        let bad = AllowSpec {
            commits: vec!["abc".into()],
            ..AllowSpec::default()
        };
        assert!(Allowlist::compile(&[bad], "c").is_err());
        assert!(Allowlist::compile(&defaults(), "builtin").is_ok());
    }
}
