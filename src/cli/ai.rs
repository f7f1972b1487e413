//! `leakhound ai commits` and `leakhound ai agents`: what the AI signals tag, listed.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::Subcommand;

use leakhound::ai::exposure::Checkout;
use leakhound::ai::hook::{self, install, install::Agent};
use leakhound::config::{repo_top, Config, FileConfig};
use leakhound::detect::Detector;
use leakhound::report::escape;
use leakhound::rules::RuleSet;
use leakhound::scan::Redactor;
use leakhound::source::git::for_each_commit;
use leakhound::untrusted::Chooser;

use super::scanning::ListFormat;

#[derive(Debug, Subcommand)]
pub(super) enum AiCommand {
    /// List the commits that AI-authorship signals tag (one line each), with the evidence.
    Commits {
        /// The repository (work tree or bare).
        #[arg(default_value = ".")]
        repo: PathBuf,
        /// Only commits reachable from this ref (default: every ref).
        #[arg(long, value_name = "REF")]
        branch: Option<String>,
        /// Also list commits with only low-confidence signals (branch names), marked `low`.
        #[arg(long)]
        low: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Config file (for `[[ai.signal]]` additions).
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
    },
    /// Which AI agents work in a checkout (by their instruction files) and how each one
    /// excludes files.
    Agents {
        /// The checkout.
        #[arg(default_value = ".")]
        path: PathBuf,
    },
    /// Answer an AI agent's hook event (JSON on stdin) in that agent's protocol: deny reads,
    /// commands, prompts and writes that would expose a credential (docs/ai.md).
    Hook {
        /// The agent whose protocol the event uses.
        #[arg(value_enum)]
        agent: Agent,
        /// The event name, for agents whose payload does not carry it (Copilot).
        #[arg(long, value_name = "NAME")]
        event: Option<String>,
    },
    /// Add leakhound's hook to an agent's settings (other hooks are kept; running it again
    /// changes nothing), or take it out with --uninstall.
    InstallHook {
        /// The agent.
        #[arg(value_enum)]
        agent: Agent,
        /// Into the project's settings (the default).
        #[arg(long, conflicts_with = "user")]
        project: bool,
        /// Into the user's settings in the home directory.
        #[arg(long)]
        user: bool,
        /// Remove leakhound's hook instead.
        #[arg(long)]
        uninstall: bool,
        /// The project (for --project).
        #[arg(long, value_name = "DIR", default_value = ".")]
        path: PathBuf,
    },
    /// What an agent started here could reach: credentials in the environment, in the home
    /// directory's credential stores and in the project (ignored files included), most
    /// severe first, with what would stop an agent reading each. Never prints a value.
    Exposure {
        /// The project.
        #[arg(default_value = ".")]
        path: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ListFormat::Text)]
        format: ListFormat,
        /// Exit 1 when something at or above this severity is reachable (for CI images and
        /// dev containers).
        #[arg(long, value_name = "SEVERITY", value_parser = super::scanning::parse_severity)]
        fail_on: Option<leakhound::rules::Severity>,
        /// Leave the environment out.
        #[arg(long)]
        no_env: bool,
        /// Leave the home directory out.
        #[arg(long)]
        no_home: bool,
        /// Ask each credential's provider whether it is live and what it may do (settings:
        /// [verify] of --config). Off by default: nothing leaves the machine without it.
        #[arg(long)]
        verify: bool,
        /// The config whose [verify] section --verify uses.
        #[arg(long, value_name = "FILE", requires = "verify")]
        config: Option<PathBuf>,
    },
    /// Allow a file or a command for one agent session (the hook's deny message gives the
    /// exact command).
    Allow {
        /// The agent's session id.
        #[arg(long)]
        session: String,
        /// A file the agent may read in this session.
        #[arg(long, required_unless_present = "command")]
        path: Option<PathBuf>,
        /// A command line the agent may run in this session (exactly as sent).
        #[arg(long)]
        command: Option<String>,
    },
}

