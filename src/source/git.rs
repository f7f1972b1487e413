//! Git sources: full history (each unique blob once, with where it first appeared), commit
//! ranges, and staged changes. The only code that touches `git2`; nothing here writes to the
//! repository (no index refresh, no lock files, no config), and it judges nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use git2::{Commit, ObjectType, Oid, Repository, Sort, Tree};

use super::{BlobId, CommitInfo, SourceError};

/// A blob to scan and the place it first appeared.
#[derive(Debug, Clone)]
pub struct HistoryBlob {
    /// The blob.
    pub id: BlobId,
    /// The commit that introduced it at `path` (oldest first in topological order).
    pub commit: Arc<CommitInfo>,
    /// Path in that commit's tree, `/`-separated.
    pub path: String,
    /// The path's bytes when they are not UTF-8.
    pub raw: Option<super::RawPath>,
}

/// What a history walk found.
#[derive(Debug, Default)]
pub struct History {
    /// Unique blobs, each with its first origin, in discovery order.
    pub blobs: Vec<HistoryBlob>,
    /// Commits walked.
    pub commits: usize,
    /// Blobs in the tree of HEAD (for "still present at HEAD").
    pub head_blobs: HashSet<BlobId>,
    /// Facts worth telling the user: shallow clone, submodules not followed, range fallbacks.
    pub notes: Vec<String>,
    /// What could not be read (a missing or corrupt commit, tree or ref target): each makes
    /// the scan incomplete, which must never pass as clean.
    pub problems: Vec<String>,
}

/// Which commits to walk.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every commit reachable from every ref (branches, tags, remote-tracking refs).
    #[default]
    All,
    /// Commits reachable from one ref or revision.
    Branch(String),
    /// Commits in `base..head` (reachable from head, not from base); blobs they introduced.
    Range {
        /// Excluded side; all zeros or unknown falls back (see notes).
        base: String,
        /// Included side.
        head: String,
    },
    /// What a push sends: for each updated ref, the commits between the remote's old value
    /// and the new local value; blobs they introduced.
    Push(Vec<PushUpdate>),
}

/// One line of git's pre-push input: `<local ref> <local sha> <remote ref> <remote sha>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushUpdate {
    /// The commit being pushed.
    pub local: String,
    /// What the remote has now; all zeros for a new branch.
    pub remote: String,
}

/// Parses git's pre-push hook input. Deletions (an all-zero local sha) push no content.
pub fn parse_pre_push(input: &str) -> Result<Vec<PushUpdate>, String> {
    let mut out = Vec::new();
    for (n, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            return Err(format!(
                "pre-push input line {}: expected `<local ref> <local sha> <remote ref> <remote sha>`, got {line:?}",
                n + 1
            ));
        }
        if is_zero(f[1]) {
            continue;
        }
        out.push(PushUpdate {
            local: f[1].to_string(),
            remote: f[3].to_string(),
        });
    }
    Ok(out)
}

fn is_zero(sha: &str) -> bool {
    !sha.is_empty() && sha.bytes().all(|b| b == b'0')
}

/// Object ids are SHA-1 output, already uniform: hash sets of them need no SipHash.
#[derive(Default, Clone, Copy)]
struct OidHasher(u64);

impl std::hash::Hasher for OidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(b);
        }
    }
}

type OidSet = HashSet<Oid, std::hash::BuildHasherDefault<OidHasher>>;

/// Opens a repository (work tree or bare) without searching parent directories.
pub fn open(path: &Path) -> Result<Repository, SourceError> {
    // We only read: skip re-hashing every object on read (SHA-1 was ~13% of a history scan).
    git2::opts::strict_hash_verification(false);
    // Every tree is read once (the walk memoizes by tree id) and every blob once, so
    // libgit2's object cache only costs memory.
    git2::opts::enable_caching(false);
    bound_pack_mappings();
    Repository::open_ext(
        path,
        git2::RepositoryOpenFlags::NO_SEARCH,
        std::iter::empty::<&std::ffi::OsStr>(),
    )
    .map_err(|e| SourceError::Git {
        path: path.display().to_string(),
        message: if e.code() == git2::ErrorCode::NotFound {
            "not a git repository (or it cannot be opened)".into()
        } else {
            e.message().to_string()
        },
    })
}

fn git_err(path: &Path, e: git2::Error) -> SourceError {
    SourceError::Git {
        path: path.display().to_string(),
        message: e.message().to_string(),
    }
}

