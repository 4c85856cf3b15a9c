//! Plain data types of Meridian (users, buckets, objects, logs, topology) and their serde shapes. No I/O here.

pub mod acl;
pub mod bucket;
pub mod bucket_config;
pub mod logs;
pub mod names;
pub mod object;
pub mod object_lock;
pub mod time;
pub mod topology;
pub mod user;

pub use acl::{Acl, Grant, Grantee, Permission};
pub use bucket::{Bucket, BucketStats, VersioningStatus};
pub use bucket_config::{BucketConfig, BucketConfigChange, CorsRule, LifecycleRule, PublicAccessBlock, TagSet};
pub use logs::{BilogEntry, BilogOp, DatalogEntry, LogShardInfo, MdlogEntry, MdlogStatus, Tombstone, WriteOrder};
pub use object::{
    parse_version_id, version_id_of, DataId, Manifest, MultipartUpload, ObjectChecksum, ObjectHeaders, ObjectMeta,
    PartMeta, Segment, NULL_VERSION,
};
pub use object_lock::{DefaultRetention, LockMode, ObjectLock, ObjectLockConfig, Retention};
pub use time::Timestamp;
pub use topology::{
    ObjVersion, Period, PeriodMap, PlacementTarget, Realm, ZoneGroup, ZoneGroupZone, ZoneParams, DEFAULT_PLACEMENT,
};
pub use user::{AccessKey, User};
