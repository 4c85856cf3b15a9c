//! The S3 Object Lock calls (Put/GetObjectLockConfiguration, Put/GetObjectRetention,
//! Put/GetObjectLegalHold) and the `x-amz-object-lock-*` headers of object writes and reads, mapped onto
//! the gateway's `object_lock` rules.

use crate::convert::{model_time, s3_time};
use crate::errors::to_s3_error;
use crate::service::MeridianS3;
use crate::subresources::change_bucket_config;
use meridian_gateway::object_lock::{check_bucket_allows_lock, LockChange};
use meridian_gateway::Gateway;
use meridian_model::{
    Bucket, BucketConfigChange, DefaultRetention, LockMode, ObjectLock, ObjectLockConfig, ObjectMeta, Retention,
    VersioningStatus,
};
use meridian_multisite as multisite;
use s3s::dto::*;
use s3s::{s3_error, S3Request, S3Response, S3Result};

type R<T> = S3Result<S3Response<T>>;

fn ok<T>(output: T) -> R<T> {
    Ok(S3Response::new(output))
}

fn mode_of(s: &str) -> S3Result<LockMode> {
    LockMode::parse(s).ok_or_else(|| s3_error!(InvalidArgument, "Unknown object lock mode {s:?}"))
}

/// The lock an object write asks for with `x-amz-object-lock-mode`, `-retain-until-date` and `-legal-hold`
/// (mode and date only together, the date in the future), checked against the bucket.
pub(crate) fn lock_from_request(
    bucket: &Bucket,
    mode: Option<&str>,
    until: Option<Timestamp>,
    legal_hold: Option<&str>,
) -> S3Result<ObjectLock> {
    let retention = match (mode, until) {
        (None, None) => None,
        (Some(m), Some(u)) => {
            let until = model_time(u);
            if until <= meridian_model::Timestamp::now() {
                return Err(s3_error!(
                    InvalidArgument,
                    "The retain until date must be in the future!"
                ));
            }
            Some(Retention {
                mode: mode_of(m)?,
                until,
            })
        }
        _ => {
            return Err(s3_error!(
                InvalidArgument,
                "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied"
            ))
        }
    };
    let legal_hold = match legal_hold.map(str::to_ascii_uppercase).as_deref() {
        None | Some("OFF") => false,
        Some("ON") => true,
        Some(other) => return Err(s3_error!(InvalidArgument, "Unknown legal hold status {other:?}")),
    };
    let lock = ObjectLock { retention, legal_hold };
    if !lock.is_empty() {
        check_bucket_allows_lock(bucket).map_err(to_s3_error)?;
    }
    Ok(lock)
}

/// A PutObject that sets a lock must carry Content-MD5 or a checksum, as AWS requires.
pub(crate) fn require_integrity(lock: &ObjectLock, headers: &http::HeaderMap) -> S3Result<()> {
    if lock.is_empty() {
        return Ok(());
    }
    let has_checksum = headers.contains_key("content-md5")
        || headers.contains_key("x-amz-sdk-checksum-algorithm")
        || headers.contains_key("x-amz-trailer")
        || headers
            .keys()
            .any(|k| k.as_str().starts_with("x-amz-checksum-") && k.as_str() != "x-amz-checksum-mode");
    if has_checksum {
        Ok(())
    } else {
        Err(s3_error!(
            InvalidRequest,
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters"
        ))
    }
}

/// The `x-amz-object-lock-*` headers GET and HEAD answer for a version.
pub(crate) struct LockHeaders {
    pub mode: Option<ObjectLockMode>,
    pub until: Option<Timestamp>,
    pub legal_hold: Option<ObjectLockLegalHoldStatus>,
}

pub(crate) fn lock_headers(meta: &ObjectMeta) -> LockHeaders {
    LockHeaders {
        mode: meta
            .lock
            .retention
            .map(|r| ObjectLockMode::from(r.mode.as_s3().to_string())),
        until: meta.lock.retention.map(|r| s3_time(r.until)),
        legal_hold: meta
            .lock
            .legal_hold
            .then(|| ObjectLockLegalHoldStatus::from_static(ObjectLockLegalHoldStatus::ON)),
    }
}

