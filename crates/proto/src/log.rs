//! `/admin/log`: the metadata log, the data log and the bucket-index log, as RGW's admin API serves them
//! (its field names and shapes, which other tools and the dashboard read): entries, shard heads (`info`)
//! and trims. The calls a sync agent makes are here beside their replies; `meridian_admin::logs` answers
//! them with these types.

use crate::wire::{rfc3339, rfc3339_opt};
use crate::{or_default, AdminRequest, Call};
use http::Method;
use meridian_model::{
    BilogEntry, BilogOp, DatalogEntry, LogShardInfo, MdlogEntry, MdlogStatus, ObjVersion, Timestamp, WriteOrder,
};
use serde::{Deserialize, Serialize};

/// Which sharded log a call reads: RGW's `type` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardedLog {
    Metadata,
    Data,
}

impl ShardedLog {
    pub fn as_str(self) -> &'static str {
        match self {
            ShardedLog::Metadata => "metadata",
            ShardedLog::Data => "data",
        }
    }
}

/// `GET /admin/log?type=metadata|data&info`: the head of every shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogInfoCall {
    pub log: ShardedLog,
}

impl Call for LogInfoCall {
    type Reply = LogInfo;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "log")
            .param("type", self.log.as_str())
            .param("info", "")
    }
}

/// The reply of [`LogInfoCall`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct LogInfo {
    #[serde(default)]
    pub num_shards: u32,
    pub shards: Vec<ShardHead>,
}

/// Where a log shard ends (`GET /admin/log?type=..&id=N&info`, and each of [`LogInfo::shards`]).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardHead {
    #[serde(default, deserialize_with = "or_default")]
    pub marker: String,
    #[serde(default, with = "rfc3339_opt")]
    pub last_update: Option<Timestamp>,
}

impl From<&LogShardInfo> for ShardHead {
    fn from(info: &LogShardInfo) -> Self {
        ShardHead {
            marker: info.marker.clone(),
            last_update: info.last_update,
        }
    }
}

impl From<ShardHead> for LogShardInfo {
    fn from(head: ShardHead) -> Self {
        LogShardInfo {
            marker: head.marker,
            last_update: head.last_update,
        }
    }
}

/// `GET /admin/log?type=metadata&id=N&marker=M&max-entries=K`: one page of a metadata-log shard after `marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdlogListCall {
    pub shard: u32,
    pub marker: String,
    pub max_entries: usize,
}

impl Call for MdlogListCall {
    type Reply = LogPage<MdlogEntryDoc>;

    fn request(&self) -> AdminRequest {
        shard_page(ShardedLog::Metadata, self.shard, &self.marker, self.max_entries)
    }
}

/// `GET /admin/log?type=data&id=N&marker=M&max-entries=K`: one page of a data-log shard after `marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatalogListCall {
    pub shard: u32,
    pub marker: String,
    pub max_entries: usize,
}

impl Call for DatalogListCall {
    type Reply = LogPage<DatalogEntryDoc>;

    fn request(&self) -> AdminRequest {
        shard_page(ShardedLog::Data, self.shard, &self.marker, self.max_entries)
    }
}

fn shard_page(log: ShardedLog, shard: u32, marker: &str, max: usize) -> AdminRequest {
    AdminRequest::new(Method::GET, "log")
        .param("type", log.as_str())
        .param("id", shard.to_string())
        .param("marker", marker)
        .param("max-entries", max.to_string())
}

/// One page of a sharded log: the last marker read (or the one asked from), the entries, and whether the
/// shard holds more after them.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
#[serde(bound(deserialize = "E: Deserialize<'de>"))]
pub struct LogPage<E> {
    #[serde(default, deserialize_with = "or_default")]
    pub marker: String,
    #[serde(default = "Vec::new", deserialize_with = "or_default")]
    pub entries: Vec<E>,
    #[serde(default, deserialize_with = "or_default")]
    pub truncated: bool,
}

