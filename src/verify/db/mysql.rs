//! MySQL and MariaDB: Handshake v10, optional SSLRequest, HandshakeResponse41 with
//! mysql_native_password or caching_sha2_password, auth switches, then COM_QUIT.

use super::*;

const LONG_PASSWORD: u32 = 0x1;
const PROTOCOL_41: u32 = 0x200;
const SSL: u32 = 0x800;
const TRANSACTIONS: u32 = 0x2000;
const SECURE_CONNECTION: u32 = 0x8000;
const PLUGIN_AUTH: u32 = 0x8_0000;
const PLUGIN_AUTH_LENENC: u32 = 0x20_0000;
const UTF8MB4: u8 = 45;
const NATIVE: &str = "mysql_native_password";
const CACHING_SHA2: &str = "caching_sha2_password";
const SHA256_PASSWORD: &str = "sha256_password";
const CLEAR: &str = "mysql_clear_password";

struct Handshake {
    caps: u32,
    scramble: Vec<u8>,
    plugin: Vec<u8>,
}

pub(super) fn check(t: &Target, net: &Net) -> Result<Outcome, Stop> {
    let mut conn = Conn::open(net, t)?;
    let (seq, packet) = read_packet(&mut conn)?;
    if packet.first() == Some(&0xff) {
        return Err(refusal(&packet));
    }
    let hs = handshake(&packet)?;
    if hs.caps & PROTOCOL_41 == 0 || hs.caps & SECURE_CONNECTION == 0 {
        return Err(Stop(Outcome::error(
            "the server speaks a pre-4.1 protocol: not supported",
        )));
    }
    let mut caps = LONG_PASSWORD
        | PROTOCOL_41
        | TRANSACTIONS
        | SECURE_CONNECTION
        | (hs.caps & (PLUGIN_AUTH | PLUGIN_AUTH_LENENC));
    let mut seq = seq.wrapping_add(1);
    let offers_tls = hs.caps & SSL != 0;
    let wish = t.tls_wish();
    if wish == TlsWish::Require && !offers_tls {
        return Err(Stop(Outcome::error("server does not offer TLS")));
    }
    if wish != TlsWish::Off && offers_tls {
        caps |= SSL;
        write_packet(&mut conn, seq, &fixed_part(caps))?;
        seq = seq.wrapping_add(1);
        conn = conn.into_tls(&t.host)?;
    }
    // The client names a plugin; if the account uses another, the server switches.
    let mut plugin = if hs.plugin == CACHING_SHA2.as_bytes() {
        CACHING_SHA2
    } else {
        NATIVE
    };
    let data = scramble(plugin, t.password.as_bytes(), &hs.scramble)?;
    let mut p = fixed_part(caps);
    cstr(&mut p, &t.user);
    // Both length encodings take one byte below 251; a scramble is 20 or 32 bytes.
    p.push(u8::try_from(data.len()).map_err(|_| unparsable())?);
    p.extend_from_slice(&data);
    if caps & PLUGIN_AUTH != 0 {
        cstr(&mut p, plugin);
    }
    write_packet(&mut conn, seq, &p)?;
    for _ in 0..8 {
        let (s, reply) = read_packet(&mut conn)?;
        seq = s.wrapping_add(1);
        match reply.first() {
            Some(0x00) => {
                let _ = write_packet(&mut conn, 0, &[0x01]);
                let identity = format!("{}@{}", clean(&t.user), t.addr());
                let detail = format!("authenticated as {} ({plugin})", clean(&t.user));
                return Ok(live(detail, identity));
            }
            Some(0xff) => return Err(refusal(&reply)),
            Some(0xfe) => {
                let mut c = Cursor::new(reply.get(1..).unwrap_or_default());
                if c.is_empty() {
                    return Err(unknown(
                        "server asks for the pre-4.1 password scheme: not supported",
                    ));
                }
                let name = c.cstr().ok_or_else(|| bad("MySQL auth switch"))?;
                plugin = [NATIVE, CACHING_SHA2, SHA256_PASSWORD, CLEAR]
                    .into_iter()
                    .find(|p| p.as_bytes() == name)
                    .ok_or_else(|| {
                        unknown("server asks for an unsupported authentication plugin")
                    })?;
                let data = match plugin {
                    NATIVE | CACHING_SHA2 => scramble(plugin, t.password.as_bytes(), c.rest())?,
                    _ => cleartext(&conn, t)?,
                };
                write_packet(&mut conn, seq, &data)?;
            }
            Some(0x01) => match reply.get(1..) {
                Some([0x03]) if plugin == CACHING_SHA2 => {}
                Some([0x04]) if plugin == CACHING_SHA2 => {
                    if !conn.is_tls() {
                        return Err(unknown(
                            "server needs full caching_sha2 authentication over TLS",
                        ));
                    }
                    let data = cleartext(&conn, t)?;
                    write_packet(&mut conn, seq, &data)?;
                }
                _ => return Err(bad("MySQL auth data")),
            },
            _ => return Err(bad("MySQL authentication answer")),
        }
    }
    Err(bad("too many MySQL authentication rounds"))
}

