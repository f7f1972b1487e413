//! MongoDB: OP_MSG `hello` (with `saslSupportedMechs`), SCRAM-SHA-256 or SCRAM-SHA-1 through
//! saslStart/saslContinue, then the read-only `connectionStatus` for the user's roles.

use super::bson::{Bson, Doc};
use super::scram::{self, Hash};
use super::*;

const OP_MSG: i32 = 2013;

/// Roles that hold admin or cluster-wide rights, and why they matter.
const ADMIN_ROLES: [(&str, Option<&str>, &str); 8] = [
    ("root", None, "every action on every database"),
    ("__system", None, "every action (an internal role)"),
    ("dbOwner", Some("admin"), "owns the admin database"),
    ("userAdmin", Some("admin"), "can grant itself any role"),
    ("userAdminAnyDatabase", None, "can grant itself any role"),
    (
        "readWriteAnyDatabase",
        None,
        "reads and writes every database",
    ),
    ("dbAdminAnyDatabase", None, "administers every database"),
    ("clusterAdmin", None, "administers the cluster"),
];

pub(super) fn check(t: &Target, net: &Net) -> Result<Outcome, Stop> {
    let source = match (t.param("authsource"), t.db.as_str()) {
        (Some(s), _) if !s.is_empty() => s.to_string(),
        (_, "") => "admin".to_string(),
        (_, db) => db.to_string(),
    };
    let forced = match t.param("authmechanism").map(str::to_ascii_uppercase) {
        None => None,
        Some(m) if m == "SCRAM-SHA-256" => Some(Hash::Sha256),
        Some(m) if m == "SCRAM-SHA-1" => Some(Hash::Sha1),
        Some(_) => {
            return Err(unknown(
                "the URI asks for an authentication mechanism other than SCRAM: not supported",
            ))
        }
    };
    let mut conn = Conn::open(net, t)?;
    if t.tls_wish() == TlsWish::Require {
        conn = conn.into_tls(&t.host)?;
    }
    let mut session = Session { conn, id: 0 };
    let mechs = format!("{source}.{}", t.user);
    let mut hello = None;
    for name in ["hello", "isMaster"] {
        let cmd = Doc::new()
            .with(name, Bson::Int32(1))
            .with("saslSupportedMechs", Bson::Str(mechs.clone()))
            .with("$db", Bson::Str("admin".into()));
        let reply = session.command(&cmd)?;
        if ok(&reply) {
            hello = Some(reply);
            break;
        }
    }
    let hello = hello.ok_or_else(|| Stop(Outcome::error("the server refused hello")))?;
    let offered = hello
        .get("saslSupportedMechs")
        .and_then(Bson::as_array)
        .unwrap_or_default();
    // The auth spec: SCRAM-SHA-256 when the server lists it, else SCRAM-SHA-1.
    let hash = forced.unwrap_or(
        if offered
            .iter()
            .any(|m| m.as_str() == Some(Hash::Sha256.name()))
        {
            Hash::Sha256
        } else {
            Hash::Sha1
        },
    );
    let password = match hash {
        Hash::Sha1 => hex(&md5_of(
            format!("{}:mongo:{}", t.user, t.password).as_bytes(),
        ))
        .into_bytes(),
        Hash::Sha256 => t.password.as_bytes().to_vec(),
    };
    let saslprep_guess = hash == Hash::Sha256 && !t.password.is_ascii();
    let mut client = scram::Client::new(hash, &t.user, &password, 4096)?;
    let start = Doc::new()
        .with("saslStart", Bson::Int32(1))
        .with("mechanism", Bson::Str(hash.name().into()))
        .with("payload", Bson::Binary(0, client.first().into_bytes()))
        .with("autoAuthorize", Bson::Int32(1))
        .with(
            "options",
            Bson::Doc(Doc::new().with("skipEmptyExchange", Bson::Bool(true))),
        )
        .with("$db", Bson::Str(source.clone()));
    let reply = session.command(&start)?;
    if !ok(&reply) {
        return Err(refusal(&reply, saslprep_guess));
    }
    let conversation = reply
        .get("conversationId")
        .cloned()
        .ok_or_else(|| bad("MongoDB saslStart reply"))?;
    let last = client.respond(payload(&reply)?)?;
    let mut step = |data: Vec<u8>| -> Result<Doc, Stop> {
        let cmd = Doc::new()
            .with("saslContinue", Bson::Int32(1))
            .with("conversationId", conversation.clone())
            .with("payload", Bson::Binary(0, data))
            .with("$db", Bson::Str(source.clone()));
        let reply = session.command(&cmd)?;
        if ok(&reply) {
            Ok(reply)
        } else {
            Err(refusal(&reply, saslprep_guess))
        }
    };
    let mut reply = step(last.into_bytes())?;
    client.verify(payload(&reply)?)?;
    let mut rounds = 0;
    while reply.get("done") != Some(&Bson::Bool(true)) {
        rounds += 1;
        if rounds > 2 {
            return Err(bad("MongoDB SASL never finishes"));
        }
        reply = step(Vec::new())?;
    }
    let identity = format!("{}@{}/{}", clean(&t.user), t.addr(), clean(&source));
    let detail = format!("authenticated as {} ({})", clean(&t.user), hash.name());
    let mut o = live(detail, identity);
    let status = Doc::new()
        .with("connectionStatus", Bson::Int32(1))
        .with("showPrivileges", Bson::Bool(false))
        .with("$db", Bson::Str(source.clone()));
    match session.command(&status) {
        Ok(reply) if ok(&reply) => {
            let roles = roles(&reply);
            let admin: Vec<String> = roles
                .iter()
                .filter_map(|(role, db)| {
                    ADMIN_ROLES
                        .iter()
                        .find(|(r, on, _)| {
                            *r == role.as_str() && on.is_none_or(|on| on == db.as_str())
                        })
                        .map(|(_, _, why)| format!("{role}@{db} ({why})"))
                })
                .collect();
            if !admin.is_empty() {
                o.over_privileged =
                    Some(format!("holds MongoDB admin roles: {}", admin.join(", ")));
            }
            o.scopes = roles.iter().map(|(r, d)| format!("{r}@{d}")).collect();
            o.scopes.sort();
            o.scopes.dedup();
        }
        _ => o.detail.push_str("; roles unknown"),
    }
    Ok(o)
}

