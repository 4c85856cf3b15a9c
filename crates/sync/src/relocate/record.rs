//! The durable move record, held by the metadata master (`sync/move/rec/<bucket>`), and the status document
//! computed from it (`meridian bucket move status`, `GET /admin/bucket-move`, the metrics).

use meridian_model::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MovePhase {
    /// Waiting for a slot (`--concurrency`).
    Queued,
    /// Source zones told to keep the bucket's log (no trimming) and asked for its size.
    Prepare,
    /// Target zones copy (full, then incremental); the bucket serves from its source zonegroup.
    Copy,
    /// Source zones fenced (writes answered 503 SlowDown); targets copy the last changes; then the flip.
    Cutover,
    /// The bucket's zonegroup is the target's; the source copies are reclaimed after the grace period.
    Cleanup,
    Done,
    /// A cancel before the flip: fences lifted, partial copies in the target reclaimed.
    Cancelling,
    Cancelled,
}

impl MovePhase {
    pub fn name(self) -> &'static str {
        match self {
            MovePhase::Queued => "queued",
            MovePhase::Prepare => "prepare",
            MovePhase::Copy => "copy",
            MovePhase::Cutover => "cutover",
            MovePhase::Cleanup => "cleanup",
            MovePhase::Done => "done",
            MovePhase::Cancelling => "cancelling",
            MovePhase::Cancelled => "cancelled",
        }
    }

    /// A move in this phase takes one of the `--concurrency` slots.
    pub fn is_active(self) -> bool {
        matches!(self, MovePhase::Prepare | MovePhase::Copy | MovePhase::Cutover)
    }

    pub fn is_final(self) -> bool {
        matches!(self, MovePhase::Done | MovePhase::Cancelled)
    }

    /// Before the flip: a cancel still leaves the bucket as it was.
    pub fn cancellable(self) -> bool {
        matches!(
            self,
            MovePhase::Queued | MovePhase::Prepare | MovePhase::Copy | MovePhase::Cutover
        )
    }
}

/// Where one target zone's copy from one source zone is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceProgress {
    /// `full` or `incremental`.
    pub phase: String,
    /// The last bilog entry of the source applied (incremental).
    pub marker: String,
}

/// What a target zone last reported.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetReport {
    pub zone_name: String,
    /// What the target zone holds of the bucket now.
    pub objects: u64,
    pub bytes: u64,
    pub sources: BTreeMap<String, SourceProgress>,
    /// The last round from every source ended with nothing left in its log.
    pub caught_up: bool,
    /// The cut-over attempt whose final heads this zone has applied (0: none).
    pub drained_attempt: u64,
    pub at: Timestamp,
    #[serde(default)]
    pub error: Option<String>,
}

/// One move of one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveRecord {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub bucket_id: String,
    pub from_zonegroup: String,
    pub to_zonegroup: String,
    pub phase: MovePhase,
    pub created: Timestamp,
    pub phase_since: Timestamp,
    pub concurrency: usize,
    /// Cut-over attempts so far (an attempt that times out lifts its fences and the copy goes on).
    pub attempt: u64,
    /// Source zone id -> its bilog head when it was fenced (this attempt).
    #[serde(default)]
    pub final_heads: BTreeMap<String, String>,
    /// Source zones fenced by the current attempt (lifted again if it is abandoned).
    #[serde(default)]
    pub fenced: BTreeSet<String>,
    /// Source zones that hold the bucket's log for the move (prepare).
    #[serde(default)]
    pub held: BTreeSet<String>,
    /// Zones whose part is over (cleanup, cancel).
    #[serde(default)]
    pub released: BTreeSet<String>,
    pub objects_total: u64,
    pub bytes_total: u64,
    #[serde(default)]
    pub copy_started: Option<Timestamp>,
    #[serde(default)]
    pub cutover_started: Option<Timestamp>,
    #[serde(default)]
    pub flipped_at: Option<Timestamp>,
    /// How long the successful cut-over held writes (fence to flip), ms.
    #[serde(default)]
    pub cutover_ms: Option<u64>,
    /// Bytes and objects reclaimed in the source zones (cleanup) or the target zones (cancel).
    #[serde(default)]
    pub reclaimed_objects: u64,
    #[serde(default)]
    pub reclaimed_bytes: u64,
    #[serde(default)]
    pub targets: BTreeMap<String, TargetReport>,
    #[serde(default)]
    pub last_error: Option<String>,
}

impl MoveRecord {
    pub fn spec(&self) -> String {
        meridian_gateway::metadata::bucket_spec(&self.tenant, &self.name)
    }

    pub fn set_phase(&mut self, phase: MovePhase) {
        self.phase = phase;
        self.phase_since = Timestamp::now();
    }

    /// Copied so far: what the slowest target zone holds.
    pub fn copied(&self) -> (u64, u64) {
        let objects = self.targets.values().map(|t| t.objects).min().unwrap_or(0);
        let bytes = self.targets.values().map(|t| t.bytes).min().unwrap_or(0);
        (objects, bytes)
    }

