//! Directory walk with `ignore`: honours .gitignore/.ignore, keeps hidden files, never enters
//! `.git`, never opens FIFOs or devices, follows symlinks only when asked.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    /// Follow a root path that is itself a symlink (the user named it). Off for the paths a
    /// hook is handed: a staged symlink may point outside the repository.
    pub root_symlinks: bool,
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
    /// Something worth saying that lost nothing (an ignore file not read): subject, message.
    Notice(String, String),
}

/// Walks `roots` (files or directories), yielding items as they are found so that
/// scanning can start before the walk ends. The order is the walker's; callers sort.
///
/// Ignore files are the scanned tree's: a `.gitignore`, `.ignore`, `.git/info/exclude` or
/// `.git` file that is a symlink, not a regular file or over [`IGNORE_FILE_CAP`] is never
/// opened. Its directory is walked without ignore rules instead (more is scanned, nothing
/// is missed) and a notice says so.
pub fn walk(
    roots: &[PathBuf],
    opts: &WalkOptions,
) -> Result<impl Iterator<Item = WalkItem> + Send, SourceError> {
    for root in roots {
        check_root(root, opts.root_symlinks)?;
    }
    let mut notices = Vec::new();
    let (mut safe_roots, mut plain): (Vec<PathBuf>, Vec<PathBuf>) = (Vec::new(), Vec::new());
    let mut linked = Vec::new();
    for root in roots {
        let is_link = std::fs::symlink_metadata(root).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && !opts.root_symlinks {
            let (path, raw) = display_name(root);
            linked.push(WalkItem::Skipped(
                Origin::File { path, raw },
                SkipReason::Symlink,
            ));
            continue;
        }
        match (opts.no_ignore, unsafe_ignore_file(root)) {
            (false, Some(why)) => {
                notices.push(ignore_notice(root, &why));
                plain.push(root.clone());
            }
            _ => safe_roots.push(root.clone()),
        }
    }
    let parents_safe = opts.no_ignore || safe_roots.iter().all(|r| parents_safe(r, &mut notices));
    let deferred: Arc<Mutex<Vec<(PathBuf, String)>>> = Arc::default();
    let main = (!safe_roots.is_empty()).then(|| {
        let mut builder = WalkBuilder::new(&safe_roots[0]);
        for r in &safe_roots[1..] {
            builder.add(r);
        }
        builder
            .hidden(false)
            .follow_links(opts.follow_symlinks)
            .git_ignore(!opts.no_ignore)
            .git_global(!opts.no_ignore)
            .git_exclude(!opts.no_ignore)
            .ignore(!opts.no_ignore)
            .parents(!opts.no_ignore && parents_safe)
            .require_git(false);
        let check = !opts.no_ignore;
        let deferred = Arc::clone(&deferred);
        // Runs before the walker reads a directory's ignore files: a directory with an
        // unsafe one is left for the plain walk below.
        builder.filter_entry(move |e| {
            if e.file_name() == ".git" {
                return false;
            }
            if check && e.file_type().is_some_and(|t| t.is_dir()) {
                if let Some(why) = unsafe_ignore_file(e.path()) {
                    if let Ok(mut d) = deferred.lock() {
                        d.push((e.path().to_path_buf(), why));
                    }
                    return false;
                }
            }
            true
        });
        builder.build()
    });
    let max = opts.max_file_size;
    let follow = opts.follow_symlinks;
    let first = main.into_iter().flatten();
    // The plain walks start only when the main walk is done (and has found every directory
    // to defer), so they are built lazily.
    let later = std::iter::once(()).flat_map(move |()| {
        let mut dirs = plain.clone();
        let mut items: Vec<WalkItem> = notices
            .iter()
            .map(|(subject, message)| WalkItem::Notice(subject.clone(), message.clone()))
            .collect();
        if let Ok(d) = deferred.lock() {
            for (dir, why) in d.iter() {
                let (subject, message) = ignore_notice(dir, why);
                items.push(WalkItem::Notice(subject, message));
                dirs.push(dir.clone());
            }
        }
        let walks = dirs.into_iter().map(move |dir| {
            WalkBuilder::new(dir)
                .standard_filters(false)
                .follow_links(follow)
                .filter_entry(|e| e.file_name() != ".git")
                .build()
        });
        items.into_iter().map(Ok).chain(walks.flatten().map(Err))
    });
    Ok(linked
        .into_iter()
        .map(Ok)
        .chain(first.map(Err))
        .chain(later)
        .filter_map(move |entry| match entry {
            Ok(item) => Some(item),
            Err(entry) => item(entry, max),
        }))
}

