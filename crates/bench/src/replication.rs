//! `meridian bench replication`: the replication lag between two zones. Objects are written to the source zone
//! at a steady rate, and their arrival on the target zone is detected without flooding it: either by following
//! the target's bucket index log (`--log-access-key`/`--log-secret`, a system key: one log read per poll
//! interval, whatever the rate), or by HEADing each object on a backoff from its write time, under a bounded
//! HEAD rate. The lag of an object is the time from the source's answer to its PUT to the moment the target was
//! seen holding it with the ETag the source answered. Reports lag percentiles, the objects that never arrived
//! within `--arrival-timeout`, the completed writes per second, and the load the tool put on the target.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::SigningArgs;
use anyhow::{anyhow, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use serde::Serialize;
use tokio::task::JoinSet;

use crate::body::RepeatBody;
use crate::client::{parse_endpoint, uri_encode, S3Client};
use crate::error::{ErrorKind, RequestError};
use crate::report::OpReport;
use crate::runner::{credentials, ensure_bucket, random_buffer};
use crate::sign::Signer;
use crate::stats::{new_histogram, summarize, LatencySummary, Live, OpKind, Recorder};
use crate::units::{format_bytes, format_duration, format_latency_ms, ByteSize, DurationArg};

/// Objects up to this size get their own content (a distinct slice of the buffer, so distinct ETags).
const DISTINCT_CONTENT_MAX: u64 = 16 << 20;
/// Distinct offsets into the buffer objects are cut from.
const CONTENT_VARIANTS: u64 = 4096;
/// Entries asked for per read of the target's bucket index log.
const LOG_PAGE: usize = 1000;
/// The longest wait between two HEADs of one object (the backoff grows by half each time up to this).
const MAX_HEAD_BACKOFF: Duration = Duration::from_secs(1);

/// Arguments of `meridian bench replication`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Replication lag between two zones: steady writes to one, arrival detected on the other",
    after_help = "The lag of an object is the time from the source zone's answer to its PUT to the moment the \
                  target zone is seen holding it with the same ETag. With --log-access-key/--log-secret (a system \
                  key of the realm) the tool follows the target's bucket index log (GET /admin/log?type=\
                  bucket-index), one read every --poll-interval: the resolution is about --poll-interval and the \
                  load on the target does not grow with the rate. Without them it HEADs each object on a \
                  backoff from its write time (first after --poll-interval, then half as long again each time, \
                  at most 1 s apart), never more than --head-rate HEADs per second in all. A warm-up object (not \
                  counted) is written and awaited first, so the target knows the bucket. Keys go under a fresh \
                  prefix repl-XXXXXXXX/ in the bucket each run."
)]
pub struct ReplicationArgs {
    /// Zone written to, http://HOST[:PORT]
    #[arg(long)]
    pub source_endpoint: String,

    /// Zone the objects are awaited on, http://HOST[:PORT]
    #[arg(long)]
    pub target_endpoint: String,

    #[command(flatten)]
    pub signing: SigningArgs,

    /// A system key's access key: detect arrival by following the target's bucket index log instead of HEADs
    #[arg(long, requires = "log_secret")]
    pub log_access_key: Option<String>,

    /// The secret of --log-access-key
    #[arg(long, requires = "log_access_key")]
    pub log_secret: Option<String>,

    /// Bucket to use, created (through the source zone) if missing
    #[arg(long, default_value = "meridian-bench-repl")]
    pub bucket: String,

    /// Objects written per second
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,

    /// How long objects are written, e.g. 30s, 2m
    #[arg(long, default_value = "30s")]
    pub duration: DurationArg,

    /// Stop writing after this many objects (if before --duration)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub objects: Option<u64>,

    /// Object size: bytes, or with a unit (KiB, MiB, GiB, KB, MB, GB)
    #[arg(long, default_value = "4KiB")]
    pub size: ByteSize,

    /// Between two reads of the target's log; with HEADs, the first wait after a write
    #[arg(long, default_value = "5ms")]
    pub poll_interval: DurationArg,

    /// HEAD requests per second on the target, at most (HEAD detection only)
    #[arg(long, default_value_t = 500.0)]
    pub head_rate: f64,

    /// HEAD requests in flight at once on the target (HEAD detection only)
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub poll_concurrency: u32,

    /// An object not shown by the target this long after its PUT counts as never arrived
    #[arg(long, default_value = "60s")]
    pub arrival_timeout: DurationArg,

    /// Give up on one request after this long
    #[arg(long, default_value = "30s")]
    pub timeout: DurationArg,

    /// Print the result as JSON on stdout (the text report goes to stderr)
    #[arg(long)]
    pub json: bool,

    /// No live progress line (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,
}

/// How arrival on the target is seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Detection {
    /// Following the target's bucket index log.
    Log,
    /// HEAD of each object on a backoff.
    Head,
}

