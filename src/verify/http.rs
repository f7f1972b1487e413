//! HTTP checks: the guarded client, and the engine that turns a rule's `[rule.verify]` table
//! (a request template, what counts as live, where identity and scopes are read) into an
//! [`Outcome`].
//!
//! The client follows no redirect on its own: a redirect is followed only to the same host
//! over the same scheme, at most [`MAX_REDIRECTS`] times, and every address, redirects
//! included, passes the guard in [`super::net`] after resolution. Answers are read up to
//! [`MAX_BODY`]; nothing a provider answers is ever quoted in a detail.

use std::io::Read;
use std::time::Duration;

use serde_json::Value;

use super::net::{Net, NetError};
use super::Outcome;
use crate::finding::VerifyStatus;
use crate::rules::VerifySpec;

/// The most of an answer that is read.
pub const MAX_BODY: u64 = 256 * 1024;
/// Redirects followed (same host only).
pub const MAX_REDIRECTS: usize = 3;

/// One request.
#[derive(Debug, Clone)]
pub struct Request {
    /// GET or POST.
    pub method: &'static str,
    /// Full URL.
    pub url: String,
    /// Headers (name, value).
    pub headers: Vec<(String, String)>,
    /// Body and its media type.
    pub body: Option<(String, Vec<u8>)>,
}

/// One answer: status, headers (names lowercase), the body up to [`MAX_BODY`].
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body (empty when it was larger than [`MAX_BODY`]: see `oversized`).
    pub body: Vec<u8>,
    /// The body was larger than [`MAX_BODY`] and was not read.
    pub oversized: bool,
}

impl Response {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// The guarded HTTP client (one per verify run, shared by the workers).
pub struct Client {
    agent: ureq::Agent,
    net: Net,
    proxy_host: Option<String>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("net", &self.net).finish()
    }
}

/// ureq's resolver, replaced: every name goes through the guard, and the connection goes to
/// the addresses it checked (no second resolution to swap them).
#[derive(Debug)]
struct Guard {
    net: Net,
    proxy_host: Option<String>,
}

impl ureq::unversioned::resolver::Resolver for Guard {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        _config: &ureq::config::Config,
        _timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().ok_or(ureq::Error::HostNotFound)?;
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let proxy = self.proxy_host.as_deref() == Some(host);
        let net = Net {
            allow_private: self.net.allow_private || proxy,
            ..self.net.clone()
        };
        // A refusal keeps its own kind, so `describe` can tell it from a failure.
        let io = |e: NetError| {
            let kind = match e {
                NetError::Refused(_) => std::io::ErrorKind::PermissionDenied,
                NetError::Failed(_) => std::io::ErrorKind::NotFound,
            };
            ureq::Error::Io(std::io::Error::new(kind, e.to_string()))
        };
        let addrs = net.resolve(host, port).map_err(io)?;
        if !https && !proxy {
            plain_only_to_private(host, &addrs).map_err(io)?;
        }
        let mut out = ureq::unversioned::resolver::ResolvedSocketAddrs::from_fn(|_| {
            std::net::SocketAddr::from(([0, 0, 0, 0], 0))
        });
        for a in addrs.into_iter().take(16) {
            out.push(a);
        }
        Ok(out)
    }
}

