//! Memoisation for history scans. A repository's history is mostly the same lines again,
//! version after version (curl: 3.35 GB of blob text, about 150 MB of it new relative to the
//! previous version of the file). Two caches, shared by all workers of one scan, remove the
//! repeated work without changing any result:
//!
//! - **Keyword hits per chunk.** A blob is cut into content-defined chunks that end at a
//!   newline; the keyword occurrences of a chunk are a function of its bytes alone (no
//!   keyword contains a newline, which [`super::prefilter::Prefilter`] checks), so a chunk
//!   seen before reuses its hits instead of running the automaton again.
//! - **Regex windows with no result.** Whether a rule's regex, run over a window with
//!   [`CONTEXT`] bytes of look-around on each side, yields an accepted match is a function of
//!   those bytes, the rule, and whether the window touches either end of the blob. Windows
//!   that yielded nothing are remembered and skipped next time.
//!
//! - **Chunks with nothing to decode.** Whether a chunk holds an encoded span worth decoding
//!   (a base64 or hex run, an escape) is a function of its bytes alone (no encoded span
//!   crosses a newline), so a chunk known to hold none is not searched again.
//!
//! Keys are 64-bit XXH3 hashes seeded per run from the OS's randomness, so a collision cannot
//! be prepared offline to hide a secret behind a clean chunk. Memory is bounded: a shard
//! that reaches its share of [`Memo::with_capacity`] is cleared and refills, so peak memory
//! depends on the cap, not on the size of the repository.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Mutex;

use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bytes of look-around kept on each side of a window when keying it: enough for one UTF-8
/// character, which is the most any regex look-around (`\b`, line anchors) reads.
pub const CONTEXT: usize = 4;

const SHARDS: usize = 64;
/// Chunks end at the first newline after at least this many bytes whose ending says so.
const MIN_CHUNK: usize = 256;
/// A chunk ends at the first newline after this many bytes whatever its ending.
const MAX_CHUNK: usize = 4096;

/// Hasher for keys that already are hashes.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Build = BuildHasherDefault<Prehashed>;

#[derive(Default)]
struct ChunkShard {
    /// Chunk key to a range of `hits`.
    map: HashMap<u64, (u32, u32), Build>,
    /// (keyword pattern, offset in chunk) for every chunk in `map`, back to back.
    hits: Vec<(u32, u32)>,
}

/// The caches of one history scan. `Sync`; share one across the workers.
pub struct Memo {
    seed: u64,
    per_shard: usize,
    chunks: Vec<Mutex<ChunkShard>>,
    windows: Vec<Mutex<HashSet<u64, Build>>>,
    plain: Vec<Mutex<HashSet<u64, Build>>>,
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memo")
            .field("per_shard", &self.per_shard)
            .finish_non_exhaustive()
    }
}

impl Default for Memo {
    fn default() -> Memo {
        Memo::with_capacity(500_000)
    }
}

impl Memo {
    /// Caches holding at most about `entries` chunks and as many windows (each entry is
    /// 8 to 16 bytes plus table overhead).
    pub fn with_capacity(entries: usize) -> Memo {
        Memo {
            seed: std::collections::hash_map::RandomState::new()
                .hash_one(0x6c65_616b_686f_756e_u64),
            per_shard: (entries / SHARDS).max(16),
            chunks: (0..SHARDS).map(|_| Mutex::default()).collect(),
            windows: (0..SHARDS).map(|_| Mutex::default()).collect(),
            plain: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    /// The key of a chunk.
    pub fn chunk_key(&self, chunk: &[u8]) -> u64 {
        xxh3_64_with_seed(chunk, self.seed)
    }

    /// Copies the cached hits of chunk `key` into `out`; false when the chunk is unknown.
    pub fn chunk_hits(&self, key: u64, out: &mut Vec<(u32, u32)>) -> bool {
        let shard = lock(&self.chunks[shard(key)]);
        match shard.map.get(&key) {
            Some(&(at, n)) => {
                out.clear();
                out.extend_from_slice(&shard.hits[at as usize..(at + n) as usize]);
                true
            }
            None => false,
        }
    }

    /// Remembers the hits of chunk `key`.
    pub fn remember_chunk(&self, key: u64, hits: &[(u32, u32)]) {
        let mut shard = lock(&self.chunks[shard(key)]);
        if shard.map.len() >= self.per_shard || shard.hits.len() + hits.len() > u32::MAX as usize {
            shard.map.clear();
            shard.hits.clear();
        }
        let at = shard.hits.len() as u32;
        shard.hits.extend_from_slice(hits);
        shard.map.insert(key, (at, hits.len() as u32));
    }

    /// The key of `rule`'s search over `window` of `bytes`.
    pub fn window_key(&self, rule: usize, bytes: &[u8], window: &Range<usize>) -> u64 {
        let from = window.start.saturating_sub(CONTEXT);
        let to = (window.end + CONTEXT).min(bytes.len());
        let edges = u64::from(window.start == 0) | (u64::from(window.end == bytes.len()) << 1);
        let salt = (rule as u64)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .wrapping_add(edges)
            .wrapping_add(((window.start - from) as u64) << 2)
            .wrapping_add(((to - window.end) as u64) << 5);
        xxh3_64_with_seed(&bytes[from..to], self.seed ^ salt)
    }

    /// Whether a window with this key is known to yield nothing.
    pub fn window_is_empty(&self, key: u64) -> bool {
        lock(&self.windows[shard(key)]).contains(&key)
    }

    /// Whether the chunk with this key is known to hold nothing to decode.
    pub fn nothing_to_decode(&self, chunk_key: u64) -> bool {
        lock(&self.plain[shard(chunk_key)]).contains(&chunk_key)
    }

    /// Remembers that the chunk with this key holds nothing to decode.
    pub fn remember_nothing_to_decode(&self, chunk_key: u64) {
        let mut shard = lock(&self.plain[shard(chunk_key)]);
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(chunk_key);
    }

    /// Remembers that a window with this key yields nothing.
    pub fn remember_empty_window(&self, key: u64) {
        let mut shard = lock(&self.windows[shard(key)]);
        if shard.len() >= self.per_shard {
            shard.clear();
        }
        shard.insert(key);
    }
}

fn shard(key: u64) -> usize {
    // Not the low bits (the table's bucket index) nor the top seven (its tag).
    ((key >> 32) as usize) % SHARDS
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding a cache lock leaves a consistent (if partial) cache.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Content-defined chunks of `bytes`: each ends just after a newline (or at the end of the
/// input), so an edit changes the chunks around it and the rest of the file keeps its
/// chunks. Chunk ends depend only on the bytes just before a newline and the chunk's length.
pub fn chunks(bytes: &[u8]) -> Chunks<'_> {
    Chunks {
        bytes,
        start: 0,
        newlines: memchr::memchr_iter(b'\n', bytes),
    }
}

/// Iterator returned by [`chunks`].
pub struct Chunks<'a> {
    bytes: &'a [u8],
    start: usize,
    newlines: memchr::Memchr<'a>,
}

impl Iterator for Chunks<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        for nl in self.newlines.by_ref() {
            let end = nl + 1;
            let len = end - self.start;
            if len >= MAX_CHUNK || (len >= MIN_CHUNK && ends_chunk(&self.bytes[..nl])) {
                let chunk = self.start..end;
                self.start = end;
                return Some(chunk);
            }
        }
        if self.start < self.bytes.len() {
            let chunk = self.start..self.bytes.len();
            self.start = self.bytes.len();
            return Some(chunk);
        }
        None
    }
}