/// The settings of a run, checked.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    interval: Duration,
    duration: Duration,
    max_objects: Option<u64>,
    size: u64,
    poll_interval: Duration,
    head_gap: Duration,
    arrival_timeout: Duration,
    detection: Detection,
}

impl Plan {
    fn from_args(args: &ReplicationArgs) -> anyhow::Result<Plan> {
        if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 100_000.0) {
            bail!(
                "--rate must be more than 0 and at most 100000 objects/s, not {}",
                args.rate
            );
        }
        if !(args.head_rate.is_finite() && args.head_rate > 0.0 && args.head_rate <= 1_000_000.0) {
            bail!(
                "--head-rate must be more than 0 and at most 1000000 HEADs/s, not {}",
                args.head_rate
            );
        }
        if args.duration.0.is_zero() {
            bail!("--duration must be more than 0");
        }
        if args.arrival_timeout.0.is_zero() {
            bail!("--arrival-timeout must be more than 0");
        }
        Ok(Plan {
            interval: Duration::from_secs_f64(1.0 / args.rate),
            duration: args.duration.0,
            max_objects: args.objects,
            size: args.size.0,
            poll_interval: args.poll_interval.0.max(Duration::from_millis(1)),
            head_gap: Duration::from_secs_f64(1.0 / args.head_rate),
            arrival_timeout: args.arrival_timeout.0,
            detection: if args.log_access_key.is_some() {
                Detection::Log
            } else {
                Detection::Head
            },
        })
    }
}

/// What one written object came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// The PUT to the source failed.
    NotWritten,
    /// Shown by the target after this long.
    Arrived(Duration),
    /// Not shown by the target within the arrival timeout.
    NeverArrived,
}

/// Objects written and not seen on the target yet, and (log detection) objects the target's log showed
/// before the source's answer to their PUT came back.
#[derive(Default)]
struct Tracker {
    waiting: HashMap<String, (Instant, Option<String>)>,
    early: HashMap<String, String>,
}

/// Spaces requests out so that at most one starts per `gap` (a HEAD budget).
struct Pacer {
    gap: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            let slot = (*next).max(Instant::now());
            *next = slot + self.gap;
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }
}

/// What the writer and the detectors share.
struct Ctx {
    source: S3Client,
    target: S3Client,
    buffer: Bytes,
    size: u64,
    poll_interval: Duration,
    arrival_timeout: Duration,
    /// Bounds the HEADs in flight on the target.
    polls: tokio::sync::Semaphore,
    pacer: Pacer,
    tracker: Mutex<Tracker>,
    lags: Mutex<Histogram<u64>>,
    /// PUT, HEAD (STAT) and log-read (LIST) statistics.
    rec: Mutex<Recorder>,
    /// HEADs answered 404 (or with another ETag): the object was not there yet.
    misses: AtomicU64,
    sent: AtomicU64,
    written: AtomicU64,
    put_errors: AtomicU64,
    arrived: AtomicU64,
    never: AtomicU64,
    /// Requests sent to the target to detect arrival (HEADs or log reads).
    target_requests: AtomicU64,
    /// Gaps seen in the target's log (entries trimmed before they were read).
    log_gaps: AtomicU64,
    /// When the last PUT was answered, in µs from `epoch`.
    last_put_us: AtomicU64,
    epoch: Instant,
}

