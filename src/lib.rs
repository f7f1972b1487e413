//! leakhound: a fast, quiet secret scanner.
//!
//! One pipeline, one direction:
//!
//! ```text
//! source ──Blob+Origin──▶ detect ──Candidate──▶ triage ──Finding──▶ verify ──▶ report
//! worktree               prefilter → regex →    policy: precision,   offline     sorted, redacted
//!                        checksum/entropy/      severity             checks;     text|json|jsonl|sarif
//!                        placeholder filters                         --verify:
//!                                                                    the provider
//! ```
//!
//! Layers, lowest first: [`untrusted`], [`source`], [`rules`], [`config`] → [`detect`] → [`lint`],
//! [`finding`] → [`triage`] → [`verify`] → [`report`], [`scan`]. A module imports only from
//! lower layers. Nothing in [`verify`] opens a connection unless `--verify` built its stage.
//!
//! ```
//! use leakhound::{config::Config, detect::Detector, rules::RuleSet, scan::scan_bytes};
//! let detector = Detector::new(RuleSet::builtin().unwrap());
//! // Assembled at run time so this file holds no token literal.
//! let text = ["STRIPE_KEY=sk_", "live_", "pReKS4ZvioRX", "9Qm5BBljcl23"].concat();
//! let outcome = scan_bytes(text.as_bytes(), ".env", &detector, &Config::default());
//! assert_eq!(outcome.findings[0].rule_id, "stripe.secret_key");
//! // Redacted by default: a short prefix and the length.
//! assert_eq!(outcome.findings[0].secret.display(), "sk_l…(32)");
//! ```

pub mod ai;
pub mod allow;
pub mod baseline;
pub mod clock;
pub mod config;
pub mod detect;
pub mod discover;
pub mod finding;
pub mod hooks;
pub mod import;
pub mod lint;
pub mod mcp;
pub mod report;
pub mod rules;
pub mod scan;
pub mod source;
pub mod triage;
pub mod untrusted;
pub mod verify;
