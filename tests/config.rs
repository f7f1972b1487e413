//! Living with findings: config file, allowlists, inline markers, baselines, gitleaks configs.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{github_token, TestRepo};

const DEV: (&str, &str) = ("Dev Human", "dev@corp.test");

fn leakhound(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLAUDECODE")
        .output()
        .expect("leakhound runs")
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    std::fs::write(p, text).expect("write");
}

#[test]
fn a_baseline_of_200_findings_survives_edits_moves_reformatting_and_new_commits() {
    let mut r = TestRepo::new();
    for f in 0..20 {
        let mut text = String::new();
        for i in 0..10 {
            text.push_str(&format!(
                "TOKEN_{i} = \"{}\"\n",
                github_token(f * 10 + i + 1)
            ));
        }
        r.write(&format!("services/svc{f}/deploy.env"), &text);
        r.add(&format!("services/svc{f}/deploy.env"));
    }
    r.commit(DEV, "add services");
    let dir = r.path();
    let out = leakhound(&dir, &["baseline", "create", "-o", "leakhound.baseline"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let original = std::fs::read_to_string(dir.join("leakhound.baseline")).expect("baseline");
    let entries = original.lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(entries, 200);
    let mut sorted: Vec<&str> = original.lines().filter(|l| !l.starts_with('#')).collect();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        original
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
    );
    assert!(
        original
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.split_whitespace().count() == 2),
        "fingerprint and rule id only: no paths, lines or dates"
    );

    // Edit around the secrets, move every file, reformat each line, and commit unrelated work.
    for f in 0..20u32 {
        let old = dir.join(format!("services/svc{f}/deploy.env"));
        std::fs::remove_file(&old).expect("rm");
        let mut text = String::from("# deployment settings, reviewed\nREGION=eu-west-1\n\n");
        for i in 0..10u32 {
            text.push_str(&format!(
                "  token_{i}: '{}'   # moved\n",
                github_token(f * 10 + i + 1)
            ));
        }
        r.write(&format!("deploy/{f}/settings.yaml"), &text);
        r.add(&format!("services/svc{f}/deploy.env"));
        r.add(&format!("deploy/{f}/settings.yaml"));
    }
    r.commit(DEV, "restructure deployment settings");
    r.commit_file("README.md", "# service\n", DEV, "docs");

    let out = leakhound(
        &dir,
        &[
            "scan",
            ".",
            "--baseline",
            "leakhound.baseline",
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json(&out);
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0), "{v:#}");
    assert_eq!(v["summary"]["baselined"], 200);
    let out = leakhound(&dir, &["git", "--baseline", "leakhound.baseline"]);
    assert_eq!(out.status.code(), Some(0), "history too: {}", stderr(&out));

    let out = leakhound(&dir, &["baseline", "create", "-o", "again.baseline"]);
    assert_eq!(out.status.code(), Some(0));
    let again = std::fs::read_to_string(dir.join("again.baseline")).expect("again");
    assert_eq!(again, original, "re-creating the baseline changes nothing");
}

