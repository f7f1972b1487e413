//! The detector over arbitrary bytes, rendered in every format, with the no-raw-secret
//! oracle: no output may contain a reported secret (redaction is on, as by default).
#![no_main]

use std::sync::OnceLock;

use leakhound::config::Config;
use leakhound::detect::Detector;
use leakhound::report::{render, Format, RenderOptions};
use leakhound::rules::RuleSet;
use leakhound::scan::scan_bytes;
use libfuzzer_sys::fuzz_target;

fn detector() -> &'static Detector {
    static D: OnceLock<Detector> = OnceLock::new();
    D.get_or_init(|| Detector::new(RuleSet::builtin().expect("built-in rules")))
}

fuzz_target!(|data: &[u8]| {
    let detector = detector();
    let config = Config {
        keep_dropped: data.first().is_some_and(|b| b & 1 == 1),
        ..Config::default()
    };
    let outcome = scan_bytes(data, "fuzz.env", detector, &config);
    let mut outputs = Vec::new();
    // SARIF carries every rule's metadata: render it only when there is something to say.
    let formats: &[Format] = if outcome.findings.is_empty() && outcome.suppressed.is_empty() {
        &[Format::Text, Format::Json]
    } else {
        &[Format::Text, Format::Json, Format::Jsonl, Format::Sarif]
    };
    for &format in formats {
        let (mut out, mut status) = (Vec::new(), Vec::new());
        render(
            &outcome,
            detector.rules(),
            format,
            RenderOptions {
                color: false,
                ..RenderOptions::default()
            },
            &mut out,
            &mut status,
        )
        .expect("rendering to memory cannot fail");
        if matches!(format, Format::Json | Format::Sarif) {
            serde_json::from_slice::<serde_json::Value>(&out).expect("valid JSON");
        }
        outputs.push(out);
        outputs.push(status);
    }
    // Fingerprints are hex digests printed on purpose; a secret may coincide with a run of
    // their digits (libFuzzer learns comparison operands), so they are taken out first.
    for o in &mut outputs {
        for f in &outcome.findings {
            *o = replace_all(o, f.fingerprint.0.as_bytes());
        }
    }
    for f in &outcome.findings {
        let secret = f.secret.expose().as_bytes();
        // Short values can coincide with fixed report text; real secrets are longer. A value
        // that is part of some rule's own name or description is report text too.
        if secret.len() < 12 || memchr_find(rule_text(), secret).is_some() {
            continue;
        }
        for o in &outputs {
            assert!(
                memchr_find(o, secret).is_none(),
                "secret of {} printed in clear",
                f.rule_id
            );
        }
    }
});

/// Every rule's name, description and blast radius: text reports print on purpose.
fn rule_text() -> &'static [u8] {
    static T: OnceLock<Vec<u8>> = OnceLock::new();
    T.get_or_init(|| {
        let mut t = Vec::new();
        for r in detector().rules().rules() {
            for s in [&r.spec.name, &r.spec.blast_radius, &r.spec.id] {
                t.extend_from_slice(s.as_bytes());
                t.push(b'\n');
            }
            if let Some(d) = &r.spec.description {
                t.extend_from_slice(d.as_bytes());
                t.push(b'\n');
            }
        }
        t
    })
}

fn memchr_find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn replace_all(hay: &[u8], needle: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut last = 0;
    for at in memchr::memmem::find_iter(hay, needle) {
        if at < last {
            continue;
        }
        out.extend_from_slice(&hay[last..at]);
        out.extend_from_slice(b"<fingerprint>");
        last = at + needle.len();
    }
    out.extend_from_slice(&hay[last..]);
    out
}
