use std::net::{Shutdown, TcpListener};
use std::num::NonZeroU32;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

use super::bson::{Bson, Doc};
use super::scram::{self, Hash};
use super::*;
use crate::finding::VerifyStatus;

/// The password every mock expects; URIs carry it percent-encoded.
const PASSWORD: &str = "p@ss:w0rd";
const ENCODED: &str = "p%40ss%3Aw0rd";

fn net() -> Net {
    Net {
        allow_private: true,
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
    }
}

/// A one-connection server on 127.0.0.1: its port, and what `f` returns (the mock's own
/// findings about what the client sent).
fn serve<T: Send + 'static>(
    f: impl FnOnce(TcpStream) -> T + Send + 'static,
) -> (u16, JoinHandle<T>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = l.local_addr().expect("addr").port();
    let h = thread::spawn(move || {
        let (s, _) = l.accept().expect("accept");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        f(s)
    });
    (port, h)
}

fn read_n(s: &mut impl Read, n: usize) -> Vec<u8> {
    let mut v = vec![0; n];
    s.read_exact(&mut v).expect("read");
    v
}

/// Whether the client closed the connection without sending anything more.
fn closed_quietly(s: &mut TcpStream) -> bool {
    matches!(s.read(&mut [0u8; 1]), Ok(0))
}

fn assert_quiet(o: &Outcome) {
    assert!(!o.detail.contains(PASSWORD), "{o:?}");
    assert!(!o.detail.contains(ENCODED), "{o:?}");
}

/// The server side of SCRAM, as a database checks a client's proof.
struct ScramServer {
    hash: Hash,
    password: Vec<u8>,
    salt: Vec<u8>,
    nonce: String,
    user: String,
    auth_prefix: String,
}

impl ScramServer {
    fn new(hash: Hash, password: &[u8]) -> ScramServer {
        ScramServer {
            hash,
            password: password.to_vec(),
            salt: b"leakhound mock salt".to_vec(),
            nonce: String::new(),
            user: String::new(),
            auth_prefix: String::new(),
        }
    }

    fn first(&mut self, client_first: &[u8]) -> Vec<u8> {
        let text = std::str::from_utf8(client_first).expect("utf-8");
        let bare = text
            .strip_prefix("n,,")
            .expect("gs2 header, no channel binding");
        let attr = |p: &str| {
            bare.split(',')
                .find_map(|a| a.strip_prefix(p).map(String::from))
        };
        self.user = attr("n=").expect("user");
        self.nonce = format!("{}+mockServerNonce", attr("r=").expect("nonce"));
        let first = format!("r={},s={},i=4096", self.nonce, B64.encode(&self.salt));
        self.auth_prefix = format!("{bare},{first}");
        first.into_bytes()
    }

    /// The server-final message, or `None` when the proof is wrong.
    fn last(&self, client_final: &[u8]) -> Option<Vec<u8>> {
        let text = std::str::from_utf8(client_final).ok()?;
        let (without, proof) = text.rsplit_once(",p=")?;
        if without != format!("c=biws,r={}", self.nonce) {
            return None;
        }
        let proof = B64.decode(proof).ok()?;
        let h = self.hash;
        let salted = scram::salted(h, &self.password, &self.salt, NonZeroU32::new(4096)?);
        let stored = scram::digest(h, &scram::hmac(h, &salted, b"Client Key"));
        let auth = format!("{},{without}", self.auth_prefix);
        let client_key = xor(&proof, &scram::hmac(h, &stored, auth.as_bytes()));
        if scram::digest(h, &client_key) != stored {
            return None;
        }
        let server_key = scram::hmac(h, &salted, b"Server Key");
        let signature = scram::hmac(h, &server_key, auth.as_bytes());
        Some(format!("v={}", B64.encode(signature)).into_bytes())
    }
}

fn pg_send(s: &mut TcpStream, ty: u8, body: &[u8]) {
    let mut m = vec![ty];
    m.extend(i32::try_from(body.len() + 4).expect("len").to_be_bytes());
    m.extend_from_slice(body);
    s.write_all(&m).expect("write");
}

fn pg_read(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let head = read_n(s, 5);
    let len = i32::from_be_bytes(head[1..5].try_into().expect("4 bytes"));
    (head[0], read_n(s, usize::try_from(len).expect("len") - 4))
}

fn pg_auth(s: &mut TcpStream, request: i32, data: &[u8]) {
    let mut b = request.to_be_bytes().to_vec();
    b.extend_from_slice(data);
    pg_send(s, b'R', &b);
}

fn pg_error(s: &mut TcpStream, code: &str) {
    let mut b = Vec::new();
    for (f, v) in [
        (b'S', "FATAL"),
        (b'C', code),
        (b'M', "password authentication failed for user \"app_user\""),
    ] {
        b.push(f);
        cstr(&mut b, v);
    }
    b.push(0);
    pg_send(s, b'E', &b);
}

fn pg_ready(s: &mut TcpStream, superuser: &str) {
    for (k, v) in [("server_version", "16.2"), ("is_superuser", superuser)] {
        let mut b = Vec::new();
        cstr(&mut b, k);
        cstr(&mut b, v);
        pg_send(s, b'S', &b);
    }
    pg_send(s, b'K', &[0, 0, 0, 1, 0, 0, 0, 2]);
    pg_send(s, b'Z', b"I");
}

/// Answers the SSLRequest with `answer` and reads the StartupMessage's parameters.
fn pg_startup(s: &mut TcpStream, answer: u8) -> Vec<(String, String)> {
    assert_eq!(read_n(s, 8), [0, 0, 0, 8, 4, 210, 22, 47], "SSLRequest");
    s.write_all(&[answer]).expect("write");
    let len = i32::from_be_bytes(read_n(s, 4).try_into().expect("4 bytes"));
    let body = read_n(s, usize::try_from(len).expect("len") - 4);
    assert_eq!(body[..4], 196_608i32.to_be_bytes(), "protocol 3.0");
    let mut parts = body[4..]
        .split(|&b| b == 0)
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let mut params = Vec::new();
    while let (Some(k), Some(v)) = (parts.next(), parts.next()) {
        if k.is_empty() {
            break;
        }
        params.push((k, v));
    }
    params
}

