//! Directory walk with `ignore`: honours .gitignore/.ignore, keeps hidden files, never enters
//! `.git`, never opens FIFOs or devices, follows symlinks only when asked.

use std::path::{Path, PathBuf};

use ignore::WalkBuilder;

use super::{FileEntry, Origin, SkipReason, SourceError};

/// How to walk.
#[derive(Debug, Clone)]
pub struct WalkOptions {
    /// Do not read .gitignore / .ignore / git excludes.
    pub no_ignore: bool,
    /// Follow symbolic links.
    pub follow_symlinks: bool,
    /// Skip files larger than this many bytes.
    pub max_file_size: u64,
}

/// One thing the walk found.
#[derive(Debug)]
pub enum WalkItem {
    /// A regular file to scan.
    File(FileEntry),
    /// A file passed over, and why.
    Skipped(Origin, SkipReason),
    /// A problem that did not stop the walk (unreadable directory, loop, broken link).
    Error(String, String),
}

/// Walks `roots` (files or directories), yielding items as they are found so that
/// scanning can start before the walk ends. The order is the walker's; callers sort.
pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
) -> Result<impl Iterator<Item = WalkItem> + Send, SourceError> {
    for root in roots {
        std::fs::symlink_metadata(root).map_err(|err| SourceError::Root {
            path: root.display().to_string(),
            err,
        })?;
    }
    let mut builder = WalkBuilder::new(roots.first().map_or(Path::new("."), |p| p.as_path()));
    for r in roots.iter().skip(1) {
        builder.add(r);
    }
    builder
        .hidden(false)
        .follow_links(opts.follow_symlinks)
        .git_ignore(!opts.no_ignore)
        .git_global(!opts.no_ignore)
        .git_exclude(!opts.no_ignore)
        .ignore(!opts.no_ignore)
        .parents(!opts.no_ignore)
        .require_git(false)
        .filter_entry(|e| e.file_name() != ".git");
    let max = opts.max_file_size;
    Ok(builder.build().filter_map(move |entry| {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let (path, message) = error_parts(&e);
                return Some(WalkItem::Error(path, message));
            }
        };
        let ft = entry.file_type()?;
        if ft.is_dir() {
            return None;
        }
        let origin = Origin::File {
            path: display_path(entry.path()),
        };
        if ft.is_symlink() {
            return Some(WalkItem::Skipped(origin, SkipReason::Symlink));
        }
        if !ft.is_file() {
            return Some(WalkItem::Skipped(origin, SkipReason::Special));
        }
        let len = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => return Some(WalkItem::Error(origin.path().to_string(), e.to_string())),
        };
        if len > max {
            return Some(WalkItem::Skipped(origin, SkipReason::TooLarge));
        }
        Some(WalkItem::File(FileEntry {
            fs_path: entry.into_path(),
            origin,
            len,
        }))
    }))
}

fn error_parts(e: &ignore::Error) -> (String, String) {
    let mut err = e;
    let mut path = String::new();
    loop {
        match err {
            ignore::Error::WithPath {
                path: p,
                err: inner,
            } => {
                path = display_path(p);
                err = inner;
            }
            ignore::Error::WithDepth { err: inner, .. }
            | ignore::Error::WithLineNumber { err: inner, .. } => {
                err = inner;
            }
            ignore::Error::Loop { child, .. } => {
                return (display_path(child), "symlink loop, not followed".into());
            }
            other => return (path, other.to_string()),
        }
    }
}

/// `./a/b` -> `a/b`, with `/` separators on every platform.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy();
    let s = s.strip_prefix("./").unwrap_or(&s);
    if std::path::MAIN_SEPARATOR == '\\' {
        s.replace('\\', "/")
    } else {
        s.to_string()
    }
}
