//! Agent hooks: an AI agent asks before it reads a file, runs a command, sends a prompt or
//! writes a file, and tells after a tool ran. `leakhound ai hook <agent>` turns the agent's
//! event into an [`Event`], [`Guard::decide`] scans what the action would expose with the
//! same detector, triage and allowlists as a scan, and the agent's module answers in that
//! agent's protocol. Decisions name the rule and the place, never the secret.
//!
//! What blocks by default: findings of high-precision provider rules, of credential-file
//! rules, and critical findings of any rule. Generic look-alikes (a `password = ...` that may
//! be a placeholder) are a warning to the agent, so a false positive does not stall its work;
//! `[ai.hook] deny = "all"` makes them block too.

pub mod claude;
pub mod commands;
pub mod copilot;
pub mod cursor;
pub mod gemini;
pub mod install;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::detect::{redact, Detector};
use crate::rules::Precision;
use crate::scan::scan_bytes;

pub use commands::{CommandRule, CommandSpec};

/// Files larger than this are not scanned by the hook (the agent is told so).
pub const MAX_FILE: u64 = 8 << 20;
/// Text larger than this (a prompt, a write, a tool's output) is scanned up to this size.
pub const MAX_TEXT: usize = 8 << 20;

/// What the hook decides to block (`[ai.hook] deny`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DenyLevel {
    /// High-precision provider rules and credential files; generic rules warn.
    #[default]
    Precise,
    /// Every finding blocks.
    All,
}

/// `[ai.hook]` of the config file.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HookSection {
    /// What blocks: `precise` (default) or `all`.
    pub deny: Option<DenyLevel>,
    /// When the hook itself fails (bad event, unreadable config): block (`true`) or let the
    /// action through with a visible warning (`false`, the default).
    pub fail_closed: Option<bool>,
    /// `[[ai.hook.command]]`: more shell command patterns.
    #[serde(default, rename = "command")]
    pub commands: Vec<CommandSpec>,
}

/// The hook settings in effect.
#[derive(Debug, Clone, Default, Serialize)]
pub struct HookSettings {
    /// What blocks.
    pub deny: DenyLevel,
    /// Whether a failure of the hook blocks.
    pub fail_closed: bool,
    /// Command patterns added by the config.
    pub commands: Vec<CommandSpec>,
}

/// What an agent is about to do, or has done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Read these files (a read tool, a search over a file, `@file` in a prompt).
    Read(Vec<PathBuf>),
    /// Read a file whose text the agent sent along (Cursor's `beforeReadFile`).
    ReadText {
        /// The file.
        path: PathBuf,
        /// Its text, as the agent would see it.
        text: String,
    },
    /// Run a shell command.
    Shell(String),
    /// Send a prompt to the model, with files attached (`@file` mentions in the text are
    /// found as well).
    Prompt {
        /// The prompt.
        text: String,
        /// Attached files.
        files: Vec<PathBuf>,
    },
    /// Send data to another system (an MCP tool's arguments).
    Send(String),
    /// Put this text into this file (a write or an edit's new text).
    Write {
        /// The file.
        path: PathBuf,
        /// The text going in.
        text: String,
    },
    /// A tool ran and returned this output.
    Output {
        /// The tool.
        tool: String,
        /// Its output as text.
        text: String,
    },
    /// Nothing leakhound inspects (listing files, web search).
    Pass,
}

/// An agent's event, made agent-neutral.
#[derive(Debug, Clone)]
pub struct Event {
    /// What the agent does.
    pub action: Action,
    /// The agent's working directory (relative paths resolve against it).
    pub cwd: PathBuf,
    /// The agent's session id, for allowances that last one session.
    pub session: Option<String>,
}

/// What the hook answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Go ahead, and the agent is told what looked like a credential.
    Warn,
    /// Do not.
    Deny,
}

/// One thing that triggered a decision; never holds the secret.
#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    /// Rule or command-pattern id.
    pub id: String,
    /// What it is (`GitHub personal access token`) or why the command is denied.
    pub what: String,
    /// Where: `path:line`, `prompt:line`, or `command`.
    pub place: String,
    /// The secret redacted as in reports (`ghp_…(40)`), when there is one.
    pub redacted: Option<String>,
    /// Whether this hit blocks (else it warns).
    pub blocks: bool,
}

