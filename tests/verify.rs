//! `--verify` against mock providers on loopback: what each verifier sends (method, path,
//! credential header) and what the report says, for live, revoked, rate-limited, slow,
//! malformed, oversized and redirecting answers; and the guards (no connection without
//! `--verify`, private addresses refused unless the user's config allows them, a scanned
//! repository's `[verify]` ignored).
//!
//! These follow each provider's documentation and are tested against mocks here, not against
//! live accounts.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leakhound::rules::{RuleSet, VerifyKind};
use serde_json::Value;

/// One request the mock received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// What the mock answers.
#[derive(Clone)]
enum Reply {
    Http {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Bytes that are not HTTP.
    Raw(Vec<u8>),
    /// Never answers (until the client gives up).
    Hang,
    /// A 200 whose body goes on for this many bytes.
    Huge(usize),
}

fn json(status: u16, body: Value) -> Reply {
    Reply::Http {
        status,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: body.to_string().into_bytes(),
    }
}

type Script = dyn Fn(&Seen, usize) -> Reply + Send + Sync;

/// A mock provider on 127.0.0.1: records every request and answers by `script(request, n)`
/// (n = how many requests came before). Counts connections, requests or not.
struct Mock {
    port: u16,
    seen: Arc<Mutex<Vec<Seen>>>,
    connections: Arc<Mutex<usize>>,
}

impl Mock {
    fn start(script: impl Fn(&Seen, usize) -> Reply + Send + Sync + 'static) -> Mock {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let connections = Arc::new(Mutex::new(0));
        let script: Arc<Script> = Arc::new(script);
        let (s2, c2) = (seen.clone(), connections.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                *c2.lock().expect("lock") += 1;
                let (seen, script) = (s2.clone(), script.clone());
                std::thread::spawn(move || serve(stream, &seen, &*script));
            }
        });
        Mock {
            port,
            seen,
            connections,
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }

    fn connections(&self) -> usize {
        *self.connections.lock().expect("lock")
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Vec<Seen>>, script: &Script) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(20)));
    let mut reader = BufReader::new(match stream.try_clone() {
        Ok(s) => s,
        Err(_) => return,
    });
    let mut out = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, path) = (
            parts.next().unwrap_or_default().to_string(),
            parts.next().unwrap_or_default().to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
        }
        let len = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        let mut body = vec![0; len];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        let req = Seen {
            method,
            path,
            headers,
            body,
        };
        let n = {
            let mut s = seen.lock().expect("lock");
            s.push(req.clone());
            s.len() - 1
        };
        match script(&req, n) {
            Reply::Http {
                status,
                headers,
                body,
            } => {
                let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", body.len());
                for (n, v) in headers {
                    head.push_str(&format!("{n}: {v}\r\n"));
                }
                head.push_str("\r\n");
                if out.write_all(head.as_bytes()).is_err() || out.write_all(&body).is_err() {
                    return;
                }
            }
            Reply::Raw(bytes) => {
                let _ = out.write_all(&bytes);
                return;
            }
            Reply::Hang => {
                std::thread::sleep(Duration::from_secs(15));
                return;
            }
            Reply::Huge(n) => {
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {n}\r\n\r\n");
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = vec![b' '; 64 * 1024];
                let mut sent = 0;
                while sent < n {
                    let k = chunk.len().min(n - sent);
                    if out.write_all(&chunk[..k]).is_err() {
                        return;
                    }
                    sent += k;
                }
                return;
            }
        }
    }
}

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    // No user config of the machine running the tests: XDG_CONFIG_HOME names an empty place.
    c.env("NO_COLOR", "1")
        .env_remove("LEAKHOUND_CACHE_DIR")
        .env(
            "XDG_CONFIG_HOME",
            std::env::temp_dir().join("leakhound-tests-no-user-config"),
        );
    c
}

/// A user config (`--config`) for `[verify]`.
fn user_config(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("user-leakhound.toml");
    std::fs::write(&p, body).expect("write config");
    p
}

fn endpoints(pairs: &[(&str, String)]) -> String {
    let mut s = String::from("[verify]\nallow_private_addresses = true\ntimeout = 2\nconnect_timeout = 2\nrate = 1000\n[verify.endpoints]\n");
    for (k, v) in pairs {
        s.push_str(&format!("{k} = \"{v}\"\n"));
    }
    s
}

/// Scans `text` (as `file`) with `--verify` and a user config that points `provider` at `url`
/// (loopback allowed, short timeouts), JSON out.
fn verify_scan(dir: &Path, provider: &str, url: &str, file: &str, text: &str) -> (Value, Output) {
    let cfg = user_config(dir, &endpoints(&[(provider, url.to_string())]));
    scan(
        dir,
        file,
        text,
        &["--verify", "--config", cfg.to_str().expect("utf8")],
    )
}

/// Scans `text` (as `file`) with `args`, JSON out.
fn scan(dir: &Path, file: &str, text: &str, args: &[&str]) -> (Value, Output) {
    let path = dir.join(file);
    std::fs::write(&path, text).expect("write");
    let out = bin()
        .arg("scan")
        .arg(&path)
        .args(if args.contains(&"--format") {
            &["--no-repo-config"][..]
        } else {
            &["--format", "json", "--no-repo-config"][..]
        })
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

fn findings(v: &Value) -> Vec<Value> {
    v["findings"].as_array().cloned().unwrap_or_default()
}

fn verification<'a>(v: &'a Value, rule: &str) -> &'a Value {
    v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["rule_id"] == rule))
        .map(|f| &f["verification"])
        .unwrap_or_else(|| panic!("no {rule} finding in {v}"))
}