    /// The status document: phase, objects and bytes copied of the total, rate and ETA.
    pub fn status(&self, grace_secs: u64) -> Value {
        let (objects, bytes) = self.copied();
        let objects_total = self.objects_total.max(objects);
        let bytes_total = self.bytes_total.max(bytes);
        let now = Timestamp::now();
        let elapsed = self
            .copy_started
            .map(|t| now.0.saturating_sub(t.0) as f64 / 1e9)
            .unwrap_or(0.0);
        let copying = matches!(self.phase, MovePhase::Copy | MovePhase::Cutover);
        let (obj_rate, byte_rate) = if elapsed > 0.0 {
            (objects as f64 / elapsed, bytes as f64 / elapsed)
        } else {
            (0.0, 0.0)
        };
        let eta = if !copying {
            Value::Null
        } else if bytes_total > bytes && byte_rate > 0.0 {
            json!(((bytes_total - bytes) as f64 / byte_rate).ceil())
        } else if objects_total > objects && obj_rate > 0.0 {
            json!(((objects_total - objects) as f64 / obj_rate).ceil())
        } else if objects >= objects_total {
            json!(0)
        } else {
            Value::Null
        };
        let cleanup_at = self.flipped_at.map(|t| Timestamp(t.0 + grace_secs * 1_000_000_000));
        json!({
            "id": self.id,
            "bucket": self.spec(),
            "bucket_id": self.bucket_id,
            "from_zonegroup": self.from_zonegroup,
            "to_zonegroup": self.to_zonegroup,
            "phase": self.phase.name(),
            "created": meridian_gateway::metadata::format_time(self.created),
            "phase_since": meridian_gateway::metadata::format_time(self.phase_since),
            "objects_copied": objects,
            "objects_total": objects_total,
            "bytes_copied": bytes,
            "bytes_total": bytes_total,
            "objects_per_sec": (obj_rate * 10.0).round() / 10.0,
            "bytes_per_sec": byte_rate.round(),
            "eta_secs": eta,
            "cutover_attempts": self.attempt,
            "cutover_ms": self.cutover_ms,
            "flipped_at": self.flipped_at.map(meridian_gateway::metadata::format_time),
            "cleanup_after": cleanup_at.map(meridian_gateway::metadata::format_time),
            "reclaimed_objects": self.reclaimed_objects,
            "reclaimed_bytes": self.reclaimed_bytes,
            "concurrency": self.concurrency,
            "targets": self.targets.iter().map(|(id, t)| (id.clone(), json!({
                "zone": t.zone_name,
                "objects": t.objects,
                "bytes": t.bytes,
                "caught_up": t.caught_up,
                "sources": t.sources,
                "reported": meridian_gateway::metadata::format_time(t.at),
                "error": t.error,
            }))).collect::<serde_json::Map<_, _>>(),
            "last_error": self.last_error,
        })
    }
}

/// The record's name in the master's sync state.
pub fn record_name(spec: &str) -> String {
    format!("{}{spec}", RECORD_PREFIX)
}

pub const RECORD_PREFIX: &str = "move/rec/";

/// A target zone's copy position from one source zone, for one move.
pub fn copy_state(move_id: &str, src_zone: &str) -> String {
    format!("move/copy/{move_id}/{src_zone}")
}

pub fn copy_state_prefix(move_id: &str) -> String {
    format!("move/copy/{move_id}/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(phase: MovePhase) -> MoveRecord {
        let now = Timestamp::now();
        MoveRecord {
            id: "m1".into(),
            tenant: String::new(),
            name: "photos".into(),
            bucket_id: "b1".into(),
            from_zonegroup: "us".into(),
            to_zonegroup: "eu".into(),
            phase,
            created: now,
            phase_since: now,
            concurrency: 1,
            attempt: 0,
            final_heads: Default::default(),
            fenced: Default::default(),
            held: Default::default(),
            released: Default::default(),
            objects_total: 1000,
            bytes_total: 4_000_000,
            copy_started: Some(Timestamp(now.0 - 10_000_000_000)),
            cutover_started: None,
            flipped_at: None,
            cutover_ms: None,
            reclaimed_objects: 0,
            reclaimed_bytes: 0,
            targets: Default::default(),
            last_error: None,
        }
    }

    fn target(objects: u64, bytes: u64) -> TargetReport {
        TargetReport {
            objects,
            bytes,
            ..Default::default()
        }
    }

    #[test]
    fn progress_is_the_slowest_target_with_rate_and_eta() {
        let mut r = record(MovePhase::Copy);
        r.targets.insert("eu-1".into(), target(500, 2_000_000));
        r.targets.insert("eu-2".into(), target(250, 1_000_000));
        let s = r.status(60);
        assert_eq!(s["objects_copied"], 250);
        assert_eq!(s["bytes_copied"], 1_000_000);
        // 1 MB in 10 s: 100 kB/s, 3 MB left: 30 s.
        let eta = s["eta_secs"].as_f64().unwrap();
        assert!((29.0..=31.0).contains(&eta), "{s}");
        assert!((24.0..=26.0).contains(&s["objects_per_sec"].as_f64().unwrap()), "{s}");
        assert_eq!(s["phase"], "copy");
    }

    #[test]
    fn a_bucket_that_grew_shows_its_new_size_and_no_eta_once_moved() {
        let mut r = record(MovePhase::Cleanup);
        r.targets.insert("eu-1".into(), target(1200, 5_000_000));
        let s = r.status(60);
        assert_eq!(s["objects_total"], 1200);
        assert_eq!(s["bytes_total"], 5_000_000);
        assert!(s["eta_secs"].is_null());
        assert!(MovePhase::Cutover.cancellable() && !MovePhase::Cleanup.cancellable());
        assert!(MovePhase::Copy.is_active() && !MovePhase::Queued.is_active());
    }
}
