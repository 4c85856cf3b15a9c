//! Gateway errors as S3 error documents (code + HTTP status).

use meridian_gateway::GatewayError;
use s3s::{S3Error, S3ErrorCode};

pub fn to_s3_error(e: GatewayError) -> S3Error {
    use GatewayError as G;
    use S3ErrorCode as C;
    let msg = e.to_string();
    if let G::DeleteMarker {
        version_id,
        mtime,
        by_version,
    } = &e
    {
        return delete_marker_error(version_id, *mtime, *by_version, msg);
    }
    let code = match e {
        G::NoSuchBucket => C::NoSuchBucket,
        G::NoSuchKey => C::NoSuchKey,
        G::NoSuchVersion => C::NoSuchVersion,
        G::DeleteMarker { .. } => C::NoSuchKey,
        G::BucketAlreadyExists => C::BucketAlreadyExists,
        G::BucketAlreadyOwnedByYou => C::BucketAlreadyOwnedByYou,
        G::BucketNotEmpty => C::BucketNotEmpty,
        G::InvalidBucketName(_) => C::InvalidBucketName,
        G::KeyTooLong => C::KeyTooLongError,
        G::NoSuchUpload => C::NoSuchUpload,
        G::InvalidPart => C::InvalidPart,
        G::InvalidPartOrder => C::InvalidPartOrder,
        G::EntityTooSmall => C::EntityTooSmall,
        G::EntityTooLarge => C::EntityTooLarge,
        G::BadDigest => C::BadDigest,
        G::InvalidDigest => C::InvalidDigest,
        G::IncompleteBody => C::IncompleteBody,
        G::PreconditionFailed => C::PreconditionFailed,
        G::NotModified => C::NotModified,
        G::InvalidRange { .. } => C::InvalidRange,
        G::InvalidPartNumber(_) => {
            let mut err = S3Error::with_message(C::Custom("InvalidPartNumber".into()), msg);
            err.set_status_code(http::StatusCode::RANGE_NOT_SATISFIABLE);
            return err;
        }
        G::InvalidLocationConstraint(_) => C::InvalidLocationConstraint,
        G::InvalidArgument(_) => C::InvalidArgument,
        G::TooManyBuckets(_) => C::TooManyBuckets,
        G::NotImplemented(_) => C::NotImplemented,
        G::InvalidRequest(_) => C::InvalidRequest,
        G::MalformedXml(_) => C::MalformedXML,
        G::AccessDenied | G::ObjectLocked(_) => C::AccessDenied,
        G::InvalidBucketState(_) => {
            let mut err = S3Error::with_message(C::InvalidBucketState, msg);
            err.set_status_code(http::StatusCode::CONFLICT);
            return err;
        }
        G::NoObjectLockConfiguration => {
            let mut err = S3Error::with_message(C::ObjectLockConfigurationNotFoundError, msg);
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return err;
        }
        G::NoSuchObjectLockConfiguration => {
            let mut err = S3Error::with_message(C::NoSuchObjectLockConfiguration, msg);
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return err;
        }
        G::InvalidTag(_) => C::InvalidTag,
        G::NoSuchTagSet => C::NoSuchTagSet,
        G::NoSuchCorsConfiguration => C::NoSuchCORSConfiguration,
        G::NoSuchLifecycleConfiguration => C::NoSuchLifecycleConfiguration,
        G::NoSuchBucketPolicy => C::NoSuchBucketPolicy,
        G::NoSuchPublicAccessBlockConfiguration => {
            let mut err = S3Error::with_message(C::Custom("NoSuchPublicAccessBlockConfiguration".into()), msg);
            err.set_status_code(http::StatusCode::NOT_FOUND);
            return err;
        }
        G::MalformedPolicy(_) => C::MalformedPolicy,
        G::MalformedAcl(_) => C::MalformedACLError,
        G::UnresolvableGrantByEmailAddress(_) => C::UnresolvableGrantByEmailAddress,
        G::NoSuchUser(_) | G::NoSuchKeyId(_) => C::InvalidAccessKeyId,
        G::UserExists(_) | G::KeyExists(_) => C::InvalidArgument,
        G::Body(ref m) if m.to_ascii_lowercase().contains("signature") => C::SignatureDoesNotMatch,
        G::Body(_) => C::IncompleteBody,
        G::Conflict(_) => {
            let mut err = S3Error::with_message(C::OperationAborted, msg);
            err.set_status_code(http::StatusCode::CONFLICT);
            return err;
        }
        G::NotFound(_) => C::NoSuchKey,
        G::NotMetaMaster { .. } | G::MasterUnavailable(_) => {
            let mut err = S3Error::with_message(C::ServiceUnavailable, msg);
            err.set_status_code(http::StatusCode::SERVICE_UNAVAILABLE);
            return err;
        }
        G::SlowDown(_) => {
            let mut err = S3Error::with_message(C::SlowDown, msg);
            err.set_status_code(http::StatusCode::SERVICE_UNAVAILABLE);
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::RETRY_AFTER,
                http::HeaderValue::from(meridian_gateway::moves::RETRY_AFTER_SECS),
            );
            err.set_headers(headers);
            return err;
        }
        G::WrongZonegroup { ref endpoint, .. } => {
            let mut err = S3Error::with_message(
                C::PermanentRedirect,
                format!("The bucket you are attempting to access must be addressed using the specified endpoint {endpoint}. Please send all future requests to this endpoint."),
            );
            err.set_status_code(http::StatusCode::MOVED_PERMANENTLY);
            return err;
        }
        G::Store(ref s) if s.is_full() || storage_full(s) => {
            tracing::error!(error = %msg, "the data directory's filesystem is full");
            let mut err = S3Error::with_message(
                C::Custom("InsufficientStorage".into()),
                "The gateway's storage is full; the request was not applied. Retry once space has been freed.",
            );
            err.set_status_code(http::StatusCode::INSUFFICIENT_STORAGE);
            return err;
        }
        G::Corrupt(..) | G::Store(_) | G::Internal(_) | G::ReplicaMismatch { .. } => {
            tracing::error!(error = %msg, "internal error");
            return S3Error::with_message(C::InternalError, "We encountered an internal error. Please try again.");
        }
    };
    S3Error::with_message(code, msg)
}

