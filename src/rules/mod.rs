//! Rules: loading rule files into a [`RuleSet`], with regexes compiled on first use.
//! Knows nothing about blobs, paths or findings.

pub mod builtin;
pub mod schema;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use regex::bytes::{Regex, RegexBuilder};
use regex_automata::meta;

pub use schema::{
    Checksum, FirstGroup, Precision, RuleSpec, SecretGroup, Severity, VerifyKind, VerifySpec,
};

/// Errors from loading or building rules.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// The rule file could not be read.
    #[error("{path}: cannot read rule file: {err}")]
    Read {
        /// File.
        path: PathBuf,
        /// Cause.
        err: std::io::Error,
    },
    /// The rule file is not valid TOML/YAML for the schema.
    #[error("{path}: {message}")]
    Parse {
        /// File.
        path: PathBuf,
        /// Parser message, with line and column where known.
        message: String,
    },
    /// A rule is structurally wrong.
    #[error("{origin}: rule {id}: {message}")]
    Invalid {
        /// Where the rule came from.
        origin: String,
        /// Rule id.
        id: String,
        /// What is wrong, and the fix.
        message: String,
    },
    /// User rules past the documented limits (count, compiled regex memory).
    #[error("{origin}: {message}")]
    TooMany {
        /// Where the rule that crossed the limit came from.
        origin: String,
        /// Which limit, and what to do.
        message: String,
    },
    /// Two rules share an id.
    #[error("rule id {id} is defined twice: in {first} and in {second}")]
    Duplicate {
        /// The id.
        id: String,
        /// First definition.
        first: String,
        /// Second definition.
        second: String,
    },
}

/// A rule ready to match: the spec plus a lazily compiled regex.
#[derive(Debug)]
pub struct Rule {
    /// The rule as written.
    pub spec: RuleSpec,
    /// Where the rule came from (`builtin:aws.toml`, or a file path).
    pub origin: String,
    /// The full regex source (after `assign` expansion).
    pub pattern: String,
    regex: OnceLock<Result<Compiled, String>>,
    reject: OnceLock<Result<RejectSet, String>>,
    path: OnceLock<Result<Regex, String>>,
}

/// A rule's compiled regex and what the detector needs to know about it.
#[derive(Debug)]
pub struct Compiled {
    /// The regex (regex-automata's meta engine, so searches can be limited to a span while
    /// look-around still sees the text outside it).
    pub regex: meta::Regex,
    /// Which capture group holds the secret.
    pub secret_group: SecretAt,
    /// Longest possible match in bytes, when bounded: a match containing a keyword lies
    /// within this distance of it.
    pub reach: Option<usize>,
    /// The `name` group: what the context calls the secret (generic rules).
    pub name_group: Option<usize>,
}

/// Where the secret is in a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretAt {
    /// The whole match.
    Whole,
    /// This capture group.
    Group(usize),
    /// The first capture group that took part in the match (gitleaks' default).
    FirstMatched,
}

impl Compiled {
    /// The byte range of the `name` group in a match, when the regex has one and it matched.
    pub fn name_span(
        &self,
        caps: &regex_automata::util::captures::Captures,
    ) -> Option<std::ops::Range<usize>> {
        caps.get_group(self.name_group?)
            .map(|s| s.range())
            .filter(|r| !r.is_empty())
    }

    /// The byte range of the secret in a match, `None` when its group did not take part.
    pub fn secret_span(
        &self,
        caps: &regex_automata::util::captures::Captures,
    ) -> Option<std::ops::Range<usize>> {
        match self.secret_group {
            SecretAt::Whole => caps.get_match().map(|m| m.range()),
            SecretAt::Group(g) => caps.get_group(g).map(|s| s.range()),
            SecretAt::FirstMatched => (1..caps.group_len())
                .find_map(|g| caps.get_group(g).filter(|s| !s.is_empty()))
                .map(|s| s.range())
                .or_else(|| caps.get_match().map(|m| m.range())),
        }
    }
}

/// Compiled veto patterns.
#[derive(Debug, Default)]
pub struct RejectSet {
    /// On the whole match.
    pub in_match: Vec<Regex>,
    /// On the secret.
    pub secret: Vec<Regex>,
}

impl Rule {
    /// Builds a rule from its spec, checking the structure but not compiling the regex.
    pub fn new(spec: RuleSpec, origin: &str) -> Result<Rule, RuleError> {
        Rule::build(spec, origin, true)
    }

