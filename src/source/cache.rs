//! The history cache (`leakhound git --cache DIR`): what a full-history scan of one
//! repository learnt, so that the next scan reads only the commits added since and scans only
//! blobs it has not seen.
//!
//! One file per repository and selection, written whole to a temporary file and renamed into
//! place, so a reader sees the old file or the new one, never half of either; two scans
//! sharing a directory each write a complete file and the last rename wins. The file ends
//! with a SHA-256 of everything before it: a truncated, corrupt or foreign file is reported
//! and ignored (the scan runs from scratch and writes a good one). Why not SQLite: a scan
//! loads the whole state and writes it back once; an embedded database would add a C build
//! (the install-time cost issue #13 removed) for queries we never make. See docs/cache.md.
//!
//! Parts, each valid on its own terms (docs/cache.md has the table):
//! - the walk (tips, every commit's order key, every blob's first place): depends on the
//!   repository only; kept while the old tips stay reachable;
//! - commit facts (commits whose message holds something, commits per AI agent): depend on
//!   the detection key and the AI signal table;
//! - blob verdicts (clean, binary, too large, with their size; quiet: every candidate
//!   dropped at the commit where the blob entered): depend on the engine, the rules and the
//!   detection settings, quiet ones on the triage settings too. Blobs with findings are
//!   never stored: they are scanned again, so no secret is ever written here;
//! - slow fingerprints by place (blob, rule, span), and per pack its unreached blobs.
//!
//! The cache is trusted like the binary: keep it where only the scanning user writes (a CI
//! cache scoped to the branch). Nothing in the scanned repository chooses its location.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::git::{CommitId, HistoryBlob, Walked};
use super::{BlobId, IdMap};
use crate::finding::{Fingerprint, Place};

/// Bumped whenever the layout or the meaning of a part changes.
const FORMAT: u32 = 1;
const MAGIC: &[u8; 8] = b"LHCACHE\0";
/// A cache file larger than this is not read.
const MAX_FILE: u64 = 2 << 30;

/// What is known about a blob that detection found nothing in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Scanned, nothing found; its size.
    Clean(u64),
    /// Binary (NUL in its first 8 KiB).
    Binary,
    /// Larger than the size limit.
    TooLarge,
    /// Read (its size), with candidates that triage dropped, all of them, where the blob
    /// entered history at this commit. Valid only under the same triage settings (the
    /// verdicts' second key) and while the blob still enters there.
    Quiet(u64, CommitId),
}

/// Commit facts that depend on the rules and the signal table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Commits whose message detection found something in (read again each run: the
    /// others' messages are known clean).
    pub triggered: Vec<CommitId>,
    /// Commits per AI agent.
    pub tally: Vec<(String, u64)>,
}

/// Everything the cache holds for one repository and selection.
#[derive(Debug, Clone, Default)]
pub struct State {
    /// The walk, with its blobs in history order.
    pub walk: Option<(Walked, Vec<HistoryBlob>)>,
    /// Commit facts and the key they were computed under.
    pub facts: Option<([u8; 32], Facts)>,
    /// Blob verdicts and the keys they were computed under (detection; triage, for
    /// [`Verdict::Quiet`]).
    pub verdicts: Option<([u8; 32], [u8; 32], IdMap<Verdict>)>,
    /// Slow fingerprints by place, and the key they were derived under.
    pub book: Option<([u8; 32], Vec<BookEntry>)>,
    /// Per pack (name, size): its blobs no ref reached, for the "dangling" count.
    pub packs: Vec<PackNote>,
}

/// A slow fingerprint and the place of its secret.
pub type BookEntry = (Place, Fingerprint);

/// A pack seen by the last scan and its blobs that no ref reached then.
pub type PackNote = (String, u64, Vec<BlobId>);

/// The cache file for `repository` (a name, or the canonical path of its git directory)
/// and `selection` (`all`, or `branch:<rev>`) under `dir`.
pub fn file_for(dir: &Path, repository: &str, selection: &str) -> PathBuf {
    let mut h = Sha256::new();
    h.update(repository.as_bytes());
    h.update([0]);
    h.update(selection.as_bytes());
    let digest = h.finalize();
    let name: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{name}.lhc"))
}

