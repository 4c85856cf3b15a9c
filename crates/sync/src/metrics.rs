//! The sync agents' Prometheus series (exported by the server on `/metrics`), per source zone.

use meridian_model::Timestamp;

/// Seconds from a change at the source to its application here.
pub fn lag(source_zone: &str, log: &str, changed_at: Timestamp) {
    let secs = Timestamp::now().0.saturating_sub(changed_at.0) as f64 / 1e9;
    metrics::histogram!("meridian_sync_lag_seconds", "source_zone" => source_zone.to_string(), "log" => log.to_string())
        .record(secs);
}

pub fn fetched(source_zone: &str, objects: u64, bytes: u64) {
    if objects == 0 {
        return;
    }
    metrics::counter!("meridian_sync_fetched_objects_total", "source_zone" => source_zone.to_string())
        .increment(objects);
    metrics::counter!("meridian_sync_fetched_bytes_total", "source_zone" => source_zone.to_string()).increment(bytes);
}

pub fn behind(source_zone: &str, log: &str, entries: u64) {
    metrics::gauge!("meridian_sync_behind_entries", "source_zone" => source_zone.to_string(), "log" => log.to_string())
        .set(entries as f64);
}
