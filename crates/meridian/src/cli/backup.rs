//! `meridian backup create|verify|restore|list`: backups of a zone. `create` runs on the data directory
//! when no server holds it, and otherwise asks the running server, which streams the archive back; either
//! way the file appears under its name only once complete (and, streamed, once every member checked out).

use crate::zone;
use anyhow::Context;
use clap::Subcommand;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use meridian_admin::AdminRequest;
use meridian_backup::archive::{self, Targets};
use meridian_backup::restore::RestoreOptions;
use meridian_backup::service::{commit_file, partial_name};
use meridian_backup::BackupService;
use meridian_gateway::GatewayOptions;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Subcommand, Debug)]
pub enum BackupCmd {
    /// Back up the zone: one consistent snapshot, written as a zstd-compressed archive
    Create {
        /// The backup file to write (must not exist)
        #[arg(long)]
        out: PathBuf,
        /// Include the object bytes kept outside the metadata store (objects over 64 KiB)
        #[arg(long)]
        with_data: bool,
    },
    /// Check a backup: every member's checksum, the metadata, every object's bytes
    Verify { file: PathBuf },
    /// Restore a backup into --data-dir (which must be empty or not exist)
    Restore {
        file: PathBuf,
        /// Restore a backup made without --with-data even though objects' bytes are not in it
        #[arg(long)]
        allow_missing_data: bool,
    },
    /// List the backups in a directory (default: the configured backup_dir)
    List {
        #[arg(long)]
        dir: Option<PathBuf>,
    },
}

pub async fn run(data_dir: &Path, config: Option<&Path>, cmd: BackupCmd) -> anyhow::Result<()> {
    match cmd {
        BackupCmd::Create { out, with_data } => create(data_dir, &out, with_data).await,
        BackupCmd::Verify { file } => {
            let mut bar = Status::new("verify");
            let path = file.clone();
            let report = tokio::task::spawn_blocking(move || {
                let r = meridian_backup::verify::verify_file(&path, &mut |d, t| bar.update(d, t));
                bar.finish();
                r
            })
            .await?
            .with_context(|| format!("{} failed verification", file.display()))?;
            let m = &report.manifest;
            print_json(&serde_json::json!({
                "file": file,
                "ok": true,
                "zone": m.zone.name,
                "snapshot_time": m.snapshot_time,
                "with_data": m.with_data,
                "members": m.members.len(),
                "counts": m.counts,
                "bytes": m.bytes,
                "objects_without_bytes": report.objects_without_bytes,
            }))
        }
        BackupCmd::Restore {
            file,
            allow_missing_data,
        } => {
            let mut bar = Status::new("restore");
            let (path, dir) = (file.clone(), data_dir.to_path_buf());
            let started = Instant::now();
            let report = tokio::task::spawn_blocking(move || {
                let r = meridian_backup::restore::restore(
                    &path,
                    &dir,
                    &RestoreOptions { allow_missing_data },
                    &mut |d, t| bar.update(d, t),
                );
                bar.finish();
                r
            })
            .await?
            .with_context(|| format!("cannot restore {} into {}", file.display(), data_dir.display()))?;
            let m = &report.manifest;
            print_json(&serde_json::json!({
                "restored": data_dir,
                "zone": m.zone.name,
                "snapshot_time": m.snapshot_time,
                "counts": m.counts,
                "bytes": m.bytes,
                "seconds": started.elapsed().as_secs_f64(),
            }))
        }
        BackupCmd::List { dir } => {
            let dir = match dir {
                Some(d) => d,
                None => crate::config::Config::load(config)?.backup_dir,
            };
            let listed = meridian_backup::list::list(&dir)
                .with_context(|| format!("cannot list backups in {}", dir.display()))?;
            print_json(&serde_json::to_value(listed)?)
        }
    }
}

