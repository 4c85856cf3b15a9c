//! The metadata store contract: one ordered byte-keyed map, read through consistent snapshots and
//! changed only in atomic, durable transactions.

use crate::error::StoreError;

pub type Kv = (Vec<u8>, Vec<u8>);

/// Reads against one consistent view of the store.
pub trait ReadOps {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Entries with `start <= key < end`, ascending, at most `limit`.
    fn scan(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError>;
    /// Entries with `start <= key < end`, descending, at most `limit`.
    fn scan_rev(&self, start: &[u8], end: &[u8], limit: usize) -> Result<Vec<Kv>, StoreError>;
}

/// A read-write transaction: nothing is visible to others until `commit`, which is durable on return.
pub trait WriteTxn: ReadOps {
    fn put(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    fn delete(&mut self, key: &[u8]) -> Result<(), StoreError>;
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

pub trait MetaStore: Send + Sync + 'static {
    /// A consistent snapshot: later commits are not seen through it (used for reads and online backup).
    fn snapshot(&self) -> Result<Box<dyn ReadOps + Send>, StoreError>;
    /// Begins the (single) write transaction; others wait until it commits or is dropped.
    fn begin(&self) -> Result<Box<dyn WriteTxn + Send>, StoreError>;
    /// Takes, or renews, the zone-wide lease `name` for `holder` until `ttl` from now; `false` while another
    /// holder has it. Work that must run once per zone (sync agents, log trimming) runs under one. A store
    /// that only one process can open (the local one) has no other holder: always `true`.
    fn try_lease(&self, _name: &str, _holder: &str, _ttl: std::time::Duration) -> Result<bool, StoreError> {
        Ok(true)
    }
    /// A number that moves with every commit of any process sharing the store (`None`: only this process
    /// writes, so its own commits are all there is to watch).
    fn commit_seq(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }
}

/// The smallest key greater than every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xFF; prefix.len() + 1]
}

#[cfg(test)]
mod tests {
    use super::prefix_end;

    #[test]
    fn prefix_end_is_the_next_prefix() {
        assert_eq!(prefix_end(b"obj/"), b"obj0".to_vec());
        assert_eq!(prefix_end(b"a\xFF"), b"b".to_vec());
    }
}
