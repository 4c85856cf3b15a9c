//! The DNS wire format: one query packet in, one response packet out (or nothing for what must not be
//! answered), with hickory-proto doing the encoding. Never panics on any input; bounded work per packet.

use crate::answer::{Answer, QType, Rcode, Record, RecordData, Resolver};
use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, AAAA, CNAME, NS, SOA};
use hickory_proto::rr::{DNSClass, Name, RData};

/// Smallest UDP payload every client accepts (RFC 1035).
pub const MIN_UDP: usize = 512;
/// The largest UDP payload this server sends, whatever a client offers (the DNS flag day 2020 value).
pub const MAX_UDP: usize = 1232;
const HEADER: usize = 12;

/// A response and what it was, for metrics.
#[derive(Debug)]
pub struct Response {
    pub bytes: Vec<u8>,
    pub qtype: &'static str,
    pub rcode: Rcode,
    pub truncated: bool,
}

/// How the query arrived: over UDP answers are cut to the client's limit (TC bit), over TCP not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Answers one query packet. `None`: no answer is due (shorter than a header, or itself a response).
pub fn handle(packet: &[u8], transport: Transport, resolver: &Resolver<'_>) -> Option<Response> {
    if packet.len() < HEADER || packet[2] & 0x80 != 0 {
        return None;
    }
    let id = u16::from_be_bytes([packet[0], packet[1]]);
    let opcode = (packet[2] >> 3) & 0x0f;
    let request = match Message::from_vec(packet) {
        Ok(m) => m,
        Err(_) => return Some(bare_error(id, opcode, packet[2] & 0x01 != 0, Rcode::FormErr)),
    };
    let mut response = Message::response(id, request.op_code);
    response.metadata.recursion_desired = request.recursion_desired;
    response.queries = request.queries.clone();
    let limit = match (&request.edns, transport) {
        (_, Transport::Tcp) => u16::MAX as usize,
        (Some(edns), Transport::Udp) => (edns.max_payload() as usize).clamp(MIN_UDP, MAX_UDP),
        (None, Transport::Udp) => MIN_UDP,
    };
    if let Some(edns) = &request.edns {
        let mut ours = Edns::new();
        ours.set_max_payload(MAX_UDP as u16).set_version(0);
        response.set_edns(ours);
        if edns.version() > 0 {
            response.metadata.response_code = ResponseCode::BADVERS;
            return finish(response, "none", Rcode::FormErr, limit);
        }
    }
    if request.op_code != OpCode::Query {
        return finish_with(response, "none", Rcode::NotImp, limit);
    }
    if request.queries.len() != 1 {
        return finish_with(response, "none", Rcode::FormErr, limit);
    }
    let query = &request.queries[0];
    let qtype = QType::from_code(u16::from(query.query_type()));
    if !matches!(query.query_class(), DNSClass::IN | DNSClass::ANY) {
        return finish_with(response, qtype.label(), Rcode::Refused, limit);
    }
    // Zone transfers and the like are not served.
    if matches!(qtype.code(), 251 | 252) {
        return finish_with(response, qtype.label(), Rcode::Refused, limit);
    }
    let name = query.name().to_ascii();
    let answer = resolver.answer(&name, qtype);
    match fill(&mut response, &answer) {
        Ok(()) => finish_with(response, qtype.label(), answer.rcode, limit),
        Err(_) => {
            response.answers.clear();
            response.authorities.clear();
            finish_with(response, qtype.label(), Rcode::ServFail, limit)
        }
    }
}

fn response_code(rcode: Rcode) -> ResponseCode {
    match rcode {
        Rcode::NoError => ResponseCode::NoError,
        Rcode::FormErr => ResponseCode::FormErr,
        Rcode::ServFail => ResponseCode::ServFail,
        Rcode::NxDomain => ResponseCode::NXDomain,
        Rcode::NotImp => ResponseCode::NotImp,
        Rcode::Refused => ResponseCode::Refused,
    }
}

