//! Detection beyond single tokens: credential files recognised by path, weak values in a
//! credential context, secrets behind encodings, names kept from the context, and bad input
//! to the decoders.

use std::fs;
use std::process::{Command, Output};

use serde_json::Value;

fn scan(dir: &std::path::Path, extra: &[&str]) -> (Value, Output) {
    let out = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["scan", ".", "-f", "json"])
        .args(extra)
        .current_dir(dir)
        .output()
        .expect("leakhound runs");
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    (v, out)
}

fn findings(v: &Value) -> Vec<(String, String, Value)> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap_or_default().to_string(),
                f["rule_id"].as_str().unwrap_or_default().to_string(),
                f.clone(),
            )
        })
        .collect()
}

fn write(dir: &std::path::Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
    fs::write(p, text).expect("write");
}

/// A random-looking value from a seed, for synthetic secrets.
fn value(seed: u64, n: usize) -> String {
    const A: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            A[(x % 62) as usize] as char
        })
        .collect()
}

fn hex32(seed: u64) -> String {
    let mut x = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    (0..32)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b"0123456789abcdef"[(x % 16) as usize] as char
        })
        .collect()
}

#[test]
fn credential_files_are_recognised_by_path_and_weak_values_still_count() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(
        d,
        "home/.netrc",
        "machine git.corp.test login ci password letmein\n",
    );
    write(
        d,
        "home/.pgpass",
        &format!("db.corp.test:5432:app:app:{}\n", value(1, 18)),
    );
    write(
        d,
        "home/.git-credentials",
        &format!("https://bot:{}@git.corp.test\n", value(2, 24)),
    );
    write(d, "app/config/master.key", &format!("{}\n", hex32(3)));
    write(
        d,
        "site/wp-config.php",
        "<?php\ndefine( 'DB_PASSWORD', 'admin' );\n",
    );
    write(
        d,
        "home/.config/filezilla/sitemanager.xml",
        &format!(
            "<Server><Host>ftp.corp.test</Host><Pass encoding=\"base64\">{}</Pass></Server>\n",
            value(4, 24)
        ),
    );
    write(
        d,
        "home/.msmtprc",
        &format!(
            "account default\nhost smtp.corp.test\npassword {}\n",
            value(5, 16)
        ),
    );
    // The same pgpass line elsewhere is not a credential file.
    write(
        d,
        "docs/notes.txt",
        &format!("db.corp.test:5432:app:app:{}\n", value(6, 18)),
    );
    let (v, _) = scan(d, &[]);
    let got = findings(&v);
    let has = |path: &str, rule: &str| got.iter().any(|(p, r, _)| p == path && r == rule);
    for (path, rule) in [
        ("home/.netrc", "netrc.password"),
        ("home/.pgpass", "pgpass.password"),
        ("home/.git-credentials", "git_credentials.password"),
        ("app/config/master.key", "rails.master_key"),
        ("site/wp-config.php", "wordpress.db_password"),
        (
            "home/.config/filezilla/sitemanager.xml",
            "filezilla.password",
        ),
        ("home/.msmtprc", "msmtp.password"),
    ] {
        assert!(has(path, rule), "{path} {rule}: {got:?}");
    }
    assert!(
        !got.iter().any(|(p, _, _)| p == "docs/notes.txt"),
        "{got:?}"
    );
    // Weak values in a credential context: reported, one severity step lower, and said so.
    let wp = got
        .iter()
        .find(|(p, _, _)| p == "site/wp-config.php")
        .expect("wp-config finding");
    assert_eq!(
        wp.2["severity"], "high",
        "critical lowered one step: {}",
        wp.2
    );
    assert!(wp.2["weak"].is_string(), "{}", wp.2);
    let netrc = got
        .iter()
        .find(|(p, _, _)| p == "home/.netrc")
        .expect("netrc finding");
    assert!(netrc.2["weak"].is_string(), "{}", netrc.2);
}

