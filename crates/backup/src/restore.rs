//! Restoring a backup into a new data directory: the archive is checked member by member while it is
//! extracted into a hidden directory inside the target, the metadata is checked, and only then are the
//! files moved into place. The restored zone's own log positions jump ahead so peers that read further than
//! the snapshot before it was lost still see every new entry.

use crate::archive::{self, Targets};
use crate::error::{BackupError, Result};
use crate::manifest;
use crate::verify::{self, Report};
use meridian_gateway::keys;
use meridian_store::local::LocalMeta;
use meridian_store::MetaStore;
use std::path::Path;

/// Where the extraction happens before it is complete.
pub const PARTIAL_DIR: &str = ".restore-partial";

pub struct RestoreOptions {
    /// Restore a backup whose object bytes are not (all) in it.
    pub allow_missing_data: bool,
}

pub fn restore(
    file: &Path,
    dir: &Path,
    opts: &RestoreOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Report> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)?;
        if entries.next().is_some() {
            return Err(BackupError::NotEmpty(dir.display().to_string()));
        }
    }
    std::fs::create_dir_all(dir)?;
    let partial = dir.join(PARTIAL_DIR);
    let result = extract_and_check(file, &partial, opts, progress).and_then(|report| {
        std::fs::rename(partial.join(manifest::METADATA), dir.join(manifest::METADATA))?;
        std::fs::rename(partial.join("data"), dir.join("data"))?;
        std::fs::remove_dir(&partial)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(report)
    });
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&partial);
    }
    result
}

fn extract_and_check(
    file: &Path,
    partial: &Path,
    opts: &RestoreOptions,
    progress: &mut (dyn FnMut(u64, u64) + Send),
) -> Result<Report> {
    std::fs::create_dir_all(partial.join("data").join("objects"))?;
    let meta_path = partial.join(manifest::METADATA);
    let source = std::io::BufReader::new(std::fs::File::open(file)?);
    let outcome = archive::read_archive(
        source,
        &Targets {
            metadata: Some(meta_path.clone()),
            data_root: Some(partial.join("data")),
        },
        progress,
    )?;
    let report = verify::check_metadata(&meta_path, &outcome)?;
    if report.objects_without_bytes > 0 && !opts.allow_missing_data {
        return Err(BackupError::Inconsistent(format!(
            "{} objects' bytes are not in this backup (it was made without --with-data); \
             give --allow-missing-data to restore the metadata anyway",
            report.objects_without_bytes
        )));
    }
    advance_log_positions(&meta_path, meridian_model::Timestamp::now().0 / 1000)?;
    for dir in std::fs::read_dir(partial.join("data").join("objects"))? {
        std::fs::File::open(dir?.path())?.sync_all()?;
    }
    Ok(report)
}

/// Moves every change-log counter (each bucket's index log, the data log, the metadata log) to at least
/// `floor`, so new entries sort after any marker a peer took from the zone before it was lost and restored.
pub fn advance_log_positions(meta_path: &Path, floor: u64) -> Result<usize> {
    let meta = LocalMeta::open(meta_path)?;
    let mut txn = meta.begin()?;
    let mut names = vec!["datalog".to_string(), "mdlog".to_string()];
    let stats = keys::STATS.as_bytes();
    let mut start = stats.to_vec();
    let end = meridian_store::meta::prefix_end(stats);
    loop {
        let page = txn.scan(&start, &end, 1000)?;
        let done = page.len() < 1000;
        for (k, _) in &page {
            names.push(format!("bilog/{}", String::from_utf8_lossy(&k[stats.len()..])));
        }
        match page.into_iter().last() {
            Some((k, _)) if !done => {
                start = k;
                start.push(0);
            }
            _ => break,
        }
    }
    let mut moved = 0;
    for name in names {
        let key = keys::seq(&name);
        let current: u64 = txn
            .get(&key)?
            .and_then(|v| std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()))
            .unwrap_or(0);
        if current < floor {
            txn.put(&key, floor.to_string().as_bytes())?;
            moved += 1;
        }
    }
    txn.commit()?;
    Ok(moved)
}
