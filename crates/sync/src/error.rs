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
    /// A failure that may pass if the same step is tried again soon: the source unreachable or failing
    /// (5xx), a torn transfer, the local store or the metadata master unavailable. A refusal, an unreadable
    /// answer, or fetched bytes that do not match their metadata (`GatewayError::ReplicaMismatch`) will
    /// not change by asking again.
    pub fn is_transient(&self) -> bool {
        match self {
            SyncError::Peer(PeerError::Remote { status, .. }) => *status >= 500,
            SyncError::Peer(PeerError::BadReply { .. }) => false,
            SyncError::Peer(_) | SyncError::NoEndpoint(_) => true,
            SyncError::Gateway(g) => matches!(
                g,
                GatewayError::IncompleteBody
                    | GatewayError::Body(_)
                    | GatewayError::Internal(_)
                    | GatewayError::MasterUnavailable(_)
            ),
            SyncError::Protocol(_) => false,
        }
    }

    /// The source answered that the thing asked for does not exist (any more).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SyncError::Peer(PeerError::Remote { status: 404, .. }))
    }
}

pub type Result<T> = std::result::Result<T, SyncError>;