fn has(params: &[(String, String)], k: &str, v: &str) -> bool {
    params.iter().any(|(a, b)| a == k && b == v)
}

/// SASL with SCRAM-SHA-256 for `password`: whether the client's proof was right.
fn pg_scram(s: &mut TcpStream, password: &str) -> bool {
    pg_auth(s, 10, b"SCRAM-SHA-256-PLUS\0SCRAM-SHA-256\0\0");
    let (ty, body) = pg_read(s);
    assert_eq!(ty, b'p');
    let mut c = Cursor::new(&body);
    assert_eq!(c.cstr(), Some(&b"SCRAM-SHA-256"[..]));
    let n = usize::try_from(c.i32_be().expect("length")).expect("length");
    let mut server = ScramServer::new(Hash::Sha256, password.as_bytes());
    pg_auth(s, 11, &server.first(c.take(n).expect("data")));
    assert_eq!(
        server.user, "",
        "PostgreSQL takes the user from the startup message"
    );
    let (ty, last) = pg_read(s);
    assert_eq!(ty, b'p');
    match server.last(&last) {
        Some(v) => {
            pg_auth(s, 12, &v);
            pg_auth(s, 0, b"");
            true
        }
        None => {
            pg_error(s, "28P01");
            false
        }
    }
}

#[test]
fn postgres_scram_sha256_logs_in_and_flags_a_superuser() {
    let (port, server) = serve(|mut s| {
        let params = pg_startup(&mut s, b'N');
        let proof_ok = pg_scram(&mut s, PASSWORD);
        pg_ready(&mut s, "on");
        (params, proof_ok, pg_read(&mut s).0)
    });
    let uri = format!("postgres://app_user:{ENCODED}@127.0.0.1:{port}/app?sslmode=prefer");
    let o = check(VerifyKind::Postgres, &uri, &net());
    let (params, proof_ok, last) = server.join().expect("server");
    assert!(proof_ok, "the mock rejected the SCRAM proof");
    assert!(has(&params, "user", "app_user") && has(&params, "database", "app"));
    assert_eq!(last, b'X', "Terminate");
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app_user (SCRAM-SHA-256)");
    assert_eq!(o.identity, Some(format!("app_user@127.0.0.1:{port}/app")));
    assert!(o
        .over_privileged
        .as_ref()
        .is_some_and(|w| w.contains("superuser")));
    assert_quiet(&o);
}

#[test]
fn postgres_md5_in_plaintext_after_the_server_declines_tls() {
    let (port, server) = serve(|mut s| {
        let params = pg_startup(&mut s, b'N');
        pg_auth(&mut s, 5, &[1, 2, 3, 4]);
        let (ty, body) = pg_read(&mut s);
        // md5(md5(password + user) in hex + salt) in hex, after "md5".
        let inner = hex(&md5_of(b"s3cret!app_user"));
        let outer = hex(&md5_of(&[inner.as_bytes(), &[1, 2, 3, 4]].concat()));
        let right = ty == b'p' && body == format!("md5{outer}\0").into_bytes();
        if right {
            pg_auth(&mut s, 0, b"");
            pg_ready(&mut s, "off");
        } else {
            pg_error(&mut s, "28P01");
        }
        (params, right)
    });
    let uri = format!("postgresql://app_user:s3cret!@127.0.0.1:{port}");
    let o = check(VerifyKind::Postgres, &uri, &net());
    let (params, right) = server.join().expect("server");
    assert!(right, "the mock rejected the MD5 answer");
    assert!(
        has(&params, "database", "app_user"),
        "database defaults to the user"
    );
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app_user (MD5)");
    assert_eq!(
        o.identity,
        Some(format!("app_user@127.0.0.1:{port}/app_user"))
    );
    assert_eq!(o.over_privileged, None);
}

#[test]
fn postgres_wrong_password_is_invalid() {
    let (port, server) = serve(|mut s| {
        pg_startup(&mut s, b'N');
        pg_scram(&mut s, "the real password")
    });
    let uri = format!("postgres://app_user:{ENCODED}@127.0.0.1:{port}/app");
    let o = check(VerifyKind::Postgres, &uri, &net());
    assert!(
        !server.join().expect("server"),
        "the mock accepted a wrong proof"
    );
    assert_eq!(o.status, VerifyStatus::Invalid, "{o:?}");
    assert_eq!(o.detail, "password rejected (SQLSTATE 28P01)");
    assert_quiet(&o);
}

#[test]
fn postgres_sqlstates_before_and_after_login() {
    // (SQLSTATE, sent after AuthenticationOk, expected status)
    let cases = [
        ("28000", false, VerifyStatus::Unknown),
        ("3D000", false, VerifyStatus::Unknown),
        ("53300", false, VerifyStatus::Error),
        ("3D000", true, VerifyStatus::Live),
    ];
    for (code, after, want) in cases {
        let (port, server) = serve(move |mut s| {
            pg_startup(&mut s, b'N');
            if after {
                pg_auth(&mut s, 5, &[9, 9, 9, 9]);
                pg_read(&mut s);
                pg_auth(&mut s, 0, b"");
            }
            pg_error(&mut s, code);
        });
        let uri = format!("postgres://app_user:pw123@127.0.0.1:{port}/app");
        let o = check(VerifyKind::Postgres, &uri, &net());
        server.join().expect("server");
        assert_eq!(o.status, want, "{code} after={after}: {o:?}");
        assert!(o.detail.contains(code), "{o:?}");
        assert!(
            !o.detail.contains("authentication failed"),
            "quotes the server: {o:?}"
        );
    }
}