/// CreateBucket with `x-amz-bucket-object-lock-enabled: true`: versioning Enabled, then Object Lock
/// (no default retention). Made where bucket metadata changes are made (the master).
pub(crate) async fn enable_on_new_bucket(gw: &Gateway, bucket: &Bucket) -> S3Result<()> {
    let versioned = if gw.site().is_meta_master() {
        gw.buckets().set_versioning(bucket, VersioningStatus::Enabled).await
    } else {
        multisite::set_bucket_versioning_on_master(gw, bucket, VersioningStatus::Enabled).await
    };
    let bucket = versioned.map_err(to_s3_error)?;
    change_bucket_config(gw, &bucket, BucketConfigChange::ObjectLock(ObjectLockConfig::default())).await?;
    Ok(())
}

fn default_retention_from_dto(rule: Option<ObjectLockRule>) -> S3Result<Option<DefaultRetention>> {
    let Some(d) = rule.and_then(|r| r.default_retention) else {
        return Ok(None);
    };
    let mode = d
        .mode
        .as_ref()
        .ok_or_else(|| s3_error!(MalformedXML, "DefaultRetention needs a Mode"))
        .and_then(|m| mode_of(m.as_str()))?;
    let positive = |n: i32| {
        u32::try_from(n).ok().filter(|&n| n > 0).ok_or_else(|| {
            s3_error!(
                InvalidArgument,
                "Default retention period must be a positive integer value"
            )
        })
    };
    let (days, years) = match (d.days, d.years) {
        (Some(days), None) => (Some(positive(days)?), None),
        (None, Some(years)) => (None, Some(positive(years)?)),
        _ => {
            return Err(s3_error!(
                MalformedXML,
                "DefaultRetention needs exactly one of Days and Years"
            ))
        }
    };
    Ok(Some(DefaultRetention { mode, days, years }))
}

fn bypass(flag: Option<bool>) -> bool {
    flag.unwrap_or(false)
}

