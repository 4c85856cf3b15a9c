//! The archive format: one tar stream compressed with zstd (frame checksums on), the manifest first, then
//! the metadata snapshot, then blob files. Writing counts bytes for progress; reading checks every member
//! against the manifest (size and SHA-256) as it streams, optionally extracting into a data directory.

use crate::error::{BackupError, Result};
use crate::manifest::{self, Manifest};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// zstd level: the fast end, so compression keeps up with the disk on a busy machine.
pub const ZSTD_LEVEL: i32 = 1;
const CHUNK: usize = 256 * 1024;
/// A manifest larger than this is not believed.
const MAX_MANIFEST: u64 = 1 << 30;

/// Called with the number of uncompressed archive bytes handled so far.
pub type ProgressFn<'a> = &'a mut (dyn FnMut(u64) + Send);

struct Counting<'a, W> {
    inner: W,
    done: u64,
    progress: ProgressFn<'a>,
}

impl<W: Write> Write for Counting<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.done += n as u64;
        (self.progress)(self.done);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

pub struct ArchiveWriter<'a, W: Write> {
    tar: tar::Builder<Counting<'a, zstd::Encoder<'static, W>>>,
    mtime: u64,
}

impl<'a, W: Write> ArchiveWriter<'a, W> {
    pub fn new(sink: W, mtime: u64, progress: ProgressFn<'a>) -> Result<Self> {
        let mut encoder = zstd::Encoder::new(sink, ZSTD_LEVEL)?;
        encoder.include_checksum(true)?;
        let mut tar = tar::Builder::new(Counting {
            inner: encoder,
            done: 0,
            progress,
        });
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Self { tar, mtime })
    }

    /// Appends a member of exactly `size` bytes read from `reader`.
    pub fn add(&mut self, name: &str, size: u64, reader: impl Read) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o600);
        header.set_mtime(self.mtime);
        header.set_entry_type(tar::EntryType::Regular);
        let mut exact = ExactReader {
            inner: reader,
            left: size,
            name,
        };
        self.tar.append_data(&mut header, name, &mut exact)?;
        Ok(())
    }

    /// Ends the tar stream and the zstd frame; returns the sink.
    pub fn finish(self) -> Result<W> {
        let counting = self.tar.into_inner()?;
        Ok(counting.inner.finish()?)
    }
}

/// Fails if the source has fewer bytes than announced (a header must never promise what is not there).
struct ExactReader<'n, R> {
    inner: R,
    left: u64,
    name: &'n str,
}

impl<R: Read> Read for ExactReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{} ended {} bytes early", self.name, self.left),
            ));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// SHA-256 and size of a file.
pub fn hash_file(path: &Path) -> Result<(u64, String)> {
    hash_reader(File::open(path)?)
}

pub fn hash_reader(mut r: impl Read) -> Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        hasher.update(&buf[..n]);
        total += n as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// Where a read puts the members it checks (None: only checked).
#[derive(Debug, Default, Clone)]
pub struct Targets {
    /// The metadata snapshot's file.
    pub metadata: Option<PathBuf>,
    /// A data store's root (`<data-dir>/data`): blobs go to `objects/<id[..2]>/<id>`.
    pub data_root: Option<PathBuf>,
}

/// What a complete, intact archive held.
#[derive(Debug)]
pub struct ReadOutcome {
    pub manifest: Manifest,
    /// Blob id → size, of the blob members.
    pub blobs: HashMap<String, u64>,
}

fn damaged(e: impl std::fmt::Display) -> BackupError {
    BackupError::Damaged(e.to_string())
}

/// Reads only the manifest (the archive's first member).
pub fn read_manifest(src: impl Read) -> Result<Manifest> {
    let decoder = zstd::Decoder::new(src).map_err(damaged)?;
    let mut archive = tar::Archive::new(decoder);
    let mut entries = archive.entries().map_err(damaged)?;
    let first = entries
        .next()
        .ok_or_else(|| damaged("the archive is empty"))?
        .map_err(damaged)?;
    manifest_of(first)
}

