//! Coming from gitleaks or betterleaks: their TOML config (`[[rules]]`, `[allowlist]`,
//! `[[allowlists]]`, `[extend]`) and their `.gitleaksignore`, translated into a
//! [`FileConfig`]. What does not translate is listed, never dropped silently.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::allow::{AllowSpec, Condition};
use crate::config::{ConfigError, FileConfig};
use crate::rules::{Precision, Rule, RuleSpec, Severity};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GlConfig {
    title: Option<String>,
    #[serde(rename = "minVersion")]
    min_version: Option<String>,
    extend: Option<GlExtend>,
    rules: Vec<GlRule>,
    allowlist: Option<GlAllow>,
    allowlists: Vec<GlAllow>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GlExtend {
    #[serde(rename = "useDefault")]
    use_default: Option<bool>,
    path: Option<String>,
    url: Option<String>,
    #[serde(rename = "disabledRules")]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct GlRule {
    id: String,
    description: Option<String>,
    regex: Option<String>,
    #[serde(rename = "secretGroup")]
    secret_group: Option<usize>,
    entropy: Option<f64>,
    keywords: Vec<String>,
    path: Option<String>,
    tags: Vec<String>,
    allowlist: Option<GlAllow>,
    allowlists: Vec<GlAllow>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct GlAllow {
    description: Option<String>,
    condition: Option<String>,
    commits: Vec<String>,
    paths: Vec<String>,
    #[serde(rename = "regexTarget")]
    regex_target: Option<String>,
    regexes: Vec<String>,
    stopwords: Vec<String>,
    #[serde(rename = "targetRules")]
    target_rules: Vec<String>,
    #[serde(flatten)]
    other: BTreeMap<String, toml::Value>,
}

/// The result of an import.
#[derive(Debug, Default)]
pub struct Import {
    /// The translated configuration.
    pub config: FileConfig,
    /// Rules translated.
    pub rules_translated: usize,
    /// Rules that were not, with the reason: (gitleaks rule id, reason).
    pub rules_skipped: Vec<(String, String)>,
    /// Other things that did not translate, one sentence each.
    pub notes: Vec<String>,
}

/// Our id for a gitleaks rule id: `gitleaks.<id with - and . as _>`.
pub fn rule_id(id: &str) -> String {
    let kind: String = id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("gitleaks.{kind}")
}

/// Go's RE2 reads a `{` that does not start a repetition (`{{`, `{\d+}` after nothing, `{x`)
/// as a literal; Rust's regex does not. Escape those, leave real repetitions alone.
pub fn go_regex(p: &str) -> String {
    let b = p.as_bytes();
    let mut out = String::with_capacity(p.len() + 8);
    let mut i = 0;
    let mut in_class = false;
    while i < b.len() {
        let c = b[i] as char;
        if c == '\\' && i + 1 < b.len() {
            let n = p[i + 1..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&p[i..i + 1 + n]);
            i += 1 + n;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
        } else if c == '[' {
            in_class = true;
            out.push(c);
            i += 1;
            // A `]` right after `[` or `[^` is a literal member.
            if b.get(i) == Some(&b'^') {
                out.push('^');
                i += 1;
            }
            if b.get(i) == Some(&b']') {
                out.push(']');
                i += 1;
            }
            continue;
        } else if c == '{' {
            let rest = &p[i + 1..];
            let close = rest.find('}');
            let quantifier = close.is_some_and(|e| {
                let inner = &rest[..e];
                let (lo, hi) = inner.split_once(',').unwrap_or((inner, "0"));
                !lo.is_empty()
                    && lo.bytes().all(|d| d.is_ascii_digit())
                    && hi.bytes().all(|d| d.is_ascii_digit())
            });
            // A repetition needs something before it to repeat.
            let after_atom = !out.is_empty() && !out.ends_with(['(', '|']);
            if !(quantifier && after_atom) {
                out.push_str("\\{");
                i += 1;
                continue;
            }
        }
        let n = p[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&p[i..i + n]);
        i += n;
    }
    out
}

/// Translates a gitleaks/betterleaks config file's text.
pub fn gitleaks(text: &str, origin: &str) -> Result<Import, ConfigError> {
    let gl: GlConfig = toml::from_str(text).map_err(|e| ConfigError {
        at: origin.to_string(),
        message: format!(
            "not a gitleaks config: {}",
            crate::rules::toml_message(&e, text)
        ),
    })?;
    let mut out = Import::default();
    out.config.imported = true;
    let _ = (&gl.title, &gl.min_version);
    for key in gl.other.keys() {
        out.notes.push(format!(
            "top-level key `{key}` is not understood and was ignored"
        ));
    }
    match &gl.extend {
        Some(ext) => {
            // Our built-in rules stand in for gitleaks' defaults.
            out.config.builtin_rules = Some(ext.use_default.unwrap_or(false) || ext.path.is_some());
            if ext.use_default == Some(true) {
                out.notes.push(
                    "[extend] useDefault = true: leakhound's built-in rules stand in for gitleaks' defaults".into(),
                );
            }
            if let Some(p) = &ext.path {
                out.notes.push(format!(
                    "[extend] path = {p:?} is not followed: import that file too, or keep the built-in rules"
                ));
            }
            if let Some(u) = &ext.url {
                out.notes
                    .push(format!("[extend] url = {u:?} is not fetched"));
            }
            for r in &ext.disabled_rules {
                out.notes.push(format!(
                    "[extend] disabledRules {r:?} names a gitleaks default rule; leakhound's ids differ: disable ours with [rules] disable = [...]"
                ));
            }
        }
        // A gitleaks config without [extend] replaces the defaults: so do we.
        None => out.config.builtin_rules = Some(gl.rules.is_empty()),
    }
    for r in &gl.rules {
        match translate_rule(r, origin) {
            Ok((spec, allows)) => {
                out.rules_translated += 1;
                out.config.rule.push(spec);
                out.config.allowlist.extend(allows);
            }
            Err(why) => out.rules_skipped.push((r.id.clone(), why)),
        }
    }
    let mut globals: Vec<GlAllow> = gl.allowlists.clone();
    if let Some(a) = &gl.allowlist {
        globals.insert(0, a.clone());
    }
    for a in &globals {
        match translate_allow(
            a,
            &a.target_rules
                .iter()
                .map(|r| rule_id(r))
                .collect::<Vec<_>>(),
        ) {
            Ok(spec) => out.config.allowlist.push(spec),
            Err(why) => out
                .notes
                .push(format!("allowlist {:?}: {why}", a.description)),
        }
    }
    Ok(out)
}

fn translate_rule(r: &GlRule, origin: &str) -> Result<(RuleSpec, Vec<AllowSpec>), String> {
    if r.id.is_empty() {
        return Err("the rule has no id".into());
    }
    if let Some(k) = r.other.keys().next() {
        return Err(format!("field `{k}` is not understood"));
    }
    let Some(regex) = &r.regex else {
        return Err(
            "path-only rule: it flags files by name, and leakhound reports secrets, not file names"
                .into(),
        );
    };
    let keywords: Vec<String> = r
        .keywords
        .iter()
        .map(|k| k.to_lowercase())
        .filter(|k| k.len() >= 2)
        .collect();
    if keywords.is_empty() {
        return Err(format!(
            "no keyword of 2 or more characters (has {:?}): leakhound needs a literal to prefilter on; add one",
            r.keywords
        ));
    }
    let id = rule_id(&r.id);
    let spec = RuleSpec {
        id: id.clone(),
        name: r.description.clone().unwrap_or_else(|| r.id.clone()),
        description: Some(format!("Imported from gitleaks rule {:?}", r.id)),
        keywords,
        keywords_exact: false,
        regex: Some(go_regex(regex)),
        assign: None,
        min_entropy: r.entropy.filter(|e| *e > 0.0),
        checksum: None,
        reject: Default::default(),
        severity: Severity::High,
        precision: Precision::Medium,
        catch_all: r.id.starts_with("generic"),
        blast_radius: format!(
            "Unknown: imported from gitleaks rule {:?}{}",
            r.id,
            if r.tags.is_empty() {
                String::new()
            } else {
                format!(" (tags: {})", r.tags.join(", "))
            }
        ),
        references: Vec::new(),
        revoke: None,
        partners: Vec::new(),
        report_weak: false,
        allow_placeholders: false,
        examples: Default::default(),
        secret_group: Some(match r.secret_group {
            Some(n) => crate::rules::SecretGroup::Index(n),
            None => crate::rules::SecretGroup::First(crate::rules::FirstGroup::First),
        }),
        path: r.path.clone(),
        keyword_in_match: false,
        verify: None,
    };
    let rule = Rule::imported(spec.clone(), origin).map_err(|e| e.to_string())?;
    rule.compile_now().map_err(|e| match e {
        crate::rules::RuleError::Invalid { message, .. } => message,
        other => other.to_string(),
    })?;
    let mut allows = Vec::new();
    let mut lists = r.allowlists.clone();
    if let Some(a) = &r.allowlist {
        lists.insert(0, a.clone());
    }
    for a in &lists {
        allows.push(translate_allow(a, std::slice::from_ref(&id))?);
    }
    Ok((spec, allows))
}

fn translate_allow(a: &GlAllow, rules: &[String]) -> Result<AllowSpec, String> {
    if let Some(k) = a.other.keys().next() {
        return Err(format!("field `{k}` is not understood"));
    }
    let paths: Vec<String> = a.paths.iter().map(|p| go_regex(p)).collect();
    let regexes: Vec<String> = a.regexes.iter().map(|p| go_regex(p)).collect();
    for p in paths.iter().chain(&regexes) {
        regex::Regex::new(p).map_err(|e| format!("pattern {p:?} does not compile here: {e}"))?;
    }
    let mut spec = AllowSpec {
        description: a
            .description
            .clone()
            .unwrap_or_else(|| "imported from gitleaks".into()),
        rules: rules.to_vec(),
        path_regexes: paths,
        stopwords: a.stopwords.clone(),
        commits: a.commits.clone(),
        condition: match a
            .condition
            .as_deref()
            .map(str::to_ascii_uppercase)
            .as_deref()
        {
            None | Some("OR") => Condition::Any,
            Some("AND") => Condition::All,
            Some(other) => return Err(format!("condition {other:?} is not OR or AND")),
        },
        ..AllowSpec::default()
    };
    match a.regex_target.as_deref().unwrap_or("secret") {
        "secret" => spec.secrets = regexes,
        "match" => spec.matches = regexes,
        "line" => spec.lines = regexes,
        other => {
            return Err(format!(
                "regexTarget {other:?} is not secret, match or line"
            ))
        }
    }
    Ok(spec)
}

/// Reads `.gitleaksignore` lines (`commit:path:rule:line` in history, `path:rule:line` for
/// files): each suppresses findings at that path and line (and commit), whatever the rule,
/// since gitleaks' rule ids are not ours.
pub fn gitleaksignore(
    text: &str,
    origin: &str,
) -> Result<Vec<(Option<String>, String, usize)>, ConfigError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Described, never quoted: the file may not be what it claims to be.
        let bad = || ConfigError {
            at: format!("{origin}:{}", i + 1),
            message:
                "not a gitleaks fingerprint: expected `path:rule:line` or `commit:path:rule:line`"
                    .into(),
        };
        let mut parts = line.rsplitn(3, ':');
        let (Some(num), Some(_rule), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let num: usize = num.parse().map_err(|_| bad())?;
        let (commit, path) = match rest.split_once(':') {
            Some((c, p)) if c.len() >= 7 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
                (Some(c.to_ascii_lowercase()), p.to_string())
            }
            _ => (None, rest.to_string()),
        };
        out.push((commit, path, num));
    }
    Ok(out)
}

