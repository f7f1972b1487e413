//! `leakhound git`: history, ranges, staged changes, attribution, and never writing.

mod support;

use std::process::{Command, Output};

use serde_json::Value;
use support::{github_token, snapshot, TestRepo};

const ALICE: (&str, &str) = ("Alice Dev", "alice@corp.test");
const BOB: (&str, &str) = ("Bob Ops", "bob@corp.test");

fn leakhound(dir: &std::path::Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("leakhound runs")
}

fn git_json(dir: &std::path::Path, extra: &[&str]) -> (Value, Option<i32>) {
    let mut args = vec!["git", "--format", "json"];
    args.extend_from_slice(extra);
    let out = leakhound(dir, &args);
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code())
}

fn findings(v: &Value) -> &Vec<Value> {
    v["findings"].as_array().expect("findings")
}

#[test]
fn a_deleted_secret_is_found_and_attributed_to_the_commit_that_added_it() {
    let mut r = TestRepo::new();
    let tok = github_token(1);
    let added = r.commit_file(
        "deploy.env",
        &format!("REGION=eu\nGITHUB_TOKEN={tok}\n"),
        ALICE,
        "add deploy config",
    );
    r.commit_file("deploy.env", "REGION=eu\n", BOB, "remove token");
    let (v, code) = git_json(&r.path(), &[]);
    assert_eq!(code, Some(1));
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["rule_id"], "github.pat_classic");
    assert_eq!(f[0]["path"], "deploy.env");
    assert_eq!(f[0]["line"], 2);
    assert_eq!(f[0]["commit"]["id"], added.to_string());
    assert_eq!(f[0]["commit"]["author_email"], "alice@corp.test");
    assert_eq!(f[0]["commit"]["subject"], "add deploy config");
    assert_eq!(f[0]["present_at_head"], false);
    assert_eq!(v["summary"]["commits"], 2);
}

#[test]
fn a_secret_carried_through_many_versions_is_one_finding() {
    let mut r = TestRepo::new();
    let tok = github_token(2);
    let mut text = format!("GITHUB_TOKEN={tok}\n");
    let first = r.commit_file("ci.env", &text, ALICE, "v1");
    for i in 2..=6 {
        text.push_str(&format!("STEP_{i}=ok\n"));
        r.commit_file("ci.env", &text, ALICE, &format!("v{i}"));
    }
    let (v, _) = git_json(&r.path(), &[]);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["commit"]["id"], first.to_string());
    assert_eq!(f[0]["present_at_head"], true);
    assert_eq!(f[0]["also_in"].as_array().map(Vec::len), Some(5));
    assert_eq!(v["summary"]["files_scanned"], 6, "each unique blob once");
}

