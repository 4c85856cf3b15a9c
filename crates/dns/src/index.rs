//! The in-memory index every answer comes from: bucket name → zonegroup, and the period's zonegroups
//! (hostnames, endpoint addresses). Queries only read it; `follow` keeps it current.

use crate::name::{endpoint_host, normalize};
use meridian_gateway::Site;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// One zonegroup as DNS sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneGroupView {
    pub id: String,
    pub name: String,
    /// Lowercase, no trailing dot; the first is where `BUCKET.<domain>` points.
    pub hostnames: Vec<String>,
    /// Addresses of the zonegroup's endpoints that are IP literals.
    pub v4: Vec<Ipv4Addr>,
    pub v6: Vec<Ipv6Addr>,
    /// When no endpoint is an address: the host name of the first endpoint (answered as a CNAME).
    pub alias: Option<String>,
}

impl ZoneGroupView {
    fn from_site(zg: &meridian_model::ZoneGroup) -> Self {
        let mut view = ZoneGroupView {
            id: zg.id.clone(),
            name: zg.name.clone(),
            hostnames: zg
                .hostnames
                .iter()
                .map(|h| normalize(h))
                .filter(|h| !h.is_empty())
                .collect(),
            ..Default::default()
        };
        let hosts: Vec<String> = zg.client_endpoints().iter().filter_map(|e| endpoint_host(e)).collect();
        for host in &hosts {
            match host.parse::<IpAddr>() {
                Ok(IpAddr::V4(a)) if !view.v4.contains(&a) => view.v4.push(a),
                Ok(IpAddr::V6(a)) if !view.v6.contains(&a) => view.v6.push(a),
                _ => {}
            }
        }
        if view.v4.is_empty() && view.v6.is_empty() {
            view.alias = hosts.into_iter().find(|h| h.parse::<IpAddr>().is_err());
        }
        view
    }
}

/// The bucket table: names (lowercase) to a small zonegroup slot, plus the empty non-terminals that dotted
/// names create (`b.<domain>` exists, empty, when bucket `a.b` does).
#[derive(Default)]
struct Buckets {
    names: HashMap<Box<str>, u16>,
    slots: Vec<Box<str>>,
    ents: HashMap<Box<str>, u32>,
}

impl Buckets {
    fn slot(&mut self, zonegroup: &str) -> u16 {
        if let Some(i) = self.slots.iter().position(|z| &**z == zonegroup) {
            return i as u16;
        }
        self.slots.push(zonegroup.into());
        (self.slots.len() - 1) as u16
    }

    fn insert(&mut self, name: &str, zonegroup: &str) {
        let slot = self.slot(zonegroup);
        if self.names.insert(name.into(), slot).is_none() {
            for (i, _) in name.match_indices('.') {
                *self.ents.entry(name[i + 1..].into()).or_insert(0) += 1;
            }
        }
    }

    fn remove(&mut self, name: &str) {
        if self.names.remove(name).is_some() {
            for (i, _) in name.match_indices('.') {
                let suffix = &name[i + 1..];
                if let Some(n) = self.ents.get_mut(suffix) {
                    *n -= 1;
                    if *n == 0 {
                        self.ents.remove(suffix);
                    }
                }
            }
        }
    }
}

/// What a name under the global domain is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BucketHit {
    /// A bucket: `CNAME <bucket>.<hostname>`.
    Bucket {
        target: String,
    },
    /// No bucket of that name, but buckets below it (`b` when `a.b` exists).
    EmptyNonTerminal,
    Missing,
}

/// Shared by the responder, the PowerDNS backend and `dns lookup`.
pub struct Index {
    buckets: RwLock<Buckets>,
    zonegroups: RwLock<Arc<Vec<ZoneGroupView>>>,
    serial: AtomicU32,
}

impl Default for Index {
    fn default() -> Self {
        Self::new()
    }
}

