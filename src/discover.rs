//! Which settings apply to a scan, and how far each is trusted: the config file (given with
//! `--config`, or found in the scanned checkout), `.gitleaksignore`, and the baseline. What
//! the checkout chose is read without following links, may not point outside it, and is
//! announced when it makes the scan report less.

use std::path::{Component, Path, PathBuf};

use crate::baseline::{Baseline, BaselineError};
use crate::config::{repo_top, ConfigError, FileConfig, CONFIG_NAMES};
use crate::untrusted::{self, Chooser, UntrustedFileError};

/// The settings for one scan.
#[derive(Debug, Default)]
pub struct Settings {
    /// The config file in effect (defaults when none).
    pub file: FileConfig,
    /// Where it came from (`defaults` when nowhere).
    pub origin: String,
    /// The accepted findings, when a baseline applies.
    pub baseline: Option<Baseline>,
    /// Things the user must see on stderr: translated gitleaks configs, files not read, and
    /// everything a repository config does to report less.
    pub notices: Vec<String>,
}

/// What stops a scan before it starts.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The config file is wrong or unreadable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The baseline is wrong or unreadable.
    #[error(transparent)]
    Baseline(#[from] BaselineError),
    /// A repository config points its baseline outside the repository.
    #[error("{origin}: baseline = {path:?}: a repository's config may only name a baseline inside the repository (a relative path without `..`); give others with --baseline")]
    BaselineOutside {
        /// The config file.
        origin: String,
        /// The path it gave.
        path: String,
    },
}

/// How to look for settings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lookup<'a> {
    /// `--config`: the user's own file (a symlink is followed).
    pub config: Option<&'a Path>,
    /// `--baseline`: the user's own file.
    pub baseline: Option<&'a Path>,
    /// Read `leakhound.toml`, `.gitleaks.toml` and `.gitleaksignore` from the checkout
    /// (false with `--no-repo-config`).
    pub repo_config: bool,
}

/// The repository top holding `root`; outside a repository, `root` (or its folder).
pub fn checkout_top(root: &Path) -> PathBuf {
    repo_top(root).unwrap_or_else(|| {
        if root.is_dir() {
            root.to_path_buf()
        } else {
            root.parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
        }
    })
}

/// The settings for a scan rooted at `root`: `--config`, else (unless `repo_config` is off)
/// `leakhound.toml` / `.leakhound.toml` at the checkout's top, else a `.gitleaks.toml` /
/// `.betterleaks.toml` there (translated), else defaults; then `.gitleaksignore` and the
/// baseline.
pub fn settings(root: &Path, look: Lookup<'_>) -> Result<Settings, SettingsError> {
    let top = checkout_top(root);
    let mut out = Settings {
        origin: "defaults".into(),
        ..Settings::default()
    };
    if let Some(path) = look.config {
        (out.file, out.origin) = load(path, Chooser::User, &mut out.notices)?;
    } else if look.repo_config {
        let names = CONFIG_NAMES
            .iter()
            .chain([".gitleaks.toml", ".betterleaks.toml"].iter());
        if let Some(path) = names.map(|n| top.join(n)).find(|p| exists(p)) {
            (out.file, out.origin) = load(&path, Chooser::Repo, &mut out.notices)?;
        }
    }
    if look.repo_config {
        read_gitleaksignore(&top, &mut out)?;
    }
    let baseline = match (look.baseline, &out.file.baseline) {
        (Some(p), _) => Some(Baseline::load_as(p, Chooser::User)?),
        (None, Some(b)) => {
            let dir = Path::new(&out.origin)
                .parent()
                .map_or_else(PathBuf::new, Path::to_path_buf);
            let by = if out.file.trusted {
                Chooser::User
            } else {
                if !inside(b) {
                    return Err(SettingsError::BaselineOutside {
                        origin: out.origin.clone(),
                        path: b.display().to_string(),
                    });
                }
                Chooser::Repo
            };
            Some(Baseline::load_as(&dir.join(b), by)?)
        }
        (None, None) => None,
    };
    out.baseline = baseline;
    let repo_part = if out.file.trusted {
        let n = out.file.ignored_locations.len();
        (n > 0)
            .then(|| format!("allowlists {n} location(s) through .gitleaksignore"))
            .into_iter()
            .collect()
    } else {
        out.file.weakenings()
    };
    if !repo_part.is_empty() {
        out.notices.push(format!(
            "NOTICE: the repository's own settings {}. A pull request can change these: scan with --no-repo-config (and --config FILE for trusted settings) where the repository is not trusted",
            repo_part.join("; ")
        ));
    }
    Ok(out)
}

/// True when something is at `path` (a symlink counts: it is refused when read).
fn exists(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// A relative path that stays below its folder.
fn inside(p: &Path) -> bool {
    p.components()
        .all(|c| matches!(c, Component::Normal(_) | Component::CurDir))
}

fn load(
    path: &Path,
    by: Chooser,
    notices: &mut Vec<String>,
) -> Result<(FileConfig, String), SettingsError> {
    let origin = path.display().to_string();
    if !is_gitleaks_config(path) {
        return Ok((FileConfig::load_as(path, by)?, origin));
    }
    let text = crate::config::read_config_text(path, by)?;
    let imp = crate::import::gitleaks(&text, &origin)?;
    notices.push(format!(
        "reading {origin} as a gitleaks config: {} rules translated, {} not (`leakhound config import {origin}` lists them)",
        imp.rules_translated,
        imp.rules_skipped.len()
    ));
    let mut file = imp.config;
    file.trusted = by == Chooser::User;
    Ok((file, origin))
}

fn is_gitleaks_config(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("gitleaks") || n.contains("betterleaks"))
}

fn read_gitleaksignore(top: &Path, out: &mut Settings) -> Result<(), SettingsError> {
    let path = top.join(".gitleaksignore");
    match untrusted::read_text(&path, untrusted::cap::BASELINE, Chooser::Repo) {
        Ok(None) => Ok(()),
        Ok(Some(text)) => {
            out.file
                .ignored_locations
                .extend(crate::import::gitleaksignore(
                    &text,
                    &path.display().to_string(),
                )?);
            Ok(())
        }
        Err(UntrustedFileError { path, reason }) => {
            // Not reading it reports more, never less: say so and go on.
            out.notices
                .push(format!("{path}: {reason}; its entries were not applied"));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_baselines_stay_inside() {
        assert!(inside(Path::new("leakhound.baseline")));
        assert!(inside(Path::new("./ci/accepted.txt")));
        assert!(!inside(Path::new("/proc/self/environ")));
        assert!(!inside(Path::new("../../home/me/.aws/credentials")));
    }

    #[test]
    fn weakening_repo_configs_are_announced_and_can_be_skipped() {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(
            dir.path().join("leakhound.toml"),
            "[rules]\ndisable = [\"*\"]\n",
        )
        .expect("write");
        let s = settings(
            dir.path(),
            Lookup {
                repo_config: true,
                ..Lookup::default()
            },
        )
        .expect("settings");
        assert!(
            s.notices.iter().any(|n| n.contains("disables")),
            "{:?}",
            s.notices
        );
        let s = settings(dir.path(), Lookup::default()).expect("settings");
        assert_eq!(s.origin, "defaults");
        assert!(s.notices.is_empty());
    }
}
