//! Git sources: full history (each unique blob once, with where it first appeared), commit
//! ranges, and staged changes. The only code that touches `git2`; nothing here writes to the
//! repository (no index refresh, no lock files, no config), and it judges nothing.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use git2::{Commit, ObjectType, Oid, Repository, Sort, Tree};

use super::{BlobId, CommitInfo, IdMap, IdSet, SourceError};

/// A commit id (SHA-1).
pub type CommitId = BlobId;

/// A blob to scan and the place it first appeared.
#[derive(Debug, Clone)]
pub struct HistoryBlob {
    /// The blob.
    pub id: BlobId,
    /// The commit that introduced it at `path`: the first in history order that holds it.
    pub commit: CommitId,
    /// That commit's place in history order (see [`order_key`]); blobs sort by
    /// (`key`, `commit`, `seq`).
    pub key: i64,
    /// Order among the blobs the same commit introduced (tree order of their paths).
    pub seq: u32,
    /// Path in that commit's tree, `/`-separated (shared: most paths hold many blobs).
    pub path: Arc<str>,
    /// The path's bytes when they are not UTF-8.
    pub raw: Option<super::RawPath>,
}

/// What a walk of every ref (or one branch) covered, kept so that the next walk of the same
/// repository reads only the commits added since: see `source::cache`.
#[derive(Debug, Clone, Default)]
pub struct Walked {
    /// The commits the walk started from.
    pub tips: Vec<CommitId>,
    /// Every commit covered and its order key.
    pub keys: IdMap<i64>,
    /// Whether any tree holds a submodule entry.
    pub submodules: bool,
}

/// What a history walk found.
#[derive(Debug, Default)]
pub struct History {
    /// Unique blobs, each with its first origin, in history order.
    pub blobs: Vec<HistoryBlob>,
    /// Facts of the commits read by this walk (every commit, unless it continued an earlier
    /// walk: then only the new ones; [`commit_infos`] reads others on demand).
    pub infos: IdMap<Arc<CommitInfo>>,
    /// Commits in the selection.
    pub commits: usize,
    /// Blobs in the tree of HEAD (for "still present at HEAD").
    pub head_blobs: IdSet,
    /// Facts worth telling the user: shallow clone, submodules not followed, range fallbacks.
    pub notes: Vec<String>,
    /// What could not be read (a missing or corrupt commit, tree or ref target): each makes
    /// the scan incomplete, which must never pass as clean.
    pub problems: Vec<String>,
    /// For walks of every ref or one branch: the state to continue from (worth keeping
    /// only when `problems` is empty).
    pub walked: Option<Walked>,
    /// True when an earlier walk was continued (only the commits since were read).
    pub resumed: bool,
    /// Why an earlier walk given to continue from was not used.
    pub cache_note: Option<String>,
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

type OidSet = HashSet<Oid, std::hash::BuildHasherDefault<super::IdHasher>>;

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
            // 128 MiB: 64 saved 40 MB of peak memory on curl's history but cost git/git
            // (a larger pack) 2.2 s of 16.4 (docs/benchmarks.md, session 6).
            let _ = git2::opts::set_mwindow_mapped_limit(128 << 20);
        }
    });
}

/// An earlier walk to continue from: its state and its blobs.
pub type Prior = (Walked, Vec<HistoryBlob>);

/// Walks the selected history of the repository at `path`. With `prior` (an earlier walk of
/// the same selection) only commits not reachable from its tips are read, and the result is
/// the one a walk from scratch gives: blobs are placed by [`order_key`], which new commits
/// never change for old ones. `observe` sees each commit this walk reads, in history order.
pub fn walk_history(
    path: &Path,
    selection: &Selection,
    prior: Option<Prior>,
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
    // Deepening a shallow clone gives old commits parents, and so new order keys.
    if prior.is_some() && repo.is_shallow() {
        out.cache_note = Some("shallow clone: history walked from scratch".into());
    }
    let prior = prior.filter(|_| !repo.is_shallow());
    match selection {
        Selection::All => {
            let tips = ref_tips(&repo, path, &mut out)?;
            if tips.is_empty() {
                out.notes.push("the repository has no commits".into());
                return Ok(out);
            }
            walk_ordered(&repo, tips, prior, &mut out, observe);
        }
        Selection::Branch(rev) => {
            let tip = resolve(&repo, rev).map_err(|e| git_err(path, e))?;
            walk_ordered(&repo, vec![tip], prior, &mut out, observe);
        }
        Selection::Range { .. } | Selection::Push(_) => {
            walk_range(&repo, path, selection, &mut out, observe)?;
        }
    }
    Ok(out)
}

