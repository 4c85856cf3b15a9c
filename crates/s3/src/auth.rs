//! SigV4 secret lookup: s3s verifies signatures (constant-time) with the secret we return here.

use crate::errors::to_s3_error;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::User;
use meridian_multisite as multisite;
use s3s::auth::{S3Auth, SecretKey};
use s3s::{S3Error, S3ErrorCode, S3Result};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct GatewayAuth {
    gateway: Gateway,
    /// Keys the metadata master did not know either, and when it said so: unknown keys must not cost a
    /// round trip to the master on every request.
    unknown_at_master: Mutex<HashMap<String, Instant>>,
}

/// How long "the master does not know this key" is believed.
const UNKNOWN_KEY_TTL: Duration = Duration::from_secs(10);
const UNKNOWN_KEYS_KEPT: usize = 10_000;

impl GatewayAuth {
    pub fn new(gateway: Gateway) -> Self {
        Self {
            gateway,
            unknown_at_master: Mutex::new(HashMap::new()),
        }
    }

    /// On a zone that is not the metadata master, an unknown key may belong to a user created through
    /// another zone: ask the master once (per TTL) and look again.
    async fn lookup(&self, access_key: &str) -> Result<(User, String), GatewayError> {
        match self.gateway.users().lookup_access_key(access_key).await {
            Err(GatewayError::NoSuchKeyId(_)) if !self.gateway.site().is_meta_master() => {
                if self.recently_unknown(access_key) {
                    return Err(GatewayError::NoSuchKeyId(access_key.to_string()));
                }
                match multisite::fetch_user_by_key(&self.gateway, access_key).await {
                    Ok(()) => self.gateway.users().lookup_access_key(access_key).await,
                    Err(e) => {
                        if matches!(e, GatewayError::NoSuchKeyId(_)) {
                            self.remember_unknown(access_key);
                        }
                        Err(e)
                    }
                }
            }
            other => other,
        }
    }

    fn recently_unknown(&self, access_key: &str) -> bool {
        let map = match self.unknown_at_master.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.get(access_key).is_some_and(|t| t.elapsed() < UNKNOWN_KEY_TTL)
    }

    fn remember_unknown(&self, access_key: &str) {
        let mut map = match self.unknown_at_master.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        if map.len() >= UNKNOWN_KEYS_KEPT {
            map.retain(|_, t| t.elapsed() < UNKNOWN_KEY_TTL);
        }
        if map.len() < UNKNOWN_KEYS_KEPT {
            map.insert(access_key.to_string(), Instant::now());
        }
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
        match self.lookup(access_key).await {
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
