//! Sources: where bytes come from. The only code that touches `ignore` and `git2`; it
//! yields blobs and their origins and judges nothing.

pub mod archive;
pub mod cache;
pub mod git;
pub mod trailers;
pub mod worktree;

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

/// A git blob id (SHA-1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlobId(pub [u8; 20]);

impl std::fmt::Display for BlobId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl BlobId {
    /// Parses the 40 hex digits [`Display`](std::fmt::Display) writes.
    pub fn from_hex(hex: &str) -> Option<BlobId> {
        if hex.len() != 40 {
            return None;
        }
        let mut b = [0u8; 20];
        for (i, pair) in hex.as_bytes().chunks(2).enumerate() {
            b[i] = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(BlobId(b))
    }
}

impl Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Hashes object ids, which are SHA-1 output and already uniform: maps keyed by them need
/// no SipHash (it was a tenth of a warm cached scan).
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
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

/// A map keyed by object ids.
pub type IdMap<V> = std::collections::HashMap<BlobId, V, std::hash::BuildHasherDefault<IdHasher>>;
/// A set of object ids.
pub type IdSet = std::collections::HashSet<BlobId, std::hash::BuildHasherDefault<IdHasher>>;

/// Raw facts about a commit. Nothing here is a judgement (AI tagging reads these later).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
pub struct CommitInfo {
    /// Full commit id.
    pub id: String,
    /// Author name.
    pub author_name: String,
    /// Author email.
    pub author_email: String,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    /// Committer name.
    pub committer_name: String,
    /// Committer email.
    pub committer_email: String,
    /// Committer time, seconds since the epoch.
    pub committer_time: i64,
    /// First line of the message.
    pub subject: String,
    /// The whole message (not serialised: it can be long and may itself hold secrets).
    #[serde(skip)]
    pub message: String,
    /// The final trailer block, as `git interpret-trailers` parses it.
    pub trailers: Vec<(String, String)>,
    /// Parent commit ids.
    pub parents: Vec<String>,
}

/// Where a blob was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file in a directory tree (or named on the command line).
    File {
        /// Display path: as walked, `./` stripped, `/` separators.
        path: String,
        /// The exact bytes of a path that is not UTF-8 (`path` then shows U+FFFD).
        raw: Option<RawPath>,
    },
    /// A blob in git history, at the commit and path where it first appeared.
    Commit {
        /// The commit.
        commit: Arc<CommitInfo>,
        /// Path in that commit's tree.
        path: String,
        /// The exact bytes of a path that is not UTF-8.
        raw: Option<RawPath>,
        /// The blob (none for a commit message).
        blob: Option<BlobId>,
    },
    /// A staged (index) blob about to be committed.
    Staged {
        /// Path in the index.
        path: String,
    },
}

impl Origin {
    /// The path shown to people and written to reports.
    pub fn path(&self) -> &str {
        match self {
            Origin::File { path, .. } | Origin::Commit { path, .. } | Origin::Staged { path } => {
                path
            }
        }
    }

    /// The exact bytes of the path when it is not UTF-8.
    pub fn raw_path(&self) -> Option<&RawPath> {
        match self {
            Origin::File { raw, .. } | Origin::Commit { raw, .. } => raw.as_ref(),
            Origin::Staged { .. } => None,
        }
    }

    /// The blob, for history origins.
    pub fn blob(&self) -> Option<BlobId> {
        match self {
            Origin::Commit { blob, .. } => *blob,
            _ => None,
        }
    }

    /// Where a member of the archive at this origin comes from: `outer.zip!inner/path`.
    pub fn member(&self, inner: &str) -> Origin {
        if inner.is_empty() {
            return self.clone();
        }
        let path = format!("{}!{inner}", self.path());
        match self {
            Origin::File { .. } => Origin::File { path, raw: None },
            Origin::Commit { commit, .. } => Origin::Commit {
                commit: Arc::clone(commit),
                path,
                raw: None,
                blob: None,
            },
            Origin::Staged { .. } => Origin::Staged { path },
        }
    }

    /// The commit, for history origins.
    pub fn commit(&self) -> Option<&Arc<CommitInfo>> {
        match self {
            Origin::Commit { commit, .. } => Some(commit),
            _ => None,
        }
    }
}

/// The bytes of a path that is not valid UTF-8, kept so that two such names never collide.
pub type RawPath = Arc<[u8]>;

/// A path's display form (`/`-separated, invalid UTF-8 shown as U+FFFD) and, when the bytes
/// are not UTF-8, the bytes themselves.
pub fn path_name(bytes: Vec<u8>) -> (String, Option<RawPath>) {
    match String::from_utf8(bytes) {
        Ok(s) => (s, None),
        Err(e) => {
            let raw: RawPath = e.into_bytes().into();
            (String::from_utf8_lossy(&raw).into_owned(), Some(raw))
        }
    }
}

/// Something the walk passed over, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SkipReason {
    /// Contains NUL bytes in its first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge,
    /// A symbolic link, not followed.
    Symlink,
    /// A FIFO, socket or device.
    Special,
}

impl SkipReason {
    /// Lowercase label for summaries.
    pub const fn as_str(self) -> &'static str {
        match self {
            SkipReason::Binary => "binary",
            SkipReason::TooLarge => "too large",
            SkipReason::Symlink => "symlink",
            SkipReason::Special => "special file",
        }
    }
}

/// A file the walk found, to be read by the scanner.
#[derive(Debug, Clone)]
pub struct FileEntry {
    /// Filesystem path to open.
    pub fs_path: PathBuf,
    /// Where the bytes come from.
    pub origin: Origin,
    /// Size from metadata, when known.
    pub len: u64,
}

/// Errors that stop a source before it yields anything.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// A path given on the command line does not exist or cannot be read.
    #[error("cannot scan {path}: {err}")]
    Root {
        /// The path as given.
        path: String,
        /// Cause.
        err: std::io::Error,
    },
    /// A git repository could not be opened or read.
    #[error("{path}: {message}")]
    Git {
        /// Repository path.
        path: String,
        /// What libgit2 said, or ours.
        message: String,
    },
}

/// True when the first 8 KiB hold a NUL byte: the test git and ripgrep use.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}
