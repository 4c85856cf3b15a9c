//! Statistics of a run: per operation type, successful requests (count, bytes, latency histogram in
//! microseconds, time to first byte for GET) and failed requests counted by error kind. Each worker records
//! into its own `Recorder` without locks; recorders are merged at the end. `Live` holds the atomic counters
//! the progress line reads while the run goes on.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hdrhistogram::{AdditionError, CreationError, Histogram};
use serde::Serialize;

use crate::error::{ErrorKind, RequestError};

/// The operation types a run reports on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum OpKind {
    Put,
    Get,
    /// HEAD Object.
    Stat,
    Delete,
    /// One ListObjectsV2 page.
    List,
    /// A whole multipart upload: create, every part, complete.
    Multipart,
    /// One UploadPart of a multipart upload.
    Part,
}

impl OpKind {
    pub fn name(self) -> &'static str {
        match self {
            OpKind::Put => "PUT",
            OpKind::Get => "GET",
            OpKind::Stat => "STAT",
            OpKind::Delete => "DELETE",
            OpKind::List => "LIST",
            OpKind::Multipart => "MULTIPART",
            OpKind::Part => "PART",
        }
    }
}

/// Latencies are recorded in microseconds, from 1 µs up to 10 minutes, with 3 significant digits.
const MAX_LATENCY_US: u64 = 600_000_000;

pub fn new_histogram() -> Result<Histogram<u64>, CreationError> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3)
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// How often one error kind was seen, with the detail of its first occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCount {
    pub count: u64,
    pub sample: String,
}

/// Everything recorded for one operation type.
#[derive(Debug, Clone)]
pub struct OpStats {
    pub ok: u64,
    pub bytes: u64,
    /// Keys returned, for LIST.
    pub items: u64,
    pub latency: Histogram<u64>,
    pub ttfb: Option<Histogram<u64>>,
    pub errors: BTreeMap<ErrorKind, ErrorCount>,
}

impl OpStats {
    pub fn new(with_ttfb: bool) -> Result<Self, CreationError> {
        Ok(OpStats {
            ok: 0,
            bytes: 0,
            items: 0,
            latency: new_histogram()?,
            ttfb: if with_ttfb { Some(new_histogram()?) } else { None },
            errors: BTreeMap::new(),
        })
    }

    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|e| e.count).sum()
    }

    fn record_ok(&mut self, latency: Duration, bytes: u64, items: u64, ttfb: Duration) {
        self.ok += 1;
        self.bytes += bytes;
        self.items += items;
        self.latency.saturating_record(micros(latency));
        if let Some(h) = self.ttfb.as_mut() {
            h.saturating_record(micros(ttfb));
        }
    }

    fn record_err(&mut self, err: &RequestError) {
        self.errors
            .entry(err.kind.clone())
            .and_modify(|e| e.count += 1)
            .or_insert_with(|| ErrorCount {
                count: 1,
                sample: err.detail.clone(),
            });
    }

    pub fn merge(&mut self, other: &OpStats) -> Result<(), AdditionError> {
        self.ok += other.ok;
        self.bytes += other.bytes;
        self.items += other.items;
        self.latency.add(&other.latency)?;
        match (self.ttfb.as_mut(), other.ttfb.as_ref()) {
            (Some(mine), Some(theirs)) => mine.add(theirs)?,
            (None, Some(theirs)) => self.ttfb = Some(theirs.clone()),
            _ => {}
        }
        for (kind, e) in &other.errors {
            self.errors
                .entry(kind.clone())
                .and_modify(|mine| mine.count += e.count)
                .or_insert_with(|| e.clone());
        }
        Ok(())
    }
}

/// Counters shared by all workers, read by the progress line.
#[derive(Debug, Default)]
pub struct Live {
    pub ok: AtomicU64,
    pub bytes: AtomicU64,
    pub errors: AtomicU64,
}

impl Live {
    pub fn snapshot(&self) -> (u64, u64, u64) {
        (
            self.ok.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
            self.errors.load(Ordering::Relaxed),
        )
    }
}

/// One worker's statistics.
#[derive(Debug)]
pub struct Recorder {
    pub ops: BTreeMap<OpKind, OpStats>,
    live: Arc<Live>,
}

impl Recorder {
    /// A recorder with room for `kinds` (GET also gets a time-to-first-byte histogram).
    pub fn new(kinds: &[OpKind], live: Arc<Live>) -> Result<Self, CreationError> {
        let mut ops = BTreeMap::new();
        for &kind in kinds {
            ops.insert(kind, OpStats::new(kind == OpKind::Get)?);
        }
        Ok(Recorder { ops, live })
    }

    fn stats(&mut self, op: OpKind) -> Option<&mut OpStats> {
        match self.ops.entry(op) {
            Entry::Occupied(e) => Some(e.into_mut()),
            // Kinds are set up front; one that was not cannot fail to be created with constant bounds, but
            // a failure would only lose this sample.
            Entry::Vacant(v) => OpStats::new(op == OpKind::Get).ok().map(|s| v.insert(s)),
        }
    }

    /// Records a successful request. The parts of a multipart upload do not move the live counters: the
    /// whole upload does, once.
    pub fn ok(&mut self, op: OpKind, latency: Duration, bytes: u64, ttfb: Duration) {
        self.ok_items(op, latency, bytes, 0, ttfb);
    }