/// Reads a cache file. `Ok(None)` when there is none; `Err` says why one cannot be used
/// (then the caller scans from scratch and overwrites it).
pub fn load(file: &Path, repository: &str, selection: &str) -> Result<Option<State>, String> {
    match std::fs::metadata(file) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Ok(m) if !m.is_file() => return Err("not a regular file".into()),
        // About 90 bytes a blob and 30 a commit: curl's is 10 MB, git/git's 13 MB.
        Ok(m) if m.len() > MAX_FILE => return Err(format!("larger than {MAX_FILE} bytes")),
        _ => {}
    }
    let bytes = match std::fs::read(file) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read it: {e}")),
    };
    if bytes.len() < MAGIC.len() + 4 + 32 || &bytes[..8] != MAGIC {
        return Err("not a leakhound cache file (or cut short)".into());
    }
    let (body, sum) = bytes.split_at(bytes.len() - 32);
    if Sha256::digest(body).as_slice() != sum {
        return Err("checksum mismatch: cut short or damaged".into());
    }
    let mut r = Reader { b: body, at: 8 };
    let format = r.u32()?;
    if format != FORMAT {
        return Err(format!(
            "written in format {format} by another leakhound version (this one reads {FORMAT})"
        ));
    }
    if r.str()? != repository || r.str()? != selection {
        return Err("written for another repository or selection".into());
    }
    let state = State {
        walk: r.opt(|r| r.walk())?,
        facts: r.opt(|r| Ok((r.key()?, r.facts()?)))?,
        verdicts: r.opt(|r| Ok((r.key()?, r.key()?, r.verdicts()?)))?,
        book: r.opt(|r| Ok((r.key()?, r.book()?)))?,
        packs: r.packs()?,
    };
    if r.at != r.b.len() {
        return Err("trailing bytes".into());
    }
    Ok(Some(state))
}

/// Writes a cache file atomically (temporary file in the same directory, then rename).
pub fn store(
    file: &Path,
    repository: &str,
    selection: &str,
    state: &StateRef<'_>,
) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut w = Vec::with_capacity(64 + state.blobs.map_or(0, |b| b.len() * 64));
    w.extend_from_slice(MAGIC);
    put_u32(&mut w, FORMAT);
    put_str(&mut w, repository);
    put_str(&mut w, selection);
    match (state.walked, state.blobs) {
        (Some(walked), Some(blobs)) => {
            w.push(1);
            put_walk(&mut w, walked, blobs);
        }
        _ => w.push(0),
    }
    match state.facts {
        Some((key, facts)) => {
            w.push(1);
            w.extend_from_slice(key);
            put_u32(&mut w, facts.triggered.len() as u32);
            for c in &facts.triggered {
                w.extend_from_slice(&c.0);
            }
            put_u32(&mut w, facts.tally.len() as u32);
            for (tool, n) in &facts.tally {
                put_str(&mut w, tool);
                w.extend_from_slice(&n.to_le_bytes());
            }
        }
        None => w.push(0),
    }
    match state.verdicts {
        Some((key, triage_key, verdicts)) => {
            w.push(1);
            w.extend_from_slice(key);
            w.extend_from_slice(triage_key);
            put_u32(&mut w, verdicts.len() as u32);
            for (id, v) in verdicts.iter() {
                w.extend_from_slice(&id.0);
                let (kind, size) = match v {
                    Verdict::Clean(n) => (0u8, *n),
                    Verdict::Binary => (1, 0),
                    Verdict::TooLarge => (2, 0),
                    Verdict::Quiet(n, _) => (3, *n),
                };
                w.push(kind);
                w.extend_from_slice(&size.to_le_bytes());
                if let Verdict::Quiet(_, commit) = v {
                    w.extend_from_slice(&commit.0);
                }
            }
        }
        None => w.push(0),
    }
    match state.book {
        Some((key, entries)) => {
            w.push(1);
            w.extend_from_slice(key);
            put_u32(&mut w, entries.len() as u32);
            for (place, fp) in entries {
                w.extend_from_slice(&place.blob.0);
                put_str(&mut w, &place.rule);
                w.extend_from_slice(&place.span.0.to_le_bytes());
                w.extend_from_slice(&place.span.1.to_le_bytes());
                put_str(&mut w, &fp.0);
            }
        }
        None => w.push(0),
    }
    put_u32(&mut w, state.packs.len() as u32);
    for (name, size, ids) in state.packs {
        put_str(&mut w, name);
        w.extend_from_slice(&size.to_le_bytes());
        put_u32(&mut w, ids.len() as u32);
        for id in ids {
            w.extend_from_slice(&id.0);
        }
    }
    let sum = Sha256::digest(&w);
    w.extend_from_slice(&sum);
    let tmp = dir.join(format!(
        ".{}.{}.{}.tmp",
        file.file_name().and_then(|n| n.to_str()).unwrap_or("cache"),
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos())
    ));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)?;
        // No fsync: a file cut short by a crash fails its checksum and is rebuilt.
        f.write_all(&w)?;
        drop(f);
        std::fs::rename(&tmp, file)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// What [`store`] writes, borrowed from the scan.