/// The password itself (NUL-terminated), which is only ever sent over TLS.
fn cleartext(conn: &Conn, t: &Target) -> Result<Vec<u8>, Stop> {
    if !conn.is_tls() {
        return Err(unknown(
            "server asks for a cleartext password without TLS: not sent",
        ));
    }
    let mut p = Vec::new();
    cstr(&mut p, &t.password);
    Ok(p)
}

/// The scramble for a challenge-response plugin, from the server's 20-byte nonce.
pub(super) fn scramble(plugin: &str, password: &[u8], nonce: &[u8]) -> Result<Vec<u8>, Stop> {
    let nonce = nonce.get(..20).ok_or_else(|| bad("MySQL scramble"))?;
    Ok(if plugin == CACHING_SHA2 {
        let p1 = sha256(password);
        let p3 = sha256(&[sha256(&p1).as_slice(), nonce].concat());
        xor(&p1, &p3)
    } else {
        let s1 = sha1(password);
        let s3 = sha1(&[nonce, sha1(&s1).as_slice()].concat());
        xor(&s1, &s3)
    })
}

/// Capabilities, max packet size, character set and filler: the SSLRequest packet, and
/// the start of HandshakeResponse41.
fn fixed_part(caps: u32) -> Vec<u8> {
    let mut p = caps.to_le_bytes().to_vec();
    p.extend((1u32 << 24).to_le_bytes());
    p.push(UTF8MB4);
    p.extend([0u8; 23]);
    p
}

fn handshake(p: &[u8]) -> Result<Handshake, Stop> {
    let e = || bad("MySQL handshake");
    let mut c = Cursor::new(p);
    if c.u8() != Some(10) {
        return Err(bad("not a MySQL protocol 10 handshake"));
    }
    c.cstr().ok_or_else(e)?; // server version
    c.take(4).ok_or_else(e)?; // connection id
    let mut scramble = c.take(8).ok_or_else(e)?.to_vec();
    c.take(1).ok_or_else(e)?;
    let mut caps = u32::from(c.u16_le().ok_or_else(e)?);
    let mut plugin = Vec::new();
    if !c.is_empty() {
        c.take(3).ok_or_else(e)?; // character set, status
        caps |= u32::from(c.u16_le().ok_or_else(e)?) << 16;
        let auth_len = c.u8().ok_or_else(e)?;
        c.take(10).ok_or_else(e)?;
        if caps & SECURE_CONNECTION != 0 {
            let n = usize::from(auth_len).saturating_sub(8).max(13);
            scramble.extend_from_slice(c.take(n).ok_or_else(e)?);
        }
        if caps & PLUGIN_AUTH != 0 {
            plugin = match c.cstr() {
                Some(name) => name.to_vec(),
                None => c.rest().to_vec(),
            };
        }
    }
    Ok(Handshake {
        caps,
        scramble,
        plugin,
    })
}

fn refusal(packet: &[u8]) -> Stop {
    Stop(match packet.get(1..3) {
        Some(&[a, b]) => match u16::from_le_bytes([a, b]) {
            1045 => Outcome::invalid("password rejected (MySQL error 1045)"),
            code => Outcome::error(format!("server error (MySQL error {code})")),
        },
        _ => Outcome::error("server error (MySQL)"),
    })
}

fn read_packet(conn: &mut Conn) -> Result<(u8, Vec<u8>), Stop> {
    let mut h = [0u8; 4];
    conn.read_exact(&mut h)?;
    let [a, b, c, seq] = h;
    let len = usize::from(a) | usize::from(b) << 8 | usize::from(c) << 16;
    Ok((seq, read_vec(conn, len)?))
}

fn write_packet(conn: &mut Conn, seq: u8, payload: &[u8]) -> Result<(), Stop> {
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|&l| l < 1 << 24)
        .ok_or_else(unparsable)?;
    let mut p = len.to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    send(conn, &p)
}
