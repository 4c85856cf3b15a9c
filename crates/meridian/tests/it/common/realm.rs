//! Multi-site harness: several zones, each its own data directory and its own `meridian server` process on a
//! port chosen before the realm is configured (zone endpoints are part of the period, so they must be known
//! before any server starts). `Realm::build_three_zones` runs the operator sequence of a three-zone realm:
//! zonegroup `us` (master zone `us-east`, secondary `us-west`) and zonegroup `eu` (zone `eu-1`).

use super::{make_client, Signer, ACCESS_KEY, BIN, SECRET_KEY, UID};
use aws_sdk_s3::Client;
use serde_json::Value;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The system key every zone of the realm shares (inter-zone requests and the admin API).
pub const SYS_ACCESS: &str = "SYSKEY0123456789";
pub const SYS_SECRET: &str = "SYSSECRET0123456789abcdef";

/// How long one CLI invocation may take before the test gives up on it.
const CLI_TIMEOUT: Duration = Duration::from_secs(90);

/// `--access-key K --secret S` of the realm's system key.
pub fn sys_key_args() -> [&'static str; 4] {
    ["--access-key", SYS_ACCESS, "--secret", SYS_SECRET]
}

/// A free loopback port below the usual ephemeral range (so no outgoing connection of this or another
/// test takes it between the check and the server's bind), unique within this test process: one counter
/// hands them out to every test thread, starting at an offset of this process's own (so test processes
/// running side by side seldom try the same ports) and wrapping around the range.
pub fn free_port() -> u16 {
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let offset = (std::process::id() % 290) * 40;
    for _ in 0..COUNT {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let port = u16::try_from(FIRST + (offset + n) % COUNT).expect("the range ends below 65536");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free test port in {FIRST}..{}", FIRST + COUNT);
}

/// Runs a command to completion (stdout and stderr captured), killing it after `timeout`.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = r.read_to_end(&mut buf);
            buf
        })
    };
    let out = drain(Box::new(child.stdout.take().expect("stdout")));
    let err = drain(Box::new(child.stderr.take().expect("stderr")));
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for command") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

struct Running {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// The replication agents' server flags (`--sync-poll-interval-ms`, `--sync-concurrency`,
/// `--log-trim-interval-secs`), with test-friendly defaults: agents ask an idle source every 100 ms, and logs
/// are trimmed only when a test asks for it (the server's default is every 60 s).
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub poll_interval_ms: u64,
    pub concurrency: usize,
    pub log_trim_interval_secs: u64,
}

impl Default for SyncOptions {
    fn default() -> Self {
        SyncOptions {
            poll_interval_ms: 100,
            concurrency: 4,
            log_trim_interval_secs: 3600,
        }
    }
}

/// One zone: a data directory, the port its endpoint names, and (while started) its server process.
pub struct Zone {
    pub name: String,
    /// Where the test connects (S3 clients, signed admin requests).
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, as the period names it (what other zones connect to).
    pub endpoint: String,
    pub data_dir: PathBuf,
    /// Sync flags passed to the next `start`.
    pub sync: SyncOptions,
    /// More server flags passed to the next `start`.
    pub extra_args: Vec<String>,
    /// The address the server binds.
    listen: SocketAddr,
    /// A network namespace the server and the CLI run in (`ip netns exec NS ...`).
    netns: Option<String>,
    root: PathBuf,
    server: Option<Running>,
    /// Logs of servers of this zone that were stopped (kept for failure messages).
    old_logs: Vec<String>,
    /// A scratch zone owns its directory; kept last so it outlives the process.
    tmp: Option<tempfile::TempDir>,
}

impl Zone {
    /// A zone whose data directory is `root/<name>`; nothing is created yet.
    pub fn new(root: &Path, name: &str) -> Zone {
        let port = free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        Zone::with_network(root, name, addr, addr, format!("http://{addr}"), None)
    }

    /// A zone whose server binds `listen` (in network namespace `netns` if given), is reached by the test at
    /// `addr`, and by the other zones at `endpoint`.
    pub fn with_network(
        root: &Path,
        name: &str,
        listen: SocketAddr,
        addr: SocketAddr,
        endpoint: String,
        netns: Option<String>,
    ) -> Zone {
        Zone {
            name: name.to_string(),
            addr,
            endpoint,
            data_dir: root.join(name),
            sync: SyncOptions::default(),
            extra_args: Vec::new(),
            listen,
            netns,
            root: root.to_path_buf(),
            server: None,
            old_logs: Vec::new(),
            tmp: None,
        }
    }

