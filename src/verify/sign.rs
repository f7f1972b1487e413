//! Checks that sign their request, so cannot be plain templates: AWS (SigV4: STS
//! `GetCallerIdentity`, then IAM `ListAttachedUserPolicies` for the blast radius) and Google
//! service-account keys (an RS256-signed JWT exchanged for an access token). Crypto is ring's.

use base64::Engine as _;
use ring::{digest, hmac};

use super::http::{Client, Request, Response, Vars};
use super::Outcome;
use crate::finding::VerifyStatus;
use crate::rules::VerifySpec;

/// SigV4 region for the global STS and IAM endpoints.
const AWS_REGION: &str = "us-east-1";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn sha256_hex(data: &[u8]) -> String {
    hex(digest::digest(&digest::SHA256, data).as_ref())
}

fn hmac256(key: &[u8], data: &str) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), data.as_bytes())
        .as_ref()
        .to_vec()
}

/// RFC 3986 encoding as SigV4 wants it (unreserved characters kept).
fn aws_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Host (with a non-default port) and path of a URL, for signing.
fn host_and_path(url: &str) -> Option<(String, String)> {
    let rest = url
        .strip_prefix("https://")
        .map(|r| (r, ":443"))
        .or_else(|| url.strip_prefix("http://").map(|r| (r, ":80")))?;
    let (rest, default_port) = rest;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = authority.strip_suffix(default_port).unwrap_or(authority);
    let path = path.split('?').next().unwrap_or("/");
    Some((host.to_string(), path.to_string()))
}

/// A SigV4-signed request (AWS Signature Version 4, as the AWS General Reference describes
/// it): `query` is sent sorted and encoded, `body` as a form.
#[allow(clippy::too_many_arguments)]
pub fn sigv4(
    method: &'static str,
    endpoint: &str,
    service: &str,
    query: &[(&str, &str)],
    body: Option<&str>,
    key_id: &str,
    secret: &str,
    amz_date: &str,
) -> Option<Request> {
    let url = format!("{endpoint}/");
    let (host, path) = host_and_path(&url)?;
    let mut q: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (aws_encode(k), aws_encode(v)))
        .collect();
    q.sort();
    let query = q
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    let ctype = "application/x-www-form-urlencoded; charset=utf-8";
    let payload = body.unwrap_or("");
    // Content-Type is signed (and sent) on every request, as in the documented example.
    let headers = format!("content-type:{ctype}\nhost:{host}\nx-amz-date:{amz_date}\n");
    let signed = "content-type;host;x-amz-date";
    let canonical = format!(
        "{method}\n{path}\n{query}\n{headers}\n{signed}\n{}",
        sha256_hex(payload.as_bytes())
    );
    let date = amz_date.get(..8)?;
    let scope = format!("{date}/{AWS_REGION}/{service}/aws4_request");
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical.as_bytes())
    );
    let k_date = hmac256(format!("AWS4{secret}").as_bytes(), date);
    let k_region = hmac256(&k_date, AWS_REGION);
    let k_service = hmac256(&k_region, service);
    let k_signing = hmac256(&k_service, "aws4_request");
    let signature = hex(&hmac256(&k_signing, &to_sign));
    let mut headers = vec![
        ("X-Amz-Date".to_string(), amz_date.to_string()),
        (
            "Authorization".to_string(),
            format!(
                "AWS4-HMAC-SHA256 Credential={key_id}/{scope}, SignedHeaders={signed}, Signature={signature}"
            ),
        ),
    ];
    headers.push(("Accept".into(), "application/xml".into()));
    if body.is_none() {
        headers.push(("Content-Type".into(), ctype.into()));
    }
    Some(Request {
        method,
        url: if query.is_empty() {
            url
        } else {
            format!("{url}?{query}")
        },
        headers,
        body: body.map(|b| (ctype.to_string(), b.as_bytes().to_vec())),
    })
}

/// The text of the first `<tag>…</tag>` in an AWS XML answer.
fn xml_field<'a>(body: &'a str, tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&format!("</{tag}>"))? + start;
    Some(&body[start..end])
}

