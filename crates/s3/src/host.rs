//! Virtual-hosted-style addressing: `bucket.<hostname>` for each configured hostname and each hostname of
//! the realm's zonegroups (read from the current period, so a new period applies at once); any other Host
//! header (an IP, localhost) means path-style.

use meridian_gateway::Gateway;
use s3s::host::{S3Host, VirtualHost};
use s3s::S3Result;

pub struct ConfiguredHosts {
    hostnames: Vec<String>,
    gateway: Option<Gateway>,
}

impl ConfiguredHosts {
    pub fn new(hostnames: Vec<String>, gateway: Option<Gateway>) -> Self {
        Self {
            hostnames: hostnames.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
            gateway,
        }
    }

    /// The bucket named by a Host header, if it is virtual-hosted style.
    pub fn bucket_of(&self, host: &str) -> Option<String> {
        let site = self.gateway.as_ref().map(Gateway::site);
        let zonegroup_hosts = site.iter().flat_map(|s| s.hostnames());
        bucket_of(host, self.hostnames.iter().map(String::as_str).chain(zonegroup_hosts))
    }
}

/// The bucket part of `host` (port ignored) under one of `bases`.
pub fn bucket_of<'a>(host: &str, bases: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let host = host
        .rsplit_once(':')
        .filter(|(_, p)| p.parse::<u16>().is_ok())
        .map_or(host, |(h, _)| h);
    let host = host.to_ascii_lowercase();
    bases.into_iter().find_map(|base| {
        host.strip_suffix(base)
            .and_then(|rest| rest.strip_suffix('.'))
            .filter(|b| !b.is_empty())
            .map(str::to_string)
    })
}

impl S3Host for ConfiguredHosts {
    fn parse_host_header<'a>(&'a self, host: &'a str) -> S3Result<VirtualHost<'a>> {
        Ok(match self.bucket_of(host) {
            Some(bucket) => VirtualHost::new(host).with_bucket(bucket),
            None => VirtualHost::new(host),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosts() {
        let h = ConfiguredHosts::new(vec!["s3.example.com".into()], None);
        assert_eq!(h.bucket_of("photos.s3.example.com:7480").as_deref(), Some("photos"));
        assert_eq!(h.bucket_of("a.b.s3.example.com").as_deref(), Some("a.b"));
        assert_eq!(h.bucket_of("s3.example.com"), None);
        assert_eq!(h.bucket_of("127.0.0.1:7480"), None);
        assert_eq!(h.bucket_of("evils3.example.com"), None);
    }
}
