//! What the agents saw while running (errors, when each shard last moved, the apply rate), kept in memory
//! for the status document; the progress itself is persisted (see `state`). One [`SyncHealth`] belongs to
//! the process's sync service: the composition root makes it and hands it to the agents (`run`) and to
//! the status builder (`status::sync_status`), so nothing here is global.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Health {
    pub errors: u64,
    pub last_error: Option<(String, Instant)>,
    /// Per shard: its marker when last seen and since when it has been that.
    pub shards: HashMap<u32, (String, Instant)>,
    /// Changes applied per second, by second (the last `RATE_WINDOW` seconds), for the ETA.
    pub applied: VecDeque<(Instant, u64)>,
}

/// How far back the apply rate looks.
pub const RATE_WINDOW: Duration = Duration::from_secs(10);

impl Health {
    /// Changes applied per second over the last `RATE_WINDOW` (0 when none were).
    pub fn rate(&self) -> f64 {
        let now = Instant::now();
        let recent: u64 = self
            .applied
            .iter()
            .filter(|(t, _)| now.duration_since(*t) < RATE_WINDOW)
            .map(|(_, n)| n)
            .sum();
        recent as f64 / RATE_WINDOW.as_secs_f64()
    }
}

/// The agents' health, by log and source zone id (cheap to clone: one shared map).
#[derive(Debug, Clone, Default)]
pub struct SyncHealth(Arc<Mutex<HashMap<(String, String), Health>>>);

impl SyncHealth {
    fn with<T>(&self, log: &str, src: &str, f: impl FnOnce(&mut Health) -> T) -> T {
        let mut map = match self.0.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        f(map.entry((log.to_string(), src.to_string())).or_default())
    }

    pub fn record_error(&self, log: &str, src_id: &str, src_name: &str, message: String) {
        tracing::warn!(log, source_zone = src_name, error = %message, "sync step failed");
        metrics::counter!("meridian_sync_errors_total", "source_zone" => src_name.to_string(), "log" => log.to_string())
            .increment(1);
        self.with(log, src_id, |h| {
            h.errors += 1;
            h.last_error = Some((message, Instant::now()));
        });
    }

    /// Notes a shard's current marker; the time only moves when the marker does.
    pub fn observe_shard(&self, log: &str, src: &str, shard: u32, marker: &str) {
        self.with(log, src, |h| {
            let entry = h
                .shards
                .entry(shard)
                .or_insert_with(|| (marker.to_string(), Instant::now()));
            if entry.0 != marker {
                *entry = (marker.to_string(), Instant::now());
            }
        });
    }

    /// Counts `n` changes applied now (for the rate and ETA the status shows).
    pub fn applied(&self, log: &str, src: &str, n: u64) {
        if n == 0 {
            return;
        }
        self.with(log, src, |h| {
            let now = Instant::now();
            match h.applied.back_mut() {
                Some((t, count)) if now.duration_since(*t) < Duration::from_secs(1) => *count += n,
                _ => h.applied.push_back((now, n)),
            }
            while h
                .applied
                .front()
                .is_some_and(|(t, _)| now.duration_since(*t) >= RATE_WINDOW)
            {
                h.applied.pop_front();
            }
        });
    }

    pub fn snapshot(&self, log: &str, src: &str) -> Health {
        self.with(log, src, |h| h.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rate_counts_the_last_window_only() {
        let health = SyncHealth::default();
        assert_eq!(health.snapshot("data", "rate-zone").rate(), 0.0);
        health.applied("data", "rate-zone", 50);
        health.applied("data", "rate-zone", 50);
        let rate = health.snapshot("data", "rate-zone").rate();
        assert!((rate - 100.0 / RATE_WINDOW.as_secs_f64()).abs() < 1e-9, "{rate}");
        health.with("data", "rate-zone", |h| {
            for (t, _) in h.applied.iter_mut() {
                *t -= RATE_WINDOW;
            }
        });
        assert_eq!(
            health.snapshot("data", "rate-zone").rate(),
            0.0,
            "changes older than the window"
        );
    }
}

#[cfg(test)]
mod separate {
    use super::*;

    #[test]
    fn two_services_do_not_share_their_health() {
        let (a, b) = (SyncHealth::default(), SyncHealth::default());
        a.record_error("data", "z1", "zone-1", "boom".into());
        assert_eq!(a.snapshot("data", "z1").errors, 1);
        assert_eq!(b.snapshot("data", "z1").errors, 0);
        let a2 = a.clone();
        a2.record_error("data", "z1", "zone-1", "again".into());
        assert_eq!(a.snapshot("data", "z1").errors, 2, "clones share one map");
    }
}
