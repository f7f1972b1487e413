//! PostgreSQL: SSLRequest, StartupMessage (protocol 3.0), then cleartext (over TLS only), MD5
//! or SCRAM-SHA-256, then Terminate.

use super::scram::{self, Hash};
use super::*;

const PROTOCOL_3: i32 = 196_608;
const SSL_REQUEST: i32 = 80_877_103;

pub(super) fn check(t: &Target, net: &Net) -> Result<Outcome, Stop> {
    let wish = t.tls_wish();
    let mut conn = Conn::open(net, t)?;
    if wish != TlsWish::Off {
        let mut req = 8i32.to_be_bytes().to_vec();
        req.extend(SSL_REQUEST.to_be_bytes());
        send(&mut conn, &req)?;
        let mut answer = [0u8; 1];
        conn.read_exact(&mut answer)?;
        conn = match answer {
            [b'S'] => conn.into_tls(&t.host)?,
            [b'N'] if wish == TlsWish::Require => {
                return Err(Stop(Outcome::error("server refused TLS")))
            }
            [b'N'] => conn,
            _ => return Err(bad("answer to SSLRequest")),
        };
    }
    let db = if t.db.is_empty() { &t.user } else { &t.db };
    let mut body = PROTOCOL_3.to_be_bytes().to_vec();
    for (k, v) in [
        ("user", t.user.as_str()),
        ("database", db.as_str()),
        ("application_name", "leakhound"),
    ] {
        cstr(&mut body, k);
        cstr(&mut body, v);
    }
    body.push(0);
    send(&mut conn, &frame(None, &body)?)?;
    let identity = format!("{}@{}/{}", clean(&t.user), t.addr(), clean(db));
    let method = authenticate(&mut conn, t)?;
    let session = session(&mut conn);
    let _ = send(&mut conn, &[b'X', 0, 0, 0, 4]);
    let mut o = match method {
        Some(m) => live(
            format!("authenticated as {} ({m})", clean(&t.user)),
            identity,
        ),
        None => {
            let mut o = Outcome::unknown(format!(
                "the server let {} in without asking for a password: the password was not checked",
                clean(&t.user)
            ));
            o.identity = Some(identity);
            o
        }
    };
    match session {
        Ok((true, None)) => {
            o.over_privileged =
                Some("a PostgreSQL superuser: bypasses every permission check".into())
        }
        Ok((_, None)) => {}
        Ok((_, Some(code))) => o
            .detail
            .push_str(&format!("; the session then failed (SQLSTATE {code})")),
        Err(_) => o.detail.push_str("; the session then failed"),
    }
    Ok(o)
}

/// A message: optional type byte, length (itself included), body.
fn frame(ty: Option<u8>, body: &[u8]) -> Result<Vec<u8>, Stop> {
    let len = i32::try_from(body.len() + 4).map_err(|_| unparsable())?;
    let mut m = Vec::with_capacity(body.len() + 5);
    m.extend(ty);
    m.extend(len.to_be_bytes());
    m.extend_from_slice(body);
    Ok(m)
}

fn read_msg(conn: &mut Conn) -> Result<(u8, Vec<u8>), Stop> {
    let mut head = [0u8; 5];
    conn.read_exact(&mut head)?;
    let [ty, l @ ..] = head;
    let len = usize::try_from(i32::from_be_bytes(l))
        .ok()
        .and_then(|l| l.checked_sub(4))
        .ok_or_else(|| bad("PostgreSQL message length"))?;
    Ok((ty, read_vec(conn, len)?))
}

/// The SQLSTATE of an ErrorResponse, when it looks like one (never the message text).
fn sqlstate(body: &[u8]) -> Option<String> {
    let mut c = Cursor::new(body);
    loop {
        let field = c.u8()?;
        if field == 0 {
            return None;
        }
        let value = c.cstr()?;
        if field == b'C' {
            let ok = value.len() == 5
                && value
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            return ok.then(|| String::from_utf8_lossy(value).into_owned());
        }
    }
}

fn refusal(body: &[u8], saslprep_guess: bool) -> Stop {
    let Some(code) = sqlstate(body) else {
        return Stop(Outcome::error("server error (no SQLSTATE)"));
    };
    Stop(match code.as_str() {
        "28P01" if saslprep_guess => Outcome::unknown(
            "password rejected, but it has non-ASCII characters that SASLprep may change (SQLSTATE 28P01)",
        ),
        "28P01" => Outcome::invalid("password rejected (SQLSTATE 28P01)"),
        // pg_hba rules, ident, peer or certificate methods, a role that may not log in:
        // refused, but not for this password.
        "28000" => Outcome::unknown("login refused before the password was checked (SQLSTATE 28000)"),
        "3D000" => Outcome::unknown("database does not exist (SQLSTATE 3D000)"),
        _ => Outcome::error(format!("server error (SQLSTATE {code})")),
    })
}

