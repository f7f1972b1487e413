//! Baselines over arbitrary text: parse, and an error never quotes the file.
#![no_main]

use leakhound::baseline::Baseline;
use libfuzzer_sys::fuzz_target;

/// The fixed texts of baseline errors (src/baseline.rs).
const MESSAGES: &[&str] = &[
    "the first word is not a fingerprint: an entry is `<32 hex digits> <rule id> [path=P] [expires=YYYY-MM-DD] [# note]`, as `leakhound baseline create` writes it",
    "the rule id is missing after the fingerprint",
    "the expires= value is not a date: write expires=YYYY-MM-DD",
    "unknown field: only path=... and expires=YYYY-MM-DD may follow the rule id (notes go after ` #`)",
];

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Baseline::parse(text, "fuzz.baseline") {
        Ok(b) => {
            let _ = leakhound::baseline::render_entries(b.entries.iter().map(|(_, e)| e));
        }
        Err(e) => {
            // The message describes; it may repeat only short words, never a long line (an
            // input line may of course be a copy of the message's own fixed text).
            let shown = e.message;
            for line in text.lines().filter(|l| l.len() >= 40) {
                assert!(
                    !shown.contains(line) || MESSAGES.iter().any(|m| m.contains(line)),
                    "baseline error quotes its input"
                );
            }
        }
    }
});
