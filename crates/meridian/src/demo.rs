//! `meridian demo`: a whole realm on this machine in one command. Three zones (`us-east` and `us-west` in
//! zonegroup `us`, `eu-1` in `eu`) run as child `meridian server` processes, configured with the same admin
//! verbs an operator runs; a demo user, a system (admin) user and a sample bucket per zonegroup are created;
//! the dashboard runs beside `us-east`. Ctrl-C stops everything; running it again resumes the same realm.

use crate::config::Config;
use anyhow::{bail, Context};
use meridian_dashboard::s3::Payload;
use meridian_dashboard::S3Client;
use serde::{Deserialize, Serialize};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Directory of the demo realm (default: $XDG_DATA_HOME/meridian/demo, or ~/.local/share/meridian/demo)
    #[arg(long)]
    dir: Option<PathBuf>,
    /// First port: us-east, us-west, eu-1, the dashboard and the DNS responder listen on P .. P+4 (0: any
    /// free ports).
    /// Fixed when the realm is created (the endpoints are part of it).
    #[arg(long)]
    base_port: Option<u16>,
    /// Log filter of the zones' servers (their logs go to DIR/logs)
    #[arg(long, default_value = "info")]
    log: String,
}

pub const DEFAULT_BASE_PORT: u16 = 7500;
const REALM: &str = "demo";
/// The demo's global DNS domain: `BUCKET.s3.localhost` answers `CNAME BUCKET.<zonegroup>.s3.localhost`.
const DNS_DOMAIN: &str = "s3.localhost";

/// One zone of the demo realm.
struct ZoneSpec {
    name: &'static str,
    zonegroup: &'static str,
    /// Master zone of its zonegroup.
    master: bool,
}

const ZONES: [ZoneSpec; 3] = [
    ZoneSpec {
        name: "us-east",
        zonegroup: "us",
        master: true,
    },
    ZoneSpec {
        name: "us-west",
        zonegroup: "us",
        master: false,
    },
    ZoneSpec {
        name: "eu-1",
        zonegroup: "eu",
        master: true,
    },
];

/// The sample buckets: (name, zonegroup, index of the zone they are created at).
const BUCKETS: [(&str, &str, usize); 2] = [("demo-us", "us", 0), ("demo-eu", "eu", 2)];

#[derive(Serialize, Deserialize, Clone, Debug)]
struct Key {
    access_key: String,
    secret_key: String,
}

impl Key {
    fn generate() -> Self {
        Key {
            access_key: meridian_gateway::users::generate_access_key(),
            secret_key: meridian_gateway::users::generate_secret_key(),
        }
    }
}

/// `DIR/demo.json`: what a later `meridian demo` needs to resume the same realm.
#[derive(Serialize, Deserialize, Clone, Debug)]
struct DemoState {
    /// Listen ports of us-east, us-west, eu-1, then the dashboard.
    ports: [u16; 4],
    system_key: Key,
    user: Key,
    admin: Key,
    /// Set once the realm, users and buckets all exist.
    complete: bool,
    /// The DNS responder's port (UDP and TCP), on us-east; absent in a realm made before DNS existed.
    #[serde(default)]
    dns_port: Option<u16>,
}

impl DemoState {
    fn endpoint(&self, zone: usize) -> String {
        format!("http://127.0.0.1:{}", self.ports[zone])
    }

    fn dashboard(&self) -> String {
        format!("http://127.0.0.1:{}/", self.ports[3])
    }
}

/// The default demo directory: in the user's data directory, never in the current one.
fn default_dir() -> anyhow::Result<PathBuf> {
    if let Some(d) = std::env::var_os("XDG_DATA_HOME").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d).join("meridian").join("demo"));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".local/share/meridian/demo")),
        None => bail!("neither XDG_DATA_HOME nor HOME is set: pass --dir"),
    }
}

/// Every zone's server configuration, built in this one place.
fn zone_config(state: &DemoState, zone: usize, log: &str) -> Config {
    Config {
        listen: SocketAddr::from(([127, 0, 0, 1], state.ports[zone])),
        zone: Some(ZONES[zone].name.to_string()),
        period_pull_interval_secs: 5,
        sync_poll_interval_ms: 500,
        log: log.to_string(),
        dashboard_listen: (zone == 0).then(|| SocketAddr::from(([127, 0, 0, 1], state.ports[3]))),
        dns_domain: (zone == 0).then(|| DNS_DOMAIN.to_string()),
        dns_listen: state
            .dns_port
            .filter(|_| zone == 0)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p))),
        ..Config::default()
    }
}

