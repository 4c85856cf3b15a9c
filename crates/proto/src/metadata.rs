//! `/admin/metadata`: RGW's metadata entries (`user:<id>`, `bucket:[<tenant>/]<name>`,
//! `bucket.instance:[<tenant>/]<name>:<bucket id>`) in RGW's envelope `{"key","ver","mtime","data"}`, and
//! the calls that get and put one. The entry's `data` is typed by section ([`UserInfo`],
//! [`BucketEntrypoint`], [`BucketInstance`], all in `rgw`), or kept as JSON where the section is not
//! known in advance (an operator's put, a key copied as it is).

use crate::rgw::{rfc3339, BucketEntrypoint, BucketInstance, UserInfo};
use crate::{AdminRequest, Call};
use http::Method;
use meridian_model::{ObjVersion, Timestamp};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// The metadata sections, in RGW's order.
pub const SECTIONS: [&str; 3] = ["bucket", "bucket.instance", "user"];

/// How a malformed key is answered: the forms a key may take.
pub const KEY_FORMS: &str =
    "a metadata key is user:<uid>, bucket:[<tenant>/]<name> or bucket.instance:[<tenant>/]<name>:<bucket id>";

/// One metadata entry as RGW's `metadata get` prints it and `metadata put` takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetadataEntry<D = serde_json::Value> {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub ver: ObjVersion,
    #[serde(default, with = "rfc3339")]
    pub mtime: Timestamp,
    pub data: D,
}

impl<D> MetadataEntry<D> {
    /// The same envelope around other data.
    pub fn with_data<E>(self, data: E) -> MetadataEntry<E> {
        MetadataEntry {
            key: self.key,
            ver: self.ver,
            mtime: self.mtime,
            data,
        }
    }
}

/// The entry of a bucket instance: what a bucket change on the master reads, edits and puts back.
pub type InstanceEntry = MetadataEntry<BucketInstance>;

/// `GET /admin/metadata/<section>?key=K`: one entry, its data read as `D`.
#[derive(Debug, Clone, PartialEq)]
pub struct GetEntry<D> {
    pub section: String,
    pub key: String,
    data: PhantomData<fn() -> D>,
}

impl<D> GetEntry<D> {
    /// `section` and the key within it (`bucket.instance`, `photos:<id>`).
    pub fn new(section: &str, key: &str) -> Self {
        Self {
            section: section.to_string(),
            key: key.to_string(),
            data: PhantomData,
        }
    }
}

impl GetEntry<UserInfo> {
    pub fn user(full_id: &str) -> Self {
        Self::new("user", full_id)
    }
}

impl GetEntry<BucketEntrypoint> {
    /// `spec` is `[tenant/]name`.
    pub fn bucket(spec: &str) -> Self {
        Self::new("bucket", spec)
    }
}

impl GetEntry<BucketInstance> {
    /// `spec_and_id` is `[tenant/]name:<bucket id>`.
    pub fn instance(spec_and_id: &str) -> Self {
        Self::new("bucket.instance", spec_and_id)
    }
}

impl<D: Serialize + DeserializeOwned> Call for GetEntry<D> {
    type Reply = MetadataEntry<D>;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, &format!("metadata/{}", self.section)).param("key", self.key.clone())
    }
}

/// `PUT /admin/metadata/<section>?key=K[&sync]` with the entry as the body: the handler answers with the
/// entry as stored afterwards. Without `sync` the put is checked (the entry must carry the version it was
/// read at).
#[derive(Debug, Clone, PartialEq)]
pub struct PutEntry<'a, D> {
    pub section: &'a str,
    pub key: &'a str,
    pub entry: &'a MetadataEntry<D>,
    pub sync: bool,
}

impl<D: Serialize + DeserializeOwned> Call for PutEntry<'_, D> {
    type Reply = MetadataEntry<D>;

    fn request(&self) -> AdminRequest {
        let req = AdminRequest::new(Method::PUT, &format!("metadata/{}", self.section))
            .param("key", self.key)
            .flag("sync", self.sync);
        match serde_json::to_value(self.entry) {
            Ok(body) => req.with_body(body),
            // An entry is plain data: it always encodes; a body-less put is refused by the handler.
            Err(_) => req,
        }
    }
}
