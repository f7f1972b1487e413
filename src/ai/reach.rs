//! `leakhound ai exposure`: what an agent started in a directory could reach. Credentials in
//! the environment it inherits, in the credential stores of the home directory, and in the
//! project (ignored files included: agents read `.env` too), each with its rule, severity and
//! blast radius (never its value), and what, if anything, would stop the agent reading it.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::exposure::Checkout;
use super::hook::blocks_by_default;
use super::hook::install::{self, Agent};
use crate::config::Config;
use crate::detect::Detector;
use crate::finding::Finding;
use crate::rules::Severity;
use crate::scan::{scan_bytes, scan_paths};

/// Where a credential sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Place {
    /// An environment variable the agent inherits.
    Environment,
    /// A file in the home directory (a CLI's credential store, an SSH key).
    Home,
    /// A file in the project.
    Project,
}

impl Place {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Place::Environment => "env",
            Place::Home => "home",
            Place::Project => "project",
        }
    }
}

/// One credential an agent could reach.
#[derive(Debug, Clone, Serialize)]
pub struct Reachable {
    /// Where.
    pub place: Place,
    /// `$NAME`, `~/.aws/credentials:3` or `config/.env:1`.
    pub location: String,
    /// The rule that found it.
    pub rule_id: String,
    /// What it is.
    pub what: String,
    /// Severity.
    pub severity: Severity,
    /// What an attacker, or an agent, can do with it.
    pub blast_radius: String,
    /// What would stop an agent reading it (empty: nothing).
    pub stopped_by: Vec<String>,
    /// Agents whose own file tools would read it (project files, when agents work here).
    pub readable_by: Vec<String>,
    /// What the value says about itself (a checksum, an expiry), no network.
    #[serde(skip_serializing_if = "crate::finding::Checks::is_empty")]
    pub checks: crate::finding::Checks,
    /// What its provider said (`--verify` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::finding::Verification>,
}

impl Reachable {
    /// A finding at `location` (its value is not kept).
    fn found(place: Place, location: String, f: Finding, stopped_by: Vec<String>) -> Reachable {
        Reachable {
            place,
            location,
            rule_id: f.rule_id,
            what: f.rule_name,
            severity: f.severity,
            blast_radius: f.blast_radius,
            stopped_by,
            readable_by: Vec::new(),
            checks: f.checks,
            verification: f.verification,
        }
    }
}

/// Whether each agent has leakhound's hook, in this project or for this user.
#[derive(Debug, Clone, Serialize)]
pub struct Guard {
    /// The agent.
    pub agent: &'static str,
    /// The hook is in the project's settings.
    pub project: bool,
    /// The hook is in the user's settings.
    pub user: bool,
}

/// The audit.
#[derive(Debug, Clone, Serialize)]
pub struct Audit {
    /// The project.
    pub root: String,
    /// What an agent could reach, most severe first.
    pub items: Vec<Reachable>,
    /// Which agents are guarded by leakhound's hook.
    pub agents: Vec<Guard>,
    /// Files that could not be checked, and why.
    pub notes: Vec<String>,
}

/// Credential stores in the home directory: the path relative to it, what it holds, and
/// whether it is opaque (a token cache no rule reads: reported whenever it exists; the others
/// only when a rule finds a credential inside, since many hold settings alone).
pub const HOME_STORES: &[(&str, &str, bool)] = &[
    (".aws/credentials", "AWS CLI access keys", false),
    (".aws/config", "AWS CLI profiles", false),
    (
        ".config/gcloud/application_default_credentials.json",
        "Google Cloud application-default credentials (a refresh token for the user's account)",
        true,
    ),
    (
        ".config/gcloud/credentials.db",
        "gcloud stored credentials",
        true,
    ),
    (
        ".config/gcloud/access_tokens.db",
        "gcloud access tokens",
        true,
    ),
    (".azure/msal_token_cache.json", "Azure CLI tokens", true),
    (
        ".azure/accessTokens.json",
        "Azure CLI tokens (older versions)",
        true,
    ),
    (".config/gh/hosts.yml", "GitHub CLI token", false),
    (".docker/config.json", "Docker registry logins", false),
    (".kube/config", "Kubernetes cluster credentials", false),
    (".npmrc", "npm registry token", false),
    (".pypirc", "PyPI upload credentials", false),
    (".netrc", "logins for hosts (git, curl, Heroku)", false),
    (".git-credentials", "git HTTPS credentials", false),
    (".pgpass", "PostgreSQL passwords", false),
    (".my.cnf", "MySQL client password", false),
    (".s3cfg", "s3cmd access keys", false),
    (".cargo/credentials.toml", "crates.io publish token", false),
    (".cargo/credentials", "crates.io publish token", false),
    (".gem/credentials", "RubyGems API key", false),
    (".config/hub", "hub GitHub token", false),
    (".vault-token", "HashiCorp Vault token", true),
    (
        ".terraform.d/credentials.tfrc.json",
        "Terraform Cloud token",
        true,
    ),
    (".config/railway/config.json", "Railway CLI token", true),
    (".railway/config.json", "Railway CLI token", true),
    (
        ".local/share/com.vercel.cli/auth.json",
        "Vercel CLI token",
        true,
    ),
    (
        "Library/Application Support/com.vercel.cli/auth.json",
        "Vercel CLI token",
        true,
    ),
    (".fly/config.yml", "Fly.io access token", true),
    (".config/netlify/config.json", "Netlify CLI token", true),
    (".supabase/access-token", "Supabase access token", true),
    (".config/doctl/config.yaml", "DigitalOcean token", true),
    (".ssh/id_rsa", "SSH private key", false),
    (".ssh/id_ecdsa", "SSH private key", false),
    (".ssh/id_ed25519", "SSH private key", false),
    (".ssh/id_dsa", "SSH private key", false),
];

