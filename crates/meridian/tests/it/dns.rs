//! The DNS global namespace: a realm of three zones in two zonegroups, each serving DNS; the built-in
//! responder queried with `dig` and hickory's resolver, a real `pdns_server` on the PowerDNS remote backend,
//! `meridian dns lookup`, aws-sdk-s3 reaching buckets through `BUCKET.s3.example.com` by DNS alone; and a
//! responder that bad input, truncation limits and a flooding source cannot stop.

use crate::common::realm::*;
use crate::common::*;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_runtime_api::client::http::{
    http_client_fn, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_types::body::SdkBody;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Record, RecordData, RecordType};
use hickory_resolver::TokioResolver;
use serde_json::json;
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const DOMAIN: &str = "s3.example.com";
const TIMEOUT: Duration = Duration::from_secs(60);

fn dns_args(extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--dns-domain",
        DOMAIN,
        "--dns-listen",
        "127.0.0.1:0",
        "--dns-backend-listen",
        "127.0.0.1:0",
        "--dns-nameserver",
        "ns1.example.com",
        "--dns-apex-a",
        "192.0.2.10",
        "--dns-apex-aaaa",
        "2001:db8::10",
        "--dns-ttl-secs",
        "60",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// The address after `marker` in the last log line that has it.
fn logged_addr(log: &str, marker: &str) -> SocketAddr {
    log.lines()
        .rev()
        .find_map(|l| l.split(marker).nth(1))
        .and_then(|rest| rest.split(['/', ' ']).next())
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("no {marker:?} in the server log:\n{log}"))
}

fn responder_of(log: &str) -> SocketAddr {
    logged_addr(log, "dns responder listening on udp+tcp ")
}

fn backend_of(log: &str) -> SocketAddr {
    logged_addr(log, "pdns remote backend serving http://")
}

// ---------------------------------------------------------------------------------------------------------
// dig

/// One record as dig prints it: owner name (lowercase), type, data (SOA serial left out: it moves).
type Rr = (String, String, String);

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dig {
    status: String,
    flags: Vec<String>,
    answer: Vec<Rr>,
    authority: Vec<Rr>,
}

fn parse_rr(line: &str) -> Rr {
    let f: Vec<&str> = line.split_whitespace().collect();
    assert!(f.len() >= 5, "not a record line: {line}");
    let mut data: Vec<String> = f[4..].iter().map(|s| s.to_ascii_lowercase()).collect();
    if f[3] == "SOA" && data.len() == 7 {
        data.remove(2);
    }
    (f[0].to_ascii_lowercase(), f[3].to_string(), data.join(" "))
}

