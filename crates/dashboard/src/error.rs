//! The dashboard's errors: what a zone answered (S3 or admin error), an unreachable zone, a bad form.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum DashError {
    #[error("{code}: {message}")]
    S3 { status: u16, code: String, message: String },
    #[error("cannot reach {endpoint}: {message}")]
    Unreachable { endpoint: String, message: String },
    #[error(transparent)]
    Admin(#[from] meridian_peer::PeerError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl DashError {
    /// The HTTP status the dashboard answers with for this error.
    pub fn status(&self) -> u16 {
        match self {
            DashError::S3 { status, .. } => *status,
            DashError::Admin(meridian_peer::PeerError::Remote { status, .. }) => *status,
            DashError::Unreachable { .. } | DashError::Admin(_) => 502,
            DashError::BadRequest(_) => 400,
            DashError::Forbidden(_) => 403,
            DashError::Internal(_) => 500,
        }
    }

    /// The S3 / admin error code, if a zone answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            DashError::S3 { code, .. } => Some(code),
            DashError::Admin(meridian_peer::PeerError::Remote { code, .. }) => Some(code),
            _ => None,
        }
    }
}

pub type Result<T, E = DashError> = std::result::Result<T, E>;