    /// A rule translated from another scanner's config: examples and a named `secret`
    /// group are not required (`secret_group` says which group is the secret).
    pub fn imported(spec: RuleSpec, origin: &str) -> Result<Rule, RuleError> {
        Rule::build(spec, origin, false)
    }

    /// A built-in rule, or a config's override of one, without its examples (scans never
    /// read them; the tests and `rules check` load them with
    /// [`RuleSet::builtin_with_examples`] and check them). Otherwise as strict as
    /// [`Rule::new`].
    pub fn embedded(spec: RuleSpec, origin: &str) -> Result<Rule, RuleError> {
        Rule::build_with(spec, origin, true, false)
    }

    fn build(spec: RuleSpec, origin: &str, strict: bool) -> Result<Rule, RuleError> {
        Rule::build_with(spec, origin, strict, strict)
    }

    fn build_with(
        spec: RuleSpec,
        origin: &str,
        strict: bool,
        need_examples: bool,
    ) -> Result<Rule, RuleError> {
        let invalid = |message: String| RuleError::Invalid {
            origin: origin.to_string(),
            id: spec.id.clone(),
            message,
        };
        if !valid_id(&spec.id) {
            return Err(invalid(
                "id must look like provider.kind, lowercase letters, digits and underscores".into(),
            ));
        }
        if spec.keywords.is_empty() && spec.path.is_none() {
            return Err(invalid(
                "keywords is empty: list the literals every match contains (only a rule with a `path` may have none)".into(),
            ));
        }
        // Imported rules may keep two-letter keywords (gitleaks' `ey`, `sk`): slower, not wrong.
        let shortest = if strict { 3 } else { 2 };
        if let Some(k) = spec
            .keywords
            .iter()
            .find(|k| k.len() < shortest || (!spec.keywords_exact && k.to_lowercase() != **k))
        {
            return Err(invalid(format!(
                "keyword {k:?} must be lowercase (unless keywords_exact) and at least {shortest} bytes long"
            )));
        }
        if need_examples && (spec.examples.positive.is_empty() || spec.examples.negative.is_empty())
        {
            return Err(invalid(
                "examples.positive and examples.negative must each hold at least one example"
                    .into(),
            ));
        }
        let pattern = match (&spec.regex, &spec.assign) {
            (Some(r), None) => r.clone(),
            (None, Some(a)) => schema::ASSIGN_TEMPLATE
                .replace("{key}", &a.key)
                .replace("{value}", &a.value),
            _ => return Err(invalid("give exactly one of `regex` or `assign`".into())),
        };
        if strict
            && spec.secret_group.is_none()
            && !pattern.contains("(?P<secret>")
            && !pattern.contains("(?<secret>")
        {
            return Err(invalid(
                "the regex needs a named group `(?P<secret>...)` around the credential".into(),
            ));
        }
        if let Some(e) = spec.min_entropy {
            if !(0.0..=8.0).contains(&e) {
                return Err(invalid(format!(
                    "min_entropy {e} is outside 0..=8 bits per byte"
                )));
            }
        }
        if let Some(v) = &spec.verify {
            check_verify(v, &spec).map_err(invalid)?;
        }
        Ok(Rule {
            spec,
            origin: origin.to_string(),
            pattern,
            regex: OnceLock::new(),
            reject: OnceLock::new(),
            path: OnceLock::new(),
        })
    }

    /// The rule id.
    pub fn id(&self) -> &str {
        &self.spec.id
    }

