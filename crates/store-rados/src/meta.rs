//! The metadata contract (`MetaStore`: one ordered map, atomic transactions, consistent reads) over RADOS,
//! for several gateway processes at once.
//!
//! - The map is spread over `shards` omap objects `meta.shard.<i>` (a key's shard is the hash of its group,
//!   see `journal::shard_of`); each shard carries an xattr `seq`, the last transaction applied to it.
//! - Writers are serialised zone-wide by the exclusive cls_lock `writer` on `meta.head` (a lease, renewed
//!   while held, expiring after `LEASE` when its holder dies).
//! - Commit point: ONE atomic write op on `meta.head` that asserts the lock and sets `s` (the sequence
//!   number) and `j` (the journal: every mutation of the transaction). Then the mutations are applied to
//!   their shards, each shard op guarded by `seq < s` (so a late op of a holder that lost its lease can never
//!   overwrite newer data). The next lock holder replays the journal first; replay is idempotent.
//! - Reads (a seqlock): read `s` and `j`, read the shards, read `s` again; if it did not move, the shards
//!   hold every transaction before `s` and part of `s`, and overlaying `j` gives exactly state `s`.

use crate::err;
use crate::journal::{self, Mutations};
use meridian_rados::{Cmp, IoCtx, ReadOp, WriteOp};
use meridian_store::{Kv, MetaStore, ReadOps, StoreError, WriteTxn};
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const HEAD: &str = "meta.head";
const LOCK: &str = "writer";
/// How long a dead holder keeps the zone's write lock: the takeover time after a gateway is killed.
pub const LEASE: Duration = Duration::from_secs(8);
const RENEW_AFTER: Duration = Duration::from_secs(2);
/// A busy gateway keeps the lock across transactions, but yields it after this long so others get a turn.
const MAX_HOLD: Duration = Duration::from_millis(100);
/// Longer than a waiting gateway's longest retry pause (`MAX_BACKOFF` + jitter), so it gets its turn.
const YIELD: Duration = Duration::from_millis(8);
const MAX_BACKOFF: Duration = Duration::from_millis(4);
/// Give up waiting for the lock after this long (a 503 for the request, not a hang).
const LOCK_WAIT: Duration = Duration::from_secs(60);
const PAGE: usize = 1000;
const CACHE_MAX: usize = 200_000;
const READ_RETRIES: usize = 1000;

fn shard_oid(i: u32) -> String {
    format!("meta.shard.{i}")
}

fn seq_str(seq: u64) -> String {
    format!("{seq:016x}")
}

fn parse_seq(v: &[u8]) -> Result<u64, StoreError> {
    std::str::from_utf8(v)
        .ok()
        .and_then(|s| u64::from_str_radix(s, 16).ok())
        .ok_or_else(|| StoreError::Meta("corrupt sequence number in meta.head".into()))
}

/// One shard's part of a transaction: encoded keys to set, encoded keys to remove.
type ShardOps = (Vec<(Vec<u8>, Vec<u8>)>, Vec<Vec<u8>>);

/// The newest committed transaction: its number and mutations.
struct Head {
    seq: u64,
    muts: Mutations,
}

/// What the writing side of this process knows while it holds the lock.
struct WriterState {
    held: bool,
    since: Instant,
    renewed: Instant,
    /// Do not take the lock again before this (after yielding it to other gateways).
    not_before: Instant,
    seq: u64,
    /// Values read or written while the lock was held without a break: nobody else can change them.
    cache: HashMap<Vec<u8>, Option<Vec<u8>>>,
}

struct Slot {
    busy: bool,
    waiters: usize,
    state: Option<WriterState>,
}

struct Inner {
    io: Arc<IoCtx>,
    shards: u32,
    cookie: String,
    slot: Mutex<Slot>,
    freed: Condvar,
    head: Mutex<Option<Arc<Head>>>,
}

pub struct RadosMeta {
    inner: Arc<Inner>,
}