fn finish_with(mut response: Message, qtype: &'static str, rcode: Rcode, limit: usize) -> Option<Response> {
    response.metadata.response_code = response_code(rcode);
    finish(response, qtype, rcode, limit)
}

/// Encodes the response; one over `limit` is replaced by its header and question with the TC bit set.
fn finish(response: Message, qtype: &'static str, rcode: Rcode, limit: usize) -> Option<Response> {
    let bytes = response.to_vec().ok()?;
    if bytes.len() <= limit {
        return Some(Response {
            bytes,
            qtype,
            rcode,
            truncated: false,
        });
    }
    let mut cut = response.truncate();
    cut.metadata.message_type = MessageType::Response;
    let bytes = cut.to_vec().ok().filter(|b| b.len() <= limit)?;
    Some(Response {
        bytes,
        qtype,
        rcode,
        truncated: true,
    })
}

/// A response to a packet that could not be parsed: the header alone (id, opcode, RD copied).
fn bare_error(id: u16, opcode: u8, rd: bool, rcode: Rcode) -> Response {
    let mut bytes = vec![0u8; HEADER];
    bytes[..2].copy_from_slice(&id.to_be_bytes());
    bytes[2] = 0x80 | (opcode << 3) | u8::from(rd);
    bytes[3] = response_code(rcode).low();
    Response {
        bytes,
        qtype: "none",
        rcode,
        truncated: false,
    }
}

fn fill(response: &mut Message, answer: &Answer) -> Result<(), hickory_proto::ProtoError> {
    response.metadata.authoritative = answer.authoritative;
    for r in &answer.answers {
        response.add_answer(to_record(r)?);
    }
    for r in &answer.authority {
        response.add_authority(to_record(r)?);
    }
    Ok(())
}

fn fqdn(name: &str) -> Result<Name, hickory_proto::ProtoError> {
    let mut n = Name::from_ascii(name)?;
    n.set_fqdn(true);
    Ok(n)
}

/// Our record as hickory's.
pub fn to_record(r: &Record) -> Result<hickory_proto::rr::Record, hickory_proto::ProtoError> {
    let data = match &r.data {
        RecordData::A(a) => RData::A(A(*a)),
        RecordData::Aaaa(a) => RData::AAAA(AAAA(*a)),
        RecordData::Cname(n) => RData::CNAME(CNAME(fqdn(n)?)),
        RecordData::Ns(n) => RData::NS(NS(fqdn(n)?)),
        RecordData::Soa(s) => RData::SOA(SOA::new(
            fqdn(&s.mname)?,
            fqdn(&s.rname)?,
            s.serial,
            s.refresh as i32,
            s.retry as i32,
            s.expire as i32,
            s.minimum,
        )),
    };
    Ok(hickory_proto::rr::Record::from_rdata(fqdn(&r.name)?, r.ttl, data))
}

