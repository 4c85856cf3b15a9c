//! The embedded backend: metadata in redb (one file, ACID, MVCC snapshots so backups and listings never
//! block writers) and object bytes in plain files named by blob id (written to a temporary name, fsynced,
//! renamed), so an object key can never reach the filesystem.

use crate::data::{BlobReader, BlobWriter, DataStore};
use crate::error::StoreError;
use crate::meta::{Kv, MetaStore, ReadOps, WriteTxn};
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const KV: TableDefinition<&[u8], &[u8]> = TableDefinition::new("kv");

/// Default metadata page cache.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

pub struct LocalMeta {
    path: PathBuf,
    cache_bytes: usize,
    /// The open database; `None` after a reopen failed (the next transaction tries again).
    current: Mutex<Option<Arc<Generation>>>,
    /// One reopen at a time.
    reopening: Mutex<()>,
}

/// One opening of the database file. redb latches an I/O error (a full filesystem, say): every later
/// operation of that `Database` fails with `PreviousIo` until it is closed and opened again, and the
/// commits made without fsync since the last durable one are of unknown durability. So an I/O failure
/// marks the generation failed, every transaction still waiting on it is refused, and the next one reopens
/// the file, which rolls back to the last durable commit: what every caller was told failed is gone, and
/// writes work again once the cause (space) is gone.
struct Generation {
    db: Database,
    durability: GroupCommit,
    failed: AtomicBool,
}

impl Generation {
    fn open(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => StoreError::Locked(path.display().to_string()),
                other => StoreError::from(other),
            })?;
        let txn = db.begin_write()?;
        txn.open_table(KV)?;
        txn.commit()?;
        Ok(Self {
            db,
            durability: GroupCommit::default(),
            failed: AtomicBool::new(false),
        })
    }

    fn failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    /// Passes `result` on, marking the generation failed when it is an I/O failure (after which redb
    /// refuses everything until reopened).
    fn watch<T, E: Into<StoreError>>(&self, result: Result<T, E>) -> Result<T, StoreError> {
        result.map_err(|e| {
            let e = e.into();
            if io_failure(&e) {
                self.failed.store(true, Ordering::Release);
            }
            e
        })
    }
}

/// Whether a store error comes from the file's I/O (as opposed to, say, a value too large).
fn io_failure(e: &StoreError) -> bool {
    matches!(e, StoreError::Full(_) | StoreError::Io(_))
}

/// Group commit: each transaction commits without fsync (cheap, serialized), then waits for a flush — one
/// durable (fsynced) commit that persists every transaction committed before it. Under concurrency one
/// fsync covers many requests; a transaction's `commit` still returns only once it is durable.
#[derive(Default)]
struct GroupCommit {
    state: Mutex<FlushState>,
    flushed: Condvar,
}

#[derive(Default)]
struct FlushState {
    committed: u64,
    durable: u64,
    flushing: bool,
    failure: Option<Failure>,
}

/// Why a flush failed, kept to refuse every transaction that was waiting on it (or came after).
#[derive(Clone)]
struct Failure {
    full: bool,
    message: String,
}

impl Failure {
    fn of(e: &StoreError) -> Self {
        Self {
            full: e.is_full(),
            message: e.to_string(),
        }
    }

    fn error(&self) -> StoreError {
        let message = format!("flushing the metadata store failed: {}", self.message);
        if self.full {
            StoreError::Full(std::io::Error::new(std::io::ErrorKind::StorageFull, message))
        } else {
            StoreError::Meta(message)
        }
    }
}

impl GroupCommit {
    fn committed(&self) -> u64 {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        st.committed += 1;
        st.committed
    }

    /// Returns once transaction number `seq` is durable.
    fn wait_durable(&self, gen: &Generation, seq: u64) -> Result<(), StoreError> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.durable >= seq {
                return Ok(());
            }
            if let Some(failure) = &st.failure {
                return Err(failure.error());
            }
            if st.flushing {
                st = self.flushed.wait(st).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            st.flushing = true;
            let target = st.committed;
            drop(st);
            let result = flush(&gen.db);
            st = self.state.lock().unwrap_or_else(|p| p.into_inner());
            st.flushing = false;
            match result {
                Ok(()) => st.durable = st.durable.max(target),
                // What was committed since the last flush may or may not be on disk: refuse to acknowledge
                // it, and have the next transaction reopen the database (see `Generation`).
                Err(e) => {
                    st.failure = Some(Failure::of(&e));
                    gen.failed.store(true, Ordering::Release);
                }
            }
            self.flushed.notify_all();
        }
    }
}