impl Ctx {
    fn record(&self, f: impl FnOnce(&mut Recorder)) {
        let mut rec = self.rec.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut rec);
    }

    fn tracker(&self) -> std::sync::MutexGuard<'_, Tracker> {
        self.tracker.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn arrived(&self, lag: Duration) {
        self.arrived.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX).max(1);
        self.lags
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .saturating_record(micros);
    }

    /// Objects written and not yet arrived nor given up on.
    fn outstanding(&self) -> u64 {
        self.written
            .load(Ordering::Relaxed)
            .saturating_sub(self.arrived.load(Ordering::Relaxed) + self.never.load(Ordering::Relaxed))
    }

    /// The body of object `i`: its own slice of the buffer when small enough, so ETags differ.
    fn body(&self, i: u64) -> RepeatBody {
        if self.size <= DISTINCT_CONTENT_MAX && self.buffer.len() as u64 >= self.size + CONTENT_VARIANTS {
            let offset = ((i.wrapping_mul(2_654_435_761)) % CONTENT_VARIANTS) as usize;
            let chunk = self.buffer.slice(offset..offset + self.size as usize);
            RepeatBody::from_bytes(chunk)
        } else {
            RepeatBody::new(self.buffer.clone(), self.size)
        }
    }

    /// Writes object `i` under `key`; then it is awaited (HEADs here, or the log follower).
    async fn write(&self, key: &str, i: u64, detection: Detection) -> Fate {
        self.sent.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let etag = match self.source.put_object_etag(key, self.body(i)).await {
            Ok((etag, done)) => {
                self.record(|r| r.ok(OpKind::Put, start.elapsed(), done.bytes, done.ttfb));
                self.written.fetch_add(1, Ordering::Relaxed);
                let us = u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX);
                self.last_put_us.fetch_max(us, Ordering::Relaxed);
                etag
            }
            Err(e) => {
                self.record(|r| r.err(OpKind::Put, &e));
                self.put_errors.fetch_add(1, Ordering::Relaxed);
                return Fate::NotWritten;
            }
        };
        let acked = Instant::now();
        match detection {
            Detection::Head => {
                let fate = self.await_by_head(key, etag.as_deref(), acked).await;
                match fate {
                    Fate::Arrived(lag) => self.arrived(lag),
                    _ => {
                        self.never.fetch_add(1, Ordering::Relaxed);
                    }
                }
                fate
            }
            Detection::Log => {
                if self.register(key, acked, etag) {
                    self.arrived(Duration::ZERO);
                    return Fate::Arrived(Duration::ZERO);
                }
                self.await_by_log(key, acked).await
            }
        }
    }

    /// Records `key` as waiting for the log follower; true when the follower saw it already.
    fn register(&self, key: &str, acked: Instant, etag: Option<String>) -> bool {
        // The log names ETags without the quotes the PUT answer has.
        let etag = etag.map(|e| e.trim_matches('"').to_string());
        let mut t = self.tracker();
        let seen_early = t
            .early
            .remove(key)
            .is_some_and(|seen| etag.as_deref().is_none_or(|e| e == seen));
        if !seen_early {
            t.waiting.insert(key.to_string(), (acked, etag));
        }
        seen_early
    }

    /// Waits until the log follower saw `key` (it is then no longer waiting), or gives up after the timeout.
    async fn await_by_log(&self, key: &str, acked: Instant) -> Fate {
        loop {
            tokio::time::sleep(Duration::from_millis(50)).await;
            match self.still_waiting(key, acked) {
                None => return Fate::Arrived(Duration::ZERO),
                Some(false) => {}
                Some(true) => {
                    self.never.fetch_add(1, Ordering::Relaxed);
                    return Fate::NeverArrived;
                }
            }
        }
    }

    /// `None` when `key` arrived; `Some(true)` when it is given up on now (no longer waiting).
    fn still_waiting(&self, key: &str, acked: Instant) -> Option<bool> {
        let mut t = self.tracker();
        if !t.waiting.contains_key(key) {
            return None;
        }
        let expired = acked.elapsed() >= self.arrival_timeout;
        if expired {
            t.waiting.remove(key);
        }
        Some(expired)
    }

    /// The target's log showed `key` written with `etag` at `seen`.
    fn seen_in_log(&self, key: &str, etag: &str, seen: Instant) {
        let mut t = self.tracker();
        match t.waiting.get(key) {
            Some((acked, want)) if want.as_deref().is_none_or(|w| w == etag) => {
                let lag = seen.saturating_duration_since(*acked);
                t.waiting.remove(key);
                drop(t);
                self.arrived(lag);
            }
            Some(_) => {}
            None => {
                t.early.insert(key.to_string(), etag.to_string());
            }
        }
    }

    /// HEADs `key` on the target on a growing backoff from `acked` until it answers with `etag` (any ETag
    /// when the source sent none), or until `arrival_timeout` after `acked`.
    async fn await_by_head(&self, key: &str, etag: Option<&str>, acked: Instant) -> Fate {
        let mut wait = self.poll_interval;
        let mut at = acked + wait;
        loop {
            tokio::time::sleep_until(at.into()).await;
            let answer = {
                let _permit = self.polls.acquire().await;
                self.pacer.wait().await;
                self.target_requests.fetch_add(1, Ordering::Relaxed);
                let start = Instant::now();
                let answer = self.target.head_object_etag(key).await;
                if let Ok((_, done)) = &answer {
                    self.record(|r| r.ok(OpKind::Stat, start.elapsed(), 0, done.ttfb));
                }
                answer.map(|(seen, _)| (seen, start))
            };
            match answer {
                // The object was there when the HEAD was sent at the latest.
                Ok((seen, sent)) if etag.is_none() || seen.as_deref() == etag => {
                    return Fate::Arrived(sent.saturating_duration_since(acked))
                }
                Ok(_) => {
                    self.misses.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) if is_not_found(&e) => {
                    self.misses.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => self.record(|r| r.err(OpKind::Stat, &e)),
            }
            if acked.elapsed() >= self.arrival_timeout {
                return Fate::NeverArrived;
            }
            wait = (wait * 3 / 2).min(MAX_HEAD_BACKOFF);
            at = Instant::now().max(at) + wait;
        }
    }
}

/// A HEAD answer saying the object (or, before metadata sync, its bucket) is not there yet.
fn is_not_found(e: &RequestError) -> bool {
    matches!(e.kind, ErrorKind::Http { status: 404, .. })
}

