//! Safe on untrusted repositories: each way a crafted checkout, config, symlink or git object
//! could make leakhound leak a secret, read or write outside the checkout, or pass when it
//! should not, tried through the library and the binary.

mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

use leakhound::config::Config;
use leakhound::detect::Detector;
use leakhound::report::{render, Format, RenderOptions};
use leakhound::rules::{Precision, RuleSet};
use leakhound::scan::scan_bytes;
use proptest::prelude::*;
use serde_json::Value;
use support::{github_token, TestRepo};

const ME: (&str, &str) = ("Dev", "dev@corp.test");

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    c.env_remove("CI").stdin(Stdio::null());
    c
}

fn run(dir: &Path, args: &[&str]) -> Output {
    bin()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("leakhound runs")
}

fn all_output(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "bad JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

/// A Stripe-shaped live key from a seed (format-valid, random, never a real key).
fn stripe_key(seed: u64) -> String {
    format!(
        "{}{}",
        ["sk_", "live_"].concat(),
        random_text(seed, 24, B62)
    )
}

/// An AWS key id (AKIA + 16 base32 characters) and a 40-character secret from a seed.
fn aws_pair(seed: u64) -> (String, String) {
    (
        format!(
            "{}{}",
            "AKIA",
            random_text(seed, 16, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
        ),
        random_text(seed ^ 0xabcdef, 40, B64),
    )
}

const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn random_text(seed: u64, n: usize, alphabet: &[u8]) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            alphabet[(x % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

fn detector() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| Detector::new(RuleSet::builtin().expect("built-in rules")))
}

/// Every format (and the status stream) for one scan of `text`.
fn render_all(text: &str, keep_dropped: bool) -> (leakhound::scan::ScanOutcome, Vec<String>) {
    let mut config = Config {
        keep_dropped,
        ..Config::default()
    };
    config.thresholds.min_precision = Precision::Low;
    let outcome = scan_bytes(text.as_bytes(), "app/.env", detector(), &config);
    let shown = rendered(&outcome)
        .into_iter()
        .map(|b| String::from_utf8(b).expect("utf-8"))
        .collect();
    (outcome, shown)
}

/// The report and the status line of every format, as bytes.
fn rendered(outcome: &leakhound::scan::ScanOutcome) -> Vec<Vec<u8>> {
    let mut shown = Vec::new();
    for format in [Format::Text, Format::Json, Format::Jsonl, Format::Sarif] {
        let (mut out, mut status) = (Vec::new(), Vec::new());
        render(
            outcome,
            detector().rules(),
            format,
            RenderOptions {
                color: false,
                ..RenderOptions::default()
            },
            &mut out,
            &mut status,
        )
        .expect("render");
        shown.push(out);
        shown.push(status);
    }
    shown
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Item 1: several secrets on one line, in any order and layout: no output of any format
    /// shows any of them, whichever finding's context it falls in.
    #[test]
    fn no_rendered_output_contains_a_secret(
        seeds in proptest::collection::vec(1u64..u64::MAX, 4),
        order in Just(vec![0usize, 1, 2, 3]).prop_shuffle(),
        sep in prop::sample::select(vec![" ", ", ", "; ", "\t", " and again "]),
        repeat in any::<bool>(),
        keep_dropped in any::<bool>(),
    ) {
        let gh = github_token(seeds[0] as u32);
        let stripe = stripe_key(seeds[1]);
        let (key_id, aws_secret) = aws_pair(seeds[2]);
        let password = random_text(seeds[3], 14, B62);
        let pieces = [
            format!("TOKEN={gh}"),
            format!("STRIPE={stripe}"),
            format!("{key_id} {aws_secret}"),
            format!("password = \"{password}\""),
        ];
        let mut line: Vec<String> = order.iter().map(|&i| pieces[i].clone()).collect();
        if repeat {
            line.push(gh.clone());
            line.push(stripe.clone());
        }
        let text = format!("{}\n", line.join(sep));
        let (outcome, shown) = render_all(&text, keep_dropped);
        prop_assert!(!outcome.findings.is_empty());
        for secret in [&gh, &stripe, &aws_secret, &key_id, &password] {
            // Redaction keeps at most a quarter (four characters) as a prefix; any run of
            // more than half the secret would be a leak.
            let probe = &secret[secret.len() / 2..];
            for s in &shown {
                prop_assert!(!s.contains(probe), "{} shown in:\n{}", secret, s);
            }
        }
    }
}

#[test]
fn explain_suppressed_and_context_stay_redacted_through_the_binary() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key_id, secret) = aws_pair(7);
    let gh = github_token(9);
    fs::write(
        dir.path().join("creds.txt"),
        format!("{key_id},{secret} TOKEN={gh} and again {gh}\n"),
    )
    .expect("write");
    for format in ["text", "json", "sarif"] {
        let o = run(
            dir.path(),
            &[
                "scan",
                ".",
                "--explain-suppressed",
                "--all-rules",
                "-f",
                format,
            ],
        );
        let all = all_output(&o);
        assert_eq!(o.status.code(), Some(1), "{all}");
        for s in [&secret, &gh, &key_id] {
            assert!(!all.contains(&s[s.len() / 2..]), "{format}: {s} in {all}");
        }
    }
}