fn print_json(v: &serde_json::Value) -> anyhow::Result<()> {
    let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

async fn create(data_dir: &Path, out: &Path, with_data: bool) -> anyhow::Result<()> {
    if out.exists() {
        anyhow::bail!("{} already exists; choose a new file name", out.display());
    }
    if crate::store::for_data_dir(data_dir)?.store == crate::store::StoreKind::Rados {
        anyhow::bail!(
            "backups of a RADOS zone are not built: a copy made while gateways write would not be one point in \
             time (see docs/store-contract.md); use Ceph's own tools for the pools"
        );
    }
    if !data_dir.join("meta.redb").exists() {
        anyhow::bail!("{} is not a Meridian data directory (no meta.redb)", data_dir.display());
    }
    let started = Instant::now();
    let summary = match zone::open(
        data_dir,
        None,
        GatewayOptions::default(),
        meridian_store::local::DEFAULT_CACHE_BYTES,
    )
    .await
    {
        Ok(opened) => {
            let service = BackupService::new(opened.gateway, data_dir.join("backup-staging"));
            let mut bar = Status::new("backup");
            let written = service
                .to_file(out, with_data, Box::new(move |d, t| bar.update(d, t)))
                .await
                .context("backup failed")?;
            written.manifest
        }
        Err(e) if zone::is_locked(&e) => online(data_dir, out, with_data).await?,
        Err(e) => return Err(e),
    };
    let size = std::fs::metadata(out)?.len();
    print_json(&serde_json::json!({
        "file": out,
        "size": size,
        "zone": summary.zone.name,
        "snapshot_time": summary.snapshot_time,
        "snapshot_wait_us": summary.snapshot_wait_us,
        "with_data": summary.with_data,
        "counts": summary.counts,
        "bytes": summary.bytes,
        "seconds": started.elapsed().as_secs_f64(),
    }))
}

/// Asks the running server for the archive and writes it under a temporary name while checking every
/// member as it arrives; renamed only when complete and intact.
async fn online(data_dir: &Path, out: &Path, with_data: bool) -> anyhow::Result<meridian_backup::Manifest> {
    // A streamed answer is bounded per read, not by the client's whole-request timeout.
    let client = super::server_client(data_dir)?;
    let req = AdminRequest::new(http::Method::GET, "backup").flag("with-data", with_data);
    let reply = client
        .send_streaming(&req)
        .await
        .context("the server refused the backup")?;
    let mut body = reply.body;
    let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<bytes::Bytes>>(16);
    let out_path = out.to_path_buf();
    let writer = tokio::task::spawn_blocking(move || -> anyhow::Result<meridian_backup::Manifest> {
        // Checking the stream must not take CPU from the server it comes from.
        meridian_backup::service::lower_priority();
        let tmp = partial_name(&out_path);
        let file = std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let mut bar = Status::new("backup");
        let mut tee = Tee {
            rx,
            current: bytes::Bytes::new(),
            file: std::io::BufWriter::with_capacity(1 << 20, file),
        };
        let result = archive::read_archive(&mut tee, &Targets::default(), &mut |d, t| bar.update(d, t))
            .map_err(anyhow::Error::from)
            .and_then(|outcome| {
                let file = tee.file.into_inner().map_err(|e| e.into_error())?;
                commit_file(file, &tmp, &out_path)?;
                Ok(outcome.manifest)
            });
        bar.finish();
        if result.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        result
    });
    while let Some(chunk) = body.next().await {
        let failed = chunk.is_err();
        if tx.send(chunk).await.is_err() || failed {
            break;
        }
    }
    drop(tx);
    writer
        .await?
        .context("the backup from the server is incomplete or damaged; nothing was written")
}

/// Reads the streamed archive and writes every byte it reads to the file.
struct Tee {
    rx: tokio::sync::mpsc::Receiver<std::io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
    file: std::io::BufWriter<std::fs::File>,
}

impl Read for Tee {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Err(e)) => return Err(std::io::Error::other(format!("the stream broke off: {e}"))),
                Some(Ok(chunk)) => {
                    self.file.write_all(&chunk)?;
                    self.current = chunk;
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        bytes::Buf::advance(&mut self.current, n);
        Ok(n)
    }
}

/// Progress: a bar (bytes, rate, ETA) on a terminal, a status line every few seconds otherwise.
struct Status {
    label: &'static str,
    bar: Option<ProgressBar>,
    started: Instant,
    last: Instant,
    done: u64,
    total: u64,
}

impl Status {
    fn new(label: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_prefix(label);
            bar
        });
        Self {
            label,
            bar,
            started: Instant::now(),
            last: Instant::now(),
            done: 0,
            total: 0,
        }
    }

    fn update(&mut self, done: u64, total: u64) {
        (self.done, self.total) = (done, total);
        match &self.bar {
            Some(bar) => {
                bar.set_length(total);
                bar.set_position(done);
            }
            None if self.last.elapsed() >= Duration::from_secs(5) => {
                self.last = Instant::now();
                self.line();
            }
            None => {}
        }
    }

    fn line(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let rate = self.done as f64 / secs;
        let eta = if rate > 0.0 && self.total > self.done {
            format!(", ETA {:.0}s", (self.total - self.done) as f64 / rate)
        } else {
            String::new()
        };
        eprintln!(
            "{}: {:.1} of {:.1} MiB ({:.0}%), {:.1} MiB/s{eta}",
            self.label,
            self.done as f64 / 1048576.0,
            self.total as f64 / 1048576.0,
            if self.total > 0 {
                self.done as f64 * 100.0 / self.total as f64
            } else {
                0.0
            },
            rate / 1048576.0,
        );
    }

    fn finish(&self) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None if self.done > 0 => self.line(),
            None => {}
        }
    }
}