/// A metadata-log entry as RGW prints it: which entry (`section`, `name`) changed, to which version.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct MdlogEntryDoc {
    pub id: String,
    pub section: String,
    pub name: String,
    #[serde(with = "rfc3339")]
    pub timestamp: Timestamp,
    #[serde(default)]
    pub data: MdlogData,
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct MdlogData {
    pub read_version: ObjVersion,
    pub write_version: ObjVersion,
    pub status: MdlogStatusDoc,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
pub struct MdlogStatusDoc {
    pub status: MdlogStatus,
}

impl Default for MdlogStatusDoc {
    fn default() -> Self {
        MdlogStatusDoc {
            status: MdlogStatus::Write,
        }
    }
}

impl MdlogEntryDoc {
    /// The entry's key as `metadata get` takes it: `section:name`.
    pub fn key(&self) -> String {
        format!("{}:{}", self.section, self.name)
    }
}

impl From<&MdlogEntry> for MdlogEntryDoc {
    fn from(e: &MdlogEntry) -> Self {
        MdlogEntryDoc {
            id: e.id.clone(),
            section: e.section.clone(),
            name: e.name.clone(),
            timestamp: e.timestamp,
            data: MdlogData {
                read_version: e.ver.clone(),
                write_version: e.ver.clone(),
                status: MdlogStatusDoc { status: e.status },
            },
        }
    }
}

/// A data-log entry as RGW prints it: "bucket `entry.key` changed".
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DatalogEntryDoc {
    #[serde(default)]
    pub shard: u32,
    pub log_id: String,
    #[serde(with = "rfc3339")]
    pub log_timestamp: Timestamp,
    pub entry: DatalogChange,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct DatalogChange {
    /// `tenant:name:bucket_id`.
    pub key: String,
    #[serde(default, with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}

impl DatalogEntryDoc {
    pub fn new(shard: u32, e: &DatalogEntry) -> Self {
        DatalogEntryDoc {
            shard,
            log_id: e.marker.clone(),
            log_timestamp: e.timestamp,
            entry: DatalogChange {
                key: e.key.clone(),
                timestamp: Some(e.timestamp),
            },
        }
    }
}

/// `GET /admin/log?type=bucket-index&bucket=B&info`: where a bucket's index log ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilogInfoCall {
    pub bucket: String,
}

impl Call for BilogInfoCall {
    type Reply = BilogInfo;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "log")
            .param("type", "bucket-index")
            .param("bucket", self.bucket.clone())
            .param("info", "")
    }
}

/// The reply of [`BilogInfoCall`] (RGW's names; Meridian's three markers are the same).
#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
#[serde(default)]
pub struct BilogInfo {
    #[serde(deserialize_with = "or_default")]
    pub bucket_ver: String,
    #[serde(deserialize_with = "or_default")]
    pub master_ver: String,
    #[serde(deserialize_with = "or_default")]
    pub max_marker: String,
    #[serde(deserialize_with = "or_default")]
    pub syncstopped: bool,
}

impl BilogInfo {
    pub fn at(marker: &str) -> Self {
        BilogInfo {
            bucket_ver: marker.to_string(),
            master_ver: marker.to_string(),
            max_marker: marker.to_string(),
            syncstopped: false,
        }
    }
}

/// `GET /admin/log?type=bucket-index&bucket=B&marker=M&max-entries=K`: a bucket's index log after `marker`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BilogListCall {
    pub bucket: String,
    pub marker: String,
    pub max_entries: usize,
}

impl Call for BilogListCall {
    type Reply = Vec<BilogEntryDoc>;

    fn request(&self) -> AdminRequest {
        AdminRequest::new(Method::GET, "log")
            .param("type", "bucket-index")
            .param("bucket", self.bucket.clone())
            .param("marker", self.marker.clone())
            .param("max-entries", self.max_entries.to_string())
    }
}

/// A bucket-index-log entry as RGW prints it, with Meridian's `removed` (the order of the version an
/// `unlink_instance` removed: its id alone does not say which null version it was).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct BilogEntryDoc {
    pub op_id: String,
    /// The object instance the change made (Meridian's instance id).
    pub op_tag: String,
    pub op: BilogOp,
    pub object: String,
    /// The version id (empty in a never-versioned bucket).
    #[serde(default, deserialize_with = "or_default")]
    pub instance: String,
    #[serde(default = "complete")]
    pub state: String,
    #[serde(default)]
    pub index_ver: u64,
    #[serde(with = "rfc3339")]
    pub timestamp: Timestamp,
    #[serde(default)]
    pub ver: BilogVer,
    #[serde(default)]
    pub bilog_flags: u32,
    #[serde(default, deserialize_with = "or_default")]
    pub versioned: bool,
    #[serde(default, deserialize_with = "or_default")]
    pub owner: String,
    #[serde(default, deserialize_with = "or_default")]
    pub owner_display_name: String,
    #[serde(default, deserialize_with = "or_default")]
    pub zones_trace: Vec<ZoneTraceEntry>,
    #[serde(default, deserialize_with = "or_default")]
    pub etag: String,
    #[serde(default, deserialize_with = "or_default")]
    pub size: u64,
    #[serde(default)]
    pub removed: Option<WriteOrder>,
}

fn complete() -> String {
    "complete".to_string()
}

