//! Benchmark fixture for `bench/dns.sh`: the built-in responder and the PowerDNS backend (the same code the
//! server runs) over an index of N synthetic buckets in two zonegroups, plus a dnsperf query file; with
//! `--memory` it only measures the index's memory for N buckets and exits.

#![allow(clippy::print_stdout, reason = "a benchmark fixture: its figures are its output")]

use meridian_dns::responder::{self, Shared};
use meridian_dns::{pdns, DnsSettings, Index};
use std::io::Write;
use std::sync::Arc;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn bucket(i: u64) -> String {
    format!("bucket-{i:08}-{}", i.wrapping_mul(0x9E37_79B9) % 100_000)
}

fn index(n: u64) -> Index {
    let mut us = meridian_model::ZoneGroup::new("us-id", "us");
    us.hostnames = vec!["s3.us.example.com".into()];
    us.endpoints = vec!["http://127.0.0.1:7480".into()];
    let mut eu = meridian_model::ZoneGroup::new("eu-id", "eu");
    eu.hostnames = vec!["s3.eu.example.com".into()];
    eu.endpoints = vec!["http://127.0.0.2:7480".into()];
    let idx = Index::new();
    idx.set_zonegroups(&[us, eu]);
    let names: Vec<String> = (0..n).map(bucket).collect();
    idx.replace_all(
        names
            .iter()
            .enumerate()
            .map(|(i, b)| ("", b.as_str(), if i % 2 == 0 { "us-id" } else { "eu-id" })),
    );
    idx
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let n: u64 = arg("--buckets").map_or(Ok(100_000), |v| v.parse())?;
    if args.iter().any(|a| a == "--memory") {
        // One bucket at a time, so no list of all names is alive while measuring.
        let idx = index(0);
        let before = rss_kib();
        for i in 0..n {
            idx.set_bucket("", &bucket(i), Some(if i % 2 == 0 { "us-id" } else { "eu-id" }));
        }
        let after = rss_kib();
        println!(
            "index of {} buckets: {:.1} MiB ({:.0} bytes per bucket)",
            idx.len(),
            (after - before) as f64 / 1024.0,
            (after - before) as f64 * 1024.0 / n as f64
        );
        return Ok(());
    }
    let workers: usize = arg("--threads").map_or(Ok(2), |v| v.parse())?;
    let listen = arg("--listen").unwrap_or_else(|| "127.0.0.1:0".into()).parse()?;
    let backend = arg("--backend-listen")
        .unwrap_or_else(|| "127.0.0.1:0".into())
        .parse()?;
    if let Some(path) = arg("--queries") {
        // 80% existing buckets (A), 10% missing buckets, 5% AAAA, 5% apex SOA.
        let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
        let mut x: u64 = 88172645463325252;
        for i in 0..100_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            match i % 20 {
                0 | 1 => writeln!(f, "missing-{x}.s3.example.com A")?,
                2 => writeln!(f, "{}.s3.example.com AAAA", bucket(x % n))?,
                3 => writeln!(f, "s3.example.com SOA")?,
                _ => writeln!(f, "{}.s3.example.com A", bucket(x % n))?,
            }
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let settings = DnsSettings::new("s3.example.com", 60, &[], None, vec![], vec![], 0)?;
        let shared = Shared::new(settings, Arc::new(index(n)));
        let (udp, tcp) = responder::bind(listen).await?;
        println!("responder udp+tcp {}", udp.local_addr()?);
        responder::serve(udp, tcp, shared.clone());
        let listener = pdns::bind(backend).await?;
        println!("backend http://{}/dns", listener.local_addr()?);
        pdns::serve(listener, shared);
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok::<(), Box<dyn std::error::Error>>(())
    })
}