fn manifest_of<R: Read>(mut entry: tar::Entry<'_, R>) -> Result<Manifest> {
    let name = entry.path().map_err(damaged)?.to_string_lossy().into_owned();
    if name != manifest::MANIFEST {
        return Err(damaged(format!(
            "the first member is {name:?}, not {}",
            manifest::MANIFEST
        )));
    }
    let size = entry.header().size().map_err(damaged)?;
    if size > MAX_MANIFEST {
        return Err(damaged(format!("the manifest claims {size} bytes")));
    }
    let mut text = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    entry.read_to_end(&mut text).map_err(damaged)?;
    let m: Manifest = serde_json::from_slice(&text).map_err(|e| damaged(format!("the manifest is not valid: {e}")))?;
    m.check_format().map_err(BackupError::Damaged)?;
    Ok(m)
}

/// Reads a whole archive, checking every member against the manifest and the zstd frame checksums, and
/// writes members to `targets`. `progress` gets (bytes done, bytes total) once the manifest is known.
pub fn read_archive(
    src: impl Read,
    targets: &Targets,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<ReadOutcome> {
    let decoder = zstd::Decoder::new(src).map_err(damaged)?;
    let mut archive = tar::Archive::new(decoder);
    let manifest;
    let mut blobs = HashMap::new();
    {
        let mut entries = archive.entries().map_err(damaged)?;
        let first = entries
            .next()
            .ok_or_else(|| damaged("the archive is empty"))?
            .map_err(damaged)?;
        manifest = manifest_of(first)?;
        let expected: HashMap<&str, &manifest::Member> =
            manifest.members.iter().map(|m| (m.name.as_str(), m)).collect();
        let total = manifest.bytes.members;
        let mut done = 0u64;
        let mut seen: HashSet<String> = HashSet::new();
        let mut buf = vec![0u8; CHUNK];
        for entry in entries {
            let mut entry = entry.map_err(damaged)?;
            let name = entry.path().map_err(damaged)?.to_string_lossy().into_owned();
            let member = expected
                .get(name.as_str())
                .ok_or_else(|| damaged(format!("member {name:?} is not in the manifest")))?;
            if !seen.insert(name.clone()) {
                return Err(damaged(format!("member {name} appears twice")));
            }
            let size = entry.header().size().map_err(damaged)?;
            if size != member.size {
                return Err(damaged(format!(
                    "member {name} holds {size} bytes, the manifest says {}",
                    member.size
                )));
            }
            let dest = if name == manifest::METADATA {
                targets.metadata.clone()
            } else if let Some(id) = manifest::blob_id(&name) {
                blobs.insert(id.to_string(), size);
                targets
                    .data_root
                    .as_ref()
                    .map(|root| root.join("objects").join(&id[..2]).join(id))
            } else {
                return Err(damaged(format!("unexpected member {name:?}")));
            };
            let mut out = match &dest {
                Some(path) => {
                    if let Some(dir) = path.parent() {
                        std::fs::create_dir_all(dir)?;
                    }
                    Some(File::create(path)?)
                }
                None => None,
            };
            let mut hasher = Sha256::new();
            let mut got = 0u64;
            loop {
                let n = match entry.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(damaged(format!("reading {name}: {e}"))),
                };
                hasher.update(&buf[..n]);
                if let Some(f) = &mut out {
                    f.write_all(&buf[..n])?;
                }
                got += n as u64;
                done += n as u64;
                progress(done, total);
            }
            if got != size {
                return Err(damaged(format!("member {name} ended after {got} of {size} bytes")));
            }
            let sum = hex::encode(hasher.finalize());
            if sum != member.sha256 {
                return Err(damaged(format!(
                    "member {name}: checksum mismatch (SHA-256 {sum}, the manifest says {})",
                    member.sha256
                )));
            }
            if let Some(f) = out {
                f.sync_all()?;
            }
        }
        if let Some(missing) = manifest.members.iter().find(|m| !seen.contains(&m.name)) {
            return Err(damaged(format!(
                "member {} is missing (the archive ends early)",
                missing.name
            )));
        }
    }
    // The rest of the stream (tar padding, the end of the zstd frame with its checksum) must be there too.
    let mut rest = archive.into_inner();
    io::copy(&mut rest, &mut io::sink()).map_err(|e| damaged(format!("after the last member: {e}")))?;
    Ok(ReadOutcome { manifest, blobs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Counts, Member, NamedId, Sizes};

    fn manifest(members: Vec<Member>) -> Manifest {
        Manifest {
            format: manifest::FORMAT.into(),
            version: manifest::FORMAT_VERSION,
            snapshot_time: "2026-12-01T00:00:00Z".into(),
            snapshot_unix_nanos: 0,
            snapshot_wait_us: 0,
            with_data: true,
            realm: None,
            zonegroup: NamedId {
                id: "zg".into(),
                name: "zg".into(),
            },
            zone: NamedId {
                id: "z".into(),
                name: "z".into(),
            },
            period: None,
            counts: Counts::default(),
            bytes: Sizes {
                objects: 0,
                members: members.iter().map(|m| m.size).sum(),
            },
            members,
        }
    }

    fn archive(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let listed = members
            .iter()
            .map(|(name, data)| Member {
                name: name.to_string(),
                size: data.len() as u64,
                sha256: hash_reader(&data[..]).unwrap().1,
            })
            .collect();
        let m = serde_json::to_vec(&manifest(listed)).unwrap();
        let mut progress = |_: u64| {};
        let mut w = ArchiveWriter::new(Vec::new(), 0, &mut progress).unwrap();
        w.add(manifest::MANIFEST, m.len() as u64, &m[..]).unwrap();
        for (name, data) in members {
            w.add(name, data.len() as u64, &data[..]).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn members_round_trip_and_damage_is_found() {
        let blob: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let bytes = archive(&[(manifest::METADATA, b"meta".to_vec()), ("blobs/0123456789abcdef", blob)]);
        let outcome = read_archive(&bytes[..], &Targets::default(), &mut |_, _| {}).unwrap();
        assert_eq!(outcome.blobs.get("0123456789abcdef"), Some(&200_000));
        assert_eq!(read_manifest(&bytes[..]).unwrap().zone.name, "z");

        for at in [bytes.len() / 3, bytes.len() / 2, bytes.len() - 10] {
            let mut bad = bytes.clone();
            bad[at] ^= 0x40;
            let err = read_archive(&bad[..], &Targets::default(), &mut |_, _| {}).unwrap_err();
            assert!(matches!(err, BackupError::Damaged(_)), "flip at {at}: {err}");
        }
        for len in [bytes.len() - 1, bytes.len() / 2, 10] {
            let err = read_archive(&bytes[..len], &Targets::default(), &mut |_, _| {}).unwrap_err();
            assert!(matches!(err, BackupError::Damaged(_)), "cut at {len}: {err}");
        }
    }

    #[test]
    fn keepalive_frames_before_the_archive_are_skipped() {
        let bytes = archive(&[(manifest::METADATA, b"meta".to_vec())]);
        let mut streamed = Vec::new();
        for _ in 0..3 {
            streamed.extend_from_slice(&crate::service::KEEPALIVE_FRAME);
        }
        streamed.extend_from_slice(&bytes);
        let outcome = read_archive(&streamed[..], &Targets::default(), &mut |_, _| {}).unwrap();
        assert_eq!(outcome.manifest.members.len(), 1);
    }

    #[test]
    fn unlisted_and_unsafe_members_are_refused() {
        let bytes = archive(&[(manifest::METADATA, b"meta".to_vec())]);
        assert!(read_archive(&bytes[..], &Targets::default(), &mut |_, _| {}).is_ok());
        // A member the manifest does not list.
        let m = serde_json::to_vec(&manifest(vec![])).unwrap();
        let mut progress = |_: u64| {};
        let mut w = ArchiveWriter::new(Vec::new(), 0, &mut progress).unwrap();
        w.add(manifest::MANIFEST, m.len() as u64, &m[..]).unwrap();
        w.add("blobs/ffffffffffffffff", 1, &b"x"[..]).unwrap();
        let bad = w.finish().unwrap();
        let err = read_archive(&bad[..], &Targets::default(), &mut |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("not in the manifest"), "{err}");
    }
}