#[test]
fn secrets_behind_encodings_are_found_where_the_encoded_text_is() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let password = value(7, 20);
    let b64 = |s: &str| {
        const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let b = s.as_bytes();
        let mut out = String::new();
        for c in b.chunks(3) {
            let n = (u32::from(c[0]) << 16)
                | (u32::from(*c.get(1).unwrap_or(&0)) << 8)
                | u32::from(*c.get(2).unwrap_or(&0));
            for i in 0..4 {
                if i <= c.len() {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out
    };
    write(
        d,
        "k8s/secret.yaml",
        &format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  DB_PASSWORD: {}\n",
            b64(&password)
        ),
    );
    let api_key = value(8, 32);
    write(
        d,
        "logs/access.log",
        &format!("GET /hook?api_key%3D{api_key} HTTP/1.1\n"),
    );
    // Twice encoded: base64 of a line that is itself base64 of the assignment.
    let inner = b64(&format!("SERVICE_TOKEN={}", value(9, 40)));
    write(d, "cfg/nested.txt", &format!("blob: {}\n", b64(&inner)));
    let (v, _) = scan(d, &[]);
    let got = findings(&v);
    let k8s = got
        .iter()
        .find(|(p, _, _)| p == "k8s/secret.yaml")
        .unwrap_or_else(|| panic!("k8s: {got:?}"));
    assert_eq!(k8s.2["decoded"], serde_json::json!(["base64"]), "{}", k8s.2);
    assert_eq!(k8s.2["line"], 4);
    let log = got
        .iter()
        .find(|(p, _, _)| p == "logs/access.log")
        .unwrap_or_else(|| panic!("log: {got:?}"));
    assert_eq!(
        log.2["decoded"],
        serde_json::json!(["percent"]),
        "{}",
        log.2
    );
    assert_eq!(log.2["context"], "api_key", "{}", log.2);
    let nested = got
        .iter()
        .find(|(p, _, _)| p == "cfg/nested.txt")
        .unwrap_or_else(|| panic!("nested: {got:?}"));
    assert_eq!(
        nested.2["decoded"],
        serde_json::json!(["base64", "base64"]),
        "{}",
        nested.2
    );
    // Nothing decoded is printed in clear.
    let text = String::from_utf8(
        Command::new(env!("CARGO_BIN_EXE_leakhound"))
            .args(["scan", "."])
            .current_dir(d)
            .output()
            .expect("runs")
            .stdout,
    )
    .expect("utf-8");
    assert!(!text.contains(&password[4..]), "{text}");
    assert!(!text.contains(&api_key[4..]), "{text}");
}

#[test]
fn decoding_bombs_and_garbage_stay_bounded() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    // About 4 MB of base64 whose decoding is more base64: the budget stops it, and says so.
    let mut layer = "SERVICE_TOKEN=".to_string() + &value(10, 40);
    for _ in 0..3 {
        layer = format!("{layer} {layer}");
    }
    let mut blob = String::new();
    while blob.len() < 4_000_000 {
        blob.push_str("dG9rZW49YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY3ODk= ");
    }
    write(d, "bomb.txt", &blob);
    write(
        d,
        "garbage.txt",
        "%zz%4 \\u12 &#xZZ; &; ZGVmZ ////++++==== \\x \\u00 %\n",
    );
    let (v, out) = scan(d, &[]);
    assert!(out.status.code().is_some_and(|c| c <= 1), "{out:?}");
    let diags = v["diagnostics"].to_string();
    assert!(diags.contains("decoding stopped"), "{diags}");
}

#[test]
fn generic_findings_name_what_their_context_calls_them() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    write(
        d,
        "app/.env",
        &format!("SHODAN_API_KEY={}\n", value(11, 32)),
    );
    let (v, _) = scan(d, &[]);
    let got = findings(&v);
    assert!(
        got.iter().any(
            |(_, r, f)| r.starts_with("generic.") && f["context"] == "SHODAN_API_KEY"
                || r.starts_with("shodan.")
        ),
        "{got:?}"
    );
}

#[test]
fn the_parts_of_one_credential_are_reported_together() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let key_id: String = format!(
        "AKIA{}",
        value(12, 16)
            .to_ascii_uppercase()
            .replace(['0', '1', '8', '9'], "Q")
    );
    let secret = value(13, 40);
    write(
        d,
        "home/.aws/credentials",
        &format!("[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"),
    );
    let (v, _) = scan(d, &[]);
    let got = findings(&v);
    let id = got
        .iter()
        .find(|(_, r, _)| r == "aws.access_key_id")
        .unwrap_or_else(|| panic!("{got:?}"));
    assert_eq!(
        id.2["related"][0]["rule_id"], "aws.secret_access_key",
        "{}",
        id.2
    );
    assert_eq!(id.2["related"][0]["line"], 3);
}
