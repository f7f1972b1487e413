//! Claude Code hooks (`.claude/settings.json` `hooks`): `PreToolUse`, `UserPromptSubmit` and
//! `PostToolUse` events as JSON on stdin; the answer is JSON on stdout with exit 0, or exit 2
//! with the reason on stderr (Claude Code's hooks reference).
//!
//! - `PreToolUse` deny: `hookSpecificOutput.permissionDecision = "deny"` with the reason
//!   (shown to Claude). Allow prints nothing, so the user's own permission rules still apply
//!   (an explicit `allow` would skip them).
//! - `UserPromptSubmit` deny: `{"decision": "block", "reason": ...}` (the prompt is not sent,
//!   the reason is shown to the user).
//! - `PostToolUse`: `{"decision": "block", "reason": ...}` feeds the reason to Claude (the
//!   tool has run; it is told not to use or repeat what it saw).
//! - Warnings go in `additionalContext` (to Claude) and `systemMessage` (to the user).

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{
    event_cwd, json_text, read_event, unhandled, Action, Answer, Decision, Event, Verdict,
};
use super::{event_name, new_strings};

/// The hook events this module answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// Before a tool runs.
    PreToolUse,
    /// Before a prompt is sent.
    UserPromptSubmit,
    /// After a tool ran.
    PostToolUse,
}

/// Reads a Claude Code hook event.
pub fn parse(input: &[u8]) -> Result<(Kind, Event), String> {
    let v = read_event(input)?;
    let name = event_name(&v)?;
    let cwd = event_cwd(&v, &["/cwd"]);
    let session = v["session_id"].as_str().map(String::from);
    let tool = v["tool_name"].as_str().unwrap_or_default();
    let input = &v["tool_input"];
    let (kind, action) = match name {
        "PreToolUse" => (Kind::PreToolUse, tool_action(tool, input)),
        "UserPromptSubmit" => (
            Kind::UserPromptSubmit,
            Action::Prompt {
                text: v["prompt"].as_str().unwrap_or_default().to_string(),
                files: Vec::new(),
            },
        ),
        "PostToolUse" => {
            let mut text = String::new();
            json_text(&v["tool_response"], &mut text);
            (
                Kind::PostToolUse,
                Action::Output {
                    tool: tool.to_string(),
                    text,
                },
            )
        }
        other => {
            return Err(unhandled(
                "Claude Code",
                other,
                "PreToolUse, UserPromptSubmit or PostToolUse",
            ))
        }
    };
    Ok((
        kind,
        Event {
            action,
            cwd,
            session,
        },
    ))
}

/// What a tool call would do, from its name and input.
fn tool_action(tool: &str, input: &Value) -> Action {
    let s = |k: &str| input[k].as_str().unwrap_or_default().to_string();
    match tool {
        "Read" => Action::Read(vec![PathBuf::from(s("file_path"))]),
        // A search inside one file shows its lines; over a folder, PostToolUse sees the output.
        "Grep" if !s("path").is_empty() => Action::Read(vec![PathBuf::from(s("path"))]),
        "Bash" => Action::Shell(s("command")),
        "Write" => Action::Write {
            path: PathBuf::from(s("file_path")),
            text: s("content"),
        },
        "Edit" => Action::Write {
            path: PathBuf::from(s("file_path")),
            text: s("new_string"),
        },
        "MultiEdit" => Action::Write {
            path: PathBuf::from(s("file_path")),
            text: new_strings(&input["edits"]),
        },
        "NotebookEdit" => Action::Write {
            path: PathBuf::from(s("notebook_path")),
            text: s("new_source"),
        },
        // An MCP tool's arguments leave the machine or reach another system.
        t if t.starts_with("mcp__") => {
            let mut text = String::new();
            json_text(input, &mut text);
            Action::Send(text)
        }
        // Codex: a patch's added lines are what it writes.
        "apply_patch" => Action::Write {
            path: PathBuf::from("patch"),
            text: patch_additions(&s("command")),
        },
        _ => Action::Pass,
    }
}

/// The lines a patch adds (`+` lines of a unified diff or of Codex's patch format).
fn patch_additions(patch: &str) -> String {
    patch
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| &l[1..])
        .collect::<Vec<_>>()
        .join("\n")
}

/// Claude Code, or Codex, which reads the same format (its docs: a JSON deny with exit 0 did
/// not block in one build, so Codex gets exit 2 with the reason on stderr, which it documents
/// as blocking too).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Claude Code.
    Claude,
    /// OpenAI Codex CLI.
    Codex,
}

/// The answer to an event.
pub fn answer(flavor: Flavor, kind: &Kind, verdict: &Verdict) -> Answer {
    let msg = &verdict.message;
    if verdict.decision == Decision::Allow {
        return Answer::default();
    }
    if flavor == Flavor::Codex && verdict.decision == Decision::Deny && *kind != Kind::PostToolUse {
        return Answer {
            stdout: String::new(),
            stderr: msg.clone(),
            code: 2,
        };
    }
    let out = match (kind, verdict.decision) {
        (Kind::PreToolUse, Decision::Deny) => json!({
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": msg,
            },
            "systemMessage": msg,
        }),
        (Kind::UserPromptSubmit, Decision::Deny) => json!({
            "decision": "block",
            "reason": msg,
        }),
        (Kind::PostToolUse, Decision::Deny) => json!({
            "decision": "block",
            "reason": msg,
            "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": msg},
        }),
        (k, _) => json!({
            "hookSpecificOutput": {
                "hookEventName": match k {
                    Kind::PreToolUse => "PreToolUse",
                    Kind::UserPromptSubmit => "UserPromptSubmit",
                    Kind::PostToolUse => "PostToolUse",
                },
                "additionalContext": msg,
            },
            "systemMessage": msg,
        }),
    };
    Answer {
        stdout: out.to_string(),
        stderr: String::new(),
        code: 0,
    }
}

/// The answer when the hook itself failed: exit 2 blocks (fail closed); exit 1 lets the
/// action through and shows the message to the user (a non-blocking error).
pub fn failure(message: &str, fail_closed: bool) -> Answer {
    Answer::failed(message, fail_closed, 2, 1)
}
