//! Files the scanned repository may control, opened safely: reads never follow a planted
//! symlink, never block on a FIFO or device and never take more than a cap; writes go to a
//! temporary file beside the target and are renamed over it, never through a link.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// Who chose a path to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chooser {
    /// The user, on the command line (`--config`, `--baseline`, `--rules`): a symlink is
    /// followed, since the user picked it.
    User,
    /// The scanned checkout (a config, ignore or settings file found there): a symlink is
    /// refused.
    Repo,
}

/// Caps for the files leakhound reads besides the scanned content.
pub mod cap {
    /// Config files (`leakhound.toml`, `.gitleaks.toml`).
    pub const CONFIG: u64 = 4 << 20;
    /// Baselines and `.gitleaksignore`.
    pub const BASELINE: u64 = 64 << 20;
    /// Ignore files and agent settings.
    pub const SMALL: u64 = 1 << 20;
    /// Rule files.
    pub const RULES: u64 = 16 << 20;
}

/// Why a file was not read or written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct UntrustedFileError {
    /// The file.
    pub path: String,
    /// What is wrong, with what to do.
    pub reason: String,
}

fn err(path: &Path, reason: impl Into<String>) -> UntrustedFileError {
    UntrustedFileError {
        path: path.display().to_string(),
        reason: reason.into(),
    }
}

/// Reads a whole file of at most `cap` bytes. `Ok(None)` when nothing is there. A symlink
/// chosen by the repository, anything but a regular file, and a file over the cap are
/// errors that say so; the content is never quoted.
pub fn read(path: &Path, cap: u64, by: Chooser) -> Result<Option<Vec<u8>>, UntrustedFileError> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(err(path, format!("cannot read: {e}"))),
    };
    if meta.file_type().is_symlink() && by == Chooser::Repo {
        return Err(err(
            path,
            "is a symbolic link: not followed (a scanned repository must not choose what leakhound reads)",
        ));
    }
    let file = open_nofollow(path, by).map_err(|e| err(path, format!("cannot read: {e}")))?;
    let meta = file
        .metadata()
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err(path, "is not a regular file: not read"));
    }
    if meta.len() > cap {
        return Err(err(
            path,
            format!(
                "is {} bytes, over the {} byte limit for this kind of file: not read",
                meta.len(),
                cap
            ),
        ));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| err(path, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > cap {
        return Err(err(
            path,
            format!("grew past the {cap} byte limit: not read"),
        ));
    }
    Ok(Some(bytes))
}

/// [`read`] as UTF-8 text.
pub fn read_text(path: &Path, cap: u64, by: Chooser) -> Result<Option<String>, UntrustedFileError> {
    match read(path, cap, by)? {
        None => Ok(None),
        Some(b) => String::from_utf8(b).map(Some).map_err(|e| {
            err(
                path,
                format!("is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
            )
        }),
    }
}

#[cfg(unix)]
fn open_nofollow(path: &Path, by: Chooser) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = libc_flags::O_NONBLOCK;
    if by == Chooser::Repo {
        flags |= libc_flags::O_NOFOLLOW;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
}

#[cfg(not(unix))]
fn open_nofollow(path: &Path, _by: Chooser) -> std::io::Result<std::fs::File> {
    std::fs::File::open(path)
}

/// The two open flags we need, without a libc dependency (values from the platform headers).
#[cfg(unix)]
mod libc_flags {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const O_NOFOLLOW: i32 = 0o400_000;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    pub const O_NONBLOCK: i32 = 0o4000;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub const O_NOFOLLOW: i32 = 0x0100;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    pub const O_NONBLOCK: i32 = 0x0004;
}

/// What is at an output path, if anything, refusing a symbolic link (never written
/// through) and a directory.
fn writable(path: &Path) -> Result<Option<std::fs::Metadata>, UntrustedFileError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => Err(err(
            path,
            "is a symbolic link: not written through (remove it or choose another file)",
        )),
        Ok(m) if m.is_dir() => Err(err(path, "is a directory")),
        Ok(m) => Ok(Some(m)),
        Err(_) => Ok(None),
    }
}