/// Follows the target's bucket index log of `bucket` from its head until `stop`: every write entry is
/// matched with the objects waiting.
async fn follow_log(ctx: Arc<Ctx>, log: S3Client, bucket: String, stop: Arc<AtomicBool>) {
    let bucket_q = uri_encode(&bucket, false);
    let mut marker: Option<String> = None;
    while !stop.load(Ordering::Relaxed) {
        let path = match &marker {
            None => format!("/admin/log?type=bucket-index&bucket={bucket_q}&info="),
            Some(m) => format!(
                "/admin/log?type=bucket-index&bucket={bucket_q}&marker={}&max-entries={LOG_PAGE}",
                uri_encode(m, false)
            ),
        };
        ctx.target_requests.fetch_add(1, Ordering::Relaxed);
        let start = Instant::now();
        let answer = log.get_collect(&path).await;
        let seen = Instant::now();
        let mut full_page = false;
        match answer {
            Ok((body, done)) => {
                let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                match &marker {
                    None => {
                        let head = value.get("max_marker").and_then(|m| m.as_str()).unwrap_or_default();
                        marker = Some(head.to_string());
                    }
                    Some(m) => {
                        let entries = value.as_array().cloned().unwrap_or_default();
                        full_page = entries.len() >= LOG_PAGE;
                        let mut last = m.clone();
                        for e in &entries {
                            let field = |name: &str| e.get(name).and_then(|v| v.as_str()).unwrap_or_default();
                            let op_id = field("op_id").to_string();
                            if gap(&last, &op_id) {
                                ctx.log_gaps.fetch_add(1, Ordering::Relaxed);
                            }
                            if field("op") == "write" {
                                ctx.seen_in_log(field("object"), field("etag"), seen);
                            }
                            last = op_id;
                        }
                        marker = Some(last);
                    }
                }
                ctx.record(|r| r.ok_items(OpKind::List, start.elapsed(), done.bytes, 0, done.ttfb));
            }
            // The target does not know the bucket yet (metadata sync): read its log from the start later.
            Err(e) if is_not_found(&e) && marker.is_none() => {
                ctx.record(|r| r.err(OpKind::List, &e));
                marker = Some(String::new());
            }
            Err(e) => ctx.record(|r| r.err(OpKind::List, &e)),
        }
        if !full_page {
            tokio::time::sleep(ctx.poll_interval).await;
        }
    }
}

/// Whether `next` does not directly follow `last` (numeric markers; an empty `last` is the log's start).
fn gap(last: &str, next: &str) -> bool {
    match (last.parse::<u64>(), next.parse::<u64>()) {
        (Ok(a), Ok(b)) => b > a + 1,
        _ => false,
    }
}

/// The result of a replication run.
#[derive(Debug, Clone, Serialize)]
pub struct ReplicationReport {
    pub source_endpoint: String,
    pub target_endpoint: String,
    pub bucket: String,
    pub prefix: String,
    pub object_size: u64,
    /// The rate asked for, objects/s.
    pub rate: f64,
    /// How arrival was detected.
    pub detection: Detection,
    /// Time the warm-up object took to show on the target (not counted).
    pub warmup_s: f64,
    /// Length of the sending phase (PUTs started).
    pub write_s: f64,
    /// From the first PUT sent to the last PUT answered.
    pub completed_write_s: f64,
    /// Length of the whole measured run: writing, then waiting for the last objects.
    pub elapsed_s: f64,
    /// PUTs sent.
    pub sent: u64,
    /// Objects the source accepted (PUTs answered 2xx).
    pub written: u64,
    pub put_errors: u64,
    /// Completed writes per second: `written` over `completed_write_s`.
    pub achieved_rate: f64,
    /// Objects the target showed within the arrival timeout.
    pub arrived: u64,
    /// Objects the target did not show within the arrival timeout.
    pub never_arrived: u64,
    pub arrival_timeout_s: f64,
    pub poll_interval_ms: f64,
    /// Lag of the objects that arrived.
    pub lag: Option<LatencySummary>,
    /// PUT statistics on the source.
    pub put: OpReport,
    /// HEAD statistics on the target (answers that showed an object; misses are counted apart).
    pub head: OpReport,
    /// Reads of the target's bucket index log (log detection).
    pub log_reads: OpReport,
    /// HEADs that did not show the object yet.
    pub head_misses: u64,
    /// Every request this tool sent the target to detect arrival (HEADs or log reads)...
    pub target_requests: u64,
    /// ...per second of the measured run: the tool's own load on the target.
    pub target_requests_per_s: f64,
    /// Gaps in the target's log as read (entries trimmed before the tool read them).
    pub log_gaps: u64,
}

impl ReplicationReport {
    pub fn to_json(&self) -> serde_json::Result<String> {
        serde_json::to_string_pretty(self)
    }

