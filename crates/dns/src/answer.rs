//! What Meridian answers for a name, independent of the transport: the zones it serves (the global domain
//! and each zonegroup hostname), the records at a name, and the response to one question.

use crate::config::DnsSettings;
use crate::index::{BucketHit, Index, ZoneGroupView};
use crate::name::{normalize, relative};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// The record types Meridian answers (anything else is `Other`, answered with no data).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QType {
    A,
    Aaaa,
    Cname,
    Ns,
    Soa,
    Any,
    Other(u16),
}

impl QType {
    pub fn code(self) -> u16 {
        match self {
            QType::A => 1,
            QType::Ns => 2,
            QType::Cname => 5,
            QType::Soa => 6,
            QType::Aaaa => 28,
            QType::Any => 255,
            QType::Other(n) => n,
        }
    }

    pub fn from_code(code: u16) -> Self {
        match code {
            1 => QType::A,
            2 => QType::Ns,
            5 => QType::Cname,
            6 => QType::Soa,
            28 => QType::Aaaa,
            255 => QType::Any,
            n => QType::Other(n),
        }
    }

    /// `A`, `aaaa`, `TYPE65`, … (dig's and PowerDNS's spelling); `None` for what is not a type.
    pub fn parse(text: &str) -> Option<Self> {
        let upper = text.to_ascii_uppercase();
        Some(match upper.as_str() {
            "A" => QType::A,
            "AAAA" => QType::Aaaa,
            "CNAME" => QType::Cname,
            "NS" => QType::Ns,
            "SOA" => QType::Soa,
            "ANY" => QType::Any,
            other => {
                if let Some(n) = other.strip_prefix("TYPE").and_then(|n| n.parse::<u16>().ok()) {
                    return Some(QType::from_code(n));
                }
                let rt: hickory_proto::rr::RecordType = other.parse().ok()?;
                QType::from_code(u16::from(rt))
            }
        })
    }

    /// A label for metrics (bounded set).
    pub fn label(self) -> &'static str {
        match self {
            QType::A => "A",
            QType::Aaaa => "AAAA",
            QType::Cname => "CNAME",
            QType::Ns => "NS",
            QType::Soa => "SOA",
            QType::Any => "ANY",
            QType::Other(_) => "other",
        }
    }
}

impl fmt::Display for QType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QType::Other(n) => match hickory_proto::rr::RecordType::from(*n) {
                hickory_proto::rr::RecordType::Unknown(_) => write!(f, "TYPE{n}"),
                known => write!(f, "{known}"),
            },
            other => f.write_str(other.label()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Soa {
    pub mname: String,
    pub rname: String,
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
    pub minimum: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecordData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ns(String),
    Soa(Soa),
}

impl RecordData {
    pub fn qtype(&self) -> QType {
        match self {
            RecordData::A(_) => QType::A,
            RecordData::Aaaa(_) => QType::Aaaa,
            RecordData::Cname(_) => QType::Cname,
            RecordData::Ns(_) => QType::Ns,
            RecordData::Soa(_) => QType::Soa,
        }
    }

    /// The record's data in zone-file (and PowerDNS `content`) form; names end with a dot.
    pub fn content(&self) -> String {
        match self {
            RecordData::A(a) => a.to_string(),
            RecordData::Aaaa(a) => a.to_string(),
            RecordData::Cname(n) | RecordData::Ns(n) => format!("{n}."),
            RecordData::Soa(s) => format!(
                "{}. {}. {} {} {} {} {}",
                s.mname, s.rname, s.serial, s.refresh, s.retry, s.expire, s.minimum
            ),
        }
    }
}

/// One resource record; `name` is lowercase without the trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub ttl: u32,
    pub data: RecordData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rcode {
    NoError,
    FormErr,
    ServFail,
    NxDomain,
    NotImp,
    Refused,
}

impl Rcode {
    pub fn label(self) -> &'static str {
        match self {
            Rcode::NoError => "NOERROR",
            Rcode::FormErr => "FORMERR",
            Rcode::ServFail => "SERVFAIL",
            Rcode::NxDomain => "NXDOMAIN",
            Rcode::NotImp => "NOTIMP",
            Rcode::Refused => "REFUSED",
        }
    }
}

/// The response to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rcode: Rcode,
    /// Set when the name is in a zone Meridian serves.
    pub authoritative: bool,
    pub answers: Vec<Record>,
    pub authority: Vec<Record>,
}

