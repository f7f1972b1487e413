//! Decoded views: a secret hidden behind base64 (a Kubernetes Secret's `data:`), percent
//! encoding (a token in a logged URL), hex, `\uXXXX`/`\xXX`/JSON escapes or HTML entities is
//! found by scanning the line again with the encoded span replaced by its decoding. Nested
//! encodings are followed to a bounded depth, and every blob has a budget of decoded bytes,
//! so a decoding bomb costs no more than a bounded amount of work.

use std::ops::Range;

/// One way text can be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Encoding {
    /// Standard or URL-safe base64, padded or not.
    Base64,
    /// `%XX` escapes.
    Percent,
    /// Pairs of hex digits.
    Hex,
    /// `\uXXXX`, `\xXX` and JSON string escapes (`\"`, `\\`, `\n`).
    Escapes,
    /// `&quot;`, `&#65;`, `&#x41;` and the other common entities.
    Html,
}

impl Encoding {
    /// The encoding a report names (`"base64"`), if it is one.
    pub fn named(name: &str) -> Option<Encoding> {
        [
            Encoding::Base64,
            Encoding::Percent,
            Encoding::Hex,
            Encoding::Escapes,
            Encoding::Html,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }

    /// The name shown in reports (`decoded: ["base64"]`).
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Percent => "percent",
            Encoding::Hex => "hex",
            Encoding::Escapes => "escapes",
            Encoding::Html => "html",
        }
    }
}

/// How far decoding goes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Decodings applied one inside another (base64 of base64 of ...).
    pub depth: usize,
    /// Decoded bytes produced per blob, at all depths together.
    pub budget: usize,
    /// Shortest encoded run considered (shorter base64/hex runs are identifiers).
    pub min_encoded: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 3,
            budget: 1 << 20,
            min_encoded: 16,
        }
    }
}

/// An encoded span of a text and what it decodes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// The encoded bytes' range in the text.
    pub span: Range<usize>,
    /// How they were encoded.
    pub encoding: Encoding,
    /// The decoding (printable text).
    pub text: Vec<u8>,
}

/// The encoded spans of `text` whose decoding is printable text, at most `budget` decoded
/// bytes in all (`budget` is decreased by what is returned). Spans do not overlap.
pub fn find(text: &[u8], limits: &Limits, budget: &mut usize) -> Vec<Decoded> {
    let mut out = Vec::new();
    // Spans taken so far, start -> end. They never overlap, so the one starting last before
    // a new span's end is the only one that can overlap it (a text with thousands of encoded
    // runs stays linear; a list scanned each time made such a text quadratic).
    let mut taken: std::collections::BTreeMap<usize, usize> = std::collections::BTreeMap::new();
    let mut push = |d: Decoded, out: &mut Vec<Decoded>, budget: &mut usize| -> bool {
        if taken
            .range(..d.span.end)
            .next_back()
            .is_some_and(|(_, &end)| end > d.span.start)
        {
            return true;
        }
        if d.text.len() > *budget {
            // Spent: what is left is too little for this span, so decoding stops here.
            *budget = 0;
            return false;
        }
        *budget -= d.text.len();
        taken.insert(d.span.start, d.span.end);
        out.push(d);
        true
    };
    // Every candidate span with its encoding: base64 and hex runs, then tokens with escapes.
    let runs = runs(text, limits.min_encoded).into_iter();
    let escaped = [Encoding::Percent, Encoding::Escapes, Encoding::Html]
        .into_iter()
        .flat_map(|e| escaped_tokens(text, e).into_iter().map(move |s| (s, e)));
    for (span, encoding) in runs.chain(escaped) {
        let raw = &text[span.clone()];
        let decoded = match encoding {
            Encoding::Base64 => base64(raw),
            Encoding::Hex => hex(raw),
            Encoding::Percent => percent(raw),
            Encoding::Escapes => escapes(raw),
            Encoding::Html => html(raw),
        };
        if let Some(d) = decoded.filter(|d| printable(d)) {
            let d = Decoded {
                span,
                encoding,
                text: d,
            };
            if !push(d, &mut out, budget) {
                return out;
            }
        }
    }
    out.sort_by_key(|d| d.span.start);
    out
}

/// [`find`] chunk by chunk ([`super::memo::chunks`]), skipping chunks that `memo` knows hold
/// nothing to decode and remembering those that do not. The same spans as [`find`] over the
/// whole text (no encoded span crosses a newline, where chunks end), except that a budget that
/// runs out stops at a chunk rather than at a kind of encoding.
pub fn find_memo(
    text: &[u8],
    limits: &Limits,
    budget: &mut usize,
    memo: &super::memo::Memo,
) -> Vec<Decoded> {
    let mut out = Vec::new();
    for chunk in super::memo::chunks(text) {
        let key = memo.chunk_key(&text[chunk.clone()]);
        if memo.nothing_to_decode(key) {
            continue;
        }
        let found = find(&text[chunk.clone()], limits, budget);
        if found.is_empty() {
            if *budget == 0 {
                break;
            }
            memo.remember_nothing_to_decode(key);
        }
        out.extend(found.into_iter().map(|mut d| {
            d.span = d.span.start + chunk.start..d.span.end + chunk.start;
            d
        }));
    }
    out
}