#[test]
fn expired_entries_fail_and_unexpired_ones_pass_with_clear_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(root, "old.env", &format!("A={}\n", github_token(501)));
    write(root, "new.env", &format!("B={}\n", github_token(502)));
    let out = leakhound(
        root,
        &[
            "baseline",
            "create",
            "-o",
            "b.txt",
            "--expires",
            "2999-12-31",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(root.join("b.txt")).expect("b");
    assert_eq!(text.matches("expires=2999-12-31").count(), 2);
    // Expire the entry of old.env; a re-create keeps hand-set dates and notes.
    let scan = json(&leakhound(root, &["scan", "old.env", "--format", "json"]));
    let fp = scan["findings"][0]["fingerprint"]
        .as_str()
        .expect("fp")
        .to_string();
    let edited: String = text
        .lines()
        .map(|l| {
            if l.starts_with(&fp) {
                l.replace("2999-12-31", "2000-01-01") + " # CI token, ticket OPS-7\n"
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    std::fs::write(root.join("b.txt"), &edited).expect("edit");

    let out = leakhound(
        root,
        &["scan", ".", "--baseline", "b.txt", "--explain-suppressed"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("old.env"), "{stdout}");
    assert!(
        stdout.contains("baseline entry expired on 2000-01-01: rotate this credential"),
        "{stdout}"
    );
    assert!(!stdout.contains("new.env:1:"), "{stdout}");
    assert!(stdout.contains("baseline entry at b.txt:"), "{stdout}");
    assert!(stdout.contains("(expires 2999-12-31)"), "{stdout}");

    leakhound(root, &["baseline", "create", "-o", "b.txt"]);
    let recreated = std::fs::read_to_string(root.join("b.txt")).expect("b");
    assert_eq!(recreated, edited, "dates and notes survive a re-create");

    std::fs::remove_file(root.join("new.env")).expect("rm");
    let out = leakhound(root, &["baseline", "prune", "b.txt"]);
    assert!(stderr(&out).contains("kept 1 of 2"), "{}", stderr(&out));
}

#[test]
fn inline_markers_on_the_line_and_the_line_above() {
    let dir = tempfile::tempdir().expect("tmp");
    let t = |n: u32| github_token(600 + n);
    let text = format!(
        "a = \"{}\"  # leakhound:allow\n\
         # leakhound:allow-next-line\n\
         b = \"{}\"\n\
         c = \"{}\"  // gitleaks:allow\n\
         d = \"{}\"  # pragma: allowlist secret\n\
         # pragma: allowlist nextline secret\n\
         e = \"{}\"\n\
         f = \"{}\"  # leakhound:allow aws.access_key_id\n\
         g = \"{}\"  # leakhound:allow github.*\n\
         h = \"{}\"\n",
        t(1),
        t(2),
        t(3),
        t(4),
        t(5),
        t(6),
        t(7),
        t(8)
    );
    write(dir.path(), "app.py", &text);
    let out = leakhound(
        dir.path(),
        &["scan", ".", "--format", "json", "--explain-suppressed"],
    );
    let v = json(&out);
    let lines: Vec<u64> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["line"].as_u64())
        .collect();
    assert_eq!(
        lines,
        [8, 10],
        "only the wrong-rule marker and the unmarked line: {v:#}"
    );
    let reasons = v["suppressed"].to_string();
    assert!(
        reasons.contains("inline marker `leakhound:allow-next-line`"),
        "{reasons}"
    );
    assert!(reasons.contains("gitleaks:allow"), "{reasons}");

    write(dir.path(), "leakhound.toml", "[scan]\nmarkers = false\n");
    let v = json(&leakhound(dir.path(), &["scan", ".", "--format", "json"]));
    assert_eq!(
        v["findings"].as_array().map(Vec::len),
        Some(8),
        "markers can be switched off"
    );
}

#[test]
fn allowlists_global_and_per_rule_with_reasons() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        root,
        "tests/fixtures/keys.env",
        &format!("K={}\n", github_token(701)),
    );
    write(
        root,
        "src/config.env",
        &format!("K={}\nL={}\n", github_token(702), github_token(703)),
    );
    write(
        root,
        "package-lock.json",
        "{\"password\": \"Zq8Kp3Lm7Xv2Nc9R\"}\n",
    );
    write(root, "vendor.env", &format!("K={}\n", github_token(704)));
    let secret703 = github_token(703);
    write(
        root,
        "leakhound.toml",
        &format!(
            "[[allowlist]]\ndescription = \"test fixtures\"\npaths = [\"tests/fixtures/**\"]\n\n\
             [[allowlist]]\ndescription = \"the rotated CI token\"\nrules = [\"github.*\"]\nsecrets = ['^{}$']\n\n\
             [[allowlist]]\ndescription = \"both must hold\"\ncondition = \"all\"\npaths = [\"vendor.env\"]\nstopwords = [\"no-such-word\"]\n",
            secret703[..12].to_string() + ".*"
        ),
    );
    let out = leakhound(
        root,
        &["scan", ".", "--format", "json", "--explain-suppressed"],
    );
    let v = json(&out);
    let paths: Vec<(String, u64)> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        paths,
        [
            ("src/config.env".to_string(), 1),
            ("vendor.env".to_string(), 1)
        ],
        "{v:#}"
    );
    let reasons = v["suppressed"].to_string();
    assert!(reasons.contains("test fixtures"), "{reasons}");
    assert!(reasons.contains("the rotated CI token"), "{reasons}");
    assert!(reasons.contains("lock files"), "shipped default: {reasons}");
    let shown = leakhound(root, &["config", "show"]);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("the rotated CI token") && shown.contains("lock files"),
        "{shown}"
    );
}

