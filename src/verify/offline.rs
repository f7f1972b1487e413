//! The offline tier: what a secret says about itself, with no network, in every mode. A
//! provider checksum that matched (detection already refused the ones that did not), a JWT's
//! expiry and role, the AWS account an access key id encodes.

use crate::detect::filter::base64url_decode;
use crate::finding::{Checks, Finding};
use crate::rules::{Checksum, RuleSet};

/// Fills `checks` on every finding.
pub fn check_all(findings: &mut [Finding], rules: &RuleSet, now: i64) {
    for f in findings {
        let Some(rule) = rules.get(&f.rule_id) else {
            continue;
        };
        f.checks = checks(rule.spec.checksum, f.secret.expose(), now);
    }
}

/// What `secret` (found under a rule with `checksum`) says about itself.
pub fn checks(checksum: Option<Checksum>, secret: &str, now: i64) -> Checks {
    let mut c = Checks::default();
    match checksum {
        Some(Checksum::GithubCrc32) => c.checksum = Some("valid".into()),
        // A legacy GitLab token (no `.` suffix) has no checksum to check.
        Some(Checksum::GitlabRoutable) if secret.contains('.') => c.checksum = Some("valid".into()),
        _ => {}
    }
    if let Some(claims) = jwt_claims(secret) {
        if let Some(exp) = claims.get("exp").and_then(serde_json::Value::as_i64) {
            c.expires = Some(crate::clock::timestamp(exp));
            c.expired = exp < now;
        }
        if let Some(role) = claims.get("role").and_then(serde_json::Value::as_str) {
            c.role = Some(role.chars().filter(|c| !c.is_control()).take(64).collect());
        }
    }
    c.aws_account = aws_account(secret);
    c
}

/// The payload of a JWT (`header.payload.signature`, header naming `alg`), as JSON.
pub fn jwt_claims(secret: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = secret.split('.');
    let (header, payload) = (parts.next()?, parts.next()?);
    if !header.starts_with("eyJ") || parts.count() > 1 {
        return None;
    }
    let header: serde_json::Value =
        serde_json::from_slice(&base64url_decode(header.as_bytes())?).ok()?;
    header.get("alg")?;
    match serde_json::from_slice(&base64url_decode(payload.as_bytes())?).ok()? {
        serde_json::Value::Object(m) => Some(m),
        _ => None,
    }
}

/// The account id an `AKIA`/`ASIA` access key id encodes: its 16 characters after the
/// prefix are base32, and bits 7..46 of the first six bytes are the account number. This
/// comes from public research on key ids (not from AWS documentation), so it is reported as
/// a hint; only `--verify` (STS) says which account a key belongs to.
pub fn aws_account(key_id: &str) -> Option<String> {
    let rest = key_id
        .strip_prefix("AKIA")
        .or_else(|| key_id.strip_prefix("ASIA"))?;
    if rest.len() != 16 {
        return None;
    }
    let mut bits: u128 = 0;
    for c in rest.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        bits = (bits << 5) | u128::from(v);
    }
    // 80 bits; the first 48 hold the account.
    let first6 = (bits >> 32) as u64;
    let account = (first6 & 0x7fff_ffff_ff80) >> 7;
    // Keys from before the encoding (AKIAI…, AKIAJ…) decode to nothing sensible.
    (rest.as_bytes()[0] >= b'Q' || rest.as_bytes()[0].is_ascii_digit())
        .then(|| format!("{account:012}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode_account(account: u64, tail: u32) -> String {
        // Inverse of `aws_account`: 48 bits with the account at bits 7..46, a set top bit as
        // in issued keys, then 32 more bits.
        let first6 = (account << 7) | (1u64 << 47);
        let bits: u128 = (u128::from(first6) << 32) | u128::from(tail);
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        let mut s = String::from("AKIA");
        for i in (0..16).rev() {
            s.push(alphabet[((bits >> (i * 5)) & 31) as usize] as char);
        }
        s
    }

    #[test]
    fn aws_account_ids_round_trip() {
        for account in [123_456_789_012u64, 1, 999_999_999_999] {
            let key = encode_account(account, 0xdead_beef);
            assert_eq!(aws_account(&key), Some(format!("{account:012}")), "{key}");
        }
        assert_eq!(aws_account("AKIAIOSFODNN7EXAMPLE"), None, "old-format id");
        assert_eq!(aws_account("AKIA123"), None);
    }

    #[test]
    fn jwt_expiry_and_role() {
        use base64::Engine as _;
        let b = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        let jwt = format!(
            "{}.{}.sig",
            b(r#"{"alg":"HS256","typ":"JWT"}"#),
            b(r#"{"role":"service_role","exp":1700000000}"#)
        );
        let c = checks(Some(Checksum::Jwt), &jwt, 1_800_000_000);
        assert_eq!(c.expires.as_deref(), Some("2023-11-14T22:13:20Z"));
        assert!(c.expired);
        assert_eq!(c.role.as_deref(), Some("service_role"));
        assert!(!checks(Some(Checksum::Jwt), &jwt, 1_600_000_000).expired);
        assert_eq!(
            checks(Some(Checksum::GithubCrc32), "ghp_x", 0)
                .checksum
                .as_deref(),
            Some("valid")
        );
        assert!(checks(Some(Checksum::GitlabRoutable), "glpat-legacy", 0).is_empty());
    }
}