/// A GitHub mock that knows two tokens: `live` (200, as `login`) and `dead` (401); anything
/// else is a 400.
fn live_and_dead(live: &str, dead: &str, login: &'static str) -> Mock {
    let (live, dead) = (live.to_string(), dead.to_string());
    Mock::start(move |req, _| {
        let auth = req.header("authorization").unwrap_or_default();
        if auth.ends_with(&live) {
            json(200, serde_json::json!({ "login": login }))
        } else if auth.ends_with(&dead) {
            json(401, serde_json::json!({}))
        } else {
            json(400, serde_json::json!({}))
        }
    })
}

fn github_line(token: &str) -> String {
    format!("GITHUB_TOKEN={token}\n")
}

#[test]
fn github_live_token_reports_identity_scopes_and_over_privilege() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = support::github_token(1);
    let mock = Mock::start(|req, _| {
        if req.path == "/user" {
            Reply::Http {
                status: 200,
                headers: vec![
                    ("Content-Type".into(), "application/json".into()),
                    (
                        "X-OAuth-Scopes".into(),
                        "repo, delete_repo, read:org".into(),
                    ),
                ],
                body: br#"{"login":"octo-deployer","id":7}"#.to_vec(),
            }
        } else {
            json(404, serde_json::json!({}))
        }
    });
    let cfg = user_config(dir.path(), &endpoints(&[("github", mock.url())]));
    let cfg = cfg.to_str().expect("utf8");
    let (report, out) = scan(
        dir.path(),
        "deploy.sh",
        &github_line(&token),
        &["--verify", "--config", cfg],
    );
    assert_eq!(out.status.code(), Some(1));
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "live", "{v}");
    assert_eq!(v["identity"], "octo-deployer");
    assert_eq!(
        v["scopes"],
        serde_json::json!(["repo", "delete_repo", "read:org"])
    );
    assert_eq!(v["over_privileged"], true);
    assert!(
        v["detail"]
            .as_str()
            .expect("detail")
            .contains("delete_repo"),
        "{v}"
    );
    assert_eq!(v["provider"], "github");
    let f = &findings(&report)[0];
    assert_eq!(f["checks"]["checksum"], "valid");
    assert_eq!(report["summary"]["verified"]["live"], 1);
    // The request: GET /user, the token as a bearer token, nothing else carrying it.
    let seen = mock.seen();
    assert_eq!(seen.len(), 1, "one request per credential");
    assert_eq!(seen[0].method, "GET");
    assert_eq!(seen[0].path, "/user");
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {token}").as_str())
    );
    // The detail never carries the token, and neither does stderr.
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token));
    assert!(!v.to_string().contains(&token));

    // Text: the verdict and where to rotate it.
    let text = bin()
        .args(["scan", "--no-repo-config", "--verify", "--config", cfg])
        .arg(dir.path().join("deploy.sh"))
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(
        stdout.contains("verified (github): LIVE as octo-deployer"),
        "{stdout}"
    );
    assert!(stdout.contains("OVER-PRIVILEGED"), "{stdout}");
    assert!(
        stdout.contains("live: rotate it now at https://github.com/settings/tokens"),
        "{stdout}"
    );

    // SARIF: a live credential is an error with the highest security-severity.
    let (sarif, _) = scan(
        dir.path(),
        "deploy.sh",
        &github_line(&token),
        &["--verify", "--config", cfg, "--format", "sarif"],
    );
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["level"], "error");
    assert_eq!(result["properties"]["security-severity"], "10.0");
    assert_eq!(result["properties"]["verification"]["status"], "live");
}