    /// Like `ok`, with a number of items (keys listed).
    pub fn ok_items(&mut self, op: OpKind, latency: Duration, bytes: u64, items: u64, ttfb: Duration) {
        if let Some(s) = self.stats(op) {
            s.record_ok(latency, bytes, items, ttfb);
        }
        if op != OpKind::Part {
            self.live.ok.fetch_add(1, Ordering::Relaxed);
            self.live.bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Records a failed request.
    pub fn err(&mut self, op: OpKind, err: &RequestError) {
        if let Some(s) = self.stats(op) {
            s.record_err(err);
        }
        if op != OpKind::Part {
            self.live.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn merge(&mut self, other: &Recorder) -> Result<(), AdditionError> {
        for (kind, stats) in &other.ops {
            match self.ops.get_mut(kind) {
                Some(mine) => mine.merge(stats)?,
                None => {
                    self.ops.insert(*kind, stats.clone());
                }
            }
        }
        Ok(())
    }

    pub fn total_ok(&self) -> u64 {
        self.ops.values().map(|s| s.ok).sum()
    }

    pub fn total_errors(&self) -> u64 {
        self.ops.values().map(OpStats::error_count).sum()
    }
}

/// Percentiles of a latency histogram, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    pub mean_ms: f64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// The summary of a histogram of microseconds; `None` when nothing was recorded.
pub fn summarize(h: &Histogram<u64>) -> Option<LatencySummary> {
    if h.is_empty() {
        return None;
    }
    let ms = |us: u64| us as f64 / 1000.0;
    Some(LatencySummary {
        mean_ms: h.mean() / 1000.0,
        p50_ms: ms(h.value_at_quantile(0.50)),
        p90_ms: ms(h.value_at_quantile(0.90)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) -> bool {
        (actual - expected).abs() <= expected * 0.002
    }

    #[test]
    fn percentiles_of_a_uniform_run() {
        let mut h = new_histogram().unwrap();
        // 1 ms .. 1000 ms, one sample each.
        for ms in 1..=1000u64 {
            h.record(ms * 1000).unwrap();
        }
        let s = summarize(&h).unwrap();
        assert!(close(s.p50_ms, 500.0), "{s:?}");
        assert!(close(s.p90_ms, 900.0), "{s:?}");
        assert!(close(s.p99_ms, 990.0), "{s:?}");
        assert!(close(s.max_ms, 1000.0), "{s:?}");
        assert!(close(s.mean_ms, 500.5), "{s:?}");
    }

    #[test]
    fn percentiles_with_a_tail() {
        let mut h = new_histogram().unwrap();
        for _ in 0..980 {
            h.record(2_000).unwrap(); // 2 ms
        }
        for _ in 0..20 {
            h.record(250_000).unwrap(); // 250 ms
        }
        let s = summarize(&h).unwrap();
        assert!(close(s.p50_ms, 2.0), "{s:?}");
        assert!(close(s.p90_ms, 2.0), "{s:?}");
        assert!(close(s.p99_ms, 250.0), "{s:?}");
        assert!(close(s.max_ms, 250.0), "{s:?}");
        assert_eq!(summarize(&new_histogram().unwrap()), None);
    }

    #[test]
    fn recorders_merge_and_count_errors() {
        let live = Arc::new(Live::default());
        let mut a = Recorder::new(&[OpKind::Get], live.clone()).unwrap();
        let mut b = Recorder::new(&[OpKind::Get, OpKind::Put], live.clone()).unwrap();
        a.ok(OpKind::Get, Duration::from_millis(3), 4096, Duration::from_millis(1));
        b.ok(OpKind::Get, Duration::from_millis(5), 4096, Duration::from_millis(2));
        b.ok(OpKind::Put, Duration::from_millis(7), 100, Duration::ZERO);
        let not_found =
            RequestError::from_response(404, b"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>");
        a.err(OpKind::Get, &not_found);
        b.err(OpKind::Get, &not_found);
        b.err(OpKind::Get, &RequestError::new(ErrorKind::Timeout, "slow"));
        // Parts do not move the live counters.
        b.ok(OpKind::Part, Duration::from_millis(1), 10, Duration::ZERO);

        assert_eq!(live.snapshot(), (3, 4096 * 2 + 100, 3));
        a.merge(&b).unwrap();
        let get = &a.ops[&OpKind::Get];
        assert_eq!(get.ok, 2);
        assert_eq!(get.bytes, 8192);
        assert_eq!(get.latency.len(), 2);
        assert_eq!(get.ttfb.as_ref().map(|h| h.len()), Some(2));
        assert_eq!(get.error_count(), 3);
        let nsk = &get.errors[&ErrorKind::Http {
            status: 404,
            code: Some("NoSuchKey".into()),
        }];
        assert_eq!(nsk.count, 2);
        assert_eq!(nsk.sample, "gone");
        assert_eq!(a.ops[&OpKind::Put].ok, 1);
        assert_eq!(a.ops[&OpKind::Part].bytes, 10);
        assert_eq!(a.total_ok(), 4);
        assert_eq!(a.total_errors(), 3);
    }
}
