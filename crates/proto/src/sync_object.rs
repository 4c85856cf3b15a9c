//! `GET /admin/sync/object`: the wire names of the streamed object fetch, shared by the serving zone
//! (`meridian_admin`) and the fetching agent (`meridian_sync::source`).

/// The header carrying an object's metadata (base64 of its `ObjectMeta` JSON) on `GET /admin/sync/object`.
pub const OBJECT_META_HEADER: &str = "x-meridian-object";
