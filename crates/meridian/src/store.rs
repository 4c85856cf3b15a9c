//! Which backend holds a zone's metadata and bytes: the embedded `local` store (default) or `rados` (a Ceph
//! cluster shared by several gateways). Chosen by `--store` and the `--rados-*` flags or meridian.toml; a
//! server on RADOS records its choice in the data directory (`store.json`), so the admin verbs run against
//! that directory reach the same pools without repeating the flags.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    #[default]
    Local,
    Rados,
}

/// The store settings of meridian.toml (and of `store.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct StoreSettings {
    /// `local` (embedded, one process) or `rados` (Ceph; several gateways per zone).
    pub store: StoreKind,
    /// ceph.conf of the cluster (rados).
    pub rados_conf: PathBuf,
    /// Ceph user (`admin` means client.admin).
    pub rados_user: String,
    /// Pools `<prefix>.meta` and `<prefix>.data`, created if missing.
    pub rados_pool_prefix: String,
    /// RADOS namespace inside the pools (several zones may share pools).
    pub rados_namespace: String,
    /// Omap objects the metadata is spread over (used when the pools are first initialised).
    pub rados_meta_shards: u32,
}

impl Default for StoreSettings {
    fn default() -> Self {
        Self {
            store: StoreKind::Local,
            rados_conf: PathBuf::from("/etc/ceph/ceph.conf"),
            rados_user: "admin".into(),
            rados_pool_prefix: "meridian".into(),
            rados_namespace: String::new(),
            rados_meta_shards: 32,
        }
    }
}

impl StoreSettings {
    #[cfg(feature = "rados")]
    pub fn rados_config(&self) -> meridian_store_rados::RadosConfig {
        meridian_store_rados::RadosConfig {
            conf: self.rados_conf.clone(),
            user: self.rados_user.clone(),
            pool_prefix: self.rados_pool_prefix.clone(),
            namespace: self.rados_namespace.clone(),
            meta_shards: self.rados_meta_shards.max(1),
        }
    }
}

/// `--store` and `--rados-*`: accepted by every verb (the admin verbs open the same stores).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// Storage backend: local (default) or rados
    #[arg(long, global = true, env = "MERIDIAN_STORE", value_enum)]
    pub store: Option<StoreKind>,
    /// ceph.conf of the RADOS cluster
    #[arg(long, global = true, env = "MERIDIAN_RADOS_CONF")]
    pub rados_conf: Option<PathBuf>,
    /// Ceph user for RADOS (admin = client.admin)
    #[arg(long, global = true)]
    pub rados_user: Option<String>,
    /// Prefix of the zone's pools (<prefix>.meta, <prefix>.data)
    #[arg(long, global = true)]
    pub rados_pool_prefix: Option<String>,
    /// RADOS namespace in the pools (lets several zones share pools)
    #[arg(long, global = true)]
    pub rados_namespace: Option<String>,
}

impl StoreArgs {
    pub fn given(&self) -> bool {
        self.store.is_some()
            || self.rados_conf.is_some()
            || self.rados_user.is_some()
            || self.rados_pool_prefix.is_some()
            || self.rados_namespace.is_some()
    }

    pub fn apply(&self, s: &mut StoreSettings) {
        if let Some(v) = self.store {
            s.store = v;
        }
        if let Some(v) = &self.rados_conf {
            s.rados_conf = v.clone();
        }
        if let Some(v) = &self.rados_user {
            s.rados_user = v.clone();
        }
        if let Some(v) = &self.rados_pool_prefix {
            s.rados_pool_prefix = v.clone();
        }
        if let Some(v) = &self.rados_namespace {
            s.rados_namespace = v.clone();
        }
    }
}

static CHOSEN: OnceLock<StoreSettings> = OnceLock::new();

/// Fixes this process's store (from flags or the config file) before any data directory is opened.
pub fn choose(settings: StoreSettings) {
    let _ = CHOSEN.set(settings);
}

fn recorded_path(data_dir: &Path) -> PathBuf {
    data_dir.join("store.json")
}

/// The store for `data_dir`: the one chosen for this process, else the one a server recorded there.
pub fn for_data_dir(data_dir: &Path) -> anyhow::Result<StoreSettings> {
    if let Some(s) = CHOSEN.get() {
        return Ok(s.clone());
    }
    let path = recorded_path(data_dir);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("corrupt {}: {e}", path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(StoreSettings::default()),
        Err(e) => Err(anyhow::anyhow!("cannot read {}: {e}", path.display())),
    }
}

/// Records a non-local store in the data directory (the admin verbs find it there).
#[cfg(feature = "rados")]
pub fn record(data_dir: &Path, s: &StoreSettings) -> anyhow::Result<()> {
    if s.store == StoreKind::Local {
        return Ok(());
    }
    std::fs::write(recorded_path(data_dir), serde_json::to_vec_pretty(s)?)?;
    Ok(())
}

/// Whether `data_dir` holds a zone's state: a local store, or the record of a RADOS one.
pub fn data_dir_initialised(data_dir: &Path) -> bool {
    data_dir.join("meta.redb").is_file()
        || recorded_path(data_dir).is_file()
        || CHOSEN.get().is_some_and(|s| s.store == StoreKind::Rados)
}