fn amz_now() -> String {
    let ts = crate::clock::timestamp(crate::clock::now());
    ts.replace(['-', ':'], "")
}

/// AWS: `GetCallerIdentity` needs no permission, so it answers for any live key; then the
/// user's attached managed policies, when the key may list them.
pub fn aws(client: &Client, spec: &VerifySpec, v: Vars<'_>, pace: &dyn Fn()) -> Outcome {
    let Some(secret) = v.partner else {
        return Outcome::unknown("an AWS access key id needs its secret access key nearby");
    };
    if v.secret.starts_with("ASIA") {
        return Outcome::unknown("a temporary (ASIA) key needs its session token: not checked");
    }
    let key_id = v.secret;
    let amz = amz_now();
    let Some(req) = sigv4(
        "POST",
        v.endpoint,
        "sts",
        &[],
        Some("Action=GetCallerIdentity&Version=2011-06-15"),
        key_id,
        secret,
        &amz,
    ) else {
        return Outcome::error("the AWS endpoint is not a URL");
    };
    pace();
    let resp = match client.send(&req) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let body = String::from_utf8_lossy(&resp.body);
    match resp.status {
        200 => {}
        403 | 400 if body.contains("InvalidClientTokenId") => {
            return Outcome::invalid(
                "AWS STS: the access key id does not exist (InvalidClientTokenId)",
            )
        }
        403 if body.contains("SignatureDoesNotMatch") => {
            return Outcome::invalid(
                "AWS STS: the secret does not belong to this key id (SignatureDoesNotMatch)",
            )
        }
        403 if body.contains("ExpiredToken") => return Outcome::invalid("AWS STS: expired"),
        403 => return Outcome::invalid("AWS STS rejected it (HTTP 403)"),
        s => return Outcome::error(format!("AWS STS answered HTTP {s}")),
    }
    let (Some(arn), Some(account)) = (xml_field(&body, "Arn"), xml_field(&body, "Account")) else {
        return Outcome::error("AWS STS: the answer has no Arn");
    };
    let mut out = Outcome::live("AWS STS GetCallerIdentity accepted it");
    out.identity = Some(clean(arn));
    if arn.ends_with(":root") {
        out.over_privileged = Some(format!(
            "the root user of account {}: every permission, and no policy can restrict it",
            clean(account)
        ));
        return out;
    }
    let Some(user) = arn
        .split_once(":user/")
        .map(|(_, u)| u.rsplit('/').next().unwrap_or(u))
    else {
        out.detail.push_str("; not an IAM user, policies not read");
        return out;
    };
    let amz = amz_now();
    let Some(req) = sigv4(
        "GET",
        v.endpoint,
        "iam",
        &[
            ("Action", "ListAttachedUserPolicies"),
            ("UserName", user),
            ("Version", "2010-05-08"),
        ],
        None,
        key_id,
        secret,
        &amz,
    ) else {
        return out;
    };
    pace();
    match client.send(&req) {
        Ok(r) if r.status == 200 => {
            let text = String::from_utf8_lossy(&r.body);
            let mut policies = Vec::new();
            let mut rest: &str = &text;
            while let Some(name) = xml_field(rest, "PolicyName") {
                policies.push(clean(name));
                let Some(at) = rest.find("</PolicyName>") else {
                    break;
                };
                rest = &rest[at + 13..];
            }
            out.scopes = policies;
            out.over_privileged = super::http::over_privileged(spec, &out.scopes);
            out.detail
                .push_str("; attached managed policies read with iam:ListAttachedUserPolicies");
        }
        Ok(r) => out.detail.push_str(&format!(
            "; it may not list its own policies (HTTP {})",
            r.status
        )),
        Err(_) => out.detail.push_str("; its policies could not be read"),
    }
    out
}

/// `Sun, 29 Nov 2026 14:31:00 GMT` (RFC 1123, what `x-ms-date` takes).
fn http_date(secs: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let (y, m, d) = crate::clock::civil(secs);
    let t = secs.rem_euclid(86_400);
    format!(
        "{}, {d:02} {} {y:04} {:02}:{:02}:{:02} GMT",
        DAYS[secs.div_euclid(86_400).rem_euclid(7) as usize],
        MONTHS[(m - 1).clamp(0, 11) as usize],
        t / 3600,
        t % 3600 / 60,
        t % 60
    )
}