fn flush(db: &Database) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)
        .map_err(|e| StoreError::Meta(e.to_string()))?;
    txn.commit()?;
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// How long a reopen waits for the failed generation's last transactions to let go of the file.
const REOPEN_WAIT: Duration = Duration::from_secs(5);

impl LocalMeta {
    /// Opens (creating if needed) the database with the default page cache.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// Opens with a page cache of at most `cache_bytes` (redb's own default, 1 GiB, would let a gateway's
    /// memory grow with the metadata it has touched).
    pub fn open_with_cache(path: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        let gen = Generation::open(path, cache_bytes)?;
        Ok(Self {
            path: path.to_path_buf(),
            cache_bytes,
            current: Mutex::new(Some(Arc::new(gen))),
            reopening: Mutex::new(()),
        })
    }

    /// The open database, reopened first if an I/O failure broke it.
    fn generation(&self) -> Result<Arc<Generation>, StoreError> {
        if let Some(gen) = lock(&self.current).as_ref().filter(|g| !g.failed()) {
            return Ok(gen.clone());
        }
        self.reopen()
    }

    fn reopen(&self) -> Result<Arc<Generation>, StoreError> {
        let _one = lock(&self.reopening);
        let old = {
            let mut slot = lock(&self.current);
            match slot.as_ref() {
                Some(gen) if !gen.failed() => return Ok(gen.clone()),
                _ => slot.take(),
            }
        };
        if let Some(old) = old {
            tracing::warn!(path = %self.path.display(), "reopening the metadata store after an I/O failure");
            // The file closes when the last transaction of the failed generation ends (each of their
            // operations fails at once now); only then can it be opened again.
            let failed = Arc::downgrade(&old);
            drop(old);
            let deadline = Instant::now() + REOPEN_WAIT;
            while failed.strong_count() > 0 {
                if Instant::now() > deadline {
                    *lock(&self.current) = failed.upgrade();
                    return Err(StoreError::Meta(
                        "the metadata store is being reopened after an I/O failure; retry".into(),
                    ));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let gen = Arc::new(Generation::open(&self.path, self.cache_bytes)?);
        *lock(&self.current) = Some(gen.clone());
        tracing::info!(path = %self.path.display(), "metadata store reopened");
        Ok(gen)
    }

    /// Copies a consistent snapshot of every key into a new database file at `dest` (online backup).
    pub fn backup_to(&self, dest: &Path) -> Result<u64, StoreError> {
        let gen = self.generation()?;
        let snap = Snapshot(gen.watch(gen.db.begin_read())?);
        copy_snapshot(&snap, dest, |_, _| {})
    }
}

/// Writes every entry `snap` sees into a new database file at `dest`, calling `each` for every entry (in
/// key order) as it goes; returns how many were copied. Pages are committed without fsync as they go (a
/// huge snapshot never sits in one transaction's memory) and the last commit is durable; `dest` is a file
/// nobody else uses until the caller is done with it.
pub fn copy_snapshot(snap: &dyn ReadOps, dest: &Path, mut each: impl FnMut(&[u8], &[u8])) -> Result<u64, StoreError> {
    const PAGE: usize = 4096;
    const PAGES_PER_COMMIT: usize = 32;
    let out = Database::create(dest)?;
    let mut count = 0;
    let mut start: Vec<u8> = Vec::new();
    // Every key starts with an ASCII prefix, so all of them sort before 0xFF.
    let end = [0xFFu8];
    let mut done = false;
    while !done {
        let mut txn = out.begin_write()?;
        txn.set_durability(Durability::None)
            .map_err(|e| StoreError::Meta(e.to_string()))?;
        {
            let mut table = txn.open_table(KV)?;
            for _ in 0..PAGES_PER_COMMIT {
                let page = snap.scan(&start, &end, PAGE)?;
                done = page.len() < PAGE;
                for (k, v) in &page {
                    each(k, v);
                    table.insert(k.as_slice(), v.as_slice())?;
                    count += 1;
                }
                if let Some((k, _)) = page.into_iter().last() {
                    start = k;
                    start.push(0);
                }
                if done {
                    break;
                }
            }
        }
        txn.commit()?;
    }
    flush(&out)?;
    Ok(count)
}

fn collect<'a>(
    iter: impl Iterator<
        Item = Result<
            (
                redb::AccessGuard<'a, &'static [u8]>,
                redb::AccessGuard<'a, &'static [u8]>,
            ),
            redb::StorageError,
        >,
    >,
    limit: usize,
) -> Result<Vec<Kv>, StoreError> {
    let mut out = Vec::new();
    for entry in iter.take(limit) {
        let (k, v) = entry?;
        out.push((k.value().to_vec(), v.value().to_vec()));
    }
    Ok(out)
}

struct Snapshot(redb::ReadTransaction);

impl ReadOps for Snapshot {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let table = self.0.open_table(KV)?;
        Ok(table.get(key)?.map(|v| v.value().to_vec()))
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let table = self.0.open_table(KV)?;
        collect(table.range(start..end)?, limit)
    }
    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let table = self.0.open_table(KV)?;
        collect(table.range(start..end)?.rev(), limit)
    }
}