#[test]
fn rules_are_added_disabled_and_overridden_from_the_config() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(
        root,
        "a.env",
        &format!("K={}\nX=acme_Qm7vT2pLx9RkZ4nBw8Yc\n", github_token(801)),
    );
    write(
        root,
        "leakhound.toml",
        "[rules]\ndisable = [\"github.*\"]\n\n\
         [[rule]]\nid = \"acme.token\"\nname = \"Acme token\"\nkeywords = [\"acme_\"]\n\
         regex = '(?P<secret>acme_[A-Za-z0-9]{20})'\nseverity = \"medium\"\nblast_radius = \"Acme account\"\n",
    );
    let v = json(&leakhound(root, &["scan", ".", "--format", "json"]));
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert_eq!(ids, ["acme.token"], "{v:#}");
    write(
        root,
        "leakhound.toml",
        "[rules.override.\"github.pat_classic\"]\nseverity = \"low\"\n\n[scan]\nfail_on = \"high\"\n",
    );
    let out = leakhound(root, &["scan", ".", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "a low finding under fail_on = high"
    );
    assert_eq!(json(&out)["findings"][0]["severity"], "low");
}

#[test]
fn config_marker_and_baseline_errors_give_file_line_and_a_fix() {
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path();
    write(root, "a.env", "x\n");
    write(
        root,
        "leakhound.toml",
        "[scan]\nfail_on = \"low\"\n\n[[allowlist]]\ndescription = \"broken\"\nsecrets = ['(unclosed']\n",
    );
    let out = leakhound(root, &["scan", "."]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("leakhound.toml:6"), "{e}");
    assert!(e.contains("fix the pattern"), "{e}");

    write(
        root,
        "leakhound.toml",
        "[rules.override.\"no.such_rule\"]\nseverity = \"low\"\n",
    );
    let e = stderr(&leakhound(root, &["scan", "."]));
    assert!(
        e.contains("leakhound.toml:1") && e.contains("rules list"),
        "{e}"
    );

    // A typo in `disable` would switch nothing off in silence.
    write(
        root,
        "leakhound.toml",
        "[rules]\ndisable = [\n  \"github.*\",\n  \"github.pat_clasic\",\n]\n",
    );
    let out = leakhound(root, &["scan", "."]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("leakhound.toml:4")
            && e.contains("no rule matches")
            && e.contains("did you mean \"github.pat_classic\""),
        "{e}"
    );
    write(
        root,
        "leakhound.toml",
        "[rules]\ndisable = [\"github.**\"]\n",
    );
    let e = stderr(&leakhound(root, &["scan", "."]));
    assert!(
        e.contains("leakhound.toml:2") && e.contains("more than one `*`"),
        "{e}"
    );
    write(
        root,
        "leakhound.toml",
        "[[allowlist]]\ndescription = \"docs\"\nrules = [\"nosuch.rule\"]\n",
    );
    let e = stderr(&leakhound(root, &["scan", "."]));
    assert!(
        e.contains("[[allowlist]] rules") && e.contains("no rule matches"),
        "{e}"
    );

    // gitleaks' `[allowlist]` table in a leakhound config: said so, with the fix.
    write(
        root,
        "leakhound.toml",
        "[scan]\nfail_on = \"low\"\n\n[allowlist]\npaths = ['^docs/']\n",
    );
    let out = leakhound(root, &["scan", "."]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(
        e.contains("leakhound.toml:4")
            && e.contains("gitleaks' syntax")
            && e.contains("[[allowlist]]")
            && e.contains("leakhound config import"),
        "{e}"
    );

    // Entries are numbered as the user wrote them, from 1 (the shipped ones do not count).
    write(
        root,
        "leakhound.toml",
        "[[allowlist]]\ndescription = \"fine\"\nsecrets = ['^x$']\n\n[[allowlist]]\ndescription = \"broken\"\nlines = ['(']\n",
    );
    let e = stderr(&leakhound(root, &["scan", "."]));
    assert!(
        e.contains("allowlist entry 2 (\"broken\")") && e.contains("leakhound.toml:6"),
        "{e}"
    );

    std::fs::remove_file(root.join("leakhound.toml")).expect("rm");
    write(
        root,
        "b.txt",
        "# header\n0123456789abcdef0123456789abcdef github.pat_classic expires=31-12-2030\n",
    );
    let out = leakhound(root, &["scan", ".", "--baseline", "b.txt"]);
    assert_eq!(out.status.code(), Some(2));
    let e = stderr(&out);
    assert!(e.contains("b.txt:2") && e.contains("YYYY-MM-DD"), "{e}");
    let out = leakhound(root, &["scan", ".", "--baseline", "missing.txt"]);
    assert!(
        stderr(&out).contains("leakhound baseline create"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn gitleaks_configs_and_ignore_files_are_honoured() {
    let mut r = TestRepo::new();
    let dir = r.path();
    let token = github_token(901);
    r.commit_file(
        "app/settings.env",
        &format!("K={token}\nT=acme_Zq8Kp3Lm7Xv2Nc9Rb4Tw\n"),
        DEV,
        "add",
    );
    write(
        &dir,
        ".gitleaks.toml",
        "title = \"team\"\n[extend]\nuseDefault = true\n\n\
         [[rules]]\nid = \"acme-token\"\ndescription = \"Acme token\"\nregex = '''acme_[A-Za-z0-9]{20}'''\nkeywords = [\"acme_\"]\n\n\
         [[rules]]\nid = \"pfx-file\"\npath = '''\\.pfx$'''\n\n\
         [[allowlists]]\ndescription = \"docs\"\npaths = ['''^docs/''']\n",
    );
    let out = leakhound(&dir, &["scan", ".", "--format", "json"]);
    let e = stderr(&out);
    assert!(
        e.contains("as a gitleaks config: 1 rules translated, 1 not"),
        "{e}"
    );
    let v = json(&out);
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .collect();
    assert!(
        ids.contains(&"gitleaks.acme_token") && ids.contains(&"github.pat_classic"),
        "{ids:?}"
    );

    // .gitleaksignore: file form for the working tree, commit form for history.
    let commit = r
        .repo
        .head()
        .expect("head")
        .peel_to_commit()
        .expect("c")
        .id()
        .to_string();
    write(
        &dir,
        ".gitleaksignore",
        &format!("app/settings.env:github-pat:1\n{commit}:app/settings.env:acme-token:2\napp/settings.env:acme-token:2\n"),
    );
    let out = leakhound(&dir, &["scan", ".", "--format", "json"]);
    assert_eq!(
        json(&out)["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        stderr(&out)
    );
    let out = leakhound(&dir, &["git", "--format", "json"]);
    assert_eq!(
        json(&out)["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        stderr(&out)
    );

    // gitleaks fingerprints a secret where a commit's diff adds its line. A later commit that
    // changes another line of the file makes a new blob holding the same secret: leakhound
    // reads that blob too, and the one entry for the commit that added the line still
    // accepts the secret at that path, as it does in gitleaks.
    let first = commit.clone();
    r.commit_file(
        "app/settings.env",
        &format!("K={token}\nT=acme_Zq8Kp3Lm7Xv2Nc9Rb4Tw\nDEBUG=1\n"),
        DEV,
        "debug on",
    );
    write(
        &dir,
        ".gitleaksignore",
        &format!(
            "# accepted\n{first}:app/settings.env:github-pat:1\n{first}:app/settings.env:acme-token:2\n"
        ),
    );
    let out = leakhound(&dir, &["git", "--format", "json"]);
    assert_eq!(
        json(&out)["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The file itself is a list of fingerprints, never a finding (`path:rule:line` reads
    // like an assignment to generic rules).
    write(
        &dir,
        "sub/.gitleaksignore",
        "app/settings.env:generic-password:12\nconfig.yml:password:hunter2Zq8Kp3Lm7:4\n",
    );
    let out = leakhound(&dir, &["scan", "sub", "--format", "json"]);
    assert_eq!(
        json(&out)["findings"].as_array().map(Vec::len),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let out = leakhound(
        &dir,
        &["config", "import", ".gitleaks.toml", "-o", "leakhound.toml"],
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stderr(&out).contains("pfx-file: path-only rule"),
        "{}",
        stderr(&out)
    );
    let written = std::fs::read_to_string(dir.join("leakhound.toml")).expect("written");
    assert!(written.contains("# not translated: pfx-file"), "{written}");
    let out = leakhound(&dir, &["config", "show"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the imported file is a valid leakhound.toml: {}",
        stderr(&out)
    );
}