/// Converts a libgit2 id into ours.
pub fn blob_id(oid: Oid) -> BlobId {
    let mut b = [0u8; 20];
    b.copy_from_slice(&oid.as_bytes()[..20]);
    BlobId(b)
}

/// Converts our id back for lookups.
pub fn oid(id: &BlobId) -> Oid {
    Oid::from_bytes(&id.0).expect("a 20-byte id is a valid SHA-1 oid")
}

/// Reads the facts of a commit: identities, times, subject, final trailer block.
pub fn commit_info(c: &Commit<'_>) -> CommitInfo {
    let author = c.author();
    let committer = c.committer();
    let message = String::from_utf8_lossy(c.message_bytes()).into_owned();
    let trailers = super::trailers::parse(&message);
    CommitInfo {
        id: c.id().to_string(),
        author_name: String::from_utf8_lossy(author.name_bytes()).into_owned(),
        author_email: String::from_utf8_lossy(author.email_bytes()).into_owned(),
        author_time: author.when().seconds(),
        committer_name: String::from_utf8_lossy(committer.name_bytes()).into_owned(),
        committer_email: String::from_utf8_lossy(committer.email_bytes()).into_owned(),
        committer_time: committer.when().seconds(),
        subject: message.lines().next().unwrap_or_default().to_string(),
        message,
        trailers,
        parents: c.parent_ids().map(|p| p.to_string()).collect(),
    }
}

/// Caps how much of the pack files libgit2 keeps mapped (by default it maps whole packs in
/// 1 GiB windows and never lets go below 8 GiB), so peak memory follows the blobs in flight
/// rather than the size of the repository.
#[allow(unsafe_code)]
fn bound_pack_mappings() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: these set libgit2 globals; `call_once` runs before any repository is open
        // in this process (every open goes through here), so nothing reads them concurrently.
        unsafe {
            let _ = git2::opts::set_mwindow_size(32 << 20);
            let _ = git2::opts::set_mwindow_mapped_limit(128 << 20);
        }
    });
}