/// The decision with what led to it.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    /// Allow, warn or deny.
    pub decision: Decision,
    /// Why, for the agent and the person: what was found, where, and how to allow it.
    pub message: String,
    /// What was found.
    pub hits: Vec<Hit>,
}

impl Verdict {
    fn allow() -> Verdict {
        Verdict {
            decision: Decision::Allow,
            message: String::new(),
            hits: Vec::new(),
        }
    }
}

/// What the hook process prints and how it exits.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// Standard output (the agent's JSON answer), empty for none.
    pub stdout: String,
    /// Standard error (a reason or a failure message), empty for none.
    pub stderr: String,
    /// Exit code.
    pub code: u8,
}

impl Answer {
    /// A failure of the hook: `closed_code` when it must block, else `open_code` with the
    /// message saying it did not block.
    pub fn failed(message: &str, fail_closed: bool, closed_code: u8, open_code: u8) -> Answer {
        let text = format!("leakhound hook: {message}");
        if fail_closed {
            Answer {
                stdout: String::new(),
                stderr: format!("{text} (blocked: [ai.hook] fail_closed = true)"),
                code: closed_code,
            }
        } else {
            Answer {
                stdout: String::new(),
                stderr: format!(
                    "{text} (not blocked: set [ai.hook] fail_closed = true to block when the hook fails)"
                ),
                code: open_code,
            }
        }
    }
}

/// Decides events with one detector and config.
pub struct Guard<'a> {
    detector: &'a Detector,
    config: &'a Config,
    settings: &'a HookSettings,
    /// Built-in and config patterns; each compiles on first use (a read or a prompt never
    /// needs them).
    commands: Vec<CommandRule>,
    baseline: Option<&'a crate::baseline::Baseline>,
    allowed: SessionAllows,
}