struct Txn {
    // Dropped before the generation it belongs to.
    txn: redb::WriteTransaction,
    gen: Arc<Generation>,
}

impl ReadOps for Txn {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let gen = &self.gen;
        let table = gen.watch(self.txn.open_table(KV))?;
        let value = gen.watch(table.get(key))?.map(|v| v.value().to_vec());
        Ok(value)
    }
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let gen = &self.gen;
        let table = gen.watch(self.txn.open_table(KV))?;
        let out = gen.watch(collect(gen.watch(table.range(start..end))?, limit));
        out
    }
    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let gen = &self.gen;
        let table = gen.watch(self.txn.open_table(KV))?;
        let out = gen.watch(collect(gen.watch(table.range(start..end))?.rev(), limit));
        out
    }
}

impl WriteTxn for Txn {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        let gen = &self.gen;
        let mut table = gen.watch(self.txn.open_table(KV))?;
        gen.watch(table.insert(key, value))?;
        Ok(())
    }
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        let gen = &self.gen;
        let mut table = gen.watch(self.txn.open_table(KV))?;
        gen.watch(table.remove(key))?;
        Ok(())
    }
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        let Txn { txn, gen } = *self;
        gen.watch(txn.commit())?;
        let seq = gen.durability.committed();
        gen.durability.wait_durable(&gen, seq)
    }
}

impl MetaStore for LocalMeta {
    fn snapshot(&self) -> Result<Box<dyn ReadOps + Send>, StoreError> {
        let gen = self.generation()?;
        let read = gen.watch(gen.db.begin_read())?;
        Ok(Box::new(Snapshot(read)))
    }
    fn begin(&self) -> Result<Box<dyn WriteTxn + Send>, StoreError> {
        let gen = self.generation()?;
        let mut txn = gen.watch(gen.db.begin_write())?;
        txn.set_durability(Durability::None)
            .map_err(|e| StoreError::Meta(e.to_string()))?;
        Ok(Box::new(Txn { txn, gen }))
    }
}

/// Object bytes as files: `objects/<first two id chars>/<id>`, staged under `tmp/`.
pub struct LocalData {
    root: PathBuf,
}

impl LocalData {
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        let tmp = root.join("tmp");
        // Anything still in tmp/ was never acknowledged: a crash interrupted it.
        if tmp.exists() {
            fs::remove_dir_all(&tmp)?;
        }
        fs::create_dir_all(&tmp)?;
        fs::create_dir_all(root.join("objects"))?;
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    fn checked_id(id: &str) -> Result<&str, StoreError> {
        if id.len() >= 8 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            Ok(id)
        } else {
            Err(StoreError::BlobNotFound(id.to_string()))
        }
    }

    fn blob_path(&self, id: &str) -> Result<PathBuf, StoreError> {
        let id = Self::checked_id(id)?;
        Ok(self.root.join("objects").join(&id[..2]).join(id))
    }
}

struct LocalWriter {
    file: File,
    tmp: PathBuf,
    dest: PathBuf,
    written: u64,
    writeback_from: u64,
}

/// How much written data may wait in the page cache before its writeback is started.
const WRITEBACK_STEP: u64 = 8 << 20;

/// Starts (without waiting for) writeback of a file range, so the disk works while the writer keeps hashing
/// and the final fsync finds little left to do.
#[cfg(target_os = "linux")]
#[allow(unsafe_code, reason = "sync_file_range (libc)")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: a plain syscall on a file descriptor this writer owns; no memory is shared with the kernel.
    // Its result is advisory: durability still comes from the fsync in `finish`.
    unsafe {
        libc::sync_file_range(file.as_raw_fd(), offset, len, libc::SYNC_FILE_RANGE_WRITE);
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_: &File, _: u64, _: u64) {}