/// The commit every ref peels to, deduplicated; refs to missing objects are problems.
fn ref_tips(repo: &Repository, path: &Path, out: &mut History) -> Result<Vec<Oid>, SourceError> {
    let (mut tips, mut dangling) = (Vec::new(), Vec::new());
    for r in repo.references().map_err(|e| git_err(path, e))?.flatten() {
        match r.peel_to_commit() {
            Ok(c) => tips.push(c.id()),
            // Tags of trees or blobs are fine to skip; a ref to a missing or unreadable
            // object is not.
            Err(_) if peels_to_tree_or_blob(&r) => {}
            Err(_) => dangling.push(String::from_utf8_lossy(r.name_bytes()).into_owned()),
        }
    }
    if !dangling.is_empty() {
        out.problems.push(format!(
            "{} ref(s) point at missing or unreadable objects and were skipped: {}",
            dangling.len(),
            dangling.join(", ")
        ));
    }
    tips.sort();
    tips.dedup();
    Ok(tips)
}

/// A commit's place in history order: its "corrected commit date" (git's generation
/// number v2), the committer time raised to one second past every parent's key. Parents
/// always sort before children, and the key of a commit depends only on its ancestors, so
/// commits added later never move the old ones: what makes an incremental walk give the
/// same answer as a full one. Ties break by commit id.
pub fn order_key(committer_time: i64, parent_keys: impl Iterator<Item = i64>) -> i64 {
    parent_keys.fold(committer_time, |k, p| k.max(p.saturating_add(1)))
}

/// A commit read by the first pass of an ordered walk.
struct Node {
    id: Oid,
    key: i64,
    tree: Oid,
    first_parent: Option<Oid>,
    info: Arc<CommitInfo>,
}

/// Every commit reachable from `tips` without passing through a commit in `known` (the
/// ancestor-closed set an earlier walk covered), with its order key. Our own traversal, not
/// a revwalk: hiding the earlier tips made libgit2 mark their whole ancestry (a third of a
/// second on curl to find one new commit), and its topological sort is not needed: the keys
/// give the order.
fn list_commits(
    repo: &Repository,
    tips: &[Oid],
    known: &IdMap<i64>,
    problems: &mut Vec<String>,
) -> Vec<Node> {
    struct Read {
        node: Node,
        parents: Vec<Oid>,
    }
    let mut read: Vec<Read> = Vec::new();
    let mut index: HashMap<Oid, usize, std::hash::BuildHasherDefault<super::IdHasher>> =
        HashMap::default();
    let mut stack: Vec<Oid> = tips.to_vec();
    while let Some(id) = stack.pop() {
        if index.contains_key(&id) || known.contains_key(&blob_id(id)) {
            continue;
        }
        let commit = match repo.find_commit(id) {
            Ok(c) => c,
            Err(e) => {
                problems.push(format!("commit {id} cannot be read: {}", e.message()));
                continue;
            }
        };
        let parents: Vec<Oid> = commit.parent_ids().collect();
        stack.extend(parents.iter().rev().copied());
        index.insert(id, read.len());
        read.push(Read {
            node: Node {
                id,
                key: commit.committer().when().seconds(),
                tree: commit.tree_id(),
                first_parent: parents.first().copied(),
                info: Arc::new(commit_info(&commit)),
            },
            parents,
        });
    }
    // Keys, parents first (an explicit stack: histories are deeper than any thread stack).
    // 0: not reached, 1: on the stack, 2: done; a parent on the stack (a cycle, which only a
    // forged graft could make) is skipped rather than followed for ever.
    let mut state = vec![0u8; read.len()];
    for start in 0..read.len() {
        let mut todo = vec![start];
        while let Some(&i) = todo.last() {
            if state[i] == 2 {
                todo.pop();
                continue;
            }
            state[i] = 1;
            let pending: Vec<usize> = read[i]
                .parents
                .iter()
                .filter_map(|p| index.get(p).copied())
                .filter(|&p| state[p] == 0)
                .collect();
            if !pending.is_empty() {
                todo.extend(pending);
                continue;
            }
            let parent_keys: Vec<i64> = read[i]
                .parents
                .iter()
                .filter_map(|p| match index.get(p) {
                    Some(&j) => (state[j] == 2).then_some(read[j].node.key),
                    None => known.get(&blob_id(*p)).copied(),
                })
                .collect();
            read[i].node.key = order_key(read[i].node.key, parent_keys.into_iter());
            state[i] = 2;
            todo.pop();
        }
    }
    read.into_iter().map(|r| r.node).collect()
}

