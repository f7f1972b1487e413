//! `leakhound mcp`: a Model Context Protocol server over stdio, so an agent can check text, a
//! file, a folder or a shell command before it writes or runs it. A thin adapter over the
//! library: the same detector, triage, allowlists and hook decisions, findings redacted.
//!
//! Transport and messages follow the MCP specification: JSON-RPC 2.0, one message per line on
//! stdin and stdout; `initialize`, `notifications/initialized`, `ping`, `tools/list` and
//! `tools/call`. It is written on `serde_json` rather than an MCP SDK: the Rust SDK brings an
//! async runtime and a macro stack into a binary that otherwise has neither, for four
//! request types (docs/ai.md).

use std::io::{BufRead, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::ai::hook::{Action, Event, Guard, HookSettings};
use crate::config::Config;
use crate::detect::{redact, Detector};
use crate::finding::Finding;
use crate::scan::{scan_bytes, scan_paths, ScanOutcome};

/// Protocol versions this server speaks, newest first.
const VERSIONS: &[&str] = &["2025-06-18", "2025-03-26", "2024-11-05"];

/// Largest message read (a text to scan travels inside one).
const MAX_MESSAGE: usize = 64 << 20;

/// The server's state: what it scans with, and where relative paths start.
pub struct Server<'a> {
    detector: &'a Detector,
    config: &'a Config,
    settings: &'a HookSettings,
    cwd: PathBuf,
}

impl<'a> Server<'a> {
    /// A server scanning with `detector` and `config`, resolving paths against `cwd`.
    pub fn new(detector: &'a Detector, config: &'a Config, cwd: PathBuf) -> Server<'a> {
        Server {
            detector,
            config,
            settings: &config.hook,
            cwd,
        }
    }

    /// Serves until stdin closes. Malformed lines get a JSON-RPC parse error, never a panic.
    pub fn run(&self, mut input: impl BufRead, mut output: impl Write) -> std::io::Result<()> {
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = (&mut input)
                .take(MAX_MESSAGE as u64 + 1)
                .read_until(b'\n', &mut line)?;
            if n == 0 {
                return Ok(());
            }
            if line.len() > MAX_MESSAGE {
                let e = error(Value::Null, -32600, "message larger than 64 MiB");
                writeln!(output, "{e}")?;
                output.flush()?;
                if line.last() != Some(&b'\n') {
                    skip_line(&mut input)?;
                }
                continue;
            }
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some(reply) = self.handle(&line) {
                writeln!(output, "{reply}")?;
                output.flush()?;
            }
        }
    }

    /// The reply to one message (none for a notification).
    pub fn handle(&self, message: &[u8]) -> Option<Value> {
        let msg: Value = match serde_json::from_slice(message) {
            Ok(v) => v,
            Err(e) => return Some(error(Value::Null, -32700, &format!("parse error: {e}"))),
        };
        let id = msg.get("id").cloned();
        let Some(method) = msg["method"].as_str() else {
            // A response or garbage: answer requests only.
            return id.map(|id| error(id, -32600, "not a request: no method"));
        };
        let id = id?; // Notifications (no id) get no reply.
        let params = &msg["params"];
        Some(match method {
            "initialize" => {
                let asked = params["protocolVersion"].as_str().unwrap_or(VERSIONS[0]);
                let version = VERSIONS
                    .iter()
                    .find(|v| **v == asked)
                    .unwrap_or(&VERSIONS[0]);
                ok(
                    id,
                    json!({
                        "protocolVersion": version,
                        "capabilities": {"tools": {"listChanged": false}},
                        "serverInfo": {"name": "leakhound", "version": env!("CARGO_PKG_VERSION")},
                        "instructions": "Check text, files and shell commands for credentials before writing or running them. Findings are redacted; never ask for the value.",
                    }),
                )
            }
            "ping" => ok(id, json!({})),
            "tools/list" => ok(id, json!({"tools": tools()})),
            "tools/call" => {
                let name = params["name"].as_str().unwrap_or_default();
                let args = &params["arguments"];
                match self.call(name, args) {
                    Ok(result) => ok(id, result),
                    Err(ToolError::Unknown) => error(
                        id,
                        -32602,
                        &format!("unknown tool {:?}", crate::report::escape(name)),
                    ),
                    Err(ToolError::Failed(m)) => ok(
                        id,
                        json!({"content": [{"type": "text", "text": m}], "isError": true}),
                    ),
                }
            }
            other => error(
                id,
                -32601,
                &format!("method not found: {}", crate::report::escape(other)),
            ),
        })
    }

    fn call(&self, name: &str, args: &Value) -> Result<Value, ToolError> {
        let arg = |k: &str| {
            args[k]
                .as_str()
                .ok_or_else(|| ToolError::Failed(format!("argument `{k}` (a string) is required")))
        };
        match name {
            "scan_text" => {
                let text = arg("text")?;
                let label = args["path"].as_str().unwrap_or("text");
                let out = scan_bytes(text.as_bytes(), label, self.detector, self.config);
                Ok(findings_result(&out))
            }
            "scan_file" => {
                let path = self.resolve(arg("path")?);
                let meta = std::fs::metadata(&path)
                    .map_err(|e| ToolError::Failed(format!("{}: {e}", path.display())))?;
                if !meta.is_file() {
                    return Err(ToolError::Failed(format!(
                        "{}: not a file (use scan_path for folders)",
                        path.display()
                    )));
                }
                if meta.len() > self.config.max_file_size {
                    return Err(ToolError::Failed(format!(
                        "{}: larger than the {} byte limit",
                        path.display(),
                        self.config.max_file_size
                    )));
                }
                let bytes = std::fs::read(&path)
                    .map_err(|e| ToolError::Failed(format!("{}: {e}", path.display())))?;
                let label = path
                    .strip_prefix(&self.cwd)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                let out = scan_bytes(&bytes, &label, self.detector, self.config);
                Ok(findings_result(&out))
            }
            "scan_path" => {
                let path = self.resolve(arg("path")?);
                let out = scan_paths(&[path], self.detector, self.config)
                    .map_err(|e| ToolError::Failed(e.to_string()))?;
                Ok(findings_result(&out))
            }
            "check_command" => {
                let command = arg("command")?;
                let cwd = args["cwd"]
                    .as_str()
                    .map(|c| self.resolve(c))
                    .unwrap_or_else(|| self.cwd.clone());
                let guard = Guard::new(self.detector, self.config, self.settings, None)
                    .map_err(ToolError::Failed)?;
                let verdict = guard.decide(&Event {
                    action: Action::Shell(command.to_string()),
                    cwd,
                    session: None,
                });
                let text = if verdict.message.is_empty() {
                    "allow: nothing in this command prints or uses a credential".to_string()
                } else {
                    verdict.message.clone()
                };
                Ok(json!({
                    "content": [{"type": "text", "text": text}],
                    "structuredContent": {"decision": verdict.decision, "hits": verdict.hits},
                    "isError": false,
                }))
            }
            _ => Err(ToolError::Unknown),
        }
    }

    fn resolve(&self, p: &str) -> PathBuf {
        let path = Path::new(p);
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.cwd.join(path)
        }
    }
}