impl RadosMeta {
    /// Opens the metadata pool, creating its shards on first use (`shards` only matters then).
    pub fn open(io: Arc<IoCtx>, shards: u32) -> Result<Self, StoreError> {
        let now = Instant::now();
        let mut inner = Inner {
            io,
            shards: shards.max(1),
            cookie: uuid::Uuid::new_v4().simple().to_string(),
            slot: Mutex::new(Slot {
                busy: false,
                waiters: 0,
                state: Some(WriterState {
                    held: false,
                    since: now,
                    renewed: now,
                    not_before: now,
                    seq: 0,
                    cache: HashMap::new(),
                }),
            }),
            freed: Condvar::new(),
            head: Mutex::new(None),
        };
        match inner.head_value(b"n")? {
            Some(n) => inner.shards = parse_seq(&n)? as u32,
            None => {
                let meta = Self { inner: Arc::new(inner) };
                let txn = meta.begin_raw()?;
                meta.inner.init_layout()?;
                drop(txn);
                let n = meta
                    .inner
                    .head_value(b"n")?
                    .ok_or_else(|| StoreError::Meta("no shard count".into()))?;
                let mut inner = Arc::try_unwrap(meta.inner).map_err(|_| StoreError::Meta("store shared".into()))?;
                inner.shards = parse_seq(&n)? as u32;
                return Ok(Self { inner: Arc::new(inner) });
            }
        }
        Ok(Self { inner: Arc::new(inner) })
    }

    pub fn shards(&self) -> u32 {
        self.inner.shards
    }

    fn begin_raw(&self) -> Result<Txn, StoreError> {
        let state = self.inner.acquire()?;
        Ok(Txn {
            inner: self.inner.clone(),
            state: Some(state),
            pending: Mutations::new(),
        })
    }
}