    /// The human report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "meridian bench replication: {} objects at {}/s, {} -> {}, bucket {} prefix {}/",
            format_bytes(self.object_size),
            trim_rate(self.rate),
            self.source_endpoint,
            self.target_endpoint,
            self.bucket,
            self.prefix
        );
        let _ = writeln!(
            out,
            "warm-up object replicated in {} (not counted)",
            format_duration(Duration::from_secs_f64(self.warmup_s))
        );
        let _ = writeln!(
            out,
            "written: {} of {} sent in {} ({:.1} completed writes/s), {} PUT errors",
            self.written,
            self.sent,
            format_duration(Duration::from_secs_f64(self.completed_write_s)),
            self.achieved_rate,
            self.put_errors
        );
        let _ = writeln!(
            out,
            "arrived: {} of {}; never arrived within {}: {}",
            self.arrived,
            self.written,
            format_duration(Duration::from_secs_f64(self.arrival_timeout_s)),
            self.never_arrived
        );
        let how = match self.detection {
            Detection::Log => format!("target log read every {}", format_latency_ms(self.poll_interval_ms)),
            Detection::Head => format!("HEAD backoff from {}", format_latency_ms(self.poll_interval_ms)),
        };
        match &self.lag {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "replication lag: p50 {} p90 {} p99 {} max {} mean {} ({how})",
                    format_latency_ms(l.p50_ms),
                    format_latency_ms(l.p90_ms),
                    format_latency_ms(l.p99_ms),
                    format_latency_ms(l.max_ms),
                    format_latency_ms(l.mean_ms),
                );
            }
            None => {
                let _ = writeln!(out, "replication lag: no object arrived");
            }
        }
        let rows = match self.detection {
            Detection::Log => [("source PUT", &self.put), ("target log read", &self.log_reads)],
            Detection::Head => [("source PUT", &self.put), ("target HEAD", &self.head)],
        };
        for (name, o) in rows {
            let lat = o
                .latency
                .as_ref()
                .map(|l| {
                    format!(
                        "p50 {} p99 {} max {}",
                        format_latency_ms(l.p50_ms),
                        format_latency_ms(l.p99_ms),
                        format_latency_ms(l.max_ms)
                    )
                })
                .unwrap_or_else(|| "-".to_string());
            let _ = writeln!(out, "{name}: {} ok, {} errors, latency {lat}", o.ops, o.errors);
            for e in &o.error_kinds {
                let _ = writeln!(out, "  {:<32} {:>8}  first: {}", e.kind, e.count, e.sample);
            }
        }
        let _ = write!(
            out,
            "load on the target: {} requests ({:.1}/s)",
            self.target_requests, self.target_requests_per_s
        );
        match self.detection {
            Detection::Head => {
                let _ = writeln!(out, ", {} HEADs before arrival", self.head_misses);
            }
            Detection::Log => {
                let _ = writeln!(out, ", {} gaps in the log", self.log_gaps);
            }
        }
        out
    }
}

