//! A minimal BSON encoder and decoder: what MongoDB's handshake and SCRAM commands use.
//! Decoding checks every length against the input and bounds the nesting.

const MAX_DEPTH: usize = 32;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Bson {
    Double(f64),
    Str(String),
    Doc(Doc),
    Array(Vec<Bson>),
    Binary(u8, Vec<u8>),
    Bool(bool),
    Null,
    Int32(i32),
    Int64(i64),
    /// A value of another type (ObjectId, date, timestamp, ...): skipped when decoding,
    /// written as null.
    Other(u8),
}

impl Bson {
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Bson::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(super) fn as_doc(&self) -> Option<&Doc> {
        match self {
            Bson::Doc(d) => Some(d),
            _ => None,
        }
    }

    pub(super) fn as_array(&self) -> Option<&[Bson]> {
        match self {
            Bson::Array(a) => Some(a),
            _ => None,
        }
    }

    pub(super) fn as_binary(&self) -> Option<&[u8]> {
        match self {
            Bson::Binary(_, b) => Some(b),
            _ => None,
        }
    }

    pub(super) fn as_f64(&self) -> Option<f64> {
        match *self {
            Bson::Double(d) => Some(d),
            Bson::Int32(i) => Some(f64::from(i)),
            Bson::Int64(i) => i32::try_from(i).ok().map(f64::from),
            Bson::Bool(b) => Some(if b { 1.0 } else { 0.0 }),
            _ => None,
        }
    }

    fn type_byte(&self) -> u8 {
        match self {
            Bson::Double(_) => 0x01,
            Bson::Str(_) => 0x02,
            Bson::Doc(_) => 0x03,
            Bson::Array(_) => 0x04,
            Bson::Binary(..) => 0x05,
            Bson::Bool(_) => 0x08,
            Bson::Null | Bson::Other(_) => 0x0a,
            Bson::Int32(_) => 0x10,
            Bson::Int64(_) => 0x12,
        }
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Bson::Double(d) => out.extend(d.to_le_bytes()),
            Bson::Str(s) => {
                out.extend(len32(s.len() + 1));
                out.extend_from_slice(s.as_bytes());
                out.push(0);
            }
            Bson::Doc(d) => d.encode_into(out),
            Bson::Array(a) => {
                let d = Doc(a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v.clone()))
                    .collect());
                d.encode_into(out);
            }
            Bson::Binary(sub, b) => {
                out.extend(len32(b.len()));
                out.push(*sub);
                out.extend_from_slice(b);
            }
            Bson::Bool(b) => out.push(u8::from(*b)),
            Bson::Null | Bson::Other(_) => {}
            Bson::Int32(i) => out.extend(i.to_le_bytes()),
            Bson::Int64(i) => out.extend(i.to_le_bytes()),
        }
    }
}

fn len32(n: usize) -> [u8; 4] {
    i32::try_from(n).unwrap_or(i32::MAX).to_le_bytes()
}

/// A document: keys in order.
#[derive(Debug, Clone, PartialEq, Default)]
pub(super) struct Doc(pub(super) Vec<(String, Bson)>);

impl Doc {
    pub(super) fn new() -> Doc {
        Doc::default()
    }

    pub(super) fn with(mut self, key: &str, value: Bson) -> Doc {
        self.0.push((key.to_string(), value));
        self
    }

    pub(super) fn get(&self, key: &str) -> Option<&Bson> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(super) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode_into(&mut out);
        out
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend([0u8; 4]);
        for (k, v) in &self.0 {
            out.push(v.type_byte());
            out.extend(k.bytes().filter(|&b| b != 0));
            out.push(0);
            v.encode(out);
        }
        out.push(0);
        let len = len32(out.len() - start);
        if let Some(slot) = out.get_mut(start..start + 4) {
            slot.copy_from_slice(&len);
        }
    }

    /// Decodes one document that fills `bytes` exactly.
    pub(super) fn decode(bytes: &[u8]) -> Result<Doc, &'static str> {
        doc(bytes, 0).map(Doc)
    }
}

/// The non-negative int32 length at the start of `b`.
fn len_at(b: &[u8]) -> Result<usize, &'static str> {
    let l = b
        .get(..4)
        .and_then(|s| s.try_into().ok())
        .map(i32::from_le_bytes)
        .ok_or("truncated BSON length")?;
    usize::try_from(l).map_err(|_| "negative BSON length")
}