/// Files over this size in the home directory are not read.
const MAX_HOME_FILE: u64 = 8 << 20;

/// A finding waiting for the verify stage: where, what, what stops it, who reads it.
type Pending = (Place, String, Finding, Vec<String>, Vec<String>);

/// Runs the audit for a project at `root`, a home directory and an environment; `check` is
/// the verify stage, run once over everything found (offline checks, `--verify`).
pub fn audit(
    root: &Path,
    home: Option<&Path>,
    env: impl IntoIterator<Item = (String, String)>,
    detector: &Detector,
    config: &Config,
    check: &dyn Fn(&mut Vec<Finding>),
) -> Audit {
    let agents: Vec<Guard> = Agent::all()
        .into_iter()
        .map(|a| Guard {
            agent: a.name(),
            project: install::installed(a, root, false),
            user: home.is_some_and(|h| install::installed(a, h, true)),
        })
        .collect();
    let hooked: Vec<&str> = agents
        .iter()
        .filter(|g| g.project || g.user)
        .map(|g| g.agent)
        .collect();
    // A file read the hook would deny (see `hook::blocks_by_default`).
    let hook_stops = |f: &Finding| -> Vec<String> {
        if blocks_by_default(detector, f) {
            hooked
                .iter()
                .map(|a| format!("leakhound hook ({a})"))
                .collect()
        } else {
            Vec::new()
        }
    };
    let mut items = Vec::new();
    let mut notes = Vec::new();
    let mut pending: Vec<Pending> = Vec::new();

    // The environment: inherited by every command the agent runs; a hook can only stop it
    // being printed.
    let mut env: Vec<(String, String)> = env.into_iter().collect();
    env.sort();
    for (name, value) in env {
        if value.is_empty() || value.len() > 64 << 10 {
            continue;
        }
        let line = format!("{name}={value}\n");
        let out = scan_bytes(line.as_bytes(), ".env", detector, config);
        for f in out.findings {
            let mut stopped = Vec::new();
            if !hooked.is_empty() {
                stopped.push(format!(
                    "leakhound hook ({}) stops commands that print it, not its use",
                    hooked.join(", ")
                ));
            }
            let location = format!("${}", crate::report::escape(&name));
            pending.push((Place::Environment, location, f, stopped, Vec::new()));
        }
    }

    // Credential stores in the home directory.
    if let Some(home) = home {
        for &(rel, what, opaque) in HOME_STORES {
            let path = home.join(rel);
            let Ok(meta) = std::fs::metadata(&path) else {
                continue;
            };
            if !meta.is_file() || meta.len() == 0 {
                continue;
            }
            if meta.len() > MAX_HOME_FILE {
                notes.push(format!("~/{rel} is larger than 8 MiB and was not read"));
                continue;
            }
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    notes.push(format!("~/{rel} could not be read: {}", e.kind()));
                    continue;
                }
            };
            let label = format!("~/{rel}");
            let out = scan_bytes(&bytes, &label, detector, config);
            if out.findings.is_empty() {
                // A token cache no rule reads: still something the agent can hand to the CLI
                // that owns it.
                if !opaque {
                    continue;
                }
                items.push(Reachable {
                    place: Place::Home,
                    location: label,
                    rule_id: "store".into(),
                    what: what.to_string(),
                    severity: Severity::Medium,
                    blast_radius: format!(
                        "{what}: any command the agent runs can use it through the CLI that owns it"
                    ),
                    stopped_by: Vec::new(),
                    readable_by: Vec::new(),
                    checks: Default::default(),
                    verification: None,
                });
                continue;
            }
            for f in out.findings {
                let location = format!("{label}:{}", f.location.line);
                let stopped = hook_stops(&f);
                pending.push((Place::Home, location, f, stopped, Vec::new()));
            }
        }
    }

    // The project, ignored files included, with which agents' file tools would read each.
    let mut project = config.clone();
    project.no_ignore = true;
    let checkout = Checkout::open(root);
    let worked = !checkout.agents().is_empty();
    if worked {
        project.exposure = Some(std::sync::Arc::new(checkout));
    }
    match scan_paths(&[root.to_path_buf()], detector, &project) {
        Ok(out) => {
            for f in out.findings {
                let mut stopped = hook_stops(&f);
                let mut readable = Vec::new();
                if let Some(x) = &f.exposure {
                    stopped.extend(
                        x.excluded_for
                            .iter()
                            .map(|a| format!("{a}'s exclusions (its file tools only)")),
                    );
                    readable = x.readable_by.clone();
                }
                let shown = Path::new(&f.path)
                    .strip_prefix(root)
                    .map_or_else(|_| f.path.clone(), |p| p.display().to_string());
                let location = format!("{shown}:{}", f.location.line);
                pending.push((Place::Project, location, f, stopped, readable));
            }
        }
        Err(e) => notes.push(format!("the project was not scanned: {e}")),
    }
    // The offline checks and, with `--verify`, the providers: once over everything found.
    let mut found: Vec<Finding> = pending.iter().map(|p| p.2.clone()).collect();
    check(&mut found);
    for ((place, location, _, stopped, readable), f) in pending.into_iter().zip(found) {
        let mut item = Reachable::found(place, location, f, stopped);
        item.readable_by = readable;
        items.push(item);
    }
    items.sort_by(|a, b| {
        (b.severity.cmp(&a.severity))
            .then(a.place.cmp(&b.place))
            .then_with(|| a.location.cmp(&b.location))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    Audit {
        root: root.display().to_string(),
        items,
        agents,
        notes,
    }
}

/// The home directory from `HOME` (or `USERPROFILE`).
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .or_else(|| std::env::var_os("USERPROFILE"))
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}
