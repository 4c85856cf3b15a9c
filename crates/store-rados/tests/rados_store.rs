//! The RADOS stores against a real Ceph cluster (`scripts/ceph-test-cluster.sh start`, then
//! `MERIDIAN_TEST_RADOS_CONF=<dir>/ceph.conf cargo test -p meridian-store-rados -- --include-ignored`).
//! Ignored by a plain `cargo test`; without the variable they fail, so a missing cluster is never a pass.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test code: its helpers panic on what a test must not meet (not only `#[test]` functions)"
)]

use meridian_store::{DataStore, MetaStore};
use meridian_store_rados::{RadosConfig, RadosStores};
use std::io::Read;
use std::sync::Arc;

fn config() -> RadosConfig {
    let conf = std::env::var("MERIDIAN_TEST_RADOS_CONF").unwrap_or_else(|_| {
        panic!("MERIDIAN_TEST_RADOS_CONF is not set: start a cluster with scripts/ceph-test-cluster.sh start")
    });
    RadosConfig {
        conf: conf.into(),
        pool_prefix: "mtest".into(),
        namespace: uuid_ns(),
        meta_shards: 8,
        ..Default::default()
    }
}

fn uuid_ns() -> String {
    format!(
        "t{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

fn open(cfg: &RadosConfig) -> RadosStores {
    meridian_store_rados::open(cfg).unwrap()
}

#[test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
fn meta_transactions_scans_and_two_handles() {
    let cfg = config();
    let a = open(&cfg).meta;
    let b = open(&cfg).meta;
    let mut txn = a.begin().unwrap();
    txn.put(b"obj/b1/x", b"1").unwrap();
    txn.put(b"obj/b1/y", b"2").unwrap();
    txn.put(b"mpu/b1/k\0u1", b"nul").unwrap();
    txn.put(b"user/alice", b"A").unwrap();
    txn.put(b"user/bob", b"B").unwrap();
    assert_eq!(
        txn.get(b"obj/b1/x").unwrap(),
        Some(b"1".to_vec()),
        "a transaction sees its own writes"
    );
    txn.commit().unwrap();
    // Another handle (another gateway) reads what the first committed.
    let snap = b.snapshot().unwrap();
    assert_eq!(snap.get(b"obj/b1/y").unwrap(), Some(b"2".to_vec()));
    assert_eq!(snap.get(b"mpu/b1/k\0u1").unwrap(), Some(b"nul".to_vec()));
    let users = snap.scan(b"user/", b"user0", 10).unwrap();
    assert_eq!(users.len(), 2, "a scan over many shards merges them in order");
    assert_eq!(users[0].0, b"user/alice".to_vec());
    let objs = snap.scan(b"obj/b1/", b"obj/b10", 1).unwrap();
    assert_eq!(objs, vec![(b"obj/b1/x".to_vec(), b"1".to_vec())]);
    let from = snap.scan(b"obj/b1/y", b"obj/b10", 10).unwrap();
    assert_eq!(from.len(), 1, "scan start is inclusive");
    let rev = snap.scan_rev(b"obj/b1/", b"obj/b10", 1).unwrap();
    assert_eq!(rev[0].0, b"obj/b1/y".to_vec());
    // Deletes from b, seen by a; a dropped transaction leaves nothing.
    let mut txn = b.begin().unwrap();
    txn.delete(b"obj/b1/x").unwrap();
    txn.commit().unwrap();
    let mut txn = a.begin().unwrap();
    assert_eq!(
        txn.get(b"obj/b1/x").unwrap(),
        None,
        "the next writer sees the other's commit"
    );
    txn.put(b"lost", b"x").unwrap();
    drop(txn);
    let snap = a.snapshot().unwrap();
    assert_eq!(snap.get(b"lost").unwrap(), None);
    assert_eq!(snap.scan(b"obj/", b"obj0", 10).unwrap().len(), 1);
}

#[test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
fn concurrent_writers_in_two_handles_never_lose_an_increment() {
    let cfg = config();
    let handles: Vec<Arc<dyn MetaStore>> = vec![open(&cfg).meta, open(&cfg).meta];
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let meta = handles[t % 2].clone();
            std::thread::spawn(move || {
                for _ in 0..25 {
                    let mut txn = meta.begin().unwrap();
                    let n: u64 = txn
                        .get(b"seq/counter")
                        .unwrap()
                        .map(|v| String::from_utf8(v).unwrap().parse().unwrap())
                        .unwrap_or(0);
                    txn.put(b"seq/counter", (n + 1).to_string().as_bytes()).unwrap();
                    txn.put(format!("log/{t}/{n:05}").as_bytes(), b"x").unwrap();
                    txn.commit().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let snap = handles[1].snapshot().unwrap();
    assert_eq!(snap.get(b"seq/counter").unwrap(), Some(b"100".to_vec()));
    assert_eq!(snap.scan(b"log/", b"log0", 1000).unwrap().len(), 100);
}

#[test]
#[ignore = "needs a Ceph cluster (MERIDIAN_TEST_RADOS_CONF)"]
fn blobs_stripe_stream_and_delete() {
    let cfg = config();
    let data = open(&cfg).data;
    let size = meridian_store_rados::data::STRIPE * 2 + 12345;
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let mut w = data.create("0123456789abcdef").unwrap();
    for chunk in bytes.chunks(100_000) {
        w.write(chunk).unwrap();
    }
    assert!(data.open("0123456789abcdef", 0, 10).is_err(), "invisible before finish");
    w.finish().unwrap();
    assert_eq!(data.blob_size("0123456789abcdef").unwrap(), size as u64);
    let mut all = Vec::new();
    data.open("0123456789abcdef", 0, size as u64)
        .unwrap()
        .read_to_end(&mut all)
        .unwrap();
    assert!(all == bytes, "whole read");
    let off = meridian_store_rados::data::STRIPE as u64 - 10;
    let mut part = Vec::new();
    data.open("0123456789abcdef", off, 30)
        .unwrap()
        .read_to_end(&mut part)
        .unwrap();
    assert_eq!(
        part,
        bytes[off as usize..off as usize + 30],
        "a range across a stripe boundary"
    );
    assert!(data.bytes_used().unwrap() >= size as u64);
    let abandoned = data.create("fedcba9876543210").unwrap();
    drop(abandoned);
    data.delete("0123456789abcdef").unwrap();
    data.delete("0123456789abcdef").unwrap();
    assert!(data.open("0123456789abcdef", 0, 1).is_err());
    assert_eq!(data.bytes_used().unwrap(), 0);
}
