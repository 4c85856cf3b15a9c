//! The manifest: the first member of every backup archive, describing the zone, the snapshot, the counts
//! and the checksum of every other member, so the archive can be checked without anything else.

use serde::{Deserialize, Serialize};

pub const FORMAT: &str = "meridian-backup";
pub const FORMAT_VERSION: u32 = 1;
/// Member names inside the archive.
pub const MANIFEST: &str = "manifest.json";
pub const METADATA: &str = "meta.redb";
pub const BLOB_DIR: &str = "blobs/";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedId {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeriodRef {
    pub id: String,
    pub epoch: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub users: u64,
    pub buckets: u64,
    pub objects: u64,
    /// Blob files in the archive (objects over the inline size, parts of open uploads).
    pub blobs: u64,
    /// Entries of the metadata store.
    pub metadata_entries: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sizes {
    /// The objects' sizes added up (what S3 clients see).
    pub objects: u64,
    /// Every member after the manifest added up (uncompressed).
    pub members: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub name: String,
    pub size: u64,
    /// Hex SHA-256 of the member's bytes.
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// The instant of the metadata snapshot (RFC 3339) and as Unix nanoseconds.
    pub snapshot_time: String,
    pub snapshot_unix_nanos: u64,
    /// How long taking the snapshot took, in microseconds (writers are not blocked by it).
    pub snapshot_wait_us: u64,
    /// Whether the object bytes kept outside the metadata store are in the archive.
    pub with_data: bool,
    pub realm: Option<NamedId>,
    pub zonegroup: NamedId,
    pub zone: NamedId,
    pub period: Option<PeriodRef>,
    pub counts: Counts,
    pub bytes: Sizes,
    /// Every member after the manifest, in archive order.
    pub members: Vec<Member>,
}

impl Manifest {
    pub fn check_format(&self) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("not a Meridian backup (format {:?})", self.format));
        }
        if self.version != FORMAT_VERSION {
            return Err(format!(
                "backup format version {} is not supported (this build reads version {FORMAT_VERSION})",
                self.version
            ));
        }
        Ok(())
    }
}

/// A blob member's name, or None if `name` is not one (or names an id that could escape a directory).
pub fn blob_id(name: &str) -> Option<&str> {
    let id = name.strip_prefix(BLOB_DIR)?;
    (id.len() >= 8 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_names_never_become_paths() {
        assert_eq!(blob_id("blobs/0123456789abcdef"), Some("0123456789abcdef"));
        assert_eq!(blob_id("blobs/../../etc/passwd"), None);
        assert_eq!(blob_id("blobs/short"), None);
        assert_eq!(blob_id("meta.redb"), None);
    }
}