impl Inner {
    fn head_value(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let mut op = ReadOp::new();
        let i = op.omap_get_vals_by_keys(&[key]);
        match self.io.read_op(HEAD, &mut op) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(err(e)),
        }
        Ok(op.omap_result(i).map_err(err)?.0.into_iter().next().map(|(_, v)| v))
    }

    /// Under the lock, on a pool without layout: creates the shards, then records their number.
    fn init_layout(&self) -> Result<(), StoreError> {
        if self.head_value(b"n")?.is_some() {
            return Ok(());
        }
        for i in 0..self.shards {
            let mut op = WriteOp::new();
            op.create(true).setxattr("seq", seq_str(0).as_bytes());
            match self.io.operate(&shard_oid(i), &op) {
                Err(e) if !e.is_exists() => return Err(err(e)),
                _ => {}
            }
        }
        let mut op = WriteOp::new();
        let n = seq_str(u64::from(self.shards));
        op.assert_locked(LOCK, &self.cookie)
            .omap_set(&[(b"n", n.as_bytes()), (b"s", seq_str(0).as_bytes())]);
        self.io.operate(HEAD, &op).map_err(err)
    }

    fn read_seq(&self) -> Result<u64, StoreError> {
        self.head_value(b"s")?.map_or(Ok(0), |v| parse_seq(&v))
    }

    /// The newest committed transaction (decoded once per sequence number).
    fn read_head(&self) -> Result<Arc<Head>, StoreError> {
        let mut op = ReadOp::new();
        let i = op.omap_get_vals_by_keys(&[b"s", b"j"]);
        match self.io.read_op(HEAD, &mut op) {
            Ok(()) => {}
            Err(e) if e.is_not_found() => {
                return Ok(Arc::new(Head {
                    seq: 0,
                    muts: Mutations::new(),
                }))
            }
            Err(e) => return Err(err(e)),
        }
        let (rows, _) = op.omap_result(i).map_err(err)?;
        let mut seq = 0;
        let mut journal = None;
        for (k, v) in rows {
            match k.as_slice() {
                b"s" => seq = parse_seq(&v)?,
                b"j" => journal = Some(v),
                _ => {}
            }
        }
        let mut cached = self.head.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = cached.as_ref().filter(|h| h.seq == seq) {
            return Ok(h.clone());
        }
        let muts = match journal {
            Some(j) => {
                let (jseq, muts) = journal::decode(&j)?;
                if jseq != seq {
                    return Err(StoreError::Meta(format!("journal {jseq} under sequence {seq}")));
                }
                muts
            }
            None => Mutations::new(),
        };
        let head = Arc::new(Head { seq, muts });
        *cached = Some(head.clone());
        Ok(head)
    }

    fn shard_get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        tracing::trace!(key = %String::from_utf8_lossy(key), "get");
        let enc = journal::enc_key(key);
        let mut op = ReadOp::new();
        let i = op.omap_get_vals_by_keys(&[&enc]);
        match self
            .io
            .read_op(&shard_oid(journal::shard_of(key, self.shards)), &mut op)
        {
            Ok(()) => {}
            Err(e) if e.is_not_found() => return Ok(None),
            Err(e) => return Err(err(e)),
        }
        Ok(op.omap_result(i).map_err(err)?.0.into_iter().next().map(|(_, v)| v))
    }

    /// Rows of `[start, end)` in one shard, ascending, at least `need` of them unless the range has fewer;
    /// the bool says whether rows may follow the last one returned.
    fn shard_scan(&self, shard: u32, start: &[u8], end: &[u8], need: usize) -> Result<(Vec<Kv>, bool), StoreError> {
        tracing::trace!(shard, start = %String::from_utf8_lossy(start), need, "shard scan");
        let (es, ee) = (journal::enc_key(start), journal::enc_key(end));
        let prefix: Vec<u8> = es
            .iter()
            .zip(&ee)
            .take_while(|(a, b)| a == b)
            .map(|(a, _)| *a)
            .collect();
        let oid = shard_oid(shard);
        let mut rows = Vec::new();
        let mut after = es.clone();
        let mut first = true;
        loop {
            let mut op = ReadOp::new();
            let exact = (first && !es.is_empty()).then(|| op.omap_get_vals_by_keys(&[&es]));
            let want = need.saturating_sub(rows.len()).clamp(1, PAGE) as u64;
            let page_step = op.omap_get_vals(&after, &prefix, want);
            match self.io.read_op(&oid, &mut op) {
                Ok(()) => {}
                Err(e) if e.is_not_found() => return Ok((rows, false)),
                Err(e) => return Err(err(e)),
            }
            if let Some(i) = exact {
                for (k, v) in op.omap_result(i).map_err(err)?.0 {
                    rows.push((journal::dec_key(&k)?, v));
                }
            }
            first = false;
            let (page, more) = op.omap_result(page_step).map_err(err)?;
            let mut past_end = false;
            for (k, v) in page {
                if k.as_slice() >= ee.as_slice() {
                    past_end = true;
                    break;
                }
                after.clone_from(&k);
                rows.push((journal::dec_key(&k)?, v));
            }
            if past_end || !more {
                return Ok((rows, false));
            }
            if rows.len() >= need {
                return Ok((rows, true));
            }
        }
    }

    /// Rows of `[start, end)` over the shards that can hold them, and the key up to which they are exact
    /// (`None`: the whole range).
    fn raw_scan(&self, start: &[u8], end: &[u8], need: usize) -> Result<(Vec<Kv>, Option<Vec<u8>>), StoreError> {
        if start >= end {
            return Ok((Vec::new(), None));
        }
        if let Some(shard) = journal::range_shard(start, end, self.shards) {
            let (rows, more) = self.shard_scan(shard, start, end, need)?;
            let horizon = if more {
                rows.last().map(|(k, _)| k.clone())
            } else {
                None
            };
            return Ok((rows, horizon));
        }
        tracing::trace!(start = %String::from_utf8_lossy(start), end = %String::from_utf8_lossy(end), "scan over every shard");
        let mut all = Vec::new();
        let mut horizon: Option<Vec<u8>> = None;
        for shard in 0..self.shards {
            let (rows, more) = self.shard_scan(shard, start, end, need)?;
            if more {
                if let Some((last, _)) = rows.last() {
                    if horizon.as_ref().is_none_or(|h| last < h) {
                        horizon = Some(last.clone());
                    }
                }
            }
            all.extend(rows);
        }
        all.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(h) = &horizon {
            all.retain(|(k, _)| k <= h);
        }
        Ok((all, horizon))
    }

    /// Applies transaction `seq` to its shards, in parallel. A shard that already has `seq` or newer
    /// (a replay, or a holder that lost its lease) rejects the op: that is success here.
    fn apply(&self, seq: u64, muts: &Mutations) -> Result<(), StoreError> {
        let mut by_shard: HashMap<u32, ShardOps> = HashMap::new();
        for (k, v) in muts {
            let e = by_shard.entry(journal::shard_of(k, self.shards)).or_default();
            match v {
                Some(v) => e.0.push((journal::enc_key(k), v.clone())),
                None => e.1.push(journal::enc_key(k)),
            }
        }
        let s = seq_str(seq);
        let mut pending = Vec::new();
        for (shard, (puts, dels)) in &by_shard {
            let mut op = WriteOp::new();
            op.cmpxattr("seq", Cmp::Gt, s.as_bytes()).setxattr("seq", s.as_bytes());
            let puts: Vec<(&[u8], &[u8])> = puts.iter().map(|(k, v)| (k.as_slice(), v.as_slice())).collect();
            let dels: Vec<&[u8]> = dels.iter().map(Vec::as_slice).collect();
            op.omap_set(&puts).omap_rm_keys(&dels);
            pending.push(self.io.aio_operate(&shard_oid(*shard), op).map_err(err)?);
        }
        let mut result = Ok(());
        for p in pending {
            match p.wait() {
                Ok(_) => {}
                Err(e) if e.is_canceled() => {}
                Err(e) => result = Err(err(e)),
            }
        }
        result
    }

    /// Waits for this process's turn, then makes sure it holds the zone's write lock (replaying the last
    /// journal when it takes the lock afresh).
    fn acquire(&self) -> Result<WriterState, StoreError> {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        slot.waiters += 1;
        while slot.busy {
            slot = self.freed.wait(slot).unwrap_or_else(|p| p.into_inner());
        }
        slot.waiters -= 1;
        slot.busy = true;
        let mut state = slot
            .state
            .take()
            .ok_or_else(|| StoreError::Meta("writer state missing".into()))?;
        drop(slot);
        match self.hold(&mut state) {
            Ok(()) => Ok(state),
            Err(e) => {
                self.release(state, true);
                Err(e)
            }
        }
    }

    fn hold(&self, state: &mut WriterState) -> Result<(), StoreError> {
        if state.held && state.renewed.elapsed() > RENEW_AFTER {
            match self.io.lock_exclusive(HEAD, LOCK, &self.cookie, LEASE, true) {
                Ok(()) => state.renewed = Instant::now(),
                Err(e) => {
                    tracing::warn!(error = %e, "lost the zone's metadata write lock");
                    state.held = false;
                    state.cache.clear();
                }
            }
        }
        if state.held {
            return Ok(());
        }
        let wait = state.not_before.saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait);
        }
        let started = Instant::now();
        let mut backoff = Duration::from_micros(500);
        loop {
            match self.io.lock_exclusive(HEAD, LOCK, &self.cookie, LEASE, false) {
                Ok(()) => break,
                // Ours already (an unlock that failed): renew it.
                Err(e) if e.is_exists() => {
                    self.io
                        .lock_exclusive(HEAD, LOCK, &self.cookie, LEASE, true)
                        .map_err(err)?;
                    break;
                }
                Err(e) if e.is_busy() => {
                    if started.elapsed() > LOCK_WAIT {
                        return Err(StoreError::Meta(format!(
                            "timed out after {LOCK_WAIT:?} waiting for the zone's metadata write lock"
                        )));
                    }
                    // Jitter keeps gateways from retrying in lockstep.
                    let jitter = Duration::from_micros(u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 4);
                    std::thread::sleep(backoff + jitter);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                Err(e) => return Err(err(e)),
            }
        }
        let now = Instant::now();
        state.held = true;
        state.since = now;
        state.renewed = now;
        state.cache.clear();
        // The previous holder may have died between its commit point and the last shard: finish its work.
        let head = self.read_head()?;
        if !head.muts.is_empty() {
            self.apply(head.seq, &head.muts)?;
        }
        state.seq = head.seq;
        Ok(())
    }

    /// Hands the writer state back; gives the zone lock up when nobody here waits, after a failure, or when
    /// held for `MAX_HOLD` (then waits `YIELD` before taking it again, so other gateways get their turn).
    fn release(&self, mut state: WriterState, failed: bool) {
        let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        let long = state.since.elapsed() > MAX_HOLD;
        if state.held && (failed || slot.waiters == 0 || long) {
            if let Err(e) = self.io.unlock(HEAD, LOCK, &self.cookie) {
                tracing::debug!(error = %e, "unlocking the zone's metadata write lock");
            }
            state.held = false;
            state.cache.clear();
            if long && slot.waiters > 0 {
                state.not_before = Instant::now() + YIELD;
            }
        }
        if state.cache.len() > CACHE_MAX {
            state.cache.clear();
        }
        slot.state = Some(state);
        slot.busy = false;
        drop(slot);
        self.freed.notify_one();
    }
}

