//! The web dashboard: server-rendered pages (maud) on their own listener, showing the realm, replication,
//! buckets, objects, users and charts. It holds no data of its own: every page and action is an S3 or admin
//! request, signed with the logged-in user's key (or, for realm-wide read-only views, the zone's system
//! key) and sent to a zone's endpoint, so the same authentication and permission checks apply as for any
//! other client.

mod charts;
pub mod error;
mod pages;
pub mod realm;
pub mod s3;
mod samples;
mod session;
mod transfer;
mod web;

pub use error::DashError;
pub use s3::S3Client;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// What the dashboard needs to know about the zone it runs beside.
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    /// The S3 + admin endpoint of this zone, as the dashboard reaches it (e.g. `http://127.0.0.1:7480`).
    pub home_endpoint: String,
    /// This zone's id.
    pub home_zone: String,
    /// A system key: the realm's zone system key (or, outside a realm, the local admin key). Used only for
    /// read-only views: the period, sync status, bucket statistics of the logged-in user's own buckets.
    pub service_access_key: String,
    pub service_secret_key: String,
    /// How often the charts' samples are taken.
    pub sample_interval: Duration,
}

pub(crate) struct Inner {
    pub cfg: DashboardConfig,
    pub sessions: session::Sessions,
    pub samples: samples::Samples,
    /// The last topology read, shown while the home zone does not answer.
    pub topology: std::sync::Mutex<Option<realm::Topology>>,
}

#[derive(Clone)]
pub(crate) struct App(pub Arc<Inner>);

impl std::ops::Deref for App {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

/// Serves the dashboard on `listener` until `shutdown` resolves; samples the realm in the background.
pub async fn serve(
    listener: tokio::net::TcpListener,
    cfg: DashboardConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = App(Arc::new(Inner {
        cfg,
        sessions: session::Sessions::default(),
        samples: samples::Samples::default(),
        topology: std::sync::Mutex::new(None),
    }));
    let sampler = tokio::spawn(web::run_sampler(app.clone()));
    let result = axum::serve(listener, web::router(app))
        .with_graceful_shutdown(shutdown)
        .await;
    sampler.abort();
    result
}