#[test]
fn revoked_rate_limited_slow_malformed_and_oversized_answers() {
    let dir = tempfile::tempdir().expect("tmp");
    let cases: Vec<(&str, Arc<Script>, &str, &str)> = vec![
        (
            "revoked",
            Arc::new(|_: &Seen, _| json(401, serde_json::json!({"message": "Bad credentials"}))),
            "invalid",
            "rejected it (HTTP 401)",
        ),
        (
            "rate-limited, then live",
            Arc::new(|_: &Seen, n| {
                if n == 0 {
                    Reply::Http {
                        status: 429,
                        headers: vec![("Retry-After".into(), "0".into())],
                        body: Vec::new(),
                    }
                } else {
                    json(200, serde_json::json!({"login": "octo"}))
                }
            }),
            "live",
            "accepted it",
        ),
        (
            "always rate-limited",
            Arc::new(|_: &Seen, _| Reply::Http {
                status: 429,
                headers: vec![("Retry-After".into(), "0".into())],
                body: Vec::new(),
            }),
            "error",
            "rate-limiting",
        ),
        (
            "slow",
            Arc::new(|_: &Seen, _| Reply::Hang),
            "error",
            "timed out",
        ),
        (
            "garbage",
            Arc::new(|_: &Seen, _| Reply::Raw(b"\x00\x01 not http at all\r\n\r\n".to_vec())),
            "error",
            "127.0.0.1",
        ),
        (
            "100 MB",
            Arc::new(|_: &Seen, _| Reply::Huge(100 << 20)),
            "error",
            "larger than 256 KiB",
        ),
        (
            "server error",
            Arc::new(|_: &Seen, _| json(500, serde_json::json!({}))),
            "error",
            "HTTP 500",
        ),
        (
            "unexpected status",
            Arc::new(|_: &Seen, _| json(418, serde_json::json!({}))),
            "unknown",
            "HTTP 418",
        ),
    ];
    for (name, script, status, detail) in cases {
        let script2 = script.clone();
        let mock = Mock::start(move |r, n| script2(r, n));
        let t = Instant::now();
        let (report, out) = verify_scan(
            dir.path(),
            "github",
            &mock.url(),
            "config.env",
            &github_line(&support::github_token(2)),
        );
        let took = t.elapsed();
        let v = verification(&report, "github.pat_classic");
        assert_eq!(v["status"], status, "{name}: {v}");
        assert!(
            v["detail"].as_str().expect("detail").contains(detail),
            "{name}: {v}"
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "{name}: the finding still fails the run"
        );
        assert!(took < Duration::from_secs(12), "{name}: bounded ({took:?})");
        if name == "rate-limited, then live" {
            assert_eq!(mock.seen().len(), 2, "retried once");
        }
        if name == "always rate-limited" {
            assert_eq!(mock.seen().len(), 3, "two retries, then an error");
        }
    }
}

#[test]
fn redirects_are_followed_only_to_the_same_host_and_never_in_loops() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = support::github_token(3);
    // To the cloud metadata address: another host, not followed, never contacted.
    let away = Mock::start(|_, _| Reply::Http {
        status: 302,
        headers: vec![(
            "Location".into(),
            "http://169.254.169.254/latest/meta-data/".into(),
        )],
        body: Vec::new(),
    });
    let (report, _) = verify_scan(
        dir.path(),
        "github",
        &away.url(),
        "a.env",
        &github_line(&token),
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["detail"].as_str().expect("d").contains("another host"),
        "{v}"
    );

    // A loop on the same host: bounded.
    let looping = Mock::start(|req, _| Reply::Http {
        status: 301,
        headers: vec![("Location".into(), req.path.clone())],
        body: Vec::new(),
    });
    let (report, _) = verify_scan(
        dir.path(),
        "github",
        &looping.url(),
        "a.env",
        &github_line(&token),
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["detail"].as_str().expect("d").contains("redirects"),
        "{v}"
    );
    assert_eq!(
        looping.seen().len(),
        4,
        "the first request and three redirects"
    );

    // A same-host redirect is followed, and the answer read.
    let moved = Mock::start(|req, _| {
        if req.path == "/user" {
            Reply::Http {
                status: 307,
                headers: vec![("Location".into(), "/v2/user".into())],
                body: Vec::new(),
            }
        } else {
            json(200, serde_json::json!({"login": "moved-octo"}))
        }
    });
    let (report, _) = verify_scan(
        dir.path(),
        "github",
        &moved.url(),
        "a.env",
        &github_line(&token),
    );
    assert_eq!(
        verification(&report, "github.pat_classic")["identity"],
        "moved-octo"
    );
}

#[test]
fn nothing_connects_without_verify_and_private_addresses_need_the_users_consent() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = support::github_token(4);
    let mock = Mock::start(|_, _| json(200, serde_json::json!({"login": "x"})));
    // Without --verify: no connection, no verification in the report.
    let cfg = user_config(dir.path(), &endpoints(&[("github", mock.url())]));
    let (report, _) = scan(
        dir.path(),
        "a.env",
        &github_line(&token),
        &["--config", cfg.to_str().expect("utf8")],
    );
    assert!(findings(&report)[0].get("verification").is_none());
    assert!(report["summary"].get("verified").is_none());
    // The offline tier runs in every mode.
    assert_eq!(findings(&report)[0]["checks"]["checksum"], "valid");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(mock.connections(), 0, "no connection without --verify");

    // With --verify but without allow_private_addresses: refused after resolution.
    let cfg = user_config(
        dir.path(),
        &format!("[verify.endpoints]\ngithub = \"{}\"\n", mock.url()),
    );
    let (report, _) = scan(
        dir.path(),
        "a.env",
        &github_line(&token),
        &["--verify", "--config", cfg.to_str().expect("utf8")],
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "unknown", "{v}");
    assert!(
        v["detail"]
            .as_str()
            .expect("d")
            .contains("allow_private_addresses"),
        "{v}"
    );
    assert_eq!(
        mock.connections(),
        0,
        "a loopback endpoint is refused by default"
    );

    // A scanned repository's own [verify] is ignored (and said so): its endpoint is not used.
    let repo = dir.path().join("repo");
    std::fs::create_dir(&repo).expect("mkdir");
    std::fs::write(
        repo.join("leakhound.toml"),
        format!(
            "[verify]\nallow_private_addresses = true\n[verify.endpoints]\ngithub = \"{}\"\n",
            mock.url()
        ),
    )
    .expect("write");
    std::fs::write(repo.join("a.env"), github_line(&token)).expect("write");
    // No --verify here: the notice alone (with --verify the real provider would be asked).
    let out = bin().arg("scan").arg(&repo).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("[verify] section, ignored"), "{stderr}");
    assert_eq!(mock.connections(), 0);
}