impl Client {
    /// A client with the guard and limits of `net`, through `proxy` when the user's config
    /// names one (never the environment's).
    pub fn new(net: Net, proxy: Option<&str>) -> Result<Client, String> {
        let proxy = match proxy {
            Some(p) => Some(
                ureq::Proxy::new(p)
                    .map_err(|_| format!("[verify] proxy {p:?} is not a proxy URL"))?,
            ),
            None => None,
        };
        let proxy_host = proxy.as_ref().map(|p| p.host().to_string());
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .proxy(proxy)
            .timeout_connect(Some(net.connect_timeout))
            .timeout_global(Some(net.timeout))
            .max_response_header_size(64 * 1024)
            .user_agent(concat!(
                "leakhound/",
                env!("CARGO_PKG_VERSION"),
                " (verify)"
            ))
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::new(),
            Guard {
                net: net.clone(),
                proxy_host: proxy_host.clone(),
            },
        );
        Ok(Client {
            agent,
            net,
            proxy_host,
        })
    }

    /// Sends `req`, following same-host redirects. The error is a short reason without the
    /// URL's path or query (a Telegram token travels in the path).
    pub fn send(&self, req: &Request) -> Result<Response, NetError> {
        let mut url = req.url.clone();
        let first = parse_origin(&url).map_err(NetError::Failed)?;
        for _ in 0..=MAX_REDIRECTS {
            let origin = parse_origin(&url).map_err(NetError::Failed)?;
            if origin != first {
                return Err(NetError::Failed(format!(
                    "redirected from {} to another host or scheme ({}): not followed",
                    first.host, origin.host
                )));
            }
            if self.proxy_host.is_some() {
                // The resolver sees the proxy's name: check the target here.
                self.precheck(&origin)?;
            }
            let resp = self.once(req, &url)?;
            if (300..400).contains(&resp.status) {
                match resp.header("location") {
                    Some(loc) => {
                        url = join(&url, loc);
                        continue;
                    }
                    None => return Ok(resp),
                }
            }
            return Ok(resp);
        }
        Err(NetError::Failed(format!(
            "more than {MAX_REDIRECTS} redirects at {}",
            first.host
        )))
    }

    /// Through a proxy (the resolver then sees the proxy's name): the target's addresses
    /// pass the guard, and plain HTTP is refused.
    fn precheck(&self, o: &UrlOrigin) -> Result<(), NetError> {
        if !o.https {
            return Err(NetError::Refused(format!(
                "{}: plain HTTP through a proxy: refused",
                o.host
            )));
        }
        self.net.resolve(&o.host, o.port).map(|_| ())
    }

    fn once(&self, req: &Request, url: &str) -> Result<Response, NetError> {
        let host = parse_origin(url).map(|o| o.host).unwrap_or_default();
        let result = match (req.method, &req.body) {
            ("POST", body) => {
                let mut r = self.agent.post(url);
                for (n, v) in &req.headers {
                    r = r.header(n, v);
                }
                match body {
                    Some((ctype, bytes)) => r.header("content-type", ctype).send(&bytes[..]),
                    None => r.send_empty(),
                }
            }
            _ => {
                let mut r = self.agent.get(url);
                for (n, v) in &req.headers {
                    r = r.header(n, v);
                }
                r.call()
            }
        };
        let mut resp = result.map_err(|e| describe(&e, &host))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let mut body = Vec::new();
        let mut reader = resp.body_mut().as_reader().take(MAX_BODY + 1);
        reader.read_to_end(&mut body).map_err(|e| {
            NetError::Failed(format!("reading the answer from {host}: {}", io_reason(&e)))
        })?;
        let oversized = body.len() as u64 > MAX_BODY;
        if oversized {
            body.clear();
        }
        Ok(Response {
            status,
            headers,
            body,
            oversized,
        })
    }
}

/// Plain HTTP goes only to a private address (a mock or an internal service the user
/// allowed): credentials cross the internet over TLS.
fn plain_only_to_private(host: &str, addrs: &[std::net::SocketAddr]) -> Result<(), NetError> {
    if addrs.iter().any(|a| !super::net::special(a.ip())) {
        return Err(NetError::Refused(format!(
            "{host}: plain HTTP to a public address: refused (credentials go over TLS)"
        )));
    }
    Ok(())
}

/// A short reason for a transport failure, never the URL.
fn describe(e: &ureq::Error, host: &str) -> NetError {
    use ureq::Error as E;
    let failed = NetError::Failed;
    failed(match e {
        E::Timeout(_) => format!("{host}: timed out"),
        E::HostNotFound => format!("cannot resolve {host}"),
        // The guard's own messages (host and address only), refusal or failure.
        E::Io(io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
            return NetError::Refused(io.to_string())
        }
        E::Io(io) if io.kind() == std::io::ErrorKind::NotFound => io.to_string(),
        E::Io(io) => format!("{host}: {}", io_reason(io)),
        E::Tls(_) | E::Rustls(_) => format!("{host}: TLS failure"),
        E::ConnectionFailed => format!("{host}: connection failed"),
        E::TooManyRedirects => format!("{host}: too many redirects"),
        E::BodyExceedsLimit(_) => format!("{host}: answer too large"),
        E::LargeResponseHeader(_, _) => format!("{host}: answer headers too large"),
        E::Protocol(_) | E::BadUri(_) | E::Http(_) => format!("{host}: malformed HTTP answer"),
        _ => format!("{host}: request failed"),
    })
}