/// A query packet for `name`/`qtype` (recursion not desired), with EDNS advertising `udp_size`.
pub fn query_packet(id: u16, name: &str, qtype: QType, udp_size: Option<u16>) -> Result<Vec<u8>, String> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    let name = Name::from_ascii(name).map_err(|e| format!("{name:?} is not a domain name: {e}"))?;
    msg.add_query(Query::query(name, hickory_proto::rr::RecordType::from(qtype.code())));
    if let Some(size) = udp_size {
        let mut edns = Edns::new();
        edns.set_max_payload(size);
        msg.set_edns(edns);
    }
    msg.to_vec().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::tests_support::fixture;

    fn resolver_answer(packet: &[u8], transport: Transport) -> Option<Message> {
        let (settings, index) = fixture();
        let r = Resolver {
            settings: &settings,
            index: &index,
        };
        handle(packet, transport, &r).map(|resp| Message::from_vec(&resp.bytes).unwrap())
    }

    #[test]
    fn answers_a_query() {
        let q = query_packet(7, "Photos.S3.example.com", QType::A, None).unwrap();
        let m = resolver_answer(&q, Transport::Udp).unwrap();
        assert_eq!(m.id, 7);
        assert_eq!(m.message_type, MessageType::Response);
        assert!(m.authoritative);
        assert_eq!(m.response_code, ResponseCode::NoError);
        assert_eq!(m.queries[0].name().to_ascii(), "Photos.S3.example.com.");
        assert_eq!(m.answers.len(), 2, "the CNAME and the target's A record: {m:?}");
        assert_eq!(m.answers[0].data.to_string(), "photos.s3.us.example.com.");
        assert!(m.edns.is_none());
    }

    #[test]
    fn errors() {
        // Short packets and responses get nothing.
        assert!(resolver_answer(&[0u8; 5], Transport::Udp).is_none());
        let mut q = query_packet(1, "photos.s3.example.com", QType::A, None).unwrap();
        q[2] |= 0x80;
        assert!(resolver_answer(&q, Transport::Udp).is_none());
        // A truncated question: FORMERR with the id.
        let q = query_packet(9, "photos.s3.example.com", QType::A, None).unwrap();
        let m = resolver_answer(&q[..q.len() - 3], Transport::Udp).unwrap();
        assert_eq!((m.id, m.response_code), (9, ResponseCode::FormErr));
        // A compression pointer pointing at itself.
        let mut q = q[..HEADER].to_vec();
        q.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
        let m = resolver_answer(&q, Transport::Udp).unwrap();
        assert_eq!(m.response_code, ResponseCode::FormErr);
        // Class CH: refused; EDNS version 1: BADVERS.
        let mut q = query_packet(3, "photos.s3.example.com", QType::A, None).unwrap();
        let n = q.len();
        q[n - 1] = 3;
        assert_eq!(
            resolver_answer(&q, Transport::Udp).unwrap().response_code,
            ResponseCode::Refused
        );
        let mut msg = Message::from_vec(&query_packet(4, "s3.example.com", QType::Soa, Some(1232)).unwrap()).unwrap();
        msg.edns.as_mut().unwrap().set_version(1);
        let m = resolver_answer(&msg.to_vec().unwrap(), Transport::Udp).unwrap();
        // 16 is BADVERS here (BADSIG only in TSIG records): hickory names it either way.
        assert_eq!(u16::from(m.response_code), 16);
    }

    #[test]
    fn truncates_over_the_clients_limit() {
        let (mut settings, index) = fixture();
        settings.apex_a = (0..60).map(|i| std::net::Ipv4Addr::new(10, 0, 0, i)).collect();
        let r = Resolver {
            settings: &settings,
            index: &index,
        };
        let q = query_packet(5, "s3.example.com", QType::A, None).unwrap();
        let resp = handle(&q, Transport::Udp, &r).unwrap();
        assert!(resp.truncated && resp.bytes.len() <= MIN_UDP);
        let m = Message::from_vec(&resp.bytes).unwrap();
        assert!(m.truncation);
        assert!(m.answers.is_empty());
        // EDNS with room for it: whole.
        let q = query_packet(5, "s3.example.com", QType::A, Some(1232)).unwrap();
        let resp = handle(&q, Transport::Udp, &r).unwrap();
        assert!(!resp.truncated);
        assert_eq!(Message::from_vec(&resp.bytes).unwrap().answers.len(), 60);
        // TCP: never cut.
        settings.apex_a = (0..200).map(|i| std::net::Ipv4Addr::new(10, 0, 0, i)).collect();
        let r = Resolver {
            settings: &settings,
            index: &index,
        };
        let q = query_packet(5, "s3.example.com", QType::A, Some(4096)).unwrap();
        assert!(handle(&q, Transport::Udp, &r).unwrap().truncated);
        let resp = handle(&q, Transport::Tcp, &r).unwrap();
        assert_eq!(Message::from_vec(&resp.bytes).unwrap().answers.len(), 200);
    }
}
