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
