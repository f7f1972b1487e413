//! `leakhound git --cache`: a warm scan reports exactly what a cold one does, through random
//! histories (branches, merges, back-dated and root commits, deleted and rewound refs, tags,
//! repacks), rule changes, damaged caches and concurrent scans.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use git2::{Oid, Repository, Signature, Time};
use support::github_token;

fn leakhound(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("leakhound runs")
}

/// The JSON report and exit code of a history scan, with `extra` flags.
fn scan(repo: &Path, extra: &[&str]) -> (String, Option<i32>, String) {
    let mut args = vec!["git", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let out = leakhound(&args, repo);
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 JSON");
    assert!(
        stdout.starts_with('{'),
        "no report: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        stdout,
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small deterministic generator (xorshift), so a failing seed can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

type Files = BTreeMap<Vec<u8>, String>;

/// A repository whose commits are built from file maps, with chosen times and parents.
struct History {
    dir: tempfile::TempDir,
    repo: Repository,
    commits: Vec<(Oid, Files)>,
    branches: BTreeMap<String, usize>,
    step: i64,
}

impl History {
    fn new() -> History {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        History {
            dir,
            repo,
            commits: Vec::new(),
            branches: BTreeMap::new(),
            step: 0,
        }
    }

    fn commit(&mut self, files: Files, parents: &[usize], message: &str, backdate: i64) -> usize {
        self.step += 1;
        let mut index = git2::Index::new().expect("index");
        for (path, text) in &files {
            let entry = git2::IndexEntry {
                ctime: git2::IndexTime::new(0, 0),
                mtime: git2::IndexTime::new(0, 0),
                dev: 0,
                ino: 0,
                mode: 0o100644,
                uid: 0,
                gid: 0,
                file_size: text.len() as u32,
                id: self.repo.blob(text.as_bytes()).expect("blob"),
                flags: 0,
                flags_extended: 0,
                path: path.clone(),
            };
            index.add(&entry).expect("add");
        }
        let tree = index.write_tree_to(&self.repo).expect("tree");
        let tree = self.repo.find_tree(tree).expect("tree");
        let time = Time::new(1_700_000_000 + self.step * 1000 - backdate, 0);
        let sig = Signature::new("Dev", "dev@corp.test", &time).expect("sig");
        let parents: Vec<git2::Commit<'_>> = parents
            .iter()
            .map(|&i| self.repo.find_commit(self.commits[i].0).expect("parent"))
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let id = self
            .repo
            .commit(None, &sig, &sig, message, &tree, &refs)
            .expect("commit");
        self.commits.push((id, files));
        self.commits.len() - 1
    }

    fn set_branch(&mut self, name: &str, commit: usize) {
        self.repo
            .reference(
                &format!("refs/heads/{name}"),
                self.commits[commit].0,
                true,
                "test",
            )
            .expect("branch");
        self.branches.insert(name.to_string(), commit);
    }

    fn head_to(&self, name: &str) {
        self.repo
            .set_head(&format!("refs/heads/{name}"))
            .expect("set head");
    }

    /// One random change: the kinds of history a real repository accumulates.
    fn mutate(&mut self, rng: &mut Rng) {
        let names: Vec<String> = self.branches.keys().cloned().collect();
        let pick = names[rng.below(names.len())].clone();
        let at = self.branches[&pick];
        match rng.below(100) {
            // A new branch from any earlier commit.
            0..=9 => {
                let from = rng.below(self.commits.len());
                let name = format!("b{}", self.step);
                self.set_branch(&name, from);
            }
            // A merge of another branch.
            10..=19 if names.len() > 1 => {
                let other = names[rng.below(names.len())].clone();
                let o = self.branches[&other];
                if o != at {
                    let mut files = self.commits[at].1.clone();
                    for (p, t) in self.commits[o].1.clone() {
                        if rng.chance(50) || !files.contains_key(&p) {
                            files.insert(p, t);
                        }
                    }
                    let c = self.commit(files, &[at, o], &format!("Merge {other}"), 0);
                    self.set_branch(&pick, c);
                }
            }
            // A root commit on a new branch (an orphan history).
            20..=23 => {
                let files = self.edit(Files::new(), rng);
                let c = self.commit(files, &[], "orphan", 0);
                let name = format!("orphan{}", self.step);
                self.set_branch(&name, c);
            }
            // A deleted branch (never the last).
            24..=28 if names.len() > 1 => {
                self.repo
                    .find_branch(&pick, git2::BranchType::Local)
                    .expect("branch")
                    .delete()
                    .ok();
                self.branches.remove(&pick);
                let head = self.branches.keys().next().expect("a branch").clone();
                self.head_to(&head);
            }
            // A branch rewound to an older commit (a force push).
            29..=33 => {
                let to = rng.below(self.commits.len());
                self.set_branch(&pick, to);
            }
            // A tag on some commit.
            34..=38 => {
                let c = self.commits[rng.below(self.commits.len())].0;
                let obj = self.repo.find_object(c, None).expect("object");
                self.repo
                    .tag_lightweight(&format!("v{}", self.step), &obj, true)
                    .expect("tag");
                self.step += 1;
            }
            // A late fetch: a branch from an old commit, committed long ago, holding content a
            // later commit also has, so that content entered history earlier than thought.
            42..=51 => {
                let from = rng.below(self.commits.len());
                let later = from + rng.below(self.commits.len() - from);
                let mut files = self.commits[from].1.clone();
                let donor = &self.commits[later].1;
                let secrets: Vec<_> = donor.iter().filter(|(_, t)| t.contains("ghp_")).collect();
                if !secrets.is_empty() {
                    let (p, t) = secrets[rng.below(secrets.len())];
                    files.insert(p.clone(), t.clone());
                }
                let files = self.edit(files, rng);
                let c = self.commit(files, &[from], "from a fork", 1_000_000);
                let name = format!("fork{}", self.step);
                self.set_branch(&name, c);
            }
            // Everything packed, as after `git gc`.
            39..=41 => {
                let mut pb = self.repo.packbuilder().expect("packbuilder");
                for (id, _) in &self.commits {
                    let mut walk = self.repo.revwalk().expect("walk");
                    walk.push(*id).expect("push");
                    pb.insert_walk(&mut walk).expect("insert");
                }
                pb.write(&self.dir.path().join(".git/objects/pack"), 0o644)
                    .expect("pack");
            }
            // An ordinary commit, sometimes back-dated (a rebase, a clock, a late fetch).
            _ => {
                let files = self.edit(self.commits[at].1.clone(), rng);
                let backdate = if rng.chance(30) {
                    (rng.below(20_000) as i64) * 10
                } else {
                    0
                };
                let message = if rng.chance(10) {
                    format!("deploy with {}", github_token(rng.below(1000) as u32))
                } else {
                    format!("change {}", self.step)
                };
                let c = self.commit(files, &[at], &message, backdate);
                self.set_branch(&pick, c);
            }
        }
    }

    /// Random file edits: secrets added, changed, removed, files deleted, directories copied.
    fn edit(&self, mut files: Files, rng: &mut Rng) -> Files {
        for _ in 0..1 + rng.below(3) {
            let dir = ["src", "config", "deploy/prod", "docs"][rng.below(4)];
            let name = format!("{dir}/f{}.txt", rng.below(6));
            match rng.below(10) {
                0 => {
                    files.remove(name.as_bytes());
                }
                1 => {
                    // A directory copied elsewhere: the same subtree at a second path.
                    let copies: Vec<(Vec<u8>, String)> = files
                        .iter()
                        .filter(|(p, _)| p.starts_with(b"src/"))
                        .map(|(p, t)| ([b"copy/".as_slice(), p].concat(), t.clone()))
                        .collect();
                    files.extend(copies);
                }
                2 => {
                    // A path that is not UTF-8.
                    let mut p = b"docs/caf".to_vec();
                    p.push(0xe9);
                    p.extend_from_slice(b".txt");
                    files.insert(p, format!("token = \"{}\"\n", github_token(7)));
                }
                3..=5 => {
                    let token = github_token(rng.below(40) as u32);
                    files.insert(
                        name.into_bytes(),
                        format!("# settings\napi_token = \"{token}\"\nretries = 3\n"),
                    );
                }
                _ => {
                    files.insert(
                        name.into_bytes(),
                        format!("plain text {}\n", rng.below(1000)),
                    );
                }
            }
        }
        files
    }
}

#[test]
fn warm_scans_report_what_cold_scans_report_through_random_histories() {
    for seed in [1u64, 7, 42] {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut h = History::new();
        let files = h.edit(Files::new(), &mut rng);
        let root = h.commit(files, &[], "initial", 0);
        h.set_branch("main", root);
        h.head_to("main");
        let cache = tempfile::tempdir().expect("cache dir");
        let cache_arg = cache.path().to_str().expect("utf-8").to_string();
        let mut resumed = 0;
        for step in 0..30 {
            h.mutate(&mut rng);
            let cold = scan(h.dir.path(), &[]);
            let warm = scan(h.dir.path(), &["--cache", &cache_arg]);
            assert_eq!(
                (&warm.0, warm.1),
                (&cold.0, cold.1),
                "seed {seed}, step {step}: warm differs from cold\n{}",
                warm.2
            );
            resumed += usize::from(warm.2.contains(": resumed;"));
            // One branch, through its own cache file.
            let cold = scan(h.dir.path(), &["--branch", "HEAD"]);
            let warm = scan(h.dir.path(), &["--branch", "HEAD", "--cache", &cache_arg]);
            assert_eq!(
                (&warm.0, warm.1),
                (&cold.0, cold.1),
                "seed {seed}, step {step}: --branch warm differs from cold\n{}",
                warm.2
            );
        }
        // The cache did its job most of the time (rewrites force a fresh walk, which still
        // reuses blob verdicts).
        assert!(resumed > 15, "seed {seed}: resumed only {resumed} times");
        let findings: serde_json::Value =
            serde_json::from_str(&scan(h.dir.path(), &[]).0).expect("json");
        assert!(
            findings["summary"]["findings"].as_u64().unwrap_or(0) > 0,
            "seed {seed}: the histories hold secrets"
        );
    }
}

/// A repository with a secret, and a cache directory.
fn small_repo() -> (History, tempfile::TempDir, String) {
    let mut h = History::new();
    let mut files = Files::new();
    files.insert(
        b"config/app.env".to_vec(),
        format!("TOKEN={}\n", github_token(3)),
    );
    files.insert(b"notes.txt".to_vec(), "nothing here\n".into());
    let c = h.commit(files, &[], "initial", 0);
    h.set_branch("main", c);
    h.head_to("main");
    let cache = tempfile::tempdir().expect("cache");
    let arg = cache.path().to_str().expect("utf-8").to_string();
    (h, cache, arg)
}

#[test]
fn a_rule_or_setting_change_redoes_what_depends_on_it_and_nothing_else() {
    let (h, _cache, arg) = small_repo();
    let cold = scan(h.dir.path(), &[]);
    let first = scan(h.dir.path(), &["--cache", &arg]);
    assert_eq!(first.0, cold.0);
    assert!(first.2.contains(": new;"), "{}", first.2);
    let warm = scan(h.dir.path(), &["--cache", &arg]);
    assert_eq!(warm.0, cold.0);
    assert!(warm.2.contains(": resumed;"), "{}", warm.2);
    // A config with one more rule: verdicts are redone, the walk is kept.
    let config = h.dir.path().join("..").join(format!(
        "extra-{}.toml",
        h.dir
            .path()
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("x")
    ));
    std::fs::write(
        &config,
        r#"
[[rule]]
id = "custom.plain"
name = "Custom plain marker"
regex = '''nothing (?P<secret>here)'''
keywords = ["nothing"]
severity = "low"
precision = "high"
blast_radius = "none"
examples.positive = ["nothing here"]
examples.negative = ["something there"]
"#,
    )
    .expect("config");
    let config = config.to_str().expect("utf-8");
    let cold = scan(h.dir.path(), &["--config", config]);
    let warm = scan(h.dir.path(), &["--config", config, "--cache", &arg]);
    assert_eq!(warm.0, cold.0);
    assert!(
        warm.2.contains("blob verdicts were redone"),
        "a rule change must be seen: {}",
        warm.2
    );
    assert!(
        warm.2.contains("0 commit(s) read"),
        "the walk is kept: {}",
        warm.2
    );
    let again = scan(h.dir.path(), &["--config", config, "--cache", &arg]);
    assert_eq!(again.0, cold.0);
    assert!(again.2.contains("resumed; 0 commit(s) read"), "{}", again.2);
    // A detection setting (the size limit) too.
    let cold = scan(h.dir.path(), &["--max-file-size", "10"]);
    let warm = scan(h.dir.path(), &["--max-file-size", "10", "--cache", &arg]);
    assert_eq!(warm.0, cold.0);
    assert!(warm.2.contains("redone"), "{}", warm.2);
    let _ = std::fs::remove_file(config);
}

fn cache_file(dir: &Path) -> std::path::PathBuf {
    let files: Vec<_> = std::fs::read_dir(dir)
        .expect("cache dir")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "lhc"))
        .collect();
    assert_eq!(files.len(), 1, "one cache file: {files:?}");
    files[0].clone()
}

#[test]
fn a_damaged_or_foreign_cache_is_reported_and_rebuilt_never_trusted() {
    let (h, cache, arg) = small_repo();
    let cold = scan(h.dir.path(), &[]);
    scan(h.dir.path(), &["--cache", &arg]);
    let file = cache_file(cache.path());
    let good = std::fs::read(&file).expect("cache");
    let damaged: Vec<(&str, Vec<u8>)> = vec![
        ("truncated mid-write", good[..good.len() / 2].to_vec()),
        ("empty", Vec::new()),
        ("flipped byte", {
            let mut b = good.clone();
            b[good.len() / 3] ^= 1;
            b
        }),
        ("another program's file", b"PK\x03\x04 not a cache".to_vec()),
        ("another format version", {
            // A well-formed file of a future version, checksum and all.
            use sha2::{Digest, Sha256};
            let mut b = good[..good.len() - 32].to_vec();
            b[8..12].copy_from_slice(&999u32.to_le_bytes());
            let sum = Sha256::digest(&b);
            b.extend_from_slice(&sum);
            b
        }),
    ];
    for (what, bytes) in damaged {
        std::fs::write(&file, &bytes).expect("damage");
        let warm = scan(h.dir.path(), &["--cache", &arg]);
        assert_eq!(warm.0, cold.0, "{what}: findings never lost");
        assert_eq!(warm.1, cold.1, "{what}");
        assert!(warm.2.contains("not used ("), "{what}: {}", warm.2);
        // Rebuilt: the next run resumes from a good file.
        let next = scan(h.dir.path(), &["--cache", &arg]);
        assert!(next.2.contains(": resumed;"), "{what}: {}", next.2);
        assert_eq!(next.0, cold.0);
    }
}

#[test]
fn concurrent_scans_sharing_a_cache_each_get_the_full_result() {
    let (mut h, cache, arg) = small_repo();
    for i in 0..20 {
        let mut files = h.commits.last().expect("a commit").1.clone();
        files.insert(
            format!("src/m{i}.txt").into_bytes(),
            format!("KEY={}\n", github_token(100 + i)),
        );
        let parent = h.commits.len() - 1;
        let c = h.commit(files, &[parent], "more", 0);
        h.set_branch("main", c);
    }
    let cold = scan(h.dir.path(), &[]);
    let children: Vec<std::process::Child> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_leakhound"))
                .args(["git", ".", "--format", "json", "--cache", &arg])
                .current_dir(h.dir.path())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert_eq!(String::from_utf8_lossy(&out.stdout), cold.0);
        assert_eq!(out.status.code(), cold.1);
    }
    // Whichever rename won, the file is whole.
    let next = scan(h.dir.path(), &["--cache", &arg]);
    assert!(next.2.contains(": resumed;"), "{}", next.2);
    assert_eq!(next.0, cold.0);
    let leftovers: Vec<_> = std::fs::read_dir(cache.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn the_cache_is_not_for_ranges_and_never_writes_to_the_repository() {
    let (h, _cache, arg) = small_repo();
    let before = support::snapshot(h.dir.path());
    scan(h.dir.path(), &["--cache", &arg]);
    scan(h.dir.path(), &["--cache", &arg]);
    assert_eq!(support::snapshot(h.dir.path()), before);
    let out = leakhound(
        &["git", ".", "--range", "HEAD~1..HEAD", "--cache", &arg],
        h.dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "--cache with --range is a usage error"
    );
    // `--cache` alone uses LEAKHOUND_CACHE_DIR.
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["git", ".", "--format", "json", "--cache"])
        .env("LEAKHOUND_CACHE_DIR", dir.path())
        .current_dir(h.dir.path())
        .output()
        .expect("runs");
    assert!(out.status.code().is_some());
    let made: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .collect();
    assert_eq!(
        made.len(),
        1,
        "the default directory comes from LEAKHOUND_CACHE_DIR: {made:?} {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn content_a_late_fetched_older_commit_holds_moves_to_that_commit() {
    let (mut h, _cache, arg) = small_repo();
    let base = h.commits.len() - 1;
    let mut files = h.commits[base].1.clone();
    files.insert(
        b"deploy/keys.env".to_vec(),
        format!("DEPLOY_TOKEN={}\n", github_token(77)),
    );
    let later = h.commit(files.clone(), &[base], "add deploy key", 0);
    h.set_branch("main", later);
    let first = scan(h.dir.path(), &["--cache", &arg]);
    assert!(first.0.contains(&h.commits[later].0.to_string()));
    // A branch fetched now whose commit is older than `later` adds the same file.
    let fork = h.commit(files, &[base], "the same key, earlier, elsewhere", 1500);
    h.set_branch("fork", fork);
    let cold = scan(h.dir.path(), &[]);
    let warm = scan(h.dir.path(), &["--cache", &arg]);
    assert!(warm.2.contains(": resumed;"), "{}", warm.2);
    assert_eq!(warm.0, cold.0);
    let v: serde_json::Value = serde_json::from_str(&warm.0).expect("json");
    let at: Vec<&str> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["path"] == "deploy/keys.env")
        .filter_map(|f| f["commit"]["id"].as_str())
        .collect();
    assert_eq!(
        at,
        [h.commits[fork].0.to_string()],
        "reported where it entered first"
    );
}