    /// `meridian` itself, or `ip netns exec NS meridian` for a zone in a network namespace.
    fn command(&self) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("ip");
                cmd.args(["netns", "exec", ns]).arg(BIN);
                cmd
            }
            None => Command::new(BIN),
        }
    }

    /// A zone in a directory of its own (for offline configuration checks).
    pub fn scratch(name: &str) -> Zone {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut zone = Zone::new(tmp.path(), name);
        zone.tmp = Some(tmp);
        zone
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// The directory holding this zone's data directory (free for the test's own files).
    pub fn root_dir(&self) -> &Path {
        &self.root
    }

    /// Starts `meridian server` on this zone's port (period pulls every second) and waits until it accepts
    /// connections.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "zone {} is already running", self.name);
        let sync = [
            "--sync-poll-interval-ms".to_string(),
            self.sync.poll_interval_ms.to_string(),
            "--sync-concurrency".to_string(),
            self.sync.concurrency.to_string(),
            "--log-trim-interval-secs".to_string(),
            self.sync.log_trim_interval_secs.to_string(),
        ];
        let mut child = self
            .command()
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["server", "--listen"])
            .arg(self.listen.to_string())
            .args([
                "--period-pull-interval-secs",
                "1",
                "--gc-delay-secs",
                "0",
                "--gc-interval-secs",
                "1",
                "--log",
                "info",
            ])
            .args(sync)
            .args(&self.extra_args)
            .current_dir(&self.root)
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn meridian server");
        let (log, listening) = super::capture_log(&mut child, &self.name);
        let listening = listening.recv_timeout(Duration::from_secs(60));
        let fail = |child: &mut Child, why: String| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{why}; its log:\n{}", log.lock().unwrap().join("\n"));
        };
        match listening {
            Ok(a) if a == self.listen.to_string() => {}
            Ok(a) => fail(
                &mut child,
                format!("zone {} listens on {a}, not on {}", self.name, self.listen),
            ),
            Err(_) => fail(&mut child, format!("the server of zone {} did not start", self.name)),
        }
        if !super::accepts_connections(self.addr) {
            fail(
                &mut child,
                format!("zone {} at {} does not accept connections", self.name, self.addr),
            );
        }
        self.server = Some(Running { child, log });
    }

    /// Kills the server (as a crash or an outage would) and waits for it to be gone.
    pub fn stop(&mut self) {
        self.kill();
    }

    /// `kill -9`: SIGKILL (what `Child::kill` sends on Unix), no graceful shutdown, no chance to flush
    /// anything; waits until the process is gone. A no-op if no server runs.
    pub fn kill(&mut self) {
        if let Some(mut running) = self.server.take() {
            let _ = running.child.kill();
            let _ = running.child.wait();
            self.old_logs.push(running.log.lock().unwrap().join("\n"));
        }
    }

    /// The process id of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.server.as_ref().map(|r| r.child.id())
    }

    /// The last `n` lines of the server log (of every server of this zone), for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let all = self.server_log();
        let lines: Vec<&str> = all.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The log of the running server (and of this zone's earlier servers).
    pub fn server_log(&self) -> String {
        let mut all = self.old_logs.join("\n--- restarted ---\n");
        if let Some(r) = &self.server {
            if !all.is_empty() {
                all.push_str("\n--- restarted ---\n");
            }
            all.push_str(&r.log.lock().unwrap().join("\n"));
        }
        all
    }

    /// Runs an admin verb on this zone's data directory (through its server while one runs).
    pub fn cli_raw(&self, args: &[&str]) -> Output {
        let mut cmd = self.command();
        cmd.arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .current_dir(&self.root)
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR");
        run_with_timeout(cmd, CLI_TIMEOUT)
    }

    /// Runs an admin verb that must succeed; returns its JSON (`Null` if it printed nothing).
    #[track_caller]
    pub fn cli(&self, args: &[&str]) -> Value {
        let out = self.cli_raw(args);
        assert!(
            out.status.success(),
            "meridian --data-dir {} {args:?} failed: {}\n{}",
            self.name,
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let text = String::from_utf8(out.stdout).expect("utf-8 output");
        if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("meridian {args:?} on zone {} printed no JSON ({e}): {text}", self.name))
        }
    }

    /// Runs an admin verb that must fail; returns its stderr.
    #[track_caller]
    pub fn cli_fails(&self, args: &[&str]) -> String {
        let out = self.cli_raw(args);
        assert!(
            !out.status.success(),
            "meridian --data-dir {} {args:?} succeeded but must be refused: {}",
            self.name,
            String::from_utf8_lossy(&out.stdout)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// An admin verb followed by the realm's system key arguments.
    #[track_caller]
    pub fn cli_with_key(&self, args: &[&str]) -> Value {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(sys_key_args());
        self.cli(&all)
    }

    /// `period get`: the current period as this zone holds it.
    #[track_caller]
    pub fn period(&self) -> Value {
        self.cli(&["period", "get"])
    }

    /// `(id, epoch)` of the current period.
    #[track_caller]
    pub fn period_version(&self) -> (String, u64) {
        let p = self.period();
        (
            p["id"]
                .as_str()
                .unwrap_or_else(|| panic!("period without id: {p}"))
                .to_string(),
            p["epoch"]
                .as_u64()
                .unwrap_or_else(|| panic!("period without epoch: {p}")),
        )
    }

    /// The id of a zone (`zone get --rgw-zone`), or of this data directory's zone.
    #[track_caller]
    pub fn zone_id(&self, zone: Option<&str>) -> String {
        let v = match zone {
            Some(z) => self.cli(&["zone", "get", "--rgw-zone", z]),
            None => self.cli(&["zone", "get"]),
        };
        v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("zone without id: {v}"))
            .to_string()
    }

    #[track_caller]
    pub fn zonegroup_id(&self, zonegroup: &str) -> String {
        let v = self.cli(&["zonegroup", "get", "--rgw-zonegroup", zonegroup]);
        v["id"]
            .as_str()
            .unwrap_or_else(|| panic!("zonegroup without id: {v}"))
            .to_string()
    }

    /// The SDK client of the default user `tester`.
    pub fn client(&self) -> Client {
        self.client_for(ACCESS_KEY, SECRET_KEY)
    }

    pub fn client_for(&self, access_key: &str, secret: &str) -> Client {
        make_client(&format!("http://{}", self.addr), access_key, secret)
    }

    /// A SigV4 signer with the default user's key.
    pub fn signer(&self) -> Signer {
        Signer::new(ACCESS_KEY, SECRET_KEY)
    }
}