#[test]
fn postgres_sslmode_require_fails_when_the_server_declines_tls() {
    let (port, server) = serve(|mut s| {
        read_n(&mut s, 8);
        s.write_all(b"N").expect("write");
        closed_quietly(&mut s)
    });
    let uri = format!("postgres://app_user:pw123@127.0.0.1:{port}/app?sslmode=require");
    let o = check(VerifyKind::Postgres, &uri, &net());
    assert!(
        server.join().expect("server"),
        "sent a startup message anyway"
    );
    assert_eq!(o, Outcome::error("server refused TLS"));
}

#[test]
fn postgres_never_sends_a_cleartext_password_without_tls() {
    let (port, server) = serve(|mut s| {
        pg_startup(&mut s, b'N');
        pg_auth(&mut s, 3, b"");
        closed_quietly(&mut s)
    });
    let uri = format!("postgres://app_user:pw123@127.0.0.1:{port}/app");
    let o = check(VerifyKind::Postgres, &uri, &net());
    assert!(server.join().expect("server"), "the password was sent");
    assert_eq!(
        o,
        Outcome::unknown("server asks for a cleartext password without TLS: not sent")
    );
}

#[test]
fn postgres_tls_with_a_server_that_speaks_no_tls_is_a_tls_error() {
    let (port, server) = serve(|mut s| {
        read_n(&mut s, 8);
        s.write_all(b"SHTTP/1.1 400 Bad Request\r\n\r\n")
            .expect("write");
        let _ = s.shutdown(Shutdown::Write);
        closed_quietly(&mut s)
    });
    let uri = format!("postgres://app_user:pw123@127.0.0.1:{port}/app");
    let o = check(VerifyKind::Postgres, &uri, &net());
    let _ = server.join();
    assert_eq!(o.status, VerifyStatus::Error, "{o:?}");
    assert!(o.detail.starts_with("TLS: "), "{o:?}");
}

const MY_CAPS: u32 = 0x1 | 0x200 | 0x2000 | 0x8000 | 0x8_0000 | 0x20_0000;

fn my_send(s: &mut TcpStream, seq: u8, payload: &[u8]) {
    let mut p = u32::try_from(payload.len()).expect("len").to_le_bytes()[..3].to_vec();
    p.push(seq);
    p.extend_from_slice(payload);
    s.write_all(&p).expect("write");
}

fn my_read(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let h = read_n(s, 4);
    let len = usize::from(h[0]) | usize::from(h[1]) << 8 | usize::from(h[2]) << 16;
    (h[3], read_n(s, len))
}

fn my_greeting(s: &mut TcpStream, nonce: &[u8; 20], plugin: &str, caps: u32) {
    let [c0, c1, c2, c3] = caps.to_le_bytes();
    let mut p = vec![10];
    cstr(&mut p, "8.0.36");
    p.extend(7u32.to_le_bytes());
    p.extend_from_slice(&nonce[..8]);
    p.extend([0, c0, c1, 45, 2, 0, c2, c3, 21]);
    p.extend([0u8; 10]);
    p.extend_from_slice(&nonce[8..]);
    p.push(0);
    cstr(&mut p, plugin);
    my_send(s, 0, &p);
}

/// HandshakeResponse41: user, auth data, plugin.
fn my_login(p: &[u8]) -> (String, Vec<u8>, String) {
    let mut c = Cursor::new(p);
    c.take(32).expect("fixed part");
    let user = String::from_utf8_lossy(c.cstr().expect("user")).into_owned();
    let n = usize::from(c.u8().expect("auth length"));
    let data = c.take(n).expect("auth data").to_vec();
    let plugin = String::from_utf8_lossy(c.cstr().expect("plugin")).into_owned();
    (user, data, plugin)
}

/// The server's check of mysql_native_password: it stores SHA1(SHA1(password)) only.
fn native_ok(password: &str, nonce: &[u8], response: &[u8]) -> bool {
    let stored = sha1(&sha1(password.as_bytes()));
    let candidate = xor(response, &sha1(&[nonce, &stored].concat()));
    response.len() == 20 && sha1(&candidate) == stored
}

/// The server's check of a caching_sha2_password scramble against SHA256(SHA256(password)).
fn sha2_ok(password: &str, nonce: &[u8], response: &[u8]) -> bool {
    let stored = sha256(&sha256(password.as_bytes()));
    let candidate = xor(response, &sha256(&[&stored, nonce].concat()));
    response.len() == 32 && sha256(&candidate) == stored
}

fn my_ok(s: &mut TcpStream, seq: u8) {
    my_send(s, seq, &[0, 0, 0, 2, 0, 0, 0]);
}

fn my_err(s: &mut TcpStream, seq: u8, code: u16) {
    let mut p = vec![0xff];
    p.extend(code.to_le_bytes());
    p.extend(b"#28000Access denied for user 'app'@'10.0.0.1' (using password: YES)");
    my_send(s, seq, &p);
}

/// A mysql_native_password server for `password`: (scramble right, the client's last packet).
fn my_native(mut s: TcpStream, password: &str) -> (bool, Option<(u8, Vec<u8>)>) {
    let nonce = *b"abcdefghij0123456789";
    my_greeting(&mut s, &nonce, "mysql_native_password", MY_CAPS);
    let (seq, login) = my_read(&mut s);
    let (user, data, plugin) = my_login(&login);
    let right = seq == 1
        && user == "app"
        && plugin == "mysql_native_password"
        && native_ok(password, &nonce, &data);
    if right {
        my_ok(&mut s, 2);
        (true, Some(my_read(&mut s)))
    } else {
        my_err(&mut s, 2, 1045);
        (false, None)
    }
}