fn doc(buf: &[u8], depth: usize) -> Result<Vec<(String, Bson)>, &'static str> {
    if depth > MAX_DEPTH {
        return Err("BSON nested too deeply");
    }
    let len = len_at(buf)?;
    if len != buf.len() || len < 5 || buf.last() != Some(&0) {
        return Err("BSON document length");
    }
    let body = buf.get(4..len - 1).ok_or("BSON document length")?;
    let mut pos = 0;
    let mut out = Vec::new();
    while let Some(&ty) = body.get(pos) {
        let rest = body.get(pos + 1..).unwrap_or_default();
        let key_len = rest.iter().position(|&b| b == 0).ok_or("BSON key")?;
        let key = rest
            .get(..key_len)
            .and_then(|k| std::str::from_utf8(k).ok())
            .ok_or("BSON key")?;
        let value_bytes = rest.get(key_len + 1..).unwrap_or_default();
        let (value, used) = value(ty, value_bytes, depth)?;
        out.push((key.to_string(), value));
        pos += 1 + key_len + 1 + used;
    }
    Ok(out)
}

fn fixed(b: &[u8], n: usize) -> Result<&[u8], &'static str> {
    b.get(..n).ok_or("truncated BSON value")
}

fn string(b: &[u8]) -> Result<(String, usize), &'static str> {
    let n = len_at(b)?;
    let used = n.checked_add(4).ok_or("BSON string length")?;
    let bytes = b.get(4..used).ok_or("BSON string length")?;
    match bytes.split_last() {
        Some((0, s)) => std::str::from_utf8(s)
            .map(|s| (s.to_string(), used))
            .map_err(|_| "BSON string is not UTF-8"),
        _ => Err("BSON string terminator"),
    }
}

fn cstring_len(b: &[u8]) -> Result<usize, &'static str> {
    b.iter()
        .position(|&c| c == 0)
        .map(|n| n + 1)
        .ok_or("BSON C string")
}

fn value(ty: u8, b: &[u8], depth: usize) -> Result<(Bson, usize), &'static str> {
    let arr8 = |b: &[u8]| -> Result<[u8; 8], &'static str> {
        fixed(b, 8)?.try_into().map_err(|_| "truncated BSON value")
    };
    Ok(match ty {
        0x01 => (Bson::Double(f64::from_le_bytes(arr8(b)?)), 8),
        0x02 => {
            let (s, used) = string(b)?;
            (Bson::Str(s), used)
        }
        0x03 | 0x04 => {
            let n = len_at(b)?;
            let inner = doc(fixed(b, n)?, depth + 1)?;
            if ty == 0x03 {
                (Bson::Doc(Doc(inner)), n)
            } else {
                (Bson::Array(inner.into_iter().map(|(_, v)| v).collect()), n)
            }
        }
        0x05 => {
            let n = len_at(b)?;
            let end = n.checked_add(5).ok_or("BSON binary length")?;
            let sub = *b.get(4).ok_or("truncated BSON value")?;
            let data = b.get(5..end).ok_or("BSON binary length")?;
            (Bson::Binary(sub, data.to_vec()), end)
        }
        0x06 | 0x7f | 0xff => (Bson::Other(ty), 0),
        0x07 => (Bson::Other(ty), fixed(b, 12)?.len()),
        0x08 => match fixed(b, 1)? {
            [0] => (Bson::Bool(false), 1),
            [1] => (Bson::Bool(true), 1),
            _ => return Err("BSON boolean"),
        },
        0x09 | 0x11 => (Bson::Other(ty), fixed(b, 8)?.len()),
        0x0a => (Bson::Null, 0),
        0x0b => {
            let a = cstring_len(b)?;
            let c = cstring_len(b.get(a..).unwrap_or_default())?;
            (Bson::Other(ty), a + c)
        }
        0x0c => {
            let (_, used) = string(b)?;
            fixed(b.get(used..).unwrap_or_default(), 12)?;
            (Bson::Other(ty), used + 12)
        }
        0x0d | 0x0e => (Bson::Other(ty), string(b)?.1),
        0x0f => {
            let n = len_at(b)?;
            if n < 14 {
                return Err("BSON code with scope");
            }
            (Bson::Other(ty), fixed(b, n)?.len())
        }
        0x10 => {
            let v: [u8; 4] = fixed(b, 4)?.try_into().map_err(|_| "BSON int32")?;
            (Bson::Int32(i32::from_le_bytes(v)), 4)
        }
        0x12 => (Bson::Int64(i64::from_le_bytes(arr8(b)?)), 8),
        0x13 => (Bson::Other(ty), fixed(b, 16)?.len()),
        _ => return Err("unknown BSON type"),
    })
}
