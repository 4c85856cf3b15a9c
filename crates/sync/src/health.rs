//! What the agents saw while running (errors, when each shard last moved), kept in memory for the status
//! document; the progress itself is persisted (see `state`).

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

#[derive(Debug, Clone, Default)]
pub struct Health {
    pub errors: u64,
    pub last_error: Option<(String, Instant)>,
    /// Per shard: its marker when last seen and since when it has been that.
    pub shards: HashMap<u32, (String, Instant)>,
}

type Registry = Mutex<HashMap<(String, String), Health>>;

fn registry() -> &'static Registry {
    static REGISTRY: OnceLock<Registry> = OnceLock::new();
    REGISTRY.get_or_init(Default::default)
}

fn with<T>(log: &str, src: &str, f: impl FnOnce(&mut Health) -> T) -> T {
    let mut map = match registry().lock() {
        Ok(g) => g,
        Err(poisoned) => poisoned.into_inner(),
    };
    f(map.entry((log.to_string(), src.to_string())).or_default())
}

pub fn record_error(log: &str, src_id: &str, src_name: &str, message: String) {
    tracing::warn!(log, source_zone = src_name, error = %message, "sync step failed");
    metrics::counter!("meridian_sync_errors_total", "source_zone" => src_name.to_string(), "log" => log.to_string())
        .increment(1);
    with(log, src_id, |h| {
        h.errors += 1;
        h.last_error = Some((message, Instant::now()));
    });
}

/// Notes a shard's current marker; the time only moves when the marker does.
pub fn observe_shard(log: &str, src: &str, shard: u32, marker: &str) {
    with(log, src, |h| {
        let entry = h
            .shards
            .entry(shard)
            .or_insert_with(|| (marker.to_string(), Instant::now()));
        if entry.0 != marker {
            *entry = (marker.to_string(), Instant::now());
        }
    });
}

pub fn snapshot(log: &str, src: &str) -> Health {
    with(log, src, |h| h.clone())
}
