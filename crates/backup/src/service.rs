//! Running backups in a gateway process: one at a time, to a file (written under a temporary name,
//! fsynced, renamed) or streamed to an HTTP client; scheduled backups with retention; the metrics of the
//! last backup.

use crate::create::{self, Written};
use crate::error::{BackupError, Result};
use bytes::Bytes;
use meridian_gateway::Gateway;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// A zstd skippable frame with no payload: sent while a streamed backup is being prepared, so the client's
/// read deadline does not fire; every zstd reader skips it.
pub const KEEPALIVE_FRAME: [u8; 8] = [0x50, 0x2A, 0x4D, 0x18, 0, 0, 0, 0];
const STREAM_CHUNK: usize = 256 * 1024;

pub type BackupStream =
    std::pin::Pin<Box<dyn futures::Stream<Item = std::result::Result<Bytes, std::io::Error>> + Send + Sync>>;

/// Progress of a backup being written: (uncompressed bytes written, bytes in total).
pub type Progress = Box<dyn FnMut(u64, u64) + Send>;

pub struct BackupService {
    gw: Gateway,
    staging: PathBuf,
    busy: Arc<Semaphore>,
}

/// Scheduled backups: every `interval`, into `dir`, keeping the newest `keep`.
#[derive(Debug, Clone)]
pub struct Schedule {
    pub interval: Duration,
    pub dir: PathBuf,
    pub keep: usize,
    pub with_data: bool,
}

impl BackupService {
    /// `staging` holds the metadata copy of a running backup (anything left there by a crash is removed).
    pub fn new(gw: Gateway, staging: PathBuf) -> Arc<Self> {
        if staging.exists() {
            if let Err(e) = std::fs::remove_dir_all(&staging) {
                tracing::warn!(dir = %staging.display(), error = %e, "cannot clean the backup staging directory");
            }
        }
        Arc::new(Self {
            gw,
            staging,
            busy: Arc::new(Semaphore::new(1)),
        })
    }

    fn permit(&self) -> Result<OwnedSemaphorePermit> {
        self.busy.clone().try_acquire_owned().map_err(|_| BackupError::Busy)
    }

    /// Writes a backup to `out`: under a temporary name in the same directory, renamed once complete.
    pub async fn to_file(&self, out: &Path, with_data: bool, mut progress: Progress) -> Result<Written> {
        let permit = self.permit()?;
        let outcome = async {
            let (snap, started) = create::snapshot(&self.gw).await?;
            let (gw, staging, out) = (self.gw.clone(), self.staging.clone(), out.to_path_buf());
            let (tx, rx) = tokio::sync::oneshot::channel();
            low_priority_thread(move || {
                let _permit = permit;
                let outcome = create::prepare(&gw, snap, started, &staging, with_data, &mut || Ok(()))
                    .and_then(|prepared| write_file(prepared, &out, &mut progress));
                let _ = tx.send(outcome);
            })?;
            rx.await
                .map_err(|_| BackupError::Internal("the backup thread stopped".into()))?
        }
        .await;
        record(&outcome);
        outcome.map(|(w, _)| w)
    }

    /// Streams a backup: the body is the archive. Preparation sends keep-alive frames; a failure ends the
    /// body with an error (the client sees an incomplete archive, never a complete-looking one).
    pub async fn stream(&self, with_data: bool) -> Result<BackupStream> {
        let permit = self.permit()?;
        let (snap, started) = create::snapshot(&self.gw).await?;
        let (tx, mut rx) = mpsc::channel::<std::result::Result<Bytes, std::io::Error>>(8);
        let (gw, staging) = (self.gw.clone(), self.staging.clone());
        low_priority_thread(move || {
            let _permit = permit;
            let beat_tx = tx.clone();
            let mut heartbeat = move || -> Result<()> {
                beat_tx
                    .blocking_send(Ok(Bytes::from_static(&KEEPALIVE_FRAME)))
                    .map_err(|_| BackupError::Cancelled("the client went away".into()))
            };
            let outcome = create::prepare(&gw, snap, started, &staging, with_data, &mut heartbeat).and_then(|p| {
                let sink = ChannelWriter {
                    tx: tx.clone(),
                    buf: Vec::with_capacity(STREAM_CHUNK),
                    sent: 0,
                };
                let (mut sink, written) = p.write_to(sink, &mut |_| {})?;
                sink.flush()?;
                Ok((written, sink.sent))
            });
            if let Err(e) = &outcome {
                tracing::warn!(error = %e, "streamed backup failed");
                let _ = tx.blocking_send(Err(std::io::Error::other(e.to_string())));
            }
            record(&outcome);
        })?;
        Ok(Box::pin(futures::stream::poll_fn(move |cx| rx.poll_recv(cx))))
    }

