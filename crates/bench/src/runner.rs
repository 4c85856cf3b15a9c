//! The phases of a run: check or create the bucket, prepare the objects the workload reads (not measured), run
//! the measured phase with `--concurrency` workers (each with its own statistics), show the live progress
//! line, clean up, and report. Also turns the command-line arguments into the run's settings.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rand::rngs::SmallRng;
use rand::{Rng, RngExt, SeedableRng};
use tokio::task::JoinSet;

use crate::body::RepeatBody;
use crate::client::{parse_endpoint, S3Client};
use crate::cpu::{CpuReport, CpuTimes};
use crate::error::{ErrorKind, RequestError};
use crate::report::{BenchReport, PrepareReport, RunConfig};
use crate::sign::Signer;
use crate::stats::{Live, OpKind, Recorder};
use crate::units::{format_bytes, format_duration};
use crate::{BenchArgs, Op};

/// When neither --objects nor --duration bounds a run.
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Objects prepared for LIST when --objects is not given.
const DEFAULT_LIST_OBJECTS: u64 = 1000;
/// GET and mixed read a working set of about this many bytes when --objects is not given...
const DEFAULT_WORKING_SET_BYTES: u64 = 256 << 20;
/// ...but never more objects than this.
const MAX_DEFAULT_WORKING_SET: u64 = 1000;
/// S3 allows at most this many parts in a multipart upload.
const MAX_PARTS: u64 = 10_000;
/// The random buffer request bodies are cut from is at most this large; larger bodies repeat it.
const MAX_BUFFER: u64 = 16 << 20;
/// Keys per ListObjectsV2 page.
const LIST_PAGE: u32 = 1000;

/// What a run does, resolved from the arguments.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Plan {
    pub op: Op,
    pub size: u64,
    pub part_size: u64,
    pub concurrency: u32,
    /// Objects prepared before the measured phase (0 for put and multipart).
    pub working_set: u64,
    pub max_ops: Option<u64>,
    pub duration: Option<Duration>,
}

impl Plan {
    pub fn from_args(args: &BenchArgs) -> anyhow::Result<Plan> {
        let size = args.size.0;
        let part_size = args.part_size.0;
        let concurrency = args.concurrency.max(1);
        let objects = args.objects;
        let mut duration = args.duration.map(|d| d.0);
        if duration == Some(Duration::ZERO) {
            bail!("--duration must be more than 0");
        }
        let (working_set, max_ops) = match args.op {
            Op::Put | Op::Multipart => (0, objects),
            Op::Get | Op::Mixed => {
                let default = (DEFAULT_WORKING_SET_BYTES / size.max(1)).clamp(
                    u64::from(concurrency),
                    MAX_DEFAULT_WORKING_SET.max(u64::from(concurrency)),
                );
                let mut ws = objects.unwrap_or(default);
                if args.op == Op::Mixed {
                    // Each mixed worker owns its own keys, so there must be one per worker at least.
                    ws = ws.max(u64::from(concurrency));
                }
                (ws, objects)
            }
            Op::List => {
                if duration.is_none() {
                    duration = Some(DEFAULT_DURATION);
                }
                (objects.unwrap_or(DEFAULT_LIST_OBJECTS), None)
            }
        };
        if max_ops.is_none() && duration.is_none() {
            duration = Some(DEFAULT_DURATION);
        }
        if args.op == Op::Multipart {
            if part_size == 0 {
                bail!("--part-size must be more than 0");
            }
            let parts = size.div_ceil(part_size).max(1);
            if parts > MAX_PARTS {
                bail!(
                    "--size {} in --part-size {} parts makes {parts} parts; S3 allows at most {MAX_PARTS}",
                    format_bytes(size),
                    format_bytes(part_size)
                );
            }
        }
        Ok(Plan {
            op: args.op,
            size,
            part_size,
            concurrency,
            working_set,
            max_ops,
            duration,
        })
    }

    /// Number of parts of one multipart upload.
    pub fn parts(&self) -> u64 {
        self.size.div_ceil(self.part_size.max(1)).max(1)
    }

    /// The size of the random buffer request bodies are cut from.
    fn buffer_size(&self) -> u64 {
        let largest_body = match self.op {
            Op::Multipart => self.part_size.min(self.size),
            _ => self.size,
        };
        largest_body.min(MAX_BUFFER)
    }
}

