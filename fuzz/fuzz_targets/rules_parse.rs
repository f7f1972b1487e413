//! Rule files over arbitrary text (TOML and YAML): parse, compile, and the lint that runs
//! every example through the detector.
#![no_main]

use leakhound::rules::{parse_rules, Format, RuleSet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for format in [Format::Toml, Format::Yaml] {
        let Ok(rules) = parse_rules(text, "fuzz", format) else {
            continue;
        };
        let mut set = RuleSet::default();
        for r in rules {
            let _ = r.compile_now();
            if set.push(r).is_err() {
                break;
            }
        }
        let _ = leakhound::lint::lint(&set);
    }
});
