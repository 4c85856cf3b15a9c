//! Periods between zones: `period update --commit` (committed here on the master zone and pushed to every
//! other zone, or sent to the master to commit), the push itself, and `period pull` / `realm pull`.

use crate::forward::{gateway_error, system_client, system_failover};
use meridian_gateway::realm::Accepted;
use meridian_gateway::{Gateway, GatewayError};
use meridian_model::{AccessKey, Period, Realm};
use meridian_peer::PeerError;
use meridian_proto::period::{GetPeriod, GetRealm, PostPeriod};
use std::time::Duration;

/// `period update --commit`: builds the realm's staging period, then commits it here when this zone is its
/// master (pushing it to the others), or has the master commit it.
pub async fn commit_staging(gw: &Gateway, realm: Option<&str>) -> Result<Period, GatewayError> {
    let staging = gw.realm().update_period(realm).await?;
    if staging.master_zone.is_empty() || staging.master_zone == gw.site().zone_id {
        commit_and_push(gw, staging).await
    } else {
        commit_on_master(gw, &staging).await
    }
}

/// "Commit, then push", the one place it is written: commits a staging period on this, its master zone
/// (refused on any other zone), and pushes the committed period to every other zone. Push failures are
/// logged where they happen and do not fail the commit: a zone that missed the push pulls the period later.
pub async fn commit_and_push(gw: &Gateway, staging: Period) -> Result<Period, GatewayError> {
    let site = gw.site();
    if !staging.master_zone.is_empty() && staging.master_zone != site.zone_id {
        return Err(GatewayError::Conflict(format!(
            "this zone ({}) is not the master zone {} of the staging period: send it to the master",
            site.zone_name, staging.master_zone
        )));
    }
    let committed = gw.realm().commit_period(staging).await?;
    push_period(gw, &committed).await;
    Ok(committed)
}

/// `period update --commit` on a zone that is not the master: the master commits our staging period and
/// answers with the committed one, which becomes current here too.
async fn commit_on_master(gw: &Gateway, staging: &Period) -> Result<Period, GatewayError> {
    let site = gw.site();
    let endpoints = site
        .period
        .as_ref()
        .map(|p| p.master_endpoints())
        .filter(|e| !e.is_empty())
        .or_else(|| {
            staging
                .zone(&staging.master_zone)
                .map(|z| z.endpoints.clone())
                .filter(|e| !e.is_empty())
        })
        .ok_or_else(|| {
            GatewayError::MasterUnavailable(format!(
                "the master zone {} has no endpoints to send the period to",
                staging.master_zone
            ))
        })?;
    let committed = system_failover(&site, &endpoints)
        .call(&PostPeriod(staging))
        .await
        .map_err(|e| match e {
            PeerError::BadReply { message, .. } => {
                GatewayError::MasterUnavailable(format!("the master answered with a malformed period: {message}"))
            }
            other => gateway_error(other),
        })?;
    gw.realm().accept_period(committed.clone()).await?;
    Ok(committed)
}

/// Sends a committed period to every other zone of the realm (they switch to it without a restart). A zone
/// that misses it catches up by pulling.
pub async fn push_period(gw: &Gateway, period: &Period) {
    let site = gw.site();
    let zones: Vec<(String, Vec<String>)> = period
        .period_map
        .zonegroups
        .iter()
        .flat_map(|zg| zg.zones.iter())
        .filter(|z| z.id != site.zone_id)
        .map(|z| (z.name.clone(), z.endpoints.clone()))
        .collect();
    let pushes = zones.into_iter().map(|(zone, endpoints)| {
        let peers = system_failover(&site, &endpoints);
        async move {
            // (error, whether the zone answered at all)
            let error = if endpoints.is_empty() {
                Some(("the zone has no endpoints".to_string(), false))
            } else {
                match tokio::time::timeout(Duration::from_secs(10), peers.call(&PostPeriod(period))).await {
                    Ok(Ok(_)) => None,
                    Ok(Err(e @ PeerError::Unreachable { .. })) => Some((e.to_string(), false)),
                    Ok(Err(e)) => Some((e.to_string(), true)),
                    Err(_) => Some(("timed out".to_string(), false)),
                }
            };
            match &error {
                None => tracing::info!(%zone, "period pushed"),
                // A zone that is not running yet (or is down) is normal during setup: harmless.
                Some((e, false)) => tracing::info!(
                    %zone,
                    error = %e,
                    "period not pushed: the zone is not reachable (not started yet?); it will pull the period itself"
                ),
                Some((e, true)) => tracing::warn!(%zone, error = %e, "period push failed; the zone will pull it"),
            }
        }
    });
    futures::future::join_all(pushes).await;
}

/// A reply from `url` that is not the document asked for.
fn malformed(url: &str, what: &str, e: PeerError) -> GatewayError {
    match e {
        PeerError::BadReply { message, .. } => {
            GatewayError::MasterUnavailable(format!("{url} answered with a malformed {what}: {message}"))
        }
        other => gateway_error(other),
    }
}

/// `period pull`: fetches the current period from `url` and makes it current here if it is newer.
pub async fn pull_period(gw: &Gateway, url: &str, key: Option<&AccessKey>) -> Result<(Period, Accepted), GatewayError> {
    let client = system_client(&gw.site(), url, key);
    let period = client
        .call(&GetPeriod::default())
        .await
        .map_err(|e| malformed(url, "period", e))?;
    let accepted = gw.realm().accept_period(period.clone()).await?;
    Ok((period, accepted))
}

/// `realm pull`: fetches the realm and its current period from `url` (a zone of that realm).
pub async fn pull_realm(gw: &Gateway, url: &str, key: Option<&AccessKey>) -> Result<Realm, GatewayError> {
    let client = system_client(&gw.site(), url, key);
    let realm = client.call(&GetRealm).await.map_err(|e| malformed(url, "realm", e))?;
    let period = client
        .call(&GetPeriod {
            period_id: Some(realm.current_period.clone()),
            epoch: None,
        })
        .await
        .map_err(|e| malformed(url, "period", e))?;
    gw.realm().adopt_realm(realm, period).await
}
