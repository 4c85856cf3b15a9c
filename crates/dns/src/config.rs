//! The DNS settings (the `dns_*` keys of `meridian.toml`), checked and normalised once at start.

use crate::error::DnsError;
use crate::name::{normalize, parse_name};
use std::net::{Ipv4Addr, Ipv6Addr};

/// What the responder and the PowerDNS backend serve. Names are lowercase, without a trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsSettings {
    /// The global domain: `BUCKET.<domain>` answers `CNAME BUCKET.<zonegroup hostname>`.
    pub domain: String,
    /// TTL of every record, and the SOA minimum (how long resolvers cache a negative answer).
    pub ttl: u32,
    /// The NS records of every zone served; the first is the SOA's primary name server.
    pub nameservers: Vec<String>,
    /// The SOA's responsible mailbox, as a domain name (`hostmaster.example.com`).
    pub hostmaster: String,
    /// Addresses of the apex of `domain`.
    pub apex_a: Vec<Ipv4Addr>,
    pub apex_aaaa: Vec<Ipv6Addr>,
    /// Queries per second one source address may send before the responder drops the excess (0: no limit).
    pub rate_limit_qps: u32,
}

impl DnsSettings {
    /// Checks the configured values; empty `nameservers` means the domain itself, an empty `hostmaster`
    /// `hostmaster.<domain>`.
    pub fn new(
        domain: &str,
        ttl: u32,
        nameservers: &[String],
        hostmaster: Option<&str>,
        apex_a: Vec<Ipv4Addr>,
        apex_aaaa: Vec<Ipv6Addr>,
        rate_limit_qps: u32,
    ) -> Result<Self, DnsError> {
        let domain = checked("dns_domain", domain)?;
        if domain.is_empty() {
            return Err(DnsError::Config(
                "dns_domain must name a domain (e.g. s3.example.com)".into(),
            ));
        }
        let nameservers = if nameservers.is_empty() {
            vec![domain.clone()]
        } else {
            nameservers
                .iter()
                .map(|n| checked("dns_nameservers", n))
                .collect::<Result<Vec<_>, _>>()?
        };
        let hostmaster = match hostmaster.filter(|h| !h.is_empty()) {
            // A mailbox `admin@example.com` is written `admin.example.com` in a SOA.
            Some(h) => checked("dns_hostmaster", &h.replacen('@', ".", 1))?,
            None => format!("hostmaster.{domain}"),
        };
        Ok(Self {
            domain,
            ttl,
            nameservers,
            hostmaster,
            apex_a,
            apex_aaaa,
            rate_limit_qps,
        })
    }
}

fn checked(key: &str, name: &str) -> Result<String, DnsError> {
    let n = normalize(name);
    parse_name(&n).map_err(|e| DnsError::Config(format!("{key}: {name:?} is not a domain name: {e}")))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_normalisation() {
        let s = DnsSettings::new("S3.Example.COM.", 60, &[], None, vec![], vec![], 0).unwrap();
        assert_eq!(s.domain, "s3.example.com");
        assert_eq!(s.nameservers, vec!["s3.example.com"]);
        assert_eq!(s.hostmaster, "hostmaster.s3.example.com");
        let s = DnsSettings::new(
            "s3.example.com",
            30,
            &["NS1.example.net.".into()],
            Some("admin@example.com"),
            vec![],
            vec![],
            0,
        )
        .unwrap();
        assert_eq!(s.nameservers, vec!["ns1.example.net"]);
        assert_eq!(s.hostmaster, "admin.example.com");
        assert!(DnsSettings::new("", 60, &[], None, vec![], vec![], 0).is_err());
        assert!(DnsSettings::new("a..b", 60, &[], None, vec![], vec![], 0).is_err());
        let long = format!("{}.com", "a".repeat(64));
        assert!(DnsSettings::new(&long, 60, &[], None, vec![], vec![], 0).is_err());
    }
}