#[derive(Debug)]
pub struct StateRef<'a> {
    /// The walk state (written only with `blobs`).
    pub walked: Option<&'a Walked>,
    /// The walk's blobs in history order.
    pub blobs: Option<&'a [HistoryBlob]>,
    /// Commit facts and their key.
    pub facts: Option<(&'a [u8; 32], &'a Facts)>,
    /// Blob verdicts and their keys.
    pub verdicts: Option<(&'a [u8; 32], &'a [u8; 32], &'a IdMap<Verdict>)>,
    /// Slow fingerprints by place and their key.
    pub book: Option<(&'a [u8; 32], &'a [BookEntry])>,
    /// Packs and their unreached blobs.
    pub packs: &'a [PackNote],
}

fn put_u32(w: &mut Vec<u8>, n: u32) {
    w.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(w: &mut Vec<u8>, b: &[u8]) {
    put_u32(w, b.len() as u32);
    w.extend_from_slice(b);
}

fn put_str(w: &mut Vec<u8>, s: &str) {
    put_bytes(w, s.as_bytes());
}

fn put_walk(w: &mut Vec<u8>, walked: &Walked, blobs: &[HistoryBlob]) {
    put_u32(w, walked.tips.len() as u32);
    for t in &walked.tips {
        w.extend_from_slice(&t.0);
    }
    w.push(u8::from(walked.submodules));
    // Commits in a table; blobs name theirs by index.
    let mut commits: Vec<(&CommitId, &i64)> = walked.keys.iter().collect();
    commits.sort_unstable();
    let index: IdMap<u32> = commits
        .iter()
        .enumerate()
        .map(|(i, (c, _))| (**c, i as u32))
        .collect();
    put_u32(w, commits.len() as u32);
    for (c, k) in &commits {
        w.extend_from_slice(&c.0);
        w.extend_from_slice(&k.to_le_bytes());
    }
    // Paths in a table too: most paths hold many blobs.
    let mut paths: HashMap<&[u8], u32> = HashMap::new();
    let mut table: Vec<&[u8]> = Vec::new();
    let mut path_of = Vec::with_capacity(blobs.len());
    for b in blobs {
        let bytes: &[u8] = b.raw.as_deref().unwrap_or(b.path.as_bytes());
        let n = *paths.entry(bytes).or_insert_with(|| {
            table.push(bytes);
            table.len() as u32 - 1
        });
        path_of.push(n);
    }
    put_u32(w, table.len() as u32);
    for p in &table {
        put_bytes(w, p);
    }
    put_u32(w, blobs.len() as u32);
    for (b, path) in blobs.iter().zip(path_of) {
        w.extend_from_slice(&b.id.0);
        put_u32(w, index.get(&b.commit).copied().unwrap_or(u32::MAX));
        put_u32(w, b.seq);
        put_u32(w, path);
    }
}

/// A bounds-checked reader: every count is checked against the bytes left before anything
/// is allocated for it.
struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.b.len());
        let end = end.ok_or("cut short")?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let s = self.take(4)?;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, String> {
        let mut a = [0u8; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(u64::from_le_bytes(a))
    }
    fn id(&mut self) -> Result<BlobId, String> {
        let mut a = [0u8; 20];
        a.copy_from_slice(self.take(20)?);
        Ok(BlobId(a))
    }
    fn key(&mut self) -> Result<[u8; 32], String> {
        let mut a = [0u8; 32];
        a.copy_from_slice(self.take(32)?);
        Ok(a)
    }
    fn bytes(&mut self) -> Result<&'a [u8], String> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn str(&mut self) -> Result<&'a str, String> {
        std::str::from_utf8(self.bytes()?).map_err(|_| "a name is not UTF-8".to_string())
    }
    /// A count of entries of at least `min` bytes each.
    fn count(&mut self, min: usize) -> Result<usize, String> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.b.len() - self.at {
            return Err("a count exceeds the file".into());
        }
        Ok(n)
    }
    fn opt<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, String>,
    ) -> Result<Option<T>, String> {
        match self.u8()? {
            0 => Ok(None),
            1 => f(self).map(Some),
            _ => Err("bad section flag".into()),
        }
    }
    fn walk(&mut self) -> Result<(Walked, Vec<HistoryBlob>), String> {
        let n = self.count(20)?;
        let tips = (0..n).map(|_| self.id()).collect::<Result<Vec<_>, _>>()?;
        let submodules = self.u8()? != 0;
        let n = self.count(28)?;
        let mut table = Vec::with_capacity(n);
        let mut keys = IdMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let c = self.id()?;
            let k = self.u64()? as i64;
            table.push((c, k));
            keys.insert(c, k);
        }
        let n = self.count(4)?;
        let mut paths = Vec::with_capacity(n);
        for _ in 0..n {
            let (path, raw) = super::path_name(self.bytes()?.to_vec());
            paths.push((std::sync::Arc::<str>::from(path), raw));
        }
        let n = self.count(32)?;
        let mut blobs = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.id()?;
            let (commit, key) = *table
                .get(self.u32()? as usize)
                .ok_or("a blob names no commit")?;
            let seq = self.u32()?;
            let (path, raw) = paths
                .get(self.u32()? as usize)
                .ok_or("a blob names no path")?
                .clone();
            blobs.push(HistoryBlob {
                id,
                commit,
                key,
                seq,
                path,
                raw,
            });
        }
        if !blobs.is_sorted_by_key(|b| (b.key, b.commit, b.seq)) {
            return Err("blobs out of order".into());
        }
        Ok((
            Walked {
                tips,
                keys,
                submodules,
            },
            blobs,
        ))
    }
    fn facts(&mut self) -> Result<Facts, String> {
        let n = self.count(20)?;
        let triggered = (0..n).map(|_| self.id()).collect::<Result<Vec<_>, _>>()?;
        let n = self.count(12)?;
        let mut tally = Vec::with_capacity(n);
        for _ in 0..n {
            let tool = self.str()?.to_string();
            tally.push((tool, self.u64()?));
        }
        Ok(Facts { triggered, tally })
    }
    fn packs(&mut self) -> Result<Vec<PackNote>, String> {
        let n = self.count(16)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let name = self.str()?.to_string();
            let size = self.u64()?;
            let k = self.count(20)?;
            let ids = (0..k).map(|_| self.id()).collect::<Result<Vec<_>, _>>()?;
            out.push((name, size, ids));
        }
        Ok(out)
    }
    fn book(&mut self) -> Result<Vec<(Place, Fingerprint)>, String> {
        let n = self.count(20 + 4 + 16 + 4)?;
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let blob = self.id()?;
            let rule = self.str()?.to_string();
            let span = (self.u64()?, self.u64()?);
            let fp = self.str()?;
            if fp.len() != 32 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err("a fingerprint is malformed".into());
            }
            out.push((Place { blob, rule, span }, Fingerprint(fp.to_string())));
        }
        Ok(out)
    }
    fn verdicts(&mut self) -> Result<IdMap<Verdict>, String> {
        let n = self.count(29)?;
        let mut out = IdMap::with_capacity_and_hasher(n, Default::default());
        for _ in 0..n {
            let id = self.id()?;
            let kind = self.u8()?;
            let size = self.u64()?;
            let v = match kind {
                0 => Verdict::Clean(size),
                1 => Verdict::Binary,
                2 => Verdict::TooLarge,
                3 => Verdict::Quiet(size, self.id()?),
                _ => return Err("unknown verdict".into()),
            };
            out.insert(id, v);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn sample() -> (Walked, Vec<HistoryBlob>, Facts, IdMap<Verdict>) {
        let c = BlobId([7; 20]);
        let walked = Walked {
            tips: vec![c],
            keys: IdMap::from_iter([(c, 1_700_000_000)]),
            submodules: true,
        };
        let raw: Arc<[u8]> = Arc::from(&b"bad\xffname"[..]);
        let blobs = vec![
            HistoryBlob {
                id: BlobId([1; 20]),
                commit: c,
                key: 1_700_000_000,
                seq: 0,
                path: Arc::from("a/b.txt"),
                raw: None,
            },
            HistoryBlob {
                id: BlobId([2; 20]),
                commit: c,
                key: 1_700_000_000,
                seq: 1,
                path: Arc::from(String::from_utf8_lossy(&raw).as_ref()),
                raw: Some(raw),
            },
        ];
        let facts = Facts {
            triggered: vec![c],
            tally: vec![("Claude Code".into(), 3)],
        };
        let verdicts = IdMap::from_iter([
            (BlobId([1; 20]), Verdict::Clean(42)),
            (BlobId([2; 20]), Verdict::Binary),
            (BlobId([3; 20]), Verdict::TooLarge),
            (BlobId([4; 20]), Verdict::Quiet(7, BlobId([7; 20]))),
        ]);
        (walked, blobs, facts, verdicts)
    }

    #[test]
    fn round_trip_and_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = file_for(dir.path(), "/repo", "all");
        let (walked, blobs, facts, verdicts) = sample();
        let key = [9u8; 32];
        let packs = vec![("pack-1.pack".to_string(), 99, vec![BlobId([5; 20])])];
        let book = vec![(
            Place {
                blob: BlobId([1; 20]),
                rule: "generic-password".into(),
                span: (10, 22),
            },
            Fingerprint("0123456789abcdef0123456789abcdef".into()),
        )];
        store(
            &file,
            "/repo",
            "all",
            &StateRef {
                walked: Some(&walked),
                blobs: Some(&blobs),
                facts: Some((&key, &facts)),
                verdicts: Some((&key, &key, &verdicts)),
                book: Some((&key, &book)),
                packs: &packs,
            },
        )
        .expect("stores");
        let got = load(&file, "/repo", "all").expect("loads").expect("exists");
        let (w, b) = got.walk.expect("walk");
        assert_eq!(
            (w.tips, w.keys, w.submodules),
            (walked.tips, walked.keys, true)
        );
        assert_eq!(b.len(), 2);
        assert_eq!(b[1].raw.as_deref(), blobs[1].raw.as_deref());
        assert_eq!(got.facts, Some((key, facts)));
        assert_eq!(got.verdicts, Some((key, key, verdicts)));
        assert_eq!(got.book, Some((key, book)));
        assert_eq!(got.packs, packs);
        assert!(load(&file, "/other", "all").is_err());
        assert!(load(&file, "/repo", "branch:main").is_err());
        // Every truncation and every flipped byte is refused, never trusted.
        let bytes = std::fs::read(&file).expect("read");
        for cut in 0..bytes.len() {
            std::fs::write(&file, &bytes[..cut]).expect("write");
            assert!(load(&file, "/repo", "all").is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            std::fs::write(&file, &b).expect("write");
            assert!(load(&file, "/repo", "all").is_err(), "flip at {at}");
        }
        assert!(load(&dir.path().join("none.lhc"), "/repo", "all")
            .expect("absent is fine")
            .is_none());
    }
}