impl Zone {
    /// The operator sequence of a realm's first zone: realm `gold`, `zonegroup` as the master zonegroup (with
    /// `zonegroup_args`), this zone as its master with the system key, the first commit; then starts the server.
    /// Returns the realm.
    pub fn found_realm(&mut self, zonegroup: &str, zonegroup_args: &[&str]) -> Value {
        let realm = self.cli(&["realm", "create", "--rgw-realm", "gold", "--default"]);
        let endpoint = self.endpoint.clone();
        let mut args = vec![
            "zonegroup",
            "create",
            "--rgw-zonegroup",
            zonegroup,
            "--endpoints",
            &endpoint,
        ];
        args.extend_from_slice(zonegroup_args);
        args.extend(["--master", "--default"]);
        self.cli(&args);
        self.create_zone_and_start(zonegroup, &["--master", "--default"]);
        realm
    }

    /// `zone create` of this zone in `zonegroup` (with the system key and `flags`), period commit, start.
    fn create_zone_and_start(&mut self, zonegroup: &str, flags: &[&str]) {
        let (name, endpoint) = (self.name.clone(), self.endpoint.clone());
        let mut args = vec![
            "zone",
            "create",
            "--rgw-zonegroup",
            zonegroup,
            "--rgw-zone",
            &name,
            "--endpoints",
            &endpoint,
        ];
        args.extend_from_slice(flags);
        self.cli_with_key(&args);
        self.cli(&["period", "update", "--commit"]);
        self.start();
    }

    /// A new secondary zone of `zonegroup`: realm pull from the master, zone create, period commit, start.
    pub fn join_zonegroup(&mut self, master: &Zone, zonegroup: &str) {
        self.cli_with_key(&["realm", "pull", "--url", &master.endpoint]);
        self.create_zone_and_start(zonegroup, &["--default"]);
    }

