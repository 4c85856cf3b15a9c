//! Admin errors, with the RGW error code and HTTP status each one is reported with.

use meridian_gateway::GatewayError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum AdminError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{code}: {message}")]
    Remote { status: u16, code: String, message: String },
    #[error("cannot reach the admin API at {endpoint}: {message}")]
    Unreachable { endpoint: String, message: String },
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
                GatewayError::BucketNotEmpty => "BucketNotEmpty",
                GatewayError::InvalidArgument(_) | GatewayError::InvalidBucketName(_) => "InvalidArgument",
                GatewayError::InvalidRequest(_) => "InvalidRequest",
                GatewayError::AccessDenied => "AccessDenied",
                _ => "InternalError",
            },
            AdminError::BadRequest(_) => "InvalidArgument",
            AdminError::Remote { code, .. } => code,
            AdminError::Unreachable { .. } => "Unreachable",
        }
    }

    pub fn status(&self) -> u16 {
        match self.code() {
            "NoSuchUser" | "NoSuchBucket" | "InvalidAccessKeyId" => 404,
            "UserAlreadyExists" | "KeyExists" | "BucketNotEmpty" => 409,
            "AccessDenied" => 403,
            "InternalError" | "Unreachable" => 500,
            _ => 400,
        }
    }
}