#[test]
fn mysql_native_password_logs_in_and_quits() {
    let (port, server) = serve(|s| my_native(s, PASSWORD));
    let uri = format!("mysql://app:{ENCODED}@127.0.0.1:{port}/shop");
    let o = check(VerifyKind::Mysql, &uri, &net());
    let (right, quit) = server.join().expect("server");
    assert!(right, "the mock rejected the scramble");
    assert_eq!(quit, Some((0, vec![0x01])), "COM_QUIT");
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (mysql_native_password)");
    assert_eq!(o.identity, Some(format!("app@127.0.0.1:{port}")));
    assert_quiet(&o);
}

#[test]
fn mysql_wrong_password_is_invalid() {
    let (port, server) = serve(|s| my_native(s, "the real password"));
    let uri = format!("mariadb://app:{ENCODED}@127.0.0.1:{port}/shop");
    let o = check(VerifyKind::Mysql, &uri, &net());
    assert!(
        !server.join().expect("server").0,
        "the mock accepted a wrong scramble"
    );
    assert_eq!(o, Outcome::invalid("password rejected (MySQL error 1045)"));
}

#[test]
fn mysql_caching_sha2_fast_path_logs_in() {
    let (port, server) = serve(|mut s| {
        let nonce = *b"ZYXWVUTSRQponmlkjihg";
        my_greeting(&mut s, &nonce, "caching_sha2_password", MY_CAPS);
        let (_, login) = my_read(&mut s);
        let (_, data, plugin) = my_login(&login);
        let right = plugin == "caching_sha2_password" && sha2_ok(PASSWORD, &nonce, &data);
        if right {
            my_send(&mut s, 2, &[0x01, 0x03]);
            my_ok(&mut s, 3);
        } else {
            my_err(&mut s, 2, 1045);
        }
        right
    });
    let uri = format!("mysql://app:{ENCODED}@127.0.0.1:{port}");
    let o = check(VerifyKind::Mysql, &uri, &net());
    assert!(
        server.join().expect("server"),
        "the mock rejected the scramble"
    );
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (caching_sha2_password)");
}

#[test]
fn mysql_full_caching_sha2_auth_without_tls_is_not_sent() {
    let (port, server) = serve(|mut s| {
        my_greeting(
            &mut s,
            b"ZYXWVUTSRQponmlkjihg",
            "caching_sha2_password",
            MY_CAPS,
        );
        my_read(&mut s);
        my_send(&mut s, 2, &[0x01, 0x04]);
        closed_quietly(&mut s)
    });
    let uri = format!("mysql://app:{ENCODED}@127.0.0.1:{port}");
    let o = check(VerifyKind::Mysql, &uri, &net());
    assert!(server.join().expect("server"), "the password was sent");
    assert_eq!(
        o,
        Outcome::unknown("server needs full caching_sha2 authentication over TLS")
    );
}

#[test]
fn mysql_follows_an_auth_switch() {
    let (port, server) = serve(|mut s| {
        my_greeting(
            &mut s,
            b"ZYXWVUTSRQponmlkjihg",
            "caching_sha2_password",
            MY_CAPS,
        );
        my_read(&mut s);
        let nonce = b"0123456789abcdefghij";
        let mut switch = vec![0xfe];
        cstr(&mut switch, "mysql_native_password");
        switch.extend_from_slice(nonce);
        switch.push(0);
        my_send(&mut s, 2, &switch);
        let (seq, data) = my_read(&mut s);
        let right = seq == 3 && native_ok(PASSWORD, nonce, &data);
        if right {
            my_ok(&mut s, 4);
        }
        right
    });
    let uri = format!("mysql://app:{ENCODED}@127.0.0.1:{port}");
    let o = check(VerifyKind::Mysql, &uri, &net());
    assert!(
        server.join().expect("server"),
        "the mock rejected the switched scramble"
    );
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (mysql_native_password)");
}

#[test]
fn mysql_required_tls_that_the_server_lacks_is_an_error() {
    let (port, server) = serve(|mut s| {
        my_greeting(
            &mut s,
            b"ZYXWVUTSRQponmlkjihg",
            "mysql_native_password",
            MY_CAPS,
        );
        closed_quietly(&mut s)
    });
    let uri = format!("mysql://app:{ENCODED}@127.0.0.1:{port}/shop?ssl-mode=REQUIRED");
    let o = check(VerifyKind::Mysql, &uri, &net());
    assert!(server.join().expect("server"), "logged in without TLS");
    assert_eq!(o, Outcome::error("server does not offer TLS"));
}

fn mongo_read(s: &mut TcpStream) -> (i32, Doc) {
    let head = read_n(s, 16);
    let field = |i: usize| i32::from_le_bytes(head[i..i + 4].try_into().expect("4 bytes"));
    assert_eq!(field(12), 2013, "OP_MSG");
    let body = read_n(s, usize::try_from(field(0)).expect("len") - 16);
    assert_eq!(body[..5], [0, 0, 0, 0, 0], "flags and a body section");
    (field(4), Doc::decode(&body[5..]).expect("BSON"))
}

fn mongo_send(s: &mut TcpStream, to: i32, doc: &[u8]) {
    let mut m = Vec::new();
    let len = i32::try_from(doc.len() + 21).expect("len");
    for v in [len, 77, to, 2013] {
        m.extend(v.to_le_bytes());
    }
    m.extend([0, 0, 0, 0, 0]);
    m.extend_from_slice(doc);
    s.write_all(&m).expect("write");
}

/// Adds raw encoded elements to an encoded document.
fn with_raw(mut doc: Vec<u8>, elements: &[u8]) -> Vec<u8> {
    doc.pop();
    doc.extend_from_slice(elements);
    doc.push(0);
    let len = i32::try_from(doc.len()).expect("len").to_le_bytes();
    doc[..4].copy_from_slice(&len);
    doc
}

fn text(s: &str) -> Bson {
    Bson::Str(s.to_string())
}

