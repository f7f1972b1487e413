//! SARIF output validates against the OASIS 2.1.0 schema and follows GitHub code scanning's
//! rules. The schema is vendored in `tests/schemas/` (so GitHub CI runs the check too).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn leakhound() -> Command {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
}

fn scan(args: &[&str]) -> Value {
    let out = leakhound()
        .args(["scan", "--format", "sarif"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("leakhound runs");
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("SARIF is JSON")
}

fn schema_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-2.1.0.json")
}

/// The validator, from the schema vendored in `tests/schemas/` (provenance and licence in its
/// README). It is part of the repository, so a missing or edited copy fails the test rather
/// than skipping the check.
fn validator() -> jsonschema::Validator {
    use sha2::Digest;
    let path = schema_path();
    let bytes = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("SARIF schema missing at {}: {e}", path.display()));
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(
        digest, "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e",
        "tests/schemas/sarif-2.1.0.json is not the OASIS errata01 schema"
    );
    let schema: Value = serde_json::from_slice(&bytes).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn worktree_sarif_validates_against_the_schema() {
    let v = validator();
    for args in [&["fixtures/demo"][..], &["tests/cmd/scan.in"][..]] {
        let doc = scan(args);
        let errors = schema_errors(&v, &doc);
        assert!(errors.is_empty(), "{args:?}: {errors:#?}");
    }
}

#[test]
fn schema_check_is_live() {
    let v = validator();
    let mut doc = scan(&["fixtures/demo"]);
    doc["version"] = Value::from("2.0.0");
    doc["runs"][0]["results"][0]["unexpected"] = Value::from(true);
    assert!(!schema_errors(&v, &doc).is_empty());
}

#[test]
fn empty_scan_is_valid_sarif() {
    let v = validator();
    let doc = scan(&["src/report"]);
    assert_eq!(doc["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    assert!(schema_errors(&v, &doc).is_empty());
}

#[test]
fn follows_github_code_scanning_rules() {
    let doc = scan(&["fixtures/demo"]);
    assert_eq!(doc["version"], "2.1.0");
    let runs = doc["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 1, "exactly one run");
    let run = &runs[0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "leakhound");
    assert!(driver["semanticVersion"].is_string());
    let rules = driver["rules"].as_array().expect("rules");
    assert!(!rules.is_empty());
    for r in rules {
        let id = r["id"].as_str().expect("rule id");
        let name = r["name"].as_str().expect("name");
        assert!(
            !name.is_empty() && name.chars().count() <= 255,
            "{id}: name"
        );
        for field in ["shortDescription", "fullDescription", "help"] {
            let text = r[field]["text"].as_str().unwrap_or_default();
            assert!(!text.is_empty(), "{id}: {field}");
            if field != "help" {
                assert!(text.chars().count() <= 1024, "{id}: {field} too long");
            }
        }
        let sev: f64 = r["properties"]["security-severity"]
            .as_str()
            .expect("security-severity is a string")
            .parse()
            .expect("security-severity is numeric");
        assert!((0.1..=10.0).contains(&sev), "{id}: {sev}");
        let tags = r["properties"]["tags"].as_array().expect("tags");
        assert!(tags.iter().any(|t| t == "security"), "{id}: tags");
        assert!(
            matches!(
                r["defaultConfiguration"]["level"].as_str(),
                Some("error" | "warning" | "note")
            ),
            "{id}: level"
        );
    }
    let results = run["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for res in results {
        let idx = res["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(
            res["ruleId"], rules[idx]["id"],
            "ruleIndex points at ruleId"
        );
        let locs = res["locations"].as_array().expect("locations");
        assert_eq!(locs.len(), 1, "one location per result");
        let uri = locs[0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .expect("uri");
        assert!(
            !uri.starts_with('/') && !uri.contains('\\') && !uri.contains("://"),
            "repo-relative uri: {uri}"
        );
        let region = &locs[0]["physicalLocation"]["region"];
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[k].as_u64().is_some_and(|n| n >= 1), "{k}");
        }
        assert!(res["partialFingerprints"]["leakhound/v1"].is_string());
        assert!(!res["message"]["text"]
            .as_str()
            .unwrap_or_default()
            .is_empty());
    }
}

#[test]
fn never_contains_a_raw_secret() {
    let shown = leakhound()
        .args([
            "scan",
            "--format",
            "json",
            "--show-secrets",
            "fixtures/demo",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("leakhound runs");
    let shown: Value = serde_json::from_slice(&shown.stdout).expect("json");
    let secrets: Vec<String> = shown["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["secret"].as_str().expect("secret").to_string())
        .collect();
    assert!(secrets.len() >= 10, "the demo has many secrets");
    let sarif = scan(&["fixtures/demo"]).to_string();
    for s in &secrets {
        assert!(!sarif.contains(s.as_str()), "SARIF leaks a secret");
    }
}

#[test]
fn history_sarif_validates_and_carries_commit_and_ai_facts() {
    let mut r = support::TestRepo::new();
    let token = support::github_token(61);
    r.commit_file(
        "deploy/ci env.txt",
        &format!("TOKEN={token}\n"),
        ("Dev Human", "dev@corp.test"),
        "Add CI\n\nCo-Authored-By: Claude <noreply@anthropic.com>\n",
    );
    r.commit_file(
        "deploy/ci env.txt",
        "TOKEN=\n",
        ("Dev Human", "dev@corp.test"),
        "Remove token",
    );
    let out = leakhound()
        .args(["git", "--format", "sarif"])
        .current_dir(r.path())
        .output()
        .expect("leakhound runs");
    assert_eq!(out.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&out.stdout).expect("SARIF is JSON");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains(&token), "the raw secret never appears");
    let res = &doc["runs"][0]["results"][0];
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deploy/ci%20env.txt"
    );
    assert!(res["partialFingerprints"]["leakhound/v1"].is_string());
    assert_eq!(res["properties"]["ai"]["tool"], "Claude Code");
    assert_eq!(res["properties"]["presentAtHead"], false);
    assert!(res["properties"]["commit"]["subject"]
        .as_str()
        .is_some_and(|s| s.starts_with("Add CI")));
    let errors = schema_errors(&validator(), &doc);
    assert!(errors.is_empty(), "{errors:#?}");
}