/// Runs of base64 or hex characters at least `min` long, with the encoding to try.
fn runs(text: &[u8], min: usize) -> Vec<(Range<usize>, Encoding)> {
    static B64: [bool; 256] = {
        let mut t = [false; 256];
        let mut i = 0;
        while i < 256 {
            let b = i as u8;
            t[i] = b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
            i += 1;
        }
        t
    };
    let b64 = |b: u8| B64[b as usize];
    let mut out = Vec::new();
    let min = min.max(1);
    // Only runs of at least `min` matter, and any such run that starts in [i, i + min)
    // covers i + min - 1: where that byte is not a base64 character, skip `min` bytes at
    // once (most of any text is short words and punctuation, so most probes skip).
    // Invariant: the byte before `i`, if any, is not part of a run still to be found.
    let mut i = 0;
    while i + min <= text.len() {
        let probe = i + min - 1;
        if !b64(text[probe]) {
            i = probe + 1;
            continue;
        }
        let start = text[i..probe]
            .iter()
            .rposition(|&b| !b64(b))
            .map_or(i, |p| i + p + 1);
        let stop = text[probe..]
            .iter()
            .position(|&b| !b64(b))
            .map_or(text.len(), |p| probe + p);
        let mut end = stop;
        while end < text.len() && end - stop < 2 && text[end] == b'=' {
            end += 1;
        }
        let run = &text[start..stop];
        if run.len() >= min {
            if run.len().is_multiple_of(2) && run.iter().all(u8::is_ascii_hexdigit) {
                out.push((start..stop, Encoding::Hex));
            } else if looks_base64(run) {
                out.push((start..end, Encoding::Base64));
            }
        }
        // The byte at `stop` (or the last padding byte) is not base64.
        i = end.max(stop + 1);
    }
    out
}

/// Base64 of text has mixed case or digits; a word or an identifier rarely decodes to text
/// anyway, but most can be skipped before decoding.
fn looks_base64(run: &[u8]) -> bool {
    let upper = run.iter().any(u8::is_ascii_uppercase);
    let lower = run.iter().any(u8::is_ascii_lowercase);
    let digit_or_sign = run
        .iter()
        .any(|b| b.is_ascii_digit() || matches!(b, b'+' | b'/'));
    upper && lower && digit_or_sign && !run.contains(&b'_') || (run.contains(&b'-') && upper)
}