/// Item 2: a repository config cannot make leakhound print an environment variable, and the
/// AI evidence never carries a value.
#[test]
fn repo_config_cannot_read_the_environment() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(
        dir.path().join(".leakhound.toml"),
        "[[ai.session]]\nvar = \"CI_DEPLOY_TOKEN\"\ntool = \"Evil\"\nconfidence = \"high\"\nsource = \"a pull request\"\n",
    )
    .expect("config");
    fs::write(
        dir.path().join("a.env"),
        format!("TOKEN={}\n", github_token(3)),
    )
    .expect("write");
    let canary = "canary-deploy-token-9f8e7d";
    for format in ["text", "json", "sarif"] {
        let o = bin()
            .args(["scan", ".", "-f", format])
            .current_dir(dir.path())
            .env("CI_DEPLOY_TOKEN", canary)
            .output()
            .expect("runs");
        let all = all_output(&o);
        assert!(!all.contains(canary), "{format}: {all}");
        assert!(
            !all.contains("Evil"),
            "repo config added a session signal: {all}"
        );
        assert!(all.contains("[[ai.session]]"), "no notice: {all}");
    }
    // The same table given with --config is the user's choice: it tags, and names the
    // variable without its value.
    let cfg = dir.path().join("trusted.toml");
    fs::copy(dir.path().join(".leakhound.toml"), &cfg).expect("copy");
    let o = bin()
        .args(["scan", ".", "-f", "json", "--config"])
        .arg(&cfg)
        .current_dir(dir.path())
        .env("CI_DEPLOY_TOKEN", canary)
        .output()
        .expect("runs");
    let all = all_output(&o);
    assert!(!all.contains(canary), "{all}");
    let v = json(&o);
    assert_eq!(v["findings"][0]["ai"]["tool"], "Evil", "{all}");
    assert!(v["findings"][0]["ai"]["evidence"]
        .as_str()
        .expect("evidence")
        .contains("CI_DEPLOY_TOKEN"));
}

/// Item 2: files a repository points at (an absolute baseline, symlinked ignore files) are
/// not read, and errors never quote what they hold.
#[test]
fn repo_cannot_read_local_files_into_the_report() {
    let outside = tempfile::tempdir().expect("tmp");
    let canary = "canary-aws-secret-4c3b2a1";
    let private = outside.path().join("credentials");
    fs::write(
        &private,
        format!("[default]\nkey = {canary}\nENV={canary}\n"),
    )
    .expect("write");
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(dir.path().join("a.txt"), "nothing\n").expect("write");
    fs::write(
        dir.path().join("leakhound.toml"),
        format!("baseline = {:?}\n", private.display().to_string()),
    )
    .expect("config");
    let o = run(dir.path(), &["scan", "."]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(!all.contains(canary), "{all}");
    assert!(all.contains("inside the repository"), "{all}");
    // A relative baseline that is a symlink out of the checkout.
    fs::write(
        dir.path().join("leakhound.toml"),
        "baseline = \"leakhound.baseline\"\n",
    )
    .expect("config");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&private, dir.path().join("leakhound.baseline")).expect("ln");
        let o = run(dir.path(), &["scan", "."]);
        let all = all_output(&o);
        assert_eq!(o.status.code(), Some(2), "{all}");
        assert!(!all.contains(canary), "{all}");
        assert!(all.contains("symbolic link"), "{all}");
        fs::remove_file(dir.path().join("leakhound.toml")).expect("rm");
        std::os::unix::fs::symlink(&private, dir.path().join(".gitleaksignore")).expect("ln");
        let o = run(dir.path(), &["scan", "."]);
        let all = all_output(&o);
        assert!(!all.contains(canary), "{all}");
        assert!(all.contains(".gitleaksignore"), "{all}");
    }
    // An explicit --baseline that is not a baseline: described, never quoted.
    let o = run(
        dir.path(),
        &["scan", ".", "--baseline", &private.display().to_string()],
    );
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(!all.contains(canary), "{all}");
}