pub(super) fn exec(c: AiCommand) -> Result<u8> {
    match c {
        AiCommand::Commits {
            repo,
            branch,
            low,
            format,
            config,
        } => commits(&repo, branch.as_deref(), low, format, config.as_deref()),
        AiCommand::Agents { path } => agents(&path),
        AiCommand::Hook { agent, event } => hook(agent, event.as_deref()),
        AiCommand::InstallHook {
            agent,
            project: _,
            user,
            uninstall,
            path,
        } => install_hook(agent, user, uninstall, &path),
        AiCommand::Allow {
            session,
            path,
            command,
        } => allow(&session, path.as_deref(), command.as_deref()),
        AiCommand::Exposure {
            path,
            format,
            fail_on,
            no_env,
            no_home,
            verify,
            config,
        } => exposure(
            &path,
            format,
            fail_on,
            no_env,
            no_home,
            verify,
            config.as_deref(),
        ),
    }
}

/// Where session allowances live: `$LEAKHOUND_STATE_DIR`, else `$XDG_STATE_HOME/leakhound`,
/// else `~/.local/state/leakhound`; then `hook-sessions/`.
fn allows_dir() -> Option<PathBuf> {
    let base = std::env::var_os("LEAKHOUND_STATE_DIR")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("XDG_STATE_HOME").map(|d| PathBuf::from(d).join("leakhound")))
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state/leakhound"))
        })?;
    Some(base.join("hook-sessions"))
}

fn hook(agent: Agent, event: Option<&str>) -> Result<u8> {
    let mut input = Vec::new();
    let read = io::stdin()
        .lock()
        .take(hook::MAX_EVENT + 1)
        .read_to_end(&mut input);
    let answer = match read {
        Err(e) => hook::Answer::failed(&format!("stdin not read: {e}"), false, 2, 1),
        Ok(_) if input.len() as u64 > hook::MAX_EVENT => hook::Answer::failed(
            &format!("the event is larger than {} MiB", hook::MAX_EVENT >> 20),
            false,
            2,
            1,
        ),
        Ok(_) => hook::respond(
            agent,
            event,
            &input,
            // Leaked on purpose: the process ends with the answer, and freeing a thousand
            // rules' automata costs 3 ms of every tool call.
            &|root| hook::load(root, Some(agent.name())).map(|l| &*Box::leak(Box::new(l))),
            allows_dir().as_deref(),
        ),
    };
    io::stdout().write_all(answer.stdout.as_bytes())?;
    io::stdout().flush()?;
    if !answer.stderr.is_empty() {
        writeln!(io::stderr(), "{}", answer.stderr.trim_end())?;
    }
    Ok(answer.code)
}

fn install_hook(agent: Agent, user: bool, uninstall: bool, path: &Path) -> Result<u8> {
    let (base, exe) = if user {
        let home = std::env::var_os("HOME").context("HOME is not set")?;
        // The user's settings outlive any one checkout: name this binary by its path.
        let exe = std::env::current_exe()
            .ok()
            .and_then(|p| p.to_str().map(String::from))
            .unwrap_or_else(|| "leakhound".into());
        (PathBuf::from(home), exe)
    } else {
        let top = repo_top(path).unwrap_or_else(|| path.to_path_buf());
        (top, "leakhound".to_string())
    };
    let quoted = hook::shell_quote(&exe);
    let change =
        install::install(agent, &base, user, &quoted, uninstall).map_err(|e| anyhow::anyhow!(e))?;
    let mut err = io::stderr().lock();
    match change {
        install::Change::Written(p) => writeln!(
            err,
            "leakhound: {} {} hook in {}",
            if uninstall {
                "removed the"
            } else {
                "installed the"
            },
            agent.name(),
            p.display()
        )?,
        install::Change::Unchanged(p) => writeln!(
            err,
            "leakhound: {} already {} ({})",
            p.display(),
            if uninstall {
                "has no leakhound hook"
            } else {
                "has the leakhound hook"
            },
            agent.name()
        )?,
        install::Change::Removed(p) => writeln!(
            err,
            "leakhound: removed {} (it held only the leakhound hook)",
            p.display()
        )?,
    }
    Ok(0)
}

