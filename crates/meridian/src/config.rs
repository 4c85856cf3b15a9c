//! Server configuration: `meridian.toml`, every option overridable by a flag; defaults are printed at start.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// S3 + admin API listen address (RGW's port).
    pub listen: SocketAddr,
    /// Hostnames for virtual-hosted-style requests (`bucket.<hostname>`).
    pub hostnames: Vec<String>,
    /// The zone this gateway serves (RGW's `rgw_zone`); unset: the data directory's default zone.
    pub zone: Option<String>,
    /// Seconds between checks, on a zone that is not the metadata master, for a newer period on the master.
    pub period_pull_interval_secs: u64,
    /// Seconds between garbage collection passes.
    pub gc_interval_secs: u64,
    /// Seconds replaced bytes stay readable before collection.
    pub gc_delay_secs: u64,
    /// Seconds between lifecycle passes (bucket expiration and incomplete upload rules).
    pub lifecycle_interval_secs: u64,
    /// How many seconds a lifecycle rule's "day" lasts: 86400, or less for tests (RGW's
    /// `rgw_lc_debug_interval`).
    pub lifecycle_debug_day_secs: u64,
    /// Log filter (tracing-subscriber EnvFilter syntax).
    pub log: String,
    /// Metadata page cache, MiB.
    pub meta_cache_mib: usize,
    /// Milliseconds a sync agent waits before asking an idle source again.
    pub sync_poll_interval_ms: u64,
    /// Objects fetched at once from one source zone.
    pub sync_concurrency: usize,
    /// Seconds between log trimming passes (logs are trimmed up to what every peer has synced).
    pub log_trim_interval_secs: u64,
    /// Bucket moves (`meridian bucket move`): seconds the source zonegroup keeps its copy after the cut-over
    /// before it is reclaimed.
    pub bucket_move_grace_secs: u64,
    /// Bucket moves: milliseconds between the master's steps and the target zones' reports.
    pub bucket_move_poll_ms: u64,
    /// Bucket moves: seconds a cut-over may hold writes before it is abandoned (and tried again later).
    pub bucket_move_cutover_timeout_secs: u64,
    /// Open client connections at most; one more is answered `503 ServiceUnavailable` and closed.
    pub max_connections: usize,
    /// Seconds a request head may take from its first byte to its last (slowloris defence).
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may sit with no request in progress and no bytes moving (idle keep-alive).
    pub idle_timeout_secs: u64,
    /// Seconds a request body may deliver no bytes before the request fails with `RequestTimeout`.
    pub body_timeout_secs: u64,
    /// The global DNS domain: `BUCKET.<dns_domain>` answers `CNAME BUCKET.<zonegroup hostname>`.
    pub dns_domain: Option<String>,
    /// The built-in DNS responder (UDP and TCP); off when unset.
    pub dns_listen: Option<SocketAddr>,
    /// The PowerDNS remote-backend HTTP endpoint; off when unset.
    pub dns_backend_listen: Option<SocketAddr>,
    /// TTL of DNS answers and of negative answers.
    pub dns_ttl_secs: u32,
    /// Name servers in the SOA and NS records (default: the domain itself).
    pub dns_nameservers: Vec<String>,
    /// SOA mailbox (default: `hostmaster.<dns_domain>`).
    pub dns_hostmaster: Option<String>,
    /// Addresses of the domain's apex.
    pub dns_apex_a: Vec<Ipv4Addr>,
    pub dns_apex_aaaa: Vec<Ipv6Addr>,
    /// DNS queries per second one source address may send before the excess is dropped (0: no limit).
    pub dns_rate_limit_qps: u32,
    /// Seconds between scheduled backups (0: none).
    pub backup_interval_secs: u64,
    /// Where scheduled backups are written (and what `backup list` lists by default).
    pub backup_dir: PathBuf,
    /// How many of the newest scheduled backups are kept.
    pub backup_keep: usize,
    /// Whether scheduled backups include the object bytes kept outside the metadata store.
    pub backup_with_data: bool,
    /// Listen address of the web dashboard; unset: no dashboard.
    pub dashboard_listen: Option<SocketAddr>,
    /// Storage backend: `local` (embedded, the default) or `rados` (Ceph, several gateways per zone).
    pub store: crate::store::StoreKind,
    /// ceph.conf of the RADOS cluster.
    pub rados_conf: PathBuf,
    /// Ceph user (`admin` = client.admin).
    pub rados_user: String,
    /// The zone's pools are `<prefix>.meta` and `<prefix>.data` (created if missing).
    pub rados_pool_prefix: String,
    /// RADOS namespace inside those pools ("" = the default namespace).
    pub rados_namespace: String,
    /// Omap objects the zone's metadata is spread over (fixed when the pools are first used).
    pub rados_meta_shards: u32,
}