impl MetaStore for RadosMeta {
    fn snapshot(&self) -> Result<Box<dyn ReadOps + Send>, StoreError> {
        Ok(Box::new(Snap {
            inner: self.inner.clone(),
            known: Mutex::new(None),
        }))
    }

    fn begin(&self) -> Result<Box<dyn WriteTxn + Send>, StoreError> {
        Ok(Box::new(self.begin_raw()?))
    }

    fn commit_seq(&self) -> Result<Option<u64>, StoreError> {
        self.inner.read_seq().map(Some)
    }

    /// A cls_lock on `lease.<name>`: expiry is judged by the OSD's clock, so gateways' clocks do not matter.
    fn try_lease(&self, name: &str, holder: &str, ttl: Duration) -> Result<bool, StoreError> {
        match self
            .inner
            .io
            .lock_exclusive(&format!("lease.{name}"), "lease", holder, ttl, true)
        {
            Ok(()) => Ok(true),
            Err(e) if e.is_busy() => Ok(false),
            Err(e) => Err(err(e)),
        }
    }
}

/// Reads outside a transaction. Every read sees one committed state; reads of one snapshot see the same
/// state unless a commit lands between them (then the later read sees the newer state: read-committed).
struct Snap {
    inner: Arc<Inner>,
    /// The head validated by the previous read: the "before" of the next one.
    known: Mutex<Option<Arc<Head>>>,
}

