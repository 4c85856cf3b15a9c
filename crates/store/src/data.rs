//! The data store contract: immutable blobs of object bytes, written once (durably) and read by range.
//! The API is blocking; callers run it on blocking threads.

use crate::error::StoreError;
use std::io::Read;

/// Receives a blob's bytes in order; the blob exists only after `finish` returns.
pub trait BlobWriter: Send {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError>;
    /// Makes the blob durable and visible under its id.
    fn finish(self: Box<Self>) -> Result<(), StoreError>;
}

pub type BlobReader = Box<dyn Read + Send>;

pub trait DataStore: Send + Sync + 'static {
    /// Starts a new blob under a fresh `id` (ids come from the caller and never derive from object keys).
    fn create(&self, id: &str) -> Result<Box<dyn BlobWriter>, StoreError>;
    /// Reads `len` bytes from `offset`.
    fn open(&self, id: &str, offset: u64, len: u64) -> Result<BlobReader, StoreError>;
    /// Removes a blob; removing a missing blob is not an error (GC may retry).
    fn delete(&self, id: &str) -> Result<(), StoreError>;
    /// Ids of blobs last modified before `before` (for the orphan sweep after a crash).
    fn list_older_than(&self, before: std::time::SystemTime) -> Result<Vec<String>, StoreError>;
    /// The size of one blob.
    fn blob_size(&self, id: &str) -> Result<u64, StoreError>;
    /// Total bytes held by blobs.
    fn bytes_used(&self) -> Result<u64, StoreError>;
}
