//! CLI snapshots: one trycmd case per format, mode and error under `tests/cmd/`.
//! Update with `TRYCMD=overwrite cargo test --test cli` and review the diff like code.

#[test]
fn cli_cases() {
    trycmd::TestCases::new()
        .case("tests/cmd/*.toml")
        .env("NO_COLOR", "1");
}