#[derive(Serialize, Deserialize, Debug, Clone, Default, PartialEq, Eq)]
pub struct BilogVer {
    pub pool: i64,
    pub epoch: u64,
}

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ZoneTraceEntry {
    pub entry: String,
}

impl From<&BilogEntry> for BilogEntryDoc {
    fn from(e: &BilogEntry) -> Self {
        let seq = e.op_id.parse::<u64>().unwrap_or(0);
        BilogEntryDoc {
            op_id: e.op_id.clone(),
            op_tag: e.instance.clone(),
            op: e.op,
            object: e.object.clone(),
            instance: e.version_id.clone(),
            state: complete(),
            index_ver: seq,
            timestamp: e.timestamp,
            ver: BilogVer { pool: -1, epoch: seq },
            bilog_flags: 0,
            versioned: !e.version_id.is_empty(),
            owner: String::new(),
            owner_display_name: String::new(),
            zones_trace: e
                .zones_trace
                .iter()
                .map(|z| ZoneTraceEntry { entry: z.clone() })
                .collect(),
            etag: e.etag.clone(),
            size: e.size,
            removed: e.removed.clone(),
        }
    }
}

impl From<BilogEntryDoc> for BilogEntry {
    fn from(e: BilogEntryDoc) -> Self {
        BilogEntry {
            op_id: e.op_id,
            op: e.op,
            object: e.object,
            instance: e.op_tag,
            timestamp: e.timestamp,
            etag: e.etag,
            size: e.size,
            zones_trace: e.zones_trace.into_iter().map(|z| z.entry).collect(),
            version_id: if e.versioned { e.instance } else { String::new() },
            removed: e.removed,
        }
    }
}

