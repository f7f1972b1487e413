//! Gemini CLI hooks (`.gemini/settings.json` `hooks`): `BeforeTool` (`read_file`,
//! `read_many_files`, `run_shell_command`, `write_file`, `replace`, MCP tools), `BeforeAgent`
//! (the prompt) and `AfterTool` (the output: a deny hides it from the model and the reason
//! takes its place). Answers per the Gemini CLI hooks reference: `{"decision": "deny",
//! "reason"}` on stdout with exit 0; exit 2 blocks with stderr as the reason.

use std::path::PathBuf;

use serde_json::{json, Value};

use super::event_name;
use super::{
    event_cwd, json_text, read_event, unhandled, Action, Answer, Decision, Event, Verdict,
};

/// The Gemini CLI events this module answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `BeforeTool`.
    BeforeTool,
    /// `BeforeAgent` (after the prompt is submitted, before the model sees it).
    BeforeAgent,
    /// `AfterTool`.
    AfterTool,
}

/// Reads a Gemini CLI hook event.
pub fn parse(input: &[u8]) -> Result<(Kind, Event), String> {
    let v = read_event(input)?;
    let name = event_name(&v)?;
    let cwd = event_cwd(&v, &["/cwd"]);
    let tool = v["tool_name"].as_str().unwrap_or_default();
    let input = &v["tool_input"];
    let s = |k: &str| input[k].as_str().unwrap_or_default().to_string();
    let (kind, action) = match name {
        "BeforeTool" => {
            let action = match tool {
                "read_file" => Action::Read(vec![PathBuf::from(
                    input["file_path"]
                        .as_str()
                        .or(input["absolute_path"].as_str())
                        .unwrap_or_default(),
                )]),
                // Globs are left to AfterTool, which sees what was read.
                "read_many_files" => Action::Read(
                    input["include"]
                        .as_array()
                        .or(input["paths"].as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(Value::as_str)
                                .filter(|p| !p.contains(['*', '?', '[', '{']))
                                .map(PathBuf::from)
                                .collect()
                        })
                        .unwrap_or_default(),
                ),
                "run_shell_command" => Action::Shell(s("command")),
                "write_file" => Action::Write {
                    path: PathBuf::from(s("file_path")),
                    text: s("content"),
                },
                "replace" => Action::Write {
                    path: PathBuf::from(s("file_path")),
                    text: s("new_string"),
                },
                t if t.starts_with("mcp__") || !v["mcp_context"].is_null() => {
                    let mut text = String::new();
                    json_text(input, &mut text);
                    Action::Send(text)
                }
                _ => Action::Pass,
            };
            (Kind::BeforeTool, action)
        }
        "BeforeAgent" => (
            Kind::BeforeAgent,
            Action::Prompt {
                text: v["prompt"].as_str().unwrap_or_default().to_string(),
                files: Vec::new(),
            },
        ),
        "AfterTool" => {
            let mut text = String::new();
            json_text(&v["tool_response"]["llmContent"], &mut text);
            if text.is_empty() {
                json_text(&v["tool_response"], &mut text);
            }
            (
                Kind::AfterTool,
                Action::Output {
                    tool: tool.to_string(),
                    text,
                },
            )
        }
        other => {
            return Err(unhandled(
                "Gemini CLI",
                other,
                "BeforeTool, BeforeAgent or AfterTool",
            ))
        }
    };
    Ok((
        kind,
        Event {
            action,
            cwd,
            session: v["session_id"].as_str().map(String::from),
        },
    ))
}

/// The answer to an event.
pub fn answer(kind: Kind, verdict: &Verdict) -> Answer {
    let msg = &verdict.message;
    let out = match verdict.decision {
        Decision::Allow => json!({}),
        Decision::Deny => json!({"decision": "deny", "reason": msg, "systemMessage": msg}),
        Decision::Warn => json!({
            "systemMessage": msg,
            "hookSpecificOutput": {
                "hookEventName": match kind {
                    Kind::BeforeTool => "BeforeTool",
                    Kind::BeforeAgent => "BeforeAgent",
                    Kind::AfterTool => "AfterTool",
                },
                "additionalContext": msg,
            },
        }),
    };
    Answer {
        stdout: out.to_string(),
        stderr: String::new(),
        code: 0,
    }
}

/// The answer when the hook itself failed: exit 2 blocks; exit 1 is a warning.
pub fn failure(message: &str, fail_closed: bool) -> Answer {
    Answer::failed(message, fail_closed, 2, 1)
}
