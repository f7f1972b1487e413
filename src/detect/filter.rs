//! Filters that reject look-alikes after a regex match: placeholders, template references
//! and failed checksums. Pure functions over the secret bytes.

use crate::rules::Checksum;

/// Words that mark documentation values and templates, matched case-insensitively anywhere.
const PLACEHOLDER_WORDS: &[&str] = &[
    "example",
    "placeholder",
    "redacted",
    "your_",
    "your-",
    "yourkey",
    "insert_",
    "replace_me",
    "replaceme",
    "changeme",
    "change_me",
    "dummy",
];

/// Words that, in the value of a context-dependent (generic) rule, mark it as not meant to
/// be real: fillers, template words, the names of the thing itself.
const FAKE_WORDS: &[&str] = &[
    "xxx",
    "***",
    "...",
    "sample",
    "fake",
    "foobar",
    "todo",
    "fixme",
    "notreal",
    "not_real",
    "secret_here",
    "token_here",
    "key_here",
    "password_here",
    "null",
    "undefined",
    "none",
    "true",
    "false",
    "string",
    "password",
    "passwd",
    "secret",
    "token",
];

/// Words of real but guessable passwords: a generic rule drops them, a credential context
/// (`report_weak`) reports them as weak.
const WEAK_WORDS: &[&str] = &[
    "testing",
    "qwerty",
    "letmein",
    "default",
    "hunter2",
    "mysecret",
    "mypassword",
    "s3cr3t",
    "secr3t",
    "p4ssw0rd",
    "passw0rd",
    "p4ssword",
    "pa55word",
];

/// Values that are the documented default of some product, not a secret someone chose.
const EXACT_DEFAULTS: &[&str] = &[
    "postgres",
    "root",
    "admin",
    "guest",
    "user",
    "test",
    "pass",
    "mysql",
    "redis",
    "rabbitmq",
    "changeit",
    "pwd",
    "sa",
    "oracle",
    "minioadmin",
    "elastic",
    "neo4j",
];

/// Why a value looks like a placeholder, if it does.
pub fn placeholder_reason(secret: &[u8], strict: bool) -> Option<&'static str> {
    let lower = secret.to_ascii_lowercase();
    let contains = |w: &str| memchr::memmem::find(&lower, w.as_bytes()).is_some();
    if PLACEHOLDER_WORDS.iter().any(|w| contains(w)) {
        return Some("placeholder word");
    }
    // A run marks a placeholder only when it is a large share of the value: base64 of
    // binary structures (DER, OpenSSH) has long runs of `A` inside real keys.
    // Filler: a character people type to stand for "some value" (x, X, *, 0, Z, #, ., -, _)
    // that dominates the value or runs long. Runs of other characters are left alone: base64
    // of binary structures has long runs of `A` inside real keys.
    let (filler, count, run) = dominant_filler(secret);
    if filler && (count * 2 >= secret.len() || (run >= 4 && run * 3 >= secret.len())) {
        return Some("filler characters");
    }
    // Ascending runs must dominate the value: `abcdef` inside a 32-character random key is
    // chance; `abcdefghijklmnop`, or an alphabet (`A..Za..z0..9`), is not a key.
    let (seq, long_runs) = ascending_runs(secret);
    if seq >= 6 && (seq * 2 >= secret.len() || long_runs * 2 >= secret.len()) {
        return Some("sequential characters");
    }
    if strict {
        // A reference names a secret kept elsewhere, whatever words it contains.
        if is_template_reference(secret) {
            return Some("variable or template reference");
        }
        if filler && run >= 6 {
            return Some("filler characters");
        }
        if FAKE_WORDS.iter().any(|w| contains(w)) {
            return Some("placeholder word");
        }
        if WEAK_WORDS.iter().any(|w| contains(w)) {
            return Some("weak word");
        }
        if EXACT_DEFAULTS.iter().any(|w| lower == w.as_bytes()) {
            return Some("default credential");
        }
        if word_shaped(secret) {
            return Some("word-shaped value");
        }
        if let Some(text) = base64_text(secret) {
            if placeholder_reason(&text, true).is_some() {
                return Some("base64 of a placeholder");
            }
        }
    }
    None
}

/// For rules that report weak values: whether a placeholder reason still describes a value a
/// person could log in with (a default, a dictionary word) rather than no value at all
/// (fillers, references, documentation words).
pub fn weak_not_fake(reason: &str) -> bool {
    matches!(
        reason,
        "default credential" | "weak word" | "sequential characters" | "word-shaped value"
    )
}