impl Answer {
    pub fn refused() -> Self {
        Self::error(Rcode::Refused)
    }

    pub fn error(rcode: Rcode) -> Self {
        Answer {
            rcode,
            authoritative: false,
            answers: vec![],
            authority: vec![],
        }
    }
}

/// A zone Meridian serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Zone<'a> {
    /// The global domain.
    Global,
    /// A zonegroup hostname.
    ZoneGroup(&'a ZoneGroupView, &'a str),
}

/// Answers questions from the settings and the index.
pub struct Resolver<'a> {
    pub settings: &'a DnsSettings,
    pub index: &'a Index,
}

/// The records at a name, or that the name does not exist; with the zone it is in.
pub struct NameRecords<'z> {
    pub zone: Zone<'z>,
    pub apex: String,
    /// `None`: no such name (NXDOMAIN). `Some(empty)`: the name exists with no records.
    pub records: Option<Vec<Record>>,
}

impl Resolver<'_> {
    fn soa(&self, apex: &str) -> Record {
        Record {
            name: apex.to_string(),
            ttl: self.settings.ttl,
            data: RecordData::Soa(Soa {
                mname: self.settings.nameservers[0].clone(),
                rname: self.settings.hostmaster.clone(),
                serial: self.index.serial(),
                refresh: 3600,
                retry: 600,
                expire: 604_800,
                minimum: self.settings.ttl,
            }),
        }
    }

    fn addresses(&self, name: &str, v4: &[Ipv4Addr], v6: &[Ipv6Addr], out: &mut Vec<Record>) {
        let ttl = self.settings.ttl;
        out.extend(v4.iter().map(|a| Record {
            name: name.to_string(),
            ttl,
            data: RecordData::A(*a),
        }));
        out.extend(v6.iter().map(|a| Record {
            name: name.to_string(),
            ttl,
            data: RecordData::Aaaa(*a),
        }));
    }

    /// The records of a zonegroup's name (its hostname, or `BUCKET.<hostname>`).
    fn zonegroup_records(&self, name: &str, zg: &ZoneGroupView, out: &mut Vec<Record>) {
        match &zg.alias {
            Some(alias) => out.push(Record {
                name: name.to_string(),
                ttl: self.settings.ttl,
                data: RecordData::Cname(alias.clone()),
            }),
            None => self.addresses(name, &zg.v4, &zg.v6, out),
        }
    }

    /// Which zone `name` (normalised) is in, and every record at it. `None`: outside every zone served.
    pub fn records_at<'z>(&self, name: &str, zonegroups: &'z [ZoneGroupView]) -> Option<NameRecords<'z>> {
        // The longest zone that holds the name wins (a zonegroup hostname may lie under the global domain).
        let mut best: Option<(Zone<'z>, &str, &str)> = None;
        let domain = self.settings.domain.as_str();
        if let Some(rel) = relative(name, domain) {
            best = Some((Zone::Global, domain, rel));
        }
        for zg in zonegroups {
            for host in &zg.hostnames {
                if let Some(rel) = relative(name, host) {
                    if best.as_ref().is_none_or(|(_, apex, _)| apex.len() < host.len()) {
                        best = Some((Zone::ZoneGroup(zg, host), host.as_str(), rel));
                    }
                }
            }
        }
        let (zone, apex, rel) = best?;
        let ttl = self.settings.ttl;
        let mut records = Vec::new();
        if rel.is_empty() {
            records.push(self.soa(apex));
            records.extend(self.settings.nameservers.iter().map(|ns| Record {
                name: apex.to_string(),
                ttl,
                data: RecordData::Ns(ns.clone()),
            }));
            match &zone {
                Zone::Global => self.addresses(apex, &self.settings.apex_a, &self.settings.apex_aaaa, &mut records),
                Zone::ZoneGroup(zg, _) => match &zg.alias {
                    // A CNAME cannot stand beside the apex's SOA and NS: the apex gets no address then.
                    Some(_) => {}
                    None => self.addresses(apex, &zg.v4, &zg.v6, &mut records),
                },
            }
            return Some(NameRecords {
                apex: apex.to_string(),
                zone,
                records: Some(records),
            });
        }
        let records = match &zone {
            Zone::Global => match self.index.bucket(rel, zonegroups) {
                BucketHit::Bucket { target } => {
                    records.push(Record {
                        name: name.to_string(),
                        ttl,
                        data: RecordData::Cname(target),
                    });
                    Some(records)
                }
                BucketHit::EmptyNonTerminal => Some(records),
                BucketHit::Missing => None,
            },
            // Every bucket-shaped name under a zonegroup hostname answers the zonegroup's addresses (as a
            // wildcard would): the gateway there decides, so a just-created bucket is never cached negative.
            Zone::ZoneGroup(zg, _) if looks_like_bucket(rel) => {
                self.zonegroup_records(name, zg, &mut records);
                Some(records)
            }
            Zone::ZoneGroup(..) => None,
        };
        Some(NameRecords {
            apex: apex.to_string(),
            zone,
            records,
        })
    }

    /// The records of `name` of type `qtype` as PowerDNS's backend `lookup` wants them: `None` outside
    /// every zone or for a name that does not exist; ANY gives every record.
    pub fn backend_lookup(&self, name: &str, qtype: QType) -> Option<Vec<Record>> {
        let name = normalize(name);
        let zonegroups = self.index.zonegroups();
        let at = self.records_at(&name, &zonegroups)?;
        let records = at.records?;
        Some(
            records
                .into_iter()
                .filter(|r| qtype == QType::Any || r.data.qtype() == qtype)
                .collect(),
        )
    }

    /// The zones served, by apex.
    pub fn zone_apexes(&self) -> Vec<String> {
        let mut out = vec![self.settings.domain.clone()];
        for zg in self.index.zonegroups().iter() {
            for h in &zg.hostnames {
                if !out.contains(h) {
                    out.push(h.clone());
                }
            }
        }
        out
    }

    /// The response to a question (`name` as asked; matched case-insensitively).
    pub fn answer(&self, name: &str, qtype: QType) -> Answer {
        let name = normalize(name);
        let zonegroups = self.index.zonegroups();
        let Some(at) = self.records_at(&name, &zonegroups) else {
            return Answer::refused();
        };
        let mut answer = Answer {
            rcode: Rcode::NoError,
            authoritative: true,
            answers: vec![],
            authority: vec![],
        };
        let mut at = at;
        // Follows CNAMEs into the zones served here (as PowerDNS and BIND do for their own data), so one
        // question gets the whole chain; a bounded number of steps.
        for _ in 0..8 {
            let Some(records) = at.records else {
                answer.rcode = Rcode::NxDomain;
                answer.authority.push(self.soa(&at.apex));
                return answer;
            };
            // A CNAME answers every type (RFC 1034 3.6.2); otherwise the records of the type asked.
            let target = records.iter().find_map(|r| match &r.data {
                RecordData::Cname(t) => Some(t.clone()),
                _ => None,
            });
            let before = answer.answers.len();
            answer.answers.extend(
                records
                    .into_iter()
                    .filter(|r| target.is_some() || qtype == QType::Any || r.data.qtype() == qtype),
            );
            let next = match target {
                Some(t) if !matches!(qtype, QType::Cname | QType::Any) => self.records_at(&t, &zonegroups),
                _ => None,
            };
            match next {
                Some(n) => at = n,
                None => {
                    if answer.answers.len() == before {
                        answer.authority.push(self.soa(&at.apex));
                    }
                    return answer;
                }
            }
        }
        answer
    }
}

