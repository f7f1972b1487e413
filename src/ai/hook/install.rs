//! `leakhound ai install-hook <agent>`: merges leakhound's hook into an agent's settings file
//! without touching the other hooks there, idempotently, and takes it out again with
//! `--uninstall`. A settings file that is not valid JSON is an error and is left as it was;
//! the new file is written whole and renamed into place.

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

/// The agents leakhound guards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Agent {
    /// Claude Code (`.claude/settings.json`).
    #[value(name = "claude-code", alias = "claude")]
    ClaudeCode,
    /// Cursor (`.cursor/hooks.json`).
    Cursor,
    /// Gemini CLI (`.gemini/settings.json`).
    #[value(name = "gemini", alias = "gemini-cli")]
    Gemini,
    /// GitHub Copilot coding agent and CLI (`.github/hooks/leakhound.json`).
    Copilot,
    /// OpenAI Codex CLI (`.codex/hooks.json`).
    Codex,
}

impl Agent {
    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Agent::ClaudeCode => "claude-code",
            Agent::Cursor => "cursor",
            Agent::Gemini => "gemini",
            Agent::Copilot => "copilot",
            Agent::Codex => "codex",
        }
    }

    /// Every agent.
    pub fn all() -> [Agent; 5] {
        [
            Agent::ClaudeCode,
            Agent::Cursor,
            Agent::Gemini,
            Agent::Copilot,
            Agent::Codex,
        ]
    }

    /// The settings file, relative to the project root or the home directory.
    pub fn settings_file(self, user: bool) -> &'static str {
        match (self, user) {
            (Agent::ClaudeCode, _) => ".claude/settings.json",
            (Agent::Cursor, _) => ".cursor/hooks.json",
            (Agent::Gemini, _) => ".gemini/settings.json",
            (Agent::Copilot, false) => ".github/hooks/leakhound.json",
            (Agent::Copilot, true) => ".copilot/hooks/leakhound.json",
            (Agent::Codex, _) => ".codex/hooks.json",
        }
    }
}

/// Marks our entries: any hook command containing this is leakhound's.
const MARK: &str = "ai hook ";

fn is_ours(v: &Value) -> bool {
    ["command", "bash", "powershell"].iter().any(|k| {
        v[k].as_str()
            .is_some_and(|c| c.contains("leakhound") && c.contains(MARK))
    })
}

/// What an install or uninstall did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The file was written.
    Written(PathBuf),
    /// Nothing to do: already as asked.
    Unchanged(PathBuf),
    /// The file (ours alone) was removed.
    Removed(PathBuf),
}