/// Tokens (between whitespace and quotes) that hold at least one escape of `encoding`.
fn escaped_tokens(text: &[u8], encoding: Encoding) -> Vec<Range<usize>> {
    let marker: &[u8] = match encoding {
        Encoding::Percent => b"%",
        Encoding::Escapes => b"\\",
        Encoding::Html => b"&",
        _ => return Vec::new(),
    };
    let mut out: Vec<Range<usize>> = Vec::new();
    // Every marker before this lies in a token already looked at (pushed, or too long to
    // decode): each byte is scanned once, however many escapes a long token holds.
    let mut scanned_to = 0;
    for at in memchr::memmem::find_iter(text, marker) {
        if at < scanned_to {
            continue;
        }
        let escaped = match encoding {
            Encoding::Percent => text
                .get(at + 1..at + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
            Encoding::Escapes => text
                .get(at + 1)
                .is_some_and(|c| matches!(c, b'u' | b'x' | b'"')),
            _ => text[at..]
                .iter()
                .take(10)
                .position(|&b| b == b';')
                .is_some_and(|p| p > 1),
        };
        if !escaped {
            continue;
        }
        // The token: the line around the escape, up to whitespace (escapes and entities
        // stand inside quoted strings, so quotes do not end it).
        let stop = |b: u8| matches!(b, b'\n' | b'\r' | b' ' | b'\t');
        let start = text[scanned_to..at]
            .iter()
            .rposition(|&b| stop(b))
            .map_or(scanned_to, |p| scanned_to + p + 1);
        let end = text[at..]
            .iter()
            .position(|&b| stop(b))
            .map_or(text.len(), |p| at + p);
        scanned_to = end.max(at + 1);
        if end - start <= 4096 {
            out.push(start..end);
        }
    }
    out
}

/// Printable UTF-8 text, at least 8 bytes: what a credential can be hidden in.
fn printable(d: &[u8]) -> bool {
    if d.len() < 8 {
        return false;
    }
    let Ok(s) = std::str::from_utf8(d) else {
        return false;
    };
    let bad = s
        .chars()
        .filter(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
        .count();
    bad == 0
}

fn base64(s: &[u8]) -> Option<Vec<u8>> {
    super::filter::base64url_decode(s)
}

fn hex(s: &[u8]) -> Option<Vec<u8>> {
    let val = |b: u8| (b as char).to_digit(16).map(|v| v as u8);
    s.chunks(2)
        .map(|p| Some(val(p[0])? << 4 | val(*p.get(1)?)?))
        .collect()
}

fn percent(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    let mut any = false;
    while i < s.len() {
        if s[i] == b'%' {
            if let Some(v) = s.get(i + 1..i + 3).and_then(hex) {
                out.extend(v);
                i += 3;
                any = true;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    any.then_some(out)
}

fn escapes(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = String::with_capacity(s.len());
    let text = std::str::from_utf8(s).ok()?;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = chars.peek() else {
            out.push(c);
            break;
        };
        let take = |n: usize, chars: &mut std::iter::Peekable<std::str::Chars<'_>>| {
            let h: String = chars.clone().take(n).collect();
            let v = (h.len() == n).then(|| u32::from_str_radix(&h, 16).ok())??;
            for _ in 0..n {
                chars.next();
            }
            char::from_u32(v)
        };
        match e {
            'u' => {
                chars.next();
                match take(4, &mut chars) {
                    Some(ch) => out.push(ch),
                    None => out.push_str("\\u"),
                }
            }
            'x' => {
                chars.next();
                match take(2, &mut chars) {
                    Some(ch) => out.push(ch),
                    None => out.push_str("\\x"),
                }
            }
            '"' | '\\' | '/' | '\'' => {
                chars.next();
                out.push(e);
            }
            'n' | 't' | 'r' => {
                chars.next();
                out.push(' ');
            }
            _ => {
                out.push(c);
                continue;
            }
        }
        any = true;
    }
    any.then(|| out.into_bytes())
}

fn html(s: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(s).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut any = false;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';').filter(|&e| e <= 10) else {
            out.push('&');
            rest = &rest[1..];
            continue;
        };
        let name = &rest[1..end];
        let ch = match name {
            "quot" => Some('"'),
            "apos" => Some('\''),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "sol" => Some('/'),
            "equals" => Some('='),
            "colon" => Some(':'),
            _ => name
                .strip_prefix("#x")
                .or_else(|| name.strip_prefix("#X"))
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| name.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match ch {
            Some(c) => {
                out.push(c);
                any = true;
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    any.then(|| out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The plain byte-by-byte scan that `runs` skips ahead of.
    fn runs_reference(text: &[u8], min: usize) -> Vec<(Range<usize>, Encoding)> {
        let b64 = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_');
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            if !b64(text[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < text.len() && b64(text[i]) {
                i += 1;
            }
            let mut end = i;
            while end < text.len() && end - i < 2 && text[end] == b'=' {
                end += 1;
            }
            let run = &text[start..i];
            if run.len() >= min {
                if run.len().is_multiple_of(2) && run.iter().all(u8::is_ascii_hexdigit) {
                    out.push((start..i, Encoding::Hex));
                } else if looks_base64(run) {
                    out.push((start..end, Encoding::Base64));
                }
            }
            i = end.max(i);
        }
        out
    }

    proptest! {
        /// Skipping ahead finds exactly the runs a byte-by-byte scan finds.
        #[test]
        fn runs_match_the_plain_scan(
            text in proptest::collection::vec(
                prop::sample::select(b"aZ09+/-_= .\n=Q".to_vec()), 0..200),
            min in 1usize..24,
        ) {
            prop_assert_eq!(runs(&text, min), runs_reference(&text, min));
        }
    }

    fn one(text: &str) -> Vec<(Encoding, String)> {
        let mut budget = 1 << 20;
        find(text.as_bytes(), &Limits::default(), &mut budget)
            .into_iter()
            .map(|d| (d.encoding, String::from_utf8_lossy(&d.text).into_owned()))
            .collect()
    }

    #[test]
    fn each_encoding_decodes() {
        assert_eq!(
            one("  password: c3VwZXJzZWNyZXQtdmFsdWUtMTIz"),
            [(Encoding::Base64, "supersecret-value-123".to_string())]
        );
        assert_eq!(
            one("GET /cb?token%3Dabc%2Fdef%3D12345678 HTTP/1.1"),
            [(Encoding::Percent, "/cb?token=abc/def=12345678".to_string())]
        );
        assert_eq!(
            one("k=70617373776f72643d68756e746572"),
            [(Encoding::Hex, "password=hunter".to_string())]
        );
        assert_eq!(
            one(r#"{\"password\":\"s3cr3t-value\"}"#),
            [(
                Encoding::Escapes,
                r#"{"password":"s3cr3t-value"}"#.to_string()
            )]
        );
        assert_eq!(
            one("<input value=&quot;abc&#x3D;12345678&quot;>"),
            [(Encoding::Html, "value=\"abc=12345678\">".to_string())]
        );
    }

    #[test]
    fn garbage_truncation_and_budget_are_harmless() {
        assert!(one("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_empty());
        assert!(one("%zz%4 \\u12 &#xZZ; &;").is_empty());
        assert!(one("ZGVmZ").is_empty());
        let big = "c3VwZXJzZWNyZXQtdmFsdWUtMTIz ".repeat(1000);
        let mut budget = 100;
        let got = find(big.as_bytes(), &Limits::default(), &mut budget);
        assert!(got.len() <= 5 && budget < 100, "{}", got.len());
    }
}
