//! GitHub Copilot hooks (`.github/hooks/*.json` for the coding agent and Copilot CLI,
//! `~/.copilot/hooks/*.json` for the CLI): `preToolUse` with `toolName` and `toolArgs` (a
//! JSON string, or an object), `postToolUse` and `userPromptSubmitted`. Per GitHub's hooks
//! reference only a `preToolUse` answer of `{"permissionDecision": "deny",
//! "permissionDecisionReason"}` with exit 0 blocks: a non-zero exit never does, and the
//! answers to `userPromptSubmitted` and `postToolUse` are ignored, so those are reported on
//! stderr (the hook log) and cannot block. The VS Code-compatible form (`PreToolUse` with
//! `tool_name`/`tool_input`) is read too.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{
    event_cwd, json_text, read_event, unhandled, Action, Answer, Decision, Event, Verdict,
};

/// The Copilot events this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `preToolUse`.
    PreToolUse,
    /// `postToolUse` (report only).
    PostToolUse,
    /// `userPromptSubmitted` (report only).
    Prompt,
}

/// Reads a Copilot hook event. The event name comes from the payload when it carries one
/// (`hook_event_name`/`hookEventName`), else from `--event`, which the installed hook passes.
pub fn parse(input: &[u8], event: Option<&str>) -> Result<(Kind, Event), String> {
    let v = read_event(input)?;
    let name = v["hook_event_name"]
        .as_str()
        .or(v["hookEventName"].as_str())
        .or(event)
        .ok_or("the hook event names no event: install the hook with `leakhound ai install-hook copilot`, which passes --event")?;
    let cwd = event_cwd(&v, &["/cwd"]);
    let tool = v["toolName"]
        .as_str()
        .or(v["tool_name"].as_str())
        .unwrap_or_default();
    let args = match (&v["toolArgs"], &v["tool_input"]) {
        (Value::String(s), _) => serde_json::from_str(s).unwrap_or(Value::Null),
        (Value::Null, input) => input.clone(),
        (a, _) => a.clone(),
    };
    let s = |k: &str| args[k].as_str().unwrap_or_default().to_string();
    let (kind, action) = match name {
        "preToolUse" | "PreToolUse" => {
            let action = match tool {
                "bash" | "powershell" | "shell" | "runTerminalCommand" | "run_in_terminal" => {
                    Action::Shell(s("command"))
                }
                "view" | "read" | "readFile" | "read_file" => Action::Read(vec![PathBuf::from(
                    args["path"]
                        .as_str()
                        .or(args["filePath"].as_str())
                        .unwrap_or_default(),
                )]),
                "create" | "createFile" | "create_file" => Action::Write {
                    path: PathBuf::from(s("path")),
                    text: args["file_text"]
                        .as_str()
                        .or(args["content"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                },
                "edit" | "editFiles" | "str_replace" => Action::Write {
                    path: PathBuf::from(s("path")),
                    text: args["new_str"]
                        .as_str()
                        .or(args["new_string"].as_str())
                        .unwrap_or_default()
                        .to_string(),
                },
                _ => Action::Pass,
            };
            (Kind::PreToolUse, action)
        }
        "postToolUse" | "PostToolUse" => {
            let mut text = String::new();
            json_text(&v["toolResult"], &mut text);
            json_text(&v["tool_response"], &mut text);
            (
                Kind::PostToolUse,
                Action::Output {
                    tool: tool.to_string(),
                    text,
                },
            )
        }
        "userPromptSubmitted" | "UserPromptSubmit" => (
            Kind::Prompt,
            Action::Prompt {
                text: v["prompt"].as_str().unwrap_or_default().to_string(),
                files: Vec::new(),
            },
        ),
        other => {
            return Err(unhandled(
                "Copilot",
                other,
                "preToolUse, postToolUse or userPromptSubmitted",
            ))
        }
    };
    Ok((
        kind,
        Event {
            action,
            cwd,
            session: v["sessionId"]
                .as_str()
                .or(v["session_id"].as_str())
                .map(String::from),
        },
    ))
}

/// The answer to an event.
pub fn answer(kind: Kind, verdict: &Verdict) -> Answer {
    let msg = &verdict.message;
    match (kind, verdict.decision) {
        (_, Decision::Allow) => Answer::default(),
        (Kind::PreToolUse, Decision::Deny) => Answer {
            stdout: json!({"permissionDecision": "deny", "permissionDecisionReason": msg})
                .to_string(),
            stderr: String::new(),
            code: 0,
        },
        // Copilot cannot be told: the hook log and the person can.
        _ => Answer {
            stdout: String::new(),
            stderr: msg.clone(),
            code: 0,
        },
    }
}

/// The answer when the hook itself failed. Copilot ignores exit codes, so failing closed
/// is a deny answer.
pub fn failure(message: &str, fail_closed: bool) -> Answer {
    let mut a = Answer::failed(message, fail_closed, 0, 1);
    if fail_closed {
        a.stdout =
            json!({"permissionDecision": "deny", "permissionDecisionReason": a.stderr}).to_string();
    }
    a
}