/// The `Key=Value` of a connection string on the line (`AccountName=...;`).
fn conn_field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split([';', '"', '\'', ' ', '\t'])
        .filter_map(|part| part.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// The request Shared Key signs (Authorize with Shared Key, Blob service, version 2009-09-19
/// and later): Get Blob Service Properties, which only the account's keys may call.
pub fn azure_request(base: &str, account: &str, key: &[u8], date: &str) -> Request {
    const VERSION: &str = "2021-08-06";
    // VERB, then eleven empty standard headers (Content-Encoding ... Range).
    let to_sign = format!(
        "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{VERSION}\n/{account}/\ncomp:properties\nrestype:service"
    );
    let signature = base64::engine::general_purpose::STANDARD.encode(hmac256(key, &to_sign));
    Request {
        method: "GET",
        url: format!("{base}/?restype=service&comp=properties"),
        headers: vec![
            ("x-ms-date".into(), date.to_string()),
            ("x-ms-version".into(), VERSION.into()),
            (
                "Authorization".into(),
                format!("SharedKey {account}:{signature}"),
            ),
        ],
        body: None,
    }
}

/// An Azure Storage account key: needs the account name beside it (a connection string's
/// `AccountName`). `endpoint` is the user's `[verify.endpoints] azure`, if any.
pub fn azure(
    client: &Client,
    secret: &str,
    line: &str,
    endpoint: Option<&str>,
    pace: &dyn Fn(),
) -> Outcome {
    if conn_field(line, "AccountEndpoint").is_some() {
        return Outcome::unknown("a Cosmos DB key (AccountEndpoint): not checked");
    }
    let Some(account) = conn_field(line, "AccountName").filter(|a| {
        (3..=24).contains(&a.len())
            && a.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) else {
        return Outcome::unknown(
            "an Azure storage key needs its AccountName on the same line: not checked",
        );
    };
    let suffix = conn_field(line, "EndpointSuffix")
        .filter(|s| {
            s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
        .unwrap_or("core.windows.net");
    let Ok(key) = base64::engine::general_purpose::STANDARD.decode(secret) else {
        return Outcome::error("the account key is not base64");
    };
    let base = endpoint.map_or_else(
        || format!("https://{account}.blob.{suffix}"),
        |e| e.trim_end_matches('/').to_string(),
    );
    let req = azure_request(&base, account, &key, &http_date(crate::clock::now()));
    pace();
    let resp = match client.send(&req) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let body = String::from_utf8_lossy(&resp.body);
    let mut out = match resp.status {
        200 => {
            Outcome::live("Azure Storage accepted the account key (Get Blob Service Properties)")
        }
        403 if body.contains("AuthenticationFailed") => {
            return Outcome::invalid("Azure Storage rejected the signature (AuthenticationFailed)")
        }
        403 => return Outcome::invalid("Azure Storage refused it (HTTP 403)"),
        s => return Outcome::error(format!("Azure Storage answered HTTP {s}")),
    };
    out.identity = Some(format!("storage account {account}"));
    out
}

fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

fn b64url(data: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(data)
}

/// A Google service-account key: the JWT-bearer grant of Google's OAuth 2.0 for
/// server-to-server applications, which answers for any enabled key.
pub fn google(client: &Client, v: Vars<'_>, matched: &str, pace: &dyn Fn()) -> Outcome {
    let Some(email) = json_string_after(matched, "\"client_email\"") else {
        return Outcome::unknown("the key file's client_email is not next to the key: not checked");
    };
    let body: String = v
        .secret
        .replace("\\n", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(body) else {
        return Outcome::error("the private key is not base64");
    };
    let key = match ring::signature::RsaKeyPair::from_pkcs8(&der)
        .or_else(|_| ring::signature::RsaKeyPair::from_der(&der))
    {
        Ok(k) => k,
        Err(_) => return Outcome::error("the private key does not parse as an RSA key"),
    };
    let now = crate::clock::now();
    let aud = format!("{}/token", v.endpoint);
    let header = b64url(br#"{"alg":"RS256","typ":"JWT"}"#);
    let claims = serde_json::json!({
        "iss": email,
        "scope": "https://www.googleapis.com/auth/cloud-platform.read-only",
        "aud": "https://oauth2.googleapis.com/token",
        "iat": now,
        "exp": now + 300,
    });
    let signing_input = format!("{header}.{}", b64url(claims.to_string().as_bytes()));
    let mut sig = vec![0; key.public().modulus_len()];
    if key
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .is_err()
    {
        return Outcome::error("signing the JWT failed");
    }
    let assertion = format!("{signing_input}.{}", b64url(&sig));
    let req = Request {
        method: "POST",
        url: aud,
        headers: vec![("Accept".into(), "application/json".into())],
        body: Some((
            "application/x-www-form-urlencoded".into(),
            format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
            )
            .into_bytes(),
        )),
    };
    pace();
    let resp: Response = match client.send(&req) {
        Ok(r) => r,
        Err(e) => return e.into(),
    };
    let identity = Some(clean(&email));
    match resp.status {
        200 if resp.json().is_some_and(|j| j.get("access_token").is_some()) => Outcome {
            identity,
            ..Outcome::live(
                "Google's token endpoint issued an access token for it; its IAM roles are not read",
            )
        },
        400 | 401 => Outcome {
            identity,
            ..Outcome::new(
                VerifyStatus::Invalid,
                format!(
                    "Google's token endpoint refused it (HTTP {}): the key is deleted or disabled",
                    resp.status
                ),
            )
        },
        s => Outcome::error(format!("Google's token endpoint answered HTTP {s}")),
    }
}

/// The JSON string value after `key` in `text` (`"client_email": "x@y"`), unescaped simply.
fn json_string_after(text: &str, key: &str) -> Option<String> {
    let at = text.find(key)? + key.len();
    let rest = text[at..].trim_start().strip_prefix(':')?.trim_start();
    let rest = rest.strip_prefix('"')?;
    // The rule's match may end inside the value (at `gserviceaccount.com`).
    let end = rest.find('"').unwrap_or(rest.len());
    let v = &rest[..end];
    (!v.is_empty() && v.len() < 320).then(|| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of the AWS General Reference's SigV4 signing process (IAM
    /// `ListUsers` with the documentation's example key pair and date): the same signature.
    #[test]
    fn sigv4_matches_the_documented_example() {
        let req = sigv4(
            "GET",
            "https://iam.amazonaws.com",
            "iam",
            &[("Action", "ListUsers"), ("Version", "2010-05-08")],
            None,
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            "20150830T123600Z",
        )
        .expect("request");
        let auth = &req
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .expect("auth")
            .1;
        assert_eq!(
            auth,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(
            req.url,
            "https://iam.amazonaws.com/?Action=ListUsers&Version=2010-05-08"
        );
    }

    #[test]
    fn azure_dates_and_connection_strings() {
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(1_795_962_660), "Sun, 29 Nov 2026 14:31:00 GMT");
        let line = "DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey=K;EndpointSuffix=core.chinacloudapi.cn";
        assert_eq!(conn_field(line, "accountname"), Some("acmeprod"));
        assert_eq!(
            conn_field(line, "EndpointSuffix"),
            Some("core.chinacloudapi.cn")
        );
        assert_eq!(conn_field(line, "AccountEndpoint"), None);
    }

    #[test]
    fn reads_the_client_email_beside_the_key() {
        // leakhound:allow-next-line (a placeholder key body)
        let m = r#""private_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
  "client_email": "deployer@acme-prod.iam.gserviceaccount.com","#;
        assert_eq!(
            json_string_after(m, "\"client_email\"").as_deref(),
            Some("deployer@acme-prod.iam.gserviceaccount.com")
        );
        assert_eq!(
            json_string_after("\"client_email\": 5", "\"client_email\""),
            None
        );
    }
}