    /// The tests' user `tester` (`ACCESS_KEY`/`SECRET_KEY`), created on this (master) zone.
    pub fn create_test_user(&self) {
        self.cli(&[
            "user",
            "create",
            "--uid",
            UID,
            "--display-name",
            "Tester",
            "--access-key",
            ACCESS_KEY,
            "--secret",
            SECRET_KEY,
        ]);
    }
}

impl Drop for Zone {
    fn drop(&mut self) {
        if let Some(mut running) = self.server.take() {
            let _ = running.child.kill();
            let _ = running.child.wait();
        }
    }
}

/// A realm of three zones in two zonegroups, every server running.
pub struct Realm {
    /// `us-east`: master zone of zonegroup `us` (the master zonegroup): the metadata master.
    pub a: Zone,
    /// `us-west`: secondary zone of zonegroup `us`.
    pub b: Zone,
    /// `eu-1`: master zone of zonegroup `eu`.
    pub c: Zone,
    pub realm_id: String,
    /// The realm's first (empty) period, made by `realm create`.
    pub first_period: String,
    /// Kept last: the zones' data directories live in it.
    _dir: tempfile::TempDir,
}

impl Realm {
    /// Runs the operator sequence of a three-zone realm and starts every server; the default user
    /// `tester` (`ACCESS_KEY`/`SECRET_KEY`) is created on the master.
    pub fn build_three_zones() -> Realm {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut a = Zone::new(dir.path(), "us-east");
        let mut b = Zone::new(dir.path(), "us-west");
        let mut c = Zone::new(dir.path(), "eu-1");

        // The master zone, configured with no server running.
        let realm = a.found_realm("us", &["--hostnames", "s3.us.example.com"]);
        let realm_id = realm["id"].as_str().expect("realm id").to_string();
        let first_period = realm["current_period"]
            .as_str()
            .expect("realm's first period")
            .to_string();

        // A secondary zone of the same zonegroup.
        b.join_zonegroup(&a, "us");

        // The master zone of a second zonegroup.
        c.cli_with_key(&["realm", "pull", "--url", &a.endpoint]);
        c.cli(&[
            "zonegroup",
            "create",
            "--rgw-zonegroup",
            "eu",
            "--endpoints",
            &c.endpoint,
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
            &c.endpoint,
            "--master",
            "--default",
        ]);
        c.cli(&["period", "update", "--commit"]);
        c.start();

        a.create_test_user();
        Realm {
            a,
            b,
            c,
            realm_id,
            first_period,
            _dir: dir,
        }
    }

    pub fn zones(&self) -> [&Zone; 3] {
        [&self.a, &self.b, &self.c]
    }