/// What one walker entry means.
fn item(entry: Result<ignore::DirEntry, ignore::Error>, max: u64) -> Option<WalkItem> {
    let entry = match entry {
        Ok(e) => e,
        Err(e) => {
            let (path, message) = error_parts(&e);
            // A symlink loop loses nothing: what it points back to is scanned anyway.
            if message.starts_with("symlink loop") {
                return Some(WalkItem::Notice(path, message));
            }
            return Some(WalkItem::Error(path, message));
        }
    };
    let ft = entry.file_type()?;
    if ft.is_dir() {
        return None;
    }
    let (path, raw) = display_name(entry.path());
    let origin = Origin::File { path, raw };
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
}

/// A root that does not exist, a dangling symlink, or a directory that cannot be listed is
/// an error (exit 2), never an empty scan.
fn check_root(root: &Path, follow_link: bool) -> Result<(), SourceError> {
    let fail = |err: std::io::Error| SourceError::Root {
        path: root.display().to_string(),
        err,
    };
    let link = std::fs::symlink_metadata(root).map_err(fail)?;
    if link.file_type().is_symlink() && !follow_link {
        // Reported as a skipped symlink; where it points is not our business.
        return Ok(());
    }
    let meta = std::fs::metadata(root).map_err(fail)?;
    if meta.is_dir() {
        std::fs::read_dir(root).map_err(fail)?;
    } else if meta.is_file() {
        std::fs::File::open(root).map_err(fail)?;
    }
    Ok(())
}

/// Ignore files above this size are not read.
pub const IGNORE_FILE_CAP: u64 = 1 << 20;

/// Why one of the ignore files the walker would read in `dir` is unsafe to open, if one is.
fn unsafe_ignore_file(dir: &Path) -> Option<String> {
    let regular = |p: &Path| -> Option<String> {
        let m = std::fs::symlink_metadata(p).ok()?;
        let name = p.strip_prefix(dir).unwrap_or(p).display().to_string();
        if m.file_type().is_symlink() {
            Some(format!("{name} is a symbolic link"))
        } else if !m.is_file() {
            Some(format!("{name} is not a regular file"))
        } else if m.len() > IGNORE_FILE_CAP {
            Some(format!("{name} is over {} bytes", IGNORE_FILE_CAP))
        } else {
            None
        }
    };
    if !std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()) {
        return None;
    }
    let git = dir.join(".git");
    let git_dir = std::fs::symlink_metadata(&git).is_ok_and(|m| m.is_dir());
    regular(&dir.join(".gitignore"))
        .or_else(|| regular(&dir.join(".ignore")))
        .or_else(|| {
            if git_dir {
                regular(&git.join("info").join("exclude"))
            } else {
                regular(&git)
            }
        })
}

/// False (with a notice) when an ancestor of `root`, up to its repository's top, holds an
/// unsafe ignore file: parents' ignore files are then not read at all.
fn parents_safe(root: &Path, notices: &mut Vec<(String, String)>) -> bool {
    let Ok(abs) = std::path::absolute(root) else {
        return true;
    };
    for dir in abs.ancestors().skip(1) {
        if let Some(why) = unsafe_ignore_file(dir) {
            notices.push((
                display_path(dir),
                format!(
                    "{why}: not read; the ignore files of the folders above the scanned path are not used"
                ),
            ));
            return false;
        }
        if dir.join(".git").exists() {
            break;
        }
    }
    true
}

fn ignore_notice(dir: &Path, why: &str) -> (String, String) {
    (
        display_path(dir),
        format!("{why}: not read; this folder was scanned without ignore rules"),
    )
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

/// [`display_path`], plus the exact bytes of a name that is not UTF-8.
pub fn display_name(p: &Path) -> (String, Option<super::RawPath>) {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let bytes = p.as_os_str().as_bytes();
        let bytes = bytes.strip_prefix(b"./").unwrap_or(bytes);
        super::path_name(bytes.to_vec())
    }
    #[cfg(not(unix))]
    {
        (display_path(p), None)
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