impl Snap {
    fn consistent<T>(&self, f: impl Fn(&Head) -> Result<T, StoreError>) -> Result<(T, Arc<Head>), StoreError> {
        // Any head that was the newest at some moment will do as the "before": if the sequence number has
        // not moved when the read is done, nothing committed in between. The process's last seen head saves
        // a round trip on the first read of a snapshot.
        let known = self.known.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let cached = || self.inner.head.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let mut head = match known.or_else(cached) {
            Some(h) => h,
            None => self.inner.read_head()?,
        };
        for attempt in 0..READ_RETRIES {
            let out = f(&head)?;
            if self.inner.read_seq()? == head.seq {
                *self.known.lock().unwrap_or_else(|p| p.into_inner()) = Some(head.clone());
                return Ok((out, head));
            }
            if attempt > 20 {
                std::thread::sleep(Duration::from_millis(1));
            }
            head = self.inner.read_head()?;
        }
        Err(StoreError::Meta(
            "no consistent read after many concurrent commits".into(),
        ))
    }
}

impl ReadOps for Snap {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let (v, head) = self.consistent(|_| self.inner.shard_get(key))?;
        Ok(match head.muts.get(key) {
            Some(m) => m.clone(),
            None => v,
        })
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let ((rows, horizon), head) = self.consistent(|h| {
            let need = limit.saturating_add(journal::deletes_in(&h.muts, start, end));
            self.inner.raw_scan(start, end, need)
        })?;
        Ok(journal::overlay(
            rows,
            horizon.as_deref(),
            &head.muts,
            start,
            end,
            limit,
        ))
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let ((rows, _), head) = self.consistent(|_| self.inner.raw_scan(start, end, usize::MAX))?;
        let mut all = journal::overlay(rows, None, &head.muts, start, end, usize::MAX);
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

struct Txn {
    inner: Arc<Inner>,
    state: Option<WriterState>,
    pending: Mutations,
}

impl Txn {
    fn state(&self) -> Result<&WriterState, StoreError> {
        self.state
            .as_ref()
            .ok_or_else(|| StoreError::Meta("transaction finished".into()))
    }

