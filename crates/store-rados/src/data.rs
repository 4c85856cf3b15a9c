//! Object bytes in RADOS: a blob `id` is striped into objects `<id>.<n>` of `STRIPE` bytes, written in
//! parallel (at most `WINDOW` in flight), and becomes visible only when its head object `<id>` (no data,
//! an xattr with the size) is created last. Reads stream stripe by stripe with one stripe read ahead.

use meridian_rados::{IoCtx, Pending, WriteOp};
use meridian_store::{BlobReader, BlobWriter, DataStore, StoreError};
use std::collections::{BTreeMap, VecDeque};
use std::io::Read;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Stripe size (RGW's default rgw_obj_stripe_size).
pub const STRIPE: usize = 4 << 20;
/// Stripe writes in flight per blob.
pub const WINDOW: usize = 4;
/// The orphan sweep leaves blobs younger than this alone: another gateway of the zone may be writing them
/// and commit their metadata later (the sweep of one gateway must never take another's upload).
pub const ORPHAN_MIN_AGE: Duration = Duration::from_secs(15 * 60);

pub struct RadosData {
    io: Arc<IoCtx>,
}

fn io_err(e: meridian_rados::Error) -> StoreError {
    StoreError::Io(std::io::Error::other(e.to_string()))
}

fn stripe_oid(id: &str, n: u64) -> String {
    format!("{id}.{n}")
}

fn checked(id: &str) -> Result<&str, StoreError> {
    if id.len() >= 8 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        Ok(id)
    } else {
        Err(StoreError::BlobNotFound(id.to_string()))
    }
}

impl RadosData {
    pub fn new(io: Arc<IoCtx>) -> Self {
        Self { io }
    }

    fn size_of(&self, id: &str) -> Result<u64, StoreError> {
        match self.io.getxattr(id, "size") {
            Ok(v) => std::str::from_utf8(&v)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| StoreError::Io(std::io::Error::other(format!("blob {id}: bad size xattr")))),
            Err(e) if e.is_not_found() => Err(StoreError::BlobNotFound(id.to_string())),
            Err(e) => Err(io_err(e)),
        }
    }

    /// Removes stripes from `first` on: `count` of them when known, else until one is missing.
    fn remove_stripes(&self, id: &str, first: u64, count: Option<u64>) -> Result<(), StoreError> {
        let mut n = first;
        loop {
            let batch: Vec<u64> = match count {
                Some(c) => (n..(n + WINDOW as u64 * 4).min(first + c)).collect(),
                None => (n..n + WINDOW as u64).collect(),
            };
            if batch.is_empty() {
                return Ok(());
            }
            let pending: Vec<_> = batch
                .iter()
                .map(|&i| self.io.aio_remove(&stripe_oid(id, i)))
                .collect::<Result<_, _>>()
                .map_err(io_err)?;
            let mut missing = false;
            for p in pending {
                match p.wait() {
                    Ok(_) => {}
                    Err(e) if e.is_not_found() => missing = true,
                    Err(e) => return Err(io_err(e)),
                }
            }
            n += batch.len() as u64;
            if count.is_none() && missing {
                return Ok(());
            }
        }
    }
}

struct Writer {
    io: Arc<IoCtx>,
    id: String,
    buf: Vec<u8>,
    next_stripe: u64,
    size: u64,
    inflight: VecDeque<Pending<Vec<u8>>>,
    finished: bool,
}

impl Writer {
    fn flush_stripe(&mut self) -> Result<(), StoreError> {
        let data = std::mem::replace(&mut self.buf, Vec::with_capacity(STRIPE));
        let p = self
            .io
            .aio_write_full(&stripe_oid(&self.id, self.next_stripe), data)
            .map_err(io_err)?;
        self.next_stripe += 1;
        self.inflight.push_back(p);
        while self.inflight.len() >= WINDOW {
            if let Some(p) = self.inflight.pop_front() {
                p.wait().map_err(io_err)?;
            }
        }
        Ok(())
    }
}