/// "50", "2.5": a rate without trailing zeros.
fn trim_rate(rate: f64) -> String {
    let text = format!("{rate:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The live progress line on stderr.
fn progress(enabled: bool, ctx: Arc<Ctx>) -> Option<(ProgressBar, tokio::task::JoinHandle<()>)> {
    if !enabled {
        return None;
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()));
    let handle = bar.clone();
    let task = tokio::spawn(async move {
        let start = Instant::now();
        let mut interval = tokio::time::interval(Duration::from_millis(250));
        loop {
            interval.tick().await;
            let written = ctx.written.load(Ordering::Relaxed);
            let arrived = ctx.arrived.load(Ordering::Relaxed);
            let never = ctx.never.load(Ordering::Relaxed);
            let errors = ctx.put_errors.load(Ordering::Relaxed);
            let load = ctx.target_requests.load(Ordering::Relaxed);
            handle.set_message(format!(
                "{}  written {written}  arrived {arrived}  waiting {}  never {never}  PUT errors {errors}  \
                 target requests {load}",
                format_duration(start.elapsed()),
                written.saturating_sub(arrived + never)
            ));
            handle.tick();
        }
    });
    Some((bar, task))
}

/// Runs the benchmark and returns its report (notes and progress go to stderr).
pub async fn run_report(args: &ReplicationArgs) -> anyhow::Result<ReplicationReport> {
    let plan = Plan::from_args(args)?;
    let (access, secret) = credentials(args.signing.access_key.as_deref(), args.signing.secret.as_deref())?;
    let source_ep = parse_endpoint(&args.source_endpoint)?;
    let target_ep = parse_endpoint(&args.target_endpoint)?;
    let connections = args.poll_concurrency as usize + 64;
    let client = |ep: &crate::client::Endpoint, access: &str, secret: &str| {
        S3Client::new(
            ep.clone(),
            Signer::new(access, secret, &args.signing.region),
            &args.bucket,
            connections,
            args.timeout.0,
        )
    };
    let source = client(&source_ep, &access, &secret)?;
    let target = client(&target_ep, &access, &secret)?;
    let log = match (&args.log_access_key, &args.log_secret) {
        (Some(a), Some(s)) => Some(client(&target_ep, a, s)?),
        _ => None,
    };
    ensure_bucket(&source, &args.signing.region).await?;

    let seed: u64 = rand::rng().next_u64();
    let prefix = format!("repl-{:08x}", seed as u32);
    let buffer_len = if plan.size <= DISTINCT_CONTENT_MAX {
        plan.size + CONTENT_VARIANTS
    } else {
        DISTINCT_CONTENT_MAX
    };
    let kinds = [OpKind::Put, OpKind::Stat, OpKind::List];
    let live = Arc::new(Live::default());
    let ctx = Arc::new(Ctx {
        source,
        target,
        buffer: random_buffer(buffer_len, seed),
        size: plan.size,
        poll_interval: plan.poll_interval,
        arrival_timeout: plan.arrival_timeout,
        polls: tokio::sync::Semaphore::new(args.poll_concurrency as usize),
        pacer: Pacer {
            gap: plan.head_gap,
            next: Mutex::new(Instant::now()),
        },
        tracker: Mutex::default(),
        lags: Mutex::new(new_histogram()?),
        rec: Mutex::new(Recorder::new(&kinds, live.clone())?),
        misses: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        written: AtomicU64::new(0),
        put_errors: AtomicU64::new(0),
        arrived: AtomicU64::new(0),
        never: AtomicU64::new(0),
        target_requests: AtomicU64::new(0),
        log_gaps: AtomicU64::new(0),
        last_put_us: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    let stop = Arc::new(AtomicBool::new(false));
    let follower = log.map(|log| tokio::spawn(follow_log(ctx.clone(), log, args.bucket.clone(), stop.clone())));
    let result = measure(args, &plan, &ctx, prefix, &source_ep.base, &target_ep.base, &live).await;
    stop.store(true, Ordering::Relaxed);
    if let Some(f) = follower {
        f.abort();
    }
    result
}

async fn measure(
    args: &ReplicationArgs,
    plan: &Plan,
    ctx: &Arc<Ctx>,
    prefix: String,
    source_base: &str,
    target_base: &str,
    live: &Arc<Live>,
) -> anyhow::Result<ReplicationReport> {
    // Warm-up: the target learns of the bucket (and the path is known to work) before anything is measured.
    let warm_start = Instant::now();
    let warmup = match ctx.write(&format!("{prefix}/warmup"), u64::MAX, plan.detection).await {
        Fate::Arrived(_) => warm_start.elapsed(),
        Fate::NotWritten => {
            let rec = ctx.rec.lock().unwrap_or_else(|p| p.into_inner());
            let why = rec
                .ops
                .get(&OpKind::Put)
                .and_then(|s| s.errors.iter().next().map(|(kind, e)| format!("{kind}: {}", e.sample)));
            bail!(
                "the warm-up PUT to {source_base} failed: {}",
                why.unwrap_or_else(|| "unknown error".to_string())
            );
        }
        Fate::NeverArrived => {
            let rec = ctx.rec.lock().unwrap_or_else(|p| p.into_inner());
            let log_error = rec
                .ops
                .get(&OpKind::List)
                .and_then(|s| {
                    s.errors
                        .iter()
                        .next()
                        .map(|(kind, e)| format!(" (reading its log: {kind}: {})", e.sample))
                })
                .unwrap_or_default();
            bail!(
                "the warm-up object written to {source_base} did not show on {target_base} within {}{log_error}: is \
                 replication running between these zones?",
                format_duration(plan.arrival_timeout)
            )
        }
    };
    eprintln!("warm-up object replicated in {}", format_duration(warmup));
    // The warm-up is not counted.
    let kinds = [OpKind::Put, OpKind::Stat, OpKind::List];
    let mut fresh = Recorder::new(&kinds, live.clone())?;
    std::mem::swap(&mut *ctx.rec.lock().unwrap_or_else(|p| p.into_inner()), &mut fresh);
    for counter in [
        &ctx.misses,
        &ctx.sent,
        &ctx.written,
        &ctx.put_errors,
        &ctx.arrived,
        &ctx.never,
        &ctx.target_requests,
        &ctx.log_gaps,
    ] {
        counter.store(0, Ordering::Relaxed);
    }
    ctx.lags.lock().unwrap_or_else(|p| p.into_inner()).reset();

    let show = !args.no_progress && std::io::stderr().is_terminal();
    let bar = progress(show, ctx.clone());
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let start_us = u64::try_from(ctx.epoch.elapsed().as_micros()).unwrap_or(0);
    let mut ticker = tokio::time::interval(plan.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut i = 0u64;
    loop {
        ticker.tick().await;
        if start.elapsed() >= plan.duration || plan.max_objects.is_some_and(|max| i >= max) {
            break;
        }
        let ctx = ctx.clone();
        let key = format!("{prefix}/obj-{i:08}");
        let detection = plan.detection;
        tasks.spawn(async move {
            ctx.write(&key, i, detection).await;
        });
        i += 1;
    }
    let write_s = start.elapsed().as_secs_f64();
    while let Some(joined) = tasks.join_next().await {
        if let Err(e) = joined {
            if let Some((bar, task)) = bar {
                task.abort();
                bar.finish_and_clear();
            }
            return Err(anyhow!("a replication probe panicked: {e}"));
        }
    }
    let elapsed = start.elapsed();
    if let Some((bar, task)) = bar {
        task.abort();
        bar.finish_and_clear();
    }
    debug_assert_eq!(ctx.outstanding(), 0);

    let rec = ctx.rec.lock().unwrap_or_else(|p| p.into_inner());
    let op = |kind: OpKind, window: Duration| {
        rec.ops
            .get(&kind)
            .map(|s| OpReport::new(kind, s, window))
            .ok_or_else(|| anyhow!("no {} statistics", kind.name()))
    };
    let written = ctx.written.load(Ordering::Relaxed);
    let completed_us = ctx.last_put_us.load(Ordering::Relaxed).saturating_sub(start_us);
    let completed_write_s = completed_us as f64 / 1e6;
    let lag = summarize(&ctx.lags.lock().unwrap_or_else(|p| p.into_inner()));
    let target_requests = ctx.target_requests.load(Ordering::Relaxed);
    let elapsed_s = elapsed.as_secs_f64();
    Ok(ReplicationReport {
        source_endpoint: source_base.to_string(),
        target_endpoint: target_base.to_string(),
        bucket: args.bucket.clone(),
        prefix,
        object_size: plan.size,
        rate: args.rate,
        detection: plan.detection,
        warmup_s: warmup.as_secs_f64(),
        write_s,
        completed_write_s,
        elapsed_s,
        sent: ctx.sent.load(Ordering::Relaxed),
        written,
        put_errors: ctx.put_errors.load(Ordering::Relaxed),
        achieved_rate: if completed_write_s > 0.0 {
            written as f64 / completed_write_s
        } else {
            0.0
        },
        arrived: ctx.arrived.load(Ordering::Relaxed),
        never_arrived: ctx.never.load(Ordering::Relaxed),
        arrival_timeout_s: plan.arrival_timeout.as_secs_f64(),
        poll_interval_ms: plan.poll_interval.as_secs_f64() * 1000.0,
        lag,
        put: op(OpKind::Put, Duration::from_secs_f64(completed_write_s))?,
        head: op(OpKind::Stat, elapsed)?,
        log_reads: op(OpKind::List, elapsed)?,
        head_misses: ctx.misses.load(Ordering::Relaxed),
        target_requests,
        target_requests_per_s: if elapsed_s > 0.0 {
            target_requests as f64 / elapsed_s
        } else {
            0.0
        },
        log_gaps: ctx.log_gaps.load(Ordering::Relaxed),
    })
}

/// Runs the benchmark as `meridian bench replication` does: prints the report (text, or JSON with `--json`);
/// fails when the run cannot start, when no object was written, or when none reached the target.
pub async fn run(args: ReplicationArgs) -> anyhow::Result<()> {
    let report = run_report(&args).await?;
    crate::report::print(args.json, &report.to_text(), || report.to_json())?;
    if report.written == 0 {
        bail!(
            "no object was written to {} ({} PUT errors)",
            report.source_endpoint,
            report.put_errors
        );
    }
    if report.arrived == 0 {
        bail!(
            "none of the {} objects written showed on {} within {}",
            report.written,
            report.target_endpoint,
            format_duration(Duration::from_secs_f64(report.arrival_timeout_s))
        );
    }
    if report.never_arrived > 0 {
        eprintln!(
            "warning: {} of {} objects did not show on the target within {}",
            report.never_arrived,
            report.written,
            format_duration(Duration::from_secs_f64(report.arrival_timeout_s))
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Live;
    use clap::{Args, Command, FromArgMatches};

    fn parse(argv: &[&str]) -> Result<ReplicationArgs, clap::Error> {
        let cmd = ReplicationArgs::augment_args(Command::new("replication").no_binary_name(true));
        let matches = cmd.try_get_matches_from(argv)?;
        ReplicationArgs::from_arg_matches(&matches)
    }

    const ENDPOINTS: [&str; 4] = [
        "--source-endpoint",
        "http://127.0.0.1:1",
        "--target-endpoint",
        "http://127.0.0.1:2",
    ];

    fn with_endpoints(extra: &[&'static str]) -> Vec<&'static str> {
        ENDPOINTS.iter().copied().chain(extra.iter().copied()).collect()
    }

    #[test]
    fn flags_defaults_and_plan() {
        let a = parse(&ENDPOINTS).unwrap();
        assert_eq!(a.rate, 50.0);
        assert_eq!(a.size.0, 4096);
        assert_eq!(a.duration.0, Duration::from_secs(30));
        assert_eq!(a.arrival_timeout.0, Duration::from_secs(60));
        assert_eq!(a.bucket, "meridian-bench-repl");
        let p = Plan::from_args(&a).unwrap();
        assert_eq!(p.interval, Duration::from_millis(20));
        assert_eq!(p.max_objects, None);

        let a = parse(&with_endpoints(&[
            "--rate",
            "200",
            "--duration",
            "5s",
            "--objects",
            "10",
            "--size",
            "1MiB",
            "--secret-key",
            "s",
        ]))
        .unwrap();
        let p = Plan::from_args(&a).unwrap();
        assert_eq!(p.interval, Duration::from_millis(5));
        assert_eq!(
            (p.duration, p.max_objects, p.size),
            (Duration::from_secs(5), Some(10), 1 << 20)
        );
        assert_eq!(a.signing.secret.as_deref(), Some("s"));

        assert!(
            parse(&["--source-endpoint", "http://a"]).is_err(),
            "the target is required"
        );
        for bad in [
            ["--rate", "0"],
            ["--rate=-1", "--json"],
            ["--duration", "0s"],
            ["--arrival-timeout", "0s"],
        ] {
            let a = parse(&with_endpoints(&bad)).unwrap();
            assert!(Plan::from_args(&a).is_err(), "{bad:?}");
        }
    }

    fn report(lags_ms: &[u64], never: u64) -> ReplicationReport {
        let live = Arc::new(Live::default());
        let mut rec = Recorder::new(&[OpKind::Put, OpKind::Stat, OpKind::List], live).unwrap();
        let mut h = new_histogram().unwrap();
        for &ms in lags_ms {
            rec.ok(OpKind::Put, Duration::from_millis(2), 4096, Duration::ZERO);
            h.record(ms * 1000).unwrap();
        }
        rec.err(OpKind::Put, &RequestError::from_response(503, b""));
        ReplicationReport {
            source_endpoint: "http://a".into(),
            target_endpoint: "http://b".into(),
            bucket: "b".into(),
            prefix: "repl-1".into(),
            object_size: 4096,
            rate: 50.0,
            detection: Detection::Head,
            warmup_s: 1.5,
            write_s: 2.0,
            completed_write_s: 2.5,
            elapsed_s: 3.0,
            sent: lags_ms.len() as u64 + never + 1,
            written: lags_ms.len() as u64 + never,
            put_errors: 1,
            achieved_rate: 49.5,
            arrived: lags_ms.len() as u64,
            never_arrived: never,
            arrival_timeout_s: 60.0,
            poll_interval_ms: 20.0,
            lag: summarize(&h),
            put: OpReport::new(OpKind::Put, &rec.ops[&OpKind::Put], Duration::from_secs(2)),
            head: OpReport::new(OpKind::Stat, &rec.ops[&OpKind::Stat], Duration::from_secs(3)),
            log_reads: OpReport::new(OpKind::List, &rec.ops[&OpKind::List], Duration::from_secs(3)),
            head_misses: 7,
            target_requests: 30,
            target_requests_per_s: 10.0,
            log_gaps: 0,
        }
    }

    #[test]
    fn text_and_json() {
        let lags: Vec<u64> = (1..=100).collect();
        let r = report(&lags, 2);
        let text = r.to_text();
        assert!(text.contains("4 KiB objects at 50/s, http://a -> http://b"), "{text}");
        assert!(
            text.contains("arrived: 100 of 102; never arrived within 1m00s: 2"),
            "{text}"
        );
        assert!(
            text.contains("replication lag: p50 50.0ms p90 90.0ms p99 99.0ms max 100.0ms"),
            "{text}"
        );
        assert!(text.contains("HTTP 503"), "{text}");
        assert!(
            text.contains("written: 102 of 103 sent in 2.5s (49.5 completed writes/s)"),
            "{text}"
        );
        assert!(
            text.contains("load on the target: 30 requests (10.0/s), 7 HEADs before arrival"),
            "{text}"
        );
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["never_arrived"], 2);
        assert_eq!(json["put"]["ops"], 100);
        assert_eq!(json["put"]["errors"], 1);
        assert_eq!(json["detection"], "head");
        assert_eq!(json["target_requests"], 30);
        let p99 = json["lag"]["p99_ms"].as_f64().unwrap();
        assert!((p99 - 99.0).abs() < 0.1, "{p99}");

        let none = report(&[], 3);
        assert!(none.to_text().contains("replication lag: no object arrived"));
        assert!(serde_json::from_str::<serde_json::Value>(&none.to_json().unwrap()).unwrap()["lag"].is_null());
        assert_eq!(trim_rate(2.5), "2.5");
        assert_eq!(trim_rate(50.0), "50");
    }

    /// Against a port nothing listens on, the warm-up PUT fails with a connect error, named in the message.
    #[tokio::test]
    async fn unreachable_source_fails_the_warm_up() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let source = format!("http://127.0.0.1:{port}");
        let mut a = parse(&with_endpoints(&[
            "--access-key",
            "k",
            "--secret",
            "s",
            "--no-progress",
        ]))
        .unwrap();
        a.source_endpoint = source;
        let err = run_report(&a).await.unwrap_err();
        assert!(format!("{err:#}").contains("connect"), "{err:#}");
    }
}
