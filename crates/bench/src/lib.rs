//! `meridian bench`: a built-in S3 load generator in the manner of MinIO warp and `rados bench`, usable against
//! any S3 endpoint reachable over plain HTTP (Meridian, Ceph RGW, AWS's http:// endpoints).
//!
//! The binary exposes it as a subcommand: `Bench(meridian_bench::BenchArgs)` and
//! `meridian_bench::run(args).await`. A run creates the bucket if missing, prepares the objects a GET, mixed
//! or LIST run needs (not measured), then drives `--concurrency` workers until `--objects` operations are done
//! or `--duration` has passed, whichever comes first, and reports per operation type ops/s, MiB/s, latency
//! percentiles and errors by kind, next to the client's own CPU use. `meridian bench replication` measures
//! the replication lag between two zones instead.
//!
//! Modules: `units` (sizes, durations), `body` (request bodies cut from one shared buffer), `sign` (SigV4),
//! `xml` (S3 XML bodies), `error` (failure kinds), `client` (pooled signed HTTP client), `stats` (histograms),
//! `report` (text and JSON), `cpu` (getrusage), `runner` (the phases and workers), `replication` (the lag
//! benchmark).

pub mod body;
pub mod client;
pub mod cpu;
pub mod error;
pub mod replication;
pub mod report;
mod runner;
pub mod sign;
pub mod stats;
pub mod units;
pub mod xml;

pub use replication::{ReplicationArgs, ReplicationReport};
pub use report::BenchReport;
pub use units::{ByteSize, DurationArg};

/// The workload.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// PUT new objects.
    Put,
    /// GET prepared objects.
    Get,
    /// 45% GET, 30% PUT, 15% STAT (HEAD), 10% DELETE followed by a re-PUT, on prepared objects.
    Mixed,
    /// ListObjectsV2 (1000 keys a page) over a prepared set of objects, again and again.
    List,
    /// Multipart uploads of --size objects in --part-size parts.
    Multipart,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Put => "put",
            Op::Get => "get",
            Op::Mixed => "mixed",
            Op::List => "list",
            Op::Multipart => "multipart",
        }
    }
}

/// Arguments of `meridian bench`.
#[derive(clap::Args, Debug, Clone)]
#[command(
    about = "S3 load generator (like warp / rados bench)",
    args_conflicts_with_subcommands = true,
    after_help = "Stops at whichever of --objects / --duration comes first (10s when neither is given). \
                  get, mixed and list first PUT the objects they need; that prepare phase is not measured. \
                  Keys go under a fresh prefix bench-XXXXXXXX/ in the bucket each run."
)]
pub struct BenchArgs {
    /// S3 endpoint, http://HOST[:PORT] (requests are path-style: ENDPOINT/BUCKET/KEY)
    #[arg(long, default_value = "http://127.0.0.1:7480")]
    pub endpoint: String,

    #[command(flatten)]
    pub signing: SigningArgs,

    /// Bucket to use, created if missing
    #[arg(long, default_value = "meridian-bench")]
    pub bucket: String,

    /// Workload
    #[arg(long, value_enum, default_value_t = Op::Put)]
    pub op: Op,

    /// Object size: bytes, or with a unit (KiB, MiB, GiB, KB, MB, GB)
    #[arg(long, default_value = "4KiB")]
    pub size: ByteSize,

    /// Number of operations (put, get, mixed, multipart) and of objects prepared (get, mixed, list)
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub objects: Option<u64>,

    /// Requests in flight at once
    #[arg(long, short = 'c', default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,

    /// Length of the measured phase, e.g. 10s, 1m, 1m30s
    #[arg(long)]
    pub duration: Option<DurationArg>,

    /// Part size for --op multipart
    #[arg(long, default_value = "16MiB")]
    pub part_size: ByteSize,

    /// Give up on a request after this long (counted as a timeout error)
    #[arg(long, default_value = "2m")]
    pub timeout: DurationArg,

    /// Print the result as JSON on stdout (the text report goes to stderr)
    #[arg(long)]
    pub json: bool,

    /// No live progress line (it is shown only when stderr is a terminal anyway)
    #[arg(long)]
    pub no_progress: bool,

    /// Delete the objects written by the run afterwards (and the bucket, if the run created it)
    #[arg(long)]
    pub cleanup: bool,

    /// Another benchmark than the S3 workloads above
    #[command(subcommand)]
    pub mode: Option<BenchMode>,
}

/// Benchmarks other than the `--op` workloads.
#[derive(clap::Subcommand, Debug, Clone)]
pub enum BenchMode {
    /// Replication lag between two zones: steady writes to one, HEADs on the other
    Replication(Box<ReplicationArgs>),
}

/// Runs a benchmark as `meridian bench` does: prints the report (text, or JSON with `--json`) and fails when
/// the run cannot start or when every request failed.
pub async fn run(mut args: BenchArgs) -> anyhow::Result<()> {
    match args.mode.take() {
        Some(BenchMode::Replication(r)) => replication::run(*r).await,
        None => runner::run(args).await,
    }
}

/// Runs a benchmark and returns its report without printing it (only notes and progress go to stderr).
/// Fails when the run cannot start; a run whose requests all failed is returned as is.
pub async fn run_report(args: BenchArgs) -> anyhow::Result<BenchReport> {
    runner::run_report(&args).await
}

/// How the benchmark signs its requests.
#[derive(clap::Args, Debug, Clone)]
pub struct SigningArgs {
    /// Access key (default: $AWS_ACCESS_KEY_ID)
    #[arg(long)]
    pub access_key: Option<String>,

    /// Secret key (default: $AWS_SECRET_ACCESS_KEY)
    #[arg(long, visible_alias = "secret-key")]
    pub secret: Option<String>,

    /// Region used in the signature (and in the LocationConstraint when the bucket is created)
    #[arg(long, default_value = "us-east-1")]
    pub region: String,
}