impl BlobWriter for Writer {
    fn write(&mut self, mut chunk: &[u8]) -> Result<(), StoreError> {
        self.size += chunk.len() as u64;
        while !chunk.is_empty() {
            let take = (STRIPE - self.buf.len()).min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.buf.len() == STRIPE {
                self.flush_stripe()?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<(), StoreError> {
        if !self.buf.is_empty() {
            self.flush_stripe()?;
        }
        while let Some(p) = self.inflight.pop_front() {
            p.wait().map_err(io_err)?;
        }
        // The head, created last and exclusively, is what makes the blob exist.
        let mut op = WriteOp::new();
        op.create(true).setxattr("size", self.size.to_string().as_bytes());
        self.io.operate(&self.id, &op).map_err(io_err)?;
        self.finished = true;
        Ok(())
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // An abandoned writer leaves nothing behind: wait for its stripes, then remove them.
        while let Some(p) = self.inflight.pop_front() {
            let _ = p.wait();
        }
        for n in 0..self.next_stripe {
            let _ = self.io.remove(&stripe_oid(&self.id, n));
        }
    }
}

struct Reader {
    io: Arc<IoCtx>,
    id: String,
    /// Next byte to request from RADOS, and the end of the range.
    next: u64,
    end: u64,
    current: Vec<u8>,
    pos: usize,
    ahead: VecDeque<Pending<Vec<u8>>>,
}

impl Reader {
    /// Requests the next piece (up to a stripe boundary) if any remains.
    fn request(&mut self) -> std::io::Result<()> {
        if self.next >= self.end {
            return Ok(());
        }
        let stripe = self.next / STRIPE as u64;
        let off = self.next % STRIPE as u64;
        let len = (STRIPE as u64 - off).min(self.end - self.next) as usize;
        let p = self
            .io
            .aio_read(&stripe_oid(&self.id, stripe), off, len)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        self.ahead.push_back(p);
        self.next += len as u64;
        Ok(())
    }
}

impl Read for Reader {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.current.len() {
            while self.ahead.len() < 2 && self.next < self.end {
                self.request()?;
            }
            let Some(p) = self.ahead.pop_front() else {
                return Ok(0);
            };
            let (n, mut buf) = p.wait().map_err(|e| std::io::Error::other(e.to_string()))?;
            if n < buf.len() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    format!("blob {}: stripe shorter than its size says", self.id),
                ));
            }
            buf.truncate(n);
            self.current = buf;
            self.pos = 0;
            self.request()?;
        }
        let n = (self.current.len() - self.pos).min(out.len());
        out[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl DataStore for RadosData {
    fn create(&self, id: &str) -> Result<Box<dyn BlobWriter>, StoreError> {
        let id = checked(id)?;
        Ok(Box::new(Writer {
            io: self.io.clone(),
            id: id.to_string(),
            buf: Vec::with_capacity(STRIPE),
            next_stripe: 0,
            size: 0,
            inflight: VecDeque::new(),
            finished: false,
        }))
    }

    fn open(&self, id: &str, offset: u64, len: u64) -> Result<BlobReader, StoreError> {
        let id = checked(id)?;
        let size = self.size_of(id)?;
        let start = offset.min(size);
        Ok(Box::new(Reader {
            io: self.io.clone(),
            id: id.to_string(),
            next: start,
            end: start.saturating_add(len).min(size),
            current: Vec::new(),
            pos: 0,
            ahead: VecDeque::new(),
        }))
    }

    fn delete(&self, id: &str) -> Result<(), StoreError> {
        let id = checked(id)?;
        match self.size_of(id) {
            Ok(size) => {
                // Head first: a half-deleted blob no longer exists for readers, and a retry finds the rest.
                match self.io.remove(id) {
                    Ok(()) => {}
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(io_err(e)),
                }
                self.remove_stripes(id, 0, Some(size.div_ceil(STRIPE as u64)))?;
                // A retry after a crash between head and stripes finds no head: probe past the known count.
                self.remove_stripes(id, size.div_ceil(STRIPE as u64), None)
            }
            Err(StoreError::BlobNotFound(_)) => self.remove_stripes(id, 0, None),
            Err(e) => Err(e),
        }
    }

    fn list_older_than(&self, before: SystemTime) -> Result<Vec<String>, StoreError> {
        let before = before.min(SystemTime::now() - ORPHAN_MIN_AGE);
        let cutoff = before
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        // Per id: whether its head exists, and its highest stripe (the last one written).
        let mut ids: BTreeMap<String, (bool, Option<u64>)> = BTreeMap::new();
        for name in self.io.list_objects().map_err(io_err)? {
            match name.split_once('.') {
                None => ids.entry(name).or_default().0 = true,
                Some((id, n)) => {
                    if let Ok(n) = n.parse::<u64>() {
                        let e = ids.entry(id.to_string()).or_default();
                        e.1 = e.1.max(Some(n));
                    }
                }
            }
        }
        let mut out = Vec::new();
        for (id, (head, last)) in ids {
            let probe = if head {
                id.clone()
            } else {
                match last {
                    Some(n) => stripe_oid(&id, n),
                    None => continue,
                }
            };
            match self.io.stat(&probe) {
                Ok((_, mtime)) if mtime < cutoff => out.push(id),
                Ok(_) => {}
                Err(e) if e.is_not_found() => {}
                Err(e) => return Err(io_err(e)),
            }
        }
        Ok(out)
    }

    fn blob_size(&self, id: &str) -> Result<u64, StoreError> {
        self.size_of(checked(id)?)
    }

    fn bytes_used(&self) -> Result<u64, StoreError> {
        let mut total = 0;
        for name in self.io.list_objects().map_err(io_err)? {
            if name.contains('.') {
                match self.io.stat(&name) {
                    Ok((size, _)) => total += size,
                    Err(e) if e.is_not_found() => {}
                    Err(e) => return Err(io_err(e)),
                }
            }
        }
        Ok(total)
    }
}
