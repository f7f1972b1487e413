//! Database handshakes for `--verify`: log in with a URI's credentials (PostgreSQL, MySQL and
//! MariaDB, MongoDB, Redis), run nothing, disconnect. Every connection goes through [`Net`];
//! no server text is quoted back (error codes only), every read is capped, nothing panics.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Ipv6Addr, TcpStream};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use super::net::Net;
use super::Outcome;
use crate::rules::VerifyKind;

/// The largest message read from a server; a login's answers are a few hundred bytes.
const MAX_MESSAGE: usize = 1 << 20;

/// Checks a database URI's credentials: authenticate, run nothing, disconnect.
///
/// `kind` is the protocol (`Postgres`, `Mysql`, `Mongodb` or `Redis`; any other kind is
/// `Unknown`). The connection goes only to the URI's first host, through `net` (its address
/// guard and timeouts), and the whole login must finish within `net.timeout`. `Live` means the
/// server accepted the password; `Invalid` that it rejected it; `Unknown` that it could not be
/// decided (no password in the URI, a refused address, a login method that is not supported);
/// `Error` that the check failed (network, TLS, timeout, a malformed answer). `detail` never
/// holds the password or text from the server.
///
/// ```
/// use leakhound::rules::VerifyKind;
/// use leakhound::verify::{db, net::Net};
/// let o = db::check(VerifyKind::Redis, "redis://cache.internal:6379/0", &Net::default());
/// assert_eq!(o.detail, "no password in the URI");
/// ```
pub fn check(kind: VerifyKind, uri: &str, net: &Net) -> Outcome {
    let db = match kind {
        VerifyKind::Postgres => Db::Postgres,
        VerifyKind::Mysql => Db::Mysql,
        VerifyKind::Mongodb => Db::Mongodb,
        VerifyKind::Redis => Db::Redis,
        _ => return Outcome::unknown("not a database check"),
    };
    let run = Target::parse(db, uri).and_then(|t| match db {
        Db::Postgres => postgres::check(&t, net),
        Db::Mysql => mysql::check(&t, net),
        Db::Mongodb => mongo::check(&t, net),
        Db::Redis => redis::check(&t, net),
    });
    run.unwrap_or_else(|Stop(o)| o)
}

/// A check that ended before its normal end, with the outcome to report (a verdict, a
/// limitation or a failure).
#[derive(Debug)]
struct Stop(Outcome);

impl From<io::Error> for Stop {
    fn from(e: io::Error) -> Stop {
        Stop(io_outcome(&e))
    }
}

fn bad(what: &'static str) -> Stop {
    Stop(Outcome::error(format!(
        "malformed answer from the server ({what})"
    )))
}

fn unknown(detail: impl Into<String>) -> Stop {
    Stop(Outcome::unknown(detail))
}

fn io_outcome(e: &io::Error) -> Outcome {
    if let Some(t) = e.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
        return tls_outcome(t);
    }
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Outcome::error("timed out"),
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Outcome::error("the server closed the connection"),
        k => Outcome::error(format!("connection failed: {k}")),
    }
}

/// A live outcome with its identity.
fn live(detail: String, identity: String) -> Outcome {
    let mut o = Outcome::live(detail);
    o.identity = Some(identity);
    o
}

/// A name for a report: no control characters, bounded (it may come from hostile input).
fn clean(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(128).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn xor(a: &[u8], b: &[u8]) -> Vec<u8> {
    a.iter().zip(b).map(|(x, y)| x ^ y).collect()
}

fn md5_of(data: &[u8]) -> Vec<u8> {
    use md5::{Digest, Md5};
    Md5::digest(data).to_vec()
}

fn sha1(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

fn sha256(data: &[u8]) -> Vec<u8> {
    ring::digest::digest(&ring::digest::SHA256, data)
        .as_ref()
        .to_vec()
}

/// Equal bytes, compared without an early exit.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn cstr(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(s.as_bytes());
    out.push(0);
}

/// Reads exactly `len` bytes, refusing lengths past [`MAX_MESSAGE`] before allocating.
fn read_vec(r: &mut impl Read, len: usize) -> Result<Vec<u8>, Stop> {
    if len > MAX_MESSAGE {
        return Err(bad("oversized message"));
    }
    let mut v = vec![0; len];
    r.read_exact(&mut v)?;
    Ok(v)
}

fn send(w: &mut impl Write, bytes: &[u8]) -> Result<(), Stop> {
    w.write_all(bytes)?;
    w.flush()?;
    Ok(())
}

/// A bounds-checked reader over one message.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(buf: &'a [u8]) -> Cursor<'a> {
        Cursor { buf, pos: 0 }
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let s = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N).and_then(|s| s.try_into().ok())
    }

    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }

    fn u16_le(&mut self) -> Option<u16> {
        self.array().map(u16::from_le_bytes)
    }

    fn i32_be(&mut self) -> Option<i32> {
        self.array().map(i32::from_be_bytes)
    }

    /// Bytes up to the next NUL (consumed, not returned).
    fn cstr(&mut self) -> Option<&'a [u8]> {
        let rest = self.buf.get(self.pos..)?;
        let n = rest.iter().position(|&b| b == 0)?;
        self.pos += n + 1;
        rest.get(..n)
    }

    fn rest(&mut self) -> &'a [u8] {
        let r = self.buf.get(self.pos..).unwrap_or_default();
        self.pos = self.buf.len();
        r
    }

    fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Db {
    Postgres,
    Mysql,
    Mongodb,
    Redis,
}