/// Hands out operation numbers until the cap or the deadline is reached.
struct Gate {
    next: AtomicU64,
    max_ops: Option<u64>,
    deadline: Option<Instant>,
}

impl Gate {
    fn new(max_ops: Option<u64>, duration: Option<Duration>) -> Gate {
        Gate {
            next: AtomicU64::new(0),
            max_ops,
            deadline: duration.map(|d| Instant::now() + d),
        }
    }

    fn claim(&self) -> Option<u64> {
        if let Some(deadline) = self.deadline {
            if Instant::now() >= deadline {
                return None;
            }
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        match self.max_ops {
            Some(max) if i >= max => None,
            _ => Some(i),
        }
    }
}

/// What every worker shares.
struct Ctx {
    client: S3Client,
    prefix: String,
    /// The random buffer every request body is cut from (by refcount, never copied).
    buffer: Bytes,
    size: u64,
    part_size: u64,
    parts: u64,
    working_set: u64,
    concurrency: u64,
}

impl Ctx {
    fn key(&self, i: u64) -> String {
        format!("{}/obj-{i:08}", self.prefix)
    }

    fn mpu_key(&self, i: u64) -> String {
        format!("{}/mpu-{i:08}", self.prefix)
    }

    async fn put(&self, rec: &mut Recorder, key: &str) {
        let start = Instant::now();
        let body = RepeatBody::new(self.buffer.clone(), self.size);
        match self.client.put_object(key, body).await {
            Ok(done) => rec.ok(OpKind::Put, start.elapsed(), done.bytes, done.ttfb),
            Err(e) => rec.err(OpKind::Put, &e),
        }
    }

    async fn get(&self, rec: &mut Recorder, key: &str) {
        let start = Instant::now();
        match self.client.get_object(key, Some(self.size)).await {
            Ok(done) => rec.ok(OpKind::Get, start.elapsed(), done.bytes, done.ttfb),
            Err(e) => rec.err(OpKind::Get, &e),
        }
    }

    async fn stat(&self, rec: &mut Recorder, key: &str) {
        let start = Instant::now();
        match self.client.head_object(key).await {
            Ok(done) => rec.ok(OpKind::Stat, start.elapsed(), 0, done.ttfb),
            Err(e) => rec.err(OpKind::Stat, &e),
        }
    }

    async fn delete(&self, rec: &mut Recorder, key: &str) {
        let start = Instant::now();
        match self.client.delete_object(key).await {
            Ok(done) => rec.ok(OpKind::Delete, start.elapsed(), 0, done.ttfb),
            Err(e) => rec.err(OpKind::Delete, &e),
        }
    }