/// Walks the selected history of the repository at `path`.
pub fn walk_history(
    path: &Path,
    selection: &Selection,
    observe: &mut dyn FnMut(&Arc<CommitInfo>),
) -> Result<History, SourceError> {
    let repo = open(path)?;
    let mut out = History::default();
    if repo.is_shallow() {
        out.notes.push(
            "shallow clone: only the commits present were scanned (fetch with --unshallow for all)"
                .into(),
        );
    }
    if is_partial_clone(&repo) {
        out.problems.push(
            "partial clone: objects the filter left on the server are missing and cannot be scanned (clone without --filter for a full scan)"
                .into(),
        );
    }
    if let Ok(head) = repo.head().and_then(|h| h.peel_to_tree()) {
        collect_tree_blobs(&repo, &head, &mut out.head_blobs);
    }
    let mut walk = repo.revwalk().map_err(|e| git_err(path, e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(path, e))?;
    let range = match selection {
        Selection::All => {
            let (mut tips, mut dangling) = (0, Vec::new());
            for r in repo.references().map_err(|e| git_err(path, e))?.flatten() {
                match r.peel_to_commit() {
                    Ok(c) => {
                        walk.push(c.id()).map_err(|e| git_err(path, e))?;
                        tips += 1;
                    }
                    // Tags of trees or blobs are fine to skip; a ref to a missing or unreadable
                    // object is not.
                    Err(_) if peels_to_tree_or_blob(&r) => {}
                    Err(_) => {
                        dangling.push(String::from_utf8_lossy(r.name_bytes()).into_owned());
                    }
                }
            }
            if !dangling.is_empty() {
                out.problems.push(format!(
                    "{} ref(s) point at missing or unreadable objects and were skipped: {}",
                    dangling.len(),
                    dangling.join(", ")
                ));
            }
            if tips == 0 {
                out.notes.push("the repository has no commits".into());
                return Ok(out);
            }
            false
        }
        Selection::Branch(rev) => {
            let c = resolve(&repo, rev).map_err(|e| git_err(path, e))?;
            walk.push(c).map_err(|e| git_err(path, e))?;
            false
        }
        Selection::Range { base, head } => {
            let h = resolve(&repo, head).map_err(|e| git_err(path, e))?;
            walk.push(h).map_err(|e| git_err(path, e))?;
            let zero = !base.is_empty() && base.bytes().all(|b| b == b'0');
            match (zero, resolve(&repo, base)) {
                (false, Ok(b)) => walk.hide(b).map_err(|e| git_err(path, e))?,
                (zero, _) => {
                    // A new branch (all-zero base) or a base this clone does not have (force
                    // push, shallow fetch): scan what no other branch already holds.
                    let hidden = hide_refs(&repo, &mut walk, |_, c| c != h);
                    out.notes.push(if zero {
                        format!(
                            "base is all zeros (new branch): scanned commits of {head} not on {hidden} other ref(s)"
                        )
                    } else {
                        format!(
                            "base {base} is not in this repository (force push or shallow clone?): scanned commits of {head} not on {hidden} other ref(s)"
                        )
                    });
                }
            }
            true
        }
        Selection::Push(updates) => {
            if updates.is_empty() {
                out.notes
                    .push("nothing to push (only deletions or no input)".into());
                return Ok(out);
            }
            let mut hid_remotes = false;
            for u in updates {
                let local = resolve(&repo, &u.local).map_err(|e| git_err(path, e))?;
                walk.push(local).map_err(|e| git_err(path, e))?;
                match (is_zero(&u.remote), resolve(&repo, &u.remote)) {
                    (false, Ok(r)) => walk.hide(r).map_err(|e| git_err(path, e))?,
                    _ if !hid_remotes => {
                        // A new branch, or a remote value we do not have: what no
                        // remote-tracking ref holds is what the remote has not seen.
                        let n = hide_refs(&repo, &mut walk, |name, _| {
                            name.starts_with(b"refs/remotes/")
                        });
                        hid_remotes = true;
                        out.notes.push(format!(
                            "push of {} has no known remote base: scanned its commits not on {n} remote-tracking ref(s)",
                            u.local
                        ));
                    }
                    _ => {}
                }
            }
            true
        }
    };

    let mut seen_trees = OidSet::default();
    let mut seen_blobs = OidSet::default();
    let mut submodules = 0usize;
    for id in walk {
        let id = match id {
            Ok(id) => id,
            Err(e) => {
                // A commit whose parents cannot be read ends the walk: what lies behind it
                // is unknown.
                out.problems.push(format!(
                    "the commit graph could not be walked further: {}",
                    e.message()
                ));
                break;
            }
        };
        let commit = match repo.find_commit(id) {
            Ok(c) => c,
            Err(e) => {
                out.problems
                    .push(format!("commit {id} cannot be read: {}", e.message()));
                continue;
            }
        };
        out.commits += 1;
        let info = Arc::new(commit_info(&commit));
        observe(&info);
        let tree = match commit.tree() {
            Ok(t) => t,
            Err(e) => {
                out.problems.push(format!(
                    "commit {id}: its tree cannot be read: {}",
                    e.message()
                ));
                continue;
            }
        };
        if range {
            introduced(
                &repo,
                &commit,
                &tree,
                &info,
                &mut seen_blobs,
                &mut out.blobs,
                &mut out.problems,
            );
        } else {
            let mut stack = vec![(tree, Vec::<u8>::new())];
            while let Some((t, prefix)) = stack.pop() {
                // Paths are built only for entries not seen before: most are skipped.
                let full = |name: &[u8]| {
                    let mut p = Vec::with_capacity(prefix.len() + 1 + name.len());
                    if !prefix.is_empty() {
                        p.extend_from_slice(&prefix);
                        p.push(b'/');
                    }
                    p.extend_from_slice(name);
                    p
                };
                for e in t.iter() {
                    match e.kind() {
                        Some(ObjectType::Tree) if seen_trees.insert(e.id()) => {
                            match repo.find_tree(e.id()) {
                                Ok(sub) => stack.push((sub, full(e.name_bytes()))),
                                Err(err) => out.problems.push(format!(
                                    "commit {id}: tree {} at {} cannot be read: {}",
                                    e.id(),
                                    String::from_utf8_lossy(&full(e.name_bytes())),
                                    err.message()
                                )),
                            }
                        }
                        Some(ObjectType::Blob) if seen_blobs.insert(e.id()) => {
                            let (path, raw) = super::path_name(full(e.name_bytes()));
                            out.blobs.push(HistoryBlob {
                                id: blob_id(e.id()),
                                commit: info.clone(),
                                path,
                                raw,
                            });
                        }
                        Some(ObjectType::Commit) => submodules += 1,
                        _ => {}
                    }
                }
            }
        }
    }
    if submodules > 0 {
        out.notes.push(format!(
            "{submodules} submodule entries were not followed (scan those repositories separately)"
        ));
    }
    Ok(out)
}

/// The blob at `path` in `commit` (hex, full or abbreviated), if both exist: where a
/// `.gitleaksignore` entry points.
pub fn blob_at(repo: &Repository, commit: &str, path: &str) -> Option<BlobId> {
    if commit.len() < 7 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let tree = repo.find_commit_by_prefix(commit).ok()?.tree().ok()?;
    let entry = tree.get_path(Path::new(path)).ok()?;
    (entry.kind() == Some(ObjectType::Blob)).then(|| blob_id(entry.id()))
}

/// A clone made with `--filter` records a promisor remote: older git as
/// `extensions.partialClone`, current git as `remote.<name>.promisor = true` (and a
/// `remote.<name>.partialclonefilter`).
fn is_partial_clone(repo: &Repository) -> bool {
    let Ok(config) = repo.config() else {
        return false;
    };
    if config
        .get_string("extensions.partialclone")
        .is_ok_and(|v| !v.is_empty())
    {
        return true;
    }
    let Ok(mut entries) = config.entries(Some(r"remote\..*\.(promisor|partialclonefilter)")) else {
        return false;
    };
    let mut found = false;
    while let Some(Ok(e)) = entries.next() {
        let name = e.name().unwrap_or_default().to_ascii_lowercase();
        let value = e.value().unwrap_or_default().to_ascii_lowercase();
        found |= name.ends_with(".partialclonefilter")
            || matches!(value.as_str(), "true" | "yes" | "on" | "1");
    }
    found
}

/// True when a ref that does not peel to a commit ends at a tree or a blob (a tag of a
/// file), which has no history to scan; false when its target cannot be read.
fn peels_to_tree_or_blob(r: &git2::Reference<'_>) -> bool {
    r.peel(ObjectType::Any).is_ok_and(|o| {
        let o = match o.as_tag() {
            Some(t) => match t.target() {
                Ok(t) => t,
                Err(_) => return false,
            },
            None => o,
        };
        matches!(o.kind(), Some(ObjectType::Tree | ObjectType::Blob))
    })
}

fn resolve(repo: &Repository, rev: &str) -> Result<Oid, git2::Error> {
    repo.revparse_single(rev)?.peel_to_commit().map(|c| c.id())
}

/// Calls `observe` for every commit reachable from every ref (or from `branch`), without
/// reading trees: for listing AI-tagged commits. Returns the number of commits.
pub fn for_each_commit(
    path: &Path,
    branch: Option<&str>,
    observe: &mut dyn FnMut(&CommitInfo),
) -> Result<usize, SourceError> {
    let repo = open(path)?;
    let mut walk = repo.revwalk().map_err(|e| git_err(path, e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(path, e))?;
    match branch {
        Some(rev) => {
            let c = resolve(&repo, rev).map_err(|e| git_err(path, e))?;
            walk.push(c).map_err(|e| git_err(path, e))?;
        }
        None => {
            for r in repo.references().map_err(|e| git_err(path, e))?.flatten() {
                if let Ok(c) = r.peel_to_commit() {
                    walk.push(c.id()).map_err(|e| git_err(path, e))?;
                }
            }
        }
    }
    let mut n = 0;
    for id in walk {
        let id = id.map_err(|e| git_err(path, e))?;
        if let Ok(commit) = repo.find_commit(id) {
            observe(&commit_info(&commit));
            n += 1;
        }
    }
    Ok(n)
}

/// Hides from `walk` the commits of every ref for which `hide(ref name, commit)` holds;
/// returns how many refs were hidden.
fn hide_refs(
    repo: &Repository,
    walk: &mut git2::Revwalk<'_>,
    hide: impl Fn(&[u8], Oid) -> bool,
) -> usize {
    let mut n = 0;
    if let Ok(refs) = repo.references() {
        for r in refs.flatten() {
            if let Ok(c) = r.peel_to_commit() {
                if hide(r.name_bytes(), c.id()) && walk.hide(c.id()).is_ok() {
                    n += 1;
                }
            }
        }
    }
    n
}

/// Blobs a commit introduced: entries that differ from every parent at the same path (so
/// content that only a merge introduced is found too).
fn introduced(
    repo: &Repository,
    commit: &Commit<'_>,
    tree: &Tree<'_>,
    info: &Arc<CommitInfo>,
    seen: &mut OidSet,
    out: &mut Vec<HistoryBlob>,
    problems: &mut Vec<String>,
) {
    let mut per_parent: Vec<HashMap<Vec<u8>, Oid>> = Vec::new();
    let mut parents: Vec<Option<Tree<'_>>> = Vec::new();
    if commit.parent_count() == 0 {
        parents.push(None);
    }
    for i in 0..commit.parent_count() {
        match commit.parent(i).and_then(|p| p.tree()) {
            Ok(t) => parents.push(Some(t)),
            Err(e) => {
                // Without the parent's tree everything would look new; scanning the whole
                // tree against nothing over-reports, which is the safe side.
                problems.push(format!(
                    "commit {}: parent {i} cannot be read: {}",
                    commit.id(),
                    e.message()
                ));
                parents.push(None);
            }
        }
    }
    for parent in &parents {
        let mut changed = HashMap::new();
        let diff = repo.diff_tree_to_tree(parent.as_ref(), Some(tree), None);
        if let Err(e) = &diff {
            problems.push(format!(
                "commit {}: its changes cannot be read: {}",
                commit.id(),
                e.message()
            ));
        }
        if let Ok(diff) = diff {
            for d in diff.deltas() {
                let f = d.new_file();
                if f.id().is_zero() || f.mode() == git2::FileMode::Commit {
                    continue;
                }
                if let Some(p) = f.path_bytes() {
                    changed.insert(p.to_vec(), f.id());
                }
            }
        }
        per_parent.push(changed);
    }
    let Some((first, rest)) = per_parent.split_first() else {
        return;
    };
    let mut paths: Vec<(&Vec<u8>, &Oid)> = first
        .iter()
        .filter(|(p, id)| rest.iter().all(|m| m.get(*p) == Some(*id)))
        .collect();
    paths.sort();
    for (p, id) in paths {
        if seen.insert(*id) {
            let (path, raw) = super::path_name(p.clone());
            out.push(HistoryBlob {
                id: blob_id(*id),
                commit: info.clone(),
                path,
                raw,
            });
        }
    }
}

fn collect_tree_blobs(repo: &Repository, tree: &Tree<'_>, out: &mut HashSet<BlobId>) {
    for e in tree.iter() {
        match e.kind() {
            Some(ObjectType::Blob) => {
                out.insert(blob_id(e.id()));
            }
            Some(ObjectType::Tree) => {
                if let Ok(t) = repo.find_tree(e.id()) {
                    collect_tree_blobs(repo, &t, out);
                }
            }
            _ => {}
        }
    }
}

/// A staged change: the index blob at a path, and the HEAD blob it replaces (if any).
#[derive(Debug, Clone)]
pub struct StagedEntry {
    /// Path, `/`-separated.
    pub path: String,
    /// The blob in the index (what will be committed).
    pub new: BlobId,
    /// The blob at HEAD, for modified files.
    pub old: Option<BlobId>,
}

/// Index entries that differ from HEAD (added, modified, renamed or copied; not deleted).
/// Reads the index without refreshing or writing it.
pub fn staged(path: &Path) -> Result<Vec<StagedEntry>, SourceError> {
    let repo = open(path)?;
    let index = repo.index().map_err(|e| git_err(path, e))?;
    let head = repo.head().ok().and_then(|h| h.peel_to_tree().ok());
    let diff = repo
        .diff_tree_to_index(head.as_ref(), Some(&index), None)
        .map_err(|e| git_err(path, e))?;
    let mut out = Vec::new();
    for d in diff.deltas() {
        let new = d.new_file();
        if new.id().is_zero() || new.mode() == git2::FileMode::Commit {
            continue;
        }
        let old = d.old_file();
        out.push(StagedEntry {
            path: new
                .path_bytes()
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .unwrap_or_default(),
            new: blob_id(new.id()),
            old: (!old.id().is_zero()).then(|| blob_id(old.id())),
        });
    }
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(out)
}

/// Where each packed object sits: (pack number, byte offset), from the packs' `.idx` files
/// (version 2). Reading blobs in this order lets libgit2 resolve each delta against a base it
/// has just decoded, as `git cat-file --batch-all-objects --unordered` does. Objects not in a
/// pack (loose) are absent. Unreadable or unknown index files are skipped: order is only
/// an optimisation.
pub fn pack_positions(repo: &Repository) -> HashMap<BlobId, (u32, u64)> {
    let mut out = HashMap::new();
    for (pack, path) in pack_indexes(repo).iter().enumerate() {
        if let Ok(bytes) = std::fs::read(path) {
            read_idx_v2(&bytes, pack as u32, &mut out);
        }
    }
    out
}

/// The repository's pack index files, sorted by name (none when the folder is unreadable).
fn pack_indexes(repo: &Repository) -> Vec<std::path::PathBuf> {
    let dir = repo.path().join("objects").join("pack");
    let mut idx: Vec<std::path::PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "idx"))
                .collect()
        })
        .unwrap_or_default();
    idx.sort();
    idx
}

