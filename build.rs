//! Embeds every `rules/*.toml` file into the binary, sorted by name, so adding a provider
//! file needs no code change and the list cannot drift from the folder.
//!
//! Each file is parsed here and embedded as JSON: the rule files are 1.5 MB of TOML, which
//! took 13 ms to parse on every start (most of a one-file scan); the same data as JSON
//! deserializes in 3 ms. The rules' examples go into a second JSON string of their own: only
//! `rules check`, `rules list` and the tests read them, and a scan or an agent hook saves a
//! third of the parse without them. The TOML stays the source: a file that does not parse
//! fails the build with its name, line and column, and the schema is still checked when the
//! JSON is read.
use std::{env, fs, path::PathBuf};

fn main() {
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("rules");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut names: Vec<String> = fs::read_dir(&dir)
        .expect("rules/ directory exists")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".toml"))
        .collect();
    names.sort();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut out = String::from(
        "/// Built-in rule files: (file name, the rules as JSON without their examples, the\n/// examples of each rule in order as a JSON array), converted from the TOML by build.rs.\npub static FILES: &[(&str, &str, &str)] = &[\n",
    );
    for n in &names {
        let path = dir.join(n);
        println!("cargo:rerun-if-changed={}", path.display());
        let text = fs::read_to_string(&path).expect("rule files are UTF-8");
        let value: serde_json::Value = match toml::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                let at = e.span().map_or(String::new(), |s| {
                    let before = &text[..s.start.min(text.len())];
                    let line = before.matches('\n').count() + 1;
                    let col = before.len() - before.rfind('\n').map_or(0, |p| p + 1) + 1;
                    format!(":{line}:{col}")
                });
                panic!("rules/{n}{at}: {}", e.message());
            }
        };
        let mut lean = value;
        let mut examples = Vec::new();
        if let Some(rules) = lean.get_mut("rule").and_then(|r| r.as_array_mut()) {
            for rule in rules {
                let ex = rule
                    .as_object_mut()
                    .and_then(|o| o.remove("examples"))
                    .unwrap_or(serde_json::Value::Null);
                examples.push(ex);
            }
        }
        let json_path = out_dir.join(format!("{n}.json"));
        fs::write(
            &json_path,
            serde_json::to_string(&lean).expect("JSON values serialize"),
        )
        .expect("OUT_DIR is writable");
        let examples_path = out_dir.join(format!("{n}.examples.json"));
        fs::write(
            &examples_path,
            serde_json::to_string(&examples).expect("JSON values serialize"),
        )
        .expect("OUT_DIR is writable");
        out.push_str(&format!(
            "    ({n:?}, include_str!({:?}), include_str!({:?})),\n",
            json_path.display().to_string(),
            examples_path.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(out_dir.join("builtin_rules.rs"), out).expect("OUT_DIR is writable");
}
