//! Working-tree scans end to end through the binary: what is walked, what is skipped, bad
//! input, exit codes, and determinism across thread counts.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use proptest::prelude::*;
use serde_json::Value;
use support::github_token;

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("leakhound runs")
}

fn json(dir: &Path, args: &[&str]) -> (Value, Output) {
    let mut all = vec!["scan", "--format", "json"];
    all.extend_from_slice(args);
    let out = run(dir, &all);
    let v = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (v, out)
}

fn paths(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect()
}

#[test]
fn walk_honours_ignore_files_but_scans_hidden_files_and_never_dot_git() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let tok = github_token(1);
    fs::create_dir_all(d.join(".git")).expect("mkdir");
    fs::create_dir_all(d.join("build")).expect("mkdir");
    fs::create_dir_all(d.join(".aws")).expect("mkdir");
    fs::write(d.join(".git/config"), format!("token={tok}\n")).expect("write");
    fs::write(d.join(".gitignore"), "build/\n").expect("write");
    fs::write(d.join("build/out.txt"), format!("token={tok}\n")).expect("write");
    fs::write(d.join(".env"), format!("GITHUB_TOKEN={tok}\n")).expect("write");
    fs::write(d.join(".aws/credentials"), format!("x={tok}\n")).expect("write");

    let (v, out) = json(d, &["."]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(paths(&v), [".aws/credentials", ".env"]);

    let (v, _) = json(d, &["--no-ignore", "."]);
    assert_eq!(paths(&v), [".aws/credentials", ".env", "build/out.txt"]);
}

#[test]
fn binary_and_oversized_files_are_skipped_and_counted() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let tok = github_token(2);
    let mut bin = b"\x7fELF\0\0\0".to_vec();
    bin.extend_from_slice(tok.as_bytes());
    fs::write(d.join("tool.bin"), bin).expect("write");
    fs::write(d.join("big.txt"), format!("{}{tok}\n", "a".repeat(2048))).expect("write");
    fs::write(d.join("ok.txt"), "nothing\n").expect("write");
    let (v, out) = json(d, &["--max-file-size", "1K", "."]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s = &v["summary"];
    assert_eq!(s["files_scanned"], 1);
    assert_eq!(s["files_skipped"]["binary"], 1);
    assert_eq!(s["files_skipped"]["too large"], 1);
    assert!(v["diagnostics"][0]["message"]
        .as_str()
        .is_some_and(|m| m.contains("--max-file-size")));
}