fn read_idx_v2(b: &[u8], pack: u32, out: &mut HashMap<BlobId, (u32, u64)>) {
    let be32 = |at: usize| -> Option<u32> {
        b.get(at..at + 4)
            .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
    };
    if b.get(..8) != Some(&[0xff, b't', b'O', b'c', 0, 0, 0, 2][..]) {
        return;
    }
    let Some(n) = be32(8 + 255 * 4).map(|n| n as usize) else {
        return;
    };
    let names = 8 + 256 * 4;
    let offsets = names + n * 20 + n * 4;
    let large = offsets + n * 4;
    for i in 0..n {
        let (Some(name), Some(off)) = (
            b.get(names + i * 20..names + i * 20 + 20),
            be32(offsets + i * 4),
        ) else {
            return;
        };
        let off = if off & 0x8000_0000 == 0 {
            u64::from(off)
        } else {
            let at = large + (off & 0x7fff_ffff) as usize * 8;
            match b.get(at..at + 8) {
                Some(s) => u64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
                None => return,
            }
        };
        let mut id = [0u8; 20];
        id.copy_from_slice(name);
        out.insert(BlobId(id), (pack, off));
    }
}

/// Every blob stored in the repository's packs, in pack order (bases before their deltas),
/// found by reading the packs' indexes and each entry's header: no walk, no inflation. A
/// full-history scan reads these while the walk that attributes them runs alongside.
/// Entries whose type cannot be told cheaply (a delta against an object in another pack)
/// are left out: the walk still finds them. Unreadable packs give nothing.
pub fn packed_blobs(repo: &Repository) -> Vec<BlobId> {
    let mut out = Vec::new();
    for path in pack_indexes(repo) {
        let mut objects = HashMap::new();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        read_idx_v2(&bytes, 0, &mut objects);
        let mut by_offset: Vec<(u64, BlobId)> = objects
            .into_iter()
            .map(|(id, (_, off))| (off, id))
            .collect();
        by_offset.sort_unstable_by_key(|e| e.0);
        if let Ok(blobs) = blobs_in_pack(&path.with_extension("pack"), &by_offset) {
            out.extend(blobs);
        }
    }
    out
}

