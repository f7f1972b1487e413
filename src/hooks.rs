//! Plain git hooks that run leakhound, for repositories without the pre-commit framework.
//! Writes hook scripts only: it never replaces a hook it did not write unless told to, and
//! never prints (the caller reports what was installed).

use std::path::{Path, PathBuf};

use crate::source::{self, SourceError};

/// Marks a hook script as leakhound's own, so a later install may replace it.
const HOOK_MARK: &str = "# leakhound-hook v1";

/// A git hook leakhound can install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `pre-commit`: scans what is being committed (`leakhound git --staged`).
    PreCommit,
    /// `pre-push`: scans what is being pushed (`leakhound git --pre-push`).
    PrePush,
}

impl Hook {
    /// The hook's file name in the hooks directory.
    pub fn name(self) -> &'static str {
        match self {
            Hook::PreCommit => "pre-commit",
            Hook::PrePush => "pre-push",
        }
    }

    fn args(self) -> &'static str {
        match self {
            Hook::PreCommit => "git --staged",
            Hook::PrePush => "git --pre-push",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Hook::PreCommit => "what is being committed",
            Hook::PrePush => "what is being pushed",
        }
    }
}

/// Why a hook could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum HookError {
    /// The path is not a git repository, or it cannot be opened.
    #[error(transparent)]
    Repo(#[from] SourceError),
    /// The hooks directory could not be created.
    #[error("{}: cannot create the hooks directory", .path.display())]
    CreateDir {
        /// The hooks directory.
        path: PathBuf,
        /// Cause.
        #[source]
        err: std::io::Error,
    },
    /// A hook leakhound did not write is in the way, and `force` was not given.
    #[error("{}: a {name} hook that leakhound did not write is already there; run it from yours, or use --force (it is kept as {name}.before-leakhound)", .path.display())]
    Foreign {
        /// The existing hook.
        path: PathBuf,
        /// The hook's name.
        name: &'static str,
    },
    /// The existing hook could not be renamed to `<hook>.before-leakhound`.
    #[error("{}: cannot move aside", .path.display())]
    MoveAside {
        /// The existing hook.
        path: PathBuf,
        /// Cause.
        #[source]
        err: std::io::Error,
    },
    /// The hook script could not be written.
    #[error("{}: cannot write", .path.display())]
    Write {
        /// The hook.
        path: PathBuf,
        /// Cause.
        #[source]
        err: std::io::Error,
    },
    /// The hook script was written but could not be made executable.
    #[error("{err}")]
    Permissions {
        /// The hook.
        path: PathBuf,
        /// Cause.
        err: std::io::Error,
    },
}

/// The hooks directory of the repository at `repo` (`core.hooksPath` when set, else
/// `<git dir>/hooks`), created if it does not exist yet.
pub fn dir(repo: &Path) -> Result<PathBuf, HookError> {
    let hooks = source::git::hooks_dir(repo)?;
    std::fs::create_dir_all(&hooks).map_err(|err| HookError::CreateDir {
        path: hooks.clone(),
        err,
    })?;
    Ok(hooks)
}

/// Writes `hook` into the hooks directory `hooks` (see [`dir`]) as an executable script that
/// runs `$LEAKHOUND`, else `exe`, else `leakhound` from the `PATH`. A hook leakhound wrote
/// earlier is replaced. Any other hook is an error unless `force` is set; then it is kept as
/// `<hook>.before-leakhound`. Returns the path of the hook written.
pub fn install(hooks: &Path, hook: Hook, force: bool, exe: &str) -> Result<PathBuf, HookError> {
    let name = hook.name();
    let path = hooks.join(name);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        if !existing.contains(HOOK_MARK) {
            if !force {
                return Err(HookError::Foreign { path, name });
            }
            std::fs::rename(&path, hooks.join(format!("{name}.before-leakhound"))).map_err(
                |err| HookError::MoveAside {
                    path: path.clone(),
                    err,
                },
            )?;
        }
    }
    let (what, args) = (hook.what(), hook.args());
    let script = format!(
        "#!/bin/sh\n{HOOK_MARK}: scans {what}. Remove this file to uninstall.\nLEAKHOUND=\"${{LEAKHOUND:-{exe}}}\"\ncommand -v \"$LEAKHOUND\" >/dev/null 2>&1 || LEAKHOUND=leakhound\nexec \"$LEAKHOUND\" {args}\n"
    );
    std::fs::write(&path, script).map_err(|err| HookError::Write {
        path: path.clone(),
        err,
    })?;
    make_executable(&path).map_err(|err| HookError::Permissions {
        path: path.clone(),
        err,
    })?;
    Ok(path)
}