    /// The compiled regex, compiling it on first use.
    pub fn regex(&self) -> Result<&Compiled, &str> {
        self.regex
            .get_or_init(|| compile_rule(&self.pattern, self.spec.secret_group))
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Whether the rule applies to a file at `path` (its `path` regex, if any).
    pub fn applies_to(&self, path: &str) -> Result<bool, String> {
        let Some(p) = &self.spec.path else {
            return Ok(true);
        };
        match self.path.get_or_init(|| compile(p)) {
            Ok(r) => Ok(r.is_match(path.as_bytes())),
            Err(e) => Err(format!("path pattern does not compile: {e}")),
        }
    }

    /// The compiled veto patterns, compiling them on first use.
    pub fn reject(&self) -> Result<&RejectSet, &str> {
        self.reject
            .get_or_init(|| {
                let all =
                    |v: &[String]| v.iter().map(|p| compile(p)).collect::<Result<Vec<_>, _>>();
                Ok(RejectSet {
                    in_match: all(&self.spec.reject.in_match)?,
                    secret: all(&self.spec.reject.secret)?,
                })
            })
            .as_ref()
            .map_err(|e| e.as_str())
    }

    /// Compiles the regexes now, turning a failure into a [`RuleError`].
    pub fn compile_now(&self) -> Result<(), RuleError> {
        self.reject().map_err(|e| RuleError::Invalid {
            origin: self.origin.clone(),
            id: self.spec.id.clone(),
            message: format!("a reject pattern does not compile: {e}"),
        })?;
        self.regex().map(|_| ()).map_err(|e| RuleError::Invalid {
            origin: self.origin.clone(),
            id: self.spec.id.clone(),
            message: format!("regex does not compile: {e}"),
        })
    }
}

fn compile_rule(pattern: &str, group: Option<schema::SecretGroup>) -> Result<Compiled, String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let reach = hir.properties().maximum_len();
    let regex = meta::Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                // Our Aho-Corasick pass already found the keyword; searches run in small
                // windows, where a literal prefilter saves little and costs compile time.
                .auto_prefilter(false)
                .nfa_size_limit(Some(32 << 20))
                .hybrid_cache_capacity(8 << 20),
        )
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())?;
    let named = regex
        .group_info()
        .to_index(regex_automata::PatternID::ZERO, "secret");
    let secret_group = match (named, group) {
        (Some(i), _) => SecretAt::Group(i),
        (None, Some(schema::SecretGroup::Index(0)) | None) => SecretAt::Whole,
        (None, Some(schema::SecretGroup::Index(i))) => {
            if i >= regex
                .group_info()
                .group_len(regex_automata::PatternID::ZERO)
            {
                return Err(format!("secret_group {i} does not exist in the regex"));
            }
            SecretAt::Group(i)
        }
        (None, Some(schema::SecretGroup::First(_))) => SecretAt::FirstMatched,
    };
    let name_group = regex
        .group_info()
        .to_index(regex_automata::PatternID::ZERO, "name");
    Ok(Compiled {
        regex,
        secret_group,
        reach,
        name_group,
    })
}

fn compile(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(32 << 20)
        .dfa_size_limit(32 << 20)
        .build()
        .map_err(|e| e.to_string())
}

/// The structure of a `[rule.verify]` table: what the verify stage relies on.
fn check_verify(v: &VerifySpec, spec: &RuleSpec) -> Result<(), String> {
    if spec.revoke.is_none() {
        return Err(
            "a rule with [rule.verify] needs `revoke`: a live finding says where to rotate it"
                .into(),
        );
    }
    if !valid_provider(&v.provider) {
        return Err(format!(
            "verify.provider {:?}: lowercase letters, digits and underscores",
            v.provider
        ));
    }
    if !v.docs.starts_with("https://") {
        return Err("verify.docs: cite the provider's documentation (an https:// URL)".into());
    }
    if let Some(n) = v.needs.iter().find(|n| !spec.partners.contains(n)) {
        return Err(format!(
            "verify.needs names {n:?}, which is not in `partners`"
        ));
    }
    if let Some(e) = &v.endpoint {
        if !e.starts_with("https://") || e.ends_with('/') {
            return Err(format!(
                "verify.endpoint {e:?}: an https:// base URL without a trailing /"
            ));
        }
    }
    if v.kind != VerifyKind::Http {
        return Ok(());
    }
    let url = v
        .url
        .as_deref()
        .ok_or("verify.url is required for HTTP checks")?;
    if !url.starts_with("{endpoint}") {
        return Err(format!(
            "verify.url {url:?} must start with {{endpoint}}, so that [verify.endpoints] can replace the host"
        ));
    }
    if v.endpoint.is_none() {
        return Err("verify.endpoint is required for HTTP checks".into());
    }
    match v.method.as_deref() {
        None | Some("GET" | "POST") => {}
        Some(m) => {
            return Err(format!(
                "verify.method {m:?}: only GET and POST are read-only here"
            ))
        }
    }
    if v.live_field.is_some() == v.live_values.is_empty() {
        return Err("verify.live_field and verify.live_values go together".into());
    }
    let templates = v
        .headers
        .values()
        .chain(v.basic.iter().flatten())
        .chain(v.body.iter())
        .chain(std::iter::once(&url.to_string()))
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    if !templates.contains("{secret}") {
        return Err("verify: no template sends {secret}".into());
    }
    if templates.contains("{partner}") && v.needs.is_empty() {
        return Err("verify: {partner} needs `needs`".into());
    }
    Ok(())
}

