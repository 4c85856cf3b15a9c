//! The replication documents: `GET /admin/sync/status` ([`SyncStatus`]), `GET /admin/sync/bucket`
//! ([`BucketSyncStatus`]) and `GET /admin/sync/markers` ([`SyncMarkers`], what a reader has synced, for
//! trimming). The sync crate builds them; `meridian sync status`, the dashboard and the trimmer read them.

use super::{or_default, or_true};
use crate::{AdminRequest, Call};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A zone, realm or zonegroup as the documents name it.
#[derive(Serialize, Deserialize, Debug, Default, Clone, PartialEq, Eq)]
#[serde(default)]
pub struct Named {
    #[serde(deserialize_with = "or_default")]
    pub id: String,
    #[serde(deserialize_with = "or_default")]
    pub name: String,
}

impl Named {
    pub fn new(id: &str, name: &str) -> Named {
        Named {
            id: id.to_string(),
            name: name.to_string(),
        }
    }

    /// "us-east (8c1e…)", or whichever of the two is known.
    pub fn label(&self) -> String {
        match (self.name.is_empty(), self.id.is_empty()) {
            (false, false) => format!("{} ({})", self.name, self.id),
            (false, true) => self.name.clone(),
            (true, false) => format!("({})", self.id),
            (true, true) => "(unknown)".to_string(),
        }
    }

    /// The name, or the id when the name is unknown.
    pub fn short(&self) -> &str {
        if self.name.is_empty() {
            &self.id
        } else {
            &self.name
        }
    }
}

/// `GET /admin/sync/status`: this zone's replication state against every source.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct SyncStatus {
    /// `None` (serialised `null`) for a zone outside any realm.
    #[serde(deserialize_with = "or_default")]
    pub realm: Option<Named>,
    #[serde(deserialize_with = "or_default")]
    pub zonegroup: Named,
    #[serde(deserialize_with = "or_default")]
    pub zone: Named,
    #[serde(deserialize_with = "or_default")]
    pub metadata: MetadataStatus,
    /// One per zone of this zonegroup this zone syncs data from.
    #[serde(deserialize_with = "or_default")]
    pub data: Vec<SourceStatus>,
}

/// Whether this zone is the metadata master, and if not, where metadata sync from the master stands.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct MetadataStatus {
    /// `master` or `secondary`.
    #[serde(deserialize_with = "or_default")]
    pub role: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceStatus>,
}

impl MetadataStatus {
    pub fn is_master(&self) -> bool {
        self.role == "master"
    }
}

/// A log's shards and how many are in each phase.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct Shards {
    pub total: Option<u64>,
    pub full: Option<u64>,
    pub incremental: Option<u64>,
    /// Shards whose source head is past this zone's marker.
    #[serde(deserialize_with = "or_default")]
    pub behind: Vec<u64>,
}

/// A full sync's progress.
#[derive(Serialize, Deserialize, Debug, Default, Clone, Copy, PartialEq, Eq)]
#[serde(default)]
pub struct FullSync {
    #[serde(deserialize_with = "or_default")]
    pub items_done: u64,
    #[serde(deserialize_with = "or_default")]
    pub items_total: u64,
    #[serde(deserialize_with = "or_default")]
    pub bytes_done: u64,
}

/// A metadata entry this zone could not apply: set aside and retried, while its shard went on past it.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct SetAside {
    pub key: String,
    pub error: String,
    pub attempts: u64,
    /// RFC 3339.
    pub first_failed: String,
}

/// A position this zone had to give up because the source had trimmed its log past it: the shard or
/// bucket was synced in full again.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct Fallback {
    pub at: String,
    pub log: String,
    /// `shard N` or `bucket NAME`.
    pub what: String,
    /// This zone's position, and the newest entry the source had trimmed.
    pub marker: String,
    pub trimmed: String,
}

/// What this zone has of one source zone's log (metadata or data).
#[derive(Serialize, Deserialize, Debug)]
#[serde(default)]
pub struct SourceStatus {
    #[serde(deserialize_with = "or_default")]
    pub source_zone: Named,
    /// False when the source's log heads could not be read: the rest is this zone's own state.
    #[serde(deserialize_with = "or_true")]
    pub reachable: bool,
    /// `init`, `full` or `incremental`.
    #[serde(deserialize_with = "or_default")]
    pub phase: String,
    #[serde(deserialize_with = "or_default")]
    pub caught_up: bool,
    /// Log entries past this zone's markers, over all shards.
    pub behind_entries: Option<u64>,
    pub oldest_change_age_secs: Option<f64>,
    #[serde(deserialize_with = "or_default")]
    pub shards: Shards,
    #[serde(deserialize_with = "or_default")]
    pub stalled_shards: Vec<u64>,
    pub full_sync: Option<FullSync>,
    pub errors: Option<u64>,
    /// Data only: buckets waiting for their sync to start over.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_buckets: Option<u64>,
    /// Metadata only: entries set aside (see [`SetAside`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_aside_entries: Option<Vec<SetAside>>,
    #[serde(deserialize_with = "or_default")]
    pub full_sync_fallbacks: Vec<Fallback>,
    /// Changes not applied yet (bucket index log entries for data, metadata log entries for metadata); absent
    /// when the source could not be asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes_behind: Option<u64>,
    /// Data: buckets with changes not applied yet.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind_buckets: Option<u64>,
    /// False when the counts are lower bounds (more was behind than a status looks at).
    #[serde(deserialize_with = "or_true")]
    pub counts_exact: bool,
    /// Changes applied per second lately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub apply_rate: Option<f64>,
    pub eta_secs: Option<f64>,
    pub last_error: Option<String>,
    pub last_error_age_secs: Option<f64>,
}