/// A value without digits made of words (`CFBundleDevelopmentRegion`,
/// `//dev.azure.com.useHttpPath`): identifiers and names, not keys. Random letters switch
/// case every couple of characters and have few vowels; words keep runs of three or more
/// lowercase letters and vowels in two of five letters.
fn word_shaped(s: &[u8]) -> bool {
    // `user:password` pairs are judged by their parts elsewhere, never as a name.
    if s.iter().any(u8::is_ascii_digit)
        || !s
            .iter()
            .all(|b| b.is_ascii_alphabetic() || b"./_-".contains(b))
    {
        return false;
    }
    let runs: Vec<usize> = s
        .split(|b| !b.is_ascii_lowercase())
        .map(<[u8]>::len)
        .filter(|&n| n > 0)
        .collect();
    if runs.len() < 2 {
        return false;
    }
    let mean = runs.iter().sum::<usize>() as f64 / runs.len() as f64;
    // Words carry vowels (about 40% of letters); random letters about 20%.
    let letters = s.iter().filter(|b| b.is_ascii_alphabetic()).count().max(1);
    let vowels = s.iter().filter(|b| b"aeiouAEIOU".contains(b)).count();
    // Lowercase groups split by `-` or `_` are also how generated passwords look (Apple's
    // xxxx-xxxx-xxxx-xxxx), and `user:password` pairs are credentials: only camel case, dots
    // and slashes mark a name.
    let name_like = s.iter().any(u8::is_ascii_uppercase) || s.iter().any(|b| b"./".contains(b));
    name_like && mean >= 3.0 && vowels as f64 / letters as f64 >= 0.3
}

/// True for `${VAR}`, `{{ var }}`, `<your-key>`, `%(var)s`, `$(cmd)`, `$VAR`,
/// `process.env.X` and the like: values that name a secret instead of holding one.
pub fn is_template_reference(s: &[u8]) -> bool {
    let ident = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    // `${NAME}` / `${NAME:-default}` / `#{name}` / `%(name)s`
    for (open, close) in [(&b"${"[..], b'}'), (b"#{", b'}'), (b"%(", b')')] {
        for at in memchr::memmem::find_iter(s, open) {
            let rest = &s[at + open.len()..];
            let n = rest.iter().take_while(|&&b| ident(b)).count();
            if n > 0 && matches!(rest.get(n), Some(&c) if c == close || c == b':') {
                return true;
            }
        }
    }
    // `{{ anything without braces }}`
    if let Some(at) = memchr::memmem::find(s, b"{{") {
        let rest = &s[at + 2..];
        if let Some(end) = memchr::memmem::find(rest, b"}}") {
            if !rest[..end].iter().any(|&b| b == b'{' || b == b'}') {
                return true;
            }
        }
    }
    // `$(command)` with a closing parenthesis
    if let Some(at) = memchr::memmem::find(s, b"$(") {
        if memchr::memchr(b')', &s[at..]).is_some() {
            return true;
        }
    }
    let wrapped = |a: u8, b: u8| s.len() > 2 && s[0] == a && s[s.len() - 1] == b;
    // `%NAME%`: a Windows environment variable (NuGet.Config, .bat, .cmd).
    if wrapped(b'%', b'%') && s[1..s.len() - 1].iter().all(|&b| ident(b)) {
        return true;
    }
    if wrapped(b'<', b'>') || wrapped(b'{', b'}') || wrapped(b'[', b']') {
        return true;
    }
    // `$NAME`, `${...}`, `$(...)` at the start: a shell or make expansion.
    if s.len() > 1 && s[0] == b'$' && (s[1].is_ascii_alphabetic() || b"_{(".contains(&s[1])) {
        return true;
    }
    let lower = s.to_ascii_lowercase();
    [
        &b"process.env"[..],
        b"os.environ",
        b"os.getenv",
        b"getenv(",
        b"env::var",
        b"env(",
        b"system.getenv",
        b"secrets.",
        b"vault:",
        b"config.",
        b"settings.",
    ]
    .iter()
    .any(|p| lower.starts_with(p))
}

/// The most common byte: whether it is a filler character, how often it occurs, and its
/// longest run.
fn dominant_filler(s: &[u8]) -> (bool, usize, usize) {
    let mut counts = [0usize; 256];
    for &b in s {
        counts[b as usize] += 1;
    }
    let (byte, count) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(_, c)| *c)
        .map_or((0, 0), |(b, &c)| (b as u8, c));
    let filler = b"xX*0Zz#._-?".contains(&byte);
    let run = longest_run_of(s, byte);
    // A long run of a filler character counts even when another byte is more common.
    let x_run = b"xX*0#?"
        .iter()
        .map(|&f| longest_run_of(s, f))
        .max()
        .unwrap_or(0);
    if x_run > run && x_run >= 4 {
        return (true, count, x_run);
    }
    (filler, count, run)
}

