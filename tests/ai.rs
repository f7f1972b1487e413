//! AI-authored commits: every signal of the table and every known false positive, built as
//! real commits and scanned through the CLI; the stricter policy; commit time; exposure.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use git2::{Oid, Repository, Signature, Time};
use leakhound::ai::signals::{split_identity, CommitExample};
use leakhound::ai::Signals;
use serde_json::Value;
use support::github_token;

const HUMAN: &str = "Dev Human <dev@corp.test>";

/// Runs leakhound with no agent-session variables from the outer environment.
fn leakhound(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let signals = Signals::builtin().expect("signals");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    cmd.args(args).current_dir(dir);
    for s in &signals.table().sessions {
        cmd.env_remove(&s.var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("leakhound runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

fn signature(identity: &str, time: i64) -> Signature<'static> {
    let (name, email) = split_identity(identity);
    Signature::new(name, email, &Time::new(time, 0)).expect("signature")
}

/// Commits `files` on top of HEAD (plus `extra_parent` for a merge) with the example's
/// identities and message.
fn commit(repo: &Repository, ex: &CommitExample, files: &[(&str, &str)], time: i64) -> Oid {
    let author = signature(ex.author.as_deref().unwrap_or(HUMAN), time);
    let committer = signature(
        ex.committer
            .as_deref()
            .or(ex.author.as_deref())
            .unwrap_or(HUMAN),
        time,
    );
    let head = repo.head().ok().and_then(|h| h.peel_to_commit().ok());
    let mut builder = repo
        .treebuilder(head.as_ref().map(|h| h.tree().expect("tree")).as_ref())
        .expect("treebuilder");
    for (name, text) in files {
        let blob = repo.blob(text.as_bytes()).expect("blob");
        builder.insert(name, blob, 0o100644).expect("insert");
    }
    let tree = repo
        .find_tree(builder.write().expect("tree"))
        .expect("tree");
    let mut parents: Vec<git2::Commit<'_>> = head.into_iter().collect();
    if ex.merge {
        // A side commit to merge: a merge subject is only a signal on a real merge.
        let side = repo
            .commit(
                None,
                &author,
                &committer,
                "side",
                &tree,
                &parents.iter().collect::<Vec<_>>(),
            )
            .expect("side commit");
        parents.push(repo.find_commit(side).expect("side"));
    }
    let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
    repo.commit(Some("HEAD"), &author, &committer, &ex.message, &tree, &refs)
        .expect("commit")
}

fn example(message: &str, author: Option<&str>) -> CommitExample {
    CommitExample {
        message: message.to_string(),
        author: author.map(str::to_string),
        committer: None,
        merge: false,
        why: None,
    }
}

#[test]
fn every_signal_example_is_tagged_and_every_false_positive_is_not() {
    let signals = Signals::builtin().expect("signals");
    let dir = tempfile::tempdir().expect("tmp");
    let repo = Repository::init(dir.path()).expect("init");
    // (file, expected (signal id, confidence, tool) or None, why)
    type Want = Option<(String, String, String)>;
    let mut expected: Vec<(String, Want, String)> = Vec::new();
    let mut time = 1_700_000_000;
    let mut seed = 1000;
    for s in &signals.table().signals {
        for (i, ex) in s.examples.iter().enumerate() {
            seed += 1;
            time += 60;
            let file = format!("{}-{i}.env", s.id);
            let text = format!("TOKEN={}\n", github_token(seed));
            commit(&repo, ex, &[(&file, &text)], time);
            let want = (s.confidence != leakhound::ai::Confidence::Low).then(|| {
                (
                    s.id.clone(),
                    s.confidence.as_str().to_string(),
                    s.tool.clone(),
                )
            });
            expected.push((file, want, format!("{:?}", ex.message)));
        }
    }
    for (i, ex) in signals.table().false_positives.iter().enumerate() {
        seed += 1;
        time += 60;
        let file = format!("false-positive-{i}.env");
        let text = format!("TOKEN={}\n", github_token(seed));
        commit(&repo, ex, &[(&file, &text)], time);
        expected.push((file, None, ex.why.clone().unwrap_or_default()));
    }
    assert!(expected.len() > 60, "{} example commits", expected.len());

    let out = leakhound(dir.path(), &["git", "--format", "json"], &[]);
    let v = json(&out);
    let findings = v["findings"].as_array().expect("findings");
    let mut wrong = Vec::new();
    for (file, want, why) in &expected {
        let f = findings
            .iter()
            .find(|f| f["path"] == file.as_str())
            .unwrap_or_else(|| panic!("no finding for {file}"));
        let got = f.get("ai").map(|a| {
            (
                a["signal"].as_str().unwrap_or_default().to_string(),
                a["confidence"].as_str().unwrap_or_default().to_string(),
                a["tool"].as_str().unwrap_or_default().to_string(),
            )
        });
        let ok = match (want, &got) {
            (None, None) => true,
            // The tool may come from the value (Assisted-by: gemini-cli).
            (Some((id, conf, _)), Some((gid, gconf, _))) => id == gid && conf == gconf,
            _ => false,
        };
        if !ok {
            wrong.push(format!("{file}: want {want:?}, got {got:?} ({why})"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));

    let ai = &v["summary"]["ai"];
    let tagged = expected.iter().filter(|e| e.1.is_some()).count();
    assert_eq!(ai["commits_ai"], tagged, "{ai:#}");
    assert_eq!(ai["findings_ai"], tagged, "{ai:#}");
    assert!(
        ai["by_tool"]["Claude Code"]["commits"]
            .as_u64()
            .unwrap_or(0)
            >= 5,
        "{ai:#}"
    );
}

/// A bare Google API key with no name around it is a low-precision rule: off for people,
/// on for AI-authored work.
fn bare_google_key() -> String {
    let body: String = (0..33)
        .map(|i| {
            let alphabet = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-";
            alphabet[(i * 7 + 3) % alphabet.len()] as char
        })
        .collect();
    format!("{}{body}", concat!("AI", "zaSy"))
}

fn repo_with(message: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = Repository::init(dir.path()).expect("init");
    let text = format!("const tiles = [\"{}\"];\n", bare_google_key());
    commit(
        &repo,
        &example(message, None),
        &[("maps.js", &text)],
        1_700_000_000,
    );
    dir
}

#[test]
fn the_same_content_blocks_in_an_ai_commit_and_not_in_a_human_one() {
    let human = repo_with("Add map widget");
    let ai = repo_with("Add map widget\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n");

    let out = leakhound(human.path(), &["git", "--format", "json"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(json(&out)["findings"]
        .as_array()
        .expect("findings")
        .is_empty());

    let out = leakhound(ai.path(), &["git", "--format", "json"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "gcp.api_key_bare", "{v:#}");
    assert_eq!(f["ai"]["tool"], "Claude Code");
    assert_eq!(f["ai_policy"], true);

    // --ai off keeps the tag but not the policy; --ai strict applies it to everyone.
    let out = leakhound(ai.path(), &["git", "--format", "json", "--ai", "off"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let out = leakhound(human.path(), &["git", "--ai", "strict"], &[]);
    assert_eq!(out.status.code(), Some(1));

    // The policy is data: `[ai] all_rules = false` in the config turns that part off.
    std::fs::write(
        ai.path().join("leakhound.toml"),
        "[ai]\nall_rules = false\n",
    )
    .expect("cfg");
    let out = leakhound(ai.path(), &["git"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn warnings_for_people_block_for_agents() {
    // With --fail-on critical a high-severity token only warns in a human commit; the AI
    // policy's fail_on (low) makes it block in an agent's commit.
    let token = format!("TOKEN={}\n", github_token(77));
    for (message, code) in [
        ("Add CI token", 0),
        (
            "Add CI token\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n",
            1,
        ),
    ] {
        let dir = tempfile::tempdir().expect("tmp");
        let repo = Repository::init(dir.path()).expect("init");
        commit(
            &repo,
            &example(message, None),
            &[("ci.env", &token)],
            1_700_000_000,
        );
        let out = leakhound(dir.path(), &["git", "--fail-on", "critical"], &[]);
        assert_eq!(out.status.code(), Some(code), "{message:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("ci.env"), "reported either way: {text}");
        assert_eq!(text.contains("[AI: Cursor]"), code == 1, "{text}");
    }
}

#[test]
fn at_commit_time_the_session_and_the_message_decide() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = Repository::init(dir.path()).expect("init");
    commit(
        &repo,
        &example("init", None),
        &[("README", "hello\n")],
        1_700_000_000,
    );
    std::fs::write(
        dir.path().join("maps.js"),
        format!("const tiles = [\"{}\"];\n", bare_google_key()),
    )
    .expect("write");
    let mut index = repo.index().expect("index");
    index.add_path(Path::new("maps.js")).expect("add");
    index.write().expect("write index");

    let staged = leakhound(dir.path(), &["git", "--staged"], &[]);
    assert_eq!(staged.status.code(), Some(0), "a person's commit");
    let staged = leakhound(dir.path(), &["git", "--staged"], &[("CLAUDECODE", "1")]);
    assert_eq!(
        staged.status.code(),
        Some(1),
        "inside a Claude Code session"
    );
    let shown = String::from_utf8_lossy(&staged.stdout);
    assert!(shown.contains("CLAUDECODE"), "{shown}");
    assert!(
        !shown.contains("CLAUDECODE=1"),
        "the value is never shown: {shown}"
    );
    let staged = leakhound(
        dir.path(),
        &["git", "--staged"],
        &[("CURSOR_TRACE_ID", "abc")],
    );
    assert_eq!(
        staged.status.code(),
        Some(0),
        "any Cursor terminal, human too: not a signal"
    );

    let msg = dir.path().join(".git/COMMIT_EDITMSG");
    std::fs::write(
        &msg,
        "Add map\n\nCo-authored-by: aider (gpt-5) <aider@aider.chat>\n",
    )
    .expect("msg");
    let m = msg.to_string_lossy().to_string();
    let out = leakhound(dir.path(), &["git", "--commit-msg", &m], &[]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(&msg, "Add map\n").expect("msg");
    let out = leakhound(dir.path(), &["git", "--commit-msg", &m], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "no AI trailer: nothing to re-check"
    );
    let out = leakhound(
        dir.path(),
        &["git", "--commit-msg", &m, "--ai", "strict"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let out = leakhound(dir.path(), &["git", "--commit-msg", "/no/such/file"], &[]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn working_tree_findings_say_which_agents_would_read_the_file() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    std::fs::write(root.join("CLAUDE.md"), "# project notes\n").expect("w");
    std::fs::write(root.join(".cursorignore"), "deploy/\n").expect("w");
    std::fs::create_dir_all(root.join("deploy")).expect("mkdir");
    std::fs::create_dir_all(root.join("app")).expect("mkdir");
    let token = format!("TOKEN={}\n", github_token(5));
    std::fs::write(root.join("deploy/ci.env"), &token).expect("w");
    std::fs::write(root.join("app/ci.env"), &token).expect("w");
    let out = leakhound(root, &["scan", ".", "--format", "json"], &[]);
    let v = json(&out);
    let by_path = |p: &str| {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .find(|f| f["path"] == p)
            .cloned()
            .unwrap_or_else(|| panic!("no finding in {p}: {v:#}"))
    };
    let deploy = by_path("deploy/ci.env");
    assert_eq!(
        deploy["exposure"]["excluded_for"],
        serde_json::json!(["Cursor"])
    );
    assert_eq!(
        deploy["exposure"]["readable_by"],
        serde_json::json!(["Claude Code"])
    );
    let app = by_path("app/ci.env");
    assert_eq!(
        app["exposure"]["readable_by"],
        serde_json::json!(["Claude Code", "Cursor"])
    );
    let hints = app["exposure"]["suggestions"].to_string();
    assert!(hints.contains(".cursorignore: /app/ci.env"), "{hints}");
    assert!(hints.contains("Read(./app/ci.env)"), "{hints}");
    let text = leakhound(root, &["scan", "."], &[]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("not a security boundary"), "{text}");
}

#[test]
fn config_errors_name_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("leakhound.toml"),
        "[ai]\nmode = \"auto\"\nstrictness = 3\n",
    )
    .expect("w");
    let out = leakhound(dir.path(), &["scan", "."], &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("leakhound.toml:3:1"), "{err}");
    assert!(err.contains("strictness"), "{err}");
    std::fs::write(
        dir.path().join("leakhound.toml"),
        "[ai]\nmin_confidence = \"low\"\n",
    )
    .expect("w");
    let out = leakhound(dir.path(), &["scan", "."], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("low signals"));
}

#[test]
fn the_signal_table_is_extended_from_the_config_and_tags_reach_sarif() {
    let dir = tempfile::tempdir().expect("tmp");
    let repo = Repository::init(dir.path()).expect("init");
    let token = format!("TOKEN={}\n", github_token(91));
    commit(
        &repo,
        &example("Nightly refresh", Some("Acme Agent <agent-bot@acme.test>")),
        &[("ci.env", &token)],
        1_700_000_000,
    );
    let out = leakhound(dir.path(), &["git", "--format", "json"], &[]);
    assert!(
        json(&out)["findings"][0].get("ai").is_none(),
        "not a known agent yet"
    );

    std::fs::write(
        dir.path().join("leakhound.toml"),
        "[[ai.signal]]\nid = \"acme.agent\"\ntool = \"Acme agent\"\nconfidence = \"high\"\nfield = \"identity\"\nemail = '^agent-bot@acme\\.test$'\n",
    )
    .expect("config");
    let out = leakhound(dir.path(), &["git", "--format", "json"], &[]);
    let v = json(&out);
    assert_eq!(v["findings"][0]["ai"]["tool"], "Acme agent", "{v:#}");
    let out = leakhound(dir.path(), &["git", "--format", "sarif"], &[]);
    let sarif = json(&out);
    let props = &sarif["runs"][0]["results"][0]["properties"];
    assert_eq!(props["ai"]["signal"], "acme.agent", "{props:#}");
    assert_eq!(props["aiPolicy"], true);

    let out = leakhound(dir.path(), &["ai", "commits"], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Acme agent") && text.contains("agent-bot@acme.test"),
        "{text}"
    );
}