/// Could `label` be a bucket name (S3's rules, loosely: 3..=63 of `a-z0-9.-`)?
fn looks_like_bucket(rel: &str) -> bool {
    (3..=63).contains(&rel.len())
        && rel
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
}

#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    /// Zonegroup `us` (hostname s3.us.example.com, address endpoints), `eu` (a named endpoint), buckets
    /// `photos` (us) and `my.dotted.bucket` (eu), domain s3.example.com with apex 192.0.2.1.
    pub(crate) fn fixture() -> (DnsSettings, Index) {
        let settings = DnsSettings::new(
            "s3.example.com",
            60,
            &["ns1.example.net".into()],
            None,
            vec![Ipv4Addr::new(192, 0, 2, 1)],
            vec![],
            0,
        )
        .unwrap();
        let index = Index::new();
        let mut us = meridian_model::ZoneGroup::new("us-id", "us");
        us.hostnames = vec!["s3.us.example.com".into()];
        us.endpoints = vec!["http://127.0.0.1:7480".into(), "http://[::1]:7480".into()];
        let mut eu = meridian_model::ZoneGroup::new("eu-id", "eu");
        eu.hostnames = vec!["S3.EU.example.com".into()];
        eu.endpoints = vec!["http://gw.eu.example.net:7480".into()];
        index.set_zonegroups(&[us, eu]);
        index.replace_all([("", "photos", "us-id"), ("", "my.dotted.bucket", "eu-id")]);
        (settings, index)
    }
}

