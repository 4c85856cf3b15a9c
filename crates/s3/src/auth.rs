//! SigV4 secret lookup: s3s verifies signatures (constant-time) with the secret we return here.

use crate::errors::to_s3_error;
use meridian_gateway::{Gateway, GatewayError};
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Error, S3ErrorCode, S3Result};

pub struct GatewayAuth {
    gateway: Gateway,
}

impl GatewayAuth {
    pub fn new(gateway: Gateway) -> Self {
        Self { gateway }
    }
}

pub(crate) fn suspended_error() -> S3Error {
    let mut err = S3Error::with_message(S3ErrorCode::Custom("UserSuspended".into()), "The user is suspended.");
    err.set_status_code(http::StatusCode::FORBIDDEN);
    err
}

#[async_trait::async_trait]
impl S3Auth for GatewayAuth {
    async fn get_secret_key(&self, access_key: &str) -> S3Result<SecretKey> {
        match self.gateway.lookup_access_key(access_key).await {
            Ok((user, _)) if user.suspended => Err(suspended_error()),
            Ok((_, secret)) => Ok(SecretKey::from(secret)),
            Err(GatewayError::NoSuchKeyId(_) | GatewayError::NoSuchUser(_)) => Err(S3Error::with_message(
                S3ErrorCode::InvalidAccessKeyId,
                "The AWS Access Key Id you provided does not exist in our records.",
            )),
            Err(e) => Err(to_s3_error(e)),
        }
    }
}
