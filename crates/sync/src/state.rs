//! The persisted shape of sync progress, where each piece lives under the zone's `sync/` records, and
//! reading the shard markers back.

use crate::error::Result;
use meridian_gateway::Gateway;
use meridian_model::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    Full,
    Incremental,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Full => "full",
            Phase::Incremental => "incremental",
        }
    }
}

/// A log's sync from one source: full sync until its first pass is done, then incremental.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LogSync {
    pub phase: Phase,
    pub started: Timestamp,
    /// Full sync's denominator: entries (metadata) or objects (data) the source had when it began.
    #[serde(default)]
    pub items_total: u64,
    /// Metadata full sync's progress (data full sync counts per bucket, see `BucketSync`).
    #[serde(default)]
    pub items_done: u64,
}

/// One bucket's sync from one source.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BucketSync {
    pub phase: Phase,
    /// Full sync: the source's bilog head when the listing began (incremental starts there).
    #[serde(default)]
    pub head: Option<String>,
    /// Full sync: the last key copied.
    #[serde(default)]
    pub full_marker: String,
    /// Incremental: the last bilog entry applied.
    #[serde(default)]
    pub marker: String,
    #[serde(default)]
    pub objects_done: u64,
    #[serde(default)]
    pub bytes_done: u64,
}

impl Default for BucketSync {
    fn default() -> Self {
        Self {
            phase: Phase::Full,
            head: None,
            full_marker: String::new(),
            marker: String::new(),
            objects_done: 0,
            bytes_done: 0,
        }
    }
}

impl BucketSync {
    /// The source's bilog position this bucket's sync no longer needs anything before.
    pub fn needed_from(&self) -> &str {
        match self.phase {
            Phase::Full => self.head.as_deref().unwrap_or(""),
            Phase::Incremental => &self.marker,
        }
    }
}

/// Record names; `log` is `meta` or `data`, `src` the source zone id.
pub fn log_state(log: &str, src: &str) -> String {
    format!("{log}/{src}/state")
}

pub fn shard_prefix(log: &str, src: &str) -> String {
    format!("{log}/{src}/shard/")
}

pub fn shard_marker(log: &str, src: &str, shard: u32) -> String {
    format!("{}{shard:03}", shard_prefix(log, src))
}

pub fn pending_prefix(src: &str) -> String {
    format!("data/{src}/pending/")
}

pub fn pending(src: &str, bucket_key: &str) -> String {
    format!("{}{bucket_key}", pending_prefix(src))
}

pub fn bucket_prefix(src: &str) -> String {
    format!("data/{src}/bucket/")
}

pub fn bucket(src: &str, bucket_id: &str) -> String {
    format!("{}{bucket_id}", bucket_prefix(src))
}

/// A metadata entry this zone could not apply: the shard went past it, and it is retried on its own until it
/// applies (one refused entry must never hold the entries behind it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RetryEntry {
    pub error: String,
    pub attempts: u32,
    pub first_failed: Timestamp,
    pub last_attempt: Timestamp,
}

impl RetryEntry {
    /// Due again after 1 s, 2 s, 4 s, ... capped at 5 minutes.
    pub fn due(&self, now: Timestamp) -> bool {
        let wait_ns = (1_000_000_000u64 << self.attempts.saturating_sub(1).min(8)).min(300_000_000_000);
        now.0.saturating_sub(self.last_attempt.0) >= wait_ns
    }
}

pub fn retry_prefix(log: &str, src: &str) -> String {
    format!("{log}/{src}/retry/")
}

pub fn retry(log: &str, src: &str, key: &str) -> String {
    format!("{}{key}", retry_prefix(log, src))
}

/// Every shard's marker of one log's sync from one source.
pub async fn shard_markers(gw: &Gateway, log: &str, src: &str) -> Result<HashMap<u32, String>> {
    Ok(gw
        .sync_state()
        .scan::<String>(&shard_prefix(log, src), 10_000)
        .await?
        .into_iter()
        .filter_map(|(shard, m)| shard.parse().ok().map(|s| (s, m)))
        .collect())
}

/// The sequence number a log marker stands for (markers are zero-padded counters).
pub fn seq(marker: &str) -> u64 {
    marker.parse().unwrap_or(0)
}
