//! The rule files under `rules/`, embedded at build time by `build.rs` (sorted by name), as
//! JSON converted from their TOML (parsing 1.5 MB of TOML took most of a one-file scan).

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

#[cfg(test)]
mod tests {
    #[test]
    fn embeds_every_file_in_the_rules_folder() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        let mut on_disk: Vec<String> = std::fs::read_dir(dir)
            .expect("rules/ exists")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".toml"))
            .collect();
        on_disk.sort();
        let embedded: Vec<&str> = super::FILES.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn the_embedded_json_is_the_toml() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
        for (name, json, examples) in super::FILES {
            let text = std::fs::read_to_string(dir.join(name)).expect("rule file");
            let toml: serde_json::Value = toml::from_str(&text).expect("valid TOML");
            // The rules and their examples, split at build time, put back together.
            let mut embedded: serde_json::Value = serde_json::from_str(json).expect("valid JSON");
            let examples: Vec<serde_json::Value> =
                serde_json::from_str(examples).expect("valid JSON");
            let rules = embedded["rule"].as_array_mut().expect("rules");
            assert_eq!(rules.len(), examples.len(), "{name}");
            for (r, e) in rules.iter_mut().zip(examples) {
                if !e.is_null() {
                    r["examples"] = e;
                }
            }
            assert_eq!(toml, embedded, "{name}");
        }
    }
}