    /// Runs scheduled backups until the worker is asked to stop.
    pub async fn run_schedule(self: Arc<Self>, mut worker: meridian_worker::Worker, schedule: Schedule) {
        worker.status(format!(
            "every {} s into {}",
            schedule.interval.as_secs(),
            schedule.dir.display()
        ));
        while worker.sleep(schedule.interval).await {
            let zone = self.gw.site().zone_name.clone();
            let name = format!("{}{}", file_prefix(&zone), stamp(SystemTime::now()));
            let path = schedule.dir.join(format!("{name}{SUFFIX}"));
            if let Err(e) = std::fs::create_dir_all(&schedule.dir) {
                tracing::warn!(dir = %schedule.dir.display(), error = %e, "cannot create the backup directory");
                metrics::counter!("meridian_backup_failures_total").increment(1);
                worker.failed(&format!("cannot create {}: {e}", schedule.dir.display()));
                continue;
            }
            match self.to_file(&path, schedule.with_data, Box::new(|_, _| {})).await {
                Ok(w) => {
                    tracing::info!(file = %path.display(), objects = w.manifest.counts.objects,
                        seconds = w.duration.as_secs_f64(), "scheduled backup written");
                    worker.pass_done();
                    worker.status(format!(
                        "every {} s; last: {} ({} objects)",
                        schedule.interval.as_secs(),
                        path.display(),
                        w.manifest.counts.objects
                    ));
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "scheduled backup failed");
                    worker.failed(&e);
                }
            }
            match prune(&schedule.dir, &zone, schedule.keep) {
                Ok(removed) => {
                    for f in removed {
                        tracing::info!(file = %f.display(), "old backup removed");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot remove old backups"),
            }
        }
    }
}

/// Runs backup work on a thread of its own at a lower CPU priority (nice 10 above the process), so requests
/// keep the CPU while a backup runs.
fn low_priority_thread(f: impl FnOnce() + Send + 'static) -> Result<()> {
    std::thread::Builder::new()
        .name("meridian-backup".into())
        .spawn(move || {
            lower_priority();
            f()
        })
        .map(|_| ())
        .map_err(BackupError::Io)
}

/// Lowers the calling thread's CPU priority by 10 (Linux keeps a nice value per thread).
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "getpriority/setpriority on the calling thread (libc)")]
pub fn lower_priority() {
    // SAFETY: plain syscalls on the calling thread's own id; no memory is shared with the kernel. Failure
    // (no permission) leaves the priority as it was, which is harmless.
    unsafe {
        let tid = libc::gettid() as libc::id_t;
        let current = libc::getpriority(libc::PRIO_PROCESS, tid);
        libc::setpriority(libc::PRIO_PROCESS, tid, (current + 10).min(19));
    }
}

#[cfg(not(target_os = "linux"))]
pub fn lower_priority() {}

/// Scheduled backups are named `meridian-<zone>-<UTC time>.tar.zst`.
pub const SUFFIX: &str = ".tar.zst";

fn file_prefix(zone: &str) -> String {
    let safe: String = zone
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("meridian-{safe}-")
}

