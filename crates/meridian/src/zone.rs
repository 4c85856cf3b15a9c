//! Opening a data directory (its stores, and the zone it serves) and the file through which the CLI finds
//! the server that holds it.

use anyhow::Context;
use meridian_gateway::{Gateway, GatewayOptions};
use meridian_store::local::{LocalData, LocalMeta};
use meridian_store::{DataStore, MetaStore, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// How the CLI reaches a running server: written by the server into its data directory (mode 0600).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminEndpoint {
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

pub fn admin_endpoint_path(data_dir: &Path) -> PathBuf {
    data_dir.join("admin.json")
}

pub struct Opened {
    pub gateway: Gateway,
    pub created: bool,
}

/// Opens (creating on first use) the data directory, serving `zone` or the directory's default zone. Fails
/// with `StoreError::Locked` if a server owns it.
pub async fn open(
    data_dir: &Path,
    zone: Option<&str>,
    options: GatewayOptions,
    meta_cache_bytes: usize,
) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let settings = crate::store::for_data_dir(data_dir)?;
    let (meta, data): (Arc<dyn MetaStore>, Arc<dyn DataStore>) = match settings.store {
        crate::store::StoreKind::Local => (
            Arc::new(LocalMeta::open_with_cache(&data_dir.join("meta.redb"), meta_cache_bytes).map_err(anyhow_store)?),
            Arc::new(LocalData::open(&data_dir.join("data")).map_err(anyhow_store)?),
        ),
        #[cfg(not(feature = "rados"))]
        crate::store::StoreKind::Rados => anyhow::bail!(
            "this meridian binary was built without the RADOS backend: build it with \
             `cargo build --release -p meridian --features rados` (needs Debian's librados-dev)"
        ),
        #[cfg(feature = "rados")]
        crate::store::StoreKind::Rados => {
            let cfg = settings.rados_config();
            let stores = tokio::task::spawn_blocking(move || meridian_store_rados::open(&cfg))
                .await?
                .map_err(anyhow_store)
                .with_context(|| {
                    format!(
                        "cannot open the RADOS pools {0}.meta / {0}.data ({1})",
                        settings.rados_pool_prefix,
                        settings.rados_conf.display()
                    )
                })?;
            crate::store::record(data_dir, &settings)?;
            (stores.meta, stores.data)
        }
    };
    let (gateway, created) = Gateway::open(meta, data, zone, options).await?;
    Ok(Opened { gateway, created })
}

/// The verbs that start a zone's setup (`realm create`, `realm pull`) may create the data directory, as
/// `server` and `init` do; every other admin verb needs one that exists.
pub fn creates_data_dir(req: &meridian_admin::AdminRequest) -> bool {
    matches!(req.resource.as_str(), "config/realm/create" | "config/realm/pull")
}

/// A data directory's path as the user should read it: absolute.
pub fn display_path(data_dir: &Path) -> String {
    std::path::absolute(data_dir)
        .unwrap_or_else(|_| data_dir.to_path_buf())
        .display()
        .to_string()
}

/// Fails, naming the directory, unless `data_dir` holds Meridian data: an admin verb run from the wrong
/// place must not create an empty data directory and answer from it.
pub fn require_data_dir(data_dir: &Path) -> anyhow::Result<()> {
    if crate::store::data_dir_initialised(data_dir) {
        return Ok(());
    }
    let why = if data_dir.exists() {
        "exists but holds no Meridian data (no meta.redb)"
    } else {
        "does not exist"
    };
    anyhow::bail!(
        "the data directory {} {why}; pass --data-dir (or set MERIDIAN_DATA_DIR) to the directory your \
         `meridian server` uses, or create one with `meridian --data-dir DIR init`",
        display_path(data_dir)
    )
}

/// Keeps the store error's type, so callers can tell a locked data directory (`is_locked`) from a fault.
pub fn anyhow_store(e: StoreError) -> anyhow::Error {
    anyhow::Error::new(e)
}

/// Whether `open` failed because a running server holds the data directory.
pub fn is_locked(e: &anyhow::Error) -> bool {
    matches!(e.downcast_ref::<StoreError>(), Some(StoreError::Locked(_)))
}

pub fn write_admin_endpoint(data_dir: &Path, endpoint: &AdminEndpoint) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let path = admin_endpoint_path(data_dir);
    let tmp = path.with_extension("json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts.open(&tmp)?;
    f.write_all(&serde_json::to_vec_pretty(endpoint)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}
