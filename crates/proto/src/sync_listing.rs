//! What a full sync lists from a source zone: `GET /admin/sync/buckets` (the zonegroup's buckets),
//! `GET /admin/sync/objects` (one page of a bucket's state) and `GET /admin/sync/trimmed` (how far the
//! source trimmed its logs). The serving zone (`meridian_admin::logs`) and the reading agent
//! (`meridian_sync::source`) share these.

use crate::wire::base64_bytes;
use crate::{or_default, AdminRequest, Call};
use http::Method;
use meridian_model::{ObjectMeta, Tombstone, WriteOrder};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `GET /admin/sync/buckets`: the buckets of the source's zonegroup with their object counts (full sync's
/// denominator).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketsCall;

impl Call for BucketsCall {
    type Reply = Vec<ListedBucket>;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "sync/buckets")
    }
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ListedBucket {
    /// `tenant:name:bucket_id`.
    pub key: String,
    #[serde(default, deserialize_with = "or_default")]
    pub num_objects: u64,
}

/// `GET /admin/sync/objects?bucket=B&marker=M&max-entries=N[&with-data]`: a page of a bucket's state after
/// `marker`, with the tombstones of deleted keys in the same key range and (`with_data`) the bytes of its
/// small versions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectsCall {
    pub bucket: String,
    pub marker: String,
    pub max_entries: usize,
    pub with_data: bool,
}

impl Call for ObjectsCall {
    type Reply = ObjectListing;

    fn request(&self) -> AdminRequest {
        let req = AdminRequest::new(Method::GET, "sync/objects")
            .param("bucket", self.bucket.clone())
            .param("marker", self.marker.clone())
            .param("max-entries", self.max_entries.to_string());
        // A bare `with-data` (no value), as the server tests for the parameter's presence.
        if self.with_data {
            req.param("with-data", "")
        } else {
            req
        }
    }
}

/// The reply of [`ObjectsCall`].
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct ObjectListing {
    /// Current versions.
    #[serde(deserialize_with = "or_default")]
    pub objects: Vec<ObjectMeta>,
    /// Noncurrent versions and delete markers.
    #[serde(deserialize_with = "or_default")]
    pub versions: Vec<ObjectMeta>,
    #[serde(deserialize_with = "or_default")]
    pub tombstones: Vec<(String, Tombstone)>,
    /// Versions removed by id: key and the version's order.
    #[serde(deserialize_with = "or_default")]
    pub removed_versions: Vec<(String, WriteOrder)>,
    #[serde(deserialize_with = "or_default")]
    pub truncated: bool,
    /// The last key of the page: where the next page starts.
    pub next_marker: Option<String>,
    /// The bytes of the page's small versions, by fetch spec (up to 8 MiB in all).
    #[serde(deserialize_with = "or_default")]
    pub data: Vec<ListedData>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ListedData {
    pub spec: String,
    #[serde(with = "base64_bytes")]
    pub data: bytes::Bytes,
}

/// `GET /admin/sync/trimmed`: how far the source trimmed each of its logs (a reader further back missed
/// entries: see `meridian_sync::gap`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimmedCall;

impl Call for TrimmedCall {
    type Reply = TrimmedLogs;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "sync/trimmed")
    }
}

/// The reply of [`TrimmedCall`]: the last trimmed marker per metadata- and data-log shard, and per bucket
/// instance id.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct TrimmedLogs {
    #[serde(deserialize_with = "or_default")]
    pub metadata: BTreeMap<u32, String>,
    #[serde(deserialize_with = "or_default")]
    pub data: BTreeMap<u32, String>,
    #[serde(deserialize_with = "or_default")]
    pub buckets: BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use meridian_model::Timestamp;

    #[test]
    fn the_listings_read_back_as_written() {
        let order = WriteOrder {
            mtime: Timestamp(7),
            origin: "z-east".into(),
        };
        let listing = ObjectListing {
            objects: vec![ObjectMeta {
                key: "a".into(),
                size: 2,
                ..Default::default()
            }],
            versions: vec![],
            tombstones: vec![("b".into(), order.clone())],
            removed_versions: vec![("c".into(), order)],
            truncated: true,
            next_marker: Some("c".into()),
            data: vec![ListedData {
                spec: "a".into(),
                data: bytes::Bytes::from_static(b"hi"),
            }],
        };
        let json = serde_json::to_string(&listing).unwrap();
        assert_eq!(serde_json::from_str::<ObjectListing>(&json).unwrap(), listing);
        let buckets = vec![ListedBucket {
            key: ":photos:b-1".into(),
            num_objects: 3,
        }];
        let json = serde_json::to_string(&buckets).unwrap();
        assert_eq!(json, r#"[{"key":":photos:b-1","num_objects":3}]"#);
        assert_eq!(serde_json::from_str::<Vec<ListedBucket>>(&json).unwrap(), buckets);
        let trimmed = TrimmedLogs {
            metadata: [(3, "1_00000000000000000012".to_string())].into(),
            data: BTreeMap::new(),
            buckets: [("b-1".to_string(), "00000000000000000004".to_string())].into(),
        };
        let json = serde_json::to_string(&trimmed).unwrap();
        assert_eq!(
            json,
            r#"{"metadata":{"3":"1_00000000000000000012"},"data":{},"buckets":{"b-1":"00000000000000000004"}}"#
        );
        assert_eq!(serde_json::from_str::<TrimmedLogs>(&json).unwrap(), trimmed);
    }

    /// A page as the server sent it before these types (built with `json!`), and a bare one.
    #[test]
    fn reads_the_listing_as_served_before() {
        let page: ObjectListing = serde_json::from_str(
            r#"{"objects":[{"key":"k","instance":"i","size":2,"etag":"e","mtime":5,"owner":"o",
                "headers":{},"manifest":{"segments":[]},"zones_trace":["z-east"]}],
                "versions":[],"tombstones":[["gone",{"mtime":9,"origin":"z-east"}]],"removed_versions":[],
                "truncated":false,"next_marker":null,"data":[{"spec":"k","data":"aGk="}]}"#,
        )
        .unwrap();
        assert_eq!(page.objects[0].zones_trace, vec!["z-east".to_string()]);
        assert_eq!(page.tombstones[0].1.mtime, Timestamp(9));
        assert_eq!(page.data[0].data.as_ref(), b"hi");
        let bare: ObjectListing = serde_json::from_str("{}").unwrap();
        assert!(!bare.truncated && bare.objects.is_empty() && bare.next_marker.is_none());
        let buckets: Vec<ListedBucket> = serde_json::from_str(r#"[{"key":":b:1","num_objects":null}]"#).unwrap();
        assert_eq!(buckets[0].num_objects, 0);
    }
}