/// A MongoDB server with user `app` in `admin` and `password`: `Err` names what the client
/// got wrong.
fn mongo_server(mut s: TcpStream, password: &str, mechs: &[&str]) -> Result<(), String> {
    let (id, hello) = mongo_read(&mut s);
    if hello.get("hello") != Some(&Bson::Int32(1))
        || hello.get("saslSupportedMechs") != Some(&text("admin.app"))
    {
        return Err(format!("hello: {hello:?}"));
    }
    let reply = Doc::new()
        .with("isWritablePrimary", Bson::Bool(true))
        .with("maxWireVersion", Bson::Int32(21))
        .with(
            "saslSupportedMechs",
            Bson::Array(mechs.iter().map(|m| text(m)).collect()),
        )
        .with("ok", Bson::Double(1.0));
    // An ObjectId, a date and a timestamp, which the client must skip.
    let mut raw = vec![0x07];
    raw.extend(b"electionId\0");
    raw.extend([7u8; 12]);
    raw.push(0x09);
    raw.extend(b"localTime\0");
    raw.extend([1u8; 8]);
    raw.push(0x11);
    raw.extend(b"operationTime\0");
    raw.extend([2u8; 8]);
    mongo_send(&mut s, id, &with_raw(reply.encode(), &raw));
    let (id, start) = mongo_read(&mut s);
    let hash = match start.get("mechanism").and_then(Bson::as_str) {
        Some("SCRAM-SHA-256") => Hash::Sha256,
        Some("SCRAM-SHA-1") => Hash::Sha1,
        m => return Err(format!("mechanism {m:?}")),
    };
    if start.get("$db") != Some(&text("admin")) {
        return Err(format!("saslStart: {start:?}"));
    }
    let secret = match hash {
        Hash::Sha1 => hex(&md5_of(format!("app:mongo:{password}").as_bytes())),
        Hash::Sha256 => password.to_string(),
    };
    let mut server = ScramServer::new(hash, secret.as_bytes());
    let first = server.first(
        start
            .get("payload")
            .and_then(Bson::as_binary)
            .unwrap_or_default(),
    );
    if server.user != "app" {
        return Err(format!("SCRAM user {:?}", server.user));
    }
    let reply = Doc::new()
        .with("conversationId", Bson::Int32(1))
        .with("done", Bson::Bool(false))
        .with("payload", Bson::Binary(0, first))
        .with("ok", Bson::Double(1.0));
    mongo_send(&mut s, id, &reply.encode());
    let (id, next) = mongo_read(&mut s);
    if next.get("conversationId") != Some(&Bson::Int32(1)) {
        return Err(format!("saslContinue: {next:?}"));
    }
    let payload = next
        .get("payload")
        .and_then(Bson::as_binary)
        .unwrap_or_default();
    let Some(last) = server.last(payload) else {
        let refused = Doc::new()
            .with("ok", Bson::Double(0.0))
            .with("errmsg", text("Authentication failed."))
            .with("code", Bson::Int32(18))
            .with("codeName", text("AuthenticationFailed"));
        mongo_send(&mut s, id, &refused.encode());
        return Err("wrong proof".into());
    };
    let reply = Doc::new()
        .with("conversationId", Bson::Int32(1))
        .with("done", Bson::Bool(true))
        .with("payload", Bson::Binary(0, last))
        .with("ok", Bson::Int32(1));
    mongo_send(&mut s, id, &reply.encode());
    let (id, status) = mongo_read(&mut s);
    if status.get("connectionStatus") != Some(&Bson::Int32(1))
        || status.get("showPrivileges") != Some(&Bson::Bool(false))
    {
        return Err(format!("connectionStatus: {status:?}"));
    }
    let role = |r: &str, db: &str| Bson::Doc(Doc::new().with("role", text(r)).with("db", text(db)));
    let info = Doc::new()
        .with(
            "authenticatedUsers",
            Bson::Array(vec![Bson::Doc(
                Doc::new()
                    .with("user", text("app"))
                    .with("db", text("admin")),
            )]),
        )
        .with(
            "authenticatedUserRoles",
            Bson::Array(vec![role("readWrite", "app"), role("root", "admin")]),
        );
    let reply = Doc::new()
        .with("authInfo", Bson::Doc(info))
        .with("ok", Bson::Double(1.0));
    mongo_send(&mut s, id, &reply.encode());
    Ok(())
}

#[test]
fn mongodb_scram_sha256_logs_in_and_flags_root() {
    let (port, server) = serve(|s| mongo_server(s, PASSWORD, &["SCRAM-SHA-1", "SCRAM-SHA-256"]));
    let uri = format!(
        "mongodb://app:{ENCODED}@127.0.0.1:{port},replica.invalid:27017/app?authSource=admin&retryWrites=true"
    );
    let o = check(VerifyKind::Mongodb, &uri, &net());
    assert_eq!(server.join().expect("server"), Ok(()));
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (SCRAM-SHA-256)");
    assert_eq!(o.identity, Some(format!("app@127.0.0.1:{port}/admin")));
    assert_eq!(o.scopes, ["readWrite@app", "root@admin"]);
    assert!(
        o.over_privileged
            .as_ref()
            .is_some_and(|w| w.contains("root@admin")),
        "{o:?}"
    );
    assert_quiet(&o);
}

#[test]
fn mongodb_scram_sha1_uses_the_mongodb_password_digest() {
    let (port, server) = serve(|s| mongo_server(s, PASSWORD, &["SCRAM-SHA-1"]));
    let uri = format!("mongodb://app:{ENCODED}@127.0.0.1:{port}/admin");
    let o = check(VerifyKind::Mongodb, &uri, &net());
    assert_eq!(server.join().expect("server"), Ok(()));
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (SCRAM-SHA-1)");
}

