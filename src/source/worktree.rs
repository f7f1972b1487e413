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

/// What the walk found.
#[derive(Debug, Default)]
pub struct Walk {
    /// Regular files to scan, sorted by display path.
    pub files: Vec<FileEntry>,
    /// Files passed over, with the reason.
    pub skipped: Vec<(Origin, SkipReason)>,
    /// Problems that did not stop the walk (unreadable directories, loops, broken links).
    pub errors: Vec<(String, String)>,
}

/// Walks `roots` (files or directories).
pub fn walk(roots: &[PathBuf], opts: &WalkOptions) -> Result<Walk, SourceError> {
    for root in roots {
        std::fs::symlink_metadata(root).map_err(|source| SourceError::Root {
            path: root.display().to_string(),
            source,
        })?;
    }
    let mut out = Walk::default();
    let Some((first, rest)) = roots.split_first() else {
        return Ok(out);
    };
    let mut builder = WalkBuilder::new(first);
    for r in rest {
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
    for entry in builder.build() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.errors.push(error_parts(&e));
                continue;
            }
        };
        let Some(ft) = entry.file_type() else {
            continue; // stdin
        };
        if ft.is_dir() {
            continue;
        }
        let origin = Origin::File {
            path: display_path(entry.path()),
        };
        if ft.is_symlink() {
            out.skipped.push((origin, SkipReason::Symlink));
            continue;
        }
        if !ft.is_file() {
            out.skipped.push((origin, SkipReason::Special));
            continue;
        }
        let len = match entry.metadata() {
            Ok(m) => m.len(),
            Err(e) => {
                out.errors.push((origin.path().to_string(), e.to_string()));
                continue;
            }
        };
        if len > opts.max_file_size {
            out.skipped.push((origin, SkipReason::TooLarge));
            continue;
        }
        out.files.push(FileEntry {
            fs_path: entry.into_path(),
            origin,
            len,
        });
    }
    out.files.sort_by(|a, b| a.origin.cmp(&b.origin));
    out.files.dedup_by(|a, b| a.origin == b.origin);
    out.skipped.sort();
    out.errors.sort();
    Ok(out)
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
