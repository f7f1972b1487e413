//! Archives and packages in the working tree and in git history: members are scanned and
//! reported as `outer!inner`, in every format; bombs, damage and encryption are bounded and
//! reported; container images saved as tarballs are opened layer by layer.

mod support;

use std::io::{Cursor, Write};
use std::path::Path;
use std::process::{Command, Output};
use std::time::Instant;

use serde_json::Value;
use support::{github_token, TestRepo};

fn leakhound(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("leakhound runs")
}

fn json(dir: &Path, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = leakhound(dir, &all);
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)))
}

fn paths(v: &Value) -> Vec<String> {
    let mut p: Vec<String> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["path"].as_str().expect("path").to_string())
        .collect();
    p.sort();
    p
}

fn diagnostics(v: &Value) -> String {
    v["diagnostics"].to_string()
}

fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    for (name, data) in files {
        w.start_file(*name, opts).expect("start");
        w.write_all(data).expect("write");
    }
    w.finish().expect("finish").into_inner()
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, *data).expect("append");
    }
    b.into_inner().expect("tar")
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).expect("gz");
    e.finish().expect("gz")
}

fn secret_file(seed: u32) -> Vec<u8> {
    format!("GITHUB_TOKEN={}\n", github_token(seed)).into_bytes()
}

#[test]
fn packages_in_the_working_tree_are_opened_and_named_outer_bang_inner() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let jar = zip_of(&[("BOOT-INF/classes/application.properties", &secret_file(1))]);
    std::fs::write(d.join("app.jar"), &jar).expect("jar");
    std::fs::write(
        d.join("pkg-1.0-py3-none-any.whl"),
        zip_of(&[("pkg/settings.py", &secret_file(2))]),
    )
    .expect("whl");
    std::fs::write(
        d.join("release.tar.gz"),
        gz(&tar_of(&[
            ("release/lib/app.jar", &jar),
            ("release/README", b"hi\n"),
        ])),
    )
    .expect("tgz");
    std::fs::write(d.join("dump.sql.gz"), gz(&secret_file(3))).expect("gz");
    let v = json(d, &["scan", "."]);
    assert_eq!(
        paths(&v),
        [
            "app.jar!BOOT-INF/classes/application.properties",
            "dump.sql.gz!(decompressed)",
            "pkg-1.0-py3-none-any.whl!pkg/settings.py",
            "release.tar.gz!release/lib/app.jar!BOOT-INF/classes/application.properties",
        ]
    );
    // The same names in SARIF and text.
    let out = leakhound(d, &["scan", ".", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).expect("sarif");
    let uris: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter_map(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].as_str())
        .collect();
    assert!(
        uris.contains(&"app.jar!BOOT-INF/classes/application.properties"),
        "{uris:?}"
    );
    let out = leakhound(d, &["scan", "."]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("pkg-1.0-py3-none-any.whl!pkg/settings.py:1:"),
        "{text}"
    );
    // --archive-depth 0: archives are binary files again.
    let v = json(d, &["scan", ".", "--archive-depth", "0"]);
    assert!(paths(&v).is_empty(), "{:?}", paths(&v));
}