/// The text `leakhound config import` writes: a comment header saying what did not translate
/// (rules with the reason, notes, a warning when gitleaks' default rules were replaced), then
/// the translated config as TOML. `origin` names the gitleaks file.
pub fn render(imp: &Import, origin: &str) -> Result<String, toml::ser::Error> {
    let mut body = format!(
        "# Translated from {origin} by `leakhound config import`: {} rule(s) translated, {} not.\n",
        imp.rules_translated,
        imp.rules_skipped.len()
    );
    for (id, why) in &imp.rules_skipped {
        body.push_str(&format!("# not translated: {id}: {why}\n"));
    }
    for n in &imp.notes {
        body.push_str(&format!("# note: {n}\n"));
    }
    if imp.config.builtin_rules == Some(false) {
        body.push_str(
            "# The gitleaks config replaced gitleaks' default rules. leakhound's built-in rules stay on\n# when this file is used as leakhound.toml; switch some off with [rules] disable = [...].\n",
        );
    }
    body.push_str(&toml::to_string(&imp.config)?);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_import_lists_what_did_not_translate_and_reads_back() {
        let text = r#"
[extend]
useDefault = false

[[rules]]
id = "pem-file"
path = '''\.pem$'''

[[rules]]
id = "acme-token"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]
"#;
        let imp = gitleaks(text, "g.toml").expect("parses");
        let out = render(&imp, "g.toml").expect("renders");
        assert!(
            out.starts_with(
                "# Translated from g.toml by `leakhound config import`: 1 rule(s) translated, 1 not.\n# not translated: pem-file: "
            ),
            "{out}"
        );
        assert!(
            out.contains("# The gitleaks config replaced gitleaks' default rules."),
            "{out}"
        );
        let back: FileConfig = toml::from_str(&out).expect("a valid leakhound.toml");
        assert_eq!(back.rule[0].id, "gitleaks.acme_token");
    }

    #[test]
    fn a_small_config_translates_and_reports_the_rest() {
        let text = r#"
title = "team config"
[extend]
useDefault = true
disabledRules = ["generic-api-key"]

[[rules]]
id = "acme-token"
description = "Acme token"
regex = '''acme_[a-z0-9]{16}'''
keywords = ["acme_"]
entropy = 3.0
[[rules.allowlists]]
regexTarget = "line"
regexes = ['''example''']

[[rules]]
id = "pem-file"
path = '''\.pem$'''

[[rules]]
id = "lookahead"
regex = '''token(?=abc)[a-z]{8}'''
keywords = ["token"]

[[allowlists]]
description = "fixtures"
paths = ['''^testdata/''']
stopwords = ["dummy"]
"#;
        let imp = gitleaks(text, ".gitleaks.toml").expect("parses");
        assert_eq!(imp.rules_translated, 1);
        assert_eq!(imp.rules_skipped.len(), 2, "{:?}", imp.rules_skipped);
        assert!(imp
            .rules_skipped
            .iter()
            .any(|(id, why)| id == "pem-file" && why.contains("path-only")));
        assert!(
            imp.rules_skipped
                .iter()
                .any(|(id, why)| id == "lookahead" && why.contains("look")),
            "{:?}",
            imp.rules_skipped
        );
        assert_eq!(imp.config.builtin_rules, Some(true));
        assert!(imp.notes.iter().any(|n| n.contains("disabledRules")));
        assert_eq!(imp.config.rule[0].id, "gitleaks.acme_token");
        assert_eq!(imp.config.allowlist.len(), 2);
        assert_eq!(imp.config.allowlist[0].rules, ["gitleaks.acme_token"]);
        assert_eq!(imp.config.allowlist[0].lines, ["example"]);
        assert_eq!(imp.config.allowlist[1].path_regexes, ["^testdata/"]);
    }

    #[test]
    fn go_regexes_translate() {
        assert_eq!(go_regex("a{2,3}"), "a{2,3}");
        assert_eq!(go_regex("\\${{[^}]+}}"), "\\$\\{\\{[^}]+}}");
        assert_eq!(go_regex("import[ ]+{[ \\w,]+}"), "import[ ]+\\{[ \\w,]+}");
        assert_eq!(go_regex("(?:\\d+|{\\d+})"), "(?:\\d+|\\{\\d+})");
        assert_eq!(go_regex("[{]x{1}"), "[{]x{1}");
        for p in [
            "a{2,3}",
            "\\${{[^}]+}}",
            "import[ ]+{[ \\w,]+}",
            "(?:\\d+|{\\d+})",
        ] {
            assert!(regex::Regex::new(&go_regex(p)).is_ok(), "{p}");
        }
    }

    #[test]
    fn gitleaksignore_lines() {
        let got = gitleaksignore(
            "# c\nconfig/.env:generic-api-key:3\n0123456789abcdef0123456789abcdef01234567:src/a.py:aws-access-token:12\n",
            ".gitleaksignore",
        )
        .expect("valid");
        assert_eq!(got[0], (None, "config/.env".into(), 3));
        assert_eq!(
            got[1].0.as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(got[1].2, 12);
        let e = gitleaksignore("just-a-path\n", ".gitleaksignore").expect_err("bad");
        assert!(e.at.ends_with(":1"), "{e}");
    }
}
