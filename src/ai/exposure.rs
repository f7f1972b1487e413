//! Agent exposure: for a file in a checkout, which AI agents' own file tools would read it.
//! The repository is "agent-worked" when it holds agent instruction files (`AGENTS.md`,
//! `CLAUDE.md`, `.cursor/rules`, ...). Each agent's exclusion file is evaluated with its real
//! syntax (gitignore for all of them; `Read(...)` rules for Claude Code). None of these is a
//! security boundary: shell tools still read the file. The real fix is rotate-and-remove.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

use crate::untrusted::{self, Chooser};
use serde::Serialize;

/// What the output says about one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct FileExposure {
    /// Agents whose file tools would read the file.
    pub readable_by: Vec<String>,
    /// Agents whose exclusion rules cover it (their shell tools still read it).
    pub excluded_for: Vec<String>,
    /// Entries that would exclude it, per file, e.g. `.cursorignore: /config/.env`.
    pub suggestions: Vec<String>,
}

/// An agent, the file(s) that show it works here, and how it excludes files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentPresence {
    /// The agent.
    pub tool: String,
    /// Instruction or config files that show it, relative to the root.
    pub evidence: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exclusion {
    /// A gitignore-syntax file at the root that blocks the agent's file tools.
    RootFile(&'static str),
    /// A gitignore-syntax file valid at and below the directory that holds it.
    AnyDirFile(&'static str),
    /// Claude Code `permissions.deny` `Read(...)` rules in `.claude/settings*.json`.
    ClaudeDeny,
    /// No exclusion mechanism reaches the agent's file tools.
    None,
}

struct Agent {
    tool: &'static str,
    /// Paths (files or directories) relative to the root that show the agent works here.
    markers: &'static [&'static str],
    exclusion: Exclusion,
    /// Files the agent excludes by default (gitignore patterns), e.g. Cursor and `.env`.
    default_excluded: &'static [&'static str],
}