#[test]
fn mongodb_wrong_password_is_invalid() {
    let (port, server) = serve(|s| mongo_server(s, "the real password", &["SCRAM-SHA-256"]));
    let uri = format!("mongodb://app:{ENCODED}@127.0.0.1:{port}/?authSource=admin");
    let o = check(VerifyKind::Mongodb, &uri, &net());
    assert_eq!(server.join().expect("server"), Err("wrong proof".into()));
    assert_eq!(o, Outcome::invalid("password rejected (MongoDB code 18)"));
}

/// Reads one RESP command (an array of bulk strings).
fn redis_read(r: &mut impl BufRead) -> Vec<String> {
    let mut line = String::new();
    r.read_line(&mut line).expect("line");
    let n: usize = line
        .trim_end()
        .strip_prefix('*')
        .expect("array")
        .parse()
        .expect("count");
    (0..n)
        .map(|_| {
            line.clear();
            r.read_line(&mut line).expect("line");
            let len: usize = line
                .trim_end()
                .strip_prefix('$')
                .expect("bulk")
                .parse()
                .expect("len");
            let b = read_n(r, len + 2);
            String::from_utf8_lossy(&b[..len]).into_owned()
        })
        .collect()
}

/// A Redis server that answers each command in turn; it returns the commands it got.
fn redis_server(s: TcpStream, answers: &'static [&'static str]) -> Vec<Vec<String>> {
    let mut w = s.try_clone().expect("clone");
    let mut r = BufReader::new(s);
    let mut got = Vec::new();
    for a in answers {
        got.push(redis_read(&mut r));
        w.write_all(a.as_bytes()).expect("write");
    }
    got
}

fn words(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn redis_auth_then_acl_whoami() {
    let (port, server) = serve(|s| redis_server(s, &["+OK\r\n", "$3\r\napp\r\n", "+OK\r\n"]));
    let uri = format!("redis://app:{ENCODED}@127.0.0.1:{port}/0");
    let o = check(VerifyKind::Redis, &uri, &net());
    let got = server.join().expect("server");
    assert_eq!(
        got,
        [
            words(&["AUTH", "app", PASSWORD]),
            words(&["ACL", "WHOAMI"]),
            words(&["QUIT"])
        ]
    );
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.detail, "authenticated as app (AUTH)");
    assert_eq!(o.identity, Some(format!("app@127.0.0.1:{port}")));
}

#[test]
fn redis_wrongpass_is_invalid() {
    let (port, server) = serve(|s| {
        redis_server(
            s,
            &["-WRONGPASS invalid username-password pair or user is disabled.\r\n"],
        )
    });
    let uri = format!("redis://app:{ENCODED}@127.0.0.1:{port}");
    let o = check(VerifyKind::Redis, &uri, &net());
    assert_eq!(
        server.join().expect("server"),
        [words(&["AUTH", "app", PASSWORD])]
    );
    assert_eq!(o, Outcome::invalid("password rejected (WRONGPASS)"));
}

#[test]
fn redis_without_a_password_set_is_unknown() {
    let (port, server) =
        serve(|s| redis_server(s, &["-ERR Client sent AUTH, but no password is set\r\n"]));
    let uri = format!("redis://:s3cret@127.0.0.1:{port}");
    let o = check(VerifyKind::Redis, &uri, &net());
    assert_eq!(server.join().expect("server"), [words(&["AUTH", "s3cret"])]);
    assert_eq!(o.status, VerifyStatus::Unknown, "{o:?}");
    assert!(o.detail.contains("no password set"), "{o:?}");
}

#[test]
fn redis_before_acls_takes_the_password_alone() {
    let (port, server) = serve(|s| {
        redis_server(
            s,
            &[
                "-ERR wrong number of arguments for 'auth' command\r\n",
                "+OK\r\n",
                "-ERR unknown command 'ACL'\r\n",
                "+OK\r\n",
            ],
        )
    });
    let uri = format!("redis://h:s3cret@127.0.0.1:{port}");
    let o = check(VerifyKind::Redis, &uri, &net());
    let got = server.join().expect("server");
    assert_eq!(
        got[..2],
        [words(&["AUTH", "h", "s3cret"]), words(&["AUTH", "s3cret"])]
    );
    assert_eq!(o.status, VerifyStatus::Live, "{o:?}");
    assert_eq!(o.identity, Some(format!("default@127.0.0.1:{port}")));
}

