//! dig-style text of a DNS response (`meridian dns lookup`).

use hickory_proto::op::Message;
use std::fmt::Write;

fn flags(m: &Message) -> String {
    let mut f = vec!["qr"];
    if m.authoritative {
        f.push("aa");
    }
    if m.truncation {
        f.push("tc");
    }
    if m.recursion_desired {
        f.push("rd");
    }
    if m.recursion_available {
        f.push("ra");
    }
    f.join(" ")
}

fn section(out: &mut String, title: &str, records: &[hickory_proto::rr::Record]) {
    if records.is_empty() {
        return;
    }
    let _ = writeln!(out, "\n;; {title} SECTION:");
    for r in records {
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}",
            r.name,
            r.ttl,
            r.dns_class,
            r.record_type(),
            r.data
        );
    }
}

fn rcode_text(code: u16) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        16 => "BADVERS".into(),
        n => format!("RCODE{n}"),
    }
}

/// The response as dig prints it (header, flags, question, answer and authority sections).
pub fn format(m: &Message) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        ";; ->>HEADER<<- opcode: {}, status: {}, id: {}",
        format!("{:?}", m.op_code).to_uppercase(),
        rcode_text(u16::from(m.response_code)),
        m.id
    );
    let additional = m.additionals.len() + usize::from(m.edns.is_some());
    let _ = writeln!(
        out,
        ";; flags: {}; QUERY: {}, ANSWER: {}, AUTHORITY: {}, ADDITIONAL: {}",
        flags(m),
        m.queries.len(),
        m.answers.len(),
        m.authorities.len(),
        additional
    );
    if !m.queries.is_empty() {
        let _ = writeln!(out, "\n;; QUESTION SECTION:");
        for q in &m.queries {
            let _ = writeln!(out, ";{}\t\t{}\t{}", q.name(), q.query_class(), q.query_type());
        }
    }
    section(&mut out, "ANSWER", &m.answers);
    section(&mut out, "AUTHORITY", &m.authorities);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::answer::{tests_support::fixture, QType, Resolver};
    use crate::wire::{handle, query_packet, Transport};

    #[test]
    fn dig_style() {
        let (settings, index) = fixture();
        let r = Resolver {
            settings: &settings,
            index: &index,
        };
        let q = query_packet(1, "photos.s3.example.com.", QType::A, None).unwrap();
        let m = Message::from_vec(&handle(&q, Transport::Tcp, &r).unwrap().bytes).unwrap();
        let text = format(&m);
        assert!(text.contains("status: NOERROR, id: 1"), "{text}");
        assert!(
            text.contains(";; flags: qr aa; QUERY: 1, ANSWER: 2, AUTHORITY: 0"),
            "{text}"
        );
        assert!(
            text.contains("photos.s3.example.com.\t60\tIN\tCNAME\tphotos.s3.us.example.com."),
            "{text}"
        );
        let q = query_packet(2, "nope.s3.example.com.", QType::A, None).unwrap();
        let m = Message::from_vec(&handle(&q, Transport::Tcp, &r).unwrap().bytes).unwrap();
        let text = format(&m);
        assert!(text.contains("status: NXDOMAIN"), "{text}");
        assert!(
            text.contains(";; AUTHORITY SECTION:\ns3.example.com.\t60\tIN\tSOA\tns1.example.net. "),
            "{text}"
        );
    }
}
