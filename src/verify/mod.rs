//! Verification, the stage after triage: what can be learned about a credential without the
//! network (always: [`offline`]), and, with `--verify` only, what its provider says about it
//! (is it live, whom does it act as, what may it do). HTTP checks are data in the rule files
//! ([`http`]); signing schemes ([`sign`]) and database handshakes ([`db`]) are code. Every
//! connection goes through the guard in [`net`].

pub mod db;
pub mod http;
pub mod net;
pub mod offline;
pub mod sign;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::finding::{Finding, Verification, VerifyStatus};
use crate::rules::{Rule, RuleSet, VerifyKind};

/// What one check concluded (before it is attached to findings).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Live, invalid, unknown or error.
    pub status: VerifyStatus,
    /// Whom the credential acts as.
    pub identity: Option<String>,
    /// The permissions reported.
    pub scopes: Vec<String>,
    /// Why it is over-privileged, when it is.
    pub over_privileged: Option<String>,
    /// Why this status (never quotes a response).
    pub detail: String,
}

impl Outcome {
    /// A check with this status and reason, nothing else known.
    pub fn new(status: VerifyStatus, detail: impl Into<String>) -> Outcome {
        Outcome {
            status,
            identity: None,
            scopes: Vec::new(),
            over_privileged: None,
            detail: detail.into(),
        }
    }

    /// The check failed: network, TLS, timeout, a malformed answer.
    pub fn error(detail: impl Into<String>) -> Outcome {
        Outcome::new(VerifyStatus::Error, detail)
    }

    /// Could not be decided.
    pub fn unknown(detail: impl Into<String>) -> Outcome {
        Outcome::new(VerifyStatus::Unknown, detail)
    }

    /// The provider rejected the credential.
    pub fn invalid(detail: impl Into<String>) -> Outcome {
        Outcome::new(VerifyStatus::Invalid, detail)
    }

    /// The provider accepted it.
    pub fn live(detail: impl Into<String>) -> Outcome {
        Outcome::new(VerifyStatus::Live, detail)
    }
}

/// `--verify`'s settings: the guard, endpoints and limits (from the user's config only).
#[derive(Debug, Clone)]
pub struct Options {
    /// Connection guard and timeouts.
    pub net: net::Net,
    /// Base URLs that replace a provider's (`[verify.endpoints]`): GitHub Enterprise, GitLab
    /// self-managed, a Shopify shop, tests.
    pub endpoints: BTreeMap<String, String>,
    /// An HTTPS proxy for every request.
    pub proxy: Option<String>,
    /// Checks running at once.
    pub concurrency: usize,
    /// Requests per second to one provider.
    pub rate: f64,
    /// Retries after 429 and 502–504.
    pub retries: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            net: net::Net::default(),
            endpoints: BTreeMap::new(),
            proxy: None,
            concurrency: 8,
            rate: 4.0,
            retries: 2,
        }
    }
}

impl Options {
    /// The options a `[verify]` section sets (defaults for what it leaves out).
    pub fn from_section(v: &crate::config::VerifySection) -> Options {
        let d = Options::default();
        Options {
            net: net::Net {
                allow_private: v.allow_private_addresses.unwrap_or(false),
                connect_timeout: v
                    .connect_timeout
                    .map_or(d.net.connect_timeout, Duration::from_secs_f64),
                timeout: v.timeout.map_or(d.net.timeout, Duration::from_secs_f64),
            },
            endpoints: v.endpoints.clone(),
            proxy: v.proxy.clone(),
            concurrency: v.concurrency.unwrap_or(d.concurrency),
            rate: v.rate.unwrap_or(d.rate),
            retries: v.retries.unwrap_or(d.retries),
        }
    }
}

/// What a verify run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Stats {
    /// Distinct credentials checked (one request series each).
    pub checked: usize,
    /// Findings whose rule has no check.
    pub unverifiable: usize,
    /// Credentials found live.
    pub live: usize,
    /// Credentials the provider rejected.
    pub invalid: usize,
    /// Undecided.
    pub unknown: usize,
    /// Failed checks.
    pub error: usize,
    /// Live credentials found over-privileged.
    pub over_privileged: usize,
}

