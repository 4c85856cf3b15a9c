//! Objects, their manifests (where the bytes live) and multipart uploads.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Identifier of a blob in the data store; never derived from an object key.
pub type DataId = String;

/// One contiguous run of bytes in the data store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Segment {
    pub data_id: DataId,
    pub size: u64,
    /// Small blobs live in the metadata store (no file, no extra fsync).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
}

/// Where an object's bytes are: a list of blobs read in order (one for a simple PUT, one per part after a
/// multipart completion, so completion never copies bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Manifest {
    pub segments: Vec<Segment>,
}

impl Manifest {
    pub fn size(&self) -> u64 {
        self.segments.iter().map(|s| s.size).sum()
    }
}

/// The HTTP headers S3 stores with an object and returns on GET/HEAD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// The `Expires` header as the client sent it (HTTP date).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    /// `x-amz-meta-*` without the prefix, lower-cased names.
    #[serde(default)]
    pub user_meta: BTreeMap<String, String>,
}

/// A checksum kept with an object or a part (`x-amz-checksum-*`), verified when it was written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectChecksum {
    /// `CRC32`, `CRC32C`, `CRC64NVME`, `SHA1` or `SHA256`.
    pub algorithm: String,
    /// Base64 of the digest; a multipart object's checksum of its parts' checksums ends in `-N`.
    pub value: String,
    /// The checksum of the parts' checksums (`COMPOSITE`), not of the whole bytes (`FULL_OBJECT`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub composite: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ObjectMeta {
    pub key: String,
    /// Object instance (RGW's version/instance id); unique per write.
    pub instance: String,
    pub size: u64,
    /// Hex MD5 of the body, or `md5-of-part-md5s-N` for multipart objects (no quotes).
    pub etag: String,
    pub mtime: Timestamp,
    pub owner: String,
    #[serde(default)]
    pub headers: ObjectHeaders,
    pub manifest: Manifest,
    /// Zones this write has passed through (replication loop prevention).
    #[serde(default)]
    pub zones_trace: Vec<String>,
    /// Number of parts when the object came from a multipart upload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts_count: Option<u32>,
    /// The sizes of those parts, in order (GET and HEAD with `partNumber`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part_sizes: Vec<u64>,
    /// The multipart upload that made the object: completing it again with the same parts answers again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ObjectChecksum>,
    /// The object's tags (`x-amz-tagging`, PutObjectTagging), in the order they were given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: crate::bucket_config::TagSet,
    /// A version with its own id (written while the bucket's versioning was Enabled); false for the `null`
    /// version, which every object of a never-versioned bucket is.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub versioned: bool,
    /// A delete marker (no bytes, no headers of its own).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_marker: bool,
    /// Object Lock: the version's retention and legal hold.
    #[serde(default, skip_serializing_if = "crate::object_lock::ObjectLock::is_empty")]
    pub lock: crate::object_lock::ObjectLock,
    /// When the version's metadata (its lock) was last changed in place; with `instance` (a new one per
    /// change) it orders concurrent changes, so every zone keeps the same one. Zero: never changed.
    #[serde(default, skip_serializing_if = "crate::time::Timestamp::is_zero")]
    pub meta_mtime: crate::time::Timestamp,
    /// Zones that change has passed through (its replication loop prevention; the version's own
    /// `zones_trace` keeps naming the zone that wrote it, which its id derives from).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub meta_trace: Vec<String>,
    /// The object's ACL; `None`: private to `owner` (objects written before ACLs, or with none given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<crate::acl::Acl>,
}

impl ObjectMeta {
    /// The version's write order: its identity across zones (see `version_id_of`).
    pub fn order(&self) -> crate::WriteOrder {
        crate::WriteOrder::of(self.mtime, &self.zones_trace)
    }

    /// The version id S3 shows: `null`, or the one derived from the write order.
    pub fn version_id(&self) -> String {
        if self.versioned {
            version_id_of(&self.order())
        } else {
            NULL_VERSION.to_string()
        }
    }
}

/// The id S3 shows for the null version.
pub const NULL_VERSION: &str = "null";

/// The version id of a version written at `order`: its mtime as 16 hex digits, then the zone it was written
/// in. Every zone derives the same id for the same version, and the id gives back the order.
pub fn version_id_of(order: &crate::WriteOrder) -> String {
    format!("{:016x}{}", order.mtime.0, order.origin)
}

/// The write order a (non-null) version id names; `None` when it is not one of ours.
pub fn parse_version_id(id: &str) -> Option<crate::WriteOrder> {
    if id.len() <= 16 || !id.is_char_boundary(16) {
        return None;
    }
    let (mtime, origin) = id.split_at(16);
    if !mtime.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()) {
        return None;
    }
    if !origin
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return None;
    }
    Some(crate::WriteOrder {
        mtime: Timestamp(u64::from_str_radix(mtime, 16).ok()?),
        origin: origin.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_round_trip_and_refuse_others() {
        let order = crate::WriteOrder {
            mtime: Timestamp(1_700_000_000_123_456_789),
            origin: "3f1c2e0a-1b2c-4d5e-8f90-0123456789ab".into(),
        };
        let id = version_id_of(&order);
        assert_eq!(id.len(), 52);
        assert_eq!(parse_version_id(&id), Some(order));
        for bad in [
            "",
            "null",
            "0123456789abcdef",
            "0123456789abcdeg-zone",
            "0123456789ABCDEFzone",
            "0123456789abcdefzo/ne",
        ] {
            assert_eq!(parse_version_id(bad), None, "{bad}");
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub bucket_id: String,
    pub key: String,
    pub owner: String,
    pub initiated: Timestamp,
    #[serde(default)]
    pub headers: ObjectHeaders,
    /// The checksum algorithm every part must carry (`x-amz-checksum-algorithm` on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum_algorithm: Option<String>,
    /// `FULL_OBJECT` asked for (`x-amz-checksum-type`); composite otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub checksum_full_object: bool,
    /// Tags the completed object gets (`x-amz-tagging` on create).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: crate::bucket_config::TagSet,
    /// Object Lock settings the completed object gets (`x-amz-object-lock-*` on create).
    #[serde(default, skip_serializing_if = "crate::object_lock::ObjectLock::is_empty")]
    pub lock: crate::object_lock::ObjectLock,
    /// The ACL the completed object gets (canned or grant headers on create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acl: Option<crate::acl::Acl>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartMeta {
    pub part_number: u32,
    pub etag: String,
    pub size: u64,
    pub mtime: Timestamp,
    pub data_id: DataId,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<ObjectChecksum>,
}
