//! `leakhound mcp`: a client session over stdio as an MCP client runs it (initialize, the
//! initialized notification, tools/list, tools/call), one message at a time, plus bad input.

mod support;

use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{json, Value};
use support::github_token;

struct Session {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Session {
    fn start(dir: &std::path::Path) -> Session {
        let mut child = Command::new(env!("CARGO_BIN_EXE_leakhound"))
            .args(["mcp", "--root"])
            .arg(dir)
            .env("HOME", dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("leakhound mcp starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Session {
            child,
            stdin,
            stdout,
        }
    }

    fn send(&mut self, msg: &str) {
        writeln!(self.stdin, "{msg}").expect("write");
        self.stdin.flush().expect("flush");
    }

    fn request(&mut self, msg: Value) -> Value {
        self.send(&msg.to_string());
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("a reply");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("reply is not JSON ({e}): {line:?}"))
    }

    fn call(&mut self, id: u64, tool: &str, args: Value) -> Value {
        let r = self.request(json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": {"name": tool, "arguments": args},
        }));
        assert_eq!(r["id"], id, "{r}");
        r
    }
}

#[test]
fn a_client_session_initializes_lists_and_calls_tools() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = github_token(515);
    fs::write(dir.path().join(".env"), format!("GH={token}\n")).expect("w");
    fs::write(dir.path().join("app.py"), "print('hi')\n").expect("w");
    let mut s = Session::start(dir.path());
    let init = s.request(json!({
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test-client", "version": "1.0"}},
    }));
    assert_eq!(init["result"]["protocolVersion"], "2025-06-18", "{init}");
    assert_eq!(init["result"]["serverInfo"]["name"], "leakhound");
    assert!(init["result"]["capabilities"]["tools"].is_object());
    // A notification gets no reply: the next line read answers the next request.
    s.send(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    let list = s.request(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}));
    let names: Vec<&str> = list["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(
        names,
        ["scan_text", "scan_file", "scan_path", "check_command"]
    );
    for t in list["result"]["tools"].as_array().expect("tools") {
        assert_eq!(t["inputSchema"]["type"], "object", "{t}");
    }
    // scan_text: a token in text about to be written, redacted in every field.
    let r = s.call(
        3,
        "scan_text",
        json!({"text": format!("const T = \"{token}\";\n")}),
    );
    let findings = &r["result"]["structuredContent"]["findings"];
    assert_eq!(findings[0]["rule_id"], "github.pat_classic", "{r}");
    assert_eq!(r["result"]["isError"], false);
    assert!(
        !r.to_string().contains(&token[8..]),
        "the token is shown: {r}"
    );
    // scan_file and scan_path, relative to the root.
    let r = s.call(4, "scan_file", json!({"path": ".env"}));
    assert_eq!(
        r["result"]["structuredContent"]["findings"][0]["line"], 1,
        "{r}"
    );
    let r = s.call(5, "scan_file", json!({"path": "app.py"}));
    assert_eq!(
        r["result"]["structuredContent"]["findings"],
        json!([]),
        "{r}"
    );
    let r = s.call(6, "scan_path", json!({"path": "."}));
    assert_eq!(
        r["result"]["structuredContent"]["findings"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "{r}"
    );
    assert!(!r.to_string().contains(&token[8..]));
    // check_command: the hook's decisions.
    let r = s.call(7, "check_command", json!({"command": "cat .env"}));
    assert_eq!(r["result"]["structuredContent"]["decision"], "deny", "{r}");
    let r = s.call(8, "check_command", json!({"command": "pytest -q"}));
    assert_eq!(r["result"]["structuredContent"]["decision"], "allow", "{r}");
    // Tool errors are results with isError; protocol errors are JSON-RPC errors.
    let r = s.call(9, "scan_file", json!({"path": "missing.txt"}));
    assert_eq!(r["result"]["isError"], true, "{r}");
    let r = s.call(10, "scan_text", json!({}));
    assert_eq!(r["result"]["isError"], true, "{r}");
    let r = s.call(11, "no_such_tool", json!({}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = s.request(json!({"jsonrpc": "2.0", "id": 12, "method": "resources/list"}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    s.send("{not json");
    let mut line = String::new();
    s.stdout.read_line(&mut line).expect("reply");
    let v: Value = serde_json::from_str(&line).expect("json");
    assert_eq!(v["error"]["code"], -32700, "{v}");
    let r = s.request(json!({"jsonrpc": "2.0", "id": 13, "method": "ping"}));
    assert_eq!(r["result"], json!({}));
    // End of input ends the server cleanly.
    drop(s.stdin);
    let status = s.child.wait().expect("exits");
    assert!(status.success());
}
