//! A write transaction that keeps a batch's hot records in memory and writes each once, at the end: sequence
//! counters, bucket stats, data-log marks and bucket records. A batch of hundreds of object changes (a page
//! of replication) reads and rewrites each of them once per change otherwise.

use crate::keys;
use meridian_store::{Kv, ReadOps, StoreError, WriteTxn};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

/// Wraps the caller's transaction; `finish` writes what is held back. Reads see every write made through
/// it; a scan whose range holds changes not yet passed on passes those on first.
pub(crate) struct Coalesced<'a> {
    // `ReadOps` reads through `&self`, and a scan may first have to pass changes on.
    inner: RefCell<&'a mut dyn WriteTxn>,
    held: RefCell<Held>,
}

#[derive(Default)]
struct Held {
    /// Hot records read or written so far (`None`: absent or deleted).
    records: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    /// Hot records changed and not yet passed on.
    dirty: BTreeSet<Vec<u8>>,
}

/// Records a batch rereads or rewrites per object change.
fn is_hot(key: &[u8]) -> bool {
    [keys::SEQ, keys::STATS, keys::DATALOG, keys::DATALOG_POS, keys::BUCKET]
        .iter()
        .any(|p| key.starts_with(p.as_bytes()))
}

impl<'a> Coalesced<'a> {
    pub(crate) fn new(inner: &'a mut dyn WriteTxn) -> Self {
        Self {
            inner: RefCell::new(inner),
            held: RefCell::default(),
        }
    }

    /// Passes on every change held back; the caller's transaction then holds everything.
    pub(crate) fn finish(self) -> Result<(), StoreError> {
        self.settle(&[], None)
    }

    /// Passes on the held-back changes within `[start, end)` (`None`: to the end).
    fn settle(&self, start: &[u8], end: Option<&[u8]>) -> Result<(), StoreError> {
        let mut held = self.held.borrow_mut();
        let upper = match end {
            Some(e) if e <= start => return Ok(()),
            Some(e) => Bound::Excluded(e.to_vec()),
            None => Bound::Unbounded,
        };
        let due: Vec<Vec<u8>> = held
            .dirty
            .range((Bound::Included(start.to_vec()), upper))
            .cloned()
            .collect();
        let mut inner = self.inner.borrow_mut();
        for key in due {
            held.dirty.remove(&key);
            match held.records.get(&key) {
                Some(Some(value)) => inner.put(&key, value)?,
                Some(None) | None => inner.delete(&key)?,
            }
        }
        Ok(())
    }
}

impl ReadOps for Coalesced<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        if !is_hot(key) {
            return self.inner.borrow().get(key);
        }
        if let Some(value) = self.held.borrow().records.get(key) {
            return Ok(value.clone());
        }
        let value = self.inner.borrow().get(key)?;
        self.held.borrow_mut().records.insert(key.to_vec(), value.clone());
        Ok(value)
    }

    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        self.settle(start, Some(end))?;
        self.inner.borrow().scan(start, end, limit)
    }

    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError> {
        self.settle(start, Some(end))?;
        self.inner.borrow().scan_rev(start, end, limit)
    }
}

impl WriteTxn for Coalesced<'_> {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        if !is_hot(key) {
            return self.inner.get_mut().put(key, value);
        }
        let held = self.held.get_mut();
        held.records.insert(key.to_vec(), Some(value.to_vec()));
        held.dirty.insert(key.to_vec());
        Ok(())
    }

    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError> {
        if !is_hot(key) {
            return self.inner.get_mut().delete(key);
        }
        let held = self.held.get_mut();
        held.records.insert(key.to_vec(), None);
        held.dirty.insert(key.to_vec());
        Ok(())
    }

    /// The caller's transaction commits, after `finish`; this wrapper never does.
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Err(StoreError::Meta(
            "a coalesced batch commits through its own transaction".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_store::local::LocalMeta;
    use meridian_store::MetaStore;

    #[test]
    fn held_back_records_read_back_and_are_written_once_at_the_end() {
        let dir = tempfile::tempdir().unwrap();
        let meta = LocalMeta::open(&dir.path().join("meta.redb")).unwrap();
        let mut txn = meta.begin().unwrap();
        txn.put(b"seq/a", b"1").unwrap();
        txn.put(b"dlog/000/1", b"old").unwrap();
        txn.commit().unwrap();

        let mut txn = meta.begin().unwrap();
        {
            let mut batch = Coalesced::new(&mut *txn);
            assert_eq!(batch.get(b"seq/a").unwrap(), Some(b"1".to_vec()));
            batch.put(b"seq/a", b"2").unwrap();
            batch.put(b"seq/a", b"3").unwrap();
            assert_eq!(batch.get(b"seq/a").unwrap(), Some(b"3".to_vec()));
            // Not passed on yet: the underlying transaction still has the old value.
            assert_eq!(batch.inner.borrow().get(b"seq/a").unwrap(), Some(b"1".to_vec()));
            batch.delete(b"dlog/000/1").unwrap();
            batch.put(b"dlog/000/2", b"new").unwrap();
            batch.put(b"dlog/000/3", b"newer").unwrap();
            batch.delete(b"dlog/000/2").unwrap();
            // Scans see the held-back changes, both ways.
            let rows = batch.scan(b"dlog/", b"dlog0", 10).unwrap();
            assert_eq!(rows, vec![(b"dlog/000/3".to_vec(), b"newer".to_vec())]);
            let rev = batch.scan_rev(b"seq/", b"seq0", 1).unwrap();
            assert_eq!(rev, vec![(b"seq/a".to_vec(), b"3".to_vec())]);
            // Cold records go straight through.
            batch.put(b"obj/x", b"x").unwrap();
            assert_eq!(batch.inner.borrow().get(b"obj/x").unwrap(), Some(b"x".to_vec()));
            batch.finish().unwrap();
        }
        txn.commit().unwrap();
        let snap = meta.snapshot().unwrap();
        assert_eq!(snap.get(b"seq/a").unwrap(), Some(b"3".to_vec()));
        assert_eq!(
            snap.scan(b"dlog/", b"dlog0", 10).unwrap(),
            vec![(b"dlog/000/3".to_vec(), b"newer".to_vec())]
        );
    }
}