fn io_reason(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::TimedOut | K::WouldBlock => "timed out".into(),
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset | K::ConnectionAborted => "connection reset".into(),
        K::UnexpectedEof => "connection closed early".into(),
        K::InvalidData => "malformed answer".into(),
        k => format!("{k}"),
    }
}

/// Scheme, host and port of a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
struct UrlOrigin {
    https: bool,
    host: String,
    port: u16,
}

fn parse_origin(url: &str) -> Result<UrlOrigin, String> {
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("endpoint is not an http(s) URL".into());
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        return Err("endpoint URL holds credentials: refused".into());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => match p.parse::<u16>() {
            Ok(p) if !h.is_empty() && !h.contains(':') || h.starts_with('[') => (h, p),
            _ => (authority, if https { 443 } else { 80 }),
        },
        _ => (authority, if https { 443 } else { 80 }),
    };
    if host.is_empty() {
        return Err("endpoint URL has no host".into());
    }
    Ok(UrlOrigin {
        https,
        host: host.to_ascii_lowercase(),
        port,
    })
}

/// Resolves a `Location` against the URL it answered.
fn join(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    if location.starts_with("//") {
        return format!("{}{}", &base[..scheme_end - 2], location);
    }
    if location.starts_with('/') {
        return format!("{}{}", &base[..path_start], location);
    }
    let dir_end = base[..base.find('?').unwrap_or(base.len())]
        .rfind('/')
        .filter(|&i| i >= path_start)
        .map_or(base.len(), |i| i + 1);
    format!("{}{}", &base[..dir_end], location)
}

/// Values for a rule's templates.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// The credential.
    pub secret: &'a str,
    /// The provider's base URL (the rule's, or the user's `[verify.endpoints]` entry).
    pub endpoint: &'a str,
    /// The partner finding's secret, when the rule needs one.
    pub partner: Option<&'a str>,
}

/// Fills `{secret}`, `{endpoint}` and `{partner}` in one pass (a secret holding `{partner}`
/// stays as it is).
pub fn fill(template: &str, v: Vars<'_>) -> String {
    let mut out = String::with_capacity(template.len() + v.secret.len());
    let mut rest = template;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let (value, len) = if tail.starts_with("{secret}") {
            (Some(v.secret), 8)
        } else if tail.starts_with("{endpoint}") {
            (Some(v.endpoint), 10)
        } else if tail.starts_with("{partner}") {
            (Some(v.partner.unwrap_or_default()), 9)
        } else {
            (None, 1)
        };
        out.push_str(value.unwrap_or("{"));
        rest = &tail[len..];
    }
    out.push_str(rest);
    out
}

/// The request a rule's spec describes.
pub fn request(spec: &VerifySpec, v: Vars<'_>) -> Request {
    use base64::Engine as _;
    let mut headers: Vec<(String, String)> = spec
        .headers
        .iter()
        .map(|(n, t)| (n.clone(), fill(t, v)))
        .collect();
    if let Some([user, pass]) = &spec.basic {
        let pair = format!("{}:{}", fill(user, v), fill(pass, v));
        headers.push((
            "Authorization".into(),
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(pair)
            ),
        ));
    }
    if !headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("accept"))
    {
        headers.push(("Accept".into(), "application/json".into()));
    }
    Request {
        method: if spec.method.as_deref() == Some("POST") {
            "POST"
        } else {
            "GET"
        },
        url: fill(spec.url.as_deref().unwrap_or("{endpoint}"), v),
        headers,
        body: spec.body.as_ref().map(|b| {
            (
                spec.content_type
                    .clone()
                    .unwrap_or_else(|| "application/json".into()),
                fill(b, v).into_bytes(),
            )
        }),
    }
}