    fn all_rows(&self, start: &[u8], end: &[u8]) -> Result<Vec<Kv>, StoreError> {
        let (rows, _) = self.inner.raw_scan(start, end, usize::MAX)?;
        Ok(journal::overlay(rows, None, &self.pending, start, end, usize::MAX))
    }
}

impl ReadOps for Txn {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if let Some(v) = self.pending.get(key) {
            return Ok(v.clone());
        }
        if let Some(v) = self.state()?.cache.get(key) {
            return Ok(v.clone());
        }
        // Under the lock the shards hold every committed transaction (replayed at takeover): no seqlock.
        self.inner.shard_get(key)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let need = limit.saturating_add(journal::deletes_in(&self.pending, start, end));
        let (rows, horizon) = self.inner.raw_scan(start, end, need)?;
        Ok(journal::overlay(
            rows,
            horizon.as_deref(),
            &self.pending,
            start,
            end,
            limit,
        ))
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        let mut all = self.all_rows(start, end)?;
        all.reverse();
        all.truncate(limit);
        Ok(all)
    }
}

impl WriteTxn for Txn {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.pending.insert(key.to_vec(), Some(value.to_vec()));
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        self.pending.insert(key.to_vec(), None);
        Ok(())
    }

    fn commit(mut self: Box<Self>) -> Result<(), StoreError> {
        let mut state = self
            .state
            .take()
            .ok_or_else(|| StoreError::Meta("transaction finished".into()))?;
        if self.pending.is_empty() {
            self.inner.release(state, false);
            return Ok(());
        }
        let muts = std::mem::take(&mut self.pending);
        let outcome = (|| {
            if state.renewed.elapsed() > RENEW_AFTER {
                self.inner
                    .io
                    .lock_exclusive(HEAD, LOCK, &self.inner.cookie, LEASE, true)
                    .map_err(err)?;
                state.renewed = Instant::now();
            }
            let seq = state.seq + 1;
            let s = seq_str(seq);
            let j = journal::encode(seq, &muts);
            let mut op = WriteOp::new();
            op.assert_locked(LOCK, &self.inner.cookie)
                .omap_set(&[(b"s", s.as_bytes()), (b"j", &j)]);
            // The commit point: from here on the transaction exists (readers overlay the journal, the next
            // holder replays it).
            self.inner.io.operate(HEAD, &op).map_err(err)?;
            state.seq = seq;
            Ok(seq)
        })();
        let seq = match outcome {
            Ok(seq) => seq,
            Err(e) => {
                state.held = false;
                state.cache.clear();
                self.inner.release(state, true);
                return Err(e);
            }
        };
        let failed = match self.inner.apply(seq, &muts) {
            Ok(()) => false,
            Err(e) => {
                // Committed all the same: whoever takes the lock next (maybe this process) replays it.
                tracing::warn!(error = %e, seq, "applying a committed metadata journal failed; it will be replayed");
                true
            }
        };
        if failed {
            state.held = false;
            state.cache.clear();
        } else {
            for (k, v) in &muts {
                state.cache.insert(k.clone(), v.clone());
            }
        }
        *self.inner.head.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(Head { seq, muts }));
        self.inner.release(state, failed);
        Ok(())
    }
}

impl Drop for Txn {
    fn drop(&mut self) {
        if let Some(state) = self.state.take() {
            self.inner.release(state, false);
        }
    }
}