impl Index {
    pub fn new() -> Self {
        Self {
            buckets: RwLock::new(Buckets::default()),
            zonegroups: RwLock::new(Arc::new(Vec::new())),
            serial: AtomicU32::new(unix_now()),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, Buckets> {
        self.buckets.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, Buckets> {
        self.buckets.write().unwrap_or_else(|p| p.into_inner())
    }

    /// The SOA serial: the time of the last change (seconds), strictly increasing.
    pub fn serial(&self) -> u32 {
        self.serial.load(Ordering::Relaxed)
    }

    fn bump(&self) {
        let now = unix_now();
        let _ = self.serial.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
            Some(now.max(s.wrapping_add(1)))
        });
        metrics::gauge!("meridian_dns_index_buckets").set(self.len() as f64);
    }

    /// Number of buckets indexed.
    pub fn len(&self) -> usize {
        self.read().names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Replaces every bucket (a full load). Only the default tenant's buckets have DNS names: a tenant's bucket
    /// (`tenant:name`) cannot be a DNS label and is reached path-style, as in RGW (docs/decisions.md), so it
    /// never changes what a name answers.
    pub fn replace_all<'a>(&self, buckets: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>) {
        let mut fresh = Buckets::default();
        for (tenant, name, zonegroup) in buckets {
            if tenant.is_empty() {
                fresh.insert(&name.to_ascii_lowercase(), zonegroup);
            }
        }
        *self.write() = fresh;
        self.bump();
    }

    /// Records one bucket (`zonegroup` set) or its removal (`None`); a tenant's bucket changes nothing.
    pub fn set_bucket(&self, tenant: &str, name: &str, zonegroup: Option<&str>) {
        if !tenant.is_empty() {
            return;
        }
        let name = name.to_ascii_lowercase();
        {
            let mut b = self.write();
            match zonegroup {
                Some(zg) => {
                    if b.names.contains_key(name.as_str()) {
                        let slot = b.slot(zg);
                        b.names.insert(name.into(), slot);
                    } else {
                        b.insert(&name, zg);
                    }
                }
                None => b.remove(&name),
            }
        }
        self.bump();
    }

    /// Adopts the zonegroups of a (new) site view.
    pub fn set_site(&self, site: &Site) {
        self.set_zonegroups(&site.zonegroups);
    }

    /// Adopts a list of zonegroups (hostnames and endpoints).
    pub fn set_zonegroups(&self, zonegroups: &[meridian_model::ZoneGroup]) {
        let views: Vec<ZoneGroupView> = zonegroups.iter().map(ZoneGroupView::from_site).collect();
        let mut g = self.zonegroups.write().unwrap_or_else(|p| p.into_inner());
        if **g != views {
            *g = Arc::new(views);
            drop(g);
            self.bump();
        }
    }

    /// The zonegroups as last adopted.
    pub fn zonegroups(&self) -> Arc<Vec<ZoneGroupView>> {
        self.zonegroups.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The zonegroup id of a bucket (`name` lowercase).
    pub fn bucket_zonegroup(&self, name: &str) -> Option<String> {
        let b = self.read();
        b.names.get(name).map(|slot| b.slots[*slot as usize].to_string())
    }

    /// What `name` (lowercase, relative to the global domain) is. A bucket whose zonegroup is unknown or
    /// has no hostname is `Missing`: there is nowhere to point it.
    pub fn bucket(&self, name: &str, zonegroups: &[ZoneGroupView]) -> BucketHit {
        let b = self.read();
        match b.names.get(name) {
            Some(slot) => {
                let id = &*b.slots[*slot as usize];
                match zonegroups.iter().find(|z| z.id == id).and_then(|z| z.hostnames.first()) {
                    Some(host) => BucketHit::Bucket {
                        target: format!("{name}.{host}"),
                    },
                    None => BucketHit::Missing,
                }
            }
            None if b.ents.contains_key(name) => BucketHit::EmptyNonTerminal,
            None => BucketHit::Missing,
        }
    }
}

fn unix_now() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zg(id: &str, host: &str) -> ZoneGroupView {
        ZoneGroupView {
            id: id.into(),
            name: id.into(),
            hostnames: vec![host.into()],
            v4: vec![Ipv4Addr::LOCALHOST],
            ..Default::default()
        }
    }

    #[test]
    fn buckets_follow_changes() {
        let idx = Index::new();
        let zgs = vec![zg("us-id", "s3.us.example.com"), zg("eu-id", "s3.eu.example.com")];
        idx.replace_all([
            ("", "Photos", "us-id"),
            ("", "a.b.c", "eu-id"),
            ("t1", "hidden", "us-id"),
        ]);
        assert_eq!(idx.len(), 2);
        assert_eq!(
            idx.bucket("photos", &zgs),
            BucketHit::Bucket {
                target: "photos.s3.us.example.com".into()
            }
        );
        assert_eq!(idx.bucket("b.c", &zgs), BucketHit::EmptyNonTerminal);
        assert_eq!(idx.bucket("c", &zgs), BucketHit::EmptyNonTerminal);
        assert_eq!(idx.bucket("hidden", &zgs), BucketHit::Missing);
        let before = idx.serial();
        idx.set_bucket("", "photos", Some("eu-id"));
        assert!(idx.serial() > before);
        assert_eq!(
            idx.bucket("photos", &zgs),
            BucketHit::Bucket {
                target: "photos.s3.eu.example.com".into()
            }
        );
        idx.set_bucket("", "a.b.c", None);
        assert_eq!(idx.bucket("b.c", &zgs), BucketHit::Missing);
        assert_eq!(idx.bucket("a.b.c", &zgs), BucketHit::Missing);
        idx.set_bucket("", "x", Some("gone-id"));
        assert_eq!(idx.bucket("x", &zgs), BucketHit::Missing);
        assert_eq!(idx.len(), 2);
    }

    #[test]
    fn a_tenants_bucket_never_changes_the_default_tenants_answer() {
        let idx = Index::new();
        let zgs = vec![zg("us-id", "s3.us.example.com"), zg("eu-id", "s3.eu.example.com")];
        let in_us = BucketHit::Bucket {
            target: "photos.s3.us.example.com".into(),
        };
        idx.replace_all([("", "photos", "us-id"), ("acme", "photos", "eu-id")]);
        assert_eq!(idx.bucket("photos", &zgs), in_us);
        let serial = idx.serial();
        // Created, moved and removed in a tenant: the default tenant's `photos` still answers the same.
        idx.set_bucket("acme", "photos", Some("eu-id"));
        idx.set_bucket("globex", "photos", Some("eu-id"));
        assert_eq!(idx.bucket("photos", &zgs), in_us);
        idx.set_bucket("acme", "photos", None);
        assert_eq!(idx.bucket("photos", &zgs), in_us);
        assert_eq!(
            idx.serial(),
            serial,
            "nothing changed, so the zone serial did not either"
        );
        // A tenant's bucket whose name only it has gets no DNS name either.
        idx.set_bucket("acme", "acme-only", Some("us-id"));
        assert_eq!(idx.bucket("acme-only", &zgs), BucketHit::Missing);
        assert_eq!(idx.len(), 1);
    }
}
