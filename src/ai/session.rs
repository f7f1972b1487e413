//! At commit time the commit does not exist yet. Two things are known: the environment the
//! hook runs in (agents set variables in the commands they spawn, and git hooks inherit
//! them), and, in the `commit-msg` hook, the message about to be committed.

use std::path::Path;

use regex::Regex;

use super::signals::{message_trailers, AiTag, Facts, Signals};

/// The first `[[session]]` entry of the table whose variable is set (and matches), as a tag.
pub fn from_env(signals: &Signals, get: impl Fn(&str) -> Option<String>) -> Option<AiTag> {
    signals.table().sessions.iter().find_map(|s| {
        let value = get(&s.var).filter(|v| !v.is_empty())?;
        let ok = s
            .value
            .as_deref()
            .is_none_or(|p| Regex::new(p).is_ok_and(|r| r.is_match(&value)));
        ok.then(|| AiTag {
            tool: s.tool.clone(),
            signal: format!("session.{}", s.var.to_ascii_lowercase()),
            confidence: s.confidence,
            // The variable's name only: its value may be a credential.
            evidence: format!("environment variable {} is set", s.var),
        })
    })
}

/// The tag a commit message carries (`commit-msg` hook). Comment lines are dropped first,
/// as git's default cleanup does. The author is not known yet: git's `GIT_AUTHOR_*`
/// variables are used when set.
pub fn from_message(
    signals: &Signals,
    path: &Path,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Option<AiTag>, String> {
    let raw = std::fs::read(path)
        .map_err(|e| format!("{}: cannot read the commit message: {e}", path.display()))?;
    let text = String::from_utf8_lossy(&raw);
    let message: String = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let trailers = message_trailers(&message);
    let name = get("GIT_AUTHOR_NAME").unwrap_or_default();
    let email = get("GIT_AUTHOR_EMAIL").unwrap_or_default();
    let cname = get("GIT_COMMITTER_NAME").unwrap_or_else(|| name.clone());
    let cemail = get("GIT_COMMITTER_EMAIL").unwrap_or_else(|| email.clone());
    Ok(signals.classify(Facts {
        author: (&name, &email),
        committer: (&cname, &cemail),
        message: &message,
        trailers: &trailers,
        merge: false,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_and_message() {
        let s = Signals::builtin().expect("builtin");
        let var = s
            .table()
            .sessions
            .first()
            .expect("session entries")
            .var
            .clone();
        let tag = from_env(&s, |k| (k == var).then(|| "1".to_string())).expect("tag");
        assert!(tag.evidence.contains(&var));
        assert!(from_env(&s, |_| None).is_none());
        let dir = tempfile::tempdir().expect("tmp");
        let msg = dir.path().join("COMMIT_EDITMSG");
        std::fs::write(
            &msg,
            "Add parser\n\nCo-authored-by: Cursor Agent <cursoragent@cursor.com>\n# Please enter the commit message\n",
        )
        .expect("write");
        let tag = from_message(&s, &msg, |_| None)
            .expect("reads")
            .expect("tag");
        assert_eq!(tag.tool, "Cursor");
        std::fs::write(
            &msg,
            "Add parser\n# Co-authored-by: Claude <noreply@anthropic.com>\n",
        )
        .expect("write");
        assert!(from_message(&s, &msg, |_| None).expect("reads").is_none());
        assert!(from_message(&s, &dir.path().join("missing"), |_| None).is_err());
    }
}
