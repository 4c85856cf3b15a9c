//! Starting the web dashboard (crates/dashboard) beside a zone's server when `dashboard_listen` is set.

use anyhow::Context;
use meridian_gateway::Gateway;
use std::net::SocketAddr;
use std::time::Duration;

/// Binds `listen` and serves the dashboard for the zone served at `s3_local` until the process ends.
pub async fn spawn(listen: SocketAddr, s3_local: SocketAddr, gw: &Gateway) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen} (dashboard_listen)"))?;
    let local = listener.local_addr()?;
    // The dashboard reaches this zone over loopback when the server listens on every address.
    let mut home = s3_local;
    if home.ip().is_unspecified() {
        home.set_ip(if home.is_ipv4() {
            std::net::Ipv4Addr::LOCALHOST.into()
        } else {
            std::net::Ipv6Addr::LOCALHOST.into()
        });
    }
    let site = gw.site();
    // Read-only realm views are signed with the zone's system key; outside a realm, the local admin key.
    let service = if site.system_key.access_key.is_empty() {
        gw.realm().local_admin_key().await?
    } else {
        site.system_key.clone()
    };
    let cfg = meridian_dashboard::DashboardConfig {
        home_endpoint: format!("http://{home}"),
        home_zone: site.zone_id.clone(),
        service_access_key: service.access_key,
        service_secret_key: service.secret_key,
        sample_interval: Duration::from_secs(2),
    };
    tokio::spawn(async move {
        if let Err(e) = meridian_dashboard::serve(listener, cfg, std::future::pending()).await {
            tracing::error!(error = %e, "the dashboard stopped");
        }
    });
    Ok(local)
}
