//! Errors of the storage layer.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum StoreError {
    #[error("metadata store: {0}")]
    Meta(String),
    #[error("data store I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error("blob {0} not found")]
    BlobNotFound(String),
    #[error("the data directory {0} is in use by another process (is `meridian server` running?)")]
    Locked(String),
}

macro_rules! meta_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Meta(e.to_string())
            }
        }
    )*};
}

meta_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::CompactionError
);