/// One distinct credential to check, and the findings that carry it.
struct Job {
    rule: Arc<Rule>,
    secret: String,
    partner: Option<String>,
    /// Database URI or the match around the key (for kinds that read their context).
    context: String,
    findings: Vec<usize>,
}

/// Asks each verifiable finding's provider about it, at most once per credential, and
/// attaches the answer to every finding that carries the credential. Only built-in rules are
/// verified: a rule from a scanned repository's config never chooses where a secret is sent.
pub fn verify(findings: &mut [Finding], rules: &RuleSet, opts: &Options) -> Result<Stats, String> {
    let client = http::Client::new(opts.net.clone(), opts.proxy.as_deref())?;
    let jobs = plan(findings, rules);
    let mut stats = Stats::default();
    let pacer = Pacer::new(opts.rate);
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Outcome>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let workers = opts.concurrency.clamp(1, 64).min(jobs.len().max(1));
    std::thread::scope(|s| {
        for _ in 0..workers {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(job) = jobs.get(i) else { break };
                // A bug in one check must not end the scan: it is that check's error.
                let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(job, &client, opts, &pacer)
                }))
                .unwrap_or_else(|_| Outcome::error("the check failed unexpectedly"));
                if let Ok(mut slot) = results[i].lock() {
                    *slot = Some(outcome);
                }
            });
        }
    });
    for (job, result) in jobs.iter().zip(results) {
        let outcome = result
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| Outcome::error("the check did not finish"));
        stats.checked += 1;
        match outcome.status {
            VerifyStatus::Live => stats.live += 1,
            VerifyStatus::Invalid => stats.invalid += 1,
            VerifyStatus::Unknown => stats.unknown += 1,
            VerifyStatus::Error => stats.error += 1,
        }
        let over = outcome.status == VerifyStatus::Live && outcome.over_privileged.is_some();
        stats.over_privileged += usize::from(over);
        let spec = job.rule.spec.verify.as_ref();
        let v = Verification {
            status: outcome.status,
            identity: outcome.identity,
            scopes: outcome.scopes,
            over_privileged: over,
            detail: match (&outcome.over_privileged, over) {
                (Some(why), true) => format!("{}; over-privileged: {why}", outcome.detail),
                _ => outcome.detail,
            },
            provider: spec.map(|s| s.provider.clone()).unwrap_or_default(),
        };
        for &i in &job.findings {
            findings[i].verification = Some(v.clone());
        }
    }
    stats.unverifiable = findings.iter().filter(|f| f.verification.is_none()).count();
    Ok(stats)
}

/// The distinct credentials among `findings`, each owned by one rule: a secret two rules
/// claim is sent to one provider only (the more precise rule's, then the first by id).
fn plan(findings: &[Finding], rules: &RuleSet) -> Vec<Job> {
    let by_fingerprint: HashMap<&str, usize> = findings
        .iter()
        .enumerate()
        .map(|(i, f)| (f.fingerprint.0.as_str(), i))
        .collect();
    let rank = |r: &Rule| {
        (
            !r.spec.catch_all,
            r.spec.precision,
            std::cmp::Reverse(r.id().to_string()),
        )
    };
    let mut owner: HashMap<&str, Arc<Rule>> = HashMap::new();
    for f in findings {
        let Some(rule) = verifiable(rules, &f.rule_id) else {
            continue;
        };
        let key = f.secret.expose();
        if owner.get(key).is_none_or(|r| rank(&rule) > rank(r)) {
            owner.insert(key, rule);
        }
    }
    let mut jobs: Vec<Job> = Vec::new();
    // By (secret, partner secret): one request series per distinct credential.
    let mut index: HashMap<(&str, Option<&str>), usize> = HashMap::new();
    // Findings of other rules that claim an owned secret: they take the owner's answer.
    let mut claimed: Vec<(usize, &str)> = Vec::new();
    for (i, f) in findings.iter().enumerate() {
        let secret = f.secret.expose();
        let Some(rule) = owner.get(secret) else {
            continue;
        };
        let Some(spec) = rule.spec.verify.as_ref() else {
            continue;
        };
        if f.rule_id != rule.id() {
            claimed.push((i, secret));
            continue;
        }
        let partner = f
            .related
            .iter()
            .filter(|r| spec.needs.contains(&r.rule_id))
            .find_map(|r| by_fingerprint.get(r.fingerprint.as_str()))
            .map(|&p| findings[p].secret.expose());
        if let Some(&j) = index.get(&(secret, partner)) {
            jobs[j].findings.push(i);
            continue;
        }
        index.insert((secret, partner), jobs.len());
        // The partner's own finding (the AWS secret beside its key id) carries the answer.
        let partner_finding = f
            .related
            .iter()
            .filter_map(|r| by_fingerprint.get(r.fingerprint.as_str()).copied())
            .find(|&p| Some(findings[p].secret.expose()) == partner);
        jobs.push(Job {
            rule: rule.clone(),
            secret: secret.to_string(),
            partner: partner.map(str::to_string),
            context: match spec.kind {
                VerifyKind::Postgres
                | VerifyKind::Mysql
                | VerifyKind::Mongodb
                | VerifyKind::Redis => db_uri(f),
                VerifyKind::AzureSharedKey => f.line.clone(),
                _ => f.matched.clone(),
            },
            findings: std::iter::once(i).chain(partner_finding).collect(),
        });
    }
    for (i, secret) in claimed {
        if let Some(job) = jobs.iter_mut().find(|j| j.secret == secret) {
            job.findings.push(i);
        }
    }
    for job in &mut jobs {
        job.findings.sort_unstable();
        job.findings.dedup();
    }
    jobs
}