fn ok(reply: &Doc) -> bool {
    reply
        .get("ok")
        .and_then(Bson::as_f64)
        .is_some_and(|v| (v - 1.0).abs() < f64::EPSILON)
}

fn payload(reply: &Doc) -> Result<&[u8], Stop> {
    reply
        .get("payload")
        .and_then(Bson::as_binary)
        .ok_or_else(|| bad("MongoDB SASL payload"))
}

fn refusal(reply: &Doc, saslprep_guess: bool) -> Stop {
    let code = reply.get("code").and_then(Bson::as_f64);
    Stop(match code {
        Some(c) if (c - 18.0).abs() < f64::EPSILON && saslprep_guess => Outcome::unknown(
            "password rejected, but it has non-ASCII characters that SASLprep may change (MongoDB code 18)",
        ),
        Some(c) if (c - 18.0).abs() < f64::EPSILON => {
            Outcome::invalid("password rejected (MongoDB code 18)")
        }
        Some(c) => Outcome::error(format!("server error (MongoDB code {c})")),
        None => Outcome::error("server error (MongoDB)"),
    })
}

/// `authInfo.authenticatedUserRoles` as (role, database), cleaned and bounded.
fn roles(reply: &Doc) -> Vec<(String, String)> {
    let list = reply
        .get("authInfo")
        .and_then(Bson::as_doc)
        .and_then(|a| a.get("authenticatedUserRoles"))
        .and_then(Bson::as_array)
        .unwrap_or_default();
    list.iter()
        .filter_map(Bson::as_doc)
        .filter_map(|r| {
            let role = r.get("role").and_then(Bson::as_str)?;
            let db = r.get("db").and_then(Bson::as_str)?;
            Some((clean(role), clean(db)))
        })
        .take(256)
        .collect()
}

struct Session {
    conn: Conn,
    id: i32,
}

impl Session {
    /// Sends one command as OP_MSG and reads its reply's body document.
    fn command(&mut self, cmd: &Doc) -> Result<Doc, Stop> {
        self.id += 1;
        let body = cmd.encode();
        let len = i32::try_from(16 + 4 + 1 + body.len()).map_err(|_| unparsable())?;
        let mut m = Vec::new();
        for v in [len, self.id, 0, OP_MSG] {
            m.extend(v.to_le_bytes());
        }
        m.extend(0u32.to_le_bytes());
        m.push(0);
        m.extend_from_slice(&body);
        send(&mut self.conn, &m)?;
        read_reply(&mut self.conn, self.id)
    }
}

fn read_reply(conn: &mut Conn, id: i32) -> Result<Doc, Stop> {
    let mut head = [0u8; 16];
    conn.read_exact(&mut head)?;
    let mut c = Cursor::new(&head);
    let field = |c: &mut Cursor| c.array::<4>().map(i32::from_le_bytes).unwrap_or(-1);
    let (len, _, response_to, op) = (field(&mut c), field(&mut c), field(&mut c), field(&mut c));
    let len = usize::try_from(len)
        .ok()
        .and_then(|l| l.checked_sub(16))
        .filter(|&l| l >= 5)
        .ok_or_else(|| bad("MongoDB message length"))?;
    if op != OP_MSG || response_to != id {
        return Err(bad("not a MongoDB OP_MSG reply"));
    }
    let msg = read_vec(conn, len)?;
    let mut c = Cursor::new(&msg);
    let flags = c.array::<4>().map(u32::from_le_bytes).unwrap_or_default();
    let mut sections = c.rest();
    if flags & 1 != 0 {
        sections = sections
            .get(..sections.len().saturating_sub(4))
            .unwrap_or_default();
    }
    let mut c = Cursor::new(sections);
    while let Some(kind) = c.u8() {
        let rest = c.rest();
        let n = rest
            .get(..4)
            .and_then(|s| s.try_into().ok())
            .map(i32::from_le_bytes)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| bad("MongoDB section"))?;
        let section = rest.get(..n).ok_or_else(|| bad("MongoDB section"))?;
        if kind == 0 {
            return Doc::decode(section).map_err(|_| bad("MongoDB BSON"));
        }
        if kind != 1 {
            return Err(bad("MongoDB section kind"));
        }
        c = Cursor::new(rest.get(n..).unwrap_or_default());
    }
    Err(bad("MongoDB reply without a body"))
}
