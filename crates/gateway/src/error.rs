//! Errors of the gateway services. Each variant maps to one S3 error code in the S3 surface.

use meridian_store::StoreError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum GatewayError {
    #[error("The specified bucket does not exist")]
    NoSuchBucket,
    #[error("The specified key does not exist.")]
    NoSuchKey,
    #[error("The specified version does not exist.")]
    NoSuchVersion,
    /// The version read is a delete marker: the key's newest version (`by_version` false: 404 NoSuchKey) or
    /// the version asked for by id (405 MethodNotAllowed). Either way S3 names the marker in headers.
    #[error("{}", if *by_version { "The specified method is not allowed against this resource." } else { "The specified key does not exist." })]
    DeleteMarker {
        version_id: String,
        mtime: meridian_model::Timestamp,
        by_version: bool,
    },
    #[error("The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a different name and try again.")]
    BucketAlreadyExists,
    #[error("Your previous request to create the named bucket succeeded and you already own it.")]
    BucketAlreadyOwnedByYou,
    #[error("The bucket you tried to delete is not empty")]
    BucketNotEmpty,
    #[error("The specified bucket is not valid: {0}")]
    InvalidBucketName(String),
    #[error("Your key is too long")]
    KeyTooLong,
    #[error("The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")]
    NoSuchUpload,
    #[error("One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.")]
    InvalidPart,
    #[error("The list of parts was not in ascending order. The parts list must be specified in order by part number.")]
    InvalidPartOrder,
    #[error("Your proposed upload is smaller than the minimum allowed object size.")]
    EntityTooSmall,
    #[error("Your proposed upload exceeds the maximum allowed object size.")]
    EntityTooLarge,
    #[error("The Content-MD5 you specified did not match what we received.")]
    BadDigest,
    #[error("The Content-MD5 you specified is not valid.")]
    InvalidDigest,
    #[error("You did not provide the number of bytes specified by the Content-Length HTTP header.")]
    IncompleteBody,
    #[error("At least one of the pre-conditions you specified did not hold")]
    PreconditionFailed,
    #[error("Not Modified")]
    NotModified,
    #[error("The requested range is not satisfiable")]
    InvalidRange { object_size: u64 },
    /// `partNumber` past the object's parts (416).
    #[error("{0}")]
    InvalidPartNumber(String),
    #[error("{0}")]
    InvalidArgument(String),
    /// A bucket's location constraint names another zonegroup, or none of the period's.
    #[error("{0}")]
    InvalidLocationConstraint(String),
    /// A request this gateway does not carry out yet (501).
    #[error("{0}")]
    NotImplemented(String),
    /// The user owns `max_buckets` already.
    #[error("{0}")]
    TooManyBuckets(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("The XML you provided was not well-formed or did not validate against our published schema: {0}")]
    MalformedXml(String),
    #[error("Access Denied")]
    AccessDenied,
    /// Object Lock refuses the change (a retention or legal hold in force): 403 AccessDenied with why.
    #[error("{0}")]
    ObjectLocked(String),
    /// The bucket's state forbids the request (suspending versioning under Object Lock): 409.
    #[error("{0}")]
    InvalidBucketState(String),
    #[error("Object Lock configuration does not exist for this bucket")]
    NoObjectLockConfiguration,
    /// The version has no retention (GetObjectRetention) or legal hold (GetObjectLegalHold).
    #[error("The specified object does not have a ObjectLock configuration")]
    NoSuchObjectLockConfiguration,
    #[error("{0}")]
    InvalidTag(String),
    #[error("The TagSet does not exist")]
    NoSuchTagSet,
    #[error("The CORS configuration does not exist")]
    NoSuchCorsConfiguration,
    #[error("The lifecycle configuration does not exist")]
    NoSuchLifecycleConfiguration,
    #[error("The bucket policy does not exist")]
    NoSuchBucketPolicy,
    #[error("The public access block configuration was not found")]
    NoSuchPublicAccessBlockConfiguration,
    /// A bucket policy S3 would refuse: bad JSON, unknown action or effect, a resource of another bucket.
    #[error("{0}")]
    MalformedPolicy(String),
    /// An ACL document or grant header S3 would refuse.
    #[error("{0}")]
    MalformedAcl(String),
    /// A grant names an email address no user has.
    #[error("The e-mail address you provided does not match any account on record: {0}")]
    UnresolvableGrantByEmailAddress(String),
    #[error("The user {0} does not exist")]
    NoSuchUser(String),
    #[error("user {0} already exists")]
    UserExists(String),
    #[error("access key {0} is already in use")]
    KeyExists(String),
    #[error("access key {0} does not exist")]
    NoSuchKeyId(String),
    /// A refused change: stale version, wrong period order, data in the way. The message says what to do.
    #[error("{0}")]
    Conflict(String),
    /// A realm, zonegroup, zone or period that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// A change that only the metadata master zone may make; the endpoints are where it must go.
    #[error("this zone is not the metadata master; the request must go to {}", master_endpoints.join(", "))]
    NotMetaMaster { master_endpoints: Vec<String> },
    /// The metadata master could not be reached (or failed) while forwarding a change to it.
    #[error("the metadata master zone is unavailable: {0}")]
    MasterUnavailable(String),
    /// The bucket lives in another zonegroup; clients are sent to that zonegroup's endpoint.
    #[error("The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.")]
    WrongZonegroup { bucket: String, endpoint: String },
    /// Writes to the bucket are held for a moment (a move's cut-over): `503 SlowDown` with `Retry-After`.
    #[error("{0}")]
    SlowDown(String),
    #[error("the request body stream failed: {0}")]
    Body(String),
    #[error("the metadata record {0} is corrupt: {1}")]
    Corrupt(String, String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
    /// The bytes fetched from another zone are not the object its metadata describes (their size, or the
    /// MD5 of a plain ETag, differs): the source sent a wrong copy, and fetching it again will not help.
    #[error("fetched bytes of {key} do not match the source (size {size} vs {expected_size}, etag {etag} vs {expected_etag})")]
    ReplicaMismatch {
        key: String,
        size: u64,
        expected_size: u64,
        etag: String,
        expected_etag: String,
    },
}

pub type Result<T, E = GatewayError> = std::result::Result<T, E>;

impl From<tokio::task::JoinError> for GatewayError {
    fn from(e: tokio::task::JoinError) -> Self {
        GatewayError::Internal(format!("blocking task failed: {e}"))
    }
}

impl From<meridian_model::names::NameError> for GatewayError {
    fn from(e: meridian_model::names::NameError) -> Self {
        use meridian_model::names::NameError;
        match e {
            NameError::KeyTooLong => GatewayError::KeyTooLong,
            NameError::KeyEmpty | NameError::KeyControl => GatewayError::InvalidArgument(e.to_string()),
            other => GatewayError::InvalidBucketName(other.to_string()),
        }
    }
}

/// An RGW document that does not read (a metadata put's data): the caller's mistake.
impl From<meridian_proto::DocumentError> for GatewayError {
    fn from(e: meridian_proto::DocumentError) -> Self {
        GatewayError::InvalidArgument(e.0)
    }
}
