//! Throughput benchmarks on a seeded, generated corpus: the detector alone (bytes in,
//! candidates out) and a full working-tree scan. Run with `cargo bench`; CI only compiles
//! them (`cargo bench --no-run`). Real-repository comparisons live in `scripts/bench-*.sh`.

use std::hint::black_box;

use divan::counter::BytesCount;
use leakhound::config::Config;
use leakhound::detect::{DetectOptions, Detector, Scratch};
use leakhound::rules::RuleSet;

fn main() {
    divan::main();
}

/// Source-like text: identifiers, assignments, comments, a few keywords that trigger rules,
/// and one planted credential per ~64 KiB. Deterministic for a given size.
fn corpus(bytes: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "fn",
        "let",
        "return",
        "struct",
        "impl",
        "config",
        "value",
        "buffer",
        "index",
        "token",
        "key",
        "parser",
        "request",
        "session",
        "password_hash",
        "auth",
        "client",
        "stream",
        "http://example.org/path",
        "=",
        "(",
        ")",
        "{",
        "}",
        ";",
        "// comment",
        "\n",
        "\n    ",
    ];
    let mut out = Vec::with_capacity(bytes + 256);
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next_secret = 65_536;
    while out.len() < bytes {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(WORDS[(x % WORDS.len() as u64) as usize].as_bytes());
        out.push(b' ');
        if out.len() > next_secret {
            out.extend_from_slice(
                concat!("\nAWS_ACCESS_KEY_ID=AKIA", "Q3EGRV7NXMWT5ZKP\n").as_bytes(),
            );
            next_secret += 65_536;
        }
    }
    out
}

#[divan::bench(args = [64 * 1024, 4 * 1024 * 1024])]
fn detect(bencher: divan::Bencher, size: usize) {
    bench_detect(bencher, &corpus(size));
}

/// Detection over `text` with the built-in rules, per byte.
fn bench_detect(bencher: divan::Bencher, text: &[u8]) {
    let detector = Detector::new(RuleSet::builtin().expect("built-in rules"));
    let mut scratch = Scratch::default();
    // Compile the lazily built regexes before timing.
    detector.detect(text, DetectOptions::default(), &mut scratch);
    bencher
        .counter(BytesCount::new(text.len()))
        .bench_local(|| {
            black_box(detector.detect(black_box(text), DetectOptions::default(), &mut scratch))
        });
}

/// Hostile shapes for the decoding pass: one long line of `%41`-style escapes with no
/// whitespace, and one of many short base64 runs. Both must scan at the speed of ordinary
/// text (they were quadratic until the gitleaks repository's history took 111 s).
#[divan::bench(args = ["escapes", "runs"])]
fn detect_adversarial(bencher: divan::Bencher, shape: &str) {
    let unit: &[u8] = match shape {
        "escapes" => b"a%41b\\x41&amp;",
        _ => b"QUJDREVGR0hJSktM,",
    };
    let text: Vec<u8> = unit.iter().copied().cycle().take(1 << 20).collect();
    bench_detect(bencher, &text);
}

#[divan::bench(sample_count = 10)]
fn scan_tree(bencher: divan::Bencher) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut total = 0;
    for i in 0..200 {
        let text = corpus(32 * 1024 + i * 97);
        total += text.len();
        let sub = dir.path().join(format!("d{}", i % 10));
        std::fs::create_dir_all(&sub).expect("mkdir");
        std::fs::write(sub.join(format!("f{i}.rs")), text).expect("write");
    }
    let detector = Detector::new(RuleSet::builtin().expect("built-in rules"));
    let roots = vec![dir.path().to_path_buf()];
    bencher.counter(BytesCount::new(total)).bench_local(|| {
        black_box(leakhound::scan::scan_paths(&roots, &detector, &Config::default()).expect("scan"))
    });
}

#[divan::bench]
fn startup_builtin_rules() -> Detector {
    Detector::new(RuleSet::builtin().expect("built-in rules"))
}

/// The fingerprint of a guessable secret (Argon2id, the cost an attacker pays per guess) and
/// of a generated token (SHA-256). Distinct secrets each time, so the per-process cache does
/// not answer.
#[divan::bench(args = [false, true])]
fn fingerprint(bencher: divan::Bencher, generated: bool) {
    let mut n = 0u64;
    bencher.bench_local(|| {
        n += 1;
        let secret = format!("Summer{n}!Qm7vT2pLx9RkZ4nBw8YcJd3FhGs6Ua1Ve0Xi");
        leakhound::finding::Fingerprint::derive(
            "generic.password",
            secret.as_bytes(),
            None,
            generated,
        )
    });
}
