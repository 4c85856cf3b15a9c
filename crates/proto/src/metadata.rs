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

/// `GET /admin/metadata/<section>?max-entries=N[&marker=M]`: one page of a section's keys, in sorted order
/// (RGW's metadata full sync pages this way; without `max-entries` and `marker` the handler answers RGW's
/// plain array of every key, which [`KeyPage`] also reads).
#[derive(Debug, Clone, PartialEq)]
pub struct ListKeys {
    pub section: String,
    pub max_entries: usize,
    /// The last key of the previous page (empty: from the start).
    pub marker: String,
}

impl Call for ListKeys {
    type Reply = KeyPage;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, &format!("metadata/{}", self.section))
            .param("max-entries", self.max_entries.to_string())
            .opt("marker", Some(self.marker.clone()).filter(|m| !m.is_empty()))
    }
}

/// A page of a section's keys: `{"keys", "truncated", "count", "marker"}`, or RGW's plain array of every key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KeyPage {
    pub keys: Vec<String>,
    pub truncated: bool,
    /// Where the next page starts (the last key of this one); only when truncated.
    pub marker: Option<String>,
}

/// The two shapes on the wire.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum KeyPageWire {
    All(Vec<String>),
    Page {
        #[serde(default)]
        keys: Vec<String>,
        #[serde(default)]
        truncated: bool,
        #[serde(default)]
        count: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        marker: Option<String>,
    },
}

impl Serialize for KeyPage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        KeyPageWire::Page {
            keys: self.keys.clone(),
            truncated: self.truncated,
            count: self.keys.len(),
            marker: self.marker.clone(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyPage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match KeyPageWire::deserialize(d)? {
            KeyPageWire::All(keys) => KeyPage {
                keys,
                truncated: false,
                marker: None,
            },
            KeyPageWire::Page {
                keys,
                truncated,
                marker,
                ..
            } => KeyPage {
                keys,
                truncated,
                marker: marker.filter(|_| truncated),
            },
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_page_reads_both_shapes_and_writes_the_paged_one() {
        let all: KeyPage = serde_json::from_str(r#"["user:a","user:b"]"#).unwrap();
        assert_eq!(all.keys, ["user:a", "user:b"]);
        assert!(!all.truncated);
        let page: KeyPage =
            serde_json::from_str(r#"{"keys":["a","b"],"truncated":true,"count":2,"marker":"b"}"#).unwrap();
        assert_eq!(
            (page.keys.len(), page.truncated, page.marker.as_deref()),
            (2, true, Some("b"))
        );
        let written = serde_json::to_string(&page).unwrap();
        assert_eq!(written, r#"{"keys":["a","b"],"truncated":true,"count":2,"marker":"b"}"#);
        let last = KeyPage {
            keys: vec!["c".into()],
            truncated: false,
            marker: None,
        };
        assert_eq!(
            serde_json::to_string(&last).unwrap(),
            r#"{"keys":["c"],"truncated":false,"count":1}"#
        );
    }
}
