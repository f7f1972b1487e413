//! Organisation scans: `--repository`, `--append` JSON Lines, and `leakhound merge`.

mod support;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use support::{github_token, TestRepo};

const DEV: (&str, &str) = ("Dev", "dev@corp.test");

fn leakhound(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .env_remove("CLAUDECODE")
        .output()
        .expect("leakhound runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Three repositories: `alpha` and `beta` share one token (the same credential committed
/// twice), each has one of its own; `gamma` is clean.
fn org() -> (TestRepo, TestRepo, TestRepo) {
    let shared = github_token(61);
    let mut alpha = TestRepo::new();
    alpha.commit_file("ci.env", &format!("TOKEN={shared}\n"), DEV, "ci");
    alpha.commit_file(
        "deploy.env",
        &format!("DEPLOY={}\n", github_token(62)),
        DEV,
        "deploy",
    );
    let mut beta = TestRepo::new();
    beta.commit_file("config/app.env", &format!("GH={shared}\n"), DEV, "app");
    beta.commit_file(
        "tools.env",
        &format!("TOOLS={}\n", github_token(63)),
        DEV,
        "tools",
    );
    let mut gamma = TestRepo::new();
    gamma.commit_file("README.md", "# clean\n", DEV, "init");
    (alpha, beta, gamma)
}

#[test]
fn appended_shard_reports_merge_into_one_finding_per_secret() {
    let (alpha, beta, gamma) = org();
    let out = tempfile::tempdir().expect("tmp");
    let shard = out.path().join("shard-0.jsonl");
    let shard_s = shard.to_str().expect("utf-8");
    for (repo, name) in [
        (&alpha, "org/alpha"),
        (&beta, "org/beta"),
        (&gamma, "org/gamma"),
    ] {
        let o = leakhound(
            &repo.path(),
            &[
                "git",
                "--repository",
                name,
                "--format",
                "jsonl",
                "--append",
                "-o",
                shard_s,
            ],
        );
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", stderr(&o));
    }
    let text = std::fs::read_to_string(&shard).expect("shard");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect();
    // 4 findings and one summary line per scan, each naming its repository.
    assert_eq!(
        lines.iter().filter(|l| l.get("rule_id").is_some()).count(),
        4
    );
    let summaries: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("summary").is_some())
        .collect();
    assert_eq!(summaries.len(), 3, "{text}");
    assert_eq!(summaries[2]["summary"]["repository"], "org/gamma");
    assert!(lines
        .iter()
        .filter(|l| l.get("rule_id").is_some())
        .all(|l| l["repository"]
            .as_str()
            .is_some_and(|r| r.starts_with("org/"))));

    let o = leakhound(out.path(), &["merge", "shard-0.jsonl", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("merged JSON");
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 3, "one per secret: {v:#}");
    assert_eq!(v["summary"]["repositories"], 3);
    assert_eq!(v["summary"]["commits"], 5);
    let shared: Vec<&Value> = findings
        .iter()
        .filter(|f| f["also_in"].as_array().is_some_and(|a| !a.is_empty()))
        .collect();
    assert_eq!(shared.len(), 1, "{v:#}");
    assert_eq!(shared[0]["repository"], "org/alpha");
    assert_eq!(shared[0]["path"], "ci.env");
    assert_eq!(shared[0]["also_in"][0]["repository"], "org/beta");
    assert_eq!(shared[0]["also_in"][0]["path"], "config/app.env");

    // Text names the repository of each finding and where else the secret is.
    let o = leakhound(out.path(), &["merge", "shard-0.jsonl", "--color", "never"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("org/alpha: ci.env:1:7"), "{text}");
    assert!(text.contains("also in org/beta:config/app.env:1"), "{text}");
    assert!(
        stderr(&o).contains("merged from 3 repositories"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn merging_one_report_gives_back_its_findings_and_sarif_validates() {
    let (alpha, _, _) = org();
    let out = tempfile::tempdir().expect("tmp");
    let json = out.path().join("alpha.json");
    let o = leakhound(
        &alpha.path(),
        &[
            "git",
            "--format",
            "json",
            "-o",
            json.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let scanned: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("read")).expect("JSON");
    let o = leakhound(out.path(), &["merge", "alpha.json", "--format", "json"]);
    let merged: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    let key = |v: &Value| -> Vec<(String, String, u64)> {
        v["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["fingerprint"].as_str().unwrap_or_default().to_string(),
                    f["path"].as_str().unwrap_or_default().to_string(),
                    f["line"].as_u64().unwrap_or_default(),
                )
            })
            .collect()
    };
    assert_eq!(key(&scanned), key(&merged));
    // Without --repository, the report's file names the repository.
    assert_eq!(merged["findings"][0]["repository"], "alpha");
    assert_eq!(
        merged["findings"][0]["secret"],
        scanned["findings"][0]["secret"]
    );

    let o = leakhound(out.path(), &["merge", "alpha.json", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&o.stdout).expect("SARIF");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-2.1.0.json"),
        )
        .expect("schema"),
    )
    .expect("schema JSON");
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&sarif)
        .map(|e| e.to_string())
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        sarif["runs"][0]["results"][0]["properties"]["repository"],
        "alpha"
    );
}

#[test]
fn a_shard_that_died_mid_write_keeps_what_it_had_and_says_so() {
    let (alpha, beta, _) = org();
    let out = tempfile::tempdir().expect("tmp");
    let shard = out.path().join("s.jsonl");
    let s = shard.to_str().expect("utf-8");
    for (repo, name) in [(&alpha, "org/alpha"), (&beta, "org/beta")] {
        leakhound(
            &repo.path(),
            &[
                "git",
                "--repository",
                name,
                "-f",
                "jsonl",
                "--append",
                "-o",
                s,
            ],
        );
    }
    // The second scan stopped while writing its last finding: cut its block short.
    let text = std::fs::read_to_string(&shard).expect("read");
    let alpha_end = text.find("\"summary\"").expect("alpha's summary");
    let alpha_end = alpha_end + text[alpha_end..].find('\n').expect("newline") + 1;
    let beta_first = &text[alpha_end..];
    let cut = alpha_end + beta_first.find('\n').expect("a beta finding") + 1 + 25;
    std::fs::write(&shard, &text[..cut]).expect("truncate");

    let o = leakhound(out.path(), &["merge", "s.jsonl", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["summary"]["complete"], false, "{v:#}");
    let paths: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["path"].as_str())
        .collect();
    assert!(
        paths.contains(&"ci.env") && paths.contains(&"deploy.env"),
        "{paths:?}"
    );
    let diags = v["diagnostics"].to_string();
    assert!(
        diags.contains("cut short") && diags.contains("did not finish"),
        "{diags}"
    );
}

#[test]
fn bad_merge_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("notes.txt"), "hello\n").expect("write");
    let o = leakhound(dir.path(), &["merge", "notes.txt"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("notes.txt:1") && stderr(&o).contains("merge reads"),
        "{}",
        stderr(&o)
    );
    let o = leakhound(dir.path(), &["merge", "missing.json"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("missing.json"), "{}", stderr(&o));
    // --append writes JSON Lines only.
    let o = leakhound(
        dir.path(),
        &[
            "scan",
            "notes.txt",
            "--append",
            "-o",
            "x.json",
            "-f",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--format jsonl"), "{}", stderr(&o));
}

/// A merged report can hold findings of rules this binary does not have (a scan's own
/// `[[rule]]`): every SARIF result still points at its own rule.
#[test]
fn sarif_rule_indexes_hold_for_rules_the_merging_binary_lacks() {
    let mut r = TestRepo::new();
    r.commit_file(
        "leakhound.toml",
        "[[rule]]\nid = \"acme.token\"\nname = \"Acme token\"\nkeywords = [\"acme_\"]\nregex = '\\b(?P<secret>acme_[A-Za-z0-9]{24})\\b'\nseverity = \"high\"\nblast_radius = \"Acme.\"\n",
        DEV,
        "config",
    );
    r.commit_file(
        "app.env",
        &format!("A=acme_Zq8Kp3Lm7Xv2Nc9Rb4Tw6Yh1\nGH={}\n", github_token(64)),
        DEV,
        "app",
    );
    let out = tempfile::tempdir().expect("tmp");
    let json = out.path().join("app.json");
    let o = leakhound(
        &r.path(),
        &[
            "scan",
            ".",
            "-f",
            "json",
            "-o",
            json.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let o = leakhound(out.path(), &["merge", "app.json", "-f", "sarif"]);
    let sarif: Value = serde_json::from_slice(&o.stdout).expect("SARIF");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{sarif:#}");
    for res in results {
        let i = res["ruleIndex"].as_u64().expect("index") as usize;
        assert_eq!(rules[i]["id"], res["ruleId"], "{sarif:#}");
    }
}
