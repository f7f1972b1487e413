//! Redis: AUTH (RESP2), then `ACL WHOAMI` for the identity, then QUIT.

use super::*;

const MAX_LINE: u64 = 64 * 1024;

enum Reply {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Bulk(Option<Vec<u8>>),
    Other,
}

pub(super) fn check(t: &Target, net: &Net) -> Result<Outcome, Stop> {
    let mut conn = Conn::open(net, t)?;
    if t.scheme == "rediss" {
        conn = conn.into_tls(&t.host)?;
    }
    let mut r = BufReader::new(conn);
    let pass = t.password.as_bytes();
    let mut user = (!t.user.is_empty()).then_some(t.user.as_str());
    let mut reply = auth(&mut r, user, pass)?;
    if user.is_some()
        && matches!(&reply, Reply::Error(e) if e.starts_with(b"ERR wrong number of arguments"))
    {
        // A server before ACLs (Redis 5 and older) takes the password alone.
        user = None;
        reply = auth(&mut r, None, pass)?;
    }
    match reply {
        Reply::Simple(s) if s == b"OK" => {}
        Reply::Error(e) => return Err(Stop(refusal(&e))),
        _ => return Err(bad("Redis answer to AUTH")),
    }
    // After a successful AUTH nothing changes the verdict: a missing ACL command means an
    // old server, where every client is the default user.
    let name = whoami(&mut r).unwrap_or_else(|| user.unwrap_or("default").to_string());
    let _ = send(r.get_mut(), &command(&[b"QUIT"]));
    let detail = match user {
        Some(u) => format!("authenticated as {} (AUTH)", clean(u)),
        None => "password accepted (AUTH)".to_string(),
    };
    Ok(live(detail, format!("{}@{}", clean(&name), t.addr())))
}

fn auth(r: &mut BufReader<Conn>, user: Option<&str>, pass: &[u8]) -> Result<Reply, Stop> {
    let cmd = match user {
        Some(u) => command(&[b"AUTH", u.as_bytes(), pass]),
        None => command(&[b"AUTH", pass]),
    };
    send(r.get_mut(), &cmd)?;
    read_reply(r)
}

fn whoami(r: &mut BufReader<Conn>) -> Option<String> {
    send(r.get_mut(), &command(&[b"ACL", b"WHOAMI"])).ok()?;
    match read_reply(r).ok()? {
        Reply::Bulk(Some(n)) | Reply::Simple(n) => {
            Some(clean(&String::from_utf8_lossy(&n))).filter(|n| !n.is_empty())
        }
        _ => None,
    }
}

fn refusal(e: &[u8]) -> Outcome {
    let has = |needle: &[u8]| e.windows(needle.len()).any(|w| w == needle);
    if e.starts_with(b"WRONGPASS") {
        Outcome::invalid("password rejected (WRONGPASS)")
    } else if e.starts_with(b"ERR invalid password")
        || e.starts_with(b"ERR invalid username-password pair")
    {
        Outcome::invalid("password rejected (ERR invalid password)")
    } else if e.starts_with(b"ERR Client sent AUTH, but no password is set")
        || has(b"without any password configured")
    {
        Outcome::unknown("server has no password set (it lets any client in)")
    } else {
        let word = e.split(|&b| b == b' ').next().unwrap_or_default();
        if (1..=16).contains(&word.len()) && word.iter().all(u8::is_ascii_uppercase) {
            Outcome::error(format!(
                "server error (Redis {})",
                String::from_utf8_lossy(word)
            ))
        } else {
            Outcome::error("server error (Redis)")
        }
    }
}

/// A RESP array of bulk strings.
pub(super) fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend(format!("${}\r\n", a.len()).into_bytes());
        out.extend_from_slice(a);
        out.extend(b"\r\n");
    }
    out
}

fn read_line(r: &mut BufReader<Conn>) -> Result<Vec<u8>, Stop> {
    let mut line = Vec::new();
    r.by_ref().take(MAX_LINE).read_until(b'\n', &mut line)?;
    if line.is_empty() {
        return Err(Stop(Outcome::error("the server closed the connection")));
    }
    match line.strip_suffix(b"\r\n") {
        Some(l) => Ok(l.to_vec()),
        None => Err(bad("Redis line")),
    }
}

fn read_reply(r: &mut BufReader<Conn>) -> Result<Reply, Stop> {
    let line = read_line(r)?;
    let Some((&ty, rest)) = line.split_first() else {
        return Err(bad("Redis reply"));
    };
    Ok(match ty {
        b'+' => Reply::Simple(rest.to_vec()),
        b'-' => Reply::Error(rest.to_vec()),
        b':' | b'*' => Reply::Other,
        b'$' => {
            let n = std::str::from_utf8(rest)
                .ok()
                .and_then(|n| n.parse::<i64>().ok())
                .ok_or_else(|| bad("Redis bulk length"))?;
            if n == -1 {
                return Ok(Reply::Bulk(None));
            }
            let n = usize::try_from(n).map_err(|_| bad("Redis bulk length"))?;
            let mut data = read_vec(r, n.checked_add(2).ok_or_else(|| bad("Redis bulk length"))?)?;
            if data.split_off(n) != b"\r\n" {
                return Err(bad("Redis bulk terminator"));
            }
            Reply::Bulk(Some(data))
        }
        _ => return Err(bad("Redis reply type")),
    })
}
