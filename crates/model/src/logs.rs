//! Change-log entries: the bucket index log (per bucket, every object change) and the data log
//! ("bucket X changed" marks). Replication reads only these.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BilogOp {
    /// An object (or, in a versioned bucket, a version) written.
    Write,
    /// A key deleted in a never-versioned bucket.
    Del,
    /// A delete marker written (RGW's name).
    #[serde(rename = "link_olh_del")]
    DeleteMarker,
    /// One version removed by its id (RGW's name).
    #[serde(rename = "unlink_instance")]
    DelVersion,
}

impl BilogOp {
    /// The op as RGW's bucket index log names it.
    pub fn as_str(self) -> &'static str {
        match self {
            BilogOp::Write => "write",
            BilogOp::Del => "del",
            BilogOp::DeleteMarker => "link_olh_del",
            BilogOp::DelVersion => "unlink_instance",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "write" => BilogOp::Write,
            "del" => BilogOp::Del,
            "link_olh_del" => BilogOp::DeleteMarker,
            "unlink_instance" => BilogOp::DelVersion,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BilogEntry {
    /// Monotonic marker within the bucket (zero-padded so it sorts as text, as RGW's markers do).
    pub op_id: String,
    pub op: BilogOp,
    pub object: String,
    pub instance: String,
    pub timestamp: Timestamp,
    pub etag: String,
    pub size: u64,
    pub zones_trace: Vec<String>,
    /// The version the change wrote or removed: empty in a never-versioned bucket (its entries are as they
    /// always were), else `null` or the version id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    /// For `DelVersion`: the removed version's write order (what decides against other zones' copies of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<WriteOrder>,
}

impl BilogEntry {
    /// The slot of the key the change is about: `None` for the null version (and never-versioned buckets),
    /// else the version id. Within a page only the last change of each (key, slot) matters.
    pub fn version_slot(&self) -> Option<&str> {
        match self.version_id.as_str() {
            "" | crate::NULL_VERSION => None,
            id => Some(id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatalogEntry {
    pub marker: String,
    /// `tenant:bucket:bucket_id` (RGW's bucket shard key without the shard suffix).
    pub key: String,
    pub timestamp: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MdlogStatus {
    Write,
    Remove,
}

/// One metadata change on the metadata master: which entry (`section:name`, as `metadata get` takes it)
/// changed, to which version, and whether it was written or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MdlogEntry {
    pub id: String,
    pub section: String,
    pub name: String,
    pub timestamp: Timestamp,
    pub ver: crate::ObjVersion,
    pub status: MdlogStatus,
}

/// Where a log shard ends: its newest marker (empty when it never had an entry) and that entry's time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LogShardInfo {
    pub marker: String,
    pub last_update: Option<Timestamp>,
}

/// Which of two writes of one key wins across zones: the later mtime, ties broken by the zone the write
/// was first made in. Every zone compares the same way, so all of them keep the same winner.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct WriteOrder {
    pub mtime: Timestamp,
    pub origin: String,
}

impl WriteOrder {
    /// The order of a write that went through the zones of `zones_trace` (the first one made it).
    pub fn of(mtime: Timestamp, zones_trace: &[String]) -> Self {
        Self {
            mtime,
            origin: zones_trace.first().cloned().unwrap_or_default(),
        }
    }
}

/// What a deleted key leaves behind, so a late replica of an older write cannot bring the key back.
pub type Tombstone = WriteOrder;