/// Pack object types (gitformat-pack).
const OBJ_BLOB: u8 = 3;
const OBJ_OFS_DELTA: u8 = 6;
const OBJ_REF_DELTA: u8 = 7;
const UNKNOWN: u8 = 0;

/// Reads the entry headers of one pack in offset order and keeps the blobs. A delta's type
/// is its base's: an offset delta's base sits earlier in the same pack, a ref delta's base
/// is looked up by id among this pack's objects already typed.
fn blobs_in_pack(pack: &Path, by_offset: &[(u64, BlobId)]) -> std::io::Result<Vec<BlobId>> {
    use std::io::{BufReader, Read};
    let mut r = BufReader::with_capacity(1 << 16, std::fs::File::open(pack)?);
    let mut head = [0u8; 12];
    r.read_exact(&mut head)?;
    if &head[..4] != b"PACK" {
        return Err(std::io::Error::other("not a pack"));
    }
    let mut pos = 12u64;
    let mut types: Vec<u8> = Vec::with_capacity(by_offset.len());
    let mut typed: HashMap<BlobId, u8> = HashMap::new();
    let mut out = Vec::new();
    let byte = |r: &mut BufReader<std::fs::File>, pos: &mut u64| -> std::io::Result<u8> {
        let mut b = [0u8; 1];
        r.read_exact(&mut b)?;
        *pos += 1;
        Ok(b[0])
    };
    for &(offset, id) in by_offset {
        if offset < pos {
            return Err(std::io::Error::other("overlapping pack entries"));
        }
        r.seek_relative((offset - pos) as i64)?;
        pos = offset;
        let mut c = byte(&mut r, &mut pos)?;
        let kind = (c >> 4) & 7;
        while c & 0x80 != 0 {
            c = byte(&mut r, &mut pos)?;
        }
        let resolved = match kind {
            OBJ_OFS_DELTA => {
                let mut c = byte(&mut r, &mut pos)?;
                let mut back = u64::from(c & 0x7f);
                while c & 0x80 != 0 {
                    c = byte(&mut r, &mut pos)?;
                    back = ((back + 1) << 7) | u64::from(c & 0x7f);
                }
                offset
                    .checked_sub(back)
                    .and_then(|base| by_offset.binary_search_by_key(&base, |e| e.0).ok())
                    .and_then(|i| types.get(i).copied())
                    .unwrap_or(UNKNOWN)
            }
            OBJ_REF_DELTA => {
                let mut base = [0u8; 20];
                r.read_exact(&mut base)?;
                pos += 20;
                typed.get(&BlobId(base)).copied().unwrap_or(UNKNOWN)
            }
            k => k,
        };
        types.push(resolved);
        if resolved == OBJ_BLOB {
            out.push(id);
        }
        if resolved != UNKNOWN {
            typed.insert(id, resolved);
        }
    }
    Ok(out)
}

