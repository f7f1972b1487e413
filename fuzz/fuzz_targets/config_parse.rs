//! Config parsers over arbitrary text: leakhound.toml (parse, apply, rules, weakenings,
//! effective view), gitleaks configs (import and render) and `.gitleaksignore`.
#![no_main]

use leakhound::config::{Config, FileConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(file) = FileConfig::parse(text.to_string(), "fuzz.toml") {
        let mut config = Config::default();
        let _ = file.apply(&mut config, "fuzz.toml");
        let _ = file.rule_set("fuzz.toml");
        let _ = file.weakenings();
    }
    if let Ok(imp) = leakhound::import::gitleaks(text, "fuzz.gitleaks.toml") {
        let _ = leakhound::import::render(&imp, "fuzz.gitleaks.toml");
    }
    let _ = leakhound::import::gitleaksignore(text, ".gitleaksignore");
});
