//! The DNS surface in the binary: the `dns_*` server flags, starting the responder and the PowerDNS backend
//! with the server, and `meridian dns lookup NAME [--type T]` (dig-style).

use crate::config::Config;
use crate::zone;
use anyhow::Context;
use clap::{Args, Subcommand};
use meridian_dns::{DnsSettings, QType};
use meridian_gateway::{Gateway, GatewayOptions};
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};

/// The `dns_*` keys as `server` flags.
#[derive(Args, Debug, Default)]
pub struct DnsArgs {
    /// Global DNS domain: BUCKET.<domain> answers CNAME BUCKET.<zonegroup hostname>
    #[arg(long)]
    pub dns_domain: Option<String>,
    /// Address of the built-in DNS responder, UDP and TCP (off when unset)
    #[arg(long)]
    pub dns_listen: Option<SocketAddr>,
    /// Address of the PowerDNS remote-backend HTTP endpoint (off when unset)
    #[arg(long)]
    pub dns_backend_listen: Option<SocketAddr>,
    /// TTL of DNS answers (and of negative answers), seconds
    #[arg(long)]
    pub dns_ttl_secs: Option<u32>,
    /// Name servers of the SOA and NS records (repeatable; default: the domain itself)
    #[arg(long = "dns-nameserver")]
    pub dns_nameservers: Vec<String>,
    /// Responsible mailbox of the SOA (default: hostmaster.<domain>)
    #[arg(long)]
    pub dns_hostmaster: Option<String>,
    /// IPv4 address of the domain's apex (repeatable)
    #[arg(long)]
    pub dns_apex_a: Vec<Ipv4Addr>,
    /// IPv6 address of the domain's apex (repeatable)
    #[arg(long)]
    pub dns_apex_aaaa: Vec<Ipv6Addr>,
    /// DNS queries per second one source address may send (0: no limit)
    #[arg(long)]
    pub dns_rate_limit_qps: Option<u32>,
}

impl DnsArgs {
    pub fn apply(self, cfg: &mut Config) {
        if self.dns_domain.is_some() {
            cfg.dns_domain = self.dns_domain;
        }
        if self.dns_listen.is_some() {
            cfg.dns_listen = self.dns_listen;
        }
        if self.dns_backend_listen.is_some() {
            cfg.dns_backend_listen = self.dns_backend_listen;
        }
        if let Some(v) = self.dns_ttl_secs {
            cfg.dns_ttl_secs = v;
        }
        if !self.dns_nameservers.is_empty() {
            cfg.dns_nameservers = self.dns_nameservers;
        }
        if self.dns_hostmaster.is_some() {
            cfg.dns_hostmaster = self.dns_hostmaster;
        }
        if !self.dns_apex_a.is_empty() {
            cfg.dns_apex_a = self.dns_apex_a;
        }
        if !self.dns_apex_aaaa.is_empty() {
            cfg.dns_apex_aaaa = self.dns_apex_aaaa;
        }
        if let Some(v) = self.dns_rate_limit_qps {
            cfg.dns_rate_limit_qps = v;
        }
    }
}

/// The DNS settings of a configuration; `None` without `dns_domain`.
pub fn settings(cfg: &Config) -> anyhow::Result<Option<DnsSettings>> {
    let Some(domain) = cfg.dns_domain.as_deref().filter(|d| !d.is_empty()) else {
        return Ok(None);
    };
    Ok(Some(DnsSettings::new(
        domain,
        cfg.dns_ttl_secs,
        &cfg.dns_nameservers,
        cfg.dns_hostmaster.as_deref(),
        cfg.dns_apex_a.clone(),
        cfg.dns_apex_aaaa.clone(),
        cfg.dns_rate_limit_qps,
    )?))
}

/// The start-up lines for the keys TOML leaves out when they are unset.
pub fn print_unset_keys(cfg: &Config) {
    let unset = [
        ("dns_domain", cfg.dns_domain.is_none(), "(unset: no DNS)"),
        ("dns_listen", cfg.dns_listen.is_none(), "(off)"),
        ("dns_backend_listen", cfg.dns_backend_listen.is_none(), "(off)"),
        (
            "dns_hostmaster",
            cfg.dns_hostmaster.is_none(),
            "(hostmaster.<dns_domain>)",
        ),
    ];
    for (key, is_unset, what) in unset {
        if is_unset {
            eprintln!("  {key} = {what}");
        }
    }
}