/// True when every tip of the earlier walk is still reachable: a tip now, a parent of a new
/// commit, or an ancestor of a tip (checked for a few; more is a rewrite, walked afresh).
fn still_reachable(repo: &Repository, old_tips: &[CommitId], tips: &[Oid], nodes: &[Node]) -> bool {
    let now: IdSet = tips.iter().map(|t| blob_id(*t)).collect();
    let mut parents = IdSet::default();
    for n in nodes {
        for p in &n.info.parents {
            if let Ok(p) = Oid::from_str(p) {
                parents.insert(blob_id(p));
            }
        }
    }
    let mut checks = 0;
    old_tips.iter().all(|t| {
        if now.contains(t) || parents.contains(t) {
            return true;
        }
        checks += 1;
        checks <= 64
            && tips
                .iter()
                .any(|c| repo.graph_descendant_of(*c, oid(t)).unwrap_or(false))
    })
}

/// A walk of every commit reachable from `tips`, in history order; each blob is placed at
/// the first commit that holds it and, within that commit, at its first path in tree order.
fn walk_ordered(
    repo: &Repository,
    tips: Vec<Oid>,
    prior: Option<Prior>,
    out: &mut History,
    observe: &mut dyn FnMut(&Arc<CommitInfo>),
) {
    let mut problems = Vec::new();
    let mut resumed = None;
    if let Some((walked, blobs)) = prior {
        let nodes = list_commits(repo, &tips, &walked.keys, &mut problems);
        if problems.is_empty() && still_reachable(repo, &walked.tips, &tips, &nodes) {
            resumed = Some((walked, blobs, nodes));
        }
        if resumed.is_none() {
            problems.clear();
            out.cache_note = Some(
                "refs were rewritten or deleted since the cached walk: history walked from scratch"
                    .into(),
            );
        }
    }
    let (mut walked, mut blobs, mut nodes) = match resumed {
        Some(r) => {
            out.resumed = true;
            r
        }
        None => {
            let nodes = list_commits(repo, &tips, &IdMap::default(), &mut problems);
            (Walked::default(), Vec::new(), nodes)
        }
    };
    nodes.sort_unstable_by_key(|n| (n.key, n.id));
    let new: OidSet = nodes.iter().map(|n| n.id).collect();
    let mut index: IdMap<usize> = IdMap::with_capacity_and_hasher(blobs.len(), Default::default());
    for (i, b) in blobs.iter().enumerate() {
        index.insert(b.id, i);
    }
    let mut seen_trees = OidSet::default();
    for node in &nodes {
        observe(&node.info);
        let id = blob_id(node.id);
        out.infos.insert(id, Arc::clone(&node.info));
        walked.keys.insert(id, node.key);
        let tree = match repo.find_tree(node.tree) {
            Ok(t) => t,
            Err(e) => {
                problems.push(format!(
                    "commit {}: its tree cannot be read: {}",
                    node.id,
                    e.message()
                ));
                continue;
            }
        };
        // A parent the earlier walk covered: what this commit shares with it is old.
        let base = node
            .first_parent
            .filter(|p| !new.contains(p))
            .and_then(|p| repo.find_commit(p).ok()?.tree().ok());
        let mut place = Placer {
            commit: id,
            key: node.key,
            seq: 0,
            blobs: &mut blobs,
            index: &mut index,
        };
        walked.submodules |= walk_tree(
            repo,
            node.id,
            tree,
            base,
            &mut seen_trees,
            &mut place,
            &mut problems,
        );
    }
    blobs.sort_by_key(|b| (b.key, b.commit, b.seq));
    // Held for the whole scan: without the doubling's slack (10 MB on curl).
    blobs.shrink_to_fit();
    out.commits = walked.keys.len();
    if walked.submodules {
        out.notes.push(
            "submodule entries were not followed (scan those repositories separately)".into(),
        );
    }
    walked.tips = tips.iter().map(|t| blob_id(*t)).collect();
    out.blobs = blobs;
    out.walked = Some(walked);
    out.problems.extend(problems);
}

/// Places the blobs one commit holds: a blob seen for the first time, or held by a commit
/// earlier in history order than where it was placed, is placed here.
struct Placer<'a> {
    commit: CommitId,
    key: i64,
    seq: u32,
    blobs: &'a mut Vec<HistoryBlob>,
    index: &'a mut IdMap<usize>,
}