/// The rule's check, when it is a built-in rule that has one.
fn verifiable(rules: &RuleSet, id: &str) -> Option<Arc<Rule>> {
    let rule = rules.get(id)?;
    (rule.spec.verify.is_some() && rule.origin.starts_with("builtin:")).then(|| rule.clone())
}

/// The whole URI around a database password: from the scheme before it to the first
/// character after it that a URI cannot hold.
fn db_uri(f: &Finding) -> String {
    let secret = f.secret.expose();
    let line = &f.line;
    // Where the secret starts on its line (its column), else its first occurrence.
    let at = line
        .char_indices()
        .nth(f.location.column.saturating_sub(1))
        .map(|(i, _)| i)
        .filter(|&i| line[i..].starts_with(secret))
        .or_else(|| line.find(secret));
    let Some(at) = at else {
        return String::new();
    };
    let (before, after) = (&line[..at], &line[at + secret.len()..]);
    let lower = before.to_ascii_lowercase();
    let start = ["postgres", "mysql", "mariadb", "mongodb", "redis", "jdbc:"]
        .iter()
        .filter_map(|s| lower.rfind(s))
        .max()
        .unwrap_or(0);
    let end = after
        .find(|c: char| c.is_whitespace() || "'\"`<>,;)]}".contains(c))
        .unwrap_or(after.len());
    format!("{}{secret}{}", &before[start..], &after[..end])
}