/// What a URI asks about TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TlsWish {
    Off,
    Prefer,
    Require,
}

/// The parts of a URI a login needs (user, password and database percent-decoded).
#[derive(Debug)]
struct Target {
    scheme: String,
    user: String,
    password: String,
    host: String,
    port: u16,
    db: String,
    params: Vec<(String, String)>,
}

fn unparsable() -> Stop {
    Stop(Outcome::error("cannot parse the URI"))
}

fn percent_decode(s: &str) -> Result<String, Stop> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| unparsable())
}

fn split_host_port(s: &str, default: u16) -> Result<(String, u16), Stop> {
    let (host, port) = match s.strip_prefix('[') {
        Some(r) => {
            let (h, after) = r.split_once(']').ok_or_else(unparsable)?;
            h.parse::<Ipv6Addr>().map_err(|_| unparsable())?;
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(unparsable)?),
            };
            (h, port)
        }
        None => match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        },
    };
    if host.is_empty() {
        return Err(unknown("no network host in the URI"));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':');
    if !host.chars().all(ok) {
        return Err(unparsable());
    }
    let port = match port {
        None | Some("") => default,
        Some(p) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(unparsable)?,
    };
    Ok((host.to_string(), port))
}

/// Lowercase, without `-` and `_` (so `ssl-mode`, `sslMode` and `ssl_mode` are one key).
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

impl Target {
    fn parse(db: Db, uri: &str) -> Result<Target, Stop> {
        let uri = uri.trim();
        let uri = match uri.get(..5) {
            Some(p) if p.eq_ignore_ascii_case("jdbc:") => uri.get(5..).unwrap_or_default(),
            _ => uri,
        };
        let (scheme, rest) = uri.split_once("://").ok_or_else(unparsable)?;
        let scheme = scheme.to_ascii_lowercase();
        if db == Db::Mongodb && scheme == "mongodb+srv" {
            return Err(unknown("mongodb+srv needs an SRV lookup, not supported"));
        }
        // SQLAlchemy-style driver suffixes: postgresql+psycopg2, mysql+pymysql.
        let base = scheme.split('+').next().unwrap_or_default();
        let known = match db {
            Db::Postgres => matches!(base, "postgres" | "postgresql"),
            Db::Mysql => matches!(base, "mysql" | "mariadb"),
            Db::Mongodb => scheme == "mongodb",
            Db::Redis => matches!(base, "redis" | "rediss"),
        };
        if db == Db::Mysql && base == "mysqlx" {
            return Err(unknown("the MySQL X protocol is not supported"));
        }
        if !known {
            return Err(unparsable());
        }
        // The password may hold `@`, `?` or `#` unescaped, never `/`: the user information ends
        // at the last `@` before the first `/`.
        let slash = rest.find('/').unwrap_or(rest.len());
        let (userinfo, after) = match rest.get(..slash).and_then(|a| a.rfind('@')) {
            Some(at) => (
                rest.get(..at).unwrap_or_default(),
                rest.get(at + 1..).unwrap_or_default(),
            ),
            None => ("", rest),
        };
        let host_end = after.find(['/', '?', '#']).unwrap_or(after.len());
        let (hosts, tail) = after.split_at(host_end);
        let first = hosts.split(',').next().unwrap_or_default();
        let default_port = match db {
            Db::Postgres => 5432,
            Db::Mysql => 3306,
            Db::Mongodb => 27017,
            Db::Redis => 6379,
        };
        let (host, port) = split_host_port(first, default_port)?;
        let tail = tail.split('#').next().unwrap_or_default();
        let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
        let db_name = path.trim_start_matches('/').split('/').next();
        let db_name = percent_decode(db_name.unwrap_or_default())?;
        let mut params = Vec::new();
        for pair in query.split(['&', ';']).filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            params.push((percent_decode(k)?.to_ascii_lowercase(), percent_decode(v)?));
        }
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (percent_decode(u)?, percent_decode(p)?),
            None => (percent_decode(userinfo)?, String::new()),
        };
        // A NUL would end a C string early in the wire formats (and smuggle in parameters).
        if [&user, &password, &db_name]
            .iter()
            .any(|s| s.contains('\0'))
        {
            return Err(unparsable());
        }
        if password.is_empty() {
            return Err(unknown("no password in the URI"));
        }
        Ok(Target {
            scheme,
            user,
            password,
            host,
            port,
            db: db_name,
            params,
        })
    }

    /// A query parameter's raw value; names are matched like [`norm`].
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| norm(k) == name)
            .map(|(_, v)| v.as_str())
    }

    /// TLS as the URI's `sslmode`, `ssl-mode`, `ssl`, `tls`, `useSSL` or `requireSSL` asks
    /// (a requirement wins over a preference); `Prefer` when it says nothing.
    fn tls_wish(&self) -> TlsWish {
        let mut wish = TlsWish::Prefer;
        for (k, v) in &self.params {
            if !matches!(
                norm(k).as_str(),
                "sslmode" | "ssl" | "tls" | "usessl" | "requiressl"
            ) {
                continue;
            }
            match norm(v).as_str() {
                "disable" | "disabled" | "false" | "0" | "off" | "no"
                    if wish == TlsWish::Prefer =>
                {
                    wish = TlsWish::Off;
                }
                "require" | "required" | "verifyca" | "verifyfull" | "verifyidentity" | "true"
                | "1" | "on" | "yes" | "skipverify" => wish = TlsWish::Require,
                _ => {}
            }
        }
        wish
    }

    /// `host:port`, with brackets around an IPv6 address.
    fn addr(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// A TCP stream whose every read and write must finish before one deadline, so a server that
/// dribbles bytes cannot stretch a login past the exchange timeout.
struct Sock {
    tcp: TcpStream,
    deadline: Instant,
}

impl Sock {
    fn left(&self) -> io::Result<std::time::Duration> {
        let left = self.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            Err(io::ErrorKind::TimedOut.into())
        } else {
            Ok(left)
        }
    }
}

