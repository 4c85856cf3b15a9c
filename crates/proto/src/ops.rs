//! RGW's admin-ops calls over users and buckets that zones make of the metadata master (and of the zones
//! of a bucket's zonegroup): a user by access key, a bucket's creation, a bucket's stats. The replies are
//! the RGW shapes of `rgw`.

use crate::metadata::InstanceEntry;
use crate::rgw::{BucketStatsInfo, UserInfo};
use crate::{AdminRequest, Call};
use http::Method;

/// `GET /admin/user?access-key=K`: the user holding a key.
#[derive(Debug, Clone, PartialEq)]
pub struct GetUserByKey<'a> {
    pub access_key: &'a str,
}

impl Call for GetUserByKey<'_> {
    type Reply = UserInfo;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "user").param("access-key", self.access_key)
    }
}

/// `PUT /admin/bucket?bucket&uid&zonegroup[&acl]`: a non-master zone's CreateBucket, recorded on the
/// master; the reply is the new bucket's instance entry.
#[derive(Debug, Clone, PartialEq)]
pub struct CreateBucket<'a> {
    pub bucket: &'a str,
    /// The owner's full id (`tenant$uid`).
    pub uid: &'a str,
    pub zonegroup: &'a str,
    /// The S3 CreateBucket's ACL as JSON.
    pub acl: Option<String>,
}

impl Call for CreateBucket<'_> {
    type Reply = InstanceEntry;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::PUT, "bucket")
            .param("bucket", self.bucket)
            .param("uid", self.uid)
            .param("zonegroup", self.zonegroup)
            .opt("acl", self.acl.clone())
    }
}

/// `GET /admin/bucket?bucket=[tenant/]name`: the bucket's stats in that zone.
#[derive(Debug, Clone, PartialEq)]
pub struct GetBucketStats<'a> {
    pub bucket: &'a str,
}

impl Call for GetBucketStats<'_> {
    type Reply = BucketStatsInfo;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "bucket").param("bucket", self.bucket)
    }
}