fn longest_run_of(s: &[u8], byte: u8) -> usize {
    let mut best = 0;
    let mut run = 0;
    for &b in s {
        run = if b == byte { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// The longest run of ascending alphanumerics (`abc`, `123`), and how many bytes lie in
/// runs of ten or more (whole alphabets, not a stray `abcdef`).
fn ascending_runs(s: &[u8]) -> (usize, usize) {
    let (mut best, mut long, mut run) = (usize::from(!s.is_empty()), 0, 1);
    for w in s.windows(2) {
        if w[1] == w[0].wrapping_add(1) && w[0].is_ascii_alphanumeric() {
            run += 1;
            best = best.max(run);
        } else {
            long += if run >= 10 { run } else { 0 };
            run = 1;
        }
    }
    long += if run >= 10 { run } else { 0 };
    (best, long)
}

/// Standard base64 (padded, length a multiple of 4) that decodes to printable ASCII text.
fn base64_text(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() < 8 || !s.len().is_multiple_of(4) || !s.ends_with(b"=") {
        return None;
    }
    let decoded = base64url_decode(s)?;
    decoded
        .iter()
        .all(|b| (0x20..0x7f).contains(b))
        .then_some(decoded)
}

/// Checks a secret against its rule's checksum.
pub fn checksum_ok(kind: Checksum, secret: &[u8]) -> bool {
    match kind {
        Checksum::GithubCrc32 => github_crc32_ok(secret),
        Checksum::Jwt => jwt_ok(secret),
        Checksum::BasicAuth => basic_auth_ok(secret),
        Checksum::GitlabRoutable => gitlab_routable_ok(secret),
        // A body that does not parse is reported as a plain key: never dropped for it.
        Checksum::OpensshUnencrypted => openssh_cipher(secret).is_none_or(|c| c == b"none"),
        Checksum::OpensshEncrypted => openssh_cipher(secret).is_some_and(|c| c != b"none"),
    }
}

/// Base64 that decodes to printable `user:password` with a non-empty password.
fn basic_auth_ok(secret: &[u8]) -> bool {
    base64url_decode(secret).is_some_and(|d| {
        d.iter().all(|b| (0x20..0x7f).contains(b))
            && memchr::memchr(b':', &d).is_some_and(|c| c + 1 < d.len())
    })
}

/// The header must decode to a JSON object naming `alg` or `typ`, and the payload (when
/// present) to a JSON object.
fn jwt_ok(secret: &[u8]) -> bool {
    let object = |seg: Option<&[u8]>| {
        seg.and_then(base64url_decode).filter(|d| {
            let t = d.trim_ascii();
            t.first() == Some(&b'{') && t.last() == Some(&b'}') && t.contains(&b'"')
        })
    };
    let mut parts = secret.split(|&b| b == b'.');
    let Some(header) = object(parts.next()) else {
        return false;
    };
    let has = |k: &[u8]| memchr::memmem::find(&header, k).is_some();
    if !has(b"\"alg\"") && !has(b"\"typ\"") {
        return false;
    }
    match parts.next() {
        None | Some(b"") => true,
        payload => object(payload).is_some(),
    }
}

/// Decodes base64url or standard base64, padded or not; `None` on any other byte.
pub fn base64url_decode(s: &[u8]) -> Option<Vec<u8>> {
    let s = s
        .strip_suffix(b"==")
        .or_else(|| s.strip_suffix(b"="))
        .unwrap_or(s);
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for &c in s {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Some(out)
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// GitHub and npm tokens: `prefix_` + random part + 6 base62 digits of the CRC32 of the random part.
/// The cipher name of an OpenSSH private key body (`openssh-key-v1\0`, then a length-prefixed
/// cipher name), from the first base64 characters of the body (whitespace and escaped
/// newlines skipped).
fn openssh_cipher(secret: &[u8]) -> Option<Vec<u8>> {
    let mut b64 = Vec::with_capacity(96);
    let mut i = 0;
    while i < secret.len() && b64.len() < 96 {
        match secret[i] {
            b'\\' if matches!(secret.get(i + 1), Some(b'n' | b'r')) => i += 2,
            c if c.is_ascii_whitespace() => i += 1,
            c => {
                b64.push(c);
                i += 1;
            }
        }
    }
    b64.truncate(b64.len() / 4 * 4);
    let raw = base64url_decode(&b64)?;
    let rest = raw.strip_prefix(b"openssh-key-v1\0")?;
    let len = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    rest.get(4..4 + len).map(<[u8]>::to_vec)
}

fn gitlab_routable_ok(secret: &[u8]) -> bool {
    if !secret.contains(&b'.') {
        return true;
    }
    if secret.len() < 8 {
        return false;
    }
    let (body, check) = secret.split_at(secret.len() - 7);
    crc_digits_are(body, b"0123456789abcdefghijklmnopqrstuvwxyz", check)
}

/// Whether `check` is the CRC32 of `payload` written in the base of `alphabet`, zero-padded to
/// `check`'s length (GitHub and npm: base62 in 6; GitLab routable tokens: base36 in 7).
fn crc_digits_are(payload: &[u8], alphabet: &[u8], check: &[u8]) -> bool {
    let base = alphabet.len() as u32;
    let mut n = crc32fast::hash(payload);
    let mut digits = vec![alphabet[0]; check.len()];
    for d in digits.iter_mut().rev() {
        *d = alphabet[(n % base) as usize];
        n /= base;
    }
    n == 0 && digits == check
}

fn github_crc32_ok(secret: &[u8]) -> bool {
    let Some(us) = memchr::memchr(b'_', secret) else {
        return false;
    };
    let body = &secret[us + 1..];
    if body.len() < 7 {
        return false;
    }
    let (payload, check) = body.split_at(body.len() - 6);
    crc_digits_are(payload, BASE62, check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_recognised() {
        for p in [
            "AKIAIOSFODNN7EXAMPLE",
            "sk_live_xxxxxxxxxxxxxxxxxxxx",
            "00000000-0000",
            "AKCxxxxxxxxxx",
            "amzn.mws.00000000-0000-0000-0000-000000000000",
            "abcdefghij",
            "ASIAZZZZZZZZZZZZZZZZ",
            "0123456789abcdefghijklmnopqrstuvwxyz_-.",
            "your_api_key_here",
        ] {
            assert!(placeholder_reason(p.as_bytes(), false).is_some(), "{p}");
        }
        for p in [
            "${API_KEY}",
            "{{ .Values.token }}",
            "<api-token>",
            "$TOKEN",
            "process.env.KEY",
            "${DB_PASS:-x}",
            "$(cat pw.txt)",
            "%NUGET_PAT%",
        ] {
            assert!(placeholder_reason(p.as_bytes(), true).is_some(), "{p}");
        }
        // Braces that are part of a value, not a template.
        assert_eq!(
            placeholder_reason(b"m{{h}o)p${e]nob(ody[finds>-_$#thisone}}", true),
            None
        );
    }

    #[test]
    fn random_values_are_not_placeholders() {
        for s in [
            "Qm7vT2pLx9RkZ4nB8sWc3HjD6fYg1UaE",
            "9f3b2c7d1e8a4f60b5c2d9e7a1f3c8b4",
            "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        ] {
            assert_eq!(placeholder_reason(s.as_bytes(), true), None, "{s}");
        }
    }

    #[test]
    fn jwt_structure() {
        let good = concat!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
            ".",
            "eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln"
        )
        .as_bytes();
        assert!(checksum_ok(Checksum::Jwt, good));
        // Header without its closing brace.
        assert!(!checksum_ok(
            Checksum::Jwt,
            b"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2ln"
        ));
        assert!(!checksum_ok(
            Checksum::Jwt,
            b"bm90X3ZhbGlk.bm90X3ZhbGlk.c2ln"
        ));
        assert_eq!(base64url_decode(b"aGk").as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn github_checksum() {
        assert!(checksum_ok(
            Checksum::GithubCrc32,
            concat!("ghp", "_iQMqLREH1ie9qF8JSUZIPf7G1z73oZ0gHsju").as_bytes()
        ));
        assert!(!checksum_ok(
            Checksum::GithubCrc32,
            concat!("ghp", "_iQMqLREH1ie9qF8JSUZIPf7G1z73oZ0gHsjv").as_bytes()
        ));
        assert!(!checksum_ok(Checksum::GithubCrc32, b"ghp_short"));
        // Synthetic routable tokens made the way GitLab's generator makes them.
        // leakhound:allow-next-line
        let good = b"glpat-bzoxYzlmMgp1OjdiNDFlBWysSyja9gtlTrjE1CgxoBA.171yieson";
        assert!(checksum_ok(Checksum::GitlabRoutable, good));
        let mut bad = good.to_vec();
        *bad.last_mut().expect("non-empty") = b'm';
        assert!(!checksum_ok(Checksum::GitlabRoutable, &bad));
        let legacy = b"glrt-cpV3SCbh8f2K-u3BVtiR"; // leakhound:allow (synthetic)
        assert!(checksum_ok(Checksum::GitlabRoutable, legacy));
        assert!(!checksum_ok(Checksum::GitlabRoutable, b"glpat-.1"));
    }
}