#[cfg(test)]
mod tests {
    use super::tests_support::fixture;
    use super::*;

    #[test]
    fn answers() {
        let (settings, index) = fixture();
        let r = Resolver {
            settings: &settings,
            index: &index,
        };
        let a = r.answer("PHOTOS.s3.example.com.", QType::A);
        assert_eq!(a.rcode, Rcode::NoError);
        assert_eq!(
            a.answers,
            vec![
                Record {
                    name: "photos.s3.example.com".into(),
                    ttl: 60,
                    data: RecordData::Cname("photos.s3.us.example.com".into())
                },
                Record {
                    name: "photos.s3.us.example.com".into(),
                    ttl: 60,
                    data: RecordData::A(Ipv4Addr::LOCALHOST)
                }
            ]
        );
        // The CNAME question: the CNAME alone.
        assert_eq!(r.answer("photos.s3.example.com", QType::Cname).answers.len(), 1);
        // A CNAME answers every type; a target with no data of the type gets its zone's SOA.
        let a = r.answer("photos.s3.example.com", QType::Other(16));
        assert_eq!(
            (a.answers.len(), a.authority[0].name.as_str()),
            (1, "s3.us.example.com")
        );
        let a = r.answer("my.dotted.bucket.s3.example.com", QType::Aaaa);
        assert_eq!(
            a.answers[0].data,
            RecordData::Cname("my.dotted.bucket.s3.eu.example.com".into())
        );
        // eu's endpoint is a name outside the zones served: the chain ends there.
        assert_eq!(a.answers[1].data, RecordData::Cname("gw.eu.example.net".into()));
        assert_eq!(a.answers.len(), 2);
        // Empty non-terminal: NOERROR, no data.
        let a = r.answer("bucket.s3.example.com", QType::A);
        assert_eq!((a.rcode, a.answers.len(), a.authority.len()), (Rcode::NoError, 0, 1));
        let a = r.answer("nosuch.s3.example.com", QType::A);
        assert_eq!(a.rcode, Rcode::NxDomain);
        assert!(matches!(a.authority[0].data, RecordData::Soa(_)));
        assert_eq!(a.authority[0].name, "s3.example.com");
        assert_eq!(r.answer("example.org", QType::A).rcode, Rcode::Refused);
        assert_eq!(r.answer("example.com", QType::A).rcode, Rcode::Refused);
        // The apex.
        let a = r.answer("s3.example.com", QType::Any);
        let types: Vec<QType> = a.answers.iter().map(|r| r.data.qtype()).collect();
        assert_eq!(types, vec![QType::Soa, QType::Ns, QType::A]);
        let a = r.answer("s3.example.com", QType::Aaaa);
        assert_eq!((a.rcode, a.answers.len(), a.authority.len()), (Rcode::NoError, 0, 1));
        // Zonegroup hostnames: addresses, or a CNAME to a named endpoint.
        let a = r.answer("photos.s3.us.example.com", QType::A);
        assert_eq!(a.answers[0].data, RecordData::A(Ipv4Addr::LOCALHOST));
        let a = r.answer("s3.us.example.com", QType::Aaaa);
        assert_eq!(a.answers[0].data, RecordData::Aaaa(Ipv6Addr::LOCALHOST));
        let a = r.answer("anything.s3.eu.example.com", QType::A);
        assert_eq!(a.answers[0].data, RecordData::Cname("gw.eu.example.net".into()));
        assert_eq!(r.answer("x_y.s3.eu.example.com", QType::A).rcode, Rcode::NxDomain);
        // The backend view.
        assert_eq!(r.backend_lookup("photos.s3.example.com.", QType::Soa), Some(vec![]));
        assert_eq!(r.backend_lookup("nosuch.s3.example.com.", QType::Any), None);
        assert_eq!(
            r.backend_lookup("s3.example.com.", QType::Soa).map(|v| v.len()),
            Some(1)
        );
    }
}