/// Item 3: names, contents, authors and subjects cannot drive the terminal or forge lines.
#[test]
fn control_characters_are_escaped_in_text_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let evil_name = "evil\x1b]0;pwned\x07\x1b[2J\rleakhound: no secrets found\u{202e}.env";
    let content = format!(
        "TOKEN={} \x1b[8m hidden \r\x1b[2Kleakhound: no secrets found\n",
        github_token(11)
    );
    #[cfg(unix)]
    {
        fs::write(dir.path().join(evil_name), &content).expect("write");
        let nl = "second\nleakhound: no secrets found; scanned 0 files.env";
        fs::write(dir.path().join(nl), &content).expect("write");
    }
    #[cfg(not(unix))]
    fs::write(dir.path().join("plain.env"), &content).expect("write");
    let o = run(dir.path(), &["scan", ".", "--color", "always"]);
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    // Colour codes are ours (`ESC[` + digits + `m`); nothing else may reach the terminal.
    let stripped = strip_sgr(&out);
    for bad in ['\x1b', '\r', '\x07', '\u{202e}'] {
        assert!(!stripped.contains(bad), "{bad:?} in {stripped:?}");
        assert!(!err.contains(bad), "{bad:?} in {err:?}");
    }
    for line in stripped.lines().chain(err.lines()) {
        assert!(
            !line.starts_with("leakhound: no secrets found"),
            "forged line: {line:?}"
        );
    }
    // History: author and subject.
    let mut repo = TestRepo::new();
    repo.commit_file(
        "k.env",
        &format!("TOKEN={}\n", github_token(12)),
        ("Mallory\x1b[2J", "m@corp.test"),
        "subject\x1b]0;owned\x07\rleakhound: no secrets found",
    );
    let o = run(&repo.path(), &["git", "."]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(1), "{all}");
    assert!(
        !all.contains('\x1b') && !all.contains('\r') && !all.contains('\x07'),
        "{all:?}"
    );
}

