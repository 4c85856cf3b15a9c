//! Moving a bucket to another zonegroup, online (`meridian bucket move`). The metadata master holds one
//! durable record per move (`record.rs`) and drives it through its phases (`master.rs`): prepare, copy,
//! cut-over, cleanup (or cancel). The zones of the target zonegroup copy the bucket from every zone of the
//! source zonegroup with the bucket sync code of `bucket.rs` (full, then incremental from the bilog;
//! `copy.rs`), and report to the master; the master calls the zones for everything else (`zone.rs`). See
//! docs/architecture.md ("Moving a bucket") and docs/decisions.md.

pub mod copy;
pub mod master;
pub mod record;
pub mod zone;

use crate::error::{Result, SyncError};
use meridian_gateway::Gateway;
use meridian_model::ZoneGroupZone;
pub use meridian_peer::proto::bucket_move::{MoveZoneCall, MoveZoneReply};
use std::sync::LazyLock;
use std::time::Duration;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct RelocateOptions {
    /// How often the master advances moves and target zones ask it for work and report.
    pub poll_interval: Duration,
    /// After the flip, how long the source zonegroup keeps its copy before it is reclaimed.
    pub grace: Duration,
    /// A cut-over that has not finished in this time is abandoned (fences lifted; the copy goes on and a
    /// later attempt follows).
    pub cutover_timeout: Duration,
    /// Objects fetched at once from one source zone.
    pub concurrency: usize,
}

impl Default for RelocateOptions {
    fn default() -> Self {
        Self {
            poll_interval: Duration::from_secs(1),
            grace: Duration::from_secs(24 * 3600),
            cutover_timeout: Duration::from_secs(30),
            concurrency: 8,
        }
    }
}

/// Rung by a `wake` call or a report: the loops look again at once.
pub(crate) static WAKE: LazyLock<Notify> = LazyLock::new(Notify::new);
/// Rung when a target zone reports: the master's driver looks at once.
pub(crate) static REPORTED: LazyLock<Notify> = LazyLock::new(Notify::new);

static OPTIONS: LazyLock<std::sync::RwLock<RelocateOptions>> =
    LazyLock::new(|| std::sync::RwLock::new(RelocateOptions::default()));

pub fn options() -> RelocateOptions {
    OPTIONS.read().map(|o| o.clone()).unwrap_or_default()
}

/// The master's driver (on the metadata master) and the target zone's copy worker (everywhere), for as
/// long as the process runs.
pub async fn run(gw: Gateway, opts: RelocateOptions) {
    if let Ok(mut o) = OPTIONS.write() {
        *o = opts.clone();
    }
    tokio::join!(master::run(gw.clone(), opts.clone()), copy::run(gw, opts));
}

/// Runs `call` on `zone`: in this process when it is this zone, else over the admin API.
pub(crate) async fn call_zone(gw: &Gateway, zone: &ZoneGroupZone, call: &MoveZoneCall) -> Result<MoveZoneReply> {
    let site = gw.site();
    let reply = if zone.id == site.zone_id {
        zone::handle(gw, call).await?
    } else {
        let source = crate::source::PeerSource::new(zone, &site).with_timeout(Duration::from_secs(10));
        source.call(call).await?
    };
    Ok(reply.unwrap_or_default())
}

/// The zones of a zonegroup that have endpoints, under the current period.
pub(crate) fn zones_of(gw: &Gateway, zonegroup: &str) -> Vec<ZoneGroupZone> {
    let site = gw.site();
    site.period
        .as_ref()
        .and_then(|p| p.zonegroup(zonegroup))
        .map(|zg| zg.zones.iter().filter(|z| !z.endpoints.is_empty()).cloned().collect())
        .unwrap_or_default()
}

pub(crate) fn protocol(msg: impl Into<String>) -> SyncError {
    SyncError::Protocol(msg.into())
}
