//! What providers and databases answer, as arbitrary bytes: never a panic, and never the
//! credential in what a report would show. The first byte picks the target: an HTTP answer
//! read by every built-in rule's `[rule.verify]` (status, one header, a body), or the byte
//! stream a PostgreSQL, MySQL, MongoDB or Redis server sends the handshake client on loopback.
#![no_main]

use std::io::Write;
use std::net::TcpListener;
use std::sync::OnceLock;
use std::time::Duration;

use leakhound::rules::{RuleSet, VerifyKind};
use leakhound::verify::{db, http, net::Net, scrub};
use libfuzzer_sys::fuzz_target;

// A planted value the oracle looks for (synthetic). leakhound:allow-next-line
const PASSWORD: &str = "Fz9pQ2mL7xKw";

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("rules"))
}

fn check_outcome(o: &leakhound::verify::Outcome) {
    let o = scrub(o.clone(), &[PASSWORD]);
    let shown = format!("{} {:?} {:?}", o.detail, o.identity, o.scopes);
    assert!(!shown.contains(PASSWORD), "{shown}");
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    if pick % 5 == 0 {
        // An HTTP answer: status from two bytes, then a header value and a body.
        let (status, rest) = match rest {
            [a, b, rest @ ..] => (100 + (u16::from(*a) << 8 | u16::from(*b)) % 500, rest),
            _ => (200, rest),
        };
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let header = String::from_utf8_lossy(&rest[..split]).into_owned();
        let resp = http::Response {
            status,
            headers: vec![
                ("x-oauth-scopes".into(), header.clone()),
                ("openai-organization".into(), header),
            ],
            body: rest.get(split + 1..).unwrap_or_default().to_vec(),
            oversized: false,
        };
        for rule in rules().rules() {
            if let Some(spec) = rule.spec.verify.as_ref().filter(|s| s.kind == VerifyKind::Http) {
                let out = http::judge(spec, &resp, "api.example.com");
                let out = scrub(out, &[PASSWORD]);
                check_outcome(&out);
            }
        }
        return;
    }
    let (kind, uri) = match pick % 5 {
        1 => (VerifyKind::Postgres, "postgres://app:{P}@127.0.0.1:{PORT}/app"),
        2 => (VerifyKind::Mysql, "mysql://app:{P}@127.0.0.1:{PORT}/app"),
        3 => (VerifyKind::Mongodb, "mongodb://app:{P}@127.0.0.1:{PORT}/app"),
        _ => (VerifyKind::Redis, "redis://app:{P}@127.0.0.1:{PORT}/0"),
    };
    let Ok(listener) = TcpListener::bind("127.0.0.1:0") else {
        return;
    };
    let Ok(port) = listener.local_addr().map(|a| a.port()) else {
        return;
    };
    let answer = rest.to_vec();
    let server = std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let _ = s.write_all(&answer);
            // Closing ends the exchange: the client sees the end of the stream.
        }
    });
    let net = Net {
        allow_private: true,
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
    };
    let uri = uri.replace("{P}", PASSWORD).replace("{PORT}", &port.to_string());
    let out = db::check(kind, &uri, &net);
    check_outcome(&out);
    let _ = server.join();
});