fn strip_sgr(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            let mut seq = String::new();
            chars.next();
            for d in chars.by_ref() {
                if d.is_ascii_digit() || d == ';' {
                    seq.push(d);
                } else {
                    if d != 'm' {
                        out.push_str("\x1b[");
                        out.push_str(&seq);
                        out.push(d);
                    }
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Item 4: ignore files, agent files and configs that are symlinks are never followed; the
/// folder is scanned without their rules, so nothing is missed.
#[cfg(unix)]
#[test]
fn repo_discovered_symlinks_are_not_followed() {
    let outside = tempfile::tempdir().expect("tmp");
    let star = outside.path().join("ignore-everything");
    fs::write(&star, "*\n").expect("write");
    let dir = tempfile::tempdir().expect("tmp");
    fs::create_dir_all(dir.path().join("sub")).expect("mkdir");
    fs::write(
        dir.path().join("sub/a.env"),
        format!("TOKEN={}\n", github_token(21)),
    )
    .expect("write");
    std::os::unix::fs::symlink(&star, dir.path().join("sub/.gitignore")).expect("ln");
    // The root's own ignore file, and an agent's.
    fs::write(
        dir.path().join("b.env"),
        format!("TOKEN={}\n", github_token(22)),
    )
    .expect("write");
    std::os::unix::fs::symlink(&star, dir.path().join(".ignore")).expect("ln");
    std::os::unix::fs::symlink(&star, dir.path().join(".cursorignore")).expect("ln");
    fs::create_dir_all(dir.path().join(".claude")).expect("mkdir");
    std::os::unix::fs::symlink(
        "/proc/self/environ",
        dir.path().join(".claude/settings.json"),
    )
    .expect("ln");
    fs::write(dir.path().join("CLAUDE.md"), "agent instructions\n").expect("write");
    let o = run(dir.path(), &["scan", ".", "-f", "json"]);
    let v = json(&o);
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(paths.contains(&"sub/a.env"), "{paths:?}");
    assert!(paths.contains(&"b.env"), "{paths:?}");
    let diags = v["diagnostics"].to_string();
    assert!(diags.contains("symbolic link"), "{diags}");
    // A config that is a symlink is refused.
    std::os::unix::fs::symlink(&star, dir.path().join("leakhound.toml")).expect("ln");
    let o = run(dir.path(), &["scan", "."]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(all_output(&o).contains("symbolic link"));
}

/// Item 4: the hook does not read a staged symlink's target outside the repository.
#[cfg(unix)]
#[test]
fn hook_does_not_follow_a_staged_symlink_out_of_the_repo() {
    let outside = tempfile::tempdir().expect("tmp");
    let target = outside.path().join("id_token");
    fs::write(&target, format!("TOKEN={}\n", github_token(23))).expect("write");
    let repo = TestRepo::new();
    std::os::unix::fs::symlink(&target, repo.path().join("link.env")).expect("ln");
    let o = run(&repo.path(), &["hook", "link.env", "-f", "json"]);
    let v = json(&o);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0), "{v}");
    assert_eq!(o.status.code(), Some(0), "{}", all_output(&o));
}

/// Item 5: reports and baselines are never written through a planted symlink.
#[cfg(unix)]
#[test]
fn outputs_never_follow_symlinks() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(
        dir.path().join("a.env"),
        format!("TOKEN={}\n", github_token(31)),
    )
    .expect("write");
    let victim = dir.path().join("victim");
    fs::write(&victim, "precious\n").expect("write");
    std::os::unix::fs::symlink(&victim, dir.path().join("leakhound.sarif")).expect("ln");
    std::os::unix::fs::symlink(&victim, dir.path().join("leakhound.baseline")).expect("ln");
    let o = run(
        dir.path(),
        &[
            "scan",
            "a.env",
            "-f",
            "sarif",
            "--output",
            "leakhound.sarif",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(all_output(&o).contains("symbolic link"));
    let o = run(dir.path(), &["baseline", "create", "a.env"]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert_eq!(fs::read_to_string(&victim).expect("read"), "precious\n");
    // A plain file is replaced whole.
    let o = run(
        dir.path(),
        &["scan", "a.env", "-f", "json", "-o", "out.json"],
    );
    assert_eq!(o.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&fs::read(dir.path().join("out.json")).expect("read"))
        .expect("json");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1));
}

/// Item 6: a missing or dangling root is an error, not an empty scan.
#[test]
fn dangling_or_missing_roots_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    let o = run(dir.path(), &["scan", "missing"]);
    assert_eq!(o.status.code(), Some(2));
    let o = run(dir.path(), &["hook", "missing.env"]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).expect("ln");
        let o = run(dir.path(), &["scan", "dangling"]);
        assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    }
}

/// Item 6: a file the walk cannot open (a path too long for the system) makes the scan
/// incomplete: never "no secrets found", exit 3, and the hook fails.
#[cfg(target_os = "linux")]
#[test]
fn unreadable_files_make_the_scan_incomplete() {
    let dir = tempfile::tempdir().expect("tmp");
    let seg = "d".repeat(250);
    let made = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "cd \"$1\" && for i in $(seq 1 18); do mkdir {seg} && cd {seg}; done && echo clean > f.txt"
        ))
        .arg("sh")
        .arg(dir.path())
        .status()
        .expect("sh");
    assert!(made.success());
    let o = run(dir.path(), &["scan", "."]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(3), "{err}");
    assert!(err.contains("scan incomplete"), "{err}");
    assert!(!err.contains("no secrets found"), "{err}");
    let o = run(dir.path(), &["scan", ".", "-f", "sarif"]);
    let v = json(&o);
    assert_eq!(v["runs"][0]["invocations"][0]["executionSuccessful"], false);
}