/// Reads an answer as the spec says.
pub fn judge(spec: &VerifySpec, resp: &Response, host: &str) -> Outcome {
    let live = if spec.live.is_empty() {
        &[200][..]
    } else {
        &spec.live
    };
    let invalid = if spec.invalid.is_empty() {
        &[401][..]
    } else {
        &spec.invalid
    };
    let s = resp.status;
    if invalid.contains(&s) {
        return Outcome::invalid(format!("{host} rejected it (HTTP {s})"));
    }
    let limited = spec.limited.contains(&s);
    if !live.contains(&s) && !limited {
        return match s {
            429 => Outcome::error(format!("{host} is rate-limiting (HTTP 429)")),
            500..=599 => Outcome::error(format!("{host} failed (HTTP {s})")),
            _ => Outcome::unknown(format!(
                "{host} answered HTTP {s}, which the rule does not read"
            )),
        };
    }
    if resp.oversized {
        return Outcome::error(format!(
            "{host}: answer larger than {} KiB, not read",
            MAX_BODY / 1024
        ));
    }
    let json = resp.json();
    if let (Some(field), false) = (&spec.live_field, limited) {
        let Some(json) = &json else {
            return Outcome::error(format!("{host}: the answer is not JSON"));
        };
        let values = pick(json, field);
        if values.is_empty() {
            return Outcome::error(format!("{host}: the answer has no {field:?}"));
        }
        if !values.iter().any(|v| spec.live_values.contains(v)) {
            // The value itself is not shown: an answer may echo what it was sent.
            return Outcome::invalid(format!(
                "{host}: {field} is not {}",
                spec.live_values.join(" or ")
            ));
        }
    }
    let mut out = if limited {
        Outcome::live(format!(
            "{host} accepted it but refused this call (HTTP {s}): live, with limited permissions"
        ))
    } else {
        Outcome::live(format!("{host} accepted it (HTTP {s})"))
    };
    let mut identity = Vec::new();
    for path in &spec.identity {
        identity.extend(read(path, resp, json.as_ref()));
    }
    identity.dedup();
    if !identity.is_empty() {
        out.identity = Some(clean(&identity.join(" / ")));
    }
    if let Some(path) = &spec.scopes {
        out.scopes = read(path, resp, json.as_ref())
            .iter()
            .flat_map(|v| v.split([',', ' ']))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(clean)
            .collect();
    }
    out.over_privileged = over_privileged(spec, &out.scopes);
    out
}

/// Why a live credential with these scopes is over-privileged, if it is.
pub fn over_privileged(spec: &VerifySpec, scopes: &[String]) -> Option<String> {
    let risky: Vec<&str> = scopes
        .iter()
        .filter(|s| {
            spec.risky_scopes.iter().any(|r| match r.strip_suffix('*') {
                Some(prefix) => s.starts_with(prefix),
                None => *s == r,
            })
        })
        .map(String::as_str)
        .collect();
    match (&spec.over_privileged, risky.is_empty()) {
        (Some(kind), true) => Some(kind.clone()),
        (Some(kind), false) => Some(format!(
            "{kind}; it also holds {}, destructive or admin rights",
            risky.join(", ")
        )),
        (None, false) => Some(format!(
            "holds {}: destructive or admin rights beyond what most uses need",
            risky.join(", ")
        )),
        (None, true) => None,
    }
}

/// Values at `path`: `header:<name>` or a JSON path.
fn read(path: &str, resp: &Response, json: Option<&Value>) -> Vec<String> {
    match path.strip_prefix("header:") {
        Some(name) => resp.header(name).map(str::to_string).into_iter().collect(),
        None => json.map(|j| pick(j, path)).unwrap_or_default(),
    }
}