impl<'a> Guard<'a> {
    /// A guard over `detector` and `config` (the AI policy applies: the hook sees agent
    /// activity). Config command patterns that do not compile are an error.
    pub fn new(
        detector: &'a Detector,
        config: &'a Config,
        settings: &'a HookSettings,
        baseline: Option<&'a crate::baseline::Baseline>,
    ) -> Result<Guard<'a>, String> {
        let mut commands = commands::builtin();
        // The config's own patterns are checked now (which compiles them): a broken one is
        // the user's to fix.
        for spec in &settings.commands {
            let rule = CommandRule::new(spec.clone());
            let problems = rule.check_examples();
            if !problems.is_empty() {
                return Err(problems.join("; "));
            }
            commands.push(rule);
        }
        Ok(Guard {
            detector,
            config,
            settings,
            commands,
            baseline,
            allowed: SessionAllows::default(),
        })
    }

    /// Allowances for the event's session (see [`SessionAllows`]).
    pub fn with_allows(mut self, allowed: SessionAllows) -> Guard<'a> {
        self.allowed = allowed;
        self
    }

    /// The decision for one event.
    pub fn decide(&self, event: &Event) -> Verdict {
        let mut hits = Vec::new();
        let mut notes = Vec::new();
        match &event.action {
            Action::Pass => return Verdict::allow(),
            Action::Read(paths) => {
                for p in paths {
                    self.read_file(&event.cwd, p, &mut hits, &mut notes);
                }
            }
            Action::ReadText { path, text } => {
                if !self.allowed.path(&event.cwd.join(path)) {
                    self.scan_text(text, &display(&event.cwd, path), &mut hits);
                }
            }
            Action::Send(text) => self.scan_text(text, "tool arguments", &mut hits),
            Action::Shell(command) => {
                if self.allowed.command(command) {
                    return Verdict::allow();
                }
                for rule in &self.commands {
                    if rule.matches(command) {
                        hits.push(Hit {
                            id: format!("command.{}", crate::report::escape(&rule.spec.id)),
                            what: format!(
                                "this command {}",
                                crate::report::escape(&rule.spec.reason)
                            ),
                            place: "command".into(),
                            redacted: None,
                            blocks: true,
                        });
                    }
                }
                self.scan_text(command, "command", &mut hits);
                for target in commands::read_targets(command) {
                    let path = expand_home(&target);
                    if event.cwd.join(&path).is_file() {
                        self.read_file(&event.cwd, &path, &mut hits, &mut notes);
                    }
                }
            }
            Action::Prompt { text, files } => {
                self.scan_text(text, "prompt", &mut hits);
                let mentioned = mentions(text).into_iter().map(|m| expand_home(&m));
                for path in files.iter().cloned().chain(mentioned).take(64) {
                    if event.cwd.join(&path).is_file() {
                        self.read_file(&event.cwd, &path, &mut hits, &mut notes);
                    }
                }
            }
            Action::Write { path, text } => {
                let label = display(&event.cwd, path);
                self.scan_text(text, &label, &mut hits);
            }
            Action::Output { tool, text } => {
                self.scan_text(text, &format!("output of {tool}"), &mut hits);
            }
        }
        self.verdict(&event.action, event.session.as_deref(), hits, notes)
    }

    fn read_file(&self, cwd: &Path, path: &Path, hits: &mut Vec<Hit>, notes: &mut Vec<String>) {
        let full = cwd.join(path);
        if self.allowed.path(&full) {
            return;
        }
        let label = display(cwd, path);
        let meta = match std::fs::metadata(&full) {
            Ok(m) if m.is_file() => m,
            // Not there (yet) or not a file: the agent's tool will say so.
            _ => return,
        };
        if meta.len() > MAX_FILE {
            notes.push(format!(
                "{} is larger than {} MiB and was not checked",
                crate::report::escape(&label),
                MAX_FILE >> 20
            ));
            return;
        }
        match std::fs::read(&full) {
            Ok(bytes) => self.scan(&bytes, &label, hits),
            Err(e) => notes.push(format!(
                "{} could not be read to check it: {}",
                crate::report::escape(&label),
                e.kind()
            )),
        }
    }

    fn scan_text(&self, text: &str, label: &str, hits: &mut Vec<Hit>) {
        let bytes = text.as_bytes();
        self.scan(&bytes[..bytes.len().min(MAX_TEXT)], label, hits);
    }

    fn scan(&self, bytes: &[u8], label: &str, hits: &mut Vec<Hit>) {
        let mut outcome = scan_bytes(bytes, label, self.detector, self.config);
        if let Some(b) = self.baseline {
            crate::baseline::apply(&mut outcome, b, &crate::baseline::today(), false);
        }
        for f in &outcome.findings {
            hits.push(Hit {
                id: f.rule_id.clone(),
                // A config's rule name is the repository's text: escaped like any report.
                what: crate::report::escape(&f.rule_name).into_owned(),
                place: format!("{}:{}", crate::report::escape(label), f.location.line),
                redacted: Some(redact(f.secret.expose())),
                blocks: blocks_by_default(self.detector, f) || self.settings.deny == DenyLevel::All,
            });
        }
    }

    fn verdict(
        &self,
        action: &Action,
        session: Option<&str>,
        hits: Vec<Hit>,
        notes: Vec<String>,
    ) -> Verdict {
        let decision = if hits.iter().any(|h| h.blocks) {
            Decision::Deny
        } else if !hits.is_empty() || !notes.is_empty() {
            Decision::Warn
        } else {
            return Verdict::allow();
        };
        let mut message = String::from("leakhound: ");
        message.push_str(match (action, decision) {
            (Action::Read(_) | Action::ReadText { .. }, Decision::Deny) => {
                "this read would show the agent a credential"
            }
            (Action::Send(_), Decision::Deny) => {
                "these tool arguments hold a credential and were not sent"
            }
            (Action::Shell(_), Decision::Deny) => "this command would print or use a credential",
            (Action::Prompt { .. }, Decision::Deny) => {
                "this prompt holds a credential and was not sent"
            }
            (Action::Write { .. }, Decision::Deny) => {
                "this write would put a credential into a file; read it from an environment variable or a secret manager reference instead"
            }
            (Action::Output { .. }, _) => {
                "the tool's output held a credential: do not use it, repeat it or write it anywhere"
            }
            _ => "this looks like it holds a credential (not blocked: a generic rule, often a false positive); do not copy the value",
        });
        for h in &hits {
            message.push_str("\n- ");
            message.push_str(&h.what);
            if let Some(r) = &h.redacted {
                message.push_str(&format!(" {r}"));
            }
            if h.place == "command" {
                message.push_str(&format!(" [{}]", h.id));
            } else {
                message.push_str(&format!(" at {} [{}]", h.place, h.id));
            }
        }
        for n in &notes {
            message.push_str(&format!("\n- note: {n}"));
        }
        if decision == Decision::Deny {
            message.push_str("\nTo allow it: ");
            let how = match (action, session) {
                (Action::ReadText { path, .. }, Some(s)) => format!(
                    "`leakhound ai allow --session {} --path {}` (this session), or ",
                    shell_quote(s),
                    shell_quote(&path.display().to_string())
                ),
                (Action::Read(paths), Some(s)) => paths
                    .first()
                    .map(|p| {
                        format!(
                            "`leakhound ai allow --session {} --path {}` (this session), or ",
                            shell_quote(s),
                            shell_quote(&p.display().to_string())
                        )
                    })
                    .unwrap_or_default(),
                // A command that holds a credential is never quoted back.
                (Action::Shell(_), _) if hits.iter().any(|h| h.place.starts_with("command:")) => {
                    "take the credential out of the command (read it from an environment variable), or ".into()
                }
                (Action::Shell(c), Some(s)) if c.len() <= 1024 => format!(
                    "`leakhound ai allow --session {} --command {}` (this session), or ",
                    shell_quote(s),
                    shell_quote(c)
                ),
                _ => String::new(),
            };
            message.push_str(&how);
            if hits.iter().all(|h| h.place == "command") {
                message.push_str("run it yourself outside the agent.");
            } else {
                message.push_str(
                    "an allowlist entry or `leakhound:allow` marker (docs/config.md), or a baseline.",
                );
            }
        }
        Verdict {
            decision,
            message,
            hits,
        }
    }
}