/// Writes `bytes` to `path` through a new temporary file in the same directory, renamed over
/// the target: a symlink at `path` is refused (never written through), and a reader never
/// sees half a file.
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), UntrustedFileError> {
    // A device or pipe (`/dev/null`, `/dev/stdout`, a FIFO) is written to, never replaced.
    if writable(path)?.is_some_and(|m| !m.is_file()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(bytes))
            .map_err(|e| err(path, format!("cannot write: {e}")));
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map_or_else(|| "output".into(), |n| n.to_string_lossy().into_owned());
    let (tmp, mut file) =
        create_temp(&dir, &name).map_err(|e| err(path, format!("cannot write: {e}")))?;
    let written = file
        .write_all(bytes)
        .and_then(|()| file.sync_all())
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err(path, format!("cannot write: {e}")));
    }
    Ok(())
}

/// Appends `bytes` to `path` (created if missing) in one write, never through a symbolic
/// link: JSON Lines reports that many scans add to, one block per scan.
pub fn append(path: &Path, bytes: &[u8]) -> Result<(), UntrustedFileError> {
    writable(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // A link planted between the check and the open is not followed either.
        options.custom_flags(libc_flags::O_NOFOLLOW);
    }
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|e| err(path, format!("cannot append: {e}")))
}

fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let mut last = None;
    for attempt in 0..16u32 {
        let tmp = dir.join(format!(
            ".{name}.{}.{nanos:x}{attempt}.tmp",
            std::process::id()
        ));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no temporary file name was free")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_symlinks_fifos_and_big_files_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let target = dir.path().join("target");
        std::fs::write(&target, "SECRET=hunter2").expect("write");
        let small = dir.path().join("small");
        std::fs::write(&small, "ok").expect("write");
        assert_eq!(
            read(&small, 10, Chooser::Repo).expect("reads"),
            Some(b"ok".to_vec())
        );
        assert_eq!(
            read(&dir.path().join("none"), 10, Chooser::Repo).expect("ok"),
            None
        );
        let e = read(&target, 4, Chooser::Repo).expect_err("too big");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&target, &link).expect("symlink");
            let e = read(&link, 1000, Chooser::Repo).expect_err("link refused");
            assert!(e.reason.contains("symbolic link"), "{e}");
            assert!(read(&link, 1000, Chooser::User)
                .expect("user link")
                .is_some());
            let e = read(Path::new("/dev/zero"), 1000, Chooser::User).expect_err("device");
            assert!(e.reason.contains("regular"), "{e}");
        }
    }

    #[test]
    fn writes_replace_files_and_refuse_links() {
        let dir = tempfile::tempdir().expect("tmp");
        let out = dir.path().join("out.sarif");
        write(&out, b"one").expect("write");
        write(&out, b"two").expect("overwrite");
        assert_eq!(std::fs::read(&out).expect("read"), b"two");
        #[cfg(unix)]
        {
            let victim = dir.path().join("victim");
            std::fs::write(&victim, "keep").expect("write");
            let link = dir.path().join("report.sarif");
            std::os::unix::fs::symlink(&victim, &link).expect("symlink");
            let e = write(&link, b"attack").expect_err("refused");
            assert!(e.reason.contains("symbolic link"), "{e}");
            assert_eq!(std::fs::read(&victim).expect("read"), b"keep");
        }
        // A device is written to, not replaced by a regular file.
        #[cfg(unix)]
        {
            write(Path::new("/dev/null"), b"discarded").expect("write to /dev/null");
            let m = std::fs::metadata("/dev/null").expect("/dev/null");
            assert!(!m.is_file(), "/dev/null was replaced");
        }
        let leftovers = std::fs::read_dir(dir.path())
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
