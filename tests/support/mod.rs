//! Builds throwaway git repositories with git2: chosen authors, messages and trailers.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use git2::{Oid, Repository, Signature, Time};

/// A GitHub token with a valid checksum, built at run time from a seed.
pub fn github_token(seed: u32) -> String {
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(777);
    let body: String = (0..30)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            B62[(x % 62) as usize] as char
        })
        .collect();
    let mut n = crc32fast::hash(body.as_bytes());
    let mut check = [b'0'; 6];
    for d in check.iter_mut().rev() {
        *d = B62[(n % 62) as usize];
        n /= 62;
    }
    format!("{}{body}{}", "ghp_", String::from_utf8_lossy(&check))
}

/// A repository in a temp dir.
pub struct TestRepo {
    pub dir: tempfile::TempDir,
    pub repo: Repository,
    time: i64,
}

impl TestRepo {
    pub fn new() -> TestRepo {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("git init");
        TestRepo {
            dir,
            repo,
            time: 1_700_000_000,
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// Writes a file in the work tree.
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.dir.path().join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(p, text).expect("write");
    }

    /// Stages a path (or removes it from the index when the file is gone).
    pub fn add(&self, rel: &str) {
        let mut index = self.repo.index().expect("index");
        if self.dir.path().join(rel).exists() {
            index.add_path(Path::new(rel)).expect("add");
        } else {
            index.remove_path(Path::new(rel)).expect("rm");
        }
        index.write().expect("write index");
    }

    /// Commits the index on HEAD with this author and message.
    pub fn commit(&mut self, author: (&str, &str), message: &str) -> Oid {
        self.time += 3600;
        let sig = Signature::new(author.0, author.1, &Time::new(self.time, 0)).expect("sig");
        let mut index = self.repo.index().expect("index");
        let tree_id = index.write_tree().expect("tree");
        let tree = self.repo.find_tree(tree_id).expect("tree");
        let parents: Vec<git2::Commit<'_>> = self
            .repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &refs)
            .expect("commit")
    }

    /// Writes, stages and commits one file.
    pub fn commit_file(
        &mut self,
        rel: &str,
        text: &str,
        author: (&str, &str),
        message: &str,
    ) -> Oid {
        self.write(rel, text);
        self.add(rel);
        self.commit(author, message)
    }

    /// A merge commit of `other` into HEAD whose tree is the current index.
    pub fn commit_merge(&mut self, other: Oid, message: &str) -> Oid {
        self.time += 3600;
        let sig =
            Signature::new("Merger", "merger@corp.test", &Time::new(self.time, 0)).expect("sig");
        let mut index = self.repo.index().expect("index");
        let tree = self
            .repo
            .find_tree(index.write_tree().expect("tree"))
            .expect("tree");
        let head = self
            .repo
            .head()
            .expect("head")
            .peel_to_commit()
            .expect("commit");
        let other = self.repo.find_commit(other).expect("other");
        self.repo
            .commit(Some("HEAD"), &sig, &sig, message, &tree, &[&head, &other])
            .expect("merge commit")
    }

    /// Packs every object reachable from HEAD, plus `extra` objects, into one pack (with
    /// deltas, as `git gc` would) and removes the loose copies: the layout of a real clone.
    pub fn pack(&self, extra: &[Oid]) {
        let mut pb = self.repo.packbuilder().expect("packbuilder");
        let mut walk = self.repo.revwalk().expect("revwalk");
        walk.push_head().expect("head");
        pb.insert_walk(&mut walk).expect("insert walk");
        for &id in extra {
            pb.insert_object(id, None).expect("insert object");
        }
        let pack_dir = self.dir.path().join(".git/objects/pack");
        pb.write(&pack_dir, 0o644).expect("write pack");
        let objects = self.dir.path().join(".git/objects");
        for entry in std::fs::read_dir(&objects).expect("objects").flatten() {
            let name = entry.file_name();
            if name.len() == 2
                && name
                    .to_string_lossy()
                    .chars()
                    .all(|c| c.is_ascii_hexdigit())
            {
                std::fs::remove_dir_all(entry.path()).expect("remove loose objects");
            }
        }
    }

    /// Points a new branch at `at` and checks its tree out into the index and work tree.
    pub fn branch_and_checkout(&self, name: &str, at: Oid) {
        let c = self.repo.find_commit(at).expect("commit");
        self.repo.branch(name, &c, true).expect("branch");
        self.repo
            .set_head(&format!("refs/heads/{name}"))
            .expect("set head");
        self.repo
            .checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .expect("checkout");
    }
}

/// Every file under `dir` with its bytes, sorted: a snapshot to prove nothing was written.
pub fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).expect("read_dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).expect("read")));
            }
        }
    }
    out.sort();
    out
}
