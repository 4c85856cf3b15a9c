//! `meridian bench replication`: the replication lag between two zones. Objects are written to the source zone
//! at a steady rate; for each one the target zone is asked (HEAD) again and again until it shows the object with
//! the ETag the source answered. The lag of an object is the time from the source's answer to its PUT to the
//! first target answer that shows it. Reports lag percentiles, the objects that never arrived within
//! `--arrival-timeout`, and the PUT and HEAD statistics, as text or JSON.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::SigningArgs;
use anyhow::{anyhow, bail};
use bytes::Bytes;
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::Rng;
use serde::Serialize;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::body::RepeatBody;
use crate::client::{parse_endpoint, S3Client};
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

/// Arguments of `meridian bench replication`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "Replication lag between two zones: steady writes to one, HEADs on the other",
    after_help = "The lag of an object is the time from the source zone's answer to its PUT to the first HEAD on \
                  the target zone that shows it with the same ETag; its resolution is about --poll-interval. \
                  A warm-up object (not counted) is written and awaited first, so the target knows the bucket. \
                  Keys go under a fresh prefix repl-XXXXXXXX/ in the bucket each run."
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

    /// Time between two HEADs of the same object on the target
    #[arg(long, default_value = "20ms")]
    pub poll_interval: DurationArg,

    /// HEAD requests in flight at once on the target
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
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

/// The settings of a run, checked.
#[derive(Debug, Clone, PartialEq)]
struct Plan {
    interval: Duration,
    duration: Duration,
    max_objects: Option<u64>,
    size: u64,
    poll_interval: Duration,
    arrival_timeout: Duration,
}