/// One reader per worker thread: `git2::Repository` is not `Sync`.
pub struct BlobReader {
    repo: Repository,
}

impl BlobReader {
    /// Opens the repository at `path` for reading blobs.
    pub fn new(path: &Path) -> Result<BlobReader, SourceError> {
        Ok(BlobReader { repo: open(path)? })
    }

    /// Calls `f` with a blob's bytes (no copy), or says why the blob could not be read.
    pub fn with_blob<T>(&self, id: &BlobId, f: impl FnOnce(&[u8]) -> T) -> Result<T, String> {
        self.repo
            .find_blob(oid(id))
            .map(|b| f(b.content()))
            .map_err(|e| format!("blob {id}: {}", e.message()))
    }

    /// The blobs at `path` in each parent of `commit` that has one: what the commit
    /// changed at that path, to tell a secret it introduced from one that was already there.
    pub fn parent_blobs(&self, commit: &str, path: &str) -> Vec<BlobId> {
        let Ok(c) = Oid::from_str(commit).and_then(|id| self.repo.find_commit(id)) else {
            return Vec::new();
        };
        c.parents()
            .filter_map(|p| p.tree().ok()?.get_path(Path::new(path)).ok())
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| blob_id(e.id()))
            .collect()
    }

    /// The repository, for lookups beyond blobs.
    pub fn repo(&self) -> &Repository {
        &self.repo
    }

    /// A blob's size from the object header, without inflating it.
    pub fn size(&self, id: &BlobId) -> Option<usize> {
        let odb = self.repo.odb().ok()?;
        odb.read_header(oid(id)).ok().map(|(len, _)| len)
    }
}

