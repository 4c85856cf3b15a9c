//! Change-log entries: the bucket index log (per bucket, every object change) and the data log
//! ("bucket X changed" marks). Replication reads only these.

use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BilogOp {
    Write,
    Del,
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