fn parse_dig(text: &str) -> Dig {
    let status = text
        .split("status: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("no status in dig's output:\n{text}"))
        .to_string();
    let flags = text
        .split(";; flags: ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .map(|f| f.split_whitespace().map(str::to_string).collect())
        .unwrap_or_default();
    let section = |title: &str| -> Vec<Rr> {
        let mut rrs: Vec<Rr> = text
            .split(&format!(";; {title} SECTION:\n"))
            .nth(1)
            .map(|rest| {
                rest.lines()
                    .take_while(|l| !l.trim().is_empty())
                    .map(parse_rr)
                    .collect()
            })
            .unwrap_or_default();
        rrs.sort();
        rrs
    };
    Dig {
        status,
        flags,
        answer: section("ANSWER"),
        authority: section("AUTHORITY"),
    }
}

/// `dig @server NAME TYPE +norec [opts]`; dig must be installed (the test fails otherwise).
fn dig(server: SocketAddr, name: &str, qtype: &str, opts: &[&str]) -> Dig {
    let mut cmd = Command::new("dig");
    cmd.arg(format!("@{}", server.ip()))
        .args([
            "-p",
            &server.port().to_string(),
            name,
            qtype,
            "+norec",
            "+time=3",
            "+tries=3",
        ])
        .args(opts);
    let out = run_with_timeout(cmd, Duration::from_secs(60));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "dig {name} {qtype} at {server} failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_dig(&text)
}

fn rr(name: &str, qtype: &str, data: &str) -> Rr {
    (name.to_string(), qtype.to_string(), data.to_string())
}

fn cname(bucket: &str, host: &str) -> Vec<Rr> {
    vec![rr(
        &format!("{bucket}.{DOMAIN}."),
        "CNAME",
        &format!("{bucket}.{host}."),
    )]
}

/// The answer to an A question for a bucket: the CNAME, and the address the responder follows it to.
fn chain(bucket: &str, host: &str, ip: &str) -> Vec<Rr> {
    let mut v = cname(bucket, host);
    v.push(rr(&format!("{bucket}.{host}."), "A", ip));
    v.sort();
    v
}

/// Asks until `check` holds (metadata sync takes a moment); returns the last answer.
async fn dig_until(server: SocketAddr, name: &str, qtype: &str, check: impl Fn(&Dig) -> bool) -> Dig {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let d = dig(server, name, qtype, &[]);
        if check(&d) || Instant::now() > deadline {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

// ---------------------------------------------------------------------------------------------------------
// The realm

/// A port free on both 127.0.0.1 and 127.0.0.2 (zone us-east and zone eu-1 listen on the same port, so a URL
/// `http://BUCKET.s3.example.com:PORT` reaches whichever address DNS gives).
fn port_on_two_addresses() -> u16 {
    loop {
        let port = free_port();
        if std::net::TcpListener::bind(("127.0.0.2", port)).is_ok() {
            return port;
        }
    }
}

struct DnsRealm {
    a: Zone,
    b: Zone,
    c: Zone,
    port: u16,
    _dir: tempfile::TempDir,
}

impl DnsRealm {
    /// us-east (127.0.0.1:P, master of zonegroup `us`, s3.us.example.com), us-west (another port), eu-1
    /// (127.0.0.2:P, zonegroup `eu`, s3.eu.example.com); every server with the DNS responder and backend.
    fn build() -> DnsRealm {
        let dir = tempfile::tempdir().expect("tempdir");
        let port = port_on_two_addresses();
        let a_addr: SocketAddr = ([127, 0, 0, 1], port).into();
        let c_addr: SocketAddr = ([127, 0, 0, 2], port).into();
        let mut a = Zone::with_network(dir.path(), "us-east", a_addr, a_addr, format!("http://{a_addr}"), None);
        let mut b = Zone::new(dir.path(), "us-west");
        let mut c = Zone::with_network(dir.path(), "eu-1", c_addr, c_addr, format!("http://{c_addr}"), None);
        for z in [&mut a, &mut b, &mut c] {
            z.extra_args = dns_args(&[]);
        }
        a.found_realm("us", &["--hostnames", "s3.us.example.com"]);
        b.join_zonegroup(&a, "us");
        c.cli_with_key(&["realm", "pull", "--url", &a.endpoint]);
        let endpoint = c.endpoint.clone();
        c.cli(&[
            "zonegroup",
            "create",
            "--rgw-zonegroup",
            "eu",
            "--endpoints",
            &endpoint,
            "--hostnames",
            "s3.eu.example.com",
        ]);
        c.cli_with_key(&[
            "zone",
            "create",
            "--rgw-zonegroup",
            "eu",
            "--rgw-zone",
            "eu-1",
            "--endpoints",
            &endpoint,
            "--master",
            "--default",
        ]);
        c.cli(&["period", "update", "--commit"]);
        c.start();
        a.create_test_user();
        DnsRealm {
            a,
            b,
            c,
            port,
            _dir: dir,
        }
    }

    fn logs(&self) -> String {
        [&self.a, &self.b, &self.c]
            .iter()
            .map(|z| format!("===== {} =====\n{}", z.name, z.log_tail(60)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

// ---------------------------------------------------------------------------------------------------------
// PowerDNS

struct Pdns {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Drop for Pdns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_tcp_port() -> u16 {
    loop {
        let port = free_port();
        if UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `pdns_server` in the foreground on a loopback port, with the remote backend pointed at `backend` and its
/// packet cache on; waits until it answers.
fn start_pdns(backend: SocketAddr) -> Pdns {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("pdns.conf"), "").expect("pdns.conf");
    let port = free_udp_tcp_port();
    let log = dir.path().join("pdns.log");
    let log_file = std::fs::File::create(&log).expect("pdns log");
    let pdns = which("pdns_server");
    let child = Command::new(&pdns)
        .arg(format!("--config-dir={}", dir.path().display()))
        .arg(format!("--socket-dir={}", dir.path().display()))
        .args([
            "--guardian=no",
            "--daemon=no",
            "--disable-syslog",
            "--write-pid=no",
            "--local-address=127.0.0.1",
            &format!("--local-port={port}"),
            "--launch=remote",
            &format!("--remote-connection-string=http:url=http://{backend}/dns"),
            "--cache-ttl=20",
            "--negquery-cache-ttl=60",
            "--query-cache-ttl=20",
            "--webserver=no",
            "--loglevel=5",
            "--log-dns-queries=no",
            "--security-poll-suffix=",
        ])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone().expect("log"))
        .stderr(log_file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {pdns:?} (install pdns-server and pdns-backend-remote): {e}"));
    let mut p = Pdns {
        child,
        addr: ([127, 0, 0, 1], port).into(),
        log,
        _dir: dir,
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = p.child.try_wait().expect("pdns status") {
            panic!("pdns_server exited ({status}): {}", p.log_text());
        }
        let mut cmd = Command::new("dig");
        cmd.args([
            "@127.0.0.1",
            "-p",
            &port.to_string(),
            DOMAIN,
            "SOA",
            "+time=1",
            "+tries=1",
        ]);
        let out = run_with_timeout(cmd, Duration::from_secs(30));
        if out.status.success() && String::from_utf8_lossy(&out.stdout).contains("status: NOERROR") {
            return p;
        }
        assert!(
            Instant::now() < deadline,
            "pdns_server does not answer: {}",
            p.log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

impl Pdns {
    fn log_text(&mut self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// The full path of a program, from PATH or the sbin directories (pdns_server lives in /usr/sbin).
fn which(program: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin", "/usr/local/sbin"])
        .map(|d| Path::new(d).join(program))
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{program} is not installed (scripts/install-test-deps.sh installs it)"))
}

// ---------------------------------------------------------------------------------------------------------
// hickory's resolver, and aws-sdk-s3 over it

fn resolver_for(server: SocketAddr) -> TokioResolver {
    let mut udp = ConnectionConfig::udp();
    udp.port = server.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = server.port();
    let ns = NameServerConfig::new(server.ip(), true, vec![udp, tcp]);
    let config = ResolverConfig::from_name_servers(vec![ns]);
    let mut builder = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default());
    builder.options_mut().cache_size = 0;
    builder.options_mut().recursion_desired = false;
    builder.build().expect("hickory resolver")
}

/// A record hickory returned, as `parse_rr` reads dig's lines (hickory prints records in the same layout).
fn hickory_rr<R: RecordData>(record: &Record<R>) -> Rr {
    parse_rr(&record.to_string())
}

fn hickory_rrs(records: &[Record]) -> Vec<Rr> {
    let mut rrs: Vec<Rr> = records.iter().map(hickory_rr).collect();
    rrs.sort();
    rrs
}

/// The response code behind a failed hickory lookup, and the negative answer's SOA when there is one.
fn hickory_failure(e: &NetError) -> (Option<ResponseCode>, Option<Rr>) {
    match e {
        NetError::Dns(DnsError::ResponseCode(code)) => (Some(*code), None),
        NetError::Dns(DnsError::NoRecordsFound(none)) => {
            (Some(none.response_code), none.soa.as_deref().map(hickory_rr))
        }
        _ => (None, None),
    }
}

/// What each name resolved to.
type Seen = Arc<Mutex<BTreeMap<String, Vec<IpAddr>>>>;

/// hyper's DNS hook, answered by hickory's resolver; records what each name resolved to.
#[derive(Clone)]
struct HickoryResolve {
    resolver: Arc<TokioResolver>,
    seen: Seen,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl tower_service::Service<hyper_util::client::legacy::connect::dns::Name> for HickoryResolve {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = BoxError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), BoxError>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: hyper_util::client::legacy::connect::dns::Name) -> Self::Future {
        let me = self.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let ips: Vec<IpAddr> = me.resolver.lookup_ip(host.as_str()).await?.iter().collect();
            me.seen.lock().unwrap().insert(host, ips.clone());
            Ok(ips
                .into_iter()
                .map(|ip| SocketAddr::new(ip, 0))
                .collect::<Vec<_>>()
                .into_iter())
        })
    }
}

#[derive(Clone)]
struct DnsConnector {
    client:
        hyper_util::client::legacy::Client<hyper_util::client::legacy::connect::HttpConnector<HickoryResolve>, SdkBody>,
}

impl std::fmt::Debug for DnsConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DnsConnector")
    }
}

impl HttpConnector for DnsConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let req = request
                .try_into_http1x()
                .map_err(|e| ConnectorError::other(e.into(), None))?;
            let resp = client.request(req).await.map_err(|e| ConnectorError::io(e.into()))?;
            let resp = resp.map(SdkBody::from_body_1_x);
            aws_smithy_runtime_api::http::Response::try_from(resp).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

/// An S3 client for `http://s3.example.com:PORT`, virtual-hosted style, whose every name is resolved by
/// hickory asking only `dns`.
fn sdk_over_dns(dns: SocketAddr, host: &str, port: u16) -> (aws_sdk_s3::Client, Seen) {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let resolve = HickoryResolve {
        resolver: Arc::new(resolver_for(dns)),
        seen: seen.clone(),
    };
    let mut http = hyper_util::client::legacy::connect::HttpConnector::new_with_resolver(resolve);
    http.enforce_http(true);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(http);
    let connector = SharedHttpConnector::new(DnsConnector { client });
    let http_client: SharedHttpClient = http_client_fn(move |_, _| connector.clone());
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .endpoint_url(format!("http://{host}:{port}"))
        .credentials_provider(Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "dns-tests"))
        .force_path_style(false)
        .http_client(http_client)
        .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
        .build();
    (aws_sdk_s3::Client::from_conf(conf), seen)
}

async fn metrics_text(addr: SocketAddr) -> String {
    http()
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text")
}

/// The value of the first metrics line starting with `prefix` (0 when there is none).
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

// ---------------------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn dns_answers_follow_the_realm_and_carry_s3_clients() {
    let mut realm = DnsRealm::build();
    let us = realm.a.zonegroup_id("us");
    let eu = realm.a.zonegroup_id("eu");
    let (a, b, c) = (&realm.a, &realm.b, &realm.c);

    // Buckets in each zonegroup: `photos` and a dotted name through the master (us), `eu-photos` through eu-1.
    create_bucket(&a.client(), "photos").await;
    create_bucket(&a.client(), "my.dotted.bucket").await;
    create_bucket(&c.client(), "eu-photos").await;

    // us-west answers for all of them once metadata sync brought them.
    let dns_b = responder_of(&b.server_log());
    let d = dig_until(dns_b, &format!("eu-photos.{DOMAIN}"), "A", |d| d.status == "NOERROR").await;
    assert_eq!(
        d.answer,
        chain("eu-photos", "s3.eu.example.com", "127.0.0.2"),
        "{d:?}\n{}",
        realm.logs()
    );
    let d = dig_until(dns_b, &format!("my.dotted.bucket.{DOMAIN}"), "A", |d| {
        d.status == "NOERROR"
    })
    .await;
    assert_eq!(
        d.answer,
        chain("my.dotted.bucket", "s3.us.example.com", "127.0.0.1"),
        "{d:?}"
    );
    let d = dig(dns_b, &format!("photos.{DOMAIN}"), "A", &[]);
    assert_eq!(d.status, "NOERROR");
    assert!(d.flags.contains(&"aa".to_string()), "authoritative: {d:?}");
    assert_eq!(d.answer, chain("photos", "s3.us.example.com", "127.0.0.1"));
    // Any case; AAAA and CNAME questions get the CNAME too (no AAAA behind it: the target zone's SOA).
    let d = dig(dns_b, "PhOtOs.S3.Example.COM", "AAAA", &[]);
    assert_eq!(d.answer, cname("photos", "s3.us.example.com"), "{d:?}");
    assert_eq!(d.authority[0].0, "s3.us.example.com.", "{d:?}");
    let d = dig(dns_b, &format!("eu-photos.{DOMAIN}"), "CNAME", &["+tcp"]);
    assert_eq!(d.answer, cname("eu-photos", "s3.eu.example.com"), "{d:?}");

    // Unknown bucket: NXDOMAIN with the SOA; the apex: SOA, NS, A; outside: REFUSED.
    let soa = rr(
        &format!("{DOMAIN}."),
        "SOA",
        "ns1.example.com. hostmaster.s3.example.com. 3600 600 604800 60",
    );
    let d = dig(dns_b, &format!("no-such-bucket.{DOMAIN}"), "A", &[]);
    assert_eq!((d.status.as_str(), d.answer.len()), ("NXDOMAIN", 0), "{d:?}");
    assert_eq!(d.authority, vec![soa.clone()]);
    let d = dig(dns_b, DOMAIN, "SOA", &[]);
    assert_eq!((d.status.as_str(), d.answer.clone()), ("NOERROR", vec![soa.clone()]));
    let d = dig(dns_b, DOMAIN, "NS", &[]);
    assert_eq!(d.answer, vec![rr(&format!("{DOMAIN}."), "NS", "ns1.example.com.")]);
    let d = dig(dns_b, DOMAIN, "A", &[]);
    assert_eq!(d.answer, vec![rr(&format!("{DOMAIN}."), "A", "192.0.2.10")]);
    let d = dig(dns_b, DOMAIN, "AAAA", &[]);
    assert_eq!(d.answer, vec![rr(&format!("{DOMAIN}."), "AAAA", "2001:db8::10")]);
    for outside in ["example.org", "example.com", "s3.example.net"] {
        assert_eq!(dig(dns_b, outside, "A", &[]).status, "REFUSED", "{outside}");
    }
    // The zonegroup hostnames answer their endpoints' addresses.
    let d = dig(dns_b, "s3.eu.example.com", "A", &[]);
    assert_eq!(d.answer, vec![rr("s3.eu.example.com.", "A", "127.0.0.2")]);
    let d = dig(dns_b, "photos.s3.us.example.com", "A", &[]);
    assert_eq!(d.answer, vec![rr("photos.s3.us.example.com.", "A", "127.0.0.1")]);

    // hickory's resolver, pointed only at us-west, follows the whole chain.
    let resolver = resolver_for(dns_b);
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("photos.s3.example.com.")
        .await
        .expect("photos")
        .iter()
        .collect();
    assert_eq!(ips, vec![IpAddr::from([127, 0, 0, 1])]);
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("eu-photos.s3.example.com.")
        .await
        .expect("eu-photos")
        .iter()
        .collect();
    assert_eq!(ips, vec![IpAddr::from([127, 0, 0, 2])]);
    // ... and reads the same records dig does: the CNAME itself, the chain, NXDOMAIN with the SOA, the
    // apex's SOA, NS and addresses, REFUSED outside the domain.
    let lookup = |name: &str, qtype: RecordType| resolver.lookup(name.to_string(), qtype);
    let got = lookup("eu-photos.s3.example.com.", RecordType::CNAME)
        .await
        .expect("CNAME");
    assert_eq!(hickory_rrs(got.answers()), cname("eu-photos", "s3.eu.example.com"));
    let got = lookup("my.dotted.bucket.s3.example.com.", RecordType::A)
        .await
        .expect("A");
    assert_eq!(
        hickory_rrs(got.answers()),
        chain("my.dotted.bucket", "s3.us.example.com", "127.0.0.1")
    );
    let missing = lookup("no-such-bucket.s3.example.com.", RecordType::A).await;
    let err = missing.expect_err("an unknown bucket resolves to nothing");
    assert_eq!(
        hickory_failure(&err),
        (Some(ResponseCode::NXDomain), Some(soa.clone())),
        "{err:?}"
    );
    let got = lookup("s3.example.com.", RecordType::SOA).await.expect("SOA");
    assert_eq!(hickory_rrs(got.answers()), vec![soa.clone()]);
    let got = lookup("s3.example.com.", RecordType::NS).await.expect("NS");
    assert_eq!(
        hickory_rrs(got.answers()),
        vec![rr(&format!("{DOMAIN}."), "NS", "ns1.example.com.")]
    );
    let ips: Vec<IpAddr> = resolver
        .lookup_ip("s3.example.com.")
        .await
        .expect("apex")
        .iter()
        .collect();
    assert!(
        ips.contains(&"192.0.2.10".parse().unwrap()) && ips.contains(&"2001:db8::10".parse().unwrap()),
        "{ips:?}"
    );
    for outside in ["example.org.", "s3.example.net."] {
        let err = lookup(outside, RecordType::A).await.expect_err("outside the domain");
        assert_eq!(
            hickory_failure(&err).0,
            Some(ResponseCode::Refused),
            "{outside}: {err:?}"
        );
    }

    // A real pdns_server on the remote backend of us-west gives the same answers (asked twice: the second
    // from its packet cache).
    let mut pdns = start_pdns(backend_of(&b.server_log()));
    let questions = [
        (format!("photos.{DOMAIN}"), "A"),
        (format!("photos.{DOMAIN}"), "AAAA"),
        (format!("photos.{DOMAIN}"), "TXT"),
        (format!("eu-photos.{DOMAIN}"), "A"),
        (format!("my.dotted.bucket.{DOMAIN}"), "CNAME"),
        (format!("no-such-bucket.{DOMAIN}"), "A"),
        (DOMAIN.to_string(), "SOA"),
        (DOMAIN.to_string(), "NS"),
        (DOMAIN.to_string(), "A"),
        (DOMAIN.to_string(), "AAAA"),
        ("s3.eu.example.com".to_string(), "A"),
        ("photos.s3.us.example.com".to_string(), "A"),
        ("example.org".to_string(), "A"),
    ];
    for round in 0..2 {
        for (name, qtype) in &questions {
            let ours = dig(dns_b, name, qtype, &[]);
            let theirs = dig(pdns.addr, name, qtype, &[]);
            assert_eq!(
                (&theirs.status, &theirs.answer, &theirs.authority),
                (&ours.status, &ours.answer, &ours.authority),
                "round {round}: {name} {qtype}: pdns {theirs:?}, meridian {ours:?}\npdns log: {}",
                pdns.log_text()
            );
        }
    }
    let m = metrics_text(b.addr).await;
    assert!(
        metric(
            &m,
            "meridian_dns_queries_total{type=\"ANY\",rcode=\"NOERROR\",via=\"pdns\"}"
        ) >= 1.0,
        "pdns asked the backend: {m}"
    );

    // A bucket created on the master is answered by the zone of the other zonegroup once metadata sync ran.
    let dns_c = responder_of(&c.server_log());
    create_bucket(&a.client(), "late-bucket").await;
    let d = dig_until(dns_c, &format!("late-bucket.{DOMAIN}"), "A", |d| d.status == "NOERROR").await;
    assert_eq!(
        d.answer,
        chain("late-bucket", "s3.us.example.com", "127.0.0.1"),
        "{d:?}\n{}",
        realm.logs()
    );
    // A metadata put moving the (empty) bucket to eu changes the answer everywhere.
    let id = a.cli(&["bucket", "stats", "--bucket", "late-bucket"])["id"]
        .as_str()
        .expect("bucket id")
        .to_string();
    let key = format!("bucket.instance:late-bucket:{id}");
    let mut doc = a.cli(&["metadata", "get", &key]);
    assert_eq!(doc["data"]["bucket_info"]["zonegroup"], json!(us));
    doc["data"]["bucket_info"]["zonegroup"] = json!(eu);
    let file = a.root_dir().join("late-bucket.json");
    std::fs::write(&file, serde_json::to_vec(&doc).unwrap()).unwrap();
    a.cli(&["metadata", "put", &key, "--infile", file.to_str().unwrap()]);
    let dns_a = responder_of(&a.server_log());
    for (zone, dns) in [("us-east", dns_a), ("eu-1", dns_c), ("us-west", dns_b)] {
        let moved = chain("late-bucket", "s3.eu.example.com", "127.0.0.2");
        let d = dig_until(dns, &format!("late-bucket.{DOMAIN}"), "A", |d| d.answer == moved).await;
        assert_eq!(d.answer, moved, "{zone}: {d:?}");
    }
    // A removed bucket becomes NXDOMAIN.
    a.cli(&["bucket", "rm", "--bucket", "late-bucket"]);
    for (zone, dns) in [("us-east", dns_a), ("eu-1", dns_c), ("us-west", dns_b)] {
        let d = dig_until(dns, &format!("late-bucket.{DOMAIN}"), "A", |d| d.status == "NXDOMAIN").await;
        assert_eq!(
            (d.status.as_str(), d.authority.clone()),
            ("NXDOMAIN", vec![soa.clone()]),
            "{zone}"
        );
    }

    // Metrics: queries by type and rcode, and the index size (photos, my.dotted.bucket, eu-photos).
    let m = metrics_text(b.addr).await;
    assert!(
        metric(
            &m,
            "meridian_dns_queries_total{type=\"A\",rcode=\"NXDOMAIN\",via=\"udp\"}"
        ) >= 1.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "meridian_dns_queries_total{type=\"SOA\",rcode=\"NOERROR\",via=\"udp\"}"
        ) >= 1.0,
        "{m}"
    );
    assert!(
        metric(
            &m,
            "meridian_dns_queries_total{type=\"A\",rcode=\"REFUSED\",via=\"udp\"}"
        ) >= 1.0,
        "{m}"
    );
    assert_eq!(metric(&m, "meridian_dns_index_buckets "), 3.0, "{m}");

    // End to end: aws-sdk-s3 resolving only through us-west's responder reaches each bucket's own zonegroup
    // (us-east at 127.0.0.1, eu-1 at 127.0.0.2, both on one port) and no redirect is ever sent.
    let (s3, seen) = sdk_over_dns(dns_b, DOMAIN, realm.port);
    for (bucket, ip) in [("photos", [127, 0, 0, 1]), ("eu-photos", [127, 0, 0, 2])] {
        let body = pattern(100_000, ip[3] as u64);
        s3.put_object()
            .bucket(bucket)
            .key("through-dns.bin")
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("put to {bucket} through DNS: {e:?}\n{}", realm.logs()));
        let got = s3
            .get_object()
            .bucket(bucket)
            .key("through-dns.bin")
            .send()
            .await
            .unwrap_or_else(|e| panic!("get from {bucket} through DNS: {e:?}"))
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
        assert_eq!(md5_hex(&got), md5_hex(&body), "{bucket}");
        let listed = s3.list_objects_v2().bucket(bucket).send().await.expect("list");
        assert_eq!(listed.contents().len(), 1, "{bucket}");
        let host = format!("{bucket}.{DOMAIN}");
        assert_eq!(
            seen.lock().unwrap().get(&host),
            Some(&vec![IpAddr::from(ip)]),
            "resolved names: {:?}",
            seen.lock().unwrap()
        );
    }
    // The object was written where the bucket lives.
    let on_c = get_bytes(&c.client(), "eu-photos", "through-dns.bin").await;
    assert_eq!(on_c.len(), 100_000);
    // Where the CNAME points, BUCKET.<zonegroup hostname>, is served too (SigV4 over that Host).
    for (bucket, host) in [("photos", "s3.us.example.com"), ("eu-photos", "s3.eu.example.com")] {
        let (zg_client, zg_seen) = sdk_over_dns(dns_b, host, realm.port);
        let got = zg_client
            .get_object()
            .bucket(bucket)
            .key("through-dns.bin")
            .send()
            .await
            .unwrap_or_else(|e| panic!("get {bucket} at {host}: {e:?}"));
        assert_eq!(got.content_length(), Some(100_000));
        assert!(zg_seen.lock().unwrap().contains_key(&format!("{bucket}.{host}")));
    }
    for zone in [a, c] {
        let m = metrics_text(zone.addr).await;
        assert!(!m.contains("status=\"301\""), "{} sent a redirect:\n{m}", zone.name);
        assert!(
            metric(&m, "meridian_http_requests_total{method=\"PUT\",status=\"200\"}") >= 1.0,
            "{}: {m}",
            zone.name
        );
    }

    // `meridian dns lookup`: through the running server's responder...
    let out = b.cli_raw(&["dns", "lookup", "EU-photos.s3.example.com", "--type", "a"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("status: NOERROR"), "{text}");
    assert!(
        text.contains("eu-photos.s3.example.com.\t60\tIN\tCNAME\teu-photos.s3.eu.example.com."),
        "{text}"
    );
    assert!(text.contains(";; SERVER: the responder at "), "{text}");
    let out = b.cli_raw(&["dns", "lookup", "x", "--type", "BOGUS"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a DNS record type"));
    // ... and from the data directory of a stopped zone.
    realm.b.stop();
    let b = &realm.b;
    let out = b.cli_raw(&["dns", "lookup", "nope.s3.example.com", "--dns-domain", DOMAIN]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("status: NXDOMAIN"), "{text}");
    assert!(text.contains("SERVER: the data directory"), "{text}");
    let out = b.cli_raw(&["dns", "lookup", "photos.s3.example.com", "--dns-domain", DOMAIN]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("photos.s3.example.com.\t60\tIN\tCNAME\tphotos.s3.us.example.com."),
        "{text}"
    );
    let out = b.cli_raw(&["dns", "lookup", "photos.s3.example.com"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("dns_domain is not configured"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // A new period with new hostnames changes the answers of the running zones, without a restart:
    // zonegroup eu gets s3.europe.example.com as its first hostname (where BUCKET.<domain> points).
    let (a, c) = (&realm.a, &realm.c);
    for dns in [dns_a, dns_c] {
        assert_eq!(dig(dns, "s3.europe.example.com", "A", &[]).status, "REFUSED");
    }
    let (pid_a, pid_c) = (a.pid(), c.pid());
    a.cli(&[
        "zonegroup",
        "modify",
        "--rgw-zonegroup",
        "eu",
        "--hostnames",
        "s3.europe.example.com,s3.eu.example.com",
    ]);
    a.cli(&["period", "update", "--commit"]);
    let moved = chain("eu-photos", "s3.europe.example.com", "127.0.0.2");
    for (zone, dns) in [("us-east", dns_a), ("eu-1", dns_c)] {
        let d = dig_until(dns, &format!("eu-photos.{DOMAIN}"), "A", |d| d.answer == moved).await;
        assert_eq!(d.answer, moved, "{zone}: {d:?}\n{}", realm.logs());
        let d = dig(dns, "s3.europe.example.com", "A", &[]);
        assert_eq!(
            (d.status.as_str(), d.answer.clone()),
            ("NOERROR", vec![rr("s3.europe.example.com.", "A", "127.0.0.2")]),
            "{zone}"
        );
        // The second hostname still answers, and buckets of us still point where they did.
        let d = dig(dns, "eu-photos.s3.eu.example.com", "A", &[]);
        assert_eq!(d.answer, vec![rr("eu-photos.s3.eu.example.com.", "A", "127.0.0.2")]);
        let d = dig(dns, &format!("photos.{DOMAIN}"), "A", &[]);
        assert_eq!(d.answer, chain("photos", "s3.us.example.com", "127.0.0.1"), "{zone}");
    }
    assert_eq!((a.pid(), c.pid()), (pid_a, pid_c), "the servers were not restarted");
}

// ---------------------------------------------------------------------------------------------------------
// Robustness

fn query(id: u16, name: &str, qtype: u16, edns: Option<u16>) -> Vec<u8> {
    use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
    use hickory_proto::rr::{Name, RecordType};
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::from(qtype)));
    if let Some(size) = edns {
        let mut e = Edns::new();
        e.set_max_payload(size);
        m.set_edns(e);
    }
    m.to_vec().unwrap()
}

/// Sends one packet from `socket` and waits up to `wait` for the reply.
fn ask(socket: &UdpSocket, server: SocketAddr, packet: &[u8], wait: Duration) -> Option<hickory_proto::op::Message> {
    socket.set_read_timeout(Some(wait)).unwrap();
    socket.send_to(packet, server).unwrap();
    let mut buf = [0u8; 65_535];
    loop {
        match socket.recv_from(&mut buf) {
            Ok((n, _)) => {
                let m = hickory_proto::op::Message::from_vec(&buf[..n]).expect("a parseable response");
                // Late answers to earlier packets are skipped.
                if packet.len() >= 2 && m.id == u16::from_be_bytes([packet[0], packet[1]]) {
                    return Some(m);
                }
            }
            Err(_) => return None,
        }
    }
}

fn rcode(m: &hickory_proto::op::Message) -> u16 {
    u16::from(m.response_code)
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_truncation_and_floods_do_not_stop_the_responder() {
    // 40 apex addresses make an answer larger than 512 bytes.
    let mut args = dns_args(&["--dns-rate-limit-qps", "500"]);
    for i in 1..=40 {
        args.extend(["--dns-apex-a".to_string(), format!("198.51.100.{i}")]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let server = Server::start_with(&args);
    let dns = responder_of(&server.server_log());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let wait = Duration::from_secs(5);
    // (Retried like a stub resolver would: the machine may be busy.)
    let ok = |socket: &UdpSocket| {
        let m = (0..3)
            .find_map(|_| ask(socket, dns, &query(4242, DOMAIN, 6, None), wait))
            .expect("the responder still answers");
        assert_eq!((rcode(&m), m.answers.len()), (0, 1));
    };

    // Malformed input: a FORMERR or nothing, and the next query is answered.
    let valid = query(7, &format!("photos.{DOMAIN}"), 1, None);
    let mut pointer_loop = valid[..12].to_vec();
    pointer_loop.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1]);
    let mut two_step_loop = valid[..12].to_vec();
    two_step_loop.extend_from_slice(&[1, b'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1]);
    let mut long_name = valid[..12].to_vec();
    for _ in 0..5 {
        long_name.push(63);
        long_name.extend_from_slice(&[b'a'; 63]);
    }
    long_name.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut long_label = valid[..12].to_vec();
    long_label.push(64);
    long_label.extend_from_slice(&[b'a'; 64]);
    long_label.extend_from_slice(&[0, 0, 1, 0, 1]);
    for (what, packet) in [
        ("truncated question", valid[..valid.len() - 3].to_vec()),
        ("pointer to itself", pointer_loop),
        ("pointer loop", two_step_loop),
        ("name over 255 bytes", long_name),
        ("label over 63 bytes", long_label),
    ] {
        if let Some(m) = ask(&socket, dns, &packet, Duration::from_millis(500)) {
            assert_eq!(rcode(&m), 1, "{what}: FORMERR");
        }
        ok(&socket);
    }
    for seed in 0..200u64 {
        let junk = pattern((seed as usize * 7) % 600, seed);
        let _ = socket.send_to(&junk, dns);
    }
    ok(&socket);
    // A response is never answered (no reflection loops).
    let mut response = valid.clone();
    response[2] |= 0x80;
    assert!(ask(&socket, dns, &response, Duration::from_millis(500)).is_none());
    // Unknown types: no data; unknown classes: refused; other opcodes: not implemented.
    let m = ask(&socket, dns, &query(11, DOMAIN, 65_280, None), wait).unwrap();
    assert_eq!((rcode(&m), m.answers.len(), m.authorities.len()), (0, 0, 1));
    let mut chaos = query(12, DOMAIN, 16, None);
    let n = chaos.len();
    chaos[n - 1] = 3;
    assert_eq!(rcode(&ask(&socket, dns, &chaos, wait).unwrap()), 5);
    let mut status = query(13, DOMAIN, 1, None);
    status[2] = 2 << 3;
    assert_eq!(rcode(&ask(&socket, dns, &status, wait).unwrap()), 4);

    // Over the client's limit: TC over UDP (512 without EDNS, what EDNS allows), whole over TCP.
    let truncated = |m: &str| metric(m, "meridian_dns_truncated_total ");
    assert_eq!(truncated(&metrics_text(server.addr).await), 0.0);
    let d = dig(dns, DOMAIN, "A", &["+noedns", "+ignore"]);
    assert!(d.flags.contains(&"tc".to_string()), "{d:?}");
    assert!(d.answer.is_empty());
    let d = dig(dns, DOMAIN, "A", &["+bufsize=1232", "+ignore"]);
    assert!(!d.flags.contains(&"tc".to_string()), "{d:?}");
    assert_eq!(d.answer.len(), 41);
    let d = dig(dns, DOMAIN, "A", &["+noedns"]);
    assert_eq!(d.answer.len(), 41, "dig retried over TCP: {d:?}");
    // Counted: the +ignore answer and the one dig retried over TCP (the 1232-byte one was not truncated).
    let m = metrics_text(server.addr).await;
    assert_eq!(truncated(&m), 2.0, "{m}");

    // TCP: junk, a length with no message, then a good connection.
    {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(dns).unwrap();
        s.write_all(&[0, 40, 1, 2, 3]).unwrap();
        drop(s);
        let mut s = std::net::TcpStream::connect(dns).unwrap();
        let q = query(99, &format!("x.{DOMAIN}"), 1, None);
        s.write_all(&(q.len() as u16).to_be_bytes()).unwrap();
        s.write_all(&q).unwrap();
        s.set_read_timeout(Some(wait)).unwrap();
        let mut len = [0u8; 2];
        s.read_exact(&mut len).unwrap();
        let mut body = vec![0u8; u16::from_be_bytes(len) as usize];
        s.read_exact(&mut body).unwrap();
        let m = hickory_proto::op::Message::from_vec(&body).unwrap();
        assert_eq!((m.id, rcode(&m)), (99, 3));
    }

    // A flood from 127.0.0.2 (up to 10,000 queries a second in small bursts, 20 times its allowance) does not
    // stall a client at 127.0.0.1, which retries after a second as stub resolvers do (the machine may be
    // busy: a packet can still be lost while the responder waits for a core).
    let flooder = UdpSocket::bind("127.0.0.2:0").unwrap();
    flooder.set_nonblocking(true).unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let q = query(1, &format!("flood.{DOMAIN}"), 1, None);
            let (mut sent, mut answered) = (0u64, 0u64);
            let began = Instant::now();
            let mut buf = [0u8; 2048];
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                for _ in 0..50 {
                    if flooder.send_to(&q, dns).is_ok() {
                        sent += 1;
                    }
                }
                while flooder.recv_from(&mut buf).is_ok() {
                    answered += 1;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            (sent, answered, began.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let started = Instant::now();
    for i in 0..20u16 {
        let q = query(1000 + i, &format!("photos{i}.{DOMAIN}"), 1, None);
        let m = (0..10)
            .find_map(|_| ask(&socket, dns, &q, Duration::from_secs(1)))
            .unwrap_or_else(|| panic!("query {i} unanswered in 10 tries during the flood"));
        assert_eq!(rcode(&m), 3);
    }
    let elapsed = started.elapsed();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (sent, answered, lasted) = flood.join().unwrap();
    assert!(sent > 2_000, "the flood sent {sent} queries");
    // At most the burst (2 s worth) plus 500 a second get answers.
    let allowed = 1000.0 + 500.0 * lasted.as_secs_f64();
    assert!(
        (answered as f64) <= allowed * 1.1 + 50.0 && answered < sent,
        "the flooder got {answered} answers to {sent} queries in {lasted:?} (allowed about {allowed})"
    );
    assert!(
        elapsed < Duration::from_secs(60),
        "20 queries took {elapsed:?} during the flood"
    );
    let m = metrics_text(server.addr).await;
    assert!(
        metric(&m, "meridian_dns_dropped_total{reason=\"rate_limit\"}") > 0.0,
        "the flood was rate-limited: {m}"
    );
    ok(&socket);

    // A TCP flood: 127.0.0.2 opens more connections than the responder serves in all (512) and holds them
    // open; the responder keeps 32 of one source and closes the rest, so 127.0.0.1's TCP queries are answered.
    let mut held = Vec::new();
    for i in 0..600 {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.bind(([127, 0, 0, 2], 0).into()).unwrap();
        let stream = s
            .connect(dns)
            .await
            .unwrap_or_else(|e| panic!("connection {i} of the flood: {e}"));
        // A plain non-blocking socket: a read tells at once whether the responder closed it.
        held.push(stream.into_std().unwrap());
    }
    let d = dig(dns, &format!("photos.{DOMAIN}"), "A", &["+tcp"]);
    assert_eq!((d.status.as_str(), d.answer.len()), ("NXDOMAIN", 0), "{d:?}");
    let d = dig(dns, DOMAIN, "A", &["+tcp"]);
    assert_eq!(d.answer.len(), 41, "{d:?}");
    // The flooder's connections beyond 32 were closed at once.
    let deadline = Instant::now() + Duration::from_secs(30);
    let open = loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let open = held
            .iter()
            .filter(|s| {
                let (mut stream, mut byte): (&std::net::TcpStream, _) = (s, [0u8; 1]);
                matches!(std::io::Read::read(&mut stream, &mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
            })
            .count();
        if open <= 32 || Instant::now() > deadline {
            break open;
        }
    };
    assert!(open <= 32, "{open} connections of the flooder still open");
    // (Fewer than 568 only if some of the 32 reached their 10 s idle deadline while the flood connected.)
    let m = metrics_text(server.addr).await;
    let refused = metric(&m, "meridian_dns_dropped_total{reason=\"tcp_per_source\"}");
    assert!((500.0..=568.0).contains(&refused), "{refused} refused: {m}");
    drop(held);
    ok(&socket);
}