#[test]
fn a_credential_is_sent_once_and_flags_shape_the_report_and_exit_code() {
    let dir = tempfile::tempdir().expect("tmp");
    let live = support::github_token(5);
    let dead = support::github_token(6);
    let mock = live_and_dead(&live, &dead, "live-user");
    let cfg = user_config(dir.path(), &endpoints(&[("github", mock.url())]));
    let cfg = cfg.to_str().expect("utf8");
    let text = format!("A={live}\nB={live}\nC={dead}\n");
    let (report, out) = scan(dir.path(), "x.env", &text, &["--verify", "--config", cfg]);
    assert_eq!(findings(&report).len(), 3);
    assert_eq!(
        mock.seen().len(),
        2,
        "the repeated token is asked about once"
    );
    assert_eq!(report["summary"]["verified"]["checked"], 2);
    assert_eq!(out.status.code(), Some(1));

    let (report, out) = scan(
        dir.path(),
        "x.env",
        &text,
        &["--verify", "--config", cfg, "--only-verified"],
    );
    assert_eq!(findings(&report).len(), 2, "only the live ones");
    assert_eq!(out.status.code(), Some(1));

    // --fail-on-live: an invalid credential alone does not fail the run.
    let (_, out) = scan(
        dir.path(),
        "y.env",
        &format!("C={dead}\n"),
        &["--verify", "--config", cfg, "--fail-on-live"],
    );
    assert_eq!(out.status.code(), Some(0));
    let (_, out) = scan(
        dir.path(),
        "y.env",
        &format!("A={live}\n"),
        &["--verify", "--config", cfg, "--fail-on-live"],
    );
    assert_eq!(out.status.code(), Some(1));

    // --only-verified needs --verify.
    let out = bin()
        .args(["scan", "--only-verified", "."])
        .current_dir(dir.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn dns_and_tls_failures_are_errors_with_a_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = support::github_token(7);
    // TLS to a server that speaks plain HTTP.
    let plain = Mock::start(|_, _| json(200, serde_json::json!({"login": "x"})));
    let (report, _) = verify_scan(
        dir.path(),
        "github",
        &format!("https://127.0.0.1:{}", plain.port),
        "a.env",
        &github_line(&token),
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["detail"].as_str().expect("d").contains("127.0.0.1"),
        "{v}"
    );
    // A name that cannot resolve (.invalid is reserved for that).
    let (report, _) = verify_scan(
        dir.path(),
        "github",
        "https://leakhound-test.invalid",
        "a.env",
        &github_line(&token),
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "error", "{v}");
    assert!(
        v["detail"].as_str().expect("d").contains("cannot resolve"),
        "{v}"
    );
}

/// Every built-in HTTP check, through the full scan: its rule's first positive example is
/// scanned with the provider's endpoint on a mock; the request must carry the secret, and the
/// documented live and invalid answers must read as live and invalid.
#[test]
fn every_http_verifier_sends_its_credential_and_reads_its_answers() {
    let rules = RuleSet::builtin_with_examples().expect("rules");
    let dir = tempfile::tempdir().expect("tmp");
    let mut providers = std::collections::BTreeSet::new();
    let mut checked = 0;
    let mut owned_elsewhere = std::collections::BTreeSet::new();
    for rule in rules.rules() {
        let Some(spec) = &rule.spec.verify else {
            continue;
        };
        providers.insert(spec.provider.clone());
        if spec.kind != VerifyKind::Http || !spec.needs.is_empty() {
            continue;
        }
        let Some(example) = rule
            .spec
            .examples
            .positive
            .iter()
            .find(|e| e.secret().is_some())
        else {
            panic!(
                "{}: a verifiable rule needs a positive example with its secret",
                rule.id()
            );
        };
        let secret = example.secret().expect("secret").to_string();
        for want in ["live", "invalid"] {
            let spec2 = spec.clone();
            let mock = Mock::start(move |_, _| {
                if want == "invalid" {
                    let status = spec2.invalid.first().copied().unwrap_or(401);
                    return json(status, serde_json::json!({}));
                }
                let status = spec2.live.first().copied().unwrap_or(200);
                let mut body = serde_json::json!({});
                if let (Some(field), Some(value)) = (&spec2.live_field, spec2.live_values.first()) {
                    let value: Value =
                        serde_json::from_str(value).unwrap_or(Value::String(value.clone()));
                    let mut at = &mut body;
                    for seg in field.split('.') {
                        at = &mut at[seg];
                    }
                    *at = value;
                }
                json(status, body)
            });
            let name = example_path(rule.spec.examples.path.as_deref());
            let (report, _) = verify_scan(
                dir.path(),
                &spec.provider,
                &mock.url(),
                &name,
                example.text(),
            );
            let found = findings(&report);
            let f = found
                .iter()
                .find(|f| f["rule_id"] == rule.id())
                .unwrap_or_else(|| panic!("{}: example not found: {report}", rule.id()));
            let v = &f["verification"];
            // Another rule may own a secret both claim; then it is verified by that rule.
            if v["provider"] != spec.provider.as_str() {
                owned_elsewhere.insert(rule.id().to_string());
                continue;
            }
            assert_eq!(v["status"], want, "{} ({want}): {v}", rule.id());
            let seen = mock.seen();
            assert_eq!(seen.len(), 1, "{}: one request", rule.id());
            let r = &seen[0];
            let method = spec.method.as_deref().unwrap_or("GET");
            assert_eq!(r.method, method, "{}", rule.id());
            let carried = r.path.contains(&secret)
                || r.headers
                    .iter()
                    .any(|(_, v)| v.contains(&secret) || basic_holds(v, &secret))
                || String::from_utf8_lossy(&r.body).contains(&secret);
            assert!(
                carried,
                "{}: the request does not carry the secret: {r:?}",
                rule.id()
            );
        }
        checked += 1;
    }
    assert!(
        owned_elsewhere.is_empty(),
        "examples verified by another rule: {owned_elsewhere:?}"
    );
    assert!(checked >= 25, "HTTP verifiers checked: {checked}");
    assert!(
        providers.len() >= 30,
        "providers with a check: {} ({providers:?})",
        providers.len()
    );
}

fn example_path(path: Option<&str>) -> String {
    path.map_or_else(|| "example.txt".to_string(), |p| p.replace('/', "_"))
}

fn basic_holds(header: &str, secret: &str) -> bool {
    use base64::Engine as _;
    header
        .strip_prefix("Basic ")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|d| String::from_utf8_lossy(&d).contains(secret))
}