/// The hostnames of virtual-hosted-style requests: the configured ones and the global domain (the CNAME
/// does not change the Host header a client sends).
pub fn vhost_hostnames(cfg: &Config) -> Vec<String> {
    let mut out = cfg.hostnames.clone();
    if let Some(d) = cfg.dns_domain.as_deref().filter(|d| !d.is_empty()) {
        let d = meridian_dns::name::normalize(d);
        if !out.iter().any(|h| h.eq_ignore_ascii_case(&d)) {
            out.push(d);
        }
    }
    out
}

/// Where the CLI finds the running server's responder.
#[derive(Debug, Serialize, Deserialize)]
struct DnsEndpoint {
    responder: SocketAddr,
}

fn endpoint_path(data_dir: &Path) -> PathBuf {
    data_dir.join("dns.json")
}

/// Starts the responder and the PowerDNS backend the configuration asks for.
pub async fn start(cfg: &Config, gw: Gateway, data_dir: &Path) -> anyhow::Result<()> {
    let path = endpoint_path(data_dir);
    let _ = std::fs::remove_file(&path);
    let Some(settings) = settings(cfg)? else {
        if cfg.dns_listen.is_some() || cfg.dns_backend_listen.is_some() {
            anyhow::bail!("dns_listen and dns_backend_listen need dns_domain (the global domain to serve)");
        }
        return Ok(());
    };
    if cfg.dns_listen.is_none() && cfg.dns_backend_listen.is_none() {
        eprintln!("dns_domain is set but neither dns_listen nor dns_backend_listen: no DNS is served");
        return Ok(());
    }
    let domain = settings.domain.clone();
    let started = meridian_dns::start(gw, settings, cfg.dns_listen, cfg.dns_backend_listen)
        .await
        .context("cannot start the DNS surface")?;
    if let Some(addr) = started.responder {
        std::fs::write(&path, serde_json::to_vec(&DnsEndpoint { responder: addr })?)
            .with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!(
            "dns responder listening on udp+tcp {addr} for {domain} ({} buckets indexed)",
            started.index.len()
        );
    }
    if let Some(addr) = started.backend {
        eprintln!("pdns remote backend serving http://{addr}/dns");
    }
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum DnsCmd {
    /// What this zone answers for NAME, printed like dig: asked of the running server's responder, or
    /// computed from the data directory when no server holds it
    Lookup {
        name: String,
        /// Record type (A, AAAA, CNAME, NS, SOA, ANY, TYPE<n>)
        #[arg(long = "type", short = 't', default_value = "A")]
        qtype: String,
        #[command(flatten)]
        dns: DnsArgs,
    },
}

pub async fn run(data_dir: &Path, config: Option<&Path>, cmd: DnsCmd) -> anyhow::Result<()> {
    let DnsCmd::Lookup { name, qtype, dns } = cmd;
    let qtype = QType::parse(&qtype).with_context(|| format!("--type {qtype:?} is not a DNS record type"))?;
    let msg = match read_endpoint(data_dir) {
        Some(ep) => match meridian_dns::query_server(ep.responder, &name, qtype).await {
            Ok(m) => Some((m, format!("the responder at {}", ep.responder))),
            Err(e) => {
                tracing::debug!(error = %e, "the recorded responder does not answer; computing locally");
                None
            }
        },
        None => None,
    };
    let (msg, source) = match msg {
        Some(m) => m,
        None => {
            let mut cfg = Config::load(config)?;
            dns.apply(&mut cfg);
            let settings = settings(&cfg)?
                .context("dns_domain is not configured (set it in meridian.toml, --config, or --dns-domain)")?;
            let opened = zone::open(
                data_dir,
                cfg.zone.as_deref(),
                GatewayOptions::default(),
                meridian_store::local::DEFAULT_CACHE_BYTES,
            )
            .await
            .with_context(|| {
                format!(
                    "cannot read {} (a server holding it without dns_listen cannot be asked)",
                    data_dir.display()
                )
            })?;
            let m = meridian_dns::lookup_local(&opened.gateway, &settings, &name, qtype).await?;
            (m, format!("the data directory {}", data_dir.display()))
        }
    };
    use std::io::Write;
    let mut out = std::io::stdout();
    let _ = writeln!(out, "; <<>> meridian dns lookup <<>> {name} {qtype}");
    let _ = write!(out, "{}", meridian_dns::dig::format(&msg));
    let _ = writeln!(out, "\n;; SERVER: {source}");
    Ok(())
}

fn read_endpoint(data_dir: &Path) -> Option<DnsEndpoint> {
    let text = std::fs::read_to_string(endpoint_path(data_dir)).ok()?;
    serde_json::from_str(&text).ok()
}