/// The values at a dotted path (`result.email`; `orgs[].name` maps over an array). Strings
/// come as they are, numbers and booleans as JSON text; objects are skipped.
pub fn pick(root: &Value, path: &str) -> Vec<String> {
    let mut here = vec![root];
    for seg in path.split('.') {
        let (name, each) = match seg.strip_suffix("[]") {
            Some(n) => (n, true),
            None => (seg, false),
        };
        let mut next = Vec::new();
        for v in here {
            let v = if name.is_empty() {
                Some(v)
            } else {
                v.get(name)
            };
            match (v, each) {
                (Some(Value::Array(items)), true) => next.extend(items.iter()),
                (Some(v), false) => next.push(v),
                _ => {}
            }
        }
        here = next;
    }
    let mut out = Vec::new();
    for v in here {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Bool(_) | Value::Number(_) => out.push(v.to_string()),
            Value::Array(items) => out.extend(items.iter().filter_map(|i| match i {
                Value::String(s) => Some(s.clone()),
                Value::Bool(_) | Value::Number(_) => Some(i.to_string()),
                _ => None,
            })),
            _ => {}
        }
    }
    out.truncate(64);
    out
}

/// A value from an answer made safe to print: no control characters, at most 200 chars.
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Sends the spec's request and judges the answer, with retries on 429 and 5xx.
pub fn check(
    client: &Client,
    spec: &VerifySpec,
    v: Vars<'_>,
    retries: u32,
    pace: &dyn Fn(),
) -> Outcome {
    let req = request(spec, v);
    let host = match parse_origin(&req.url) {
        Ok(o) => o.host,
        Err(e) => return Outcome::error(e),
    };
    let mut wait = Duration::from_millis(250);
    let mut attempt = 0;
    loop {
        pace();
        let resp = match client.send(&req) {
            Ok(r) => r,
            Err(e) => return e.into(),
        };
        let retry = resp.status == 429 || matches!(resp.status, 502..=504);
        if retry && attempt < retries {
            attempt += 1;
            let after = resp
                .header("retry-after")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
                .unwrap_or(wait)
                .min(Duration::from_secs(5));
            std::thread::sleep(after);
            wait *= 2;
            continue;
        }
        let mut out = judge(spec, &resp, &host);
        if attempt > 0 && out.status == VerifyStatus::Error {
            out.detail = format!("{} after {} tries", out.detail, attempt + 1);
        }
        return out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_once() {
        let v = Vars {
            secret: "s{partner}", // leakhound:allow (a template test, not a secret)
            endpoint: "https://api.example.com",
            partner: Some("p"),
        };
        assert_eq!(
            fill("{endpoint}/x?k={secret}&p={partner}{", v),
            "https://api.example.com/x?k=s{partner}&p=p{"
        );
    }

    #[test]
    fn paths_read_nested_values_and_arrays() {
        let j: Value = serde_json::json!({"a": {"b": "x"}, "orgs": [{"name": "o1"}, {"name": "o2"}], "s": ["r", "w"], "ok": true});
        assert_eq!(pick(&j, "a.b"), ["x"]);
        assert_eq!(pick(&j, "orgs[].name"), ["o1", "o2"]);
        assert_eq!(pick(&j, "s"), ["r", "w"]);
        assert_eq!(pick(&j, "ok"), ["true"]);
        assert!(pick(&j, "missing.x").is_empty());
    }

    #[test]
    fn plain_http_goes_only_to_private_addresses() {
        let private = ["127.0.0.1:80".parse().expect("addr")];
        let public = ["140.82.112.3:80".parse().expect("addr")];
        assert!(plain_only_to_private("mock", &private).is_ok());
        assert!(matches!(
            plain_only_to_private("api.github.com", &public),
            Err(NetError::Refused(_))
        ));
    }

    #[test]
    fn origins_and_redirect_targets() {
        let o = parse_origin("https://API.example.com:8443/v1?x=1").expect("url");
        assert_eq!(
            (o.https, o.host.as_str(), o.port),
            (true, "api.example.com", 8443)
        );
        let o = parse_origin("http://[::1]:9000/x").expect("url");
        assert_eq!((o.host.as_str(), o.port), ("[::1]", 9000));
        assert!(parse_origin("https://user:pw@example.com/").is_err());
        assert!(parse_origin("ftp://example.com/").is_err());
        assert_eq!(join("https://h/a/b?q", "/c"), "https://h/c");
        assert_eq!(join("https://h/a/b", "c"), "https://h/a/c");
        assert_eq!(join("https://h/a", "https://e/x"), "https://e/x");
        assert_eq!(join("https://h/a", "//e/x"), "https://e/x");
    }
}