/// AWS: a key id with its secret beside it; STS `GetCallerIdentity` signed with SigV4, then
/// the user's attached policies. The secret itself is never sent.
#[test]
fn aws_keys_are_signed_never_sent_and_admin_policies_flagged() {
    let dir = tempfile::tempdir().expect("tmp");
    let (key_id, secret) = (
        ["AKIA", "Q3EGRLWJ7UVPZ4MT"].concat(),
        ["k8Vd1Qe+Jt0uX3rYbW9z", "N5aLp2HsC7fGm4TqR6oE"].concat(),
    );
    let mock = Mock::start(|req, _| {
        let body = String::from_utf8_lossy(&req.body).to_string();
        if req.method == "POST" && body.contains("Action=GetCallerIdentity") {
            Reply::Http {
                status: 200,
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: b"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/ci-deployer</Arn><UserId>AIDAEXAMPLEUSER</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>".to_vec(),
            }
        } else if req.path.contains("Action=ListAttachedUserPolicies") {
            Reply::Http {
                status: 200,
                headers: vec![("Content-Type".into(), "text/xml".into())],
                body: b"<ListAttachedUserPoliciesResponse><ListAttachedUserPoliciesResult><AttachedPolicies><member><PolicyName>AdministratorAccess</PolicyName></member><member><PolicyName>ReadOnlyAccess</PolicyName></member></AttachedPolicies></ListAttachedUserPoliciesResult></ListAttachedUserPoliciesResponse>".to_vec(),
            }
        } else {
            Reply::Http {
                status: 400,
                headers: Vec::new(),
                body: Vec::new(),
            }
        }
    });
    let cfg = user_config(dir.path(), &endpoints(&[("aws", mock.url())]));
    let text = format!("aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n");
    let (report, _) = scan(
        dir.path(),
        "credentials",
        &text,
        &["--verify", "--config", cfg.to_str().expect("utf8")],
    );
    let v = verification(&report, "aws.access_key_id");
    assert_eq!(v["status"], "live", "{v}");
    assert_eq!(v["identity"], "arn:aws:iam::123456789012:user/ci-deployer");
    assert_eq!(v["over_privileged"], true);
    assert!(
        v["detail"]
            .as_str()
            .expect("d")
            .contains("AdministratorAccess"),
        "{v}"
    );
    // The secret's finding carries its pair's answer.
    assert!(findings(&report).len() >= 2, "the key id and its secret");
    let statuses: Vec<String> = findings(&report)
        .iter()
        .map(|f| f["verification"]["status"].to_string())
        .collect();
    assert!(statuses.iter().all(|s| s == "\"live\""), "{statuses:?}");
    let seen = mock.seen();
    assert_eq!(seen.len(), 2, "{seen:?}");
    let auth = seen[0].header("authorization").expect("signed");
    assert!(
        auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={key_id}/"))
            && auth.contains("/us-east-1/sts/aws4_request"),
        "{auth}"
    );
    assert!(seen[1]
        .header("authorization")
        .expect("signed")
        .contains("/us-east-1/iam/aws4_request"));
    for r in &seen {
        let all = format!(
            "{} {:?} {}",
            r.path,
            r.headers,
            String::from_utf8_lossy(&r.body)
        );
        assert!(
            !all.contains(&secret),
            "the secret access key must never be sent"
        );
    }

    // Alone, a key id cannot be checked, and nothing is sent.
    let before = mock.seen().len();
    let (report, _) = scan(
        dir.path(),
        "k.env",
        &format!("AWS_ACCESS_KEY_ID={key_id}\n"),
        &["--verify", "--config", cfg.to_str().expect("utf8")],
    );
    let v = verification(&report, "aws.access_key_id");
    assert_eq!(v["status"], "unknown", "{v}");
    assert_eq!(mock.seen().len(), before);
    // Offline: the account the key id encodes.
    assert!(findings(&report)[0]["checks"]["aws_account"].is_string());
}

