//! Archives and packages: zip (and what is a zip inside: jar, war, ear, whl, nupkg, apk,
//! office documents), tar, gzip, bzip2 and xz, alone or combined (`.tar.gz`, `.tgz`,
//! `.tar.bz2`, `.tar.xz`), and container images saved as tarballs (`docker save`, OCI
//! layouts: a tar of layer tars, found by content, not by name). Recognised by their first
//! bytes, opened in memory (nothing is ever written to disk), nested up to a depth.
//!
//! What an archive may cost is capped ([`Limits`]): each member's size, the bytes extracted
//! and members read from one archive with everything nested in it, and the time spent on
//! it. A member's claimed size is never trusted: reads stop one byte past the cap. Members
//! whose names leave the archive (`../`, absolute paths) and links are refused, encrypted
//! members are reported, not guessed at. An archive that cannot be opened at all is handed
//! back as raw bytes to be scanned as text (a zip's stored members are readable that way).
//!
//! This module only yields bytes and notes; detection and triage happen in `scan`.

use std::io::{Cursor, Read};
use std::time::{Duration, Instant};

/// Caps on what one archive, with everything nested in it, may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Limits {
    /// How deep archives are opened: 1 opens the archive itself, 3 (the default) also an
    /// archive in it and one in that; 0 opens none.
    pub depth: u32,
    /// A member larger than this is not scanned (`--max-file-size`).
    pub entry_bytes: u64,
    /// Bytes extracted from one archive, all levels together.
    pub total_bytes: u64,
    /// Members read from one archive, all levels together.
    pub entries: u64,
    /// Time spent on one archive.
    pub time: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            depth: 3,
            entry_bytes: crate::config::DEFAULT_MAX_FILE_SIZE,
            total_bytes: 128 << 20,
            entries: 100_000,
            time: Duration::from_secs(20),
        }
    }
}

/// The archive formats recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// zip and everything built on it.
    Zip,
    /// POSIX or GNU tar.
    Tar,
    /// gzip (a `.tar.gz` is a gzip holding a tar).
    Gzip,
    /// bzip2.
    Bzip2,
    /// xz.
    Xz,
    /// 7-Zip: recognised and reported, not opened.
    SevenZip,
}

/// The format of `bytes`, from their first bytes (tar: its magic at offset 257).
pub fn format_of(bytes: &[u8]) -> Option<Format> {
    let starts = |m: &[u8]| bytes.starts_with(m);
    if starts(b"PK\x03\x04") || (starts(b"PK\x05\x06") && bytes.len() == 22) {
        Some(Format::Zip)
    } else if starts(&[0x1f, 0x8b, 0x08]) {
        Some(Format::Gzip)
    } else if bytes.len() > 4 && starts(b"BZh") && (b'1'..=b'9').contains(&bytes[3]) {
        Some(Format::Bzip2)
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Some(Format::Xz)
    } else if starts(&[b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c]) {
        Some(Format::SevenZip)
    } else if is_tar(bytes) {
        Some(Format::Tar)
    } else {
        None
    }
}

fn is_tar(bytes: &[u8]) -> bool {
    bytes.len() >= 512 && bytes.get(257..262) == Some(b"ustar")
}

/// A member to scan.
#[derive(Debug)]
pub struct Member<'a> {
    /// Its path inside the archive; levels joined by `!` (`lib/app.jar!config/app.yml`).
    pub path: &'a str,
    /// Its bytes.
    pub bytes: &'a [u8],
    /// True for the raw bytes of an archive that could not be opened: scan them as text,
    /// whatever they look like.
    pub raw: bool,
    /// The level it was found at: 1 for a member of the archive itself (0 for the raw
    /// bytes of the archive itself).
    pub depth: u32,
}

/// Something about one member or level that the report should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The member's path inside the archive (empty: the archive itself).
    pub path: String,
    /// What happened, as a sentence fragment (`encrypted: not scanned`).
    pub message: String,
}

