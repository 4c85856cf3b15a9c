//! Fetching objects for replication: `GET /admin/sync/object` (one object, streamed, its metadata in a
//! header) and `POST /admin/sync/fetch` (many small objects at once, bytes in the reply). The serving zone
//! (`meridian_admin`) and the fetching agent (`meridian_sync::source`) share these.

use crate::wire::base64_bytes;
use crate::{or_default, AdminRequest, Call};
use base64::Engine;
use http::Method;
use meridian_model::ObjectMeta;
use serde::{Deserialize, Serialize};

/// The header carrying an object's metadata (base64 of its `ObjectMeta` JSON) on `GET /admin/sync/object`.
pub const OBJECT_META_HEADER: &str = "x-meridian-object";

/// `GET /admin/sync/object?bucket=B&key=K[&version-id=V]`: the object's bytes, streamed, with its metadata
/// in [`OBJECT_META_HEADER`]. Not a [`Call`]: the reply is a byte stream, not a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectFetch {
    pub bucket: String,
    pub key: String,
    pub version_id: Option<String>,
}

impl ObjectFetch {
    pub fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "sync/object")
            .param("bucket", self.bucket.clone())
            .param("key", self.key.clone())
            .opt("version-id", self.version_id.clone())
    }
}

/// The value of [`OBJECT_META_HEADER`] for `meta` (sent without its manifest: where this zone keeps the
/// bytes is no other zone's business).
pub fn encode_meta_header(meta: &ObjectMeta) -> Result<String, serde_json::Error> {
    let meta = ObjectMeta {
        manifest: Default::default(),
        ..meta.clone()
    };
    Ok(base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&meta)?))
}

/// The metadata an [`OBJECT_META_HEADER`] value carries; `None` when it is not one.
pub fn decode_meta_header(value: &[u8]) -> Option<ObjectMeta> {
    let json = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
    serde_json::from_slice(&json).ok()
}

/// `POST /admin/sync/fetch?bucket=B` with `{"keys": [...]}`: many small objects at once. A key is a fetch
/// spec: the key (its current version) or `key\0version id` (that version).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchBatchCall {
    pub bucket: String,
    pub keys: Vec<String>,
}

/// The body of [`FetchBatchCall`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct FetchKeys {
    pub keys: Vec<String>,
}

impl Call for FetchBatchCall {
    type Reply = FetchedObjects;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::POST, "sync/fetch")
            .param("bucket", self.bucket.clone())
            .with_body(serde_json::json!({ "keys": self.keys }))
    }
}

/// The reply of [`FetchBatchCall`]: the objects sent with their bytes, the keys the source no longer
/// holds (`missing`), and those it answers without bytes (`large`: too large, or past the answer's
/// budget), to be fetched one by one.
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq)]
#[serde(default)]
pub struct FetchedObjects {
    #[serde(deserialize_with = "or_default")]
    pub objects: Vec<FetchedObject>,
    #[serde(deserialize_with = "or_default")]
    pub missing: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub large: Vec<String>,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct FetchedObject {
    /// The fetch spec asked for (the key when missing: an older server did not send it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// Without its manifest.
    pub meta: ObjectMeta,
    #[serde(with = "base64_bytes")]
    pub data: bytes::Bytes,
}

impl FetchedObject {
    pub fn spec(&self) -> &str {
        self.spec.as_deref().unwrap_or(&self.meta.key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(key: &str) -> ObjectMeta {
        ObjectMeta {
            key: key.into(),
            instance: "i-1".into(),
            size: 5,
            etag: "5d41402abc4b2a76b9719d911017c592".into(),
            mtime: meridian_model::Timestamp(1_790_000_000_000_000_000),
            zones_trace: vec!["z-east".into()],
            ..Default::default()
        }
    }

    #[test]
    fn a_fetch_batch_reads_back_as_written() {
        let reply = FetchedObjects {
            objects: vec![FetchedObject {
                spec: Some("a\0v1".into()),
                meta: meta("a"),
                data: bytes::Bytes::from_static(b"hello"),
            }],
            missing: vec!["gone".into()],
            large: vec!["big".into()],
        };
        let json = serde_json::to_value(&reply).unwrap();
        assert_eq!(json["objects"][0]["data"], "aGVsbG8=");
        assert_eq!(serde_json::from_value::<FetchedObjects>(json).unwrap(), reply);
        let call = FetchBatchCall {
            bucket: "b".into(),
            keys: vec!["a".into()],
        };
        let body: FetchKeys = serde_json::from_value(call.request().body.unwrap()).unwrap();
        assert_eq!(body.keys, vec!["a".to_string()]);
    }

    /// The reply as served before these types (built with `json!`), and an older one without `spec`.
    #[test]
    fn reads_the_fetch_reply_as_served_before() {
        let m = serde_json::to_value(meta("photos/a.jpg")).unwrap();
        let json = serde_json::json!({
            "objects": [{"spec": "photos/a.jpg", "meta": m, "data": "aGVsbG8="}, {"meta": m, "data": ""}],
            "missing": ["x"],
            "large": []
        });
        let reply: FetchedObjects = serde_json::from_value(json).unwrap();
        assert_eq!(reply.objects[0].data.as_ref(), b"hello");
        assert_eq!(reply.objects[1].spec(), "photos/a.jpg");
        assert_eq!(reply.missing, vec!["x".to_string()]);
    }

    #[test]
    fn the_meta_header_carries_the_metadata_without_its_manifest() {
        let m = meta("k");
        let header = encode_meta_header(&m).unwrap();
        assert_eq!(decode_meta_header(header.as_bytes()), Some(m));
        assert_eq!(decode_meta_header(b"not base64!"), None);
    }
}