fn valid_provider(p: &str) -> bool {
    !p.is_empty()
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

fn valid_id(id: &str) -> bool {
    let mut parts = id.split('.');
    let seg = |s: Option<&str>| {
        s.is_some_and(|s| {
            !s.is_empty()
                && !s.starts_with('_')
                && !s.ends_with('_')
                && s.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        })
    };
    seg(parts.next()) && seg(parts.next()) && parts.next().is_none()
}

/// At most this many rules besides the built-in ones (config `[[rule]]`, `--rules` files,
/// imported gitleaks rules).
pub const MAX_USER_RULES: usize = 2_000;

/// At most this much compiled regex memory for the rules besides the built-in ones.
pub const MAX_USER_REGEX_MEMORY: usize = 256 << 20;

/// An ordered, id-unique collection of rules.
#[derive(Debug, Default, Clone)]
pub struct RuleSet {
    rules: Vec<Arc<Rule>>,
    /// The position of each rule by id (a linear search per push was quadratic in the
    /// thousand built-in rules, a visible part of start-up).
    index: std::collections::HashMap<String, usize>,
    /// Rules that are not built in, and their compiled regex memory.
    user: (usize, usize),
}

impl RuleSet {
    /// The rules embedded in the binary, without their examples (what scans need).
    pub fn builtin() -> Result<RuleSet, RuleError> {
        RuleSet::load_builtin(false)
    }

    /// The rules embedded in the binary with their examples (`rules check`, `rules list`,
    /// the tests), each checked to have them.
    pub fn builtin_with_examples() -> Result<RuleSet, RuleError> {
        RuleSet::load_builtin(true)
    }

    fn load_builtin(examples: bool) -> Result<RuleSet, RuleError> {
        let mut set = RuleSet::default();
        for (name, json, examples_json) in builtin::FILES {
            let origin = format!("builtin:{name}");
            let parse_err = |message: String| RuleError::Parse {
                path: PathBuf::from(&origin),
                message,
            };
            let file: schema::RuleFile =
                serde_json::from_str(json).map_err(|e| parse_err(e.to_string()))?;
            let mut extra: Vec<schema::Examples> = if examples {
                serde_json::from_str::<Vec<Option<schema::Examples>>>(examples_json)
                    .map_err(|e| parse_err(e.to_string()))?
                    .into_iter()
                    .map(Option::unwrap_or_default)
                    .collect()
            } else {
                Vec::new()
            };
            extra.resize_with(file.rule.len(), Default::default);
            for (mut spec, ex) in file.rule.into_iter().zip(extra) {
                let rule = if examples {
                    spec.examples = ex;
                    Rule::new(spec, &origin)?
                } else {
                    Rule::embedded(spec, &origin)?
                };
                set.push(rule)?;
            }
        }
        Ok(set)
    }

    /// Loads one rule file (`.toml`, `.yaml` or `.yml`), compiling every regex.
    pub fn load_file(path: &Path) -> Result<Vec<Rule>, RuleError> {
        let rules = Self::parse_file(path)?;
        for r in &rules {
            r.compile_now()?;
        }
        Ok(rules)
    }

    /// Reads and parses one rule file (`.yaml`/`.yml` as YAML, anything else as TOML)
    /// without compiling regexes; `rules check` reports compile errors itself.
    pub fn parse_file(path: &Path) -> Result<Vec<Rule>, RuleError> {
        let text = crate::untrusted::read_text(
            path,
            crate::untrusted::cap::RULES,
            crate::untrusted::Chooser::User,
        )
        .map_err(|e| RuleError::Parse {
            path: path.to_path_buf(),
            message: e.reason,
        })?
        .ok_or_else(|| RuleError::Read {
            path: path.to_path_buf(),
            err: std::io::Error::from(std::io::ErrorKind::NotFound),
        })?;
        let format = match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            _ => Format::Toml,
        };
        parse_rules(&text, &path.display().to_string(), format)
    }

    /// Adds a rule, rejecting a duplicate id. A rule that is not built in is compiled here
    /// and counted against [`MAX_USER_RULES`] and [`MAX_USER_REGEX_MEMORY`].
    pub fn push(&mut self, rule: Rule) -> Result<(), RuleError> {
        if let Some(&prev) = self.index.get(rule.id()) {
            return Err(RuleError::Duplicate {
                id: rule.id().to_string(),
                first: self.rules[prev].origin.clone(),
                second: rule.origin,
            });
        }
        if !rule.origin.starts_with("builtin:") {
            self.count_user_rule(&rule)?;
        }
        self.index.insert(rule.id().to_string(), self.rules.len());
        self.rules.push(Arc::new(rule));
        Ok(())
    }

    fn count_user_rule(&mut self, rule: &Rule) -> Result<(), RuleError> {
        let too_many = |message: String| RuleError::TooMany {
            origin: rule.origin.clone(),
            message,
        };
        if self.user.0 >= MAX_USER_RULES {
            return Err(too_many(format!(
                "more than {MAX_USER_RULES} rules besides the built-in ones: merge rules or split the scan"
            )));
        }
        // A rule whose regex does not compile is reported by the detector (or `rules check`),
        // not here; only the memory of those that compile counts.
        let memory = rule.regex().map_or(0, |c| c.regex.memory_usage());
        if self.user.1 + memory > MAX_USER_REGEX_MEMORY {
            return Err(too_many(format!(
                "rule {} takes the compiled regexes of the rules besides the built-in ones past {} MiB: simplify the large patterns (bounded repetitions such as {{1,1000}} compile to large automata)",
                rule.id(),
                MAX_USER_REGEX_MEMORY >> 20
            )));
        }
        self.user.0 += 1;
        self.user.1 += memory;
        Ok(())
    }

    /// Puts `rule` in the place of the rule with the same id; false when there is none.
    pub fn replace(&mut self, rule: Rule) -> bool {
        match self.index.get(rule.id()) {
            Some(&at) => {
                self.rules[at] = Arc::new(rule);
                true
            }
            None => false,
        }
    }

    /// Removes the rules for which `keep` is false.
    pub fn retain(&mut self, mut keep: impl FnMut(&Rule) -> bool) {
        self.rules.retain(|r| keep(r));
        self.index = (self.rules.iter().enumerate())
            .map(|(i, r)| (r.id().to_string(), i))
            .collect();
    }

    /// All rules, in load order.
    pub fn rules(&self) -> &[Arc<Rule>] {
        &self.rules
    }

    /// Finds a rule by id.
    pub fn get(&self, id: &str) -> Option<&Arc<Rule>> {
        self.index.get(id).map(|&i| &self.rules[i])
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// True when there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Rule file syntax.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    /// TOML.
    Toml,
    /// YAML.
    Yaml,
}

/// Parses a rule file's text into rules (regexes not compiled yet).
pub fn parse_rules(text: &str, origin: &str, format: Format) -> Result<Vec<Rule>, RuleError> {
    let parse_err = |message: String| RuleError::Parse {
        path: PathBuf::from(origin),
        message,
    };
    let file: schema::RuleFile = match format {
        Format::Toml => toml::from_str(text).map_err(|e| parse_err(toml_message(&e, text)))?,
        Format::Yaml => serde_yaml_ng::from_str(text).map_err(|e| parse_err(e.to_string()))?,
    };
    file.rule
        .into_iter()
        .map(|spec| Rule::new(spec, origin))
        .collect()
}

/// Formats a TOML error as `line L, column C: message`.
pub fn toml_message(e: &toml::de::Error, text: &str) -> String {
    match toml_position(e, text) {
        Some((line, col)) => format!("line {line}, column {col}: {}", e.message()),
        None => e.message().to_string(),
    }
}

/// The 1-based line and column where a TOML error starts, when the parser knows.
pub fn toml_position(e: &toml::de::Error, text: &str) -> Option<(usize, usize)> {
    let span = e.span()?;
    let before = &text.as_bytes()[..span.start.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = before.len()
        - before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1)
        + 1;
    Some((line, col))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_must_be_provider_dot_kind() {
        for ok in ["github.pat", "aws.access_key_id", "a1.b2"] {
            assert!(valid_id(ok), "{ok}");
        }
        for bad in ["github", "GitHub.pat", "a.b.c", "a._b", ".b", "a.", "a-b.c"] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn builtin_rules_load_with_unique_ids() {
        let set = RuleSet::builtin().expect("built-in rules load");
        assert!(set.len() >= 300, "only {} built-in rules", set.len());
    }

    #[test]
    fn unknown_field_is_an_error_with_line() {
        let text = "[[rule]]\nid = \"a.b\"\nnmae = \"x\"\n";
        let err = parse_rules(text, "x.toml", Format::Toml).expect_err("unknown field");
        let msg = err.to_string();
        assert!(msg.contains("line 3"), "{msg}");
        assert!(msg.contains("nmae"), "{msg}");
    }
}