/// One line in eight, decided by the last eight bytes of the line.
fn ends_chunk(before_newline: &[u8]) -> bool {
    let tail = &before_newline[before_newline.len().saturating_sub(8)..];
    let mut x = 0u64;
    for &b in tail {
        x = (x << 8) | u64::from(b);
    }
    x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 61 == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn chunks_tile_the_input(text in "[a-c\n]{0,3000}") {
            let bytes = text.as_bytes();
            let mut at = 0;
            for c in chunks(bytes) {
                prop_assert_eq!(c.start, at);
                prop_assert!(c.end > c.start);
                prop_assert!(c.end == bytes.len() || bytes[c.end - 1] == b'\n');
                at = c.end;
            }
            prop_assert_eq!(at, bytes.len());
        }
    }

    #[test]
    fn an_edit_leaves_distant_chunks_alone() {
        // Varied line endings, as in code: chunk ends are decided by a line's last bytes.
        let lines: Vec<String> = (0..2000)
            .map(|i| format!("let v{i} = f({});\n", i * 7919 % 1000))
            .collect();
        let before = lines.concat();
        let mut edited = lines.clone();
        edited[1000] = format!("an inserted line\n{}", lines[1000]);
        let after = edited.concat();
        let set = |s: &str| -> HashSet<String> {
            chunks(s.as_bytes()).map(|r| s[r].to_string()).collect()
        };
        let (a, b) = (set(&before), set(&after));
        let shared = a.intersection(&b).count();
        assert!(a.len() > 10, "{} chunks", a.len());
        assert!(shared + 3 >= a.len(), "{shared} of {} chunks kept", a.len());
    }

    #[test]
    fn caches_remember_and_stay_bounded() {
        let memo = Memo::with_capacity(0);
        let mut out = Vec::new();
        assert!(!memo.chunk_hits(7, &mut out));
        memo.remember_chunk(7, &[(1, 2)]);
        assert!(memo.chunk_hits(7, &mut out));
        assert_eq!(out, [(1, 2)]);
        for k in 0..10_000u64 {
            memo.remember_chunk(k << 32, &[]);
            memo.remember_empty_window(k << 32);
        }
        let total: usize = memo.chunks.iter().map(|s| lock(s).map.len()).sum();
        assert!(total <= SHARDS * memo.per_shard, "{total}");
        let windows: usize = memo.windows.iter().map(|s| lock(s).len()).sum();
        assert!(windows <= SHARDS * memo.per_shard, "{windows}");
    }

    #[test]
    fn window_keys_see_context_and_edges() {
        let memo = Memo::default();
        let text = b"xx token=abc yy";
        let k = |r: usize, w: Range<usize>| memo.window_key(r, text, &w);
        assert_eq!(k(1, 3..12), k(1, 3..12));
        assert_ne!(k(1, 3..12), k(2, 3..12));
        assert_ne!(k(1, 3..12), k(1, 2..12));
        let other = b"xy token=abc yy";
        assert_ne!(
            memo.window_key(1, text, &(3..12)),
            memo.window_key(1, other, &(3..12))
        );
    }
}
