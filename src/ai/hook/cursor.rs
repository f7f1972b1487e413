//! Cursor hooks (`.cursor/hooks.json`, `{"version": 1, "hooks": {...}}`): `beforeReadFile`
//! (with the file's content), `beforeShellExecution`, `beforeMCPExecution`,
//! `beforeSubmitPrompt` (with attachments) and `afterFileEdit` (observe only: Cursor does not
//! let it block). Answers per Cursor's hooks reference: `{"permission": "allow"|"deny",
//! "user_message", "agent_message"}`, and `{"continue": false, "user_message"}` for a prompt.
//! Exit 2 blocks; other failures fail open unless the hook entry sets `failClosed`.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::{
    event_cwd, json_text, read_event, unhandled, Action, Answer, Decision, Event, Verdict,
};
use super::{event_name, new_strings};

/// The Cursor events this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `beforeReadFile`.
    ReadFile,
    /// `beforeShellExecution`.
    Shell,
    /// `beforeMCPExecution`.
    Mcp,
    /// `beforeSubmitPrompt`.
    Prompt,
    /// `afterFileEdit` (cannot block).
    AfterEdit,
}

/// Reads a Cursor hook event (a UTF-8 byte-order mark, which Cursor on Windows may send, is
/// skipped).
pub fn parse(input: &[u8]) -> Result<(Kind, Event), String> {
    let v = read_event(input)?;
    let name = event_name(&v)?;
    let cwd = event_cwd(&v, &["/cwd", "/workspace_roots/0"]);
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
    let (kind, action) = match name {
        "beforeReadFile" | "beforeTabFileRead" => (
            Kind::ReadFile,
            match v["content"].as_str() {
                Some(text) => Action::ReadText {
                    path: PathBuf::from(s("file_path")),
                    text: text.to_string(),
                },
                None => Action::Read(vec![PathBuf::from(s("file_path"))]),
            },
        ),
        "beforeShellExecution" => (Kind::Shell, Action::Shell(s("command"))),
        "beforeMCPExecution" => {
            // `tool_input` is a JSON string; take the strings inside when it parses.
            let mut text = String::new();
            match v["tool_input"].as_str().map(serde_json::from_str::<Value>) {
                Some(Ok(inner)) => json_text(&inner, &mut text),
                _ => json_text(&v["tool_input"], &mut text),
            }
            (Kind::Mcp, Action::Send(text))
        }
        "beforeSubmitPrompt" => {
            let files = v["attachments"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x["file_path"].as_str().or(x["filePath"].as_str()))
                        .map(PathBuf::from)
                        .collect()
                })
                .unwrap_or_default();
            (
                Kind::Prompt,
                Action::Prompt {
                    text: s("prompt"),
                    files,
                },
            )
        }
        "afterFileEdit" => {
            let text = new_strings(&v["edits"]);
            (
                Kind::AfterEdit,
                Action::Write {
                    path: PathBuf::from(s("file_path")),
                    text,
                },
            )
        }
        other => {
            return Err(unhandled(
                "Cursor",
                other,
                "beforeReadFile, beforeShellExecution, beforeMCPExecution, beforeSubmitPrompt or afterFileEdit",
            ))
        }
    };
    Ok((
        kind,
        Event {
            action,
            cwd,
            session: v["conversation_id"].as_str().map(String::from),
        },
    ))
}

/// The answer to an event.
pub fn answer(kind: Kind, verdict: &Verdict) -> Answer {
    let msg = &verdict.message;
    let deny = verdict.decision == Decision::Deny;
    let out = match kind {
        Kind::Prompt if deny => json!({"continue": false, "user_message": msg}),
        Kind::Prompt => json!({"continue": true}),
        // Cursor ignores this event's output: the person sees the message in the hook log.
        Kind::AfterEdit => {
            return Answer {
                stdout: "{}".into(),
                stderr: if verdict.decision == Decision::Allow {
                    String::new()
                } else {
                    msg.clone()
                },
                code: 0,
            }
        }
        _ if deny => json!({
            "continue": true,
            "permission": "deny",
            "user_message": msg,
            "agent_message": msg,
        }),
        _ if verdict.decision == Decision::Warn => json!({
            "continue": true,
            "permission": "allow",
            "agent_message": msg,
        }),
        _ => json!({"continue": true, "permission": "allow"}),
    };
    Answer {
        stdout: out.to_string(),
        stderr: String::new(),
        code: 0,
    }
}

/// The answer when the hook itself failed: exit 2 blocks; exit 1 fails open (Cursor logs it).
pub fn failure(message: &str, fail_closed: bool) -> Answer {
    Answer::failed(message, fail_closed, 2, 1)
}