/// Item 6: corrupt and missing git objects and treeless clones end in exit 3, listed.
#[test]
fn damaged_history_is_incomplete_not_clean() {
    // A commit whose tree object is gone.
    let mut repo = TestRepo::new();
    repo.commit_file("a.txt", "one\n", ME, "first");
    let c2 = repo.commit_file("b.txt", "two\n", ME, "second");
    let tree = repo.repo.find_commit(c2).expect("c2").tree_id();
    let hex = tree.to_string();
    fs::remove_file(
        repo.path()
            .join(".git/objects")
            .join(&hex[..2])
            .join(&hex[2..]),
    )
    .expect("remove tree");
    let o = run(&repo.path(), &["git", "."]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(all.contains("tree"), "{all}");
    let o = run(&repo.path(), &["git", ".", "-f", "sarif"]);
    assert_eq!(
        json(&o)["runs"][0]["invocations"][0]["executionSuccessful"],
        false
    );
    // A ref to a missing commit.
    let repo = TestRepo::new();
    fs::create_dir_all(repo.path().join(".git/refs/heads")).expect("mkdir");
    fs::write(
        repo.path().join(".git/refs/heads/lost"),
        "1234567890123456789012345678901234567890\n",
    )
    .expect("ref");
    let mut repo = repo;
    repo.commit_file("a.txt", "x\n", ME, "first");
    let o = run(&repo.path(), &["git", "."]);
    assert_eq!(o.status.code(), Some(3), "{}", all_output(&o));
    // A clone marked partial the way current git marks it.
    let mut repo = TestRepo::new();
    repo.commit_file("a.txt", "x\n", ME, "first");
    let mut cfg = repo.repo.config().expect("config");
    cfg.set_str("remote.origin.url", "https://example.invalid/r.git")
        .expect("url");
    cfg.set_bool("remote.origin.promisor", true)
        .expect("promisor");
    cfg.set_str("remote.origin.partialclonefilter", "tree:0")
        .expect("filter");
    let o = run(&repo.path(), &["git", "."]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(all.contains("partial clone"), "{all}");
}

/// Item 7: a branch that only touches another line of a file holding an old key does not
/// introduce it: --range, --pre-push and --staged agree.
#[test]
fn range_push_and_staged_blame_only_what_a_commit_introduced() {
    let mut repo = TestRepo::new();
    let old_key = github_token(41);
    let base = repo.commit_file("config.env", &format!("TOKEN={old_key}\n"), ME, "old key");
    repo.branch_and_checkout("feature", base);
    // Staged: the same edit, before it is committed.
    repo.write("config.env", &format!("TOKEN={old_key}\ndebug=1\n"));
    repo.add("config.env");
    let o = run(&repo.path(), &["git", ".", "--staged", "-f", "json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["findings"][0]["existing"], true, "{v}");
    let head = repo.commit(ME, "debug on");
    let range = format!("{base}..{head}");
    let o = run(&repo.path(), &["git", ".", "--range", &range, "-f", "json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["findings"][0]["existing"], true, "{v}");
    let push = format!("refs/heads/feature {head} refs/heads/feature {base}\n");
    let mut child = bin()
        .args(["git", ".", "--pre-push", "-f", "json"])
        .current_dir(repo.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(push.as_bytes())
            .expect("write");
    }
    let o = child.wait_with_output().expect("wait");
    let v = json(&o);
    assert_eq!(o.status.code(), Some(0), "{v}");
    assert_eq!(v["findings"][0]["existing"], true, "{v}");
    // A new key on the branch still blocks.
    let new_key = github_token(42);
    let head2 = repo.commit_file(
        "config.env",
        &format!("TOKEN={old_key}\ndebug=1\nNEW={new_key}\n"),
        ME,
        "new key",
    );
    let o = run(
        &repo.path(),
        &[
            "git",
            ".",
            "--range",
            &format!("{base}..{head2}"),
            "-f",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
}

/// Item 8: a repository config that switches findings off is announced loudly, and
/// `--no-repo-config` scans with trusted config only.
#[test]
fn repo_config_cannot_silently_switch_the_scan_off() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(
        dir.path().join("a.env"),
        format!("TOKEN={}\n", github_token(51)),
    )
    .expect("write");
    fs::write(
        dir.path().join(".leakhound.toml"),
        "[rules]\ndisable = [\"*\"]\n[scan]\nmax_file_size = \"1\"\n",
    )
    .expect("config");
    fs::write(dir.path().join(".gitleaksignore"), "a.env:github.pat:1\n").expect("ignore");
    let o = run(dir.path(), &["scan", "."]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("disables"), "{err}");
    assert!(err.contains("--no-repo-config"), "{err}");
    let o = run(dir.path(), &["scan", ".", "--no-repo-config", "-f", "json"]);
    let v = json(&o);
    assert_eq!(o.status.code(), Some(1), "{v}");
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(1), "{v}");
}

/// Item 9: bounds on threads and on user rule sets.
#[test]
fn absurd_thread_counts_and_rule_sets_are_refused() {
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(dir.path().join("a.txt"), "x\n").expect("write");
    let o = run(dir.path(), &["scan", ".", "-j", "18446744073709551615"]);
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let mut rules = String::new();
    for i in 0..2001 {
        rules.push_str(&format!(
            "[[rule]]\nid = \"mine.r{i}\"\nname = \"r\"\nkeywords = [\"zq{i}x\"]\nregex = '''zq{i}x(?P<secret>[a-z]{{12}})'''\nseverity = \"low\"\nblast_radius = \"x\"\nexamples.positive = [\"zq{i}xabcdefghijkl\"]\nexamples.negative = [\"zq{i}x\"]\n"
        ));
    }
    fs::write(dir.path().join("many.toml"), rules).expect("write");
    let o = run(dir.path(), &["scan", "a.txt", "--rules", "many.toml"]);
    let all = all_output(&o);
    assert_eq!(o.status.code(), Some(2), "{all}");
    assert!(all.contains("2000"), "{all}");
}

/// Item 10: a weak secret's fingerprint is not the plain hash a dictionary inverts.
#[test]
fn weak_secrets_get_fingerprints_that_resist_guessing() {
    use sha2::{Digest, Sha256};
    let dir = tempfile::tempdir().expect("tmp");
    fs::write(dir.path().join("app.env"), "DB_PASSWORD=\"Summer2024!\"\n").expect("write");
    let o = run(dir.path(), &["scan", ".", "--all-rules", "-f", "json"]);
    let v = json(&o);
    let f = &v["findings"][0];
    let rule = f["rule_id"].as_str().expect("rule");
    let mut h = Sha256::new();
    h.update(rule.as_bytes());
    h.update([0u8]);
    h.update(b"Summer2024!");
    let plain: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(f["fingerprint"].as_str().map(str::len), Some(32), "{v}");
    assert_ne!(f["fingerprint"].as_str(), Some(plain.as_str()), "{v}");
    // Stable across runs (baselines depend on it).
    let again = json(&run(
        dir.path(),
        &["scan", ".", "--all-rules", "-f", "json"],
    ));
    assert_eq!(again["findings"][0]["fingerprint"], f["fingerprint"]);
}

/// Item 11: a token in a commit message is found, placed at the commit, and redacted in the
/// subject wherever the subject is printed.
#[test]
fn commit_messages_are_scanned_and_subjects_redacted() {
    let mut repo = TestRepo::new();
    let token = github_token(61);
    repo.commit_file(
        "readme.md",
        "hello\n",
        ME,
        &format!("use token {token} for now\n\nbody"),
    );
    for format in ["text", "json", "sarif"] {
        let o = run(&repo.path(), &["git", ".", "-f", format]);
        let all = all_output(&o);
        assert_eq!(o.status.code(), Some(1), "{all}");
        assert!(!all.contains(&token[8..]), "{format}: {all}");
        assert!(all.contains("COMMIT_MSG"), "{format}: {all}");
    }
}

/// Item 12: names that are not UTF-8 keep their exact bytes in JSON and never collide.
#[cfg(target_os = "linux")]
#[test]
fn non_utf8_paths_round_trip() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().expect("tmp");
    let text = format!("TOKEN={}\n", github_token(71));
    for name in [&b"k\xff.env"[..], &b"k\xfe.env"[..]] {
        fs::write(dir.path().join(std::ffi::OsStr::from_bytes(name)), &text).expect("write");
    }
    let v = json(&run(dir.path(), &["scan", ".", "-f", "json"]));
    let mut raw: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path_bytes"].as_str())
        .collect();
    raw.sort();
    assert_eq!(raw, ["6bfe2e656e76", "6bff2e656e76"], "{v}");
}

/// Item 1, found by the fuzzer: a generic finding's `context` (the name its line gives the
/// secret) may itself hold another secret; it is redacted like the line context.
#[test]
fn a_secret_inside_a_context_name_is_redacted() {
    // `config.token=<key>` is a generic API key whose text is also the name that the
    // following password assignment gives its value.
    let gh = format!("{}_private_key", random_text(81, 32, B62));
    let password = random_text(82, 16, B62);
    let text = format!("config.token={gh} = \"{password}\"\n");
    let (outcome, shown) = render_all(&text, false);
    assert!(
        outcome.findings.iter().any(|f| f.context.is_some()),
        "{:?}",
        outcome.findings
    );
    for s in &shown {
        assert!(!s.contains(&gh[gh.len() / 2..]), "{s}");
    }
}

/// Item 1, found by the fuzzer: a secret known only from a decoded view (here percent
/// encoding) that also stands in clear elsewhere on the line is not shown there either.
#[test]
fn a_secret_found_by_decoding_is_not_shown_in_clear_elsewhere() {
    let pw = random_text(91, 20, B62);
    let text = format!("k={pw} GET /x?password%3D{pw} HTTP/1.1\n");
    let (outcome, shown) = render_all(&text, false);
    assert!(
        outcome.findings.iter().any(|f| !f.decoded.is_empty()),
        "{:?}",
        outcome.findings
    );
    for s in &shown {
        assert!(!s.contains(&pw[pw.len() / 2..]), "{s}");
    }
}

/// Item 1, found by the fuzzer: when two rules' secrets overlap, a later repeat of the shorter
/// one is still masked (repeats are searched for each secret, not for their union).
#[test]
fn a_repeat_of_an_overlapped_secret_is_masked() {
    let b64 = random_text(93, 18, B64).replace(['+', '/'], "Q");
    let text = format!("_password=\"{b64}é-tail=\" \"{b64}é-x\"\n");
    let (outcome, shown) = render_all(&text, false);
    assert!(!outcome.findings.is_empty());
    for s in &shown {
        assert!(!s.contains(&b64[b64.len() / 2..]), "{s}");
    }
}

/// Every input the `detect_render` fuzzer once failed on (`fuzz/regressions/`), replayed
/// through the fuzzer's own oracle: no rendered output holds a reported secret of 12 bytes or
/// more in clear (fingerprints and rule text, printed on purpose, are taken out first).
#[test]
fn fuzz_regressions_stay_fixed() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/regressions");
    let mut replayed = 0;
    for entry in fs::read_dir(&dir).expect("fuzz/regressions") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("a file")
            .to_string_lossy()
            .into_owned();
        if !name.starts_with("detect_render-") {
            continue;
        }
        let data = fs::read(&path).expect("read");
        let config = Config {
            keep_dropped: data.first().is_some_and(|b| b & 1 == 1),
            ..Config::default()
        };
        let outcome = scan_bytes(&data, "fuzz.env", detector(), &config);
        let mut outputs = rendered(&outcome);
        let rule_text: String = detector()
            .rules()
            .rules()
            .iter()
            .map(|r| {
                format!(
                    "{}\n{}\n{}\n{}\n",
                    r.spec.name,
                    r.spec.blast_radius,
                    r.spec.id,
                    r.spec.description.as_deref().unwrap_or("")
                )
            })
            .collect();
        for o in &mut outputs {
            let mut text = String::from_utf8_lossy(o).into_owned();
            for f in &outcome.findings {
                text = text.replace(&f.fingerprint.0, "<fingerprint>");
            }
            *o = text.into_bytes();
        }
        for f in &outcome.findings {
            let secret = f.secret.expose();
            if secret.len() < 12 || rule_text.contains(secret) {
                continue;
            }
            for o in &outputs {
                assert!(
                    !String::from_utf8_lossy(o).contains(secret),
                    "{name}: secret of {} printed in clear",
                    f.rule_id
                );
            }
        }
        replayed += 1;
    }
    assert!(replayed >= 5, "only {replayed} regression inputs found");
}
