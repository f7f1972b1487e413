//! `leakhound ai hook <agent>` and `leakhound ai install-hook`: each agent's events in that
//! agent's documented format, through the binary, for every decision (allow, warn, deny) and
//! for bad input. Synthetic credentials only.

mod support;

use std::fs;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::{json, Value};
use support::github_token;

/// Runs the hook for `agent` in `dir` with `event` on stdin, with HOME and the state
/// directory inside `dir` (so nothing outside the test is read or written).
fn hook(dir: &Path, agent: &str, extra: &[&str], event: &[u8]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    c.args(["ai", "hook", agent])
        .args(extra)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .env("LEAKHOUND_STATE_DIR", dir.join("state"))
        .env_remove("CI")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("leakhound runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let bytes = event.to_vec();
    let writer = std::thread::spawn(move || {
        // The hook may answer before reading everything (it never does today); ignore EPIPE.
        let _ = stdin.write_all(&bytes);
    });
    let out = child.wait_with_output().expect("leakhound finishes");
    writer.join().expect("writer");
    out
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {:?} / stderr {:?}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

struct Project {
    dir: tempfile::TempDir,
    token: String,
}

impl Project {
    /// A project with a token in `.env`, a clean `app.py`, and `config.py` holding only a
    /// generic look-alike (a warning, not a denial).
    fn new() -> Project {
        let dir = tempfile::tempdir().expect("tmp");
        let token = github_token(4242);
        fs::write(dir.path().join(".env"), format!("GITHUB_TOKEN={token}\n")).expect("w");
        fs::write(dir.path().join("app.py"), "print('hello')\n").expect("w");
        fs::write(
            dir.path().join("config.py"),
            "db_password = \"Tq8vLm2Rx9Kz\"\n",
        )
        .expect("w");
        fs::create_dir_all(dir.path().join("home")).expect("home");
        Project { dir, token }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn file(&self, name: &str) -> String {
        self.path().join(name).display().to_string()
    }

    fn claude(&self, event: Value) -> Output {
        hook(
            self.path(),
            "claude-code",
            &[],
            event.to_string().as_bytes(),
        )
    }

    fn no_secret_in(&self, o: &Output) {
        for s in [&o.stdout, &o.stderr] {
            assert!(
                !String::from_utf8_lossy(s).contains(&self.token[8..]),
                "the token is shown: {}",
                String::from_utf8_lossy(s)
            );
        }
    }
}

fn claude_pre(p: &Project, tool: &str, input: Value) -> Value {
    json!({
        "session_id": "sess-1",
        "transcript_path": "/tmp/t.jsonl",
        "cwd": p.path(),
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": tool,
        "tool_input": input,
        "tool_use_id": "toolu_01",
    })
}

fn denied_by_claude(o: &Output) -> bool {
    o.status.code() == Some(0)
        && stdout_json(o)["hookSpecificOutput"]["permissionDecision"] == "deny"
}

#[test]
fn claude_code_reads_commands_writes_prompts_and_outputs() {
    let p = Project::new();
    // Reading a file with a token: denied, with the rule, the place and how to allow it.
    let o = p.claude(claude_pre(&p, "Read", json!({"file_path": p.file(".env")})));
    assert!(denied_by_claude(&o), "{o:?}");
    let reason = stdout_json(&o)["hookSpecificOutput"]["permissionDecisionReason"]
        .as_str()
        .expect("reason")
        .to_string();
    assert!(
        reason.contains("github.pat_classic") && reason.contains(".env:1"),
        "{reason}"
    );
    assert!(
        reason.contains("leakhound ai allow --session sess-1 --path"),
        "{reason}"
    );
    p.no_secret_in(&o);
    // A clean file: nothing printed, so the user's own permission rules still apply.
    let o = p.claude(claude_pre(
        &p,
        "Read",
        json!({"file_path": p.file("app.py")}),
    ));
    assert_eq!(
        (o.status.code(), o.stdout.is_empty()),
        (Some(0), true),
        "{o:?}"
    );
    // A generic look-alike: a warning to the agent, not a denial.
    let o = p.claude(claude_pre(
        &p,
        "Read",
        json!({"file_path": p.file("config.py")}),
    ));
    let v = stdout_json(&o);
    assert!(
        v["hookSpecificOutput"]["permissionDecision"].is_null(),
        "{v}"
    );
    assert!(v["hookSpecificOutput"]["additionalContext"]
        .as_str()
        .is_some_and(|m| m.contains("not blocked")));
    // Commands: a pattern (printenv), a read of a file that holds a token, a token in the
    // command itself; an ordinary command passes.
    for cmd in [
        "printenv".to_string(),
        "cat app.py .env".to_string(),
        format!(
            "curl -H 'Authorization: token {}' https://api.github.com/user",
            p.token
        ),
        "kubectl get secret db -o yaml".to_string(),
    ] {
        let o = p.claude(claude_pre(&p, "Bash", json!({"command": cmd})));
        assert!(denied_by_claude(&o), "{cmd}: {o:?}");
        p.no_secret_in(&o);
    }
    let o = p.claude(claude_pre(
        &p,
        "Bash",
        json!({"command": "cargo test && ls"}),
    ));
    assert!(o.stdout.is_empty(), "{o:?}");
    // Writes and edits that would put a token into a file.
    let o = p.claude(claude_pre(
        &p,
        "Write",
        json!({"file_path": p.file("deploy.sh"), "content": format!("export GH={}\n", p.token)}),
    ));
    assert!(denied_by_claude(&o), "{o:?}");
    assert!(
        stdout_json(&o)["hookSpecificOutput"]["permissionDecisionReason"]
            .as_str()
            .is_some_and(|r| r.contains("environment variable"))
    );
    let o = p.claude(claude_pre(
        &p,
        "Edit",
        json!({"file_path": p.file("app.py"), "old_string": "hello", "new_string": p.token}),
    ));
    assert!(denied_by_claude(&o), "{o:?}");
    let o = p.claude(claude_pre(
        &p,
        "Edit",
        json!({"file_path": p.file("app.py"), "old_string": "hello", "new_string": "os.environ['GH']"}),
    ));
    assert!(o.stdout.is_empty(), "{o:?}");
    // A prompt holding a token, and one mentioning the file that holds it: blocked.
    for prompt in [
        format!("deploy with {}", p.token),
        "summarise @.env for me".to_string(),
    ] {
        let o = p.claude(json!({
            "session_id": "sess-1", "cwd": p.path(), "hook_event_name": "UserPromptSubmit",
            "prompt": prompt,
        }));
        assert_eq!(stdout_json(&o)["decision"], "block", "{o:?}");
        p.no_secret_in(&o);
    }
    let o = p.claude(json!({
        "session_id": "sess-1", "cwd": p.path(), "hook_event_name": "UserPromptSubmit",
        "prompt": "add a test for app.py",
    }));
    assert!(o.stdout.is_empty(), "{o:?}");
    // Tool output that held a token: Claude is told not to use or repeat it.
    let o = p.claude(json!({
        "session_id": "sess-1", "cwd": p.path(), "hook_event_name": "PostToolUse",
        "tool_name": "Bash", "tool_input": {"command": "env"},
        "tool_response": {"stdout": format!("GH={}\n", p.token), "stderr": ""},
    }));
    let v = stdout_json(&o);
    assert_eq!(v["decision"], "block", "{v}");
    assert!(v["reason"]
        .as_str()
        .is_some_and(|r| r.contains("do not use it")));
    p.no_secret_in(&o);
    // Tools leakhound does not inspect pass untouched.
    let o = p.claude(claude_pre(&p, "Glob", json!({"pattern": "**/*.rs"})));
    assert!(o.stdout.is_empty() && o.status.code() == Some(0), "{o:?}");
}

#[test]
fn allowances_apply_session_config_and_markers() {
    let p = Project::new();
    let read = || p.claude(claude_pre(&p, "Read", json!({"file_path": p.file(".env")})));
    assert!(denied_by_claude(&read()));
    // Allowed for this session only.
    let st = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["ai", "allow", "--session", "sess-1", "--path"])
        .arg(p.file(".env"))
        .env("LEAKHOUND_STATE_DIR", p.path().join("state"))
        .status()
        .expect("runs");
    assert!(st.success());
    assert!(read().stdout.is_empty());
    let other = p.claude(json!({
        "session_id": "sess-2", "cwd": p.path(), "hook_event_name": "PreToolUse",
        "tool_name": "Read", "tool_input": {"file_path": p.file(".env")},
    }));
    assert!(denied_by_claude(&other), "another session is not allowed");
    // The project's allowlist applies, as in a scan.
    fs::write(
        p.path().join("leakhound.toml"),
        "[[allowlist]]\ndescription = \"test fixture\"\npaths = [\".env\"]\n",
    )
    .expect("w");
    let o = p.claude(json!({
        "session_id": "sess-3", "cwd": p.path(), "hook_event_name": "PreToolUse",
        "tool_name": "Read", "tool_input": {"file_path": p.file(".env")},
    }));
    assert!(o.stdout.is_empty(), "{o:?}");
}

#[test]
fn failures_are_visible_and_fail_closed_blocks() {
    let p = Project::new();
    for bad in [
        &b"not json"[..],
        b"{\"hook_event_name\": \"Stop\"}",
        b"",
        b"{\"tool_name\": 1}",
    ] {
        let o = hook(p.path(), "claude-code", &[], bad);
        assert_eq!(o.status.code(), Some(1), "{o:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("leakhound hook:") && err.contains("not blocked"),
            "{err}"
        );
    }
    fs::write(
        p.path().join("leakhound.toml"),
        "[ai.hook]\nfail_closed = true\n",
    )
    .expect("w");
    let o = hook(p.path(), "claude-code", &[], b"{truncated");
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    // Copilot ignores exit codes: failing closed is a deny answer.
    let o = hook(
        p.path(),
        "copilot",
        &["--event", "preToolUse"],
        b"{truncated",
    );
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
}

#[test]
fn a_huge_write_is_answered_without_a_panic() {
    let p = Project::new();
    let mut content = "x = 1\n".repeat(9 << 20);
    content.push_str(&format!("token = {}\n", p.token));
    let event = claude_pre(
        &p,
        "Write",
        json!({"file_path": p.file("big.py"), "content": content}),
    );
    let o = p.claude(event);
    // 54 MB: read, scanned up to the text cap; an answer either way.
    assert_eq!(
        o.status.code(),
        Some(0),
        "{:?}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn codex_blocks_with_exit_2() {
    let p = Project::new();
    let patch = format!(
        "*** Begin Patch\n*** Add File: deploy.sh\n+export GH={}\n*** End Patch\n",
        p.token
    );
    let event = |tool: &str, command: &str| {
        json!({
            "session_id": "c1", "turn_id": "t1", "cwd": p.path(), "model": "gpt-5-codex",
            "hook_event_name": "PreToolUse", "tool_name": tool,
            "tool_input": {"command": command},
        })
        .to_string()
    };
    for (tool, cmd) in [("apply_patch", patch.as_str()), ("Bash", "cat .env")] {
        let o = hook(p.path(), "codex", &[], event(tool, cmd).as_bytes());
        assert_eq!(o.status.code(), Some(2), "{tool}: {o:?}");
        assert!(String::from_utf8_lossy(&o.stderr).contains("leakhound:"));
        p.no_secret_in(&o);
    }
    let o = hook(
        p.path(),
        "codex",
        &[],
        event("Bash", "cargo build").as_bytes(),
    );
    assert_eq!(
        (o.status.code(), o.stdout.is_empty()),
        (Some(0), true),
        "{o:?}"
    );
}

#[test]
fn cursor_events() {
    let p = Project::new();
    let base = |name: &str| {
        json!({
            "conversation_id": "conv-1", "generation_id": "g1", "model": "x",
            "hook_event_name": name, "cursor_version": "2.0",
            "workspace_roots": [p.path()], "user_email": null,
        })
    };
    let run = |mut v: Value, extra: Value| {
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        hook(p.path(), "cursor", &[], v.to_string().as_bytes())
    };
    let env_text = fs::read_to_string(p.path().join(".env")).expect("r");
    let o = run(
        base("beforeReadFile"),
        json!({"file_path": p.file(".env"), "content": env_text, "attachments": []}),
    );
    assert_eq!(stdout_json(&o)["permission"], "deny", "{o:?}");
    p.no_secret_in(&o);
    let o = run(
        base("beforeReadFile"),
        json!({"file_path": p.file("app.py"), "content": "print('hello')\n"}),
    );
    assert_eq!(stdout_json(&o)["permission"], "allow", "{o:?}");
    let o = run(
        base("beforeShellExecution"),
        json!({"command": "gh auth token", "cwd": p.path()}),
    );
    let v = stdout_json(&o);
    assert_eq!(v["permission"], "deny", "{v}");
    assert!(v["agent_message"]
        .as_str()
        .is_some_and(|m| m.contains("command.cli.print_token")));
    let o = run(
        base("beforeShellExecution"),
        json!({"command": "npm test", "cwd": p.path()}),
    );
    assert_eq!(stdout_json(&o)["permission"], "allow");
    let o = run(
        base("beforeSubmitPrompt"),
        json!({"prompt": "explain this file", "attachments": [{"type": "file", "file_path": p.file(".env")}]}),
    );
    assert_eq!(stdout_json(&o)["continue"], false, "{o:?}");
    let o = run(
        base("beforeMCPExecution"),
        json!({"tool_name": "post", "tool_input": json!({"body": p.token}).to_string(), "mcp_server_name": "x"}),
    );
    assert_eq!(stdout_json(&o)["permission"], "deny", "{o:?}");
    // afterFileEdit cannot block: the person is told in the hook log.
    let o = run(
        base("afterFileEdit"),
        json!({"file_path": p.file("app.py"), "edits": [{"old_string": "a", "new_string": p.token}]}),
    );
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("github.pat_classic"),
        "{o:?}"
    );
    p.no_secret_in(&o);
    // A byte-order mark before the JSON (Cursor on Windows) is accepted.
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(
        json!({"hook_event_name": "beforeShellExecution", "command": "ls", "cwd": p.path()})
            .to_string()
            .as_bytes(),
    );
    let o = hook(p.path(), "cursor", &[], &bom);
    assert_eq!(stdout_json(&o)["permission"], "allow", "{o:?}");
}

#[test]
fn gemini_cli_events() {
    let p = Project::new();
    let run = |v: Value| hook(p.path(), "gemini", &[], v.to_string().as_bytes());
    let base = json!({"session_id": "gs", "transcript_path": "/t", "cwd": p.path(), "timestamp": "2026-11-29T00:00:00Z"});
    let with = |extra: Value| {
        let mut v = base.clone();
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        v
    };
    let o = run(with(
        json!({"hook_event_name": "BeforeTool", "tool_name": "read_file", "tool_input": {"file_path": p.file(".env")}}),
    ));
    assert_eq!(stdout_json(&o)["decision"], "deny", "{o:?}");
    let o = run(with(
        json!({"hook_event_name": "BeforeTool", "tool_name": "read_file", "tool_input": {"absolute_path": p.file("app.py")}}),
    ));
    assert_eq!(stdout_json(&o), json!({}), "{o:?}");
    let o = run(with(
        json!({"hook_event_name": "BeforeTool", "tool_name": "run_shell_command", "tool_input": {"command": "cat ~/.aws/credentials"}}),
    ));
    assert_eq!(stdout_json(&o)["decision"], "deny", "{o:?}");
    let o = run(with(
        json!({"hook_event_name": "BeforeTool", "tool_name": "write_file", "tool_input": {"file_path": p.file("x.sh"), "content": p.token}}),
    ));
    assert_eq!(stdout_json(&o)["decision"], "deny", "{o:?}");
    let o = run(with(
        json!({"hook_event_name": "BeforeAgent", "prompt": format!("use {}", p.token)}),
    ));
    assert_eq!(stdout_json(&o)["decision"], "deny", "{o:?}");
    // AfterTool: a deny replaces the output the model would see.
    let o = run(with(
        json!({"hook_event_name": "AfterTool", "tool_name": "read_file", "tool_input": {}, "tool_response": {"llmContent": format!("GH={}", p.token), "returnDisplay": "ok"}}),
    ));
    assert_eq!(stdout_json(&o)["decision"], "deny", "{o:?}");
    p.no_secret_in(&o);
}

#[test]
fn copilot_events() {
    let p = Project::new();
    let pre = |tool: &str, args: Value| {
        let v = json!({"timestamp": 1764374400000u64, "cwd": p.path(), "toolName": tool, "toolArgs": args.to_string()});
        hook(
            p.path(),
            "copilot",
            &["--event", "preToolUse"],
            v.to_string().as_bytes(),
        )
    };
    let o = pre("bash", json!({"command": "cat .env"}));
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
    let o = pre("view", json!({"path": p.file(".env")}));
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
    let o = pre(
        "create",
        json!({"path": p.file("a.sh"), "file_text": p.token}),
    );
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
    let o = pre("bash", json!({"command": "go test ./..."}));
    assert!(o.stdout.is_empty() && o.status.code() == Some(0), "{o:?}");
    // toolArgs as an object, and the VS Code-compatible form, are read too.
    let v = json!({"cwd": p.path(), "toolName": "bash", "toolArgs": {"command": "printenv"}});
    let o = hook(
        p.path(),
        "copilot",
        &["--event", "preToolUse"],
        v.to_string().as_bytes(),
    );
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
    let v = json!({"hook_event_name": "PreToolUse", "cwd": p.path(), "tool_name": "bash", "tool_input": {"command": "printenv"}});
    let o = hook(p.path(), "copilot", &[], v.to_string().as_bytes());
    assert_eq!(stdout_json(&o)["permissionDecision"], "deny", "{o:?}");
    // Prompts cannot be blocked in Copilot: the finding goes to the hook log.
    let v = json!({"cwd": p.path(), "prompt": format!("use {}", p.token)});
    let o = hook(
        p.path(),
        "copilot",
        &["--event", "userPromptSubmitted"],
        v.to_string().as_bytes(),
    );
    assert_eq!(o.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&o.stderr).contains("github.pat_classic"));
    p.no_secret_in(&o);
}

fn install(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["ai", "install-hook"])
        .args(args)
        .current_dir(dir)
        .env("HOME", dir.join("home"))
        .output()
        .expect("runs")
}