    /// One multipart upload: create, parts one after the other, complete; aborted on failure.
    async fn multipart(&self, rec: &mut Recorder, key: &str) {
        let start = Instant::now();
        let upload_id = match self.client.create_multipart(key).await {
            Ok(id) => id,
            Err(e) => {
                rec.err(OpKind::Multipart, &e);
                return;
            }
        };
        let mut etags = Vec::with_capacity(self.parts as usize);
        let mut failure: Option<RequestError> = None;
        for n in 1..=self.parts {
            let offset = (n - 1) * self.part_size;
            let len = self.part_size.min(self.size.saturating_sub(offset));
            let body = RepeatBody::new(self.buffer.clone(), len);
            let part_start = Instant::now();
            let number = u32::try_from(n).unwrap_or(u32::MAX);
            match self.client.upload_part(key, &upload_id, number, body).await {
                Ok((etag, done)) => {
                    rec.ok(OpKind::Part, part_start.elapsed(), done.bytes, done.ttfb);
                    etags.push((number, etag));
                }
                Err(e) => {
                    rec.err(OpKind::Part, &e);
                    failure = Some(e);
                    break;
                }
            }
        }
        if failure.is_none() {
            match self.client.complete_multipart(key, &upload_id, &etags).await {
                Ok(_) => {
                    rec.ok(OpKind::Multipart, start.elapsed(), self.size, Duration::ZERO);
                    return;
                }
                Err(e) => failure = Some(e),
            }
        }
        if let Some(e) = failure {
            rec.err(OpKind::Multipart, &e);
            // Best effort: leave no upload behind.
            let _ = self.client.abort_multipart(key, &upload_id).await;
        }
    }
}

async fn put_worker(ctx: Arc<Ctx>, gate: Arc<Gate>, mut rec: Recorder) -> Recorder {
    while let Some(i) = gate.claim() {
        ctx.put(&mut rec, &ctx.key(i)).await;
    }
    rec
}

async fn get_worker(ctx: Arc<Ctx>, gate: Arc<Gate>, mut rec: Recorder) -> Recorder {
    while let Some(i) = gate.claim() {
        ctx.get(&mut rec, &ctx.key(i % ctx.working_set.max(1))).await;
    }
    rec
}

/// Mixed: worker `w` only touches keys `j` with `j % concurrency == w`, so its DELETE+re-PUT never races
/// with its own GETs.
async fn mixed_worker(ctx: Arc<Ctx>, gate: Arc<Gate>, mut rec: Recorder, w: u64) -> Recorder {
    let c = ctx.concurrency.max(1);
    let owned = (ctx.working_set.saturating_sub(w)).div_ceil(c).max(1);
    let mut rng = SmallRng::seed_from_u64(0x6d65_7269_6469_616e ^ w);
    while gate.claim().is_some() {
        let key = ctx.key(w + c * rng.random_range(0..owned));
        let dice: u32 = rng.random_range(0..100);
        if dice < 45 {
            ctx.get(&mut rec, &key).await;
        } else if dice < 75 {
            ctx.put(&mut rec, &key).await;
        } else if dice < 90 {
            ctx.stat(&mut rec, &key).await;
        } else {
            ctx.delete(&mut rec, &key).await;
            ctx.put(&mut rec, &key).await;
        }
    }
    rec
}

/// List: every worker lists the whole prefix again and again; each page is one LIST operation.
async fn list_worker(ctx: Arc<Ctx>, gate: Arc<Gate>, mut rec: Recorder) -> Recorder {
    let prefix = format!("{}/", ctx.prefix);
    let mut token: Option<String> = None;
    while gate.claim().is_some() {
        let start = Instant::now();
        match ctx.client.list_page(&prefix, token.as_deref(), LIST_PAGE).await {
            Ok((page, done)) => {
                rec.ok_items(
                    OpKind::List,
                    start.elapsed(),
                    done.bytes,
                    page.keys.len() as u64,
                    done.ttfb,
                );
                token = if page.is_truncated { page.next_token } else { None };
            }
            Err(e) => {
                rec.err(OpKind::List, &e);
                token = None;
            }
        }
    }
    rec
}

async fn multipart_worker(ctx: Arc<Ctx>, gate: Arc<Gate>, mut rec: Recorder) -> Recorder {
    while let Some(i) = gate.claim() {
        ctx.multipart(&mut rec, &ctx.mpu_key(i)).await;
    }
    rec
}

/// The live progress line on stderr, when it is a terminal.
struct Progress {
    bar: ProgressBar,
    task: tokio::task::JoinHandle<()>,
}

impl Progress {
    fn start(
        enabled: bool,
        label: String,
        live: Arc<Live>,
        total: Option<u64>,
        duration: Option<Duration>,
    ) -> Option<Progress> {
        if !enabled {
            return None;
        }
        let bar = match total {
            Some(n) => {
                let bar = ProgressBar::with_draw_target(Some(n), ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}")
                    .map(|s| s.progress_chars("=> "))
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
                bar.set_style(style);
                bar
            }
            None => {
                let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
                let style = ProgressStyle::with_template("{spinner} {msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner());
                bar.set_style(style);
                bar
            }
        };
        let handle = bar.clone();
        let task = tokio::spawn(async move {
            let start = Instant::now();
            let tick = Duration::from_millis(500);
            let mut interval = tokio::time::interval(tick);
            let (mut last_ops, mut last_bytes, mut last_at) = (0u64, 0u64, Instant::now());
            loop {
                interval.tick().await;
                let (ok, bytes, errors) = live.snapshot();
                let now = Instant::now();
                let dt = now.duration_since(last_at).as_secs_f64().max(1e-3);
                let ops_s = (ok - last_ops.min(ok)) as f64 / dt;
                let mib_s = (bytes - last_bytes.min(bytes)) as f64 / dt / (1024.0 * 1024.0);
                (last_ops, last_bytes, last_at) = (ok, bytes, now);
                let elapsed = format_duration(start.elapsed());
                let of = duration.map(|d| format!("/{}", format_duration(d))).unwrap_or_default();
                handle.set_message(format!(
                    "{label} {elapsed}{of}  {ok} ops  {ops_s:.0} ops/s  {mib_s:.1} MiB/s  {errors} errors"
                ));
                handle.set_position(ok + errors);
            }
        });
        Some(Progress { bar, task })
    }

    fn finish(self) {
        self.task.abort();
        self.bar.finish_and_clear();
    }
}

/// Makes sure the bucket exists. Returns whether this run created it.
pub(crate) async fn ensure_bucket(client: &S3Client, region: &str) -> anyhow::Result<bool> {
    match client.head_bucket().await {
        Ok(_) => return Ok(false),
        Err(e) if matches!(e.kind, ErrorKind::Http { status: 404, .. }) => {}
        Err(e) => {
            // A HEAD answer has no body, so no S3 error code: ask again with a GET (one-key listing) whose
            // error body says why (SignatureDoesNotMatch, InvalidAccessKeyId, AccessDenied…).
            let e = match (&e.kind, client.list_page("", None, 1).await) {
                (ErrorKind::Http { .. }, Err(detailed)) => detailed,
                (ErrorKind::Http { .. }, Ok(_)) => return Ok(false),
                _ => e,
            };
            return Err(anyhow!(e)).with_context(|| format!("cannot use bucket {:?}", client.bucket()));
        }
    }
    match client.create_bucket(region).await {
        Ok(_) => Ok(true),
        Err(e) if matches!(&e.kind, ErrorKind::Http { code: Some(c), .. } if c == "BucketAlreadyOwnedByYou") => {
            Ok(false)
        }
        Err(e) => Err(anyhow!(e)).with_context(|| format!("cannot create bucket {:?}", client.bucket())),
    }
}

/// Runs `make` as one worker per unit of concurrency and merges what they recorded.
async fn run_workers<F, Fut>(concurrency: u32, kinds: &[OpKind], live: &Arc<Live>, make: F) -> anyhow::Result<Recorder>
where
    F: Fn(u64, Recorder) -> Fut,
    Fut: std::future::Future<Output = Recorder> + Send + 'static,
{
    let mut set = JoinSet::new();
    for w in 0..u64::from(concurrency) {
        let rec = Recorder::new(kinds, live.clone())?;
        set.spawn(make(w, rec));
    }
    let mut total = Recorder::new(kinds, live.clone())?;
    while let Some(joined) = set.join_next().await {
        let rec = joined.context("a bench worker panicked")?;
        total.merge(&rec)?;
    }
    Ok(total)
}

fn summarize_errors(rec: &Recorder) -> String {
    let mut parts = Vec::new();
    for (op, stats) in &rec.ops {
        for (kind, e) in &stats.errors {
            parts.push(format!("{} {kind} x{} (first: {})", op.name(), e.count, e.sample));
        }
    }
    parts.join("; ")
}

/// `len` random bytes (request bodies are cut from them).
pub(crate) fn random_buffer(len: u64, seed: u64) -> Bytes {
    let mut buf = vec![0u8; len as usize];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut buf);
    Bytes::from(buf)
}

/// Deletes every object under the run's prefix (and the bucket if the run created it).
async fn cleanup(ctx: &Arc<Ctx>, concurrency: u32, delete_bucket: bool) {
    let prefix = format!("{}/", ctx.prefix);
    let mut keys = Vec::new();
    let mut token: Option<String> = None;
    loop {
        match ctx.client.list_page(&prefix, token.as_deref(), LIST_PAGE).await {
            Ok((page, _)) => {
                keys.extend(page.keys);
                match (page.is_truncated, page.next_token) {
                    (true, Some(next)) => token = Some(next),
                    _ => break,
                }
            }
            Err(e) => {
                eprintln!("cleanup: listing {prefix} failed: {e}");
                break;
            }
        }
    }
    if !keys.is_empty() {
        eprintln!("cleanup: deleting {} objects under {prefix}", keys.len());
    }
    let keys = Arc::new(keys);
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut set = JoinSet::new();
    for _ in 0..concurrency {
        let (ctx, keys, next, failed) = (ctx.clone(), keys.clone(), next.clone(), failed.clone());
        set.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(key) = keys.get(i) else { break };
                match ctx.client.delete_object(key).await {
                    Ok(_) => {}
                    Err(e) if matches!(e.kind, ErrorKind::Http { status: 404, .. }) => {}
                    Err(_) => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
        });
    }
    while set.join_next().await.is_some() {}
    let failed = failed.load(Ordering::Relaxed);
    eprintln!(
        "cleanup: deleted {} objects under {prefix}{}",
        keys.len() as u64 - failed,
        if failed > 0 {
            format!(" ({failed} deletes failed)")
        } else {
            String::new()
        }
    );
    if delete_bucket {
        if let Err(e) = ctx.client.delete_bucket().await {
            eprintln!(
                "cleanup: bucket {} was created by this run but could not be deleted: {e}",
                ctx.client.bucket()
            );
        }
    }
}

