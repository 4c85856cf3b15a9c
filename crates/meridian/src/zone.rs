//! Opening a data directory: the stores, and the zone identity created on first start.

use anyhow::Context;
use meridian_gateway::users::{generate_access_key, generate_secret_key, NewUser};
use meridian_gateway::{Gateway, GatewayOptions, ZoneConfig};
use meridian_model::{AccessKey, Zone, ZoneGroup};
use meridian_store::local::{LocalData, LocalMeta};
use meridian_store::{MetaStore, StoreError};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The system user the CLI uses to reach a running server's admin API.
pub const ADMIN_UID: &str = "meridian-admin";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Identity {
    zone: Zone,
    zonegroup: ZoneGroup,
}

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

/// Opens (creating on first use) the data directory. Fails with `StoreError::Locked` if a server owns it.
pub async fn open(
    data_dir: &Path,
    zone_name: &str,
    zonegroup_name: &str,
    options: GatewayOptions,
    meta_cache_bytes: usize,
) -> anyhow::Result<Opened> {
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;
    let meta =
        Arc::new(LocalMeta::open_with_cache(&data_dir.join("meta.redb"), meta_cache_bytes).map_err(anyhow_store)?);
    let data = Arc::new(LocalData::open(&data_dir.join("data")).map_err(anyhow_store)?);
    let (identity, created) = load_or_create_identity(&*meta, zone_name, zonegroup_name)?;
    let zone = ZoneConfig {
        zone_id: identity.zone.id.clone(),
        zone_name: identity.zone.name.clone(),
        zonegroup_id: identity.zonegroup.id.clone(),
        zonegroup_api_name: identity.zonegroup.api_name.clone(),
        placement_rule: "default-placement".into(),
    };
    let gateway = Gateway::new(meta, data, zone, options);
    if created {
        gateway
            .create_user(NewUser {
                uid: ADMIN_UID.into(),
                display_name: "Meridian admin (system)".into(),
                access_key: Some(identity.zone.system_key.access_key.clone()),
                secret_key: Some(identity.zone.system_key.secret_key.clone()),
                system: true,
                ..Default::default()
            })
            .await?;
    }
    Ok(Opened { gateway, created })
}

pub fn anyhow_store(e: StoreError) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}

fn load_or_create_identity(
    meta: &dyn MetaStore,
    zone_name: &str,
    zonegroup_name: &str,
) -> anyhow::Result<(Identity, bool)> {
    const KEY: &[u8] = b"cfg/identity";
    if let Some(bytes) = meta.snapshot().map_err(anyhow_store)?.get(KEY).map_err(anyhow_store)? {
        return Ok((
            serde_json::from_slice(&bytes).context("corrupt zone identity record")?,
            false,
        ));
    }
    let identity = Identity {
        zone: Zone {
            id: uuid::Uuid::new_v4().to_string(),
            name: zone_name.to_string(),
            endpoints: vec![],
            system_key: AccessKey {
                access_key: generate_access_key(),
                secret_key: generate_secret_key(),
            },
        },
        zonegroup: ZoneGroup {
            id: uuid::Uuid::new_v4().to_string(),
            name: zonegroup_name.to_string(),
            api_name: zonegroup_name.to_string(),
            endpoints: vec![],
            hostnames: vec![],
        },
    };
    let mut txn = meta.begin().map_err(anyhow_store)?;
    txn.put(KEY, &serde_json::to_vec(&identity)?).map_err(anyhow_store)?;
    txn.commit().map_err(anyhow_store)?;
    Ok((identity, true))
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

/// The system key of this data directory's zone (read while the server is stopped).
pub async fn system_key(gateway: &Gateway) -> anyhow::Result<AccessKey> {
    let user = gateway.user_info(ADMIN_UID).await?;
    user.keys.first().cloned().context("the admin system user has no key")
}
