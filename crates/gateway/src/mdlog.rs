//! The metadata log: every user and bucket metadata change, sharded, written in the transaction of the
//! change, so the metadata sync of other zones replays changes in order instead of rescanning everything.

use crate::error::Result;
use crate::{keys, records};
use meridian_model::{Bucket, MdlogEntry, MdlogStatus, ObjVersion, Timestamp, User};
use meridian_store::WriteTxn;

fn record(txn: &mut dyn WriteTxn, section: &str, name: &str, ver: &ObjVersion, status: MdlogStatus) -> Result<()> {
    let seq = records::next_seq(txn, "mdlog")?;
    let entry = MdlogEntry {
        id: keys::marker(seq),
        section: section.to_string(),
        name: name.to_string(),
        timestamp: Timestamp::now(),
        ver: ver.clone(),
        status,
    };
    let mut key = keys::mdlog_prefix(keys::mdlog_shard(section, name));
    key.extend_from_slice(entry.id.as_bytes());
    records::put(txn, &key, &entry)?;
    crate::note_logged(true);
    Ok(())
}

pub(crate) fn user_written(txn: &mut dyn WriteTxn, user: &User) -> Result<()> {
    record(txn, "user", &user.full_id(), &user.ver, MdlogStatus::Write)
}

pub(crate) fn user_removed(txn: &mut dyn WriteTxn, user: &User) -> Result<()> {
    record(txn, "user", &user.full_id(), &user.ver, MdlogStatus::Remove)
}

pub(crate) fn bucket_written(txn: &mut dyn WriteTxn, bucket: &Bucket) -> Result<()> {
    record(txn, "bucket", &bucket_name(bucket), &bucket.ver, MdlogStatus::Write)
}

pub(crate) fn bucket_removed(txn: &mut dyn WriteTxn, bucket: &Bucket) -> Result<()> {
    record(txn, "bucket", &bucket_name(bucket), &bucket.ver, MdlogStatus::Remove)
}

/// The bucket's name as `metadata get bucket:<name>` takes it.
fn bucket_name(b: &Bucket) -> String {
    crate::metadata::bucket_spec(&b.tenant, &b.name)
}

impl crate::LogService<'_> {
    /// Metadata log entries of one shard after `marker` (exclusive), at most `max`.
    pub async fn list_mdlog(&self, shard: u32, marker: Option<String>, max: usize) -> Result<Vec<MdlogEntry>> {
        self.core
            .read(move |r| records::list_after(r, &keys::mdlog_prefix(shard), marker.as_deref(), max))
            .await
    }
}
