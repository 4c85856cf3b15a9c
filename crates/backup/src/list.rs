//! Listing the backups in a directory by their manifests (only the first member of each is read).

use crate::archive;
use crate::manifest::Manifest;
use serde::Serialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Serialize)]
pub struct Listed {
    pub file: PathBuf,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<Manifest>,
    /// Why the file's manifest could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Every `*.tar.zst` file in `dir` (not the partial ones of running backups), oldest snapshot first.
pub fn list(dir: &Path) -> crate::Result<Vec<Listed>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !name.ends_with(crate::service::SUFFIX) {
            continue;
        }
        let path = entry.path();
        let size = entry.metadata()?.len();
        let (manifest, error) = match std::fs::File::open(&path)
            .map_err(crate::BackupError::from)
            .and_then(|f| archive::read_manifest(std::io::BufReader::new(f)))
        {
            Ok(m) => (Some(m), None),
            Err(e) => (None, Some(e.to_string())),
        };
        out.push(Listed {
            file: path,
            size,
            manifest,
            error,
        });
    }
    out.sort_by_key(|l| (l.manifest.as_ref().map_or(0, |m| m.snapshot_unix_nanos), l.file.clone()));
    Ok(out)
}
