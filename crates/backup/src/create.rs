//! Making a backup: one consistent metadata snapshot (GC pinned while the backup runs), copied into a new
//! database file in a staging directory while the counts are taken; with data, the blob files the snapshot
//! references are hashed; then the manifest and the members go out as one archive to any writer.

use crate::archive::{self, ArchiveWriter};
use crate::error::{BackupError, Result};
use crate::manifest::{self, Counts, Manifest, Member, NamedId, PeriodRef, Sizes};
use meridian_gateway::backup_snapshot::BackupSnapshot;
use meridian_gateway::{keys, Gateway};
use meridian_store::DataStore;
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Called now and then during the preparation (which writes nothing to the archive yet), so a streaming
/// caller can keep its connection alive; an error cancels the backup.
pub type Heartbeat<'a> = &'a mut (dyn FnMut() -> Result<()> + Send);

/// A snapshot ready to be written: its manifest and the staged metadata file. Holds GC back until dropped.
pub struct Prepared {
    pub manifest: Manifest,
    staging: tempfile::TempDir,
    data: Arc<dyn DataStore>,
    _snapshot_pin: BackupSnapshot,
    started: Instant,
}

#[derive(serde::Deserialize)]
struct SizeOnly {
    size: u64,
}

/// Takes the snapshot now. The rest of the work is blocking: run `prepare` on a blocking thread.
pub async fn snapshot(gw: &Gateway) -> Result<(BackupSnapshot, Instant)> {
    let started = Instant::now();
    Ok((gw.gc().backup_snapshot().await?, started))
}

/// Copies the snapshot into `staging_root` and builds the manifest (blocking).
pub fn prepare(
    gw: &Gateway,
    snap: BackupSnapshot,
    started: Instant,
    staging_root: &Path,
    with_data: bool,
    heartbeat: Heartbeat<'_>,
) -> Result<Prepared> {
    std::fs::create_dir_all(staging_root)?;
    let staging = tempfile::Builder::new().prefix("backup-").tempdir_in(staging_root)?;
    let meta_path = staging.path().join(manifest::METADATA);
    let mut counts = Counts::default();
    let mut object_bytes = 0u64;
    let mut referenced: Vec<String> = Vec::new();
    let mut inline: HashSet<String> = HashSet::new();
    let mut beat_error = None;
    let mut last_beat = Instant::now();
    let mut bad_record = None;
    let entries = meridian_store::local::copy_snapshot(&*snap.reader, &meta_path, |k, v| {
        if k.starts_with(keys::USER.as_bytes()) {
            counts.users += 1;
        } else if k.starts_with(keys::BUCKET.as_bytes()) {
            counts.buckets += 1;
        } else if k.starts_with(keys::OBJECT.as_bytes()) {
            counts.objects += 1;
            match serde_json::from_slice::<SizeOnly>(v) {
                Ok(o) => object_bytes += o.size,
                Err(e) => {
                    bad_record.get_or_insert_with(|| format!("{}: {e}", String::from_utf8_lossy(k)));
                }
            }
        } else if with_data {
            if let Some(id) = k.strip_prefix(keys::BLOB_REF.as_bytes()) {
                referenced.push(String::from_utf8_lossy(id).into_owned());
            } else if let Some(id) = k.strip_prefix(keys::INLINE.as_bytes()) {
                inline.insert(String::from_utf8_lossy(id).into_owned());
            }
        }
        if last_beat.elapsed() > Duration::from_secs(2) && beat_error.is_none() {
            last_beat = Instant::now();
            if let Err(e) = heartbeat() {
                beat_error = Some(e);
            }
        }
    })?;
    counts.metadata_entries = entries;
    if let Some(e) = beat_error {
        return Err(e);
    }
    if let Some(bad) = bad_record {
        return Err(BackupError::Internal(format!("an object record cannot be read: {bad}")));
    }
    let (size, sha256) = archive::hash_file(&meta_path)?;
    let mut members = vec![Member {
        name: manifest::METADATA.into(),
        size,
        sha256,
    }];
    let data = gw.data_store().clone();
    if with_data {
        for id in referenced.iter().filter(|id| !inline.contains(*id)) {
            let size = data.blob_size(id)?;
            let (hashed, sha256) = archive::hash_reader(data.open(id, 0, size)?)?;
            if hashed != size {
                return Err(BackupError::Internal(format!("blob {id} changed while it was read")));
            }
            members.push(Member {
                name: format!("{}{id}", manifest::BLOB_DIR),
                size,
                sha256,
            });
            counts.blobs += 1;
            if last_beat.elapsed() > Duration::from_secs(2) {
                last_beat = Instant::now();
                heartbeat()?;
            }
        }
    }
    let site = gw.site();
    let zonegroup_name = site
        .zonegroups
        .iter()
        .find(|zg| zg.id == site.zonegroup_id)
        .map_or_else(|| site.zonegroup_api_name.clone(), |zg| zg.name.clone());
    let manifest = Manifest {
        format: manifest::FORMAT.into(),
        version: manifest::FORMAT_VERSION,
        snapshot_time: snap.taken.to_rfc3339(),
        snapshot_unix_nanos: snap.taken.0,
        snapshot_wait_us: u64::try_from(snap.waited.as_micros()).unwrap_or(u64::MAX),
        with_data,
        realm: site.realm.as_ref().map(|r| NamedId {
            id: r.id.clone(),
            name: r.name.clone(),
        }),
        zonegroup: NamedId {
            id: site.zonegroup_id.clone(),
            name: zonegroup_name,
        },
        zone: NamedId {
            id: site.zone_id.clone(),
            name: site.zone_name.clone(),
        },
        period: site.period.as_ref().map(|p| PeriodRef {
            id: p.id.clone(),
            epoch: p.epoch,
        }),
        bytes: Sizes {
            objects: object_bytes,
            members: members.iter().map(|m| m.size).sum(),
        },
        counts,
        members,
    };
    Ok(Prepared {
        manifest,
        staging,
        data,
        _snapshot_pin: snap,
        started,
    })
}

/// What a finished backup wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub manifest: Manifest,
    pub duration: Duration,
}

impl Prepared {
    /// Writes the archive to `sink` (blocking); `progress` gets the uncompressed bytes written so far.
    pub fn write_to<W: Write>(self, sink: W, progress: archive::ProgressFn<'_>) -> Result<(W, Written)> {
        let manifest_bytes = serde_json::to_vec_pretty(&self.manifest)
            .map_err(|e| BackupError::Internal(format!("cannot encode the manifest: {e}")))?;
        let mtime = self.manifest.snapshot_unix_nanos / 1_000_000_000;
        let mut out = ArchiveWriter::new(sink, mtime, progress)?;
        out.add(manifest::MANIFEST, manifest_bytes.len() as u64, &manifest_bytes[..])?;
        for member in &self.manifest.members {
            if member.name == manifest::METADATA {
                let file = std::fs::File::open(self.staging.path().join(manifest::METADATA))?;
                out.add(&member.name, member.size, file)?;
            } else if let Some(id) = manifest::blob_id(&member.name) {
                out.add(&member.name, member.size, self.data.open(id, 0, member.size)?)?;
            }
        }
        let sink = out.finish()?;
        let written = Written {
            duration: self.started.elapsed(),
            manifest: self.manifest,
        };
        Ok((sink, written))
    }
}
