//! Sources: where bytes come from. The only code that touches `ignore` (and, later, `git2`);
//! it yields blobs and their origins and judges nothing.

pub mod worktree;

use std::path::PathBuf;

/// Where a blob was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// A file in a directory tree (or named on the command line).
    File {
        /// Display path: as walked, `./` stripped, `/` separators.
        path: String,
    },
}

impl Origin {
    /// The path shown to people and written to reports.
    pub fn path(&self) -> &str {
        match self {
            Origin::File { path } => path,
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
    pub fn as_str(self) -> &'static str {
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
}

/// True when the first 8 KiB hold a NUL byte: the test git and ripgrep use.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}