impl Default for SourceStatus {
    fn default() -> Self {
        SourceStatus {
            source_zone: Named::default(),
            // A document that does not say otherwise speaks of a source it reached.
            reachable: true,
            phase: String::new(),
            caught_up: false,
            behind_entries: None,
            oldest_change_age_secs: None,
            shards: Shards::default(),
            stalled_shards: Vec::new(),
            full_sync: None,
            errors: None,
            pending_buckets: None,
            set_aside_entries: None,
            full_sync_fallbacks: Vec::new(),
            changes_behind: None,
            behind_buckets: None,
            counts_exact: true,
            apply_rate: None,
            eta_secs: None,
            last_error: None,
            last_error_age_secs: None,
        }
    }
}

impl SourceStatus {
    pub fn in_full_sync(&self) -> bool {
        matches!(self.phase.as_str(), "full" | "init")
    }

    /// The full sync's progress, when it is worth showing: during a full sync, or while one is unfinished and
    /// the source is not caught up (a zone syncing from several sources fetches part of the items from each,
    /// so a caught-up source may show fewer done than the total).
    pub fn full_progress(&self) -> Option<FullSync> {
        self.full_sync
            .filter(|f| self.in_full_sync() || (f.items_done < f.items_total && !self.caught_up))
    }

    /// Synced: reachable and caught up.
    pub fn done(&self) -> bool {
        self.reachable && self.caught_up
    }
}

/// `GET /admin/sync/bucket?bucket=B`: one bucket's sync, per source zone.
#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct BucketSyncStatus {
    #[serde(deserialize_with = "or_default")]
    pub bucket: String,
    #[serde(deserialize_with = "or_default")]
    pub bucket_id: String,
    #[serde(deserialize_with = "or_default")]
    pub sources: Vec<BucketSource>,
}

#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(default)]
pub struct BucketSource {
    #[serde(deserialize_with = "or_default")]
    pub source_zone: Named,
    /// `none`, `full` or `incremental`.
    #[serde(deserialize_with = "or_default")]
    pub phase: String,
    pub marker: Option<String>,
    #[serde(deserialize_with = "or_default")]
    pub pending: bool,
    #[serde(deserialize_with = "or_default")]
    pub caught_up: bool,
    pub behind_entries: Option<u64>,
    pub source_head: Option<String>,
    pub last_error: Option<String>,
}

/// `GET /admin/sync/markers?source-zone=Z`: asked of a reader zone by Z's trimmer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkersCall {
    pub source_zone: String,
}

impl Call for MarkersCall {
    type Reply = SyncMarkers;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(http::Method::GET, "sync/markers").param("source-zone", self.source_zone.clone())
    }
}

/// A log's markers by shard number.
pub type ShardMarkers = BTreeMap<u32, String>;

/// `GET /admin/sync/markers?source-zone=Z`: what this zone has synced from Z, for Z's trimmer.
#[derive(Serialize, Deserialize, Debug, Default, PartialEq, Eq)]
#[serde(default)]
pub struct SyncMarkers {
    /// Per metadata-log shard (by number), this zone's marker; `None` before metadata sync from Z started.
    pub metadata: Option<ShardMarkers>,
    /// Per data-log shard, the same.
    pub data: Option<ShardMarkers>,
    /// Per bucket id, the oldest bucket-index-log entry this zone still needs.
    #[serde(deserialize_with = "or_default")]
    pub buckets: BTreeMap<String, String>,
    /// Bucket log keys about to be synced again from the start.
    #[serde(deserialize_with = "or_default")]
    pub pending: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_documents_take_defaults() {
        let st: SyncStatus = serde_json::from_str(
            r#"{"zone": {"name": "us-east"}, "data": [{"source_zone": null, "counts_exact": null}]}"#,
        )
        .unwrap();
        assert_eq!(st.zone.label(), "us-east");
        assert!(st.realm.is_none());
        assert!(st.data[0].reachable && st.data[0].counts_exact);
        assert_eq!(st.data[0].source_zone.label(), "(unknown)");
    }

    #[test]
    fn a_status_reads_back_as_written() {
        let src = SourceStatus {
            source_zone: Named::new("z1", "us-west"),
            phase: "incremental".into(),
            set_aside_entries: Some(vec![SetAside {
                key: "bucket:b".into(),
                error: "conflict".into(),
                attempts: 2,
                first_failed: "2026-12-02T00:00:00Z".into(),
            }]),
            ..SourceStatus::default()
        };
        let json = serde_json::to_value(&src).unwrap();
        // Fields of the other log's kind are left out, not written as null.
        assert!(json.get("pending_buckets").is_none());
        assert_eq!(json["set_aside_entries"][0]["attempts"], 2);
        let back: SourceStatus = serde_json::from_value(json).unwrap();
        assert_eq!(back.set_aside_entries, src.set_aside_entries);
        assert_eq!(back.source_zone, src.source_zone);
    }

    #[test]
    fn markers_key_shards_by_number() {
        let m: SyncMarkers =
            serde_json::from_str(r#"{"metadata": {"3": "00000000000000000012"}, "data": null}"#).unwrap();
        assert_eq!(m.metadata.unwrap()[&3], "00000000000000000012");
        assert!(m.data.is_none());
        assert!(m.buckets.is_empty());
    }
}