/// Google: the service-account key signs a JWT (RS256) that the token endpoint exchanges.
#[test]
fn google_service_account_keys_sign_a_jwt_for_the_token_endpoint() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("tmp");
    let fixture = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/verify/gcp-service-account.json"),
    )
    .expect("fixture");
    let key: Value = serde_json::from_str(&fixture).expect("json");
    let pem = key["private_key"].as_str().expect("pem");
    let der = base64::engine::general_purpose::STANDARD
        .decode(
            pem.lines()
                .filter(|l| !l.starts_with("-----"))
                .collect::<String>(),
        )
        .expect("der");
    let pair = ring::signature::RsaKeyPair::from_pkcs8(&der).expect("key");
    let public = ring::signature::KeyPair::public_key(&pair)
        .as_ref()
        .to_vec();
    for (answer, want) in [(200u16, "live"), (400, "invalid")] {
        let public = public.clone();
        let mock = Mock::start(move |req, _| {
            let body = String::from_utf8_lossy(&req.body).to_string();
            let assertion = body
                .split("assertion=")
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let parts: Vec<&str> = assertion.split('.').collect();
            let signed = parts.len() == 3 && {
                let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(parts[2])
                    .unwrap_or_default();
                ring::signature::UnparsedPublicKey::new(
                    &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                    &public,
                )
                .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
                .is_ok()
            };
            let claims: Value = parts
                .get(1)
                .and_then(|p| {
                    base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(p)
                        .ok()
                })
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let ok = req.path == "/token"
                && body.starts_with(
                    "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
                )
                && signed
                && claims["iss"] == "verify-fixture@leakhound-fixture-0000.iam.gserviceaccount.com";
            if !ok {
                return json(422, serde_json::json!({}));
            }
            if answer == 200 {
                json(
                    200,
                    serde_json::json!({"access_token": "opaque", "expires_in": 3599}),
                )
            } else {
                json(400, serde_json::json!({"error": "invalid_grant"}))
            }
        });
        let (report, _) = verify_scan(dir.path(), "gcp", &mock.url(), "sa.json", &fixture);
        let v = verification(&report, "gcp.service_account_private_key");
        assert_eq!(v["status"], want, "{v}");
        assert_eq!(
            v["identity"],
            "verify-fixture@leakhound-fixture-0000.iam.gserviceaccount.com"
        );
        assert_eq!(mock.seen().len(), 1);
    }
}

/// A database URI through the full path: the password authenticates (Redis `AUTH`), nothing
/// else runs but `ACL WHOAMI`; without the user's consent a private host is not contacted.
#[test]
fn database_uris_authenticate_and_run_nothing() {
    let dir = tempfile::tempdir().expect("tmp");
    let password = ["rS7", "qLw2", "Vx9mTz4K"].concat();
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let commands = Arc::new(Mutex::new(Vec::<String>::new()));
    let (log, want) = (commands.clone(), password.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut out = stream;
            loop {
                // A RESP array of bulk strings.
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let n: usize = line.trim().trim_start_matches('*').parse().unwrap_or(0);
                let mut args = Vec::new();
                for _ in 0..n {
                    let mut len = String::new();
                    reader.read_line(&mut len).expect("len");
                    let mut arg = String::new();
                    reader.read_line(&mut arg).expect("arg");
                    args.push(arg.trim_end().to_string());
                }
                log.lock().expect("lock").push(args.join(" "));
                let reply = match args.first().map(|a| a.to_ascii_uppercase()).as_deref() {
                    Some("AUTH") if args.last() == Some(&want) => "+OK\r\n".to_string(),
                    Some("AUTH") => "-WRONGPASS invalid username-password pair\r\n".to_string(),
                    Some("ACL") => "$3\r\napp\r\n".to_string(),
                    Some("QUIT") => {
                        let _ = out.write_all(b"+OK\r\n");
                        break;
                    }
                    _ => "-ERR unexpected\r\n".to_string(),
                };
                if out.write_all(reply.as_bytes()).is_err() {
                    break;
                }
            }
        }
    });
    let cfg = user_config(dir.path(), &endpoints(&[]));
    for (pass, want) in [(password.as_str(), "live"), ("Tz8pQm3vLk9Rw2Xa", "invalid")] {
        let text = format!("REDIS_URL=redis://app:{pass}@127.0.0.1:{port}/0\n");
        let (report, _) = scan(
            dir.path(),
            "settings.env",
            &text,
            &["--verify", "--config", cfg.to_str().expect("utf8")],
        );
        let v = verification(&report, "connection.redis");
        assert_eq!(v["status"], want, "{v}");
        assert!(
            !v.to_string().contains(pass),
            "the password is never echoed"
        );
    }
    let seen = commands.lock().expect("lock").clone();
    assert!(
        seen.iter()
            .all(|c| c.starts_with("AUTH ") || c == "ACL WHOAMI" || c == "QUIT"),
        "{seen:?}"
    );
    // Without allow_private_addresses: not contacted.
    let before = commands.lock().expect("lock").len();
    let strict = user_config(dir.path(), "[verify]\ntimeout = 2\n");
    let text = format!("REDIS_URL=redis://app:{password}@127.0.0.1:{port}/0\n");
    let (report, _) = scan(
        dir.path(),
        "settings.env",
        &text,
        &["--verify", "--config", strict.to_str().expect("utf8")],
    );
    assert_eq!(
        verification(&report, "connection.redis")["status"],
        "unknown"
    );
    assert_eq!(commands.lock().expect("lock").len(), before);
}