#[test]
fn ranges_scan_only_what_their_commits_introduced() {
    let mut r = TestRepo::new();
    let (a, b) = (github_token(3), github_token(4));
    let c1 = r.commit_file("a.env", &format!("A={a}\n"), ALICE, "a");
    let c2 = r.commit_file("b.env", &format!("B={b}\n"), BOB, "b");
    let range = format!("{c1}..{c2}");
    for args in [
        vec!["--range", range.as_str()],
        vec!["--since-commit", &c1.to_string()],
    ] {
        let args: Vec<&str> = args.iter().map(|s| &**s).collect();
        let (v, code) = git_json(&r.path(), &args);
        assert_eq!(code, Some(1));
        let paths: Vec<&str> = findings(&v)
            .iter()
            .map(|f| f["path"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(paths, ["b.env"], "{args:?}");
    }
    // A new branch: the base is all zeros; the fallback is said out loud.
    let zero = format!("{}..{c2}", "0".repeat(40));
    let (v, _) = git_json(&r.path(), &["--range", &zero]);
    assert!(v["diagnostics"].to_string().contains("all zeros"), "{v:#}");
    let out = leakhound(&r.path(), &["git", "--range", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("BASE..HEAD"));
}

#[test]
fn content_only_a_merge_introduced_is_found() {
    let mut r = TestRepo::new();
    let base = r.commit_file("app.cfg", "mode=1\n", ALICE, "base");
    let left = r.commit_file("app.cfg", "mode=left\n", ALICE, "left");
    r.branch_and_checkout("feature", base);
    let right = r.commit_file("app.cfg", "mode=right\n", BOB, "right");
    r.branch_and_checkout("main-line", left);
    let tok = github_token(5);
    r.write("app.cfg", &format!("mode=merged\nGITHUB_TOKEN={tok}\n"));
    r.add("app.cfg");
    let merge = r.commit_merge(right, "merge feature");
    let (v, _) = git_json(&r.path(), &[]);
    let f = findings(&v);
    assert_eq!(f.len(), 1, "{v:#}");
    assert_eq!(f[0]["commit"]["id"], merge.to_string());
    let (v, _) = git_json(&r.path(), &["--range", &format!("{left}..{merge}")]);
    assert_eq!(findings(&v).len(), 1, "range sees the merge's own content");
}

#[test]
fn staged_blocks_new_secrets_but_not_old_ones_in_the_same_file() {
    let mut r = TestRepo::new();
    let (old, new) = (github_token(6), github_token(7));
    r.commit_file("svc.env", &format!("OLD={old}\n"), ALICE, "old secret");
    // Only an unrelated line changes: the old secret is reported, not blocking.
    r.write("svc.env", &format!("OLD={old}\nPORT=8080\n"));
    r.add("svc.env");
    let (v, code) = git_json(&r.path(), &["--staged"]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(findings(&v)[0]["existing"], true);
    // A new secret blocks.
    r.write("svc.env", &format!("OLD={old}\nPORT=8080\nNEW={new}\n"));
    r.add("svc.env");
    let (v, code) = git_json(&r.path(), &["--staged"]);
    assert_eq!(code, Some(1), "{v:#}");
    let fresh: Vec<&Value> = findings(&v)
        .iter()
        .filter(|f| f["existing"] != true)
        .collect();
    assert_eq!(fresh.len(), 1);
    assert_eq!(fresh[0]["line"], 3);
    // What is staged counts, not the working copy.
    r.write("svc.env", "clean now but not staged\n");
    let (_, code) = git_json(&r.path(), &["--staged"]);
    assert_eq!(code, Some(1));
}

#[test]
fn commit_facts_keep_trailers_and_identities() {
    let mut r = TestRepo::new();
    let tok = github_token(8);
    r.commit_file(
        "x.env",
        &format!("T={tok}\n"),
        ALICE,
        "add x\n\nBody text.\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
    );
    let (v, _) = git_json(&r.path(), &[]);
    let c = &findings(&v)[0]["commit"];
    assert_eq!(c["trailers"][0][0], "Co-Authored-By");
    assert_eq!(c["trailers"][0][1], "Claude <noreply@anthropic.com>");
    assert_eq!(c["committer_email"], "alice@corp.test");
}

#[test]
fn scans_never_write_to_the_repository() {
    let mut r = TestRepo::new();
    r.commit_file("a.env", &format!("A={}\n", github_token(9)), ALICE, "a");
    r.write("a.env", &format!("A={}\nB=2\n", github_token(9)));
    r.add("a.env");
    let before = snapshot(&r.path().join(".git"));
    for args in [
        vec!["git"],
        vec!["git", "--staged"],
        vec!["git", "--branch", "HEAD"],
        vec!["scan", "."],
    ] {
        leakhound(&r.path(), &args);
    }
    assert!(before == snapshot(&r.path().join(".git")), ".git changed");
}

#[test]
fn bad_repositories_give_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = leakhound(dir.path(), &["git", "."]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a git repository"));

    let empty = TestRepo::new();
    let (v, code) = git_json(&empty.path(), &[]);
    assert_eq!(code, Some(0));
    assert!(v["diagnostics"].to_string().contains("no commits"));

    let mut r = TestRepo::new();
    r.commit_file("a.env", &format!("A={}\n", github_token(10)), ALICE, "a");
    let out = leakhound(&r.path(), &["git", "--branch", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bare_clones_and_detached_heads_work() {
    let mut r = TestRepo::new();
    let c = r.commit_file("a.env", &format!("A={}\n", github_token(11)), ALICE, "a");
    r.repo.set_head_detached(c).expect("detach");
    let (v, _) = git_json(&r.path(), &[]);
    assert_eq!(findings(&v).len(), 1);
    let bare = tempfile::tempdir().expect("tempdir");
    git2::build::RepoBuilder::new()
        .bare(true)
        .clone(r.path().to_str().expect("utf8"), bare.path())
        .expect("bare clone");
    let (v, code) = git_json(bare.path(), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(findings(&v).len(), 1);
}

fn pre_push(dir: &std::path::Path, stdin: &str, env: &[(&str, &str)]) -> (Value, Option<i32>) {
    use std::io::Write;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    cmd.args(["git", "--pre-push", "--format", "json"])
        .current_dir(dir)
        .env_remove("PRE_COMMIT_FROM_REF")
        .env_remove("PRE_COMMIT_TO_REF")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("wait");
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (v, out.status.code())
}

#[test]
fn pre_push_scans_only_what_the_remote_lacks() {
    let mut r = TestRepo::new();
    let old = r.commit_file(
        "a.env",
        &format!("A={}\n", github_token(12)),
        ALICE,
        "already pushed",
    );
    let new = r.commit_file(
        "b.env",
        &format!("B={}\n", github_token(13)),
        BOB,
        "not yet pushed",
    );
    r.repo
        .reference("refs/remotes/origin/main", old, true, "test")
        .expect("remote ref");
    let line =
        |local: &str, remote: &str| format!("refs/heads/main {local} refs/heads/main {remote}\n");

    let (v, code) = pre_push(&r.path(), &line(&new.to_string(), &old.to_string()), &[]);
    assert_eq!(code, Some(1));
    let paths: Vec<&str> = findings(&v)
        .iter()
        .map(|f| f["path"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(paths, ["b.env"]);

    // Nothing new to push: clean.
    let (_, code) = pre_push(&r.path(), &line(&new.to_string(), &new.to_string()), &[]);
    assert_eq!(code, Some(0));

    // A new branch: everything not on a remote-tracking ref.
    let (v, code) = pre_push(&r.path(), &line(&new.to_string(), &"0".repeat(40)), &[]);
    assert_eq!(code, Some(1));
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    assert!(v["diagnostics"].to_string().contains("remote-tracking"));

    // Under the pre-commit framework the refs come from the environment.
    let (v, code) = pre_push(
        &r.path(),
        "",
        &[
            ("PRE_COMMIT_FROM_REF", &old.to_string()),
            ("PRE_COMMIT_TO_REF", &new.to_string()),
        ],
    );
    assert_eq!(code, Some(1));
    assert_eq!(findings(&v).len(), 1);
}

#[test]
fn refs_to_missing_objects_and_unreadable_blobs_are_reported_not_fatal() {
    let mut r = TestRepo::new();
    r.commit_file("a.env", &format!("A={}\n", github_token(14)), ALICE, "a");
    std::fs::write(
        r.path().join(".git/refs/heads/broken"),
        format!("{}\n", "1234567".repeat(6).get(..40).unwrap_or_default()),
    )
    .expect("dangling ref");
    let (v, code) = git_json(&r.path(), &[]);
    assert_eq!(code, Some(1), "the good history is still scanned");
    assert_eq!(findings(&v).len(), 1);
    assert!(
        v["diagnostics"].to_string().contains("refs/heads/broken"),
        "{v:#}"
    );
}

/// Where a blob's loose object lives, from its content.
fn loose_object(repo: &std::path::Path, content: &str) -> std::path::PathBuf {
    let id = git2::Oid::hash_object(git2::ObjectType::Blob, content.as_bytes())
        .expect("hash")
        .to_string();
    repo.join(".git/objects").join(&id[..2]).join(&id[2..])
}

#[test]
fn corrupt_and_missing_objects_are_reported_and_the_rest_is_scanned() {
    let mut r = TestRepo::new();
    r.commit_file("keep.env", &format!("K={}\n", github_token(21)), ALICE, "a");
    r.commit_file("notes.txt", "some notes\n", ALICE, "b");
    r.commit_file("gone.txt", "other notes\n", ALICE, "c");
    let corrupt = loose_object(&r.path(), "some notes\n");
    let mut perms = std::fs::metadata(&corrupt).expect("object").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&corrupt, perms).expect("writable");
    std::fs::write(&corrupt, b"this is not zlib data").expect("corrupt it");
    std::fs::remove_file(loose_object(&r.path(), "other notes\n")).expect("remove object");

    let (v, code) = git_json(&r.path(), &[]);
    assert_eq!(code, Some(1), "the readable secret still fails the scan");
    assert_eq!(findings(&v).len(), 1, "{v:#}");
    let diags = v["diagnostics"].to_string();
    assert!(
        diags.contains("notes.txt") && diags.contains("gone.txt"),
        "{diags}"
    );
    assert_eq!(v["summary"]["files_skipped"]["unreadable"], 2, "{v:#}");
}

#[test]
fn a_partial_clone_says_so_and_exits_3_when_objects_are_missing() {
    let mut r = TestRepo::new();
    r.commit_file("a.txt", "first version\n", ALICE, "a");
    r.commit_file("a.txt", "second version\n", ALICE, "b");
    // What `git clone --filter=blob:none` leaves: a promisor remote and absent old blobs.
    let repo = git2::Repository::open(r.path()).expect("open");
    let mut config = repo.config().expect("config");
    config
        .set_str("remote.origin.url", "https://example.invalid/repo.git")
        .expect("set");
    config
        .set_bool("remote.origin.promisor", true)
        .expect("set");
    config
        .set_str("extensions.partialclone", "origin")
        .expect("set");
    std::fs::remove_file(loose_object(&r.path(), "first version\n")).expect("remove object");

    let out = leakhound(&r.path(), &["git"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("partial clone"), "{stderr}");
    assert!(stderr.contains("scan incomplete"), "{stderr}");
}

#[test]
fn packed_history_gives_the_same_findings_as_loose_history() {
    let mut r = TestRepo::new();
    // Many similar versions, so the pack holds deltas (offset deltas against older bases).
    let mut body = String::new();
    for i in 0..40 {
        body.push_str(&format!("setting_{i} = value number {i}\n"));
        if i % 10 == 3 {
            body.push_str(&format!("TOKEN_{i}={}\n", github_token(100 + i)));
        }
        let author = if i % 2 == 0 { ALICE } else { BOB };
        r.commit_file("config/app.env", &body, author, &format!("step {i}"));
    }
    r.commit_file("config/app.env", "cleaned = yes\n", ALICE, "clean up");
    let (loose, loose_code) = git_json(&r.path(), &[]);
    let dangling = r
        .repo
        .blob(b"orphan notes, in the pack but on no ref\n")
        .expect("blob");
    r.pack(&[dangling]);
    assert!(
        std::fs::read_dir(r.path().join(".git/objects/pack"))
            .expect("pack dir")
            .flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "pack")),
        "a pack was written"
    );
    let (packed, packed_code) = git_json(&r.path(), &[]);
    assert_eq!(loose_code, Some(1));
    assert_eq!(packed_code, loose_code);
    assert_eq!(findings(&loose).len(), 4, "{loose:#}");
    assert_eq!(findings(&packed), findings(&loose));
    assert_eq!(packed["summary"], loose["summary"]);
    assert!(
        packed["diagnostics"]
            .to_string()
            .contains("reachable from no ref"),
        "{packed:#}"
    );
}

/// `leakhound hook` (what pre-commit runs, with `verbose: true`): a clean commit prints
/// nothing, not even the notice about the repository's own config; a blocked one ends with
/// what to do, for a commit; `git` of a pushed history says rotating is the fix.
#[test]
fn the_hook_is_silent_when_clean_and_says_what_to_do_when_it_blocks() {
    let mut r = TestRepo::new();
    let dir = r.path();
    r.commit_file(
        "leakhound.toml",
        "[[allowlist]]\ndescription = \"docs\"\npaths = [\"docs/**\"]\n",
        ALICE,
        "config",
    );
    r.write("app.cfg", "port = 8080\n");
    let out = leakhound(&dir, &["hook", "app.cfg"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");

    r.write("svc.env", &format!("TOKEN={}\n", github_token(31)));
    let out = leakhound(&dir, &["hook", "svc.env"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("rotate: https://github.com/settings/tokens"),
        "{text}"
    );
    assert!(
        err.contains("what to do") && err.contains("nothing has left this machine yet"),
        "{err}"
    );
    assert!(!err.contains("NOTICE"), "{err}");
    // The summary follows the findings; --quiet keeps only the findings.
    let out = leakhound(&dir, &["hook", "-q", "svc.env"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());

    r.add("svc.env");
    r.commit(ALICE, "leak");
    let out = leakhound(&dir, &["git"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("rotating is the fix"), "{err}");
    assert!(
        !err.contains("AI-tagged commits"),
        "no AI line without AI commits: {err}"
    );
}