#[test]
fn a_silent_server_times_out() {
    let (port, server) = serve(|mut s| {
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let quick = Net {
        allow_private: true,
        connect_timeout: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
    };
    let started = Instant::now();
    let o = check(
        VerifyKind::Redis,
        &format!("redis://:pw@127.0.0.1:{port}"),
        &quick,
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(o, Outcome::error("timed out"));
    let _ = server.join();
}

#[test]
fn loopback_is_refused_unless_allowed() {
    for (kind, uri) in [
        (VerifyKind::Postgres, "postgres://u:pw@127.0.0.1:5432/db"),
        (VerifyKind::Mysql, "mysql://u:pw@127.0.0.1/db"),
        (VerifyKind::Mongodb, "mongodb://u:pw@127.0.0.1/db"),
        (VerifyKind::Redis, "redis://u:pw@127.0.0.1"),
    ] {
        let o = check(kind, uri, &Net::default());
        assert_eq!(o.status, VerifyStatus::Unknown, "{o:?}");
        assert!(o.detail.contains("refused"), "{o:?}");
    }
}

#[test]
fn a_closed_port_is_an_error() {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let o = check(
        VerifyKind::Redis,
        &format!("redis://:pw@127.0.0.1:{port}"),
        &net(),
    );
    assert_eq!(o.status, VerifyStatus::Error, "{o:?}");
    assert!(o.detail.contains("cannot connect"), "{o:?}");
}

/// Runs a check against a server that sends `junk` and closes.
fn against_junk(kind: VerifyKind, scheme: &str, junk: Vec<u8>) -> Outcome {
    let (port, server) = serve(move |mut s| {
        let _ = s.write_all(&junk);
        let _ = s.shutdown(Shutdown::Write);
        let mut sink = Vec::new();
        let _ = s.read_to_end(&mut sink);
    });
    let o = check(
        kind,
        &format!("{scheme}://app:pw123@127.0.0.1:{port}/db"),
        &net(),
    );
    let _ = server.join();
    o
}

const KINDS: [(VerifyKind, &str); 4] = [
    (VerifyKind::Postgres, "postgres"),
    (VerifyKind::Mysql, "mysql"),
    (VerifyKind::Mongodb, "mongodb"),
    (VerifyKind::Redis, "redis"),
];

#[test]
fn garbage_from_the_server_is_an_error() {
    let mut mongo_bad_bson = Vec::new();
    for v in [26i32, 5, 1, 2013] {
        mongo_bad_bson.extend(v.to_le_bytes());
    }
    mongo_bad_bson.extend([0, 0, 0, 0, 0, 5, 0, 0, 0, 1]);
    let mut pg_huge = b"NR".to_vec();
    pg_huge.extend(0x7fff_ffffi32.to_be_bytes());
    let mut cases = vec![(VerifyKind::Mongodb, "mongodb", mongo_bad_bson)];
    cases.push((VerifyKind::Postgres, "postgres", pg_huge));
    for (kind, scheme) in KINDS {
        cases.push((kind, scheme, b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()));
        cases.push((kind, scheme, vec![0x7f; 40]));
        cases.push((kind, scheme, vec![0xff; 3]));
        cases.push((kind, scheme, Vec::new()));
    }
    for (kind, scheme, junk) in cases {
        let o = against_junk(kind, scheme, junk.clone());
        assert_eq!(o.status, VerifyStatus::Error, "{scheme} {junk:?}: {o:?}");
    }
}

#[test]
fn random_answers_never_panic_or_pass() {
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for (kind, scheme) in KINDS {
        for len in [1usize, 7, 64, 300] {
            let junk: Vec<u8> = (0..len)
                .map(|_| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed.to_le_bytes()[3]
                })
                .collect();
            let o = against_junk(kind, scheme, junk);
            assert!(
                matches!(o.status, VerifyStatus::Error | VerifyStatus::Unknown),
                "{scheme}: {o:?}"
            );
        }
    }
}

#[test]
fn parses_uris() {
    let t = Target::parse(
        Db::Postgres,
        "postgresql+psycopg2://app%20user:p%40ss@[::1]:6543/my%2Fdb?sslmode=require&x=1",
    )
    .expect("parses");
    assert_eq!(
        (
            t.user.as_str(),
            t.password.as_str(),
            t.host.as_str(),
            t.port,
            t.db.as_str()
        ),
        ("app user", "p@ss", "::1", 6543, "my/db")
    );
    assert_eq!(
        (t.tls_wish(), t.addr()),
        (TlsWish::Require, "[::1]:6543".to_string())
    );

    let t = Target::parse(
        Db::Mysql,
        "jdbc:mysql://root:pw@db.example.com/shop?useSSL=false",
    )
    .expect("parses");
    assert_eq!((t.port, t.tls_wish()), (3306, TlsWish::Off));

    let t = Target::parse(
        Db::Mongodb,
        "mongodb://u:p@h1:27018,h2:27019/app?authSource=other",
    )
    .expect("parses");
    assert_eq!((t.host.as_str(), t.port), ("h1", 27018));
    assert_eq!(
        (t.param("authsource"), t.tls_wish()),
        (Some("other"), TlsWish::Prefer)
    );

    let t = Target::parse(Db::Redis, "rediss://:pa#s?s@cache").expect("parses");
    assert_eq!((t.user.as_str(), t.password.as_str()), ("", "pa#s?s"));
    assert_eq!(
        (t.host.as_str(), t.port, t.scheme.as_str()),
        ("cache", 6379, "rediss")
    );

    let t = Target::parse(Db::Redis, "redis://u:a@b@host:1/0").expect("parses");
    assert_eq!(
        (t.password.as_str(), t.host.as_str(), t.port),
        ("a@b", "host", 1)
    );
}

#[test]
fn uris_that_cannot_be_checked() {
    use VerifyStatus::{Error, Unknown};
    let cases = [
        (
            VerifyKind::Postgres,
            "postgres://app@db.example.com/app",
            Unknown,
            "no password",
        ),
        (
            VerifyKind::Redis,
            "redis://app:@cache.example.com",
            Unknown,
            "no password",
        ),
        (
            VerifyKind::Mongodb,
            "mongodb+srv://u:pw@cluster0.example.net/app",
            Unknown,
            "SRV",
        ),
        (
            VerifyKind::Mongodb,
            "mongodb://u:pw@h/?authMechanism=MONGODB-X509",
            Unknown,
            "SCRAM",
        ),
        (
            VerifyKind::Mysql,
            "mysqlx://u:pw@h/db",
            Unknown,
            "X protocol",
        ),
        (
            VerifyKind::Postgres,
            "postgres://u:pw@/db?host=/tmp",
            Unknown,
            "no network host",
        ),
        (
            VerifyKind::Http,
            "https://api.example.com",
            Unknown,
            "not a database check",
        ),
        (
            VerifyKind::Postgres,
            "not a uri",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Postgres,
            "mysql://u:pw@h/db",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Redis,
            "redis://u:pw@h:99999",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Redis,
            "redis://u:pw@h:0",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Redis,
            "redis://u:pw@ho$t",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Redis,
            "redis://u:pw@[not:v6]",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Postgres,
            "postgres://u%00x:pw@h/db",
            Error,
            "cannot parse the URI",
        ),
        (
            VerifyKind::Postgres,
            "postgres://u:%ff%fe@h/db",
            Error,
            "cannot parse the URI",
        ),
    ];
    for (kind, uri, status, detail) in cases {
        let o = check(kind, uri, &Net::default());
        assert_eq!(o.status, status, "{uri}: {o:?}");
        assert!(o.detail.contains(detail), "{uri}: {o:?}");
    }
}

#[test]
fn scram_matches_the_rfc_examples() {
    // RFC 5802 section 5 (SHA-1) and RFC 7677 section 3 (SHA-256).
    let cases = [
        (
            Hash::Sha1,
            "fyko+d2lbbFgONRv9qkxdawL",
            "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
            "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=",
        ),
        (
            Hash::Sha256,
            "rOprNGfwEbeRWgbNEkqO",
            "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
            "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=",
        ),
    ];
    for (hash, nonce, server_first, client_final, server_final) in cases {
        let mut c = scram::Client::with_nonce(hash, "user", b"pencil", 4096, nonce.into());
        assert_eq!(c.first(), format!("n,,n=user,r={nonce}"));
        assert_eq!(
            c.respond(server_first.as_bytes()).expect("final"),
            client_final
        );
        assert!(c.verify(server_final.as_bytes()).is_ok());
        assert!(c.verify(b"v=AAAAAAAAAAAAAAAAAAAAAAAAAAA=").is_err());
        assert_eq!(
            c.verify(b"e=invalid-proof").expect_err("rejected").0.status,
            VerifyStatus::Invalid
        );
    }
    // The MongoDB auth spec's SCRAM-SHA-1 password for user "user", password "pencil".
    assert_eq!(
        hex(&md5_of(b"user:mongo:pencil")),
        "1c33006ec1ffd90f9cadcbcc0e118200"
    );
}

#[test]
fn scram_refuses_a_bad_server_first_message() {
    for server_first in [
        "r=someoneElsesNonce,s=QSXCR+Q6sek8bf92,i=4096",
        "r=abc,s=QSXCR+Q6sek8bf92,i=4096",
        "r=abcdef,s=QSXCR+Q6sek8bf92,i=10",
        "r=abcdef,s=QSXCR+Q6sek8bf92,i=4000000000",
        "r=abcdef,s=not base64!,i=4096",
        "m=ext,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096",
        "r=abcdef,i=4096",
        "",
    ] {
        let mut c = scram::Client::with_nonce(Hash::Sha256, "", b"pw", 4096, "abc".into());
        let e = c.respond(server_first.as_bytes()).expect_err(server_first);
        assert_eq!(e.0.status, VerifyStatus::Error, "{server_first}");
    }
    let c = scram::Client::with_nonce(Hash::Sha256, "", b"pw", 1, "abc".into());
    assert!(
        c.verify(b"v=AAAA").is_err(),
        "a signature before the exchange"
    );
}

fn sample_doc() -> Doc {
    Doc::new()
        .with("d", Bson::Double(1.5))
        .with("s", text("héllo"))
        .with("n", Bson::Doc(Doc::new().with("x", Bson::Int32(-7))))
        .with(
            "a",
            Bson::Array(vec![Bson::Bool(true), Bson::Null, Bson::Int64(1 << 40)]),
        )
        .with("b", Bson::Binary(0, b"\x00\x01bin".to_vec()))
}

#[test]
fn bson_round_trips_and_skips_other_types() {
    let doc = sample_doc();
    assert_eq!(Doc::decode(&doc.encode()), Ok(doc.clone()));
    let mut raw = vec![0x07];
    raw.extend(b"oid\0");
    raw.extend([9u8; 12]);
    raw.push(0x13);
    raw.extend(b"dec\0");
    raw.extend([0u8; 16]);
    raw.push(0x0b);
    raw.extend(b"re\0a.b\0i\0");
    let decoded = Doc::decode(&with_raw(doc.encode(), &raw)).expect("decodes");
    assert_eq!(decoded.get("oid"), Some(&Bson::Other(0x07)));
    assert_eq!(decoded.get("re"), Some(&Bson::Other(0x0b)));
    assert_eq!(decoded.get("s"), doc.get("s"));
}

#[test]
fn bson_rejects_malformed_documents() {
    let good = sample_doc().encode();
    let nested =
        |levels: usize| (0..levels).fold(Doc::new(), |d, _| Doc::new().with("x", Bson::Doc(d)));
    assert!(Doc::decode(&nested(30).encode()).is_ok(), "30 levels");
    let deep = nested(40).encode();
    let truncated = good[..good.len() - 1].to_vec();
    let mut long = good.clone();
    long.push(0);
    let mut bad_string = Doc::new().with("s", text("abc")).encode();
    bad_string[7..11].copy_from_slice(&0x7f_i32.to_le_bytes()); // past the end
    let mut unknown_type = Doc::new().with("x", Bson::Int32(1)).encode();
    unknown_type[4] = 0x42;
    let mut negative = Doc::new().with("b", Bson::Binary(0, vec![1])).encode();
    negative[7..11].copy_from_slice(&(-1i32).to_le_bytes());
    for (name, bytes) in [
        ("empty", Vec::new()),
        ("truncated", truncated),
        ("trailing bytes", long),
        ("string length", bad_string),
        ("unknown type", unknown_type),
        ("negative length", negative),
        ("no terminator", vec![5, 0, 0, 0, 1]),
    ] {
        assert!(Doc::decode(&bytes).is_err(), "{name}");
    }
    assert!(Doc::decode(&deep).is_err(), "40 levels");
}

#[test]
fn bson_survives_random_and_mutated_input() {
    let good = sample_doc().encode();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for _ in 0..5000 {
        let mut b = good.clone();
        for _ in 0..1 + next() % 4 {
            let i = usize::try_from(next()).unwrap_or(0) % b.len();
            b[i] = next().to_le_bytes()[0];
        }
        let _ = Doc::decode(&b);
        let len = usize::try_from(next() % 64).unwrap_or(0);
        let random: Vec<u8> = (0..len).map(|_| next().to_le_bytes()[0]).collect();
        let _ = Doc::decode(&random);
    }
}
