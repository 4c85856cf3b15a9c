//! Why a sync step failed; every failure leaves the markers where they were.

use meridian_gateway::GatewayError;
use meridian_peer::PeerError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SyncError {
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("zone {0} has no endpoint to sync from")]
    NoEndpoint(String),
    #[error("unexpected answer from the source: {0}")]
    Protocol(String),
}

impl SyncError {
    /// The source answered that the thing asked for does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SyncError::Peer(PeerError::Remote { status: 404, .. }))
    }
}

pub type Result<T> = std::result::Result<T, SyncError>;