/// Whether the hook denies this finding with `[ai.hook] deny = "precise"` (the default):
/// a high-precision provider rule, a credential-file rule, or a critical finding of any rule.
pub fn blocks_by_default(detector: &Detector, f: &crate::finding::Finding) -> bool {
    f.severity == crate::rules::Severity::Critical
        || detector.rules().get(&f.rule_id).is_some_and(|r| {
            r.spec.path.is_some() || (r.spec.precision == Precision::High && !r.spec.catch_all)
        })
}

/// Paths and commands a person allowed for one agent session (`leakhound ai allow`), kept
/// in a small file per session under the user's cache directory.
#[derive(Debug, Clone, Default)]
pub struct SessionAllows {
    paths: Vec<PathBuf>,
    commands: Vec<String>,
}

impl SessionAllows {
    /// The allowances file of a session, under `dir`.
    pub fn file(dir: &Path, session: &str) -> PathBuf {
        let safe: String = session
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(128)
            .collect();
        dir.join(format!("{safe}.json"))
    }

    /// Loads a session's allowances (none when the file is missing or unreadable).
    pub fn load(dir: &Path, session: &str) -> SessionAllows {
        let path = SessionAllows::file(dir, session);
        let Ok(Some(text)) = crate::untrusted::read_text(
            &path,
            crate::untrusted::cap::SMALL,
            crate::untrusted::Chooser::User,
        ) else {
            return SessionAllows::default();
        };
        let stored: StoredAllows = serde_json::from_str(&text).unwrap_or_default();
        SessionAllows {
            paths: stored.paths.into_iter().map(PathBuf::from).collect(),
            commands: stored.commands,
        }
    }

    /// Adds an allowance and writes the file (atomically).
    pub fn add(
        dir: &Path,
        session: &str,
        path: Option<&Path>,
        command: Option<&str>,
    ) -> Result<PathBuf, String> {
        let file = SessionAllows::file(dir, session);
        let mut stored: StoredAllows = crate::untrusted::read_text(
            &file,
            crate::untrusted::cap::SMALL,
            crate::untrusted::Chooser::User,
        )
        .ok()
        .flatten()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
        if let Some(p) = path {
            let abs = std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))?;
            stored.paths.push(abs.display().to_string());
        }
        if let Some(c) = command {
            stored.commands.push(c.to_string());
        }
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let text = serde_json::to_string_pretty(&stored).map_err(|e| e.to_string())?;
        crate::untrusted::write(&file, text.as_bytes()).map_err(|e| e.to_string())?;
        Ok(file)
    }

    fn path(&self, p: &Path) -> bool {
        let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
        self.paths.contains(&abs)
    }

    fn command(&self, c: &str) -> bool {
        self.commands.iter().any(|a| a == c)
    }
}

