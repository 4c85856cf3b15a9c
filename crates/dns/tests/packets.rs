//! Property tests of the packet handling (512 cases each, or PROPTEST_CASES): no input panics or gets an
//! oversized or unparseable reply; every reply echoes the id and is a response; mangled real queries behave
//! the same.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: its helpers panic on what a test must not meet (not only `#[test]` functions)"
)]

use meridian_dns::answer::{QType, Resolver};
use meridian_dns::wire::{handle, query_packet, Transport, MAX_UDP, MIN_UDP};
use meridian_dns::{DnsSettings, Index};
use proptest::prelude::*;

/// Cases per property: PROPTEST_CASES when set (bench/proptest.sh's long run), else 512.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn fixture() -> (DnsSettings, Index) {
    let settings = DnsSettings::new(
        "s3.example.com",
        60,
        &[],
        None,
        (1..=50).map(|i| std::net::Ipv4Addr::new(10, 0, 0, i)).collect(),
        vec![],
        0,
    )
    .unwrap();
    let index = Index::new();
    let mut us = meridian_model::ZoneGroup::new("us-id", "us");
    us.hostnames = vec!["s3.us.example.com".into()];
    us.endpoints = vec!["http://127.0.0.1:7480".into()];
    index.set_zonegroups(&[us]);
    index.replace_all([("", "photos", "us-id"), ("", "a.b.c", "us-id")]);
    (settings, index)
}

fn check(packet: &[u8], transport: Transport, r: &Resolver<'_>) {
    let Some(resp) = handle(packet, transport, r) else {
        return;
    };
    assert!(packet.len() >= 12, "a reply to a packet shorter than a header");
    assert_eq!(resp.bytes[..2], packet[..2], "the id is echoed");
    assert!(resp.bytes[2] & 0x80 != 0, "QR is set");
    if transport == Transport::Udp {
        assert!(resp.bytes.len() <= MAX_UDP, "UDP reply of {} bytes", resp.bytes.len());
    }
    // Every reply is itself a well-formed message.
    hickory_proto::op::Message::from_vec(&resp.bytes).expect("the reply parses");
}

fn qtype() -> impl Strategy<Value = QType> {
    prop_oneof![
        Just(QType::A),
        Just(QType::Aaaa),
        Just(QType::Cname),
        Just(QType::Ns),
        Just(QType::Soa),
        Just(QType::Any),
        any::<u16>().prop_map(QType::from_code),
    ]
}

fn name() -> impl Strategy<Value = String> {
    let label = "[a-zA-Z0-9]([a-zA-Z0-9-]{0,18}[a-zA-Z0-9])?";
    (
        proptest::collection::vec(label, 0..4),
        prop_oneof![
            Just("s3.example.com"),
            Just("s3.us.example.com"),
            Just("example.org"),
            Just("com")
        ],
    )
        .prop_map(|(labels, zone)| {
            let mut n = labels.join(".");
            if !n.is_empty() {
                n.push('.');
            }
            n + zone
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_break_the_handler(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
        let (s, i) = fixture();
        let r = Resolver { settings: &s, index: &i };
        check(&bytes, Transport::Udp, &r);
        check(&bytes, Transport::Tcp, &r);
    }

    #[test]
    fn real_queries_are_answered_within_the_limit(
        n in name(), t in qtype(), edns in proptest::option::of(0u16..5000), id in any::<u16>()
    ) {
        let (s, i) = fixture();
        let r = Resolver { settings: &s, index: &i };
        let q = query_packet(id, &n, t, edns).unwrap();
        let resp = handle(&q, Transport::Udp, &r).expect("a query gets a reply");
        let limit = edns.map_or(MIN_UDP, |e| (e as usize).clamp(MIN_UDP, MAX_UDP));
        prop_assert!(resp.bytes.len() <= limit, "{} > {limit}", resp.bytes.len());
        let m = hickory_proto::op::Message::from_vec(&resp.bytes).unwrap();
        prop_assert_eq!(m.id, id);
        prop_assert_eq!(m.queries.len(), 1);
        // Over TCP the same question is never truncated.
        let whole = handle(&q, Transport::Tcp, &r).unwrap();
        prop_assert!(!whole.truncated);
        prop_assert_eq!(resp.rcode, whole.rcode);
        if !resp.truncated {
            prop_assert_eq!(&resp.bytes, &whole.bytes);
        }
    }

    #[test]
    fn mangled_queries_never_break_the_handler(
        n in name(), t in qtype(), cuts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        shorten in any::<prop::sample::Index>()
    ) {
        let (s, i) = fixture();
        let r = Resolver { settings: &s, index: &i };
        let mut q = query_packet(1, &n, t, Some(1232)).unwrap();
        for (at, byte) in cuts {
            let k = at.index(q.len());
            q[k] = byte;
        }
        check(&q, Transport::Udp, &r);
        let len = shorten.index(q.len() + 1);
        check(&q[..len], Transport::Udp, &r);
    }

    #[test]
    fn compression_pointers_anywhere_never_loop(ptrs in proptest::collection::vec(any::<u16>(), 1..8)) {
        let (s, i) = fixture();
        let r = Resolver { settings: &s, index: &i };
        let mut q = vec![0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        for p in ptrs {
            q.extend_from_slice(&(0xc000 | (p & 0x3fff)).to_be_bytes());
        }
        q.extend_from_slice(&[0, 1, 0, 1]);
        check(&q, Transport::Udp, &r);
    }
}