#[test]
fn a_long_single_line_file_is_scanned_without_hanging() {
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let tok = github_token(3);
    let mut line = "var a=1;".repeat(1_500_000);
    line.push_str(&format!("var t=\"{tok}\";"));
    fs::write(d.join("bundle.min.js"), line).expect("write");
    let (v, out) = json(d, &["--max-file-size", "64M", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(v["findings"][0]["rule_id"], "github.pat_classic");
    assert_eq!(v["findings"][0]["line"], 1);
}

#[test]
fn invalid_utf8_content_is_scanned_as_bytes() {
    let t = tempfile::tempdir().expect("tempdir");
    let mut bytes = b"caf\xe9 \xff\xfe token: ".to_vec();
    bytes.extend_from_slice(github_token(4).as_bytes());
    fs::write(t.path().join("latin1.txt"), bytes).expect("write");
    let (v, _) = json(t.path(), &["."]);
    assert_eq!(v["findings"][0]["rule_id"], "github.pat_classic");
}

#[test]
fn empty_directory_is_clean() {
    let t = tempfile::tempdir().expect("tempdir");
    let (v, out) = json(t.path(), &["."]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(v["summary"]["files_scanned"], 0);
}

#[test]
fn missing_root_is_a_usage_error() {
    let t = tempfile::tempdir().expect("tempdir");
    let out = run(t.path(), &["scan", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot scan nope"));
}

#[test]
fn bad_user_rules_are_a_usage_error() {
    let t = tempfile::tempdir().expect("tempdir");
    fs::write(
        t.path().join("r.toml"),
        "[[rule]]\nid = \"x.y\"\nname = \"n\"\nkeywords = [\"abc\"]\nregex = '(?P<secret>[a-'\nseverity = \"low\"\nblast_radius = \"b\"\nexamples.positive = [\"abc\"]\nexamples.negative = [\"d\"]\n",
    )
    .expect("write");
    let out = run(t.path(), &["scan", "--rules", "r.toml", "."]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("x.y") && err.contains("does not compile"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn symlinks_fifos_and_odd_names_do_not_break_the_walk() {
    use std::os::unix::ffi::OsStrExt;
    let t = tempfile::tempdir().expect("tempdir");
    let d = t.path();
    let tok = github_token(5);
    fs::create_dir_all(d.join("real")).expect("mkdir");
    fs::write(d.join("real/secret.txt"), format!("t={tok}\n")).expect("write");
    std::os::unix::fs::symlink("real/secret.txt", d.join("link.txt")).expect("symlink");
    std::os::unix::fs::symlink("does-not-exist", d.join("broken")).expect("symlink");
    std::os::unix::fs::symlink(".", d.join("real/loop")).expect("symlink");
    let fifo = d.join("pipe");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .is_ok_and(|s| s.success());
    let odd = std::ffi::OsStr::from_bytes(b"odd-\xff-name.txt");
    fs::write(d.join(odd), format!("t={tok}\n")).expect("write");

    let (v, out) = json(d, &["."]);
    assert_eq!(out.status.code(), Some(1));
    let p = paths(&v);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.contains(&"real/secret.txt".to_string()));
    assert!(p.iter().any(|x| x.starts_with("odd-")));
    assert_eq!(v["summary"]["files_skipped"]["symlink"], 3);
    if made {
        assert_eq!(v["summary"]["files_skipped"]["special file"], 1);
    }

    // Following links reaches the same file twice and reports the loop, without hanging.
    let (v, out) = json(d, &["--follow", "."]);
    assert_eq!(out.status.code(), Some(1));
    assert!(paths(&v).contains(&"link.txt".to_string()));
    let diags = v["diagnostics"].to_string();
    assert!(
        diags.contains("loop") || diags.contains("broken") || diags.contains("No such"),
        "{diags}"
    );
}

#[test]
fn stdin_is_scanned() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["scan", "--format", "jsonl", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("stdin");
        writeln!(stdin, "token = {}", github_token(6)).expect("write");
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    let line: Value = serde_json::from_slice(&out.stdout).expect("one JSON line");
    assert_eq!(line["path"], "<stdin>");
}

#[test]
fn broken_pipe_exits_zero() {
    let t = tempfile::tempdir().expect("tempdir");
    for i in 0..600 {
        fs::write(
            t.path().join(format!("f{i}.env")),
            format!("T={}\n", github_token(i)),
        )
        .expect("write");
    }
    // 600 findings are far more than a pipe buffer holds, so `head` closes the pipe early.
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "'{}' scan --format jsonl . | head -c 10 >/dev/null; echo \"${{PIPESTATUS[0]}}\"",
            env!("CARGO_BIN_EXE_leakhound")
        ))
        .current_dir(t.path())
        .output()
        .expect("bash");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    /// The same tree gives the same bytes at one thread and at many.
    #[test]
    fn output_is_identical_at_any_thread_count(
        files in proptest::collection::vec((0u32..1000, 0usize..40, any::<bool>()), 1..40)
    ) {
        let t = tempfile::tempdir().expect("tempdir");
        for (i, (seed, pad, secret)) in files.iter().enumerate() {
            let dir = t.path().join(format!("d{}", i % 5));
            fs::create_dir_all(&dir).expect("mkdir");
            let mut text = "line of filler text\n".repeat(*pad);
            if *secret {
                text.push_str(&format!("GITHUB_TOKEN={}\n", github_token(*seed)));
            }
            fs::write(dir.join(format!("f{i}.env")), text).expect("write");
        }
        let one = run(t.path(), &["scan", "--format", "json", "--threads", "1", "."]);
        let many = run(t.path(), &["scan", "--format", "json", "--threads", "8", "."]);
        prop_assert_eq!(one.stdout, many.stdout);
        prop_assert_eq!(one.status.code(), many.status.code());
    }
}