impl Plan {
    fn from_args(args: &ReplicationArgs) -> anyhow::Result<Plan> {
        if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 100_000.0) {
            bail!(
                "--rate must be more than 0 and at most 100000 objects/s, not {}",
                args.rate
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
            arrival_timeout: args.arrival_timeout.0,
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

/// What the writer and the pollers share.
struct Ctx {
    source: S3Client,
    target: S3Client,
    buffer: Bytes,
    size: u64,
    poll_interval: Duration,
    arrival_timeout: Duration,
    /// Bounds the HEADs in flight on the target.
    polls: Semaphore,
    /// PUT and HEAD (STAT) statistics.
    rec: Mutex<Recorder>,
    /// HEADs answered 404 (or with another ETag): the object was not there yet.
    misses: AtomicU64,
    written: AtomicU64,
    put_errors: AtomicU64,
    arrived: AtomicU64,
    never: AtomicU64,
}

impl Ctx {
    fn record(&self, f: impl FnOnce(&mut Recorder)) {
        let mut rec = self.rec.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut rec);
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

    /// Writes object `i` under `key`, then waits for the target to show it.
    async fn replicate(&self, key: &str, i: u64) -> Fate {
        let start = Instant::now();
        let etag = match self.source.put_object_etag(key, self.body(i)).await {
            Ok((etag, done)) => {
                self.record(|r| r.ok(OpKind::Put, start.elapsed(), done.bytes, done.ttfb));
                self.written.fetch_add(1, Ordering::Relaxed);
                etag
            }
            Err(e) => {
                self.record(|r| r.err(OpKind::Put, &e));
                self.put_errors.fetch_add(1, Ordering::Relaxed);
                return Fate::NotWritten;
            }
        };
        let fate = self.await_arrival(key, etag.as_deref(), Instant::now()).await;
        match fate {
            Fate::Arrived(_) => self.arrived.fetch_add(1, Ordering::Relaxed),
            _ => self.never.fetch_add(1, Ordering::Relaxed),
        };
        fate
    }

    /// HEADs `key` on the target until it answers with `etag` (any ETag when the source sent none), or until
    /// `arrival_timeout` after `acked`.
    async fn await_arrival(&self, key: &str, etag: Option<&str>, acked: Instant) -> Fate {
        loop {
            let answer = {
                let _permit = self.polls.acquire().await;
                let start = Instant::now();
                let answer = self.target.head_object_etag(key).await;
                if let Ok((_, done)) = &answer {
                    self.record(|r| r.ok(OpKind::Stat, start.elapsed(), 0, done.ttfb));
                }
                answer
            };
            match answer {
                Ok((seen, _)) if etag.is_none() || seen.as_deref() == etag => return Fate::Arrived(acked.elapsed()),
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
            tokio::time::sleep(self.poll_interval).await;
        }
    }
}

/// A HEAD answer saying the object (or, before metadata sync, its bucket) is not there yet.
fn is_not_found(e: &RequestError) -> bool {
    matches!(e.kind, ErrorKind::Http { status: 404, .. })
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
    /// Time the warm-up object took to show on the target (not counted).
    pub warmup_s: f64,
    /// Length of the writing phase.
    pub write_s: f64,
    /// Length of the whole measured run: writing, then waiting for the last objects.
    pub elapsed_s: f64,
    /// Objects the source accepted.
    pub written: u64,
    pub put_errors: u64,
    /// Objects accepted per second of the writing phase.
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
    /// HEADs that did not show the object yet.
    pub head_misses: u64,
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
            "written: {} objects in {} ({:.1} objects/s), {} PUT errors",
            self.written,
            format_duration(Duration::from_secs_f64(self.write_s)),
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
        match &self.lag {
            Some(l) => {
                let _ = writeln!(
                    out,
                    "replication lag: p50 {} p90 {} p99 {} max {} mean {} (poll every {})",
                    format_latency_ms(l.p50_ms),
                    format_latency_ms(l.p90_ms),
                    format_latency_ms(l.p99_ms),
                    format_latency_ms(l.max_ms),
                    format_latency_ms(l.mean_ms),
                    format_latency_ms(self.poll_interval_ms)
                );
            }
            None => {
                let _ = writeln!(out, "replication lag: no object arrived");
            }
        }
        for (name, o) in [("source PUT", &self.put), ("target HEAD", &self.head)] {
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
        let _ = writeln!(out, "target HEADs before arrival: {}", self.head_misses);
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
            handle.set_message(format!(
                "{}  written {written}  arrived {arrived}  waiting {}  never {never}  PUT errors {errors}",
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
    let connections = args.poll_concurrency as usize + 8;
    let source = S3Client::new(
        source_ep.clone(),
        Signer::new(&access, &secret, &args.signing.region),
        &args.bucket,
        connections,
        args.timeout.0,
    )?;
    let target = S3Client::new(
        target_ep.clone(),
        Signer::new(&access, &secret, &args.signing.region),
        &args.bucket,
        connections,
        args.timeout.0,
    )?;
    ensure_bucket(&source, &args.signing.region).await?;

    let seed: u64 = rand::rng().next_u64();
    let prefix = format!("repl-{:08x}", seed as u32);
    let buffer_len = if plan.size <= DISTINCT_CONTENT_MAX {
        plan.size + CONTENT_VARIANTS
    } else {
        DISTINCT_CONTENT_MAX
    };
    let kinds = [OpKind::Put, OpKind::Stat];
    let live = Arc::new(Live::default());
    let ctx = Arc::new(Ctx {
        source,
        target,
        buffer: random_buffer(buffer_len, seed),
        size: plan.size,
        poll_interval: plan.poll_interval,
        arrival_timeout: plan.arrival_timeout,
        polls: Semaphore::new(args.poll_concurrency as usize),
        rec: Mutex::new(Recorder::new(&kinds, live.clone())?),
        misses: AtomicU64::new(0),
        written: AtomicU64::new(0),
        put_errors: AtomicU64::new(0),
        arrived: AtomicU64::new(0),
        never: AtomicU64::new(0),
    });

    // Warm-up: the target learns of the bucket (and the path is known to work) before anything is measured.
    let warmup = match ctx.replicate(&format!("{prefix}/warmup"), u64::MAX).await {
        Fate::Arrived(lag) => lag,
        Fate::NotWritten => {
            let rec = ctx.rec.lock().unwrap_or_else(|p| p.into_inner());
            let why = rec
                .ops
                .get(&OpKind::Put)
                .and_then(|s| s.errors.iter().next().map(|(kind, e)| format!("{kind}: {}", e.sample)));
            bail!(
                "the warm-up PUT to {} failed: {}",
                source_ep.base,
                why.unwrap_or_else(|| "unknown error".to_string())
            );
        }
        Fate::NeverArrived => bail!(
            "the warm-up object written to {} did not show on {} within {}: is replication running between \
             these zones?",
            source_ep.base,
            target_ep.base,
            format_duration(plan.arrival_timeout)
        ),
    };
    eprintln!("warm-up object replicated in {}", format_duration(warmup));
    // The warm-up is not counted.
    let mut fresh = Recorder::new(&kinds, live.clone())?;
    std::mem::swap(&mut *ctx.rec.lock().unwrap_or_else(|p| p.into_inner()), &mut fresh);
    for counter in [&ctx.misses, &ctx.written, &ctx.put_errors, &ctx.arrived, &ctx.never] {
        counter.store(0, Ordering::Relaxed);
    }

    let show = !args.no_progress && std::io::stderr().is_terminal();
    let bar = progress(show, ctx.clone());
    let lags = Arc::new(Mutex::new(new_histogram()?));
    let mut tasks = JoinSet::new();
    let start = Instant::now();
    let mut ticker = tokio::time::interval(plan.interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut i = 0u64;
    loop {
        ticker.tick().await;
        if start.elapsed() >= plan.duration || plan.max_objects.is_some_and(|max| i >= max) {
            break;
        }
        let (ctx, lags) = (ctx.clone(), lags.clone());
        let key = format!("{prefix}/obj-{i:08}");
        tasks.spawn(async move {
            if let Fate::Arrived(lag) = ctx.replicate(&key, i).await {
                record_lag(&lags, lag);
            }
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

    let rec = ctx.rec.lock().unwrap_or_else(|p| p.into_inner());
    let op = |kind: OpKind, window: Duration| {
        rec.ops
            .get(&kind)
            .map(|s| OpReport::new(kind, s, window))
            .ok_or_else(|| anyhow!("no {} statistics", kind.name()))
    };
    let written = ctx.written.load(Ordering::Relaxed);
    let lag = summarize(&lags.lock().unwrap_or_else(|p| p.into_inner()));
    Ok(ReplicationReport {
        source_endpoint: source_ep.base,
        target_endpoint: target_ep.base,
        bucket: args.bucket.clone(),
        prefix,
        object_size: plan.size,
        rate: args.rate,
        warmup_s: warmup.as_secs_f64(),
        write_s,
        elapsed_s: elapsed.as_secs_f64(),
        written,
        put_errors: ctx.put_errors.load(Ordering::Relaxed),
        achieved_rate: if write_s > 0.0 { written as f64 / write_s } else { 0.0 },
        arrived: ctx.arrived.load(Ordering::Relaxed),
        never_arrived: ctx.never.load(Ordering::Relaxed),
        arrival_timeout_s: plan.arrival_timeout.as_secs_f64(),
        poll_interval_ms: plan.poll_interval.as_secs_f64() * 1000.0,
        lag,
        put: op(OpKind::Put, Duration::from_secs_f64(write_s))?,
        head: op(OpKind::Stat, elapsed)?,
        head_misses: ctx.misses.load(Ordering::Relaxed),
    })
}

fn record_lag(lags: &Mutex<Histogram<u64>>, lag: Duration) {
    let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX).max(1);
    lags.lock().unwrap_or_else(|p| p.into_inner()).saturating_record(micros);
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
        let mut rec = Recorder::new(&[OpKind::Put, OpKind::Stat], live).unwrap();
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
            warmup_s: 1.5,
            write_s: 2.0,
            elapsed_s: 3.0,
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
            head_misses: 7,
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
        let json: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        assert_eq!(json["never_arrived"], 2);
        assert_eq!(json["put"]["ops"], 100);
        assert_eq!(json["put"]["errors"], 1);
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
