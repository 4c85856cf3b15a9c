//! Errors of the storage layer.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("metadata store: {0}")]
    Meta(String),
    /// The store's I/O failed: a data file's, or the metadata database's (redb's own I/O errors, and its
    /// refusal of everything after one, become this).
    #[error("store I/O: {0}")]
    Io(#[source] std::io::Error),
    /// The filesystem under the store ran out of space (ENOSPC, or EDQUOT: a quota), whether while writing
    /// an object's file or the metadata database. Nothing was applied; the write works again once space is
    /// freed.
    #[error("the store's filesystem is full: {0}")]
    Full(#[source] std::io::Error),
    #[error("blob {0} not found")]
    BlobNotFound(String),
    #[error("the data directory {0} is in use by another process (is `meridian server` running?)")]
    Locked(String),
}

impl StoreError {
    /// Whether the filesystem under the store is full.
    pub fn is_full(&self) -> bool {
        matches!(self, StoreError::Full(_))
    }
}

/// Whether an I/O error is the filesystem running out of space.
pub fn io_is_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    )
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        if io_is_full(&e) {
            StoreError::Full(e)
        } else {
            StoreError::Io(e)
        }
    }
}

impl From<redb::StorageError> for StoreError {
    fn from(e: redb::StorageError) -> Self {
        match e {
            redb::StorageError::Io(io) => StoreError::from(io),
            e @ (redb::StorageError::PreviousIo | redb::StorageError::DatabaseClosed) => {
                StoreError::Io(std::io::Error::other(e.to_string()))
            }
            other => StoreError::Meta(other.to_string()),
        }
    }
}

/// redb's errors that wrap a storage error keep it (so a full filesystem stays `Full`); the others become
/// `Meta` with their text.
macro_rules! meta_err {
    ($($t:ident),*) => {$(
        impl From<redb::$t> for StoreError {
            fn from(e: redb::$t) -> Self {
                match e {
                    redb::$t::Storage(s) => StoreError::from(s),
                    other => StoreError::Meta(other.to_string()),
                }
            }
        }
    )*};
}

meta_err!(
    DatabaseError,
    TransactionError,
    TableError,
    CommitError,
    CompactionError
);

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        match e {
            redb::Error::Io(io) => StoreError::from(io),
            e @ (redb::Error::PreviousIo | redb::Error::DatabaseClosed) => {
                StoreError::Io(std::io::Error::other(e.to_string()))
            }
            other => StoreError::Meta(other.to_string()),
        }
    }
}