    /// Every zone's server log, for failure messages.
    pub fn logs(&self) -> String {
        self.zones()
            .iter()
            .map(|z| format!("===== {} =====\n{}", z.name, z.server_log()))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Polls `zone`'s current period until it is `(id, epoch)`; returns the last period seen either way.
pub async fn wait_for_period(zone: &Zone, id: &str, epoch: u64, timeout: Duration) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let p = zone.period();
        if (p["id"] == id && p["epoch"] == epoch) || Instant::now() > deadline {
            return p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An HTTP client that never follows redirects (a 301 must reach the test as it is).
pub fn http_no_redirect() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// Status, headers and body text of a raw signed request with an optional body.
pub async fn send_signed(
    signer: &Signer,
    method: &str,
    addr: SocketAddr,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
) -> (u16, reqwest::header::HeaderMap, String) {
    send_signed_checked(signer, method, addr, host, path, query, body)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------------------------------------------------
// Replication: zones of ONE zonegroup (data sync only runs between zones of the same zonegroup).

/// Realm `gold`, one zonegroup `us` holding every zone; the first zone is the master zone (the metadata
/// master), the others are secondaries. Every server runs; the default user `tester` exists.
pub struct Site {
    pub zones: Vec<Zone>,
    pub realm_id: String,
    /// Kept last: the zones' data directories live in it.
    dir: tempfile::TempDir,
}

impl Site {
    /// Zones named `names` (the first the master zone), default options.
    pub fn build(names: &[&str]) -> Site {
        Self::build_with(names, |_| {})
    }

    /// Like `build`, with `tweak` applied to every zone before its first start (sync options, flags).
    pub fn build_with(names: &[&str], tweak: impl Fn(&mut Zone)) -> Site {
        let dir = tempfile::tempdir().expect("tempdir");
        let zones = names
            .iter()
            .map(|name| {
                let mut zone = Zone::new(dir.path(), name);
                tweak(&mut zone);
                zone
            })
            .collect();
        Self::from_zones(dir, zones)
    }

    /// Runs the operator sequence for zones made by the caller (e.g. with their own network), whose data
    /// directories are under `dir`.
    pub fn from_zones(dir: tempfile::TempDir, mut zones: Vec<Zone>) -> Site {
        assert!(!zones.is_empty(), "a site needs a zone");
        let (master, others) = zones.split_first_mut().expect("a zone");
        let realm = master.found_realm("us", &[]);
        let realm_id = realm["id"].as_str().expect("realm id").to_string();
        for zone in others.iter_mut() {
            zone.join_zonegroup(master, "us");
        }
        master.create_test_user();
        Site { zones, realm_id, dir }
    }

    /// Adds (and starts) one more zone to the zonegroup of a running site; returns its index.
    pub fn add_zone(&mut self, name: &str, tweak: impl Fn(&mut Zone)) -> usize {
        let mut zone = Zone::new(self.dir.path(), name);
        tweak(&mut zone);
        zone.join_zonegroup(&self.zones[0], "us");
        self.zones.push(zone);
        self.zones.len() - 1
    }

    pub fn master(&self) -> &Zone {
        &self.zones[0]
    }

    #[track_caller]
    pub fn zone(&self, name: &str) -> &Zone {
        self.zones
            .iter()
            .find(|z| z.name == name)
            .unwrap_or_else(|| panic!("no zone {name}"))
    }

    /// The end of every zone's server log, for failure messages.
    pub fn logs(&self) -> String {
        self.zones
            .iter()
            .map(|z| format!("===== {} (last 300 lines) =====\n{}", z.name, z.log_tail(300)))
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// How long one admin or S3 request of the replication helpers may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// A signed admin request with the realm's system key: status and JSON answer (a string if not JSON).
pub async fn admin_request(
    zone: &Zone,
    method: &str,
    resource: &str,
    query: &[(&str, &str)],
) -> Result<(u16, Value), String> {
    admin_request_within(zone, method, resource, query, REQUEST_TIMEOUT).await
}

/// `admin_request` that gives up after `timeout`.
pub async fn admin_request_within(
    zone: &Zone,
    method: &str,
    resource: &str,
    query: &[(&str, &str)],
    timeout: Duration,
) -> Result<(u16, Value), String> {
    let signer = Signer::new(SYS_ACCESS, SYS_SECRET);
    let path = format!("/admin/{resource}");
    let host = zone.addr.to_string();
    let sent = send_signed_checked(&signer, method, zone.addr, &host, &path, query, b"");
    match tokio::time::timeout(timeout, sent).await {
        Err(_) => Err(format!(
            "{method} {path} {query:?} on {}: no answer in {timeout:?}",
            zone.name
        )),
        Ok(Err(e)) => Err(format!("{method} {path} {query:?} on {}: {e}", zone.name)),
        Ok(Ok((status, _, text))) => Ok((status, serde_json::from_str(&text).unwrap_or(Value::String(text)))),
    }
}

/// A signed admin GET that must answer 200.
pub async fn admin_get(zone: &Zone, resource: &str, query: &[(&str, &str)]) -> Result<Value, String> {
    match admin_request(zone, "GET", resource, query).await? {
        (200, v) => Ok(v),
        (status, v) => Err(format!(
            "GET /admin/{resource} {query:?} on {}: {status} {v}",
            zone.name
        )),
    }
}

/// `GET /admin/sync/status`.
pub async fn sync_status(zone: &Zone) -> Result<Value, String> {
    admin_get(zone, "sync/status", &[]).await
}

/// `GET /admin/sync/bucket?bucket=B`.
pub async fn bucket_sync_status(zone: &Zone, bucket: &str) -> Result<Value, String> {
    admin_get(zone, "sync/bucket", &[("bucket", bucket)]).await
}

/// `GET /admin/log?type=bucket-index&bucket=B`: every entry of the bucket's index log.
pub async fn bilog(zone: &Zone, bucket: &str) -> Result<Vec<Value>, String> {
    let v = admin_get(
        zone,
        "log",
        &[("type", "bucket-index"), ("bucket", bucket), ("max-entries", "100000")],
    )
    .await?;
    match v {
        Value::Array(entries) => Ok(entries),
        other => Err(format!(
            "the bilog of {bucket} on {} is not an array: {other}",
            zone.name
        )),
    }
}

/// The body of `GET /metrics`.
pub async fn metrics_text(zone: &Zone) -> Result<String, String> {
    let url = format!("http://{}/metrics", zone.addr);
    let get = async {
        let resp = super::http().get(&url).send().await.map_err(|e| e.to_string())?;
        let status = resp.status().as_u16();
        let text = resp.text().await.map_err(|e| e.to_string())?;
        if status == 200 {
            Ok(text)
        } else {
            Err(format!("{status}: {text}"))
        }
    };
    tokio::time::timeout(REQUEST_TIMEOUT, get)
        .await
        .map_err(|_| format!("GET {url}: no answer"))?
        .map_err(|e| format!("GET {url}: {e}"))
}

/// The samples of a Prometheus text exposition named exactly `name` whose labels include every `labels`
/// pair: `(full line, value)`.
pub fn metric_samples(text: &str, name: &str, labels: &[(&str, &str)]) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let all = labels
                .iter()
                .all(|(k, v)| label_text.split(',').any(|kv| kv == format!("{k}=\"{v}\"")));
            all.then(|| (line.to_string(), value.parse().unwrap_or(f64::NAN)))
        })
        .collect()
}

/// `send_signed` that reports connection errors instead of panicking (a stopped zone is an answer too).
pub async fn send_signed_checked(
    signer: &Signer,
    method: &str,
    addr: SocketAddr,
    host: &str,
    path: &str,
    query: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, reqwest::header::HeaderMap, String), String> {
    let signed = signer.sign(
        method,
        addr,
        host,
        path,
        query,
        &[],
        &super::sha256_hex(body),
        std::time::SystemTime::now(),
    );
    let answer = signed.send(&http_no_redirect(), method, body).await?;
    Ok((answer.status, answer.headers, answer.body))
}

/// One object of a listing: size and ETag (quotes removed).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Listed {
    pub size: i64,
    pub etag: String,
}

/// Every object of `bucket` as `zone` lists it (ListObjectsV2, every page), with the default user's key.
pub async fn list_objects(zone: &Zone, bucket: &str) -> Result<std::collections::BTreeMap<String, Listed>, String> {
    list_objects_as(zone, bucket, ACCESS_KEY, SECRET_KEY).await
}

/// `list_objects` with another user's key.
pub async fn list_objects_as(
    zone: &Zone,
    bucket: &str,
    access_key: &str,
    secret: &str,
) -> Result<std::collections::BTreeMap<String, Listed>, String> {
    let client = zone.client_for(access_key, secret);
    let mut out = std::collections::BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .list_objects_v2()
            .bucket(bucket)
            .max_keys(1000)
            .set_continuation_token(token.clone())
            .send();
        let page = tokio::time::timeout(REQUEST_TIMEOUT, page)
            .await
            .map_err(|_| format!("list {bucket} on {}: no answer", zone.name))?
            .map_err(|e| format!("list {bucket} on {}: {e:?}", zone.name))?;
        for o in page.contents() {
            out.insert(
                o.key().unwrap_or_default().to_string(),
                Listed {
                    size: o.size().unwrap_or(-1),
                    etag: o.e_tag().unwrap_or_default().trim_matches('"').to_string(),
                },
            );
        }
        match page.next_continuation_token() {
            Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
            _ => return Ok(out),
        }
    }
}

/// `(num_objects, size)` of `bucket stats` (usage `rgw.main`).
#[track_caller]
pub fn bucket_stats(zone: &Zone, bucket: &str) -> (u64, u64) {
    let v = zone.cli(&["bucket", "stats", "--bucket", bucket]);
    let main = &v["usage"]["rgw.main"];
    (
        main["num_objects"].as_u64().unwrap_or(0),
        main["size"].as_u64().unwrap_or(0),
    )
}

/// Polls `f` every 200 ms until it holds; after 60 s fails naming `what`, with the site's logs.
pub async fn eventually<F, Fut>(what: &str, site: &Site, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("{what}\n{}", site.logs());
}