impl Placer<'_> {
    fn offer(&mut self, id: Oid, path: impl FnOnce() -> Vec<u8>) {
        let id = blob_id(id);
        let here = (self.key, self.commit);
        let slot = match self.index.get(&id) {
            Some(&i) if (self.blobs[i].key, self.blobs[i].commit) <= here => return,
            Some(&i) => i,
            None => {
                self.index.insert(id, self.blobs.len());
                self.blobs.push(HistoryBlob {
                    id,
                    commit: self.commit,
                    key: self.key,
                    seq: 0,
                    path: Arc::from(""),
                    raw: None,
                });
                self.blobs.len() - 1
            }
        };
        let (path, raw) = super::path_name(path());
        let b = &mut self.blobs[slot];
        (b.commit, b.key, b.seq, b.path, b.raw) =
            (self.commit, self.key, self.seq, path.into(), raw);
        self.seq += 1;
    }
}

/// Offers every blob of `tree` in tree order (depth first, entries in git's order), except
/// under subtrees already walked and entries equal to `base` (the tree of a parent the
/// earlier walk covered) at the same path. Returns whether a submodule entry was seen.
fn walk_tree<'r>(
    repo: &'r Repository,
    commit: Oid,
    tree: Tree<'r>,
    base: Option<Tree<'r>>,
    seen_trees: &mut OidSet,
    place: &mut Placer<'_>,
    problems: &mut Vec<String>,
) -> bool {
    struct Frame<'r> {
        tree: Tree<'r>,
        base: Option<Tree<'r>>,
        prefix: Vec<u8>,
        next: usize,
    }
    if !seen_trees.insert(tree.id()) {
        return false;
    }
    let mut submodules = false;
    let mut stack = vec![Frame {
        tree,
        base,
        prefix: Vec::new(),
        next: 0,
    }];
    while let Some(top) = stack.last_mut() {
        // None: this tree is done; Some(frame): a subtree to descend into.
        let step: Option<Option<Frame<'r>>> = 'entry: {
            let Some(e) = top.tree.get(top.next) else {
                break 'entry None;
            };
            top.next += 1;
            let name = e.name_bytes();
            let old = top.base.as_ref().and_then(|b| b.get_name_bytes(name));
            if old.as_ref().is_some_and(|o| o.id() == e.id()) {
                break 'entry Some(None);
            }
            // Paths are built only for what is placed or descended into: most entries are not.
            let full = |prefix: &[u8]| {
                let mut p = Vec::with_capacity(prefix.len() + 1 + name.len());
                if !prefix.is_empty() {
                    p.extend_from_slice(prefix);
                    p.push(b'/');
                }
                p.extend_from_slice(name);
                p
            };
            match e.kind() {
                Some(ObjectType::Tree) if seen_trees.insert(e.id()) => match repo.find_tree(e.id())
                {
                    Ok(sub) => {
                        let base = old
                            .filter(|o| o.kind() == Some(ObjectType::Tree))
                            .and_then(|o| repo.find_tree(o.id()).ok());
                        break 'entry Some(Some(Frame {
                            tree: sub,
                            base,
                            prefix: full(&top.prefix),
                            next: 0,
                        }));
                    }
                    Err(err) => problems.push(format!(
                        "commit {commit}: tree {} at {} cannot be read: {}",
                        e.id(),
                        String::from_utf8_lossy(&full(&top.prefix)),
                        err.message()
                    )),
                },
                Some(ObjectType::Blob) => place.offer(e.id(), || full(&top.prefix)),
                Some(ObjectType::Commit) => submodules = true,
                _ => {}
            }
            Some(None)
        };
        match step {
            None => {
                stack.pop();
            }
            Some(descend) => stack.extend(descend),
        }
    }
    submodules
}