/// Discards input up to and including the next newline.
fn skip_line(input: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Ok(());
        }
        match memchr::memchr(b'\n', buf) {
            Some(i) => {
                input.consume(i + 1);
                return Ok(());
            }
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    }
}

enum ToolError {
    Unknown,
    Failed(String),
}

fn ok(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn finding_json(f: &Finding) -> Value {
    json!({
        "rule_id": f.rule_id,
        "name": f.rule_name,
        "severity": f.severity,
        "path": f.path,
        "line": f.location.line,
        "column": f.location.column,
        "secret": redact(f.secret.expose()),
        "blast_radius": f.blast_radius,
    })
}

fn findings_result(out: &ScanOutcome) -> Value {
    let list: Vec<Value> = out.findings.iter().map(finding_json).collect();
    let text = if list.is_empty() {
        "no credentials found".to_string()
    } else {
        let mut t = format!(
            "{} credential{} found (values redacted); do not write, print or use them:",
            list.len(),
            if list.len() == 1 { "" } else { "s" }
        );
        for f in &out.findings {
            t.push_str(&format!(
                "\n- {} {} at {}:{} [{}]",
                f.rule_name,
                redact(f.secret.expose()),
                crate::report::escape(&f.path),
                f.location.line,
                f.rule_id
            ));
        }
        t
    };
    json!({
        "content": [{"type": "text", "text": text}],
        "structuredContent": {"findings": list},
        "isError": false,
    })
}

fn tools() -> Value {
    let string = |d: &str| json!({"type": "string", "description": d});
    json!([
        {
            "name": "scan_text",
            "description": "Scan text (code or config about to be written, a message about to be sent) for credentials. Findings are redacted.",
            "inputSchema": {"type": "object", "properties": {
                "text": string("The text to scan."),
                "path": string("The file name it is meant for (credential-file rules use it), optional."),
            }, "required": ["text"]},
        },
        {
            "name": "scan_file",
            "description": "Scan one file for credentials. Findings are redacted.",
            "inputSchema": {"type": "object", "properties": {
                "path": string("The file, relative to the server's directory or absolute."),
            }, "required": ["path"]},
        },
        {
            "name": "scan_path",
            "description": "Scan a folder (gitignore honoured) or a file for credentials. Findings are redacted.",
            "inputSchema": {"type": "object", "properties": {
                "path": string("The folder or file."),
            }, "required": ["path"]},
        },
        {
            "name": "check_command",
            "description": "Say whether a shell command would print or use a credential (printing the environment, reading .env or a CLI's credential store, a token on the command line). Returns allow, warn or deny with the reason.",
            "inputSchema": {"type": "object", "properties": {
                "command": string("The command line."),
                "cwd": string("Where it would run, optional."),
            }, "required": ["command"]},
        },
    ])
}