impl MeridianS3 {
    pub(crate) async fn do_put_object_lock_configuration(
        &self,
        req: S3Request<PutObjectLockConfigurationInput>,
    ) -> R<PutObjectLockConfigurationOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:PutBucketObjectLockConfiguration")
            .await?;
        let config = req
            .input
            .object_lock_configuration
            .ok_or_else(|| s3_error!(MalformedXML, "ObjectLockConfiguration is missing"))?;
        let enabled = config
            .object_lock_enabled
            .as_ref()
            .is_some_and(|e| e.as_str() == ObjectLockEnabled::ENABLED);
        if !enabled {
            return Err(s3_error!(
                MalformedXML,
                "ObjectLockEnabled must be Enabled (Object Lock cannot be disabled)"
            ));
        }
        if bucket.versioning != VersioningStatus::Enabled {
            return Err(to_s3_error(meridian_gateway::GatewayError::InvalidBucketState(
                "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration".into(),
            )));
        }
        let default_retention = default_retention_from_dto(config.rule)?;
        change_bucket_config(
            &self.gw,
            &bucket,
            BucketConfigChange::ObjectLock(ObjectLockConfig { default_retention }),
        )
        .await?;
        ok(PutObjectLockConfigurationOutput::default())
    }

    pub(crate) async fn do_get_object_lock_configuration(
        &self,
        req: S3Request<GetObjectLockConfigurationInput>,
    ) -> R<GetObjectLockConfigurationOutput> {
        let (_, bucket) = self
            .caller_bucket(&req, &req.input.bucket, "s3:GetBucketObjectLockConfiguration")
            .await?;
        let config = bucket
            .config
            .object_lock
            .ok_or_else(|| to_s3_error(meridian_gateway::GatewayError::NoObjectLockConfiguration))?;
        let rule = config.default_retention.map(|d| ObjectLockRule {
            default_retention: Some(s3s::dto::DefaultRetention {
                mode: Some(ObjectLockRetentionMode::from(d.mode.as_s3().to_string())),
                days: d.days.map(|n| n as i32),
                years: d.years.map(|n| n as i32),
            }),
        });
        ok(GetObjectLockConfigurationOutput {
            object_lock_configuration: Some(ObjectLockConfiguration {
                object_lock_enabled: Some(ObjectLockEnabled::from_static(ObjectLockEnabled::ENABLED)),
                rule,
            }),
        })
    }

    pub(crate) async fn do_put_object_retention(
        &self,
        req: S3Request<PutObjectRetentionInput>,
    ) -> R<PutObjectRetentionOutput> {
        let (user, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObjectRetention")
            .await?;
        let may_bypass = self.may_bypass_governance(&req, user.as_ref(), &bucket, &req.input.key);
        let input = req.input;
        let retention = match input.retention {
            None => None,
            Some(ObjectLockRetention {
                mode: None,
                retain_until_date: None,
            }) => None,
            Some(ObjectLockRetention {
                mode: Some(m),
                retain_until_date: Some(u),
            }) => Some(Retention {
                mode: mode_of(m.as_str())?,
                until: model_time(u),
            }),
            Some(_) => return Err(s3_error!(MalformedXML, "Retention needs both Mode and RetainUntilDate")),
        };
        self.gw
            .objects()
            .set_lock(
                &bucket,
                &input.key,
                input.version_id.as_deref(),
                LockChange::Retention(retention),
                bypass(input.bypass_governance_retention) && may_bypass,
            )
            .await
            .map_err(to_s3_error)?;
        ok(PutObjectRetentionOutput::default())
    }

    /// The version whose retention or legal hold a Get call reads, if the caller may do `action` on it.
    async fn lock_state_of<T>(
        &self,
        req: &S3Request<T>,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
        action: &str,
    ) -> S3Result<meridian_model::ObjectMeta> {
        let (_, bucket) = self.caller_object(req, bucket, Some(key), action).await?;
        self.gw
            .objects()
            .lock_of(&bucket, key, version_id)
            .await
            .map_err(to_s3_error)
    }

    pub(crate) async fn do_get_object_retention(
        &self,
        req: S3Request<GetObjectRetentionInput>,
    ) -> R<GetObjectRetentionOutput> {
        let meta = self
            .lock_state_of(
                &req,
                &req.input.bucket,
                &req.input.key,
                req.input.version_id.as_deref(),
                "s3:GetObjectRetention",
            )
            .await?;
        let retention = meta
            .lock
            .retention
            .ok_or_else(|| to_s3_error(meridian_gateway::GatewayError::NoSuchObjectLockConfiguration))?;
        ok(GetObjectRetentionOutput {
            retention: Some(ObjectLockRetention {
                mode: Some(ObjectLockRetentionMode::from(retention.mode.as_s3().to_string())),
                retain_until_date: Some(s3_time(retention.until)),
            }),
        })
    }

    pub(crate) async fn do_put_object_legal_hold(
        &self,
        req: S3Request<PutObjectLegalHoldInput>,
    ) -> R<PutObjectLegalHoldOutput> {
        let (_, bucket) = self
            .caller_object(&req, &req.input.bucket, Some(&req.input.key), "s3:PutObjectLegalHold")
            .await?;
        let input = req.input;
        let on = match input
            .legal_hold
            .and_then(|h| h.status)
            .map(|s| s.as_str().to_ascii_uppercase())
            .as_deref()
        {
            Some("ON") => true,
            Some("OFF") => false,
            _ => return Err(s3_error!(MalformedXML, "LegalHold needs a Status of ON or OFF")),
        };
        self.gw
            .objects()
            .set_lock(
                &bucket,
                &input.key,
                input.version_id.as_deref(),
                LockChange::LegalHold(on),
                false,
            )
            .await
            .map_err(to_s3_error)?;
        ok(PutObjectLegalHoldOutput::default())
    }

    pub(crate) async fn do_get_object_legal_hold(
        &self,
        req: S3Request<GetObjectLegalHoldInput>,
    ) -> R<GetObjectLegalHoldOutput> {
        let meta = self
            .lock_state_of(
                &req,
                &req.input.bucket,
                &req.input.key,
                req.input.version_id.as_deref(),
                "s3:GetObjectLegalHold",
            )
            .await?;
        let status = if meta.lock.legal_hold {
            ObjectLockLegalHoldStatus::ON
        } else {
            ObjectLockLegalHoldStatus::OFF
        };
        ok(GetObjectLegalHoldOutput {
            legal_hold: Some(ObjectLockLegalHold {
                status: Some(ObjectLockLegalHoldStatus::from_static(status)),
            }),
        })
    }
}
