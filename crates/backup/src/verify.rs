//! Checking a backup: every member against the manifest (done while reading), then the metadata snapshot
//! opened as a store: the zone is there, the counts agree, and every object record's bytes are present
//! (inline records always; blob files when the backup was made with data).

use crate::archive::{self, ReadOutcome, Targets};
use crate::error::{BackupError, Result};
use crate::manifest::Manifest;
use meridian_gateway::keys;
use meridian_model::ObjectMeta;
use meridian_store::local::LocalMeta;
use meridian_store::{MetaStore, ReadOps};
use std::collections::HashMap;
use std::path::Path;

/// What a verified backup holds.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub manifest: Manifest,
    /// Objects whose bytes are partly outside the archive (a backup made without data).
    pub objects_without_bytes: u64,
}

/// Verifies the archive at `path` completely; the metadata snapshot is extracted into a scratch directory
/// next to the file and removed afterwards.
pub fn verify_file(path: &Path, progress: &mut (dyn FnMut(u64, u64) + Send)) -> Result<Report> {
    let file = std::fs::File::open(path)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = tempfile::Builder::new().prefix(".meridian-verify-").tempdir_in(dir)?;
    let meta_path = scratch.path().join(crate::manifest::METADATA);
    let outcome = archive::read_archive(
        std::io::BufReader::new(file),
        &Targets {
            metadata: Some(meta_path.clone()),
            data_root: None,
        },
        progress,
    )?;
    check_metadata(&meta_path, &outcome)
}

/// Checks the metadata snapshot at `meta_path` against the manifest and the blobs the archive held.
pub fn check_metadata(meta_path: &Path, outcome: &ReadOutcome) -> Result<Report> {
    let m = &outcome.manifest;
    let meta = LocalMeta::open(meta_path)
        .map_err(|e| BackupError::Damaged(format!("the metadata snapshot cannot be opened: {e}")))?;
    let snap = meta.snapshot()?;
    let inconsistent = |s: String| BackupError::Inconsistent(s);
    if snap.get(&keys::config("zone", &m.zone.id))?.is_none() {
        return Err(inconsistent(format!(
            "the metadata has no zone {} ({}) that the manifest names",
            m.zone.name, m.zone.id
        )));
    }
    let users = count(&*snap, keys::USER)?;
    let buckets = count(&*snap, keys::BUCKET)?;
    if users != m.counts.users || buckets != m.counts.buckets {
        return Err(inconsistent(format!(
            "the metadata holds {users} users and {buckets} buckets, the manifest says {} and {}",
            m.counts.users, m.counts.buckets
        )));
    }
    let (objects, without) = check_objects(&*snap, &outcome.blobs, m.with_data)?;
    if objects != m.counts.objects {
        return Err(inconsistent(format!(
            "the metadata holds {objects} objects, the manifest says {}",
            m.counts.objects
        )));
    }
    Ok(Report {
        manifest: m.clone(),
        objects_without_bytes: without,
    })
}

fn count(r: &dyn ReadOps, prefix: &str) -> Result<u64> {
    let mut n = 0;
    for_each(r, prefix.as_bytes(), |_, _| {
        n += 1;
        Ok(())
    })?;
    Ok(n)
}

fn for_each(r: &dyn ReadOps, prefix: &[u8], mut f: impl FnMut(&[u8], &[u8]) -> Result<()>) -> Result<()> {
    let end = meridian_store::meta::prefix_end(prefix);
    let mut start = prefix.to_vec();
    loop {
        let page = r.scan(&start, &end, 4096)?;
        let done = page.len() < 4096;
        for (k, v) in &page {
            f(k, v)?;
        }
        match page.into_iter().last() {
            Some((k, _)) if !done => {
                start = k;
                start.push(0);
            }
            _ => return Ok(()),
        }
    }
}

/// Every object record's segments: inline ones in the metadata with their size, the others among the
/// archive's blobs (with data). Returns (objects, objects whose bytes are not in the archive).
fn check_objects(r: &dyn ReadOps, blobs: &HashMap<String, u64>, with_data: bool) -> Result<(u64, u64)> {
    let mut objects = 0;
    let mut without = 0;
    // Current objects are counted (the manifest counts them); other versions and delete markers of versioned
    // buckets are checked the same way.
    for (prefix, counted) in [(keys::OBJECT, true), (keys::VERSION, false)] {
        for_each(r, prefix.as_bytes(), |k, v| {
            objects += u64::from(counted);
            let name = String::from_utf8_lossy(k);
            let o: ObjectMeta = serde_json::from_slice(v)
                .map_err(|e| BackupError::Inconsistent(format!("object record {name} cannot be read: {e}")))?;
            if o.manifest.size() != o.size {
                return Err(BackupError::Inconsistent(format!(
                    "object {name}: its segments add up to {} bytes, its size is {}",
                    o.manifest.size(),
                    o.size
                )));
            }
            let mut missing = false;
            for seg in &o.manifest.segments {
                if seg.inline {
                    let bytes = r.get(&keys::inline(&seg.data_id))?.ok_or_else(|| {
                        BackupError::Inconsistent(format!("object {name}: inline bytes {} are missing", seg.data_id))
                    })?;
                    if bytes.len() as u64 != seg.size {
                        return Err(BackupError::Inconsistent(format!(
                            "object {name}: inline bytes {} hold {} bytes, not {}",
                            seg.data_id,
                            bytes.len(),
                            seg.size
                        )));
                    }
                } else if with_data {
                    match blobs.get(&seg.data_id) {
                        Some(size) if *size == seg.size => {}
                        Some(size) => {
                            return Err(BackupError::Inconsistent(format!(
                                "object {name}: blob {} holds {size} bytes, not {}",
                                seg.data_id, seg.size
                            )))
                        }
                        None => {
                            return Err(BackupError::Inconsistent(format!(
                                "object {name}: blob {} is not in the backup",
                                seg.data_id
                            )))
                        }
                    }
                } else {
                    missing = true;
                }
            }
            without += u64::from(missing && counted);
            Ok(())
        })?;
    }
    Ok((objects, without))
}