#[cfg(unix)]
fn make_executable(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms)
}

#[cfg(not(unix))]
fn make_executable(_path: &Path) -> std::io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(p: &Path) -> String {
        std::fs::read_to_string(p).expect("hook readable")
    }

    #[test]
    fn writes_a_marked_script_that_runs_the_given_binary() {
        let tmp = tempfile::tempdir().expect("tmp");
        let path = install(tmp.path(), Hook::PrePush, false, "/opt/lh").expect("installs");
        assert_eq!(path, tmp.path().join("pre-push"));
        let script = read(&path);
        assert!(script.starts_with("#!/bin/sh\n# leakhound-hook v1: scans what is being pushed."));
        assert!(
            script.contains("LEAKHOUND=\"${LEAKHOUND:-/opt/lh}\""),
            "{script}"
        );
        assert!(
            script.ends_with("exec \"$LEAKHOUND\" git --pre-push\n"),
            "{script}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn replaces_its_own_hook_but_keeps_a_foreign_one_unless_forced() {
        let tmp = tempfile::tempdir().expect("tmp");
        let hooks = tmp.path();
        install(hooks, Hook::PreCommit, false, "a").expect("first install");
        install(hooks, Hook::PreCommit, false, "b").expect("own hook is replaced");
        assert!(read(&hooks.join("pre-commit")).contains(":-b}"));

        std::fs::write(hooks.join("pre-commit"), "#!/bin/sh\necho mine\n").expect("write");
        let e = install(hooks, Hook::PreCommit, false, "c").expect_err("foreign hook");
        assert!(
            matches!(
                e,
                HookError::Foreign {
                    name: "pre-commit",
                    ..
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("pre-commit.before-leakhound"), "{e}");
        assert_eq!(read(&hooks.join("pre-commit")), "#!/bin/sh\necho mine\n");

        install(hooks, Hook::PreCommit, true, "c").expect("forced");
        assert_eq!(
            read(&hooks.join("pre-commit.before-leakhound")),
            "#!/bin/sh\necho mine\n"
        );
        assert!(read(&hooks.join("pre-commit")).contains(HOOK_MARK));
    }

    #[test]
    fn dir_follows_core_hooks_path_and_creates_it() {
        let tmp = tempfile::tempdir().expect("tmp");
        let git = tmp.path().join(".git");
        for d in ["objects", "refs"] {
            std::fs::create_dir_all(git.join(d)).expect("mkdir");
        }
        std::fs::write(git.join("HEAD"), "ref: refs/heads/main\n").expect("HEAD");
        std::fs::write(git.join("config"), "[core]\n\tbare = false\n").expect("config");
        assert_eq!(dir(tmp.path()).expect("default"), git.join("hooks"));
        assert!(git.join("hooks").is_dir());

        std::fs::write(
            git.join("config"),
            "[core]\n\tbare = false\n\thooksPath = custom\n",
        )
        .expect("config");
        let custom = dir(tmp.path()).expect("hooksPath");
        assert!(custom.ends_with("custom") && custom.is_dir(), "{custom:?}");
    }

    #[test]
    fn dir_outside_a_repository_says_so() {
        let tmp = tempfile::tempdir().expect("tmp");
        let e = dir(tmp.path()).expect_err("not a repository");
        assert!(e.to_string().contains("not a git repository"), "{e}");
    }
}
