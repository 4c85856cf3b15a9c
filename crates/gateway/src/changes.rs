//! Change notifications: a broadcast, sent after commit, of which bucket's metadata changed and of each new
//! site view (period), so in-memory views (the DNS index) follow the metadata without polling the store.

use crate::Gateway;

/// How many notifications a slow receiver may fall behind before it is told it lagged (and must re-read
/// everything).
pub const CAPACITY: usize = 4096;

/// What changed. Receivers read the current state themselves: a notification carries no data, so a late or
/// repeated one is harmless.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetaChange {
    /// The bucket `tenant/name` was created, changed or removed.
    Bucket { tenant: String, name: String },
    /// The site view was swapped (a new period: zonegroups, endpoints, hostnames).
    Site,
    /// Another gateway of the zone (a process over the same shared store) committed something: which buckets
    /// changed is in the metadata log, which receivers read from where they last stopped.
    Elsewhere,
}

impl Gateway {
    /// A receiver of every change committed from now on.
    pub fn subscribe_changes(&self) -> tokio::sync::broadcast::Receiver<MetaChange> {
        self.core.changes.subscribe()
    }
}
