//! Admin errors, with the RGW error code and HTTP status each one is reported with.

use meridian_gateway::GatewayError;
use meridian_peer::PeerError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The process was started without the service the endpoint needs (see `services::Services`).
    #[error("this server does not serve {0}")]
    NotServed(&'static str),
}

impl AdminError {
    pub fn code(&self) -> &str {
        match self {
            AdminError::Gateway(g) => match g {
                GatewayError::NoSuchUser(_) => "NoSuchUser",
                GatewayError::UserExists(_) => "UserAlreadyExists",
                GatewayError::KeyExists(_) => "KeyExists",
                GatewayError::NoSuchKeyId(_) => "InvalidAccessKeyId",
                GatewayError::NoSuchBucket => "NoSuchBucket",
                GatewayError::NoSuchKey | GatewayError::DeleteMarker { .. } => "NoSuchKey",
                GatewayError::NoSuchVersion => "NoSuchVersion",
                GatewayError::BucketNotEmpty => "BucketNotEmpty",
                GatewayError::InvalidArgument(_) | GatewayError::InvalidBucketName(_) => "InvalidArgument",
                GatewayError::InvalidRequest(_) => "InvalidRequest",
                GatewayError::InvalidLocationConstraint(_) => "InvalidLocationConstraint",
                GatewayError::TooManyBuckets(_) => "TooManyBuckets",
                GatewayError::NotImplemented(_) => "NotImplemented",
                GatewayError::AccessDenied | GatewayError::ObjectLocked(_) => "AccessDenied",
                GatewayError::InvalidBucketState(_) => "InvalidBucketState",
                GatewayError::BucketAlreadyExists => "BucketAlreadyExists",
                GatewayError::BucketAlreadyOwnedByYou => "BucketAlreadyOwnedByYou",
                GatewayError::Conflict(_) => "Conflict",
                GatewayError::NotFound(_) => "NotFound",
                GatewayError::NotMetaMaster { .. } => "NotMetaMaster",
                GatewayError::MasterUnavailable(_) => "MasterUnavailable",
                GatewayError::WrongZonegroup { .. } => "PermanentRedirect",
                GatewayError::SlowDown(_) => "SlowDown",
                _ => "InternalError",
            },
            AdminError::BadRequest(_) => "InvalidArgument",
            AdminError::NotServed(_) => "NotImplemented",
            AdminError::Peer(PeerError::Remote { code, .. }) => code,
            AdminError::Peer(_) => "Unreachable",
        }
    }

    pub fn status(&self) -> u16 {
        if let AdminError::Peer(PeerError::Remote { status, .. }) = self {
            return *status;
        }
        if let AdminError::NotServed(_) = self {
            return 501;
        }
        match self.code() {
            "NoSuchUser" | "NoSuchBucket" | "NoSuchKey" | "NoSuchVersion" | "InvalidAccessKeyId" | "NotFound" => 404,
            "UserAlreadyExists"
            | "KeyExists"
            | "BucketNotEmpty"
            | "BucketAlreadyExists"
            | "BucketAlreadyOwnedByYou"
            | "Conflict"
            | "InvalidBucketState" => 409,
            "AccessDenied" => 403,
            "PermanentRedirect" => 301,
            "NotMetaMaster" | "MasterUnavailable" | "Unreachable" | "SlowDown" => 503,
            "InternalError" => 500,
            _ => 400,
        }
    }
}
