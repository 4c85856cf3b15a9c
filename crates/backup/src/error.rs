//! Errors of backup, verification and restore.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum BackupError {
    #[error(transparent)]
    Gateway(#[from] meridian_gateway::GatewayError),
    #[error(transparent)]
    Store(#[from] meridian_store::StoreError),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The archive is not a complete, intact Meridian backup; the text says what is wrong.
    #[error("the backup is damaged or incomplete: {0}")]
    Damaged(String),
    /// The archive is intact but its content does not add up (a record without its bytes, wrong counts).
    #[error("the backup is inconsistent: {0}")]
    Inconsistent(String),
    #[error("{0} is not empty: restore only into an empty or new directory")]
    NotEmpty(String),
    #[error("a backup is already running")]
    Busy,
    #[error("the backup was cancelled: {0}")]
    Cancelled(String),
    #[error("{0}")]
    Internal(String),
}

pub type Result<T, E = BackupError> = std::result::Result<T, E>;