impl Default for Config {
    fn default() -> Self {
        let store = crate::store::StoreSettings::default();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 7480)),
            hostnames: vec![],
            zone: None,
            period_pull_interval_secs: 30,
            gc_interval_secs: 5,
            gc_delay_secs: 10,
            lifecycle_interval_secs: 3600,
            lifecycle_debug_day_secs: 86_400,
            log: "info".into(),
            meta_cache_mib: 64,
            sync_poll_interval_ms: 1000,
            sync_concurrency: 8,
            log_trim_interval_secs: 60,
            bucket_move_grace_secs: 86_400,
            bucket_move_poll_ms: 1000,
            bucket_move_cutover_timeout_secs: 30,
            max_connections: 4096,
            header_read_timeout_secs: 20,
            idle_timeout_secs: 120,
            body_timeout_secs: 30,
            dns_domain: None,
            dns_listen: None,
            dns_backend_listen: None,
            dns_ttl_secs: 60,
            dns_nameservers: vec![],
            dns_hostmaster: None,
            dns_apex_a: vec![],
            dns_apex_aaaa: vec![],
            dns_rate_limit_qps: 2000,
            backup_interval_secs: 0,
            backup_dir: PathBuf::from("./meridian-backups"),
            backup_keep: 7,
            backup_with_data: true,
            dashboard_listen: None,
            store: crate::store::StoreKind::Local,
            rados_conf: store.rados_conf,
            rados_user: store.rados_user,
            rados_pool_prefix: store.rados_pool_prefix,
            rados_namespace: store.rados_namespace,
            rados_meta_shards: store.rados_meta_shards,
        }
    }
}

impl Config {
    pub fn store_settings(&self) -> crate::store::StoreSettings {
        crate::store::StoreSettings {
            store: self.store,
            rados_conf: self.rados_conf.clone(),
            rados_user: self.rados_user.clone(),
            rados_pool_prefix: self.rados_pool_prefix.clone(),
            rados_namespace: self.rados_namespace.clone(),
            rados_meta_shards: self.rados_meta_shards,
        }
    }

    pub fn set_store_settings(&mut self, s: crate::store::StoreSettings) {
        self.store = s.store;
        self.rados_conf = s.rados_conf;
        self.rados_user = s.rados_user;
        self.rados_pool_prefix = s.rados_pool_prefix;
        self.rados_namespace = s.rados_namespace;
        self.rados_meta_shards = s.rados_meta_shards;
    }
}

impl Config {
    /// Reads `path` if given, else `./meridian.toml` if present, else the defaults.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Self> {
        let path: Option<PathBuf> = match path {
            Some(p) => Some(p.to_path_buf()),
            None => Some(PathBuf::from("meridian.toml")).filter(|p| p.exists()),
        };
        match path {
            None => Ok(Self::default()),
            Some(p) => {
                let text = std::fs::read_to_string(&p)
                    .map_err(|e| anyhow::anyhow!("cannot read config file {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("invalid config file {}: {e}", p.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_toml_and_rejects_unknown_keys() {
        let c: Config = toml::from_str("listen = \"0.0.0.0:9000\"\nhostnames = [\"s3.example.com\"]").unwrap();
        assert_eq!(c.listen.port(), 9000);
        assert_eq!(c.hostnames, vec!["s3.example.com"]);
        assert_eq!(c.zone, None);
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        assert_eq!(c.store, crate::store::StoreKind::Local);
        let r: Config =
            toml::from_str("store = \"rados\"\nrados_conf = \"/c/ceph.conf\"\nrados_pool_prefix = \"z1\"").unwrap();
        assert_eq!(r.store_settings().store, crate::store::StoreKind::Rados);
        assert_eq!(r.store_settings().rados_pool_prefix, "z1");
    }
}