/// The agents we know, their markers and exclusion mechanisms (sources: docs/ai.md).
const AGENTS: &[Agent] = &[
    Agent {
        tool: "Claude Code",
        markers: &["CLAUDE.md", "CLAUDE.local.md", ".claude"],
        exclusion: Exclusion::ClaudeDeny,
        default_excluded: &[],
    },
    Agent {
        tool: "Cursor",
        markers: &[
            ".cursor",
            ".cursorrules",
            ".cursorignore",
            ".cursorindexingignore",
        ],
        exclusion: Exclusion::RootFile(".cursorignore"),
        // Cursor's documented defaults: .env files are never given to the model.
        default_excluded: &[".env", ".env.*"],
    },
    Agent {
        tool: "GitHub Copilot",
        markers: &[
            ".github/copilot-instructions.md",
            ".github/instructions",
            ".github/agents",
        ],
        // Content exclusion is a repository setting, and it does not apply to the coding
        // agent, Copilot CLI or agent mode.
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Gemini CLI",
        markers: &["GEMINI.md", ".gemini", ".geminiignore"],
        exclusion: Exclusion::RootFile(".geminiignore"),
        default_excluded: &[],
    },
    Agent {
        tool: "Gemini Code Assist",
        markers: &[".aiexclude"],
        exclusion: Exclusion::AnyDirFile(".aiexclude"),
        default_excluded: &[],
    },
    Agent {
        tool: "aider",
        markers: &[
            ".aider.conf.yml",
            ".aider.chat.history.md",
            ".aider.input.history",
            ".aiderignore",
        ],
        exclusion: Exclusion::RootFile(".aiderignore"),
        default_excluded: &[],
    },
    Agent {
        tool: "OpenAI Codex",
        markers: &["AGENTS.md", ".codex"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Google Jules",
        markers: &["AGENTS.md"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Windsurf",
        markers: &[".windsurfrules", ".windsurf", ".codeiumignore"],
        // .codeiumignore stops indexing only; reading is not documented as blocked.
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Cline",
        markers: &[".clinerules", ".clineignore"],
        exclusion: Exclusion::RootFile(".clineignore"),
        default_excluded: &[],
    },
    Agent {
        tool: "Roo Code",
        markers: &[".roo", ".roomodes", ".rooignore"],
        exclusion: Exclusion::RootFile(".rooignore"),
        default_excluded: &[],
    },
    Agent {
        tool: "OpenHands",
        markers: &[".openhands"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Devin",
        markers: &[".github/PULL_REQUEST_TEMPLATE/DEVIN_PR_TEMPLATE.md"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Continue",
        markers: &[".continue", ".continueignore"],
        // .continueignore stops indexing only.
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Amazon Q Developer",
        markers: &[".amazonq"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "JetBrains Junie",
        markers: &[".junie"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
    Agent {
        tool: "Kiro",
        markers: &[".kiro"],
        exclusion: Exclusion::None,
        default_excluded: &[],
    },
];

/// Exposure facts of one checkout, computed once and asked per file.
pub struct Checkout {
    root: PathBuf,
    present: Vec<(usize, Vec<String>)>,
    root_files: BTreeMap<&'static str, Gitignore>,
    defaults: BTreeMap<&'static str, Gitignore>,
    claude: Option<Gitignore>,
    any_dir: std::sync::Mutex<BTreeMap<PathBuf, Option<Gitignore>>>,
    /// Problems reading exclusion files (bad JSON, bad patterns), for diagnostics.
    pub problems: Vec<String>,
}

impl std::fmt::Debug for Checkout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checkout")
            .field("root", &self.root)
            .field("agents", &self.agents())
            .finish_non_exhaustive()
    }
}

impl Checkout {
    /// Reads the markers and exclusion files under `root` (the repository's top level).
    pub fn open(root: &Path) -> Checkout {
        let root = &std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        let mut c = Checkout {
            root: root.to_path_buf(),
            present: Vec::new(),
            root_files: BTreeMap::new(),
            defaults: BTreeMap::new(),
            claude: None,
            any_dir: std::sync::Mutex::new(BTreeMap::new()),
            problems: Vec::new(),
        };
        for (i, agent) in AGENTS.iter().enumerate() {
            let found: Vec<String> = agent
                .markers
                .iter()
                .filter(|m| root.join(m).exists())
                .map(|m| m.to_string())
                .collect();
            if !found.is_empty() {
                c.present.push((i, found));
            }
            if let Exclusion::RootFile(name) = agent.exclusion {
                let mut problem = None;
                if let Some(g) = ignore_file(root, &root.join(name), &mut problem) {
                    c.root_files.insert(name, g);
                }
                c.problems.extend(problem);
            }
            if !agent.default_excluded.is_empty() {
                let mut b = GitignoreBuilder::new(root);
                for p in agent.default_excluded {
                    let _ = b.add_line(None, p);
                }
                if let Ok(g) = b.build() {
                    c.defaults.insert(agent.tool, g);
                }
            }
        }
        c.claude = claude_deny(root, &mut c.problems);
        c
    }

    /// The agents that work in this checkout, with their evidence.
    pub fn agents(&self) -> Vec<AgentPresence> {
        self.present
            .iter()
            .map(|(i, ev)| AgentPresence {
                tool: AGENTS[*i].tool.to_string(),
                evidence: ev.clone(),
            })
            .collect()
    }

    /// The exposure of the file at `path` (absolute, or relative to the working directory);
    /// `None` when no agent works here or the file is outside the checkout.
    pub fn of(&self, path: &Path) -> Option<FileExposure> {
        if self.present.is_empty() {
            return None;
        }
        let abs = std::path::absolute(path).ok()?;
        let rel = abs.strip_prefix(&self.root).ok()?.to_path_buf();
        let shown = rel.to_string_lossy().replace('\\', "/");
        let mut readable = BTreeSet::new();
        let mut excluded = BTreeSet::new();
        let mut suggestions = BTreeSet::new();
        for (i, _) in &self.present {
            let agent = &AGENTS[*i];
            let by_default = self
                .defaults
                .get(agent.tool)
                .is_some_and(|g| g.matched_path_or_any_parents(&rel, false).is_ignore());
            let covered =
                by_default
                    || match agent.exclusion {
                        Exclusion::RootFile(name) => self.root_files.get(name).is_some_and(|g| {
                            g.matched_path_or_any_parents(&rel, false).is_ignore()
                        }),
                        Exclusion::AnyDirFile(name) => self.any_dir_covers(name, &rel),
                        Exclusion::ClaudeDeny => self.claude.as_ref().is_some_and(|g| {
                            g.matched_path_or_any_parents(&rel, false).is_ignore()
                        }),
                        Exclusion::None => false,
                    };
            if covered {
                excluded.insert(agent.tool.to_string());
                continue;
            }
            readable.insert(agent.tool.to_string());
            match agent.exclusion {
                Exclusion::RootFile(name) | Exclusion::AnyDirFile(name) => {
                    suggestions.insert(format!("{name}: /{shown}"));
                }
                Exclusion::ClaudeDeny => {
                    suggestions.insert(format!(
                        ".claude/settings.json: \"permissions\": {{\"deny\": [\"Read(./{shown})\"]}}"
                    ));
                }
                Exclusion::None => {}
            }
        }
        Some(FileExposure {
            readable_by: readable.into_iter().collect(),
            excluded_for: excluded.into_iter().collect(),
            suggestions: suggestions.into_iter().collect(),
        })
    }

    fn any_dir_covers(&self, name: &str, rel: &Path) -> bool {
        let mut cache = self.any_dir.lock().unwrap_or_else(|e| e.into_inner());
        let mut dir = Some(rel.parent().unwrap_or(Path::new("")));
        while let Some(d) = dir {
            let full = self.root.join(d);
            let g = cache
                .entry(full.clone())
                .or_insert_with(|| ignore_file(&full, &full.join(name), &mut None))
                .clone();
            if let Some(g) = g {
                let under = rel.strip_prefix(d).unwrap_or(rel);
                if g.matched_path_or_any_parents(under, false).is_ignore() {
                    return true;
                }
            }
            dir = d.parent();
        }
        false
    }
}

/// An agent's gitignore-syntax exclusion file at `file`, rooted at `dir`, read without
/// following a symlink and with a size cap; `None` when absent or unreadable (the reason in
/// `problem`, without the file's content).
fn ignore_file(dir: &Path, file: &Path, problem: &mut Option<String>) -> Option<Gitignore> {
    let text = match untrusted::read_text(file, untrusted::cap::SMALL, Chooser::Repo) {
        Ok(t) => t?,
        Err(e) => {
            *problem = Some(format!("{e}; its exclusions were not read"));
            return None;
        }
    };
    let mut b = GitignoreBuilder::new(dir);
    for line in text.lines() {
        let _ = b.add_line(Some(file.to_path_buf()), line);
    }
    b.build().ok()
}

/// Claude Code's `permissions.deny` `Read(...)` rules from the project's settings files, as
/// one gitignore matcher rooted at the project. `./p` and `p` are project-relative, `/p`
/// is relative to the project too (the settings file's project); `//p` (absolute) and `~/p`
/// (home) point outside the checkout and are ignored here. A bare `Read` denies every read.
fn claude_deny(root: &Path, problems: &mut Vec<String>) -> Option<Gitignore> {
    let mut b = GitignoreBuilder::new(root);
    let mut any = false;
    for file in [".claude/settings.json", ".claude/settings.local.json"] {
        let path = root.join(file);
        let text = match untrusted::read_text(&path, untrusted::cap::SMALL, Chooser::Repo) {
            Ok(Some(t)) => t,
            Ok(None) => continue,
            Err(e) => {
                problems.push(format!("{e}; its deny rules were not read"));
                continue;
            }
        };
        let json: serde_json::Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!(
                    "{file}: not valid JSON (line {}, column {}: {:?}); its deny rules were not read",
                    e.line(),
                    e.column(),
                    e.classify()
                ));
                continue;
            }
        };
        let Some(deny) = json.pointer("/permissions/deny").and_then(|d| d.as_array()) else {
            continue;
        };
        for rule in deny.iter().filter_map(|r| r.as_str()) {
            let rule = rule.trim();
            let pattern = if rule == "Read" || rule == "Read(*)" || rule == "Read(**)" {
                "**".to_string()
            } else if let Some(p) = rule.strip_prefix("Read(").and_then(|r| r.strip_suffix(')')) {
                if p.starts_with("//") || p.starts_with('~') {
                    continue;
                }
                let p = p.strip_prefix("./").unwrap_or(p);
                let p = p.strip_prefix('/').unwrap_or(p);
                format!("/{p}")
            } else {
                continue;
            };
            if b.add_line(None, &pattern).is_ok() {
                any = true;
            } else {
                problems.push(format!(
                    "{file}: deny rule {rule:?} is not a valid path pattern"
                ));
            }
        }
    }
    if any {
        b.build().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    #[test]
    fn no_agents_no_exposure() {
        let dir = tempfile::tempdir().expect("tmp");
        write(dir.path(), "app/.env", "X=1");
        let c = Checkout::open(dir.path());
        assert!(c.agents().is_empty());
        assert!(c.of(&dir.path().join("app/.env")).is_none());
    }

    #[test]
    fn exclusion_files_with_their_syntax() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        write(root, "CLAUDE.md", "# notes");
        write(root, "AGENTS.md", "# notes");
        write(root, ".cursor/rules/x.mdc", "rule");
        write(root, ".cursorignore", "secrets/\n!secrets/public.txt\n");
        write(root, ".aiderignore", "*.pem\n");
        write(
            root,
            ".claude/settings.json",
            r#"{"permissions": {"deny": ["Read(./config/**)", "Edit(./x)", "Read(~/.ssh/**)"]}}"#,
        );
        write(root, "sub/.aiexclude", "keys.txt\n");
        let c = Checkout::open(root);
        let tools: Vec<String> = c.agents().into_iter().map(|a| a.tool).collect();
        assert!(tools.contains(&"Claude Code".to_string()), "{tools:?}");
        assert!(tools.contains(&"Cursor".to_string()));
        assert!(tools.contains(&"OpenAI Codex".to_string()));

        let e = c.of(&root.join("secrets/db.txt")).expect("exposure");
        assert!(e.excluded_for.contains(&"Cursor".to_string()), "{e:?}");
        assert!(e.readable_by.contains(&"Claude Code".to_string()));
        assert!(e.readable_by.contains(&"OpenAI Codex".to_string()));
        assert!(e
            .suggestions
            .iter()
            .any(|s| s.contains("Read(./secrets/db.txt)")));

        let e = c.of(&root.join("secrets/public.txt")).expect("exposure");
        assert!(
            e.readable_by.contains(&"Cursor".to_string()),
            "negation: {e:?}"
        );

        let e = c.of(&root.join("config/prod/app.yml")).expect("exposure");
        assert!(e.excluded_for.contains(&"Claude Code".to_string()), "{e:?}");

        let e = c.of(&root.join(".env")).expect("exposure");
        assert!(
            e.excluded_for.contains(&"Cursor".to_string()),
            "cursor default: {e:?}"
        );

        let e = c.of(&root.join("deploy/key.pem")).expect("exposure");
        assert!(e.excluded_for.contains(&"aider".to_string()), "{e:?}");
    }

    #[test]
    fn aiexclude_applies_below_its_directory_and_bad_json_is_reported() {
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        write(root, ".aiexclude", "build/\n");
        write(root, "sub/.aiexclude", "keys.txt\n");
        write(root, ".claude/settings.json", "{not json");
        let c = Checkout::open(root);
        assert!(
            c.problems.iter().any(|p| p.contains("not valid JSON")),
            "{:?}",
            c.problems
        );
        let e = c.of(&root.join("sub/deeper/keys.txt")).expect("exposure");
        assert!(
            e.excluded_for.contains(&"Gemini Code Assist".to_string()),
            "{e:?}"
        );
        let e = c.of(&root.join("keys.txt")).expect("exposure");
        assert!(
            e.readable_by.contains(&"Gemini Code Assist".to_string()),
            "{e:?}"
        );
    }
}