/// Opens `bytes` (an archive, per [`format_of`]) and calls `visit` with every member that
/// is not itself an archive opened in turn. Returns what could not be scanned, and why.
pub fn expand(bytes: &[u8], limits: &Limits, visit: &mut dyn FnMut(Member<'_>)) -> Vec<Note> {
    let mut x = Expander {
        limits: *limits,
        deadline: Instant::now() + limits.time,
        extracted: 0,
        entries: 0,
        notes: Vec::new(),
        stopped: false,
    };
    if limits.depth > 0 {
        x.open(bytes, "", 1, visit);
    }
    x.notes
}

struct Expander {
    limits: Limits,
    deadline: Instant,
    extracted: u64,
    entries: u64,
    notes: Vec<Note>,
    /// A cap was reached: nothing more is read from this archive.
    stopped: bool,
}

/// The name a single compressed file's content is shown under.
const DECOMPRESSED: &str = "(decompressed)";

impl Expander {
    fn note(&mut self, path: &str, message: impl Into<String>) {
        self.notes.push(Note {
            path: path.to_string(),
            message: message.into(),
        });
    }

    /// Checks the archive-wide caps before reading another member.
    fn over(&mut self, path: &str) -> bool {
        if self.stopped {
            return true;
        }
        let why = if self.entries >= self.limits.entries {
            format!("{} members read: the cap per archive", self.limits.entries)
        } else if self.extracted >= self.limits.total_bytes {
            format!(
                "{} bytes extracted: the cap per archive",
                self.limits.total_bytes
            )
        } else if Instant::now() >= self.deadline {
            format!(
                "{} s spent: the time cap per archive",
                self.limits.time.as_secs()
            )
        } else {
            return false;
        };
        self.stopped = true;
        self.note(path, format!("{why}; the rest was not scanned"));
        true
    }

    fn open(&mut self, bytes: &[u8], path: &str, depth: u32, visit: &mut dyn FnMut(Member<'_>)) {
        match format_of(bytes) {
            Some(Format::Zip) => self.zip(bytes, path, depth, visit),
            Some(Format::Tar) => {
                if let Err(e) = self.tar(Cursor::new(bytes), path, depth, visit) {
                    self.note(
                        path,
                        format!("tar cut short or damaged ({e}): what follows was not scanned"),
                    );
                }
            }
            Some(f @ (Format::Gzip | Format::Bzip2 | Format::Xz)) => {
                self.compressed(f, bytes, path, depth, visit);
            }
            Some(Format::SevenZip) => {
                self.note(
                    path,
                    "7-Zip archive: not opened (no 7-Zip reader is built in)",
                );
            }
            None => visit(Member {
                path,
                bytes,
                raw: false,
                depth: depth - 1,
            }),
        }
    }

    /// A member read from this level: opened if it is an archive and depth allows.
    fn member(&mut self, bytes: &[u8], path: &str, depth: u32, visit: &mut dyn FnMut(Member<'_>)) {
        match format_of(bytes) {
            Some(_) if depth >= self.limits.depth => self.note(
                path,
                format!(
                    "an archive nested deeper than {} levels: not opened",
                    self.limits.depth
                ),
            ),
            Some(_) => self.open(bytes, path, depth + 1, visit),
            None => visit(Member {
                path,
                bytes,
                raw: false,
                depth,
            }),
        }
    }

    /// A member whose name leaves the archive (`../../etc/cron.d/x`, `/etc/passwd`): never
    /// extracted anywhere (nothing is), but still scanned, under a name that stays inside
    /// (`__/__/etc/cron.d/x`): hiding a secret behind such a name must not work.
    fn contained(&mut self, path: &str, name: &str) -> String {
        let safe: Vec<&str> = name
            .split(['/', '\\'])
            .filter(|c| !c.is_empty())
            .map(|c| {
                if c == ".." {
                    "__"
                } else {
                    c.trim_end_matches(':')
                }
            })
            .collect();
        let inner = join(path, &safe.join("/"));
        self.note(
            &inner,
            format!("its name leaves the archive ({name:?}): scanned under this name"),
        );
        inner
    }

    /// Reads one member, one byte past the size cap at most.
    fn read_member(&mut self, r: &mut dyn Read, path: &str) -> Option<Vec<u8>> {
        let left = self.limits.total_bytes.saturating_sub(self.extracted);
        let cap = self.limits.entry_bytes.min(left);
        let mut buf = Vec::new();
        let mut limited = Deadline {
            inner: r.take(cap.saturating_add(1)),
            deadline: self.deadline,
        };
        if let Err(e) = limited.read_to_end(&mut buf) {
            self.note(path, format!("cannot be read ({e}): not scanned"));
            return None;
        }
        self.entries += 1;
        self.extracted += buf.len() as u64;
        if buf.len() as u64 > cap {
            if cap < self.limits.entry_bytes {
                self.stopped = true;
                self.note(
                    path,
                    format!(
                        "{} bytes extracted: the cap per archive; the rest was not scanned",
                        self.limits.total_bytes
                    ),
                );
            } else {
                self.note(
                    path,
                    format!(
                        "larger than the {} byte limit: not scanned",
                        self.limits.entry_bytes
                    ),
                );
            }
            return None;
        }
        Some(buf)
    }

    fn zip(&mut self, bytes: &[u8], path: &str, depth: u32, visit: &mut dyn FnMut(Member<'_>)) {
        let mut z = match zip::ZipArchive::new(Cursor::new(bytes)) {
            Ok(z) => z,
            Err(e) => {
                self.note(
                    path,
                    format!("zip cannot be opened ({e}): scanned as raw bytes"),
                );
                visit(Member {
                    path,
                    bytes,
                    raw: true,
                    depth: depth - 1,
                });
                return;
            }
        };
        for i in 0..z.len() {
            if self.over(path) {
                return;
            }
            let (name, encrypted, dir, link, enclosed) = match z.by_index_raw(i) {
                Ok(f) => (
                    f.name().to_string(),
                    f.encrypted(),
                    f.is_dir(),
                    f.is_symlink(),
                    f.enclosed_name().is_some(),
                ),
                Err(e) => {
                    self.note(
                        path,
                        format!("member {i} cannot be read ({e}): not scanned"),
                    );
                    continue;
                }
            };
            let inner = join(path, &name);
            if dir {
                continue;
            }
            if link {
                self.note(&inner, "symbolic link: not followed");
                continue;
            }
            let inner = if enclosed {
                inner
            } else {
                self.contained(path, &name)
            };
            if encrypted {
                self.note(&inner, "encrypted: not scanned");
                continue;
            }
            let data = match z.by_index(i) {
                Ok(mut f) => self.read_member(&mut f, &inner),
                Err(e) => {
                    self.note(&inner, format!("cannot be read ({e}): not scanned"));
                    None
                }
            };
            if let Some(data) = data {
                self.member(&data, &inner, depth, visit);
            }
        }
    }

    fn tar<R: Read>(
        &mut self,
        reader: R,
        path: &str,
        depth: u32,
        visit: &mut dyn FnMut(Member<'_>),
    ) -> std::io::Result<()> {
        let mut archive = tar::Archive::new(reader);
        for entry in archive.entries()? {
            if self.over(path) {
                return Ok(());
            }
            let mut entry = entry?;
            let kind = entry.header().entry_type();
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let inner = join(path, &name);
            if kind.is_dir() || kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
                continue;
            }
            if kind.is_symlink() || kind.is_hard_link() {
                self.note(&inner, "link: not followed");
                continue;
            }
            if !(kind.is_file() || kind.is_contiguous() || kind.is_gnu_sparse()) {
                continue;
            }
            let inner = if leaves(&name) {
                self.contained(path, &name)
            } else {
                inner
            };
            if let Some(data) = self.read_member(&mut entry, &inner) {
                self.member(&data, &inner, depth, visit);
            }
        }
        Ok(())
    }

    /// A gzip, bzip2 or xz stream: a tar inside is opened as the same level (`.tar.gz`),
    /// anything else is one member.
    fn compressed(
        &mut self,
        format: Format,
        bytes: &[u8],
        path: &str,
        depth: u32,
        visit: &mut dyn FnMut(Member<'_>),
    ) {
        let left = self.limits.total_bytes.saturating_sub(self.extracted);
        let decoder: Box<dyn Read + '_> = match format {
            Format::Gzip => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
            Format::Bzip2 => Box::new(bzip2::read::MultiBzDecoder::new(bytes)),
            // The dictionary an xz header asks for is allocated: keep it bounded.
            _ => Box::new(lzma_rust2::XzReader::new_mem_limit(bytes, true, 256 * 1024)),
        };
        let mut stream = Deadline {
            inner: decoder.take(left.saturating_add(1)),
            deadline: self.deadline,
        };
        let mut head = Vec::with_capacity(512);
        if let Err(e) = (&mut stream).take(512).read_to_end(&mut head) {
            self.note(path, format!("cannot be decompressed ({e}): not scanned"));
            return;
        }
        if is_tar(&head) {
            let whole = Cursor::new(head).chain(stream);
            if let Err(e) = self.tar(whole, path, depth, visit) {
                self.note(
                    path,
                    format!(
                        "compressed tar cut short or damaged ({e}): what follows was not scanned"
                    ),
                );
            }
            return;
        }
        let inner = join(path, DECOMPRESSED);
        let rest = Cursor::new(head).chain(stream);
        if let Some(data) = self.read_member(&mut { rest }, &inner) {
            self.member(&data, &inner, depth, visit);
        }
    }
}

/// `outer!inner` (or `inner` at the top).
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}!{name}")
    }
}

/// True when a member's name is absolute or climbs out (`..`).
fn leaves(name: &str) -> bool {
    name.starts_with('/')
        || name.starts_with('\\')
        || name.as_bytes().get(1) == Some(&b':')
        || name.split(['/', '\\']).any(|c| c == "..")
}

/// A reader that fails once a deadline has passed.
struct Deadline<R> {
    inner: R,
    deadline: Instant,
}

impl<R: Read> Read for Deadline<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if Instant::now() >= self.deadline {
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "time cap reached",
            ));
        }
        self.inner.read(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default();
        for (name, data) in files {
            w.start_file(*name, opts).expect("start");
            w.write_all(data).expect("write");
        }
        w.finish().expect("finish").into_inner()
    }

    fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (name, data) in files {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, *data).expect("append");
        }
        b.into_inner().expect("tar")
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).expect("gz");
        e.finish().expect("gz")
    }

    type Got = Vec<(String, Vec<u8>, bool)>;

    fn collect(bytes: &[u8], limits: &Limits) -> (Got, Vec<Note>) {
        let mut got = Vec::new();
        let notes = expand(bytes, limits, &mut |m| {
            got.push((m.path.to_string(), m.bytes.to_vec(), m.raw));
        });
        (got, notes)
    }

    #[test]
    fn nested_archives_are_opened_to_the_depth_limit() {
        let inner = zip_of(&[("config/app.yml", b"key: value\n")]);
        let tgz = gz(&tar_of(&[("lib/app.jar", &inner), ("README", b"hello\n")]));
        let outer = zip_of(&[("dist/bundle.tar.gz", &tgz)]);
        assert_eq!(format_of(&outer), Some(Format::Zip));
        let (got, notes) = collect(&outer, &Limits::default());
        let paths: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
        assert_eq!(
            paths,
            [
                "dist/bundle.tar.gz!lib/app.jar!config/app.yml",
                "dist/bundle.tar.gz!README"
            ]
        );
        assert!(notes.is_empty(), "{notes:?}");
        let shallow = Limits {
            depth: 2,
            ..Limits::default()
        };
        let (got, notes) = collect(&outer, &shallow);
        assert_eq!(got.len(), 1);
        assert!(notes[0].message.contains("deeper than 2"), "{notes:?}");
        let (got, _) = collect(
            &outer,
            &Limits {
                depth: 0,
                ..Limits::default()
            },
        );
        assert!(got.is_empty());
    }

    #[test]
    fn single_compressed_files_and_other_codecs() {
        let (got, _) = collect(&gz(b"token=abc\n"), &Limits::default());
        assert_eq!(got[0].0, "(decompressed)");
        assert_eq!(got[0].1, b"token=abc\n");
        let mut bz = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::default());
        bz.write_all(&tar_of(&[("a.txt", b"one\n")])).expect("bz");
        let bz = bz.finish().expect("bz");
        assert_eq!(format_of(&bz), Some(Format::Bzip2));
        let (got, _) = collect(&bz, &Limits::default());
        assert_eq!(got[0].0, "a.txt");
        let mut xz =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).expect("xz");
        xz.write_all(&tar_of(&[("b.txt", b"two\n")])).expect("xz");
        let xz = xz.finish().expect("xz");
        assert_eq!(format_of(&xz), Some(Format::Xz));
        let (got, _) = collect(&xz, &Limits::default());
        assert_eq!(got[0].0, "b.txt");
    }

    #[test]
    fn bombs_traversal_links_and_damage_are_bounded_and_reported() {
        // A member that inflates far past the cap: read one byte past it, then refused.
        let zeros = vec![0u8; 3 << 20];
        let bomb = zip_of(&[("big.bin", &zeros)]);
        let small = Limits {
            entry_bytes: 1 << 20,
            ..Limits::default()
        };
        let (got, notes) = collect(&bomb, &small);
        assert!(got.is_empty());
        assert!(notes[0].message.contains("larger than"), "{notes:?}");
        // Many members: the archive-wide cap stops it.
        let many: Vec<(String, Vec<u8>)> = (0..50)
            .map(|i| (format!("f{i}.txt"), vec![b'a'; 100_000]))
            .collect();
        let refs: Vec<(&str, &[u8])> = many.iter().map(|(n, d)| (n.as_str(), &d[..])).collect();
        let capped = Limits {
            total_bytes: 1_000_000,
            ..Limits::default()
        };
        let (got, notes) = collect(&zip_of(&refs), &capped);
        assert!(got.len() < 11, "{}", got.len());
        assert!(
            notes.iter().any(|n| n.message.contains("cap per archive")),
            "{notes:?}"
        );
        // `../` and absolute names are scanned under a name that stays inside.
        let evil = tar_of(&[("ok.txt", b"fine\n")]);
        let mut evil = evil;
        // Rewrite the name field in place (the builder refuses such names).
        evil[..6].copy_from_slice(b"../etc");
        let mut h = tar::Header::from_byte_slice(&evil[..512]).clone();
        h.set_cksum();
        evil[..512].copy_from_slice(h.as_bytes());
        let (got, notes) = collect(&evil, &Limits::default());
        assert_eq!(got[0].0, "__/etc", "{got:?}");
        assert!(notes[0].message.contains("leaves the archive"), "{notes:?}");
        // A truncated tar.gz: what was read is kept, the rest is reported.
        let tgz = gz(&tar_of(&[
            ("a.txt", b"one\n"),
            ("b.txt", &vec![b'b'; 200_000]),
        ]));
        let (got, notes) = collect(&tgz[..tgz.len() / 2], &Limits::default());
        assert_eq!(got.first().map(|g| g.0.as_str()), Some("a.txt"));
        assert!(!notes.is_empty(), "a cut-short archive says so");
        // A damaged zip falls back to its raw bytes.
        let mut broken = zip_of(&[("x.txt", b"password=hunter2hunter2\n")]);
        let n = broken.len();
        broken.truncate(n - 10);
        let (got, notes) = collect(&broken, &Limits::default());
        assert!(got.iter().any(|g| g.2), "raw fallback: {got:?} {notes:?}");
    }

    #[test]
    fn an_encrypted_member_is_reported() {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        // A member flagged as encrypted (bit 0), written stored.
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        w.start_file("secret.txt", opts).expect("start");
        w.write_all(b"anything").expect("write");
        let mut bytes = w.finish().expect("finish").into_inner();
        // Set the encryption flag in the local and central headers.
        bytes[6] |= 1;
        let cd = bytes
            .windows(4)
            .position(|x| x == b"PK\x01\x02")
            .expect("central directory");
        bytes[cd + 8] |= 1;
        let (got, notes) = collect(&bytes, &Limits::default());
        assert!(got.is_empty(), "{got:?}");
        assert!(notes[0].message.contains("encrypted"), "{notes:?}");
    }
}