/// Answers the server's authentication requests until AuthenticationOk: the method used, or
/// `None` when the server asked for nothing.
fn authenticate(conn: &mut Conn, t: &Target) -> Result<Option<&'static str>, Stop> {
    let mut method = None;
    let mut scram: Option<scram::Client> = None;
    let mut verified = false;
    for _ in 0..64 {
        let (ty, body) = read_msg(conn)?;
        match ty {
            b'R' => {}
            b'E' => return Err(refusal(&body, scram.is_some() && !t.password.is_ascii())),
            b'N' | b'v' => continue,
            _ => return Err(bad("PostgreSQL message before authentication")),
        }
        let mut c = Cursor::new(&body);
        let request = c
            .i32_be()
            .ok_or_else(|| bad("PostgreSQL authentication request"))?;
        match request {
            0 => {
                if scram.is_some() && !verified {
                    return Err(Stop(Outcome::error(
                        "the server skipped SCRAM's last step (not the real server?)",
                    )));
                }
                return Ok(method);
            }
            3 => {
                if !conn.is_tls() {
                    return Err(unknown(
                        "server asks for a cleartext password without TLS: not sent",
                    ));
                }
                let mut p = Vec::new();
                cstr(&mut p, &t.password);
                send(conn, &frame(Some(b'p'), &p)?)?;
                method = Some("cleartext password over TLS");
            }
            5 => {
                let salt = c.take(4).ok_or_else(|| bad("PostgreSQL MD5 salt"))?;
                let inner = hex(&md5_of(
                    &[t.password.as_bytes(), t.user.as_bytes()].concat(),
                ));
                let outer = hex(&md5_of(&[inner.as_bytes(), salt].concat()));
                let mut p = Vec::new();
                cstr(&mut p, &format!("md5{outer}"));
                send(conn, &frame(Some(b'p'), &p)?)?;
                method = Some("MD5");
            }
            10 => {
                let mut offered = false;
                while let Some(m) = c.cstr().filter(|m| !m.is_empty()) {
                    offered |= m == b"SCRAM-SHA-256";
                }
                if !offered {
                    return Err(unknown("server offers no supported SASL mechanism"));
                }
                if scram.is_some() {
                    return Err(bad("PostgreSQL SASL restarted"));
                }
                // PostgreSQL takes the user from the startup message, not from SCRAM.
                let client = scram::Client::new(Hash::Sha256, "", t.password.as_bytes(), 1)?;
                let first = client.first();
                let mut p = Vec::new();
                cstr(&mut p, Hash::Sha256.name());
                p.extend(i32::try_from(first.len()).unwrap_or(0).to_be_bytes());
                p.extend_from_slice(first.as_bytes());
                send(conn, &frame(Some(b'p'), &p)?)?;
                scram = Some(client);
                method = Some(Hash::Sha256.name());
            }
            11 => {
                let client = scram.as_mut().ok_or_else(|| bad("PostgreSQL SASL step"))?;
                let last = client.respond(c.rest())?;
                send(conn, &frame(Some(b'p'), last.as_bytes())?)?;
            }
            12 => {
                let client = scram.as_ref().ok_or_else(|| bad("PostgreSQL SASL step"))?;
                client.verify(c.rest())?;
                verified = true;
            }
            2 | 6 | 7 | 8 | 9 => {
                return Err(unknown(
                    "server asks for Kerberos, GSSAPI or SSPI: not supported",
                ))
            }
            _ => return Err(bad("PostgreSQL authentication request")),
        }
    }
    Err(bad("too many PostgreSQL authentication messages"))
}

/// Reads the session start (parameters up to ReadyForQuery): whether the role is a
/// superuser, and the SQLSTATE if the server ended the session instead.
fn session(conn: &mut Conn) -> Result<(bool, Option<String>), Stop> {
    let mut superuser = false;
    for _ in 0..10_000 {
        let (ty, body) = read_msg(conn)?;
        match ty {
            b'S' => {
                let mut c = Cursor::new(&body);
                if c.cstr() == Some(&b"is_superuser"[..]) && c.cstr() == Some(&b"on"[..]) {
                    superuser = true;
                }
            }
            b'K' | b'N' => {}
            b'Z' => return Ok((superuser, None)),
            b'E' => {
                return Ok((
                    superuser,
                    Some(sqlstate(&body).unwrap_or_else(|| "unknown".into())),
                ))
            }
            _ => return Err(bad("PostgreSQL message after authentication")),
        }
    }
    Err(bad("too many PostgreSQL messages"))
}