/// Range and push selections: the blobs each commit introduced, in libgit2's topological
/// order (a range is small; nothing is cached).
fn walk_range(
    repo: &Repository,
    path: &Path,
    selection: &Selection,
    out: &mut History,
    observe: &mut dyn FnMut(&Arc<CommitInfo>),
) -> Result<(), SourceError> {
    let mut walk = repo.revwalk().map_err(|e| git_err(path, e))?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)
        .map_err(|e| git_err(path, e))?;
    match selection {
        Selection::Range { base, head } => {
            let h = resolve(repo, head).map_err(|e| git_err(path, e))?;
            walk.push(h).map_err(|e| git_err(path, e))?;
            let zero = !base.is_empty() && base.bytes().all(|b| b == b'0');
            match (zero, resolve(repo, base)) {
                (false, Ok(b)) => walk.hide(b).map_err(|e| git_err(path, e))?,
                (zero, _) => {
                    // A new branch (all-zero base) or a base this clone does not have (force
                    // push, shallow fetch): scan what no other branch already holds.
                    let hidden = hide_refs(repo, &mut walk, |_, c| c != h);
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
        }
        Selection::Push(updates) => {
            if updates.is_empty() {
                out.notes
                    .push("nothing to push (only deletions or no input)".into());
                return Ok(());
            }
            let mut hid_remotes = false;
            for u in updates {
                let local = resolve(repo, &u.local).map_err(|e| git_err(path, e))?;
                walk.push(local).map_err(|e| git_err(path, e))?;
                match (is_zero(&u.remote), resolve(repo, &u.remote)) {
                    (false, Ok(r)) => walk.hide(r).map_err(|e| git_err(path, e))?,
                    _ if !hid_remotes => {
                        // A new branch, or a remote value we do not have: what no
                        // remote-tracking ref holds is what the remote has not seen.
                        let n = hide_refs(repo, &mut walk, |name, _| {
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
        }
        Selection::All | Selection::Branch(_) => return Ok(()),
    }
    let mut seen_blobs = OidSet::default();
    for (n, id) in walk.enumerate() {
        let id = match id {
            Ok(id) => id,
            Err(e) => {
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
        out.infos.insert(blob_id(id), Arc::clone(&info));
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
        introduced(
            repo,
            &commit,
            &tree,
            n as i64,
            &mut seen_blobs,
            &mut out.blobs,
            &mut out.problems,
        );
    }
    Ok(())
}

/// Facts of the given commits, read from the repository (those a resumed walk did not
/// read); unreadable ones are left out.
pub fn commit_infos(
    repo: &Repository,
    ids: impl Iterator<Item = CommitId>,
) -> IdMap<Arc<CommitInfo>> {
    ids.filter_map(|id| {
        let c = repo.find_commit(oid(&id)).ok()?;
        Some((id, Arc::new(commit_info(&c))))
    })
    .collect()
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
    key: i64,
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
    let mut seq = 0;
    for (p, id) in paths {
        if seen.insert(*id) {
            let (path, raw) = super::path_name(p.clone());
            out.push(HistoryBlob {
                id: blob_id(*id),
                commit: blob_id(commit.id()),
                key,
                seq,
                path: path.into(),
                raw,
            });
            seq += 1;
        }
    }
}

fn collect_tree_blobs(repo: &Repository, tree: &Tree<'_>, out: &mut IdSet) {
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
pub fn pack_positions(repo: &Repository) -> IdMap<(u32, u64)> {
    let mut out = IdMap::default();
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

fn read_idx_v2(b: &[u8], pack: u32, out: &mut IdMap<(u32, u64)>) {
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

/// A pack file: its name and size tell it apart from any other (packs are immutable and
/// named by their checksum).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    /// File name of the `.pack`.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    idx: std::path::PathBuf,
}

/// The repository's packs, sorted by name.
pub fn packs(repo: &Repository) -> Vec<Pack> {
    pack_indexes(repo)
        .into_iter()
        .filter_map(|idx| {
            let pack = idx.with_extension("pack");
            let size = std::fs::metadata(&pack).ok()?.len();
            let name = pack.file_name()?.to_string_lossy().into_owned();
            Some(Pack { name, size, idx })
        })
        .collect()
}

/// The blobs stored in one pack, in pack order (bases before their deltas), found by reading
/// the pack's index and each entry's header: no walk, no inflation. A full-history scan
/// reads these while the walk that attributes them runs alongside. Entries whose type
/// cannot be told cheaply (a delta against an object in another pack) are left out: the
/// walk still finds them. An unreadable pack gives nothing.
pub fn pack_blobs(pack: &Pack) -> Vec<BlobId> {
    let mut objects = IdMap::default();
    let Ok(bytes) = std::fs::read(&pack.idx) else {
        return Vec::new();
    };
    read_idx_v2(&bytes, 0, &mut objects);
    let mut by_offset: Vec<(u64, BlobId)> = objects
        .into_iter()
        .map(|(id, (_, off))| (off, id))
        .collect();
    by_offset.sort_unstable_by_key(|e| e.0);
    blobs_in_pack(&pack.idx.with_extension("pack"), &by_offset).unwrap_or_default()
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
    let mut typed: IdMap<u8> = IdMap::default();
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