fn exposure(
    path: &Path,
    format: ListFormat,
    fail_on: Option<leakhound::rules::Severity>,
    no_env: bool,
    no_home: bool,
    verify: bool,
    config: Option<&Path>,
) -> Result<u8> {
    if !path.is_dir() {
        bail!("{}: not a directory", path.display());
    }
    let root = repo_top(path).unwrap_or_else(|| path.to_path_buf());
    let loaded = hook::load(&root, None).map_err(|e| anyhow::anyhow!(e))?;
    let env: Vec<(String, String)> = if no_env {
        Vec::new()
    } else {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    };
    let home = if no_home {
        None
    } else {
        leakhound::ai::reach::home_dir()
    };
    let mut verify_config = Config::default();
    if let Some(file) = config {
        FileConfig::load_as(file, leakhound::untrusted::Chooser::User)?
            .apply(&mut verify_config, &file.display().to_string())?;
    }
    let rules = loaded.detector.rules();
    let failure = std::cell::RefCell::new(None);
    let check = |found: &mut Vec<leakhound::finding::Finding>| {
        let args = super::scanning::VerifyArgs {
            verify,
            ..Default::default()
        };
        if let Err(e) = super::scanning::verify_findings(found, rules, &verify_config, &args) {
            *failure.borrow_mut() = Some(e);
        }
    };
    let audit = leakhound::ai::reach::audit(
        &root,
        home.as_deref(),
        env,
        &loaded.detector,
        &loaded.config,
        &check,
    );
    if let Some(e) = failure.into_inner() {
        return Err(e);
    }
    let mut out = io::BufWriter::new(io::stdout().lock());
    match format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &audit)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            writeln!(
                out,
                "What an agent started in {} could reach ({} credential{}):",
                escape(&audit.root),
                audit.items.len(),
                if audit.items.len() == 1 { "" } else { "s" }
            )?;
            for i in &audit.items {
                writeln!(
                    out,
                    "\n{:8} {:7} {}  {} [{}]",
                    i.severity.as_str(),
                    i.place.as_str(),
                    escape(&i.location),
                    escape(&i.what),
                    i.rule_id
                )?;
                writeln!(out, "         can: {}", escape(&i.blast_radius))?;
                if let Some(v) = &i.verification {
                    writeln!(
                        out,
                        "         verified ({}): {}{}{}: {}",
                        escape(&v.provider),
                        v.status.as_str(),
                        v.identity
                            .as_ref()
                            .map(|w| format!(" as {}", escape(w)))
                            .unwrap_or_default(),
                        if v.over_privileged {
                            ", OVER-PRIVILEGED"
                        } else {
                            ""
                        },
                        escape(&v.detail)
                    )?;
                }
                if !i.readable_by.is_empty() {
                    writeln!(
                        out,
                        "         read by the file tools of: {}",
                        i.readable_by.join(", ")
                    )?;
                }
                let stop = if i.stopped_by.is_empty() {
                    "nothing".to_string()
                } else {
                    i.stopped_by.join("; ")
                };
                writeln!(out, "         stopped by: {}", escape(&stop))?;
            }
            writeln!(out)?;
            for g in &audit.agents {
                let how = match (g.project, g.user) {
                    (false, false) => "no leakhound hook".to_string(),
                    (p, u) => format!(
                        "leakhound hook in {}",
                        [(p, "the project"), (u, "the user's settings")]
                            .iter()
                            .filter(|(on, _)| *on)
                            .map(|(_, w)| *w)
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                };
                writeln!(out, "{}: {how}", g.agent)?;
            }
        }
    }
    out.flush()?;
    for n in &audit.notes {
        writeln!(io::stderr(), "leakhound: {}", escape(n))?;
    }
    let failed = fail_on.is_some_and(|t| audit.items.iter().any(|i| i.severity >= t));
    Ok(u8::from(failed))
}