/// The key pair: the flags, else `$AWS_ACCESS_KEY_ID` / `$AWS_SECRET_ACCESS_KEY`.
pub(crate) fn credentials(access_key: Option<&str>, secret: Option<&str>) -> anyhow::Result<(String, String)> {
    let access = access_key
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_ACCESS_KEY_ID").ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("no access key: pass --access-key or set AWS_ACCESS_KEY_ID"))?;
    let secret = secret
        .map(str::to_string)
        .or_else(|| std::env::var("AWS_SECRET_ACCESS_KEY").ok())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| anyhow!("no secret key: pass --secret or set AWS_SECRET_ACCESS_KEY"))?;
    Ok((access, secret))
}

pub(crate) async fn run_report(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let plan = Plan::from_args(args)?;
    let (access, secret) = credentials(args.signing.access_key.as_deref(), args.signing.secret.as_deref())?;
    let endpoint = parse_endpoint(&args.endpoint)?;
    let client = S3Client::new(
        endpoint.clone(),
        Signer::new(&access, &secret, &args.signing.region),
        &args.bucket,
        plan.concurrency as usize + 4,
        args.timeout.0,
    )?;
    let show_progress = !args.no_progress && std::io::stderr().is_terminal();
    let seed: u64 = rand::rng().next_u64();
    let prefix = format!("bench-{:08x}", seed as u32);

    let created_bucket = ensure_bucket(&client, &args.signing.region).await?;
    let buffer = random_buffer(plan.buffer_size(), seed);
    let ctx = Arc::new(Ctx {
        client,
        prefix: prefix.clone(),
        buffer,
        size: plan.size,
        part_size: plan.part_size,
        parts: plan.parts(),
        working_set: plan.working_set,
        concurrency: u64::from(plan.concurrency),
    });

    // Prepare: the objects get, mixed and list work on.
    let prepare = if plan.working_set > 0 {
        let live = Arc::new(Live::default());
        let progress = Progress::start(
            show_progress,
            "prepare".to_string(),
            live.clone(),
            Some(plan.working_set),
            None,
        );
        let gate = Arc::new(Gate::new(Some(plan.working_set), None));
        let start = Instant::now();
        let result = run_workers(plan.concurrency, &[OpKind::Put], &live, |_, rec| {
            put_worker(ctx.clone(), gate.clone(), rec)
        })
        .await;
        if let Some(p) = progress {
            p.finish();
        }
        let rec = result?;
        let seconds = start.elapsed().as_secs_f64();
        if rec.total_errors() > 0 {
            let errors = summarize_errors(&rec);
            if args.cleanup {
                cleanup(&ctx, plan.concurrency, created_bucket).await;
            }
            bail!(
                "prepare failed: {} of {} PUTs failed: {errors}",
                rec.total_errors(),
                plan.working_set
            );
        }
        eprintln!(
            "prepared {} objects of {} in {}",
            plan.working_set,
            format_bytes(plan.size),
            format_duration(start.elapsed())
        );
        Some(PrepareReport {
            objects: plan.working_set,
            seconds,
        })
    } else {
        None
    };

    // The measured phase.
    let kinds: &[OpKind] = match plan.op {
        Op::Put => &[OpKind::Put],
        Op::Get => &[OpKind::Get],
        Op::Mixed => &[OpKind::Get, OpKind::Put, OpKind::Stat, OpKind::Delete],
        Op::List => &[OpKind::List],
        Op::Multipart => &[OpKind::Multipart, OpKind::Part],
    };
    let live = Arc::new(Live::default());
    let progress = Progress::start(
        show_progress,
        plan.op.name().to_uppercase(),
        live.clone(),
        plan.max_ops,
        plan.duration,
    );
    let gate = Arc::new(Gate::new(plan.max_ops, plan.duration));
    let cpu_before = CpuTimes::now();
    let start = Instant::now();
    let op = plan.op;
    let result = run_workers(plan.concurrency, kinds, &live, |w, rec| {
        let (ctx, gate) = (ctx.clone(), gate.clone());
        async move {
            match op {
                Op::Put => put_worker(ctx, gate, rec).await,
                Op::Get => get_worker(ctx, gate, rec).await,
                Op::Mixed => mixed_worker(ctx, gate, rec, w).await,
                Op::List => list_worker(ctx, gate, rec).await,
                Op::Multipart => multipart_worker(ctx, gate, rec).await,
            }
        }
    })
    .await;
    let elapsed = start.elapsed();
    let cpu = match (cpu_before, CpuTimes::now()) {
        (Some(before), Some(after)) => Some(CpuReport::new(
            after.since(&before),
            elapsed,
            std::thread::available_parallelism().map_or(1, |n| n.get()),
        )),
        _ => None,
    };
    if let Some(p) = progress {
        p.finish();
    }
    let stats = result?;

    if args.cleanup {
        cleanup(&ctx, plan.concurrency, created_bucket).await;
    }

    let config = RunConfig {
        endpoint: endpoint.base,
        bucket: args.bucket.clone(),
        prefix,
        op: plan.op.name().to_string(),
        object_size: plan.size,
        part_size: (plan.op == Op::Multipart).then_some(plan.part_size),
        concurrency: plan.concurrency,
        working_set: plan.working_set,
        max_ops: plan.max_ops,
        duration_s: plan.duration.map(|d| d.as_secs_f64()),
    };
    Ok(BenchReport::new(config, prepare, &stats, elapsed, cpu))
}

pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let report = run_report(&args).await?;
    crate::report::print(args.json, &report.to_text(), || report.to_json())?;
    let total = &report.total;
    if total.ops == 0 {
        if total.errors > 0 {
            bail!("all {} requests failed", total.errors);
        }
        bail!("no request completed");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Command, FromArgMatches};

    fn parse(argv: &[&str]) -> BenchArgs {
        let cmd = BenchArgs::augment_args(Command::new("bench").no_binary_name(true));
        let matches = cmd.try_get_matches_from(argv).unwrap();
        BenchArgs::from_arg_matches(&matches).unwrap()
    }

    #[test]
    fn flags_and_defaults() {
        let a = parse(&[]);
        assert_eq!(a.endpoint, "http://127.0.0.1:7480");
        assert_eq!(a.signing.region, "us-east-1");
        assert_eq!(a.bucket, "meridian-bench");
        assert_eq!(a.op, Op::Put);
        assert_eq!(a.size.0, 4096);
        assert_eq!(a.part_size.0, 16 << 20);
        assert_eq!(a.concurrency, 8);
        assert_eq!(a.timeout.0, Duration::from_secs(120));
        assert!(!a.json && !a.no_progress && !a.cleanup);
        assert!(a.mode.is_none());

        let a = parse(&[
            "--op",
            "multipart",
            "--size",
            "256MiB",
            "--part-size",
            "16MiB",
            "--secret-key",
            "s",
            "--access-key",
            "k",
            "--objects",
            "3",
            "--duration",
            "1m",
            "-c",
            "4",
            "--json",
            "--cleanup",
        ]);
        assert_eq!(a.op, Op::Multipart);
        assert_eq!(a.size.0, 256 << 20);
        assert_eq!(a.signing.secret.as_deref(), Some("s"));
        assert_eq!(a.signing.access_key.as_deref(), Some("k"));
        assert_eq!(a.objects, Some(3));
        assert_eq!(a.duration.map(|d| d.0), Some(Duration::from_secs(60)));
        assert_eq!(a.concurrency, 4);
        assert!(a.json && a.cleanup);
        assert_eq!(parse(&["--secret", "x"]).signing.secret.as_deref(), Some("x"));

        let cmd = BenchArgs::augment_args(Command::new("bench").no_binary_name(true));
        assert!(cmd.clone().try_get_matches_from(["--size", "4XB"]).is_err());
        assert!(cmd.clone().try_get_matches_from(["--objects", "0"]).is_err());
        assert!(cmd.clone().try_get_matches_from(["-c", "0"]).is_err());
        assert!(cmd.try_get_matches_from(["--op", "copy"]).is_err());
    }

    #[test]
    fn replication_is_a_subcommand() {
        let a = parse(&[
            "replication",
            "--source-endpoint",
            "http://127.0.0.1:1",
            "--target-endpoint",
            "http://127.0.0.1:2",
            "--rate",
            "20",
        ]);
        match a.mode {
            Some(crate::BenchMode::Replication(r)) => {
                assert_eq!(r.source_endpoint, "http://127.0.0.1:1");
                assert_eq!(r.rate, 20.0);
            }
            other => panic!("{other:?}"),
        }
        // The workload flags belong to the S3 workloads only.
        let cmd = BenchArgs::augment_args(Command::new("bench").no_binary_name(true));
        assert!(cmd
            .try_get_matches_from([
                "--op",
                "get",
                "replication",
                "--source-endpoint",
                "a",
                "--target-endpoint",
                "b"
            ])
            .is_err());
    }

    #[test]
    fn plans() {
        let p = Plan::from_args(&parse(&["--op", "put", "--objects", "100"])).unwrap();
        assert_eq!((p.max_ops, p.duration, p.working_set), (Some(100), None, 0));

        let p = Plan::from_args(&parse(&["--op", "put"])).unwrap();
        assert_eq!((p.max_ops, p.duration), (None, Some(DEFAULT_DURATION)));

        // GET without --objects: about 256 MiB of objects, at most 1000, at least one per worker.
        let p = Plan::from_args(&parse(&["--op", "get", "--size", "1MiB", "--duration", "5s"])).unwrap();
        assert_eq!((p.working_set, p.max_ops), (256, None));
        let p = Plan::from_args(&parse(&["--op", "get", "--size", "4KiB"])).unwrap();
        assert_eq!(p.working_set, 1000);
        let p = Plan::from_args(&parse(&["--op", "get", "--size", "64MiB", "-c", "8"])).unwrap();
        assert_eq!(p.working_set, 8);
        let p = Plan::from_args(&parse(&["--op", "get", "--objects", "50"])).unwrap();
        assert_eq!((p.working_set, p.max_ops, p.duration), (50, Some(50), None));

        let p = Plan::from_args(&parse(&["--op", "mixed", "--objects", "3", "-c", "8"])).unwrap();
        assert_eq!((p.working_set, p.max_ops), (8, Some(3)));

        // LIST: --objects is the size of the listed set; the phase is timed.
        let p = Plan::from_args(&parse(&["--op", "list", "--objects", "10000"])).unwrap();
        assert_eq!(
            (p.working_set, p.max_ops, p.duration),
            (10000, None, Some(DEFAULT_DURATION))
        );

        let p = Plan::from_args(&parse(&[
            "--op",
            "multipart",
            "--size",
            "256MiB",
            "--part-size",
            "16MiB",
        ]))
        .unwrap();
        assert_eq!(p.parts(), 16);
        assert_eq!(p.buffer_size(), 16 << 20);
        let p = Plan::from_args(&parse(&["--size", "64MiB"])).unwrap();
        assert_eq!(p.buffer_size(), 16 << 20);
        let p = Plan::from_args(&parse(&["--size", "4KiB"])).unwrap();
        assert_eq!(p.buffer_size(), 4096);
        let p = Plan::from_args(&parse(&[
            "--op",
            "multipart",
            "--size",
            "20MiB",
            "--part-size",
            "16MiB",
        ]))
        .unwrap();
        assert_eq!(p.parts(), 2);
        assert!(Plan::from_args(&parse(&["--op", "multipart", "--size", "1GiB", "--part-size", "1KiB"])).is_err());
        assert!(Plan::from_args(&parse(&["--duration", "0s"])).is_err());
    }

    #[test]
    fn gate_caps_operations() {
        let gate = Gate::new(Some(3), None);
        assert_eq!(
            (0..5).map(|_| gate.claim()).collect::<Vec<_>>(),
            vec![Some(0), Some(1), Some(2), None, None]
        );
        let gate = Gate::new(None, Some(Duration::from_millis(1)));
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(gate.claim(), None);
    }
}
