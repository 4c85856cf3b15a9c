//! Multi-site harness: several zones, each its own data directory and its own `meridian server` process on a
//! port chosen before the realm is configured (zone endpoints are part of the period, so they must be known
//! before any server starts). `Realm::build_three_zones` runs the operator sequence of a three-zone realm:
//! zonegroup `us` (master zone `us-east`, secondary `us-west`) and zonegroup `eu` (zone `eu-1`).

use super::{make_client, Signer, ACCESS_KEY, BIN, SECRET_KEY, UID};
use aws_sdk_s3::Client;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{mpsc, Arc, Mutex};
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
/// test takes it between the check and the server's bind), unique within this test binary.
pub fn free_port() -> u16 {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let _ = NEXT.compare_exchange(
        0,
        20_000 + (std::process::id() % 290) as u16 * 40,
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
    loop {
        let port = NEXT.fetch_add(1, Ordering::SeqCst);
        assert!(port < 32_000, "ran out of test ports");
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
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

/// One zone: a data directory, the port its endpoint names, and (while started) its server process.
pub struct Zone {
    pub name: String,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, as the period names it.
    pub endpoint: String,
    pub data_dir: PathBuf,
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
        Zone {
            name: name.to_string(),
            addr,
            endpoint: format!("http://{addr}"),
            data_dir: root.join(name),
            root: root.to_path_buf(),
            server: None,
            old_logs: Vec::new(),
            tmp: None,
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

    pub fn is_running(&self) -> bool {
        self.server.is_some()
    }

    /// Starts `meridian server` on this zone's port (period pulls every second) and waits until it accepts
    /// connections.
    pub fn start(&mut self) {
        assert!(self.server.is_none(), "zone {} is already running", self.name);
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["server", "--listen"])
            .arg(self.addr.to_string())
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
            .current_dir(&self.root)
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn meridian server");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        let name = self.name.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("listening on http://").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or_default().to_string());
                }
                if std::env::var_os("MERIDIAN_TEST_LOG").is_some() {
                    eprintln!("[{name}] {line}");
                }
                sink.lock().unwrap().push(line);
            }
        });
        let listening = rx.recv_timeout(Duration::from_secs(60));
        let fail = |child: &mut Child, why: String| -> ! {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{why}; its log:\n{}", log.lock().unwrap().join("\n"));
        };
        match listening {
            Ok(a) if a == self.addr.to_string() => {}
            Ok(a) => fail(
                &mut child,
                format!("zone {} listens on {a}, not on {}", self.name, self.addr),
            ),
            Err(_) => fail(&mut child, format!("the server of zone {} did not start", self.name)),
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(500)).is_err() {
            if Instant::now() > deadline {
                fail(
                    &mut child,
                    format!("zone {} at {} does not accept connections", self.name, self.addr),
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.server = Some(Running { child, log });
    }

    /// Kills the server (as a crash or an outage would) and waits for it to be gone.
    pub fn stop(&mut self) {
        if let Some(mut running) = self.server.take() {
            let _ = running.child.kill();
            let _ = running.child.wait();
            self.old_logs.push(running.log.lock().unwrap().join("\n"));
        }
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
        let mut cmd = Command::new(BIN);
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
        make_client(&self.endpoint, ACCESS_KEY, SECRET_KEY)
    }

    pub fn client_for(&self, access_key: &str, secret: &str) -> Client {
        make_client(&self.endpoint, access_key, secret)
    }

    /// A SigV4 signer with the default user's key.
    pub fn signer(&self) -> Signer {
        Signer::new(ACCESS_KEY, SECRET_KEY)
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
        let realm = a.cli(&["realm", "create", "--rgw-realm", "gold", "--default"]);
        let realm_id = realm["id"].as_str().expect("realm id").to_string();
        let first_period = realm["current_period"]
            .as_str()
            .expect("realm's first period")
            .to_string();
        a.cli(&[
            "zonegroup",
            "create",
            "--rgw-zonegroup",
            "us",
            "--endpoints",
            &a.endpoint,
            "--hostnames",
            "s3.us.example.com",
            "--master",
            "--default",
        ]);
        a.cli_with_key(&[
            "zone",
            "create",
            "--rgw-zonegroup",
            "us",
            "--rgw-zone",
            "us-east",
            "--endpoints",
            &a.endpoint,
            "--master",
            "--default",
        ]);
        a.cli(&["period", "update", "--commit"]);
        a.start();

        // A secondary zone of the same zonegroup.
        b.cli_with_key(&["realm", "pull", "--url", &a.endpoint]);
        b.cli_with_key(&[
            "zone",
            "create",
            "--rgw-zonegroup",
            "us",
            "--rgw-zone",
            "us-west",
            "--endpoints",
            &b.endpoint,
            "--default",
        ]);
        b.cli(&["period", "update", "--commit"]);
        b.start();

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

        a.cli(&[
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
    let resp = signed
        .request(&http_no_redirect(), method.parse().expect("method"))
        .body(body.to_vec())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {host}{path}: {e}"));
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap_or_default();
    (status, headers, text)
}