impl Read for Sock {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_read_timeout(Some(left))?;
        self.tcp.read(buf)
    }
}

impl Write for Sock {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let left = self.left()?;
        self.tcp.set_write_timeout(Some(left))?;
        self.tcp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.tcp.flush()
    }
}

/// A connection to the server, in plaintext or TLS.
enum Conn {
    Plain(Sock),
    Tls(Box<rustls::StreamOwned<rustls::ClientConnection, Sock>>),
}

impl Conn {
    /// Connects through the guard; a refused address is `Unknown`, other failures `Error`.
    fn open(net: &Net, t: &Target) -> Result<Conn, Stop> {
        let tcp = net.connect(&t.host, t.port).map_err(|e| Stop(e.into()))?;
        Ok(Conn::Plain(Sock {
            tcp,
            deadline: Instant::now() + net.timeout,
        }))
    }

    /// Runs a TLS handshake over the connection, checking the certificate against the web PKI
    /// roots for `host`.
    fn into_tls(self, host: &str) -> Result<Conn, Stop> {
        let mut sock = match self {
            Conn::Plain(s) => s,
            tls @ Conn::Tls(_) => return Ok(tls),
        };
        let name = rustls::pki_types::ServerName::try_from(host.to_string())
            .map_err(|_| Stop(Outcome::error("TLS: the host is not a valid server name")))?;
        let mut tls = rustls::ClientConnection::new(tls_config()?, name)
            .map_err(|e| Stop(tls_outcome(&e)))?;
        while tls.is_handshaking() {
            tls.complete_io(&mut sock).map_err(|e| match e.kind() {
                io::ErrorKind::UnexpectedEof
                | io::ErrorKind::ConnectionReset
                | io::ErrorKind::BrokenPipe => Stop(Outcome::error(
                    "TLS: the server closed the connection during the handshake",
                )),
                _ => Stop::from(e),
            })?;
        }
        Ok(Conn::Tls(Box::new(rustls::StreamOwned::new(tls, sock))))
    }

    fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

fn tls_config() -> Result<Arc<rustls::ClientConfig>, Stop> {
    static CONFIG: OnceLock<Option<Arc<rustls::ClientConfig>>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let roots: rustls::RootCertStore =
                webpki_roots::TLS_SERVER_ROOTS.iter().cloned().collect();
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .ok()?
                .with_root_certificates(roots)
                .with_no_client_auth();
            Some(Arc::new(config))
        })
        .clone()
        .ok_or_else(|| Stop(Outcome::error("TLS: no client configuration")))
}

/// A short reason for a TLS failure, in our words (a certificate error can carry the names the
/// server presented).
fn tls_outcome(e: &rustls::Error) -> Outcome {
    use rustls::{CertificateError as C, Error as E};
    let why = match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "certificate not trusted".to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "certificate is not for this host".to_string()
            }
            C::Expired | C::ExpiredContext { .. } => "certificate expired".to_string(),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "certificate not yet valid".to_string()
            }
            C::Revoked => "certificate revoked".to_string(),
            _ => "invalid certificate".to_string(),
        },
        E::AlertReceived(a) => format!("the server sent alert {a:?}"),
        E::InvalidMessage(_)
        | E::InappropriateMessage { .. }
        | E::InappropriateHandshakeMessage { .. }
        | E::PeerSentOversizedRecord => "malformed handshake".to_string(),
        E::PeerIncompatible(_) => "no protocol version or cipher in common".to_string(),
        E::PeerMisbehaved(_) => "the server broke the protocol".to_string(),
        E::NoCertificatesPresented => "no certificate".to_string(),
        E::DecryptError => "decryption failed".to_string(),
        _ => "handshake failed".to_string(),
    };
    Outcome::error(format!("TLS: {why}"))
}

mod scram;

mod postgres;

mod mysql;

mod bson;

mod mongo;

mod redis;

#[cfg(test)]
mod tests;