/// `POST /admin/log?type=..&marker=M` (trim): how many entries went.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Trimmed {
    #[serde(default)]
    pub trimmed: usize,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(doc: &T) {
        let text = serde_json::to_string(doc).unwrap();
        let back: T = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, doc, "{text}");
    }

    fn at(secs: u64) -> Timestamp {
        Timestamp(secs * 1_000_000_000 + 123_456_789)
    }

    fn bilog(version_id: &str, removed: Option<WriteOrder>) -> BilogEntry {
        BilogEntry {
            op_id: "00000000000000000007".into(),
            op: if removed.is_some() {
                BilogOp::DelVersion
            } else {
                BilogOp::Write
            },
            object: "photos/a.jpg".into(),
            instance: "inst-1".into(),
            timestamp: at(1_790_000_000),
            etag: "9e107d9d372bb6826bd81d3542a419d6".into(),
            size: 42,
            zones_trace: vec!["zone-a".into(), "zone-b".into()],
            version_id: version_id.into(),
            removed,
        }
    }

    #[test]
    fn every_log_reply_reads_back_as_written() {
        round_trip(&LogInfo {
            num_shards: 2,
            shards: vec![
                ShardHead {
                    marker: "1_00000000000000000003".into(),
                    last_update: Some(at(1_790_000_000)),
                },
                ShardHead::default(),
            ],
        });
        round_trip(&LogPage {
            marker: "1_00000000000000000004".into(),
            entries: vec![MdlogEntryDoc::from(&MdlogEntry {
                id: "1_00000000000000000004".into(),
                section: "user".into(),
                name: "alice".into(),
                timestamp: at(1_790_000_001),
                ver: ObjVersion {
                    tag: "t".into(),
                    ver: 3,
                },
                status: MdlogStatus::Remove,
            })],
            truncated: true,
        });
        round_trip(&LogPage {
            marker: "1_00000000000000000009".into(),
            entries: vec![DatalogEntryDoc::new(
                5,
                &DatalogEntry {
                    marker: "1_00000000000000000009".into(),
                    key: ":photos:b-1".into(),
                    timestamp: at(1_790_000_002),
                },
            )],
            truncated: false,
        });
        round_trip(&BilogInfo::at("00000000000000000012"));
        round_trip(&vec![
            BilogEntryDoc::from(&bilog("", None)),
            BilogEntryDoc::from(&bilog(
                "v1",
                Some(WriteOrder {
                    mtime: at(5),
                    origin: "zone-a".into(),
                }),
            )),
        ]);
        round_trip(&Trimmed { trimmed: 3 });
    }

    #[test]
    fn a_bilog_entry_is_the_model_entry_after_the_round_trip() {
        for e in [bilog("", None), bilog("null", None), bilog("v1", None)] {
            let json = serde_json::to_string(&BilogEntryDoc::from(&e)).unwrap();
            let back: BilogEntry = serde_json::from_str::<BilogEntryDoc>(&json).unwrap().into();
            assert_eq!(back, e);
        }
    }

    /// What the admin API sent before these types (encoded by hand with `json!`): still read.
    #[test]
    fn reads_the_documents_as_served_before() {
        let page: Vec<BilogEntryDoc> = serde_json::from_str(
            r#"[{"op_id":"00000000000000000002","op_tag":"0b5e7c1a","op":"unlink_instance","object":"k",
                "instance":"v-9","state":"complete","index_ver":2,"timestamp":"2026-12-02T16:33:40.5Z",
                "ver":{"pool":-1,"epoch":2},"bilog_flags":0,"versioned":true,"owner":"","owner_display_name":"",
                "zones_trace":[{"entry":"z-east"}],"etag":"","size":0,
                "removed":{"mtime":1790000000000000000,"origin":"z-east"}},
               {"op_id":"00000000000000000003","op_tag":"1c6f","op":"write","object":"k2","instance":"",
                "state":"complete","index_ver":3,"timestamp":"2026-12-02T16:33:41Z","ver":{"pool":-1,"epoch":3},
                "bilog_flags":0,"versioned":false,"owner":"","owner_display_name":"","zones_trace":[],
                "etag":"abc","size":7,"removed":null}]"#,
        )
        .unwrap();
        let entries: Vec<BilogEntry> = page.into_iter().map(BilogEntry::from).collect();
        assert_eq!(entries[0].op, BilogOp::DelVersion);
        assert_eq!(entries[0].version_id, "v-9");
        assert_eq!(entries[0].instance, "0b5e7c1a");
        assert_eq!(entries[0].zones_trace, vec!["z-east".to_string()]);
        assert_eq!(entries[0].removed.as_ref().map(|r| r.origin.as_str()), Some("z-east"));
        assert_eq!(entries[1].version_id, "");
        assert_eq!((entries[1].size, entries[1].etag.as_str()), (7, "abc"));
        assert!(entries[1].removed.is_none());

        let data: LogPage<DatalogEntryDoc> = serde_json::from_str(
            r#"{"marker":"1_00000000000000000009","entries":[{"shard":5,"log_id":"1_00000000000000000009",
                "log_timestamp":"2026-12-02T16:33:40.123456789Z",
                "entry":{"key":":photos:b-1","timestamp":"2026-12-02T16:33:40.123456789Z"}}],"truncated":false}"#,
        )
        .unwrap();
        assert_eq!(data.entries[0].entry.key, ":photos:b-1");
        assert_eq!(
            data.entries[0].log_timestamp.to_rfc3339(),
            "2026-12-02T16:33:40.123456789Z"
        );

        let md: LogPage<MdlogEntryDoc> = serde_json::from_str(
            r#"{"marker":"","entries":[{"id":"1_00000000000000000001","section":"bucket","name":"photos",
                "timestamp":"2026-12-02T16:33:40Z","data":{"read_version":{"tag":"x","ver":1},
                "write_version":{"tag":"x","ver":1},"status":{"status":"write"}}}],"truncated":false}"#,
        )
        .unwrap();
        assert_eq!(md.entries[0].key(), "bucket:photos");

        let info: LogInfo = serde_json::from_str(
            r#"{"num_shards":2,"shards":[{"marker":"1_00000000000000000003","last_update":"2026-12-02T16:33:40Z"},
                {"marker":"","last_update":null}]}"#,
        )
        .unwrap();
        assert_eq!(info.shards[1], ShardHead::default());
        let head: BilogInfo = serde_json::from_str(
            r#"{"bucket_ver":"00000000000000000012","master_ver":"00000000000000000012",
                "max_marker":"00000000000000000012","syncstopped":false}"#,
        )
        .unwrap();
        assert_eq!(head, BilogInfo::at("00000000000000000012"));
    }

    /// The exact JSON the server writes is RGW's (the dashboard and operators' scripts read it).
    #[test]
    fn writes_rgw_field_names_in_order() {
        let json = serde_json::to_string(&BilogEntryDoc::from(&bilog("", None))).unwrap();
        assert_eq!(
            json,
            r#"{"op_id":"00000000000000000007","op_tag":"inst-1","op":"write","object":"photos/a.jpg","instance":"","state":"complete","index_ver":7,"timestamp":"2026-09-21T14:13:20.123456789Z","ver":{"pool":-1,"epoch":7},"bilog_flags":0,"versioned":false,"owner":"","owner_display_name":"","zones_trace":[{"entry":"zone-a"},{"entry":"zone-b"}],"etag":"9e107d9d372bb6826bd81d3542a419d6","size":42,"removed":null}"#
        );
    }
}
