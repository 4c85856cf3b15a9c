//! `meridian`: the multi-site S3 gateway (`meridian server`), its radosgw-admin-shaped admin verbs, and
//! `meridian bench`.

#![allow(
    clippy::print_stdout,
    reason = "the CLI writes its results (JSON documents, tables) to stdout"
)]

mod admin_services;
mod cli;
mod config;
mod conn;
mod dashboard;
mod demo;
mod dns;
mod lease;
mod server;
mod store;
mod zone;

use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(name = "meridian", version, about = "Multi-site S3-compatible object gateway")]
struct Cli {
    /// Data directory (metadata database and object bytes)
    #[arg(long, global = true, env = "MERIDIAN_DATA_DIR", default_value = "./meridian-data")]
    data_dir: PathBuf,
    /// Configuration file (default: ./meridian.toml if present)
    #[arg(long, global = true, env = "MERIDIAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: store::StoreArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Debug)]
struct ServerArgs {
    /// Listen address for S3 and the admin API
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Hostname for virtual-hosted-style requests (repeatable)
    #[arg(long = "hostname")]
    hostnames: Vec<String>,
    /// The zone to serve (RGW's rgw_zone; default: the data directory's default zone)
    #[arg(long, alias = "rgw-zone")]
    zone: Option<String>,
    /// Seconds between checks for a newer period on the metadata master
    #[arg(long)]
    period_pull_interval_secs: Option<u64>,
    /// Seconds between garbage collection passes
    #[arg(long)]
    gc_interval_secs: Option<u64>,
    /// Seconds replaced bytes stay readable before they are collected
    #[arg(long)]
    gc_delay_secs: Option<u64>,
    /// Seconds between lifecycle passes
    #[arg(long)]
    lifecycle_interval_secs: Option<u64>,
    /// Seconds a lifecycle rule's day lasts (tests; RGW's rgw_lc_debug_interval)
    #[arg(long)]
    lifecycle_debug_day_secs: Option<u64>,
    /// Log filter, e.g. info or meridian=debug
    #[arg(long)]
    log: Option<String>,
    /// Metadata page cache in MiB
    #[arg(long)]
    meta_cache_mib: Option<usize>,
    /// Milliseconds a sync agent waits before asking an idle source zone again
    #[arg(long)]
    sync_poll_interval_ms: Option<u64>,
    /// Objects fetched at once from one source zone
    #[arg(long)]
    sync_concurrency: Option<usize>,
    /// Seconds between log trimming passes
    #[arg(long)]
    log_trim_interval_secs: Option<u64>,
    /// Bucket moves: seconds the source zonegroup keeps its copy after the cut-over (then reclaimed)
    #[arg(long)]
    bucket_move_grace_secs: Option<u64>,
    /// Bucket moves: milliseconds between the master's steps and the target zones' reports
    #[arg(long)]
    bucket_move_poll_ms: Option<u64>,
    /// Bucket moves: seconds a cut-over may hold writes before it is abandoned and retried
    #[arg(long)]
    bucket_move_cutover_timeout_secs: Option<u64>,
    /// Open client connections at most (one more gets 503 and is closed)
    #[arg(long)]
    max_connections: Option<usize>,
    /// Seconds a request head may take from its first byte to its last
    #[arg(long)]
    header_read_timeout_secs: Option<u64>,
    /// Seconds an idle connection (no request in progress, no bytes moving) is kept open
    #[arg(long)]
    idle_timeout_secs: Option<u64>,
    /// Seconds a request body may deliver no bytes before the request fails (RequestTimeout)
    #[arg(long)]
    body_timeout_secs: Option<u64>,
    #[command(flatten)]
    dns: dns::DnsArgs,
    /// Seconds between scheduled backups (0: none)
    #[arg(long)]
    backup_interval_secs: Option<u64>,
    /// Directory of scheduled backups
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// How many scheduled backups to keep
    #[arg(long)]
    backup_keep: Option<usize>,
    /// Whether scheduled backups include object bytes (true/false)
    #[arg(long)]
    backup_with_data: Option<bool>,
    /// Serve the web dashboard on this address (off unless given)
    #[arg(long)]
    dashboard_listen: Option<SocketAddr>,
}

#[derive(Subcommand, Debug)]
// Parsed once at start-up: the size of the `server` flags does not matter.
#[allow(clippy::large_enum_variant)]
enum Command {
    /// Run the S3 gateway
    Server(ServerArgs),
    /// Create the data directory (with zone "default") without starting a server
    Init,
    /// A whole demo realm on this machine: zonegroups us (2 zones) and eu, a user, buckets, the dashboard
    Demo(demo::DemoArgs),
    /// Users
    #[command(subcommand)]
    User(cli::UserCmd),
    /// S3 access keys
    #[command(subcommand)]
    Key(cli::KeyCmd),
    /// Buckets
    #[command(subcommand)]
    Bucket(cli::BucketCmd),
    /// The data log
    #[command(subcommand)]
    Datalog(cli::DatalogCmd),
    /// Multi-site replication state (metadata and data sync)
    #[command(subcommand)]
    Sync(cli::sync::SyncCmd),
    /// Realms (one global namespace of users and buckets)
    #[command(subcommand)]
    Realm(cli::config::RealmCmd),
    /// Zonegroups (regions: a bucket lives in one)
    #[command(subcommand)]
    Zonegroup(cli::config::ZonegroupCmd),
    /// Zones (one storage cluster and its gateways)
    #[command(subcommand)]
    Zone(cli::config::ZoneCmd),
    /// Periods (committed versions of the realm's topology)
    #[command(subcommand)]
    Period(cli::config::PeriodCmd),
    /// Users' and buckets' metadata entries (RGW's metadata API)
    #[command(subcommand)]
    Metadata(cli::metadata::MetadataCmd),
    /// Backups of the zone: create (online or offline), verify, restore, list
    #[command(subcommand)]
    Backup(cli::backup::BackupCmd),
    /// S3 load generator (works against any S3 endpoint)
    Bench(meridian_bench::BenchArgs),
    /// The DNS global namespace
    #[command(subcommand)]
    Dns(dns::DnsCmd),
    /// The running server's background workers
    #[command(subcommand)]
    Worker(cli::worker::WorkerCmd),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    if cli.store.given() && !matches!(cli.command, Command::Server(_)) {
        let mut s = store::StoreSettings::default();
        cli.store.apply(&mut s);
        store::choose(s);
    }
    match cli.command {
        Command::Server(args) => {
            let mut cfg = config::Config::load(cli.config.as_deref())?;
            let mut chosen = cfg.store_settings();
            cli.store.apply(&mut chosen);
            if !cli.store.given() && chosen.store == store::StoreKind::Local {
                // A data directory a RADOS server already used keeps its store without repeating the flags.
                chosen = store::for_data_dir(&cli.data_dir)?;
            }
            cfg.set_store_settings(chosen.clone());
            store::choose(chosen);
            if let Some(v) = args.listen {
                cfg.listen = v;
            }
            if !args.hostnames.is_empty() {
                cfg.hostnames = args.hostnames;
            }
            if let Some(v) = args.zone {
                cfg.zone = Some(v);
            }
            if let Some(v) = args.period_pull_interval_secs {
                cfg.period_pull_interval_secs = v;
            }
            if let Some(v) = args.gc_interval_secs {
                cfg.gc_interval_secs = v;
            }
            if let Some(v) = args.gc_delay_secs {
                cfg.gc_delay_secs = v;
            }
            if let Some(v) = args.lifecycle_interval_secs {
                cfg.lifecycle_interval_secs = v;
            }
            if let Some(v) = args.lifecycle_debug_day_secs {
                cfg.lifecycle_debug_day_secs = v;
            }
            if let Some(v) = args.log {
                cfg.log = v;
            }
            if let Some(v) = args.meta_cache_mib {
                cfg.meta_cache_mib = v;
            }
            if let Some(v) = args.sync_poll_interval_ms {
                cfg.sync_poll_interval_ms = v;
            }
            if let Some(v) = args.sync_concurrency {
                cfg.sync_concurrency = v.max(1);
            }
            if let Some(v) = args.log_trim_interval_secs {
                cfg.log_trim_interval_secs = v;
            }
            if let Some(v) = args.bucket_move_grace_secs {
                cfg.bucket_move_grace_secs = v;
            }
            if let Some(v) = args.bucket_move_poll_ms {
                cfg.bucket_move_poll_ms = v;
            }
            if let Some(v) = args.bucket_move_cutover_timeout_secs {
                cfg.bucket_move_cutover_timeout_secs = v;
            }
            if let Some(v) = args.max_connections {
                cfg.max_connections = v;
            }
            if let Some(v) = args.header_read_timeout_secs {
                cfg.header_read_timeout_secs = v;
            }
            if let Some(v) = args.idle_timeout_secs {
                cfg.idle_timeout_secs = v;
            }
            if let Some(v) = args.body_timeout_secs {
                cfg.body_timeout_secs = v;
            }
            args.dns.apply(&mut cfg);
            if let Some(v) = args.backup_interval_secs {
                cfg.backup_interval_secs = v;
            }
            if let Some(v) = args.backup_dir {
                cfg.backup_dir = v;
            }
            if let Some(v) = args.backup_keep {
                cfg.backup_keep = v.max(1);
            }
            if let Some(v) = args.backup_with_data {
                cfg.backup_with_data = v;
            }
            if let Some(v) = args.dashboard_listen {
                cfg.dashboard_listen = Some(v);
            }
            init_logging(&cfg.log);
            server::run(cfg, &cli.data_dir).await
        }
        Command::Init => cli::init(&cli.data_dir).await,
        Command::Demo(args) => demo::run(args).await,
        Command::User(cmd) => cli::execute(&cli.data_dir, cli::user_request(cmd)).await,
        Command::Key(cmd) => cli::execute(&cli.data_dir, cli::key_request(cmd)).await,
        Command::Bucket(cli::BucketCmd::Sync(cmd)) => cli::sync::bucket(&cli.data_dir, cmd).await,
        Command::Bucket(cli::BucketCmd::Move(args)) => cli::bucket_move::run(&cli.data_dir, args).await,
        Command::Bucket(cmd) => cli::execute(&cli.data_dir, cli::bucket_request(cmd)).await,
        Command::Datalog(cmd) => cli::execute(&cli.data_dir, cli::datalog_request(cmd)).await,
        Command::Sync(cmd) => cli::sync::run(&cli.data_dir, cmd).await,
        Command::Realm(cmd) => cli::execute(&cli.data_dir, cli::config::realm_request(cmd)).await,
        Command::Zonegroup(cmd) => cli::execute(&cli.data_dir, cli::config::zonegroup_request(cmd)).await,
        Command::Zone(cmd) => cli::execute(&cli.data_dir, cli::config::zone_request(cmd)).await,
        Command::Period(cmd) => cli::execute(&cli.data_dir, cli::config::period_request(cmd)).await,
        Command::Metadata(cmd) => cli::execute(&cli.data_dir, cli::metadata::metadata_request(cmd)?).await,
        Command::Backup(cmd) => cli::backup::run(&cli.data_dir, cli.config.as_deref(), cmd).await,
        Command::Bench(args) => meridian_bench::run(args).await,
        Command::Dns(cmd) => dns::run(&cli.data_dir, cli.config.as_deref(), cmd).await,
        Command::Worker(cmd) => cli::worker::run(&cli.data_dir, cmd).await,
    }
}

fn init_logging(filter: &str) {
    // s3s logs every S3 error it returns at ERROR, client mistakes included; the server logs each error
    // answer itself (4xx at debug, 5xx at error), so s3s is quiet unless the filter names it.
    let filter = if filter.contains("s3s") {
        filter.to_string()
    } else {
        format!("{filter},s3s=off")
    };
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