/// `20261201T231500.123Z`: sorts as time does.
fn stamp(t: SystemTime) -> String {
    let nanos = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let rfc = meridian_model::Timestamp(nanos).to_rfc3339();
    rfc.replace(['-', ':'], "")
}

/// A partial file this old is stale even when a process with its PID runs (PIDs are reused).
const STALE_PARTIAL: Duration = Duration::from_secs(24 * 3600);

/// Removes the oldest scheduled backups of `zone` in `dir` beyond the newest `keep`, and the partial files
/// that killed backups of `zone` left behind (see [`remove_stale_partials`]).
pub fn prune(dir: &Path, zone: &str, keep: usize) -> Result<Vec<PathBuf>> {
    let mut removed = prune_complete(dir, zone, keep)?;
    removed.extend(remove_stale_partials(dir, zone, SystemTime::now())?);
    Ok(removed)
}

/// Removes `zone`'s partial backup files (`.<name>.partial-<PID>`) in `dir` whose writer is gone: no
/// process has the PID, or the file is older than a day. A running backup's file is left alone.
pub fn remove_stale_partials(dir: &Path, zone: &str, now: SystemTime) -> Result<Vec<PathBuf>> {
    let prefix = file_prefix(zone);
    let mut removed = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = partial_pid(&name, &prefix) else {
            continue;
        };
        let age = entry
            .metadata()?
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        if process_alive(pid) && age < STALE_PARTIAL {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => removed.push(entry.path()),
            // Its writer finished or removed it meanwhile.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(removed)
}

/// The writer's PID in `.<prefix>…<SUFFIX>.partial-<PID>` (see [`partial_name`]).
fn partial_pid(name: &str, prefix: &str) -> Option<u32> {
    let (base, pid) = name.strip_prefix('.')?.strip_prefix(prefix)?.rsplit_once(".partial-")?;
    if !base.ends_with(SUFFIX) {
        return None;
    }
    pid.parse().ok()
}

/// Whether a process with this PID exists (signal 0 checks without sending anything).
#[cfg(unix)]
#[allow(unsafe_code, reason = "kill(pid, 0) probes a process (libc)")]
fn process_alive(pid: u32) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill with signal 0 sends nothing; it only reports whether the process exists.
    let found = unsafe { libc::kill(pid, 0) } == 0;
    // EPERM: it exists but belongs to another user.
    found || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Without a way to ask, only the age tells a partial file is stale.
#[cfg(not(unix))]
fn process_alive(_pid: u32) -> bool {
    true
}

/// Removes the oldest complete scheduled backups of `zone` in `dir` beyond the newest `keep`.
fn prune_complete(dir: &Path, zone: &str, keep: usize) -> Result<Vec<PathBuf>> {
    let prefix = file_prefix(zone);
    let mut names: Vec<String> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix) && n.ends_with(SUFFIX))
        .collect();
    names.sort();
    let excess = names.len().saturating_sub(keep.max(1));
    let mut removed = Vec::new();
    for n in names.into_iter().take(excess) {
        let path = dir.join(n);
        std::fs::remove_file(&path)?;
        removed.push(path);
    }
    Ok(removed)
}

/// The temporary name a backup is written under until it is complete.
pub fn partial_name(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}