/// Installs (or with `uninstall`, removes) leakhound's hook in `agent`'s settings file under
/// `base` (the project root, or the home directory when `user`). `exe` is the command that
/// runs leakhound.
pub fn install(
    agent: Agent,
    base: &Path,
    user: bool,
    exe: &str,
    uninstall: bool,
) -> Result<Change, String> {
    let path = base.join(agent.settings_file(user));
    let existing = match crate::untrusted::read_text(
        &path,
        crate::untrusted::cap::SMALL,
        crate::untrusted::Chooser::User,
    ) {
        Ok(t) => t,
        Err(e) => return Err(e.to_string()),
    };
    let mut doc: Value = match &existing {
        Some(t) if !t.trim().is_empty() => serde_json::from_str(t).map_err(|e| {
            format!(
                "{}: not valid JSON (line {}, column {}); fix it and run again, nothing was written",
                path.display(),
                e.line(),
                e.column()
            )
        })?,
        _ => json!({}),
    };
    if !doc.is_object() {
        return Err(format!(
            "{}: the settings are not a JSON object; nothing was written",
            path.display()
        ));
    }
    let before = doc.clone();
    remove_ours(&mut doc);
    if !uninstall {
        add_ours(agent, &mut doc, exe);
    }
    if doc == before {
        return Ok(Change::Unchanged(path));
    }
    // A file that held only our hook goes away with it.
    let empty_hooks = doc["hooks"].as_object().is_none_or(Map::is_empty);
    let only_meta = doc
        .as_object()
        .is_some_and(|o| o.keys().all(|k| k == "hooks" || k == "version"));
    if uninstall && empty_hooks && only_meta && existing.is_some() {
        std::fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(Change::Removed(path));
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    let mut text = serde_json::to_string_pretty(&doc).map_err(|e| e.to_string())?;
    text.push('\n');
    crate::untrusted::write(&path, text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(Change::Written(path))
}

/// Whether `agent`'s settings under `base` hold leakhound's hook.
pub fn installed(agent: Agent, base: &Path, user: bool) -> bool {
    let path = base.join(agent.settings_file(user));
    let Ok(Some(text)) = crate::untrusted::read_text(
        &path,
        crate::untrusted::cap::SMALL,
        crate::untrusted::Chooser::Repo,
    ) else {
        return false;
    };
    let Ok(doc) = serde_json::from_str::<Value>(&text) else {
        return false;
    };
    let mut found = false;
    visit_hooks(&doc, &mut |h| found |= is_ours(h));
    found
}

fn visit_hooks(doc: &Value, f: &mut dyn FnMut(&Value)) {
    let Some(events) = doc["hooks"].as_object() else {
        return;
    };
    for groups in events.values() {
        for g in groups.as_array().into_iter().flatten() {
            f(g);
            for h in g["hooks"].as_array().into_iter().flatten() {
                f(h);
            }
        }
    }
}

/// Takes every leakhound entry out, dropping groups and events left empty.
fn remove_ours(doc: &mut Value) {
    let Some(events) = doc.get_mut("hooks").and_then(Value::as_object_mut) else {
        return;
    };
    for groups in events.values_mut() {
        let Some(list) = groups.as_array_mut() else {
            continue;
        };
        list.retain(|g| !is_ours(g));
        for g in list.iter_mut() {
            if let Some(hs) = g.get_mut("hooks").and_then(Value::as_array_mut) {
                hs.retain(|h| !is_ours(h));
            }
        }
        list.retain(|g| {
            g.get("hooks")
                .is_none_or(|h| h.as_array().is_some_and(|a| !a.is_empty()))
        });
    }
    events.retain(|_, g| g.as_array().is_none_or(|a| !a.is_empty()));
}

fn add_ours(agent: Agent, doc: &mut Value, exe: &str) {
    let cmd = format!("{exe} ai hook {}", agent.name());
    let obj = doc.as_object_mut().expect("checked: an object");
    let hooks = obj
        .entry("hooks")
        .or_insert_with(|| json!({}))
        .as_object_mut();
    let Some(hooks) = hooks else {
        // `hooks` of another type: replaced, since the agent could not read it either.
        obj.insert("hooks".into(), json!({}));
        return add_ours(agent, doc, exe);
    };
    let mut push = |event: &str, entry: Value| {
        let list = hooks.entry(event).or_insert_with(|| json!([]));
        if !list.is_array() {
            *list = json!([]);
        }
        list.as_array_mut().expect("an array").push(entry);
    };
    let group = |matcher: Option<&str>, hook: Value| match matcher {
        Some(m) => json!({"matcher": m, "hooks": [hook]}),
        None => json!({"hooks": [hook]}),
    };
    match agent {
        Agent::ClaudeCode | Agent::Codex => {
            let hook = json!({"type": "command", "command": cmd, "timeout": 30});
            let pre = if agent == Agent::Codex {
                "Bash|apply_patch|mcp__.*"
            } else {
                "Read|Grep|Bash|Write|Edit|MultiEdit|NotebookEdit|mcp__.*"
            };
            push("PreToolUse", group(Some(pre), hook.clone()));
            push("UserPromptSubmit", group(None, hook.clone()));
            push(
                "PostToolUse",
                group(Some("Read|Grep|Bash|WebFetch|mcp__.*"), hook),
            );
        }
        Agent::Cursor => {
            obj_version(doc);
            let hooks = doc["hooks"].as_object_mut().expect("just made");
            for event in [
                "beforeReadFile",
                "beforeShellExecution",
                "beforeMCPExecution",
                "beforeSubmitPrompt",
                "afterFileEdit",
            ] {
                let list = hooks.entry(event).or_insert_with(|| json!([]));
                if !list.is_array() {
                    *list = json!([]);
                }
                list.as_array_mut()
                    .expect("an array")
                    .push(json!({"command": cmd}));
            }
        }
        Agent::Gemini => {
            let hook =
                json!({"type": "command", "command": cmd, "name": "leakhound", "timeout": 30000});
            push(
                "BeforeTool",
                group(
                    Some("read_file|read_many_files|run_shell_command|write_file|replace|mcp__.*"),
                    hook.clone(),
                ),
            );
            push("BeforeAgent", group(None, hook.clone()));
            push(
                "AfterTool",
                group(
                    Some(
                        "read_file|read_many_files|run_shell_command|grep_search|web_fetch|mcp__.*",
                    ),
                    hook,
                ),
            );
        }
        Agent::Copilot => {
            obj_version(doc);
            let hooks = doc["hooks"].as_object_mut().expect("just made");
            for event in ["preToolUse", "postToolUse", "userPromptSubmitted"] {
                let c = format!("{cmd} --event {event}");
                let list = hooks.entry(event).or_insert_with(|| json!([]));
                if !list.is_array() {
                    *list = json!([]);
                }
                list.as_array_mut()
                    .expect("an array")
                    .push(json!({"type": "command", "bash": c, "powershell": c, "timeoutSec": 30}));
            }
        }
    }
}

fn obj_version(doc: &mut Value) {
    if let Some(o) = doc.as_object_mut() {
        o.entry("version").or_insert(json!(1));
    }
}