/// The directory git runs the hooks of the repository at `path` from: `core.hooksPath` when
/// set (relative to the work tree, or to the git directory of a bare repository), else
/// `<git dir>/hooks`. It may not exist yet. Reads only; does not search parent directories.
pub fn hooks_dir(path: &Path) -> Result<std::path::PathBuf, SourceError> {
    let repo = Repository::open(path).map_err(|e| SourceError::Git {
        path: path.display().to_string(),
        message: format!("not a git repository: {e}"),
    })?;
    Ok(
        match repo.config().and_then(|c| c.get_path("core.hooksPath")) {
            Ok(p) if p.is_absolute() => p,
            Ok(p) => repo.workdir().unwrap_or(repo.path()).join(p),
            Err(_) => repo.path().join("hooks"),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pre_push_input() {
        let z = "0".repeat(40);
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let input = format!(
            "refs/heads/main {a} refs/heads/main {b}\nrefs/heads/new {a} refs/heads/new {z}\nrefs/heads/gone {z} refs/heads/gone {b}\n"
        );
        let got = parse_pre_push(&input).expect("parses");
        assert_eq!(
            got,
            vec![
                PushUpdate {
                    local: a.clone(),
                    remote: b.clone()
                },
                PushUpdate {
                    local: a.clone(),
                    remote: z.clone()
                },
            ]
        );
        assert!(parse_pre_push("one two three").is_err());
        assert_eq!(parse_pre_push("").expect("empty"), vec![]);
    }
}