impl BlobWriter for LocalWriter {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.file.write_all(chunk)?;
        self.written += chunk.len() as u64;
        if self.written - self.writeback_from >= WRITEBACK_STEP {
            start_writeback(&self.file, self.writeback_from, self.written - self.writeback_from);
            self.writeback_from = self.written;
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<(), StoreError> {
        self.file.sync_data()?;
        let dir = self
            .dest
            .parent()
            .ok_or_else(|| StoreError::BlobNotFound(self.dest.display().to_string()))?;
        fs::create_dir_all(dir)?;
        fs::rename(&self.tmp, &self.dest)?;
        File::open(dir)?.sync_all()?;
        Ok(())
    }
}

impl Drop for LocalWriter {
    fn drop(&mut self) {
        // An unfinished writer leaves nothing behind; after finish the tmp name no longer exists.
        let _ = fs::remove_file(&self.tmp);
    }
}

impl DataStore for LocalData {
    fn create(&self, id: &str) -> Result<Box<dyn BlobWriter>, StoreError> {
        let dest = self.blob_path(id)?;
        let tmp = self.root.join("tmp").join(id);
        let file = File::create(&tmp)?;
        Ok(Box::new(LocalWriter {
            file,
            tmp,
            dest,
            written: 0,
            writeback_from: 0,
        }))
    }

    fn open(&self, id: &str, offset: u64, len: u64) -> Result<BlobReader, StoreError> {
        let path = self.blob_path(id)?;
        let mut file = File::open(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::BlobNotFound(id.to_string()),
            _ => StoreError::Io(e),
        })?;
        file.seek(SeekFrom::Start(offset))?;
        Ok(Box::new(file.take(len)))
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.blob_path(id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    fn list_older_than(&self, before: std::time::SystemTime) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for dir in fs::read_dir(self.root.join("objects"))? {
            for entry in fs::read_dir(dir?.path())? {
                let entry = entry?;
                if entry.metadata()?.modified()? < before {
                    ids.push(entry.file_name().to_string_lossy().into_owned());
                }
            }
        }
        Ok(ids)
    }

    fn blob_size(&self, id: &str) -> Result<u64, StoreError> {
        match fs::metadata(self.blob_path(id)?) {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::BlobNotFound(id.to_string())),
            Err(e) => Err(e.into()),
        }
    }

