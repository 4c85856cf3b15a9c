//! Buckets: the named containers of a realm, each living in exactly one zonegroup.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum VersioningStatus {
    #[default]
    Off,
    Enabled,
    Suspended,
}

/// A bucket as radosgw-admin and metadata keys spell it: `tenant/name`, or the plain name in the default
/// tenant.
pub fn bucket_spec(tenant: &str, name: &str) -> String {
    if tenant.is_empty() {
        name.to_string()
    } else {
        format!("{tenant}/{name}")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bucket {
    #[serde(default)]
    pub tenant: String,
    pub name: String,
    /// Instance id: a new one for every incarnation of the name, so a re-created bucket never sees old data.
    pub bucket_id: String,
    /// Owner's full user id.
    pub owner: String,
    pub zonegroup: String,
    pub placement_rule: String,
    pub creation_time: Timestamp,
    #[serde(default)]
    pub versioning: VersioningStatus,
    /// Metadata version, bumped on each change (RGW's objv).
    #[serde(default)]
    pub ver: crate::topology::ObjVersion,
    #[serde(default)]
    pub mtime: Timestamp,
    /// Tags, CORS and lifecycle rules (S3 sub-resources).
    #[serde(default, skip_serializing_if = "crate::bucket_config::BucketConfig::is_empty")]
    pub config: crate::bucket_config::BucketConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BucketStats {
    pub num_objects: u64,
    pub size: u64,
}