/// A read that found a delete marker: 404 NoSuchKey for the key's newest version, 405 MethodNotAllowed for
/// the marker asked for by id; both name the marker (`x-amz-delete-marker`, `x-amz-version-id`), as S3 does.
fn delete_marker_error(version_id: &str, mtime: meridian_model::Timestamp, by_version: bool, msg: String) -> S3Error {
    let mut err = if by_version {
        let mut e = S3Error::with_message(S3ErrorCode::MethodNotAllowed, msg);
        e.set_status_code(http::StatusCode::METHOD_NOT_ALLOWED);
        e
    } else {
        S3Error::with_message(S3ErrorCode::NoSuchKey, msg)
    };
    let mut headers = http::HeaderMap::new();
    headers.insert("x-amz-delete-marker", http::HeaderValue::from_static("true"));
    if let Ok(v) = http::HeaderValue::from_str(version_id) {
        headers.insert("x-amz-version-id", v);
    }
    if by_version {
        let date = httpdate::fmt_http_date(mtime.to_system());
        if let Ok(v) = http::HeaderValue::from_str(&date) {
            headers.insert(http::header::LAST_MODIFIED, v);
        }
    }
    err.set_headers(headers);
    err
}

/// Whether an error (or one of its causes) is the filesystem running out of space (ENOSPC, or EDQUOT: a
/// quota on the data directory's filesystem).
pub(crate) fn storage_full(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::StorageFull || io.kind() == std::io::ErrorKind::QuotaExceeded {
                return true;
            }
        }
        cause = c.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enospc_is_insufficient_storage() {
        let full = std::io::Error::from_raw_os_error(28); // ENOSPC
        let err = to_s3_error(GatewayError::Store(full.into()));
        assert_eq!(err.code().as_str(), "InsufficientStorage");
        assert_eq!(err.status_code(), Some(http::StatusCode::INSUFFICIENT_STORAGE));
        // The metadata database's flush failing on a full filesystem keeps the type too.
        let flush = meridian_store::StoreError::Full(std::io::Error::new(
            std::io::ErrorKind::StorageFull,
            "flushing the metadata store failed",
        ));
        let err = to_s3_error(GatewayError::Store(flush));
        assert_eq!(err.status_code(), Some(http::StatusCode::INSUFFICIENT_STORAGE));
        let other = std::io::Error::from_raw_os_error(5); // EIO
        let err = to_s3_error(GatewayError::Store(other.into()));
        assert_eq!(err.code().as_str(), "InternalError");
    }
}