#[test]
fn a_committed_archive_is_scanned_in_history_and_in_a_staged_commit() {
    let mut repo = TestRepo::new();
    let jar = zip_of(&[("META-INF/deploy.env", &secret_file(4))]);
    std::fs::write(repo.path().join("tool.jar"), &jar).expect("jar");
    repo.add("tool.jar");
    // Staged, before the commit: the hook sees inside.
    let out = leakhound(&repo.path(), &["git", "--staged", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(paths(&v), ["tool.jar!META-INF/deploy.env"]);
    assert_eq!(out.status.code(), Some(1));
    let c = repo.commit(("Dev", "dev@corp.test"), "add tool");
    // Removed later: history still has it, attributed to the commit that added it.
    std::fs::remove_file(repo.path().join("tool.jar")).expect("rm");
    repo.add("tool.jar");
    repo.commit(("Dev", "dev@corp.test"), "remove tool");
    let v = json(&repo.path(), &["git"]);
    assert_eq!(paths(&v), ["tool.jar!META-INF/deploy.env"]);
    assert_eq!(v["findings"][0]["commit"]["id"], c.to_string());
    assert_eq!(v["findings"][0]["present_at_head"], false);
    // The cache gives the same.
    let cache = tempfile::tempdir().expect("cache");
    let c = cache.path().to_str().expect("utf-8");
    let cold = leakhound(&repo.path(), &["git", "--format", "json"]).stdout;
    for _ in 0..2 {
        let warm = leakhound(&repo.path(), &["git", "--format", "json", "--cache", c]).stdout;
        assert_eq!(warm, cold);
    }
}

#[test]
fn container_images_saved_as_tarballs_are_opened_layer_by_layer() {
    let dir = tempfile::tempdir().expect("dir");
    // `docker save`: manifest.json and <id>/layer.tar.
    let layer = tar_of(&[
        ("app/config/.env", &secret_file(5)),
        ("etc/hostname", b"box\n"),
    ]);
    let saved = tar_of(&[
        ("manifest.json", b"[{\"Layers\":[\"abc/layer.tar\"]}]"),
        ("abc/layer.tar", &layer),
    ]);
    std::fs::write(dir.path().join("image.tar"), saved).expect("image");
    // An OCI layout: gzip layers named by digest, no extension.
    let oci = tar_of(&[
        ("oci-layout", b"{\"imageLayoutVersion\":\"1.0.0\"}"),
        (
            "blobs/sha256/0f1e2d",
            &gz(&tar_of(&[("srv/app/secrets.yml", &secret_file(6))])),
        ),
    ]);
    std::fs::write(dir.path().join("oci.tar"), oci).expect("oci");
    let v = json(dir.path(), &["scan", "."]);
    assert_eq!(
        paths(&v),
        [
            "image.tar!abc/layer.tar!app/config/.env",
            "oci.tar!blobs/sha256/0f1e2d!srv/app/secrets.yml",
        ]
    );
}

#[test]
fn bombs_damage_and_encryption_are_bounded_and_reported() {
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    // 42.zip-style: zips of zips of a member that inflates to 64 MiB, sixteen wide.
    let zeros = vec![0u8; 64 << 20];
    let leaf = zip_of(&[("zeros.bin", &zeros)]);
    let level: Vec<(String, Vec<u8>)> = (0..16)
        .map(|i| (format!("l{i}.zip"), leaf.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = level.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    let mid = zip_of(&refs);
    let mids: Vec<(String, Vec<u8>)> = (0..16)
        .map(|i| (format!("m{i}.zip"), mid.clone()))
        .collect();
    let refs: Vec<(&str, &[u8])> = mids.iter().map(|(n, b)| (n.as_str(), &b[..])).collect();
    std::fs::write(d.join("42.zip"), zip_of(&refs)).expect("bomb");
    // A truncated tarball with a secret before the cut.
    let tgz = gz(&tar_of(&[
        ("a/.env", &secret_file(7)),
        ("b/big.txt", &vec![b'x'; 400_000]),
    ]));
    std::fs::write(d.join("cut.tar.gz"), &tgz[..tgz.len() / 2]).expect("cut");
    // A zip whose member is flagged encrypted.
    let mut enc = zip_of(&[("secret.txt", b"anything")]);
    enc[6] |= 1;
    let cd = enc
        .windows(4)
        .position(|x| x == b"PK\x01\x02")
        .expect("central directory");
    enc[cd + 8] |= 1;
    std::fs::write(d.join("locked.zip"), enc).expect("enc");
    let started = Instant::now();
    let v = json(d, &["scan", "."]);
    let took = started.elapsed();
    assert_eq!(paths(&v), ["cut.tar.gz!a/.env"], "what was read is scanned");
    let diags = diagnostics(&v);
    assert!(diags.contains("42.zip"), "{diags}");
    assert!(
        diags.contains("cap per archive") || diags.contains("larger than"),
        "{diags}"
    );
    assert!(diags.contains("cut short or damaged"), "{diags}");
    assert!(
        diags.contains("locked.zip!secret.txt") && diags.contains("encrypted"),
        "{diags}"
    );
    // Bounded: a cap of 128 MiB extracted per archive, not 16 x 16 x 64 MiB.
    assert!(took.as_secs() < 60, "took {took:?}");
}