/// `git` (history and `--staged`), `baseline create` and `ai exposure` take `--verify` too;
/// the hook and `--staged` never verify without it.
#[test]
fn history_staged_baseline_and_exposure_verify_when_asked() {
    let dir = tempfile::tempdir().expect("tmp");
    let (live, dead) = (support::github_token(11), support::github_token(12));
    let mock = live_and_dead(&live, &dead, "history-user");
    let cfg = user_config(dir.path(), &endpoints(&[("github", mock.url())]));
    let cfg = cfg.to_str().expect("utf8");
    let mut repo = support::TestRepo::new();
    repo.commit_file(
        "deploy.sh",
        &github_line(&live),
        ("Dev", "dev@example.com"),
        "add deploy",
    );
    repo.commit_file(
        "old.env",
        &github_line(&dead),
        ("Dev", "dev@example.com"),
        "old token",
    );

    // History.
    let out = bin()
        .args(["git", "--format", "json", "--verify", "--config", cfg])
        .arg(repo.path())
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    let by_path = |p: &str| {
        findings(&report)
            .into_iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p}: {report}"))
    };
    assert_eq!(by_path("deploy.sh")["verification"]["status"], "live");
    assert_eq!(by_path("old.env")["verification"]["status"], "invalid");
    assert_eq!(mock.seen().len(), 2);

    // Staged: without --verify nothing is asked; with it, the staged token is.
    repo.write("new.env", &github_line(&live));
    repo.add("new.env");
    let before = mock.seen().len();
    let out = bin()
        .args(["git", "--staged", "--format", "json", "--config", cfg])
        .arg(repo.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        mock.seen().len(),
        before,
        "--staged never verifies unless asked"
    );
    let out = bin()
        .args([
            "git", "--staged", "--format", "json", "--verify", "--config", cfg,
        ])
        .arg(repo.path())
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings(&report)[0]["verification"]["status"], "live");

    // The pre-commit hook: no verification unless given.
    let before = mock.seen().len();
    let out = bin()
        .args(["hook", "--config", cfg, "new.env"])
        .current_dir(repo.path())
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        mock.seen().len(),
        before,
        "the hook never verifies unless asked"
    );

    // baseline create --verify: the live token is left out, to be rotated.
    let work = dir.path().join("work");
    std::fs::create_dir(&work).expect("mkdir");
    std::fs::write(work.join("a.env"), format!("A={live}\nB={dead}\n")).expect("write");
    let out = bin()
        .args(["baseline", "create", "--verify", "--config", cfg, "-o"])
        .arg(dir.path().join("leakhound.baseline"))
        .arg(&work)
        .output()
        .expect("run");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "is LIVE (github): not accepted; rotate it at https://github.com/settings/tokens"
        ),
        "{stderr}"
    );
    let baseline =
        std::fs::read_to_string(dir.path().join("leakhound.baseline")).expect("baseline");
    let entries: Vec<&str> = baseline
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect();
    assert_eq!(
        entries.len(),
        1,
        "only the invalid token is accepted: {baseline}"
    );
    let out = bin()
        .args(["scan", "--no-repo-config", "--format", "json", "--baseline"])
        .arg(dir.path().join("leakhound.baseline"))
        .arg(&work)
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(findings(&report).len(), 1, "the live one still reports");
    assert_eq!(findings(&report)[0]["line"], 1);

    // ai exposure --verify: the environment's token, checked.
    let out = bin()
        .args([
            "ai",
            "exposure",
            "--no-home",
            "--format",
            "json",
            "--verify",
            "--config",
            cfg,
        ])
        .arg(&work)
        .env("DEPLOY_TOKEN", &live)
        .output()
        .expect("run");
    let audit: Value = serde_json::from_slice(&out.stdout).expect("json");
    let env_item = audit["items"]
        .as_array()
        .and_then(|i| i.iter().find(|x| x["location"] == "$DEPLOY_TOKEN"))
        .unwrap_or_else(|| panic!("{audit}"));
    assert_eq!(env_item["verification"]["status"], "live");
    assert_eq!(env_item["verification"]["identity"], "history-user");
    assert!(!audit.to_string().contains(&live), "never prints a value");
    // Without --verify: offline checks only.
    let before = mock.seen().len();
    let out = bin()
        .args(["ai", "exposure", "--no-home", "--format", "json"])
        .arg(&work)
        .env("DEPLOY_TOKEN", &live)
        .output()
        .expect("run");
    let audit: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert!(audit["items"][0].get("verification").is_none());
    assert_eq!(audit["items"][0]["checks"]["checksum"], "valid");
    assert_eq!(mock.seen().len(), before);
}