#[derive(Debug, Default, Deserialize, Serialize)]
struct StoredAllows {
    #[serde(default)]
    paths: Vec<String>,
    #[serde(default)]
    commands: Vec<String>,
}

/// `@path` mentions in a prompt (how agents attach files).
fn mentions(text: &str) -> Vec<String> {
    text.split_whitespace()
        .filter_map(|w| w.strip_prefix('@'))
        .map(|w| w.trim_end_matches([',', '.', ';', ':', ')', '"', '\'']))
        .filter(|w| !w.is_empty() && !w.contains('@'))
        .take(32)
        .map(String::from)
        .collect()
}

fn expand_home(p: &str) -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for prefix in ["~/", "$HOME/", "${HOME}/"] {
        if let (Some(rest), Some(h)) = (p.strip_prefix(prefix), &home) {
            return h.join(rest);
        }
    }
    PathBuf::from(p)
}

fn display(cwd: &Path, path: &Path) -> String {
    path.strip_prefix(cwd)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

/// `s` as one shell word: as it is when it is plain, else in single quotes.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./~".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// Parses a hook event (a UTF-8 byte-order mark, which some agents send on Windows, is
/// skipped).
fn read_event(input: &[u8]) -> Result<serde_json::Value, String> {
    let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    serde_json::from_slice(input).map_err(|e| format!("the hook event is not valid JSON ({e})"))
}

/// The event's `hook_event_name`.
fn event_name(v: &serde_json::Value) -> Result<&str, String> {
    v["hook_event_name"]
        .as_str()
        .ok_or_else(|| "the hook event has no hook_event_name".to_string())
}

/// The new text of a list of edits (`[{old_string, new_string}]`), one per line.
fn new_strings(edits: &serde_json::Value) -> String {
    edits
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e["new_string"].as_str())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

/// The working directory an event names (the first of `keys` that is a string), else ours.
fn event_cwd(v: &serde_json::Value, keys: &[&str]) -> PathBuf {
    keys.iter()
        .find_map(|k| v.pointer(k).and_then(serde_json::Value::as_str))
        .map(PathBuf::from)
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_default()
}

/// The error for an event an agent module does not answer.
fn unhandled(agent: &str, name: &str, handled: &str) -> String {
    format!(
        "leakhound does not handle the {agent} event {:?}; hook it to {handled}",
        crate::report::escape(name)
    )
}

/// The text of a JSON value's strings, one per line (a tool's structured output).
pub fn json_text(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::String(s) if out.len() < MAX_TEXT => {
            out.push_str(s);
            out.push('\n');
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_text(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| json_text(x, out)),
        _ => {}
    }
}

/// Largest hook event read from stdin (a 50 MB `Write` is read and scanned up to
/// [`MAX_TEXT`]; anything larger is a failure of the hook, answered per `fail_closed`).
pub const MAX_EVENT: u64 = 96 << 20;

/// The config, detector and baseline a hook decides with, for the project at `root`.
pub struct Loaded {
    /// The config (the agent session tag set, so the AI policy applies).
    pub config: Config,
    /// The detector.
    pub detector: Detector,
    /// The project's baseline, if its config names one.
    pub baseline: Option<crate::baseline::Baseline>,
    /// Notices from settings discovery (a weakening repository config).
    pub notices: Vec<String>,
}

/// Loads the settings of the project at `root` as a scan of it would (its `leakhound.toml`,
/// allowlists and baseline). With `agent` (`claude-code`, `mcp` ...), what is scanned is that
/// agent's activity and the AI policy applies; without, the policy is as in a scan.
pub fn load(root: &Path, agent: Option<&str>) -> Result<Loaded, String> {
    let found = crate::discover::settings(
        root,
        crate::discover::Lookup {
            config: None,
            baseline: None,
            repo_config: true,
        },
    )
    .map_err(|e| e.to_string())?;
    let mut config = Config::default();
    found
        .file
        .apply(&mut config, &found.origin)
        .map_err(|e| e.to_string())?;
    config.session = agent.map(|a| crate::ai::AiTag {
        tool: a.to_string(),
        signal: "hook".into(),
        confidence: crate::ai::Confidence::High,
        evidence: format!("leakhound runs as {a}'s hook or tool"),
    });
    let rules = found
        .file
        .rule_set(&found.origin)
        .map_err(|e| e.to_string())?;
    Ok(Loaded {
        config,
        detector: Detector::new(rules),
        baseline: found.baseline,
        notices: found.notices,
    })
}

/// Answers one hook event of `agent` (`event` names it for agents whose payload does not).
/// `load` gives the settings for the event's working directory; `allows_dir` is where
/// session allowances are kept. Every failure becomes an answer per `[ai.hook] fail_closed`.
pub fn respond<'l>(
    agent: install::Agent,
    event: Option<&str>,
    input: &[u8],
    load: &dyn Fn(&Path) -> Result<&'l Loaded, String>,
    allows_dir: Option<&Path>,
) -> Answer {
    use install::Agent;
    enum Parsed {
        Claude(claude::Kind),
        Cursor(cursor::Kind),
        Gemini(gemini::Kind),
        Copilot(copilot::Kind),
    }
    let failure = |message: &str, closed: bool| match agent {
        Agent::ClaudeCode | Agent::Codex => claude::failure(message, closed),
        Agent::Cursor => cursor::failure(message, closed),
        Agent::Gemini => gemini::failure(message, closed),
        Agent::Copilot => copilot::failure(message, closed),
    };
    let parsed = match agent {
        Agent::ClaudeCode | Agent::Codex => {
            claude::parse(input).map(|(k, e)| (Parsed::Claude(k), e))
        }
        Agent::Cursor => cursor::parse(input).map(|(k, e)| (Parsed::Cursor(k), e)),
        Agent::Gemini => gemini::parse(input).map(|(k, e)| (Parsed::Gemini(k), e)),
        Agent::Copilot => copilot::parse(input, event).map(|(k, e)| (Parsed::Copilot(k), e)),
    };
    // Before the project's settings are known, the fail-closed choice is the user's default
    // (false) unless the event's project can be loaded; a bad event cannot name a project.
    let (kind, event) = match parsed {
        Ok(p) => p,
        Err(e) => {
            let closed = std::env::current_dir()
                .ok()
                .and_then(|d| load(&d).ok())
                .is_some_and(|l| l.config.hook.fail_closed);
            return failure(&e, closed);
        }
    };
    if event.action == Action::Pass {
        return match kind {
            Parsed::Claude(_) | Parsed::Copilot(_) => Answer::default(),
            Parsed::Cursor(k) => cursor::answer(k, &Verdict::allow()),
            Parsed::Gemini(k) => gemini::answer(k, &Verdict::allow()),
        };
    }
    let loaded = match load(&event.cwd) {
        Ok(l) => l,
        Err(e) => return failure(&format!("settings not loaded: {e}"), false),
    };
    let guard = match Guard::new(
        &loaded.detector,
        &loaded.config,
        &loaded.config.hook,
        loaded.baseline.as_ref(),
    ) {
        Ok(g) => g,
        Err(e) => {
            return failure(
                &format!("[ai.hook] command patterns: {e}"),
                loaded.config.hook.fail_closed,
            )
        }
    };
    let guard = match (&event.session, allows_dir) {
        (Some(s), Some(dir)) => guard.with_allows(SessionAllows::load(dir, s)),
        _ => guard,
    };
    let verdict = guard.decide(&event);
    let mut answer = match kind {
        Parsed::Claude(k) => claude::answer(
            if agent == Agent::Codex {
                claude::Flavor::Codex
            } else {
                claude::Flavor::Claude
            },
            &k,
            &verdict,
        ),
        Parsed::Cursor(k) => cursor::answer(k, &verdict),
        Parsed::Gemini(k) => gemini::answer(k, &verdict),
        Parsed::Copilot(k) => copilot::answer(k, &verdict),
    };
    for n in &loaded.notices {
        answer
            .stderr
            .push_str(&format!("leakhound: {}\n", crate::report::escape(n)));
    }
    answer
}