fn run(job: &Job, client: &http::Client, opts: &Options, pacer: &Pacer) -> Outcome {
    let Some(spec) = job.rule.spec.verify.as_ref() else {
        return Outcome::unknown("no check");
    };
    if !spec.needs.is_empty() && job.partner.is_none() && spec.kind != VerifyKind::AwsSts {
        return Outcome::unknown(format!(
            "needs its other part ({}) nearby: not checked",
            spec.needs.join(" or ")
        ));
    }
    let endpoint = opts
        .endpoints
        .get(&spec.provider)
        .map(|e| e.trim_end_matches('/').to_string())
        .or_else(|| spec.endpoint.clone())
        .unwrap_or_default();
    let vars = http::Vars {
        secret: &job.secret,
        endpoint: &endpoint,
        partner: job.partner.as_deref(),
    };
    let pace = || pacer.wait(&spec.provider);
    let mut out = match spec.kind {
        VerifyKind::Http => http::check(client, spec, vars, opts.retries, &pace),
        VerifyKind::AwsSts => sign::aws(client, spec, vars, &pace),
        VerifyKind::GoogleServiceAccount => sign::google(client, vars, &job.context, &pace),
        VerifyKind::AzureSharedKey => sign::azure(
            client,
            &job.secret,
            &job.context,
            opts.endpoints.get(&spec.provider).map(String::as_str),
            &pace,
        ),
        VerifyKind::Postgres | VerifyKind::Mysql | VerifyKind::Mongodb | VerifyKind::Redis => {
            pace();
            db::check(spec.kind, &job.context, &opts.net)
        }
    };
    if out.status == VerifyStatus::Live && out.over_privileged.is_none() {
        out.over_privileged = spec.over_privileged.clone();
    }
    scrub(
        out,
        &[Some(job.secret.as_str()), job.partner.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>(),
    )
}

/// What a provider answered (identity, scopes) never carries the credential back into a
/// report: a value holding a secret, or a long piece of one, is withheld.
pub fn scrub(mut out: Outcome, secrets: &[&str]) -> Outcome {
    let leaks = |v: &str| {
        secrets
            .iter()
            .any(|s| !s.is_empty() && (v.contains(s) || (v.len() >= 8 && s.contains(v))))
    };
    const WITHHELD: &str = "(withheld: the answer repeats the credential)";
    if out.identity.as_deref().is_some_and(leaks) {
        out.identity = Some(WITHHELD.into());
    }
    for scope in &mut out.scopes {
        if leaks(scope) {
            *scope = WITHHELD.into();
        }
    }
    if leaks(&out.detail) {
        out.detail = WITHHELD.into();
    }
    out
}

/// A per-provider rate limit: requests to one provider are spaced `1 / rate` apart.
struct Pacer {
    gap: Duration,
    next: Mutex<HashMap<String, Instant>>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        let rate = if rate.is_finite() && rate > 0.0 {
            rate
        } else {
            4.0
        };
        Pacer {
            gap: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(HashMap::new()),
        }
    }

    fn wait(&self, provider: &str) {
        let at = {
            let Ok(mut next) = self.next.lock() else {
                return;
            };
            let now = Instant::now();
            let at = next.get(provider).copied().unwrap_or(now).max(now);
            next.insert(provider.to_string(), at + self.gap);
            at
        };
        let now = Instant::now();
        if at > now {
            std::thread::sleep(at - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::detect::Detector;

    fn findings(text: &str) -> (Vec<Finding>, RuleSet) {
        let rules = RuleSet::builtin().expect("rules");
        let detector = Detector::new(rules.clone());
        let out = crate::scan::scan_bytes(text.as_bytes(), "x.env", &detector, &Config::default());
        (out.findings, rules)
    }

    #[test]
    fn one_job_per_credential_and_pairs_share_an_answer() {
        // Assembled at run time: no token literal in the source.
        let key_id = ["AKIA", "Q3EGRLWJ7UVPZ4MT"].concat();
        let secret = ["k8Vd1Qe+Jt0uX3rYbW9z", "N5aLp2HsC7fGm4TqR6oE"].concat();
        let text = format!(
            "aws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n{}OTHER_KEY_ID={key_id}\n",
            "\n".repeat(40)
        );
        let (found, rules) = findings(&text);
        let jobs = plan(&found, &rules);
        let with_partner: Vec<&Job> = jobs.iter().filter(|j| j.partner.is_some()).collect();
        assert_eq!(
            with_partner.len(),
            1,
            "{:?}",
            jobs.iter().map(|j| &j.findings).collect::<Vec<_>>()
        );
        assert_eq!(with_partner[0].partner.as_deref(), Some(secret.as_str()));
        // The pair's two findings share the job; the lone key id is its own (no partner).
        assert_eq!(with_partner[0].findings.len(), 2);
        assert_eq!(jobs.len(), 2);
    }

    #[test]
    fn only_built_in_rules_verify() {
        let (found, mut rules) = findings("GITHUB_TOKEN=x\n");
        assert!(found.is_empty());
        let mut spec = rules.get("github.pat_classic").expect("rule").spec.clone();
        spec.id = "acme.token".into();
        rules
            .push(Rule::imported(spec, "leakhound.toml").expect("rule"))
            .expect("push");
        assert!(
            verifiable(&rules, "acme.token").is_none(),
            "a config's rule never verifies"
        );
        assert!(verifiable(&rules, "github.pat_classic").is_some());
    }
}