/// `N` distinct free loopback ports, all held open until all are found (ports found one call at a time may
/// repeat, once the earlier call's listener is closed).
fn free_ports<const N: usize>() -> anyhow::Result<[u16; N]> {
    let listeners = (0..N)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()
        .context("cannot find free loopback ports")?;
    let mut ports = [0u16; N];
    for (p, l) in ports.iter_mut().zip(&listeners) {
        *p = l.local_addr()?.port();
    }
    Ok(ports)
}

fn check_ports_free(ports: &[u16; 4]) -> anyhow::Result<()> {
    for p in ports {
        if TcpListener::bind(("127.0.0.1", *p)).is_err() {
            bail!("port {p} on 127.0.0.1 is in use (another meridian demo or server?); stop it, or pass --base-port");
        }
    }
    Ok(())
}

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let dir = match args.dir.clone() {
        Some(d) => d,
        None => default_dir()?,
    };
    std::fs::create_dir_all(dir.join("logs")).with_context(|| format!("cannot create {}", dir.display()))?;
    let dir = std::fs::canonicalize(&dir)?;
    let state_path = dir.join("demo.json");
    let previous: Option<DemoState> = match std::fs::read_to_string(&state_path) {
        Ok(text) => Some(serde_json::from_str(&text).with_context(|| format!("corrupt {}", state_path.display()))?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", state_path.display())),
    };
    let resuming = previous.as_ref().is_some_and(|s| s.complete);
    let state = match previous {
        Some(s) if s.complete => {
            if let Some(p) = args.base_port.filter(|p| *p != 0 && *p != s.ports[0]) {
                bail!(
                    "the demo realm in {} listens on ports {:?} (its endpoints are part of the realm), not {p}; \
                     omit --base-port, or pass another --dir",
                    dir.display(),
                    s.ports
                );
            }
            let mut s = s;
            if s.dns_port.is_none() {
                // Five ports found together: the first one not already the realm's.
                let spare = free_ports::<5>()?.into_iter().find(|p| !s.ports.contains(p));
                s.dns_port = Some(spare.context("cannot find a free loopback port for DNS")?);
            }
            s
        }
        stale => {
            if stale.is_some() {
                eprintln!(
                    "a previous demo setup in {} did not finish: starting over",
                    dir.display()
                );
                for z in &ZONES {
                    let _ = std::fs::remove_dir_all(dir.join(z.name));
                }
            }
            let (ports, dns_port) = match args.base_port.unwrap_or(DEFAULT_BASE_PORT) {
                0 => {
                    let [a, b, c, d, dns] = free_ports::<5>()?;
                    ([a, b, c, d], dns)
                }
                p if p > u16::MAX - 4 => bail!("--base-port {p} is too high: five ports from it are needed"),
                p => ([p, p + 1, p + 2, p + 3], p + 4),
            };
            DemoState {
                ports,
                dns_port: Some(dns_port),
                system_key: Key::generate(),
                user: Key::generate(),
                admin: Key::generate(),
                complete: false,
            }
        }
    };
    check_ports_free(&state.ports)?;
    save(&state_path, &state)?;

    let mut demo = Demo {
        dir: dir.clone(),
        state,
        log: args.log.clone(),
        children: Vec::new(),
    };
    let outcome = async {
        if resuming {
            eprintln!("resuming the demo realm in {}", dir.display());
            for zone in 0..ZONES.len() {
                demo.start(zone).await?;
            }
        } else {
            eprintln!("creating the demo realm in {}", dir.display());
            demo.create().await?;
            demo.state.complete = true;
            save(&state_path, &demo.state)?;
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if let Err(e) = outcome {
        demo.stop().await;
        return Err(e);
    }
    print_summary(&demo.dir, &demo.state);
    let (why, failed) = demo.wait().await;
    eprintln!("{why}: stopping the zones");
    demo.stop().await;
    eprintln!("stopped; `meridian demo{}` resumes this realm", dir_flag(&args));
    if failed {
        bail!("{why}");
    }
    Ok(())
}

fn dir_flag(args: &DemoArgs) -> String {
    match &args.dir {
        Some(d) => format!(" --dir {}", d.display()),
        None => String::new(),
    }
}

fn save(path: &Path, state: &DemoState) -> anyhow::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("json.tmp");
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    opts.mode(0o600);
    let mut f = opts
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(state)?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

struct Demo {
    dir: PathBuf,
    state: DemoState,
    log: String,
    children: Vec<(usize, Child)>,
}

impl Demo {
    fn data_dir(&self, zone: usize) -> PathBuf {
        self.dir.join(ZONES[zone].name)
    }

    /// Runs one admin verb (`meridian --data-dir ZONE ...`) as a child process, as an operator would.
    async fn cli(&self, zone: usize, args: &[&str]) -> anyhow::Result<()> {
        let exe = std::env::current_exe().context("cannot find the meridian executable")?;
        let out = Command::new(exe)
            .arg("--data-dir")
            .arg(self.data_dir(zone))
            .args(args)
            .current_dir(&self.dir)
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .output()
            .await
            .context("cannot run meridian")?;
        if !out.status.success() {
            bail!(
                "`meridian --data-dir {} {}` failed: {}",
                self.data_dir(zone).display(),
                args.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// The system key flags every zone is created and pulled with.
    fn key_args(&self) -> Vec<String> {
        vec![
            "--access-key".into(),
            self.state.system_key.access_key.clone(),
            "--secret".into(),
            self.state.system_key.secret_key.clone(),
        ]
    }

    async fn cli_with_key(&self, zone: usize, args: &[&str]) -> anyhow::Result<()> {
        let keys = self.key_args();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(keys.iter().map(String::as_str));
        self.cli(zone, &all).await
    }

    /// The realm from nothing: the README's multi-site sequence, then users and sample buckets.
    async fn create(&mut self) -> anyhow::Result<()> {
        let (ea, eb, ec) = (self.state.endpoint(0), self.state.endpoint(1), self.state.endpoint(2));
        eprintln!("  us-east: realm {REALM}, zonegroup us, metadata master at {ea}");
        self.cli(0, &["realm", "create", "--rgw-realm", REALM, "--default"])
            .await?;
        self.cli(
            0,
            &[
                "zonegroup",
                "create",
                "--rgw-zonegroup",
                "us",
                "--endpoints",
                &ea,
                "--hostnames",
                &format!("us.{DNS_DOMAIN}"),
                "--master",
                "--default",
            ],
        )
        .await?;
        self.cli_with_key(
            0,
            &[
                "zone",
                "create",
                "--rgw-zonegroup",
                "us",
                "--rgw-zone",
                "us-east",
                "--endpoints",
                &ea,
                "--master",
                "--default",
            ],
        )
        .await?;
        self.cli(0, &["period", "update", "--commit"]).await?;
        self.start(0).await?;

        eprintln!("  us-west: second zone of us at {eb}");
        self.cli_with_key(1, &["realm", "pull", "--url", &ea]).await?;
        self.cli_with_key(
            1,
            &[
                "zone",
                "create",
                "--rgw-zonegroup",
                "us",
                "--rgw-zone",
                "us-west",
                "--endpoints",
                &eb,
                "--default",
            ],
        )
        .await?;
        self.cli(1, &["period", "update", "--commit"]).await?;
        self.start(1).await?;

        eprintln!("  eu-1: zonegroup eu at {ec}");
        self.cli_with_key(2, &["realm", "pull", "--url", &ea]).await?;
        let eu_hostname = format!("eu.{DNS_DOMAIN}");
        self.cli(
            2,
            &[
                "zonegroup",
                "create",
                "--rgw-zonegroup",
                "eu",
                "--endpoints",
                &ec,
                "--hostnames",
                &eu_hostname,
            ],
        )
        .await?;
        self.cli_with_key(
            2,
            &[
                "zone",
                "create",
                "--rgw-zonegroup",
                "eu",
                "--rgw-zone",
                "eu-1",
                "--endpoints",
                &ec,
                "--master",
                "--default",
            ],
        )
        .await?;
        self.cli(2, &["period", "update", "--commit"]).await?;
        self.start(2).await?;

        eprintln!("  users demo and admin (system), buckets demo-us and demo-eu");
        let (user, admin) = (self.state.user.clone(), self.state.admin.clone());
        self.cli(
            0,
            &[
                "user",
                "create",
                "--uid",
                "demo",
                "--display-name",
                "Demo user",
                "--access-key",
                &user.access_key,
                "--secret",
                &user.secret_key,
            ],
        )
        .await?;
        self.cli(
            0,
            &[
                "user",
                "create",
                "--uid",
                "admin",
                "--display-name",
                "Demo admin (system)",
                "--system",
                "--access-key",
                &admin.access_key,
                "--secret",
                &admin.secret_key,
            ],
        )
        .await?;
        for (bucket, zonegroup, zone) in BUCKETS {
            let s3 = S3Client::new(&self.state.endpoint(zone), &user.access_key, &user.secret_key);
            // A zone outside the master's zonegroup learns the new user through metadata sync (or asks the
            // master): retry briefly.
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                match s3.create_bucket(bucket, zonegroup).await {
                    Ok(()) => break,
                    Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => break,
                    Err(e) if Instant::now() < deadline => {
                        tracing::debug!(error = %e, bucket, "bucket not created yet; retrying");
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                    Err(e) => return Err(e).with_context(|| format!("cannot create the sample bucket {bucket}")),
                }
            }
            let text = format!(
                "Hello from Meridian! This object was written to zone {} of zonegroup {zonegroup}.\n",
                ZONES[zone].name
            );
            s3.put_object(bucket, "hello.txt", "text/plain", Payload::Bytes(text.into_bytes()))
                .await
                .with_context(|| format!("cannot write the sample object to {bucket}"))?;
        }
        Ok(())
    }

    /// Starts zone `zone`'s server (its configuration written to `DIR/<zone>.toml`) and waits until it
    /// accepts connections.
    async fn start(&mut self, zone: usize) -> anyhow::Result<()> {
        let name = ZONES[zone].name;
        let cfg = zone_config(&self.state, zone, &self.log);
        let cfg_path = self.dir.join(format!("{name}.toml"));
        std::fs::write(&cfg_path, toml::to_string(&cfg)?)
            .with_context(|| format!("cannot write {}", cfg_path.display()))?;
        let log_path = self.dir.join("logs").join(format!("{name}.log"));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("cannot open {}", log_path.display()))?;
        let exe = std::env::current_exe().context("cannot find the meridian executable")?;
        let child = Command::new(exe)
            .arg("--data-dir")
            .arg(self.data_dir(zone))
            .arg("--config")
            .arg(&cfg_path)
            .arg("server")
            .current_dir(&self.dir)
            .env_remove("MERIDIAN_CONFIG")
            .env_remove("MERIDIAN_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("cannot start meridian server")?;
        self.children.push((zone, child));
        let deadline = Instant::now() + Duration::from_secs(60);
        let addr = cfg.listen;
        loop {
            if let Some((_, c)) = self.children.iter_mut().find(|(z, _)| *z == zone) {
                if let Some(status) = c.try_wait()? {
                    bail!(
                        "zone {name}'s server exited ({status}) while starting; the end of {}:\n{}",
                        log_path.display(),
                        tail(&log_path, 15)
                    );
                }
            }
            let connect = tokio::task::spawn_blocking(move || {
                TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok()
            });
            if connect.await.unwrap_or(false) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "zone {name} did not listen on {addr} within 60 s; see {}",
                    log_path.display()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Until Ctrl-C, SIGTERM, or a zone's server exiting by itself; says which, and whether it is a failure.
    async fn wait(&mut self) -> (String, bool) {
        use tokio::signal::unix::{signal, SignalKind};
        // Both streams are made once: a signal that arrives between two turns of the loop is kept for the next.
        let (mut interrupt, mut term) = match (signal(SignalKind::interrupt()), signal(SignalKind::terminate())) {
            (Ok(i), Ok(t)) => (i, t),
            (Err(e), _) | (_, Err(e)) => return (format!("cannot watch for SIGINT and SIGTERM ({e})"), true),
        };
        loop {
            tokio::select! {
                // A terminal's Ctrl-C reaches the whole process group: the zones' servers get the SIGINT too
                // and start stopping. The signals are looked at first, so that a zone already gone by then
                // reads as the interrupt it is, not as a zone that died.
                biased;
                _ = interrupt.recv() => return ("interrupted".into(), false),
                _ = term.recv() => return ("terminated".into(), false),
                _ = tokio::time::sleep(Duration::from_millis(500)) => {
                    for (zone, c) in &mut self.children {
                        if let Ok(Some(status)) = c.try_wait() {
                            return (format!(
                                "zone {}'s server exited ({status}; see {})",
                                ZONES[*zone].name,
                                self.dir.join("logs").join(format!("{}.log", ZONES[*zone].name)).display()
                            ), true);
                        }
                    }
                }
            }
        }
    }

    /// SIGTERM to every server (they finish requests in flight), SIGKILL to one still running after 30 s.
    #[allow(unsafe_code, reason = "SIGTERM to a child process (libc kill)")]
    async fn stop(&mut self) {
        for (_, c) in &self.children {
            if let Some(pid) = c.id().and_then(|p| i32::try_from(p).ok()) {
                // SAFETY: kill(2) on the pid of our own child process, which we have not yet reaped.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
            }
        }
        for (zone, c) in &mut self.children {
            match tokio::time::timeout(Duration::from_secs(30), c.wait()).await {
                Ok(_) => {}
                Err(_) => {
                    eprintln!("zone {} did not stop within 30 s: killing it", ZONES[*zone].name);
                    let _ = c.kill().await;
                }
            }
        }
        self.children.clear();
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn print_summary(dir: &Path, s: &DemoState) {
    let s3cfg = format!(
        "[default]\naccess_key = {}\nsecret_key = {}\nhost_base = 127.0.0.1:{}\nhost_bucket = 127.0.0.1:{}\n\
         bucket_location = us-east-1\nuse_https = False\nsignature_v2 = False\n",
        s.user.access_key, s.user.secret_key, s.ports[0], s.ports[0]
    );
    let s3cfg_path = dir.join("s3cfg");
    let _ = std::fs::write(&s3cfg_path, &s3cfg);
    let mut out = String::new();
    out.push_str(&format!(
        "\nMeridian demo realm \"{REALM}\" is running (data and logs in {})\n\n",
        dir.display()
    ));
    out.push_str("Endpoints (S3 and /admin):\n");
    let mut last_zg = "";
    for (i, z) in ZONES.iter().enumerate() {
        if z.zonegroup != last_zg {
            out.push_str(&format!("  zonegroup {}\n", z.zonegroup));
            last_zg = z.zonegroup;
        }
        let role = match (i, z.master) {
            (0, _) => "  (metadata master)",
            (_, true) => "  (zonegroup master)",
            _ => "",
        };
        out.push_str(&format!("    {:<8} {}{role}\n", z.name, s.endpoint(i)));
    }
    out.push_str(&format!(
        "\nDashboard: {}  (log in with either key below)\n\n",
        s.dashboard()
    ));
    out.push_str(&format!(
        "Demo user \"demo\":          access key {}  secret {}\n",
        s.user.access_key, s.user.secret_key
    ));
    out.push_str(&format!(
        "Admin user \"admin\" (system): access key {}  secret {}\n",
        s.admin.access_key, s.admin.secret_key
    ));
    out.push_str("Sample buckets: demo-us (zonegroup us), demo-eu (zonegroup eu), each with hello.txt\n\n");
    if let Some(port) = s.dns_port {
        out.push_str(&format!(
            "DNS (global namespace): 127.0.0.1 port {port}, UDP and TCP; BUCKET.{DNS_DOMAIN} answers CNAME \
             BUCKET.<zonegroup>.{DNS_DOMAIN}\n  dig @127.0.0.1 -p {port} demo-eu.{DNS_DOMAIN}\n\n"
        ));
    }
    out.push_str("For the AWS CLI, boto3 and other SDKs (zone us-east):\n");
    out.push_str(&format!(
        "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION=us-east-1 AWS_ENDPOINT_URL={}\n",
        s.user.access_key,
        s.user.secret_key,
        s.endpoint(0)
    ));
    out.push_str("  aws s3 ls s3://demo-us\n\n");
    out.push_str(&format!(
        "For s3cmd (saved as {0}; use it with `s3cmd -c {0} ls`):\n",
        s3cfg_path.display()
    ));
    for line in s3cfg.lines() {
        out.push_str(&format!("  {line}\n"));
    }
    out.push_str("\nCtrl-C stops the demo; `meridian demo` again resumes this realm.\n");
    use std::io::Write;
    let mut stdout = std::io::stdout();
    let _ = stdout.write_all(out.as_bytes());
    let _ = stdout.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_configs_come_from_the_state() {
        let state = DemoState {
            ports: [9000, 9001, 9002, 9003],
            system_key: Key::generate(),
            user: Key::generate(),
            admin: Key::generate(),
            complete: true,
            dns_port: Some(9004),
        };
        let east = zone_config(&state, 0, "info");
        assert_eq!(east.listen.port(), 9000);
        assert_eq!(east.zone.as_deref(), Some("us-east"));
        assert_eq!(east.dashboard_listen.map(|a| a.port()), Some(9003));
        assert_eq!(east.dns_listen.map(|a| a.port()), Some(9004));
        assert_eq!(east.dns_domain.as_deref(), Some(DNS_DOMAIN));
        let eu = zone_config(&state, 2, "info");
        assert_eq!(eu.listen.port(), 9002);
        assert_eq!(eu.dashboard_listen, None);
        assert_eq!(eu.dns_listen, None);
        assert!(toml::to_string(&eu).is_ok());
    }
}
