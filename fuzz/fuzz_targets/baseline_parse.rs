//! Baselines over arbitrary text: parse, and an error never quotes the file.
#![no_main]

use leakhound::baseline::Baseline;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Baseline::parse(text, "fuzz.baseline") {
        Ok(b) => {
            let _ = leakhound::baseline::render_entries(b.entries.iter().map(|(_, e)| e));
        }
        Err(e) => {
            // The message describes; it may repeat only short words, never a long line.
            let shown = e.message;
            for line in text.lines().filter(|l| l.len() >= 40) {
                assert!(!shown.contains(line), "baseline error quotes its input");
            }
        }
    }
});