    fn bytes_used(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for dir in fs::read_dir(self.root.join("objects"))? {
            for entry in fs::read_dir(dir?.path())? {
                total += entry?.metadata()?.len();
            }
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_transactions_and_snapshots() {
        let dir = tempfile::tempdir().unwrap();
        let meta = LocalMeta::open(&dir.path().join("meta.redb")).unwrap();
        let mut txn = meta.begin().unwrap();
        txn.put(b"a/1", b"one").unwrap();
        txn.put(b"a/2", b"two").unwrap();
        txn.put(b"b/1", b"other").unwrap();
        txn.commit().unwrap();
        let snap = meta.snapshot().unwrap();
        let mut txn = meta.begin().unwrap();
        txn.delete(b"a/1").unwrap();
        txn.commit().unwrap();
        // The older snapshot still sees the deleted key.
        assert_eq!(snap.get(b"a/1").unwrap(), Some(b"one".to_vec()));
        assert_eq!(meta.snapshot().unwrap().get(b"a/1").unwrap(), None);
        let rows = snap.scan(b"a/", b"a0", 10).unwrap();
        assert_eq!(rows.len(), 2);
        let rev = snap.scan_rev(b"a/", b"a0", 1).unwrap();
        assert_eq!(rev[0].0, b"a/2".to_vec());
        // An uncommitted transaction leaves nothing behind.
        let mut txn = meta.begin().unwrap();
        txn.put(b"c", b"lost").unwrap();
        drop(txn);
        assert_eq!(meta.snapshot().unwrap().get(b"c").unwrap(), None);
        let copy = dir.path().join("backup.redb");
        assert_eq!(meta.backup_to(&copy).unwrap(), 2);
    }

    #[test]
    fn concurrent_commits_are_durable_after_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("meta.redb");
        let meta = Arc::new(LocalMeta::open(&path).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let meta = meta.clone();
                std::thread::spawn(move || {
                    for i in 0..25 {
                        let mut txn = meta.begin().unwrap();
                        txn.put(format!("k/{t}/{i:02}").as_bytes(), b"v").unwrap();
                        txn.commit().unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        drop(meta);
        let meta = LocalMeta::open(&path).unwrap();
        assert_eq!(meta.snapshot().unwrap().scan(b"k/", b"k0", 1000).unwrap().len(), 200);
    }

    /// A small tmpfs mounted for a test (needs root), unmounted when dropped.
    struct Tmpfs(PathBuf);

    impl Tmpfs {
        fn mount(dir: &Path, size: &str) -> Option<Self> {
            let root = std::process::Command::new("id")
                .arg("-u")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
            if !root {
                return None;
            }
            fs::create_dir_all(dir).unwrap();
            let mounted = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
                .arg(dir)
                .status()
                .is_ok_and(|s| s.success());
            mounted.then(|| Self(dir.to_path_buf()))
        }
    }

    impl Drop for Tmpfs {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
        }
    }

    /// Fills the filesystem of `path` (a file there) up to the last byte.
    fn fill(path: &Path) {
        let mut f = File::create(path).unwrap();
        let chunk = vec![7u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.write_all(&[7u8; 512]);
        let _ = f.sync_all();
    }

    /// redb latches an I/O error (every later operation is `PreviousIo` until reopened): a commit that finds
    /// the filesystem full is a typed `Full` error, and once space is freed the same store takes writes
    /// again (reopened), holding exactly what was acknowledged.
    #[test]
    fn a_full_filesystem_is_typed_and_the_store_recovers_once_space_is_freed() {
        let dir = tempfile::tempdir().unwrap();
        let mnt = dir.path().join("mnt");
        let Some(_fs) = Tmpfs::mount(&mnt, "4m") else {
            println!("skipped: mounting a tmpfs needs root");
            return;
        };
        let meta = LocalMeta::open(&mnt.join("meta.redb")).unwrap();
        let mut txn = meta.begin().unwrap();
        txn.put(b"k/before", b"kept").unwrap();
        txn.commit().unwrap();
        let filler = mnt.join("filler");
        fill(&filler);
        let value = vec![1u8; 60 << 10];
        let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
        for i in 0..40 {
            let key = format!("k/full/{i:02}");
            let attempt = meta.begin().and_then(|mut txn| {
                txn.put(key.as_bytes(), &value)?;
                txn.commit()
            });
            match attempt {
                Ok(()) => acknowledged.push(key),
                Err(e) => {
                    assert!(e.is_full(), "a full filesystem is a typed error, not {e:?}");
                    refused.push(key);
                }
            }
        }
        assert!(!refused.is_empty(), "the filesystem never filled");
        fs::remove_file(&filler).unwrap();
        let mut txn = meta.begin().expect("writes work again once space is freed");
        txn.put(b"k/after", b"new").unwrap();
        txn.commit().unwrap();
        let snap = meta.snapshot().unwrap();
        assert_eq!(snap.get(b"k/before").unwrap(), Some(b"kept".to_vec()));
        assert_eq!(snap.get(b"k/after").unwrap(), Some(b"new".to_vec()));
        for key in &acknowledged {
            assert!(
                snap.get(key.as_bytes()).unwrap().is_some(),
                "acknowledged {key} was lost"
            );
        }
        for key in &refused {
            assert!(snap.get(key.as_bytes()).unwrap().is_none(), "refused {key} was applied");
        }
        drop(snap);
        drop(meta);
        // What was acknowledged survives a reopen of the file.
        let meta = LocalMeta::open(&mnt.join("meta.redb")).unwrap();
        assert_eq!(meta.snapshot().unwrap().get(b"k/after").unwrap(), Some(b"new".to_vec()));
    }

    #[test]
    fn blobs_are_written_atomically_and_read_by_range() {
        let dir = tempfile::tempdir().unwrap();
        let data = LocalData::open(dir.path()).unwrap();
        let mut w = data.create("0123456789abcdef").unwrap();
        w.write(b"hello ").unwrap();
        w.write(b"world").unwrap();
        assert!(data.open("0123456789abcdef", 0, 11).is_err(), "invisible before finish");
        w.finish().unwrap();
        let mut s = String::new();
        data.open("0123456789abcdef", 6, 5)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "world");
        assert_eq!(data.bytes_used().unwrap(), 11);
        let abandoned = data.create("fedcba9876543210").unwrap();
        drop(abandoned);
        assert!(fs::read_dir(dir.path().join("tmp")).unwrap().next().is_none());
        assert!(data.create("../../etc").is_err(), "ids never become arbitrary paths");
        data.delete("0123456789abcdef").unwrap();
        data.delete("0123456789abcdef").unwrap();
        assert_eq!(data.bytes_used().unwrap(), 0);
    }
}