/// Renames `tmp` to `out` after making it durable, and makes the rename durable.
pub fn commit_file(file: std::fs::File, tmp: &Path, out: &Path) -> Result<()> {
    file.sync_all()?;
    drop(file);
    std::fs::rename(tmp, out)?;
    if let Some(dir) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Writes a prepared backup to `out` (blocking): temporary name, fsync, rename. Returns it and its size.
pub fn write_file(prepared: create::Prepared, out: &Path, progress: &mut Progress) -> Result<(Written, u64)> {
    let tmp = partial_name(out);
    let total = prepared.manifest.bytes.members;
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let sink = std::io::BufWriter::with_capacity(1 << 20, file);
        let (sink, written) = prepared.write_to(sink, &mut |done| progress(done, total))?;
        let file = sink.into_inner().map_err(|e| e.into_error())?;
        let size = file.metadata()?.len();
        commit_file(file, &tmp, out)?;
        Ok((written, size))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Publishes the outcome of a backup.
fn record(outcome: &Result<(Written, u64)>) {
    match outcome {
        Ok((w, size)) => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            metrics::gauge!("meridian_backup_last_success_timestamp_seconds").set(now);
            metrics::gauge!("meridian_backup_last_size_bytes").set(*size as f64);
            metrics::gauge!("meridian_backup_last_duration_seconds").set(w.duration.as_secs_f64());
            metrics::gauge!("meridian_backup_last_snapshot_wait_seconds").set(w.manifest.snapshot_wait_us as f64 / 1e6);
            metrics::gauge!("meridian_backup_last_objects").set(w.manifest.counts.objects as f64);
        }
        Err(_) => metrics::counter!("meridian_backup_failures_total").increment(1),
    }
}

/// Hands the archive to an HTTP body in chunks.
struct ChannelWriter {
    tx: mpsc::Sender<std::result::Result<Bytes, std::io::Error>>,
    buf: Vec<u8>,
    sent: u64,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(STREAM_CHUNK)));
        self.sent += chunk.len() as u64;
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= STREAM_CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prune_keeps_the_newest_of_one_zone() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "meridian-a-20261201T000001Z.tar.zst",
            "meridian-a-20261201T000003Z.tar.zst",
            "meridian-a-20261201T000002Z.tar.zst",
            "meridian-b-20261201T000000Z.tar.zst",
            ".meridian-a-20261201T000004Z.tar.zst.partial-1",
        ];
        for n in names {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let removed = prune(dir.path(), "a", 2).unwrap();
        assert_eq!(removed, vec![dir.path().join(names[0])]);
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(left.len(), 4, "{left:?}");
        assert!(stamp(SystemTime::now()) > stamp(UNIX_EPOCH));
    }

    #[test]
    fn prune_removes_partial_files_of_dead_or_day_old_backups() {
        let dir = tempfile::tempdir().unwrap();
        // PIDs never exceed 2^22 on Linux: no process has this one.
        let dead = i32::MAX as u32;
        let me = std::process::id();
        let partial = |zone: &str, pid: u32| format!(".meridian-{zone}-20261201T000004Z.tar.zst.partial-{pid}");
        let dead_writer = partial("a", dead);
        let running = partial("a", me);
        let day_old = ".meridian-a-20261130T000000Z.tar.zst.partial-".to_string() + &me.to_string();
        let other_zone = partial("b", dead);
        let not_a_backup = format!(".notes.txt.partial-{dead}");
        let complete = "meridian-a-20261201T000001Z.tar.zst".to_string();
        for n in [&dead_writer, &running, &day_old, &other_zone, &not_a_backup, &complete] {
            std::fs::write(dir.path().join(n), b"x").unwrap();
        }
        let two_days_ago = SystemTime::now() - Duration::from_secs(2 * 24 * 3600);
        std::fs::File::options()
            .write(true)
            .open(dir.path().join(&day_old))
            .unwrap()
            .set_modified(two_days_ago)
            .unwrap();
        let mut removed = prune(dir.path(), "a", 2).unwrap();
        removed.sort();
        let mut expected = vec![dir.path().join(&dead_writer), dir.path().join(&day_old)];
        expected.sort();
        assert_eq!(removed, expected);
        for kept in [&running, &other_zone, &not_a_backup, &complete] {
            assert!(dir.path().join(kept).exists(), "{kept} was removed");
        }
        assert_eq!(partial_pid(&running, "meridian-a-"), Some(me));
        assert_eq!(partial_pid(&complete, "meridian-a-"), None);
        assert_eq!(partial_pid(&not_a_backup, "meridian-a-"), None);
        assert!(process_alive(me) && !process_alive(dead) && !process_alive(0));
    }
}