fn allow(session: &str, path: Option<&Path>, command: Option<&str>) -> Result<u8> {
    let dir = allows_dir().context("no state directory: set LEAKHOUND_STATE_DIR or HOME")?;
    let file =
        hook::SessionAllows::add(&dir, session, path, command).map_err(|e| anyhow::anyhow!(e))?;
    writeln!(
        io::stderr(),
        "leakhound: allowed for session {} (kept in {})",
        escape(session),
        file.display()
    )?;
    Ok(0)
}

fn commits(
    repo: &Path,
    branch: Option<&str>,
    low: bool,
    format: ListFormat,
    config_file: Option<&Path>,
) -> Result<u8> {
    let mut config = Config::default();
    let by = if config_file.is_some() {
        Chooser::User
    } else {
        Chooser::Repo
    };
    if let Some(path) = FileConfig::find(config_file, repo) {
        FileConfig::load_as(&path, by)?.apply(&mut config, &path.display().to_string())?;
    }
    let signals = Arc::clone(&config.signals);
    // Subjects and trailers are printed: a token pasted into a message is redacted there.
    let detector = Detector::new(RuleSet::builtin()?);
    let mut redactor = Redactor::new(&detector, config.thresholds.min_precision);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut tagged = 0usize;
    let mut failed: Option<io::Error> = None;
    let total = for_each_commit(repo, branch, &mut |c| {
        let tag = signals.classify(c.into()).or_else(|| {
            low.then(|| signals.all_matches(c.into()).into_iter().next())
                .flatten()
        });
        let Some(mut tag) = tag else { return };
        tagged += 1;
        let mut subject = c.subject.clone();
        redactor.redact_in_place(&mut subject);
        redactor.redact_in_place(&mut tag.evidence);
        if failed.is_some() {
            return;
        }
        let written = match format {
            ListFormat::Json => serde_json::to_writer(
                &mut out,
                &serde_json::json!({
                    "commit": c.id,
                    "author": format!("{} <{}>", c.author_name, c.author_email),
                    "subject": subject,
                    "tool": tag.tool,
                    "signal": tag.signal,
                    "confidence": tag.confidence,
                    "evidence": tag.evidence,
                }),
            )
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out)),
            ListFormat::Text => writeln!(
                out,
                "{}  {:<6}  {}  {}",
                escape(&c.id[..c.id.len().min(12)]),
                tag.confidence.as_str(),
                escape(&tag.tool),
                escape(&tag.evidence)
            ),
        };
        if let Err(e) = written {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    writeln!(
        io::stderr(),
        "leakhound: {tagged} of {total} commits tagged{}",
        if low {
            " (low-confidence signals included)"
        } else {
            ""
        }
    )?;
    Ok(0)
}

fn agents(path: &Path) -> Result<u8> {
    if !path.exists() {
        bail!("{}: no such file or directory", path.display());
    }
    let top = repo_top(path).unwrap_or_else(|| path.to_path_buf());
    let checkout = Checkout::open(&top);
    let mut out = io::BufWriter::new(io::stdout().lock());
    let agents = checkout.agents();
    if agents.is_empty() {
        writeln!(
            out,
            "no AI agent instruction or ignore files found in {}",
            top.display()
        )?;
    }
    for a in &agents {
        writeln!(out, "{}: {}", a.tool, escape(&a.evidence.join(", ")))?;
    }
    // Which agents' hooks run leakhound, in this checkout or for this user.
    let home = std::env::var_os("HOME").map(PathBuf::from);
    for agent in Agent::all() {
        let project = install::installed(agent, &top, false);
        let user = home
            .as_deref()
            .is_some_and(|h| install::installed(agent, h, true));
        let how = match (project, user) {
            (true, true) => "guarded by leakhound (project and user hooks)".to_string(),
            (true, false) => format!("guarded by leakhound ({})", agent.settings_file(false)),
            (false, true) => format!("guarded by leakhound (~/{})", agent.settings_file(true)),
            (false, false) => format!(
                "not guarded (`leakhound ai install-hook {}` adds the hook)",
                agent.name()
            ),
        };
        writeln!(out, "{}: {how}", agent.name())?;
    }
    for p in &checkout.problems {
        writeln!(io::stderr(), "leakhound: {}", escape(p))?;
    }
    out.flush()?;
    Ok(0)
}