#[test]
fn install_merges_is_idempotent_and_uninstalls() {
    let p = Project::new();
    let settings = p.path().join(".claude/settings.json");
    fs::create_dir_all(settings.parent().expect("dir")).expect("mkdir");
    let theirs = json!({
        "permissions": {"deny": ["Read(./.env)"]},
        "hooks": {"PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "./lint.sh"}]}]},
    });
    fs::write(&settings, theirs.to_string()).expect("w");
    assert!(install(p.path(), &["claude-code"]).status.success());
    let once = fs::read_to_string(&settings).expect("r");
    assert!(install(p.path(), &["claude-code", "--project"])
        .status
        .success());
    assert_eq!(
        fs::read_to_string(&settings).expect("r"),
        once,
        "idempotent"
    );
    let v: Value = serde_json::from_str(&once).expect("json");
    assert_eq!(v["permissions"], theirs["permissions"]);
    let pre = v["hooks"]["PreToolUse"].as_array().expect("array");
    assert_eq!(pre.len(), 2, "{v}");
    assert!(once.contains("./lint.sh") && once.contains("leakhound ai hook claude-code"));
    // `ai agents` reports the guard.
    let o = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["ai", "agents"])
        .arg(p.path())
        .env("HOME", p.path().join("home"))
        .output()
        .expect("runs");
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("claude-code: guarded by leakhound"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(install(p.path(), &["claude-code", "--uninstall"])
        .status
        .success());
    let after: Value =
        serde_json::from_str(&fs::read_to_string(&settings).expect("r")).expect("json");
    assert_eq!(after, theirs, "uninstall restores the user's settings");
    // Every agent's file, project and user.
    for agent in ["cursor", "gemini", "copilot", "codex"] {
        for scope in ["--project", "--user"] {
            let o = install(p.path(), &[agent, scope]);
            assert!(o.status.success(), "{agent} {scope}: {o:?}");
        }
    }
    for f in [
        ".cursor/hooks.json",
        ".gemini/settings.json",
        ".github/hooks/leakhound.json",
        ".codex/hooks.json",
        "home/.cursor/hooks.json",
        "home/.copilot/hooks/leakhound.json",
    ] {
        let text = fs::read_to_string(p.path().join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(text.contains("ai hook"), "{f}: {text}");
    }
    let cop: Value = serde_json::from_str(
        &fs::read_to_string(p.path().join(".github/hooks/leakhound.json")).expect("r"),
    )
    .expect("json");
    assert_eq!(cop["version"], 1);
    assert!(cop["hooks"]["preToolUse"][0]["bash"]
        .as_str()
        .is_some_and(|c| c.ends_with("--event preToolUse")));
    assert!(install(p.path(), &["copilot", "--uninstall"])
        .status
        .success());
    assert!(!p.path().join(".github/hooks/leakhound.json").exists());
}

#[test]
fn install_refuses_a_settings_file_that_is_not_json() {
    let p = Project::new();
    let settings = p.path().join(".gemini/settings.json");
    fs::create_dir_all(settings.parent().expect("dir")).expect("mkdir");
    fs::write(&settings, "{ \"theme\": \"dark\", ").expect("w");
    let o = install(p.path(), &["gemini"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("not valid JSON") && err.contains("nothing was written"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&settings).expect("r"),
        "{ \"theme\": \"dark\", "
    );
}

/// `ai exposure` on a realistic home directory built in a temp dir: environment, home
/// credential stores and the project (an ignored `.env` included), most severe first, values
/// never printed, and `--fail-on` for CI images.
#[test]
fn exposure_audit_of_a_home_directory() {
    let p = Project::new();
    // The home directory lives outside the project, as it does on a real machine.
    let home_dir = tempfile::tempdir().expect("tmp");
    let home = home_dir.path().to_path_buf();
    let aws_secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzQ9kLm3xTv";
    for (rel, text) in [
        (
            ".aws/credentials",
            format!("[default]\naws_access_key_id = AKIA2E3TQ7KDWZRVXM5P\naws_secret_access_key = {aws_secret}\n"),
        ),
        (".config/gh/hosts.yml", format!("github.com:\n    user: dev\n    oauth_token: {}\n    git_protocol: https\n", github_token(77))),
        (".netrc", "machine api.example.com login deploy password Vq8zLm2Rx9Kt\n".to_string()),
        (".docker/config.json", "{\"credsStore\": \"desktop\"}\n".to_string()),
    ] {
        let f = home.join(rel);
        fs::create_dir_all(f.parent().expect("dir")).expect("mkdir");
        fs::write(f, text).expect("w");
    }
    fs::write(p.path().join(".gitignore"), ".env\n").expect("w");
    std::process::Command::new("git")
        .args(["init", "-q"])
        .current_dir(p.path())
        .status()
        .expect("git");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_leakhound"))
            .args(["ai", "exposure"])
            .args(args)
            .arg(p.path())
            .env_clear()
            .env("HOME", &home)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("DEPLOY_TOKEN", github_token(91))
            .output()
            .expect("runs")
    };
    let o = run(&["--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    let items = v["items"].as_array().expect("items");
    let places: Vec<(&str, &str)> = items
        .iter()
        .map(|i| {
            (
                i["place"].as_str().unwrap_or(""),
                i["location"].as_str().unwrap_or(""),
            )
        })
        .collect();
    for want in [
        ("environment", "$DEPLOY_TOKEN"),
        ("home", "~/.aws/credentials:3"),
        ("home", "~/.config/gh/hosts.yml:3"),
        ("home", "~/.netrc:1"),
        ("project", ".env:1"),
    ] {
        assert!(places.contains(&want), "{want:?} missing from {places:?}");
    }
    // The Docker config holds a credsStore reference only: nothing reachable there.
    assert!(
        !places.iter().any(|(_, l)| l.contains(".docker")),
        "{places:?}"
    );
    // Most severe first.
    let sev: Vec<&str> = items
        .iter()
        .map(|i| i["severity"].as_str().unwrap_or(""))
        .collect();
    let rank = |s: &str| {
        ["low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
    };
    assert!(sev.windows(2).all(|w| rank(w[0]) >= rank(w[1])), "{sev:?}");
    // No value is printed, in either format.
    let text = run(&[]);
    for out in [&o.stdout, &text.stdout] {
        let s = String::from_utf8_lossy(out);
        for secret in [
            aws_secret,
            &p.token[6..],
            &github_token(77)[6..],
            &github_token(91)[6..],
            "Vq8zLm2Rx9Kt",
        ] {
            assert!(!s.contains(secret), "a value is printed: {s}");
        }
    }
    assert!(String::from_utf8_lossy(&text.stdout).contains("stopped by: nothing"));
    // With the hook installed, precise findings are stopped by it.
    assert!(install(p.path(), &["claude-code"]).status.success());
    let v: Value = serde_json::from_slice(&run(&["--format", "json"]).stdout).expect("json");
    let aws = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["location"] == "~/.aws/credentials:3")
        .expect("aws");
    assert!(
        aws["stopped_by"][0]
            .as_str()
            .is_some_and(|s| s.contains("leakhound hook")),
        "a critical credential is denied by the hook: {aws}"
    );
    let env_item = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["location"] == ".env:1")
        .expect(".env");
    assert!(
        env_item["stopped_by"][0]
            .as_str()
            .is_some_and(|s| s.contains("leakhound hook (claude-code)")),
        "{env_item}"
    );
    // --fail-on for CI images.
    assert_eq!(run(&["--fail-on", "high"]).status.code(), Some(1));
    let only_project: Value =
        serde_json::from_slice(&run(&["--no-env", "--no-home", "--format", "json"]).stdout)
            .expect("json");
    let worst = only_project["items"][0]["severity"]
        .as_str()
        .map(String::from);
    assert_eq!(worst.as_deref(), Some("high"), "{only_project}");
    assert_eq!(
        run(&["--fail-on", "critical", "--no-env", "--no-home"])
            .status
            .code(),
        Some(0)
    );
}