/// A verified SARIF log still validates against the SARIF 2.1.0 schema.
#[test]
fn verified_sarif_validates_against_the_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let mock = Mock::start(|_, _| json(200, serde_json::json!({"login": "octo"})));
    let cfg = user_config(dir.path(), &endpoints(&[("github", mock.url())]));
    let (sarif, _) = scan(
        dir.path(),
        "a.env",
        &github_line(&support::github_token(13)),
        &[
            "--verify",
            "--config",
            cfg.to_str().expect("utf8"),
            "--format",
            "sarif",
        ],
    );
    let schema: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/sarif-2.1.0.json"),
        )
        .expect("schema"),
    )
    .expect("json");
    let v = jsonschema::validator_for(&schema).expect("schema");
    let errors: Vec<String> = v.iter_errors(&sarif).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(
        sarif["runs"][0]["results"][0]["properties"]["verification"]["status"],
        "live"
    );
}

/// Azure Storage: the account key signs (Shared Key) Get Blob Service Properties for the
/// account named beside it; the key itself is never sent.
#[test]
fn azure_storage_keys_sign_for_their_account() {
    use base64::Engine as _;
    let dir = tempfile::tempdir().expect("tmp");
    let raw: Vec<u8> = (0u8..64)
        .map(|i| i.wrapping_mul(37).wrapping_add(11))
        .collect();
    let key = base64::engine::general_purpose::STANDARD.encode(&raw);
    for (good, want) in [(true, "live"), (false, "invalid")] {
        let signing = if good { raw.clone() } else { vec![7; 64] };
        let mock = Mock::start(move |req, _| {
            let date = req.header("x-ms-date").unwrap_or_default().to_string();
            let version = req.header("x-ms-version").unwrap_or_default().to_string();
            let to_sign = format!(
                "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/leakhoundfixture/\ncomp:properties\nrestype:service"
            );
            let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &signing);
            let want = format!(
                "SharedKey leakhoundfixture:{}",
                base64::engine::general_purpose::STANDARD
                    .encode(ring::hmac::sign(&k, to_sign.as_bytes()))
            );
            if req.path == "/?restype=service&comp=properties"
                && req.header("authorization") == Some(want.as_str())
            {
                Reply::Http {
                    status: 200,
                    headers: vec![("Content-Type".into(), "application/xml".into())],
                    body: b"<StorageServiceProperties/>".to_vec(),
                }
            } else {
                Reply::Http {
                    status: 403,
                    headers: Vec::new(),
                    body: b"<Error><Code>AuthenticationFailed</Code></Error>".to_vec(),
                }
            }
        });
        let text = format!(
            "AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName=leakhoundfixture;AccountKey={key};EndpointSuffix=core.windows.net\"\n"
        );
        let (report, _) = verify_scan(dir.path(), "azure", &mock.url(), "app.env", &text);
        let v = verification(&report, "azure.storage_connection_string_key");
        assert_eq!(v["status"], want, "{v}");
        if good {
            assert_eq!(v["identity"], "storage account leakhoundfixture");
            assert_eq!(v["over_privileged"], true);
        }
        let seen = mock.seen();
        assert_eq!(seen.len(), 1);
        assert!(!format!("{seen:?}").contains(&key), "the key is never sent");
    }
}

/// An answer that echoes the credential (in the identity, the scopes or the field Slack-style
/// checks read) never puts it in the report.
#[test]
fn an_answer_that_echoes_the_credential_is_withheld() {
    let dir = tempfile::tempdir().expect("tmp");
    let token = support::github_token(21);
    let echo = token.clone();
    let mock = Mock::start(move |req, _| {
        Reply::Http {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("X-OAuth-Scopes".into(), format!("repo, {echo}")),
        ],
        body: serde_json::json!({ "login": format!("user-{echo}"), "echo": req.header("authorization") })
            .to_string()
            .into_bytes(),
    }
    });
    let (report, out) = verify_scan(
        dir.path(),
        "github",
        &mock.url(),
        "a.env",
        &github_line(&token),
    );
    let v = verification(&report, "github.pat_classic");
    assert_eq!(v["status"], "live");
    assert!(
        v["identity"].as_str().expect("id").starts_with("(withheld"),
        "{v}"
    );
    assert!(!report.to_string().contains(&token[4..]), "{report}");
    assert!(!String::from_utf8_lossy(&out.stderr).contains(&token[4..]));
}

/// The user's own config file (`$XDG_CONFIG_HOME/leakhound/config.toml`) supplies `[verify]`
/// when `--config` does not; only that section of it is read.
#[test]
fn the_users_own_config_file_supplies_verify_settings() {
    let dir = tempfile::tempdir().expect("tmp");
    let mock = Mock::start(|_, _| json(200, serde_json::json!({"login": "from-user-config"})));
    let home = dir.path().join("xdg");
    std::fs::create_dir_all(home.join("leakhound")).expect("mkdir");
    std::fs::write(
        home.join("leakhound/config.toml"),
        endpoints(&[("github", mock.url())]),
    )
    .expect("write");
    let file = dir.path().join("a.env");
    std::fs::write(&file, github_line(&support::github_token(31))).expect("write");
    let out = bin()
        .args(["scan", "--no-repo-config", "--format", "json", "--verify"])
        .arg(&file)
        .env("XDG_CONFIG_HOME", &home)
        .output()
        .expect("run");
    let report: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        verification(&report, "github.pat_classic")["identity"],
        "from-user-config"
    );
    // Without --verify the user's file is not even read: nothing connects.
    let before = mock.connections();
    let out = bin()
        .args(["scan", "--no-repo-config", "--format", "json"])
        .arg(&file)
        .env("XDG_CONFIG_HOME", &home)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(mock.connections(), before);
}
