//! Disk full: the data directory on a small tmpfs the test mounts (needs root; skipped otherwise). A PUT that
//! runs out of space gets `507 InsufficientStorage`, leaves no partial object or staged file, the server
//! stays up, and writes work again once space is freed: for a large object (a file) and for small ones
//! (stored inside the metadata database).

use crate::common::*;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Result<Self, String> {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).into_owned());
        }
        Ok(Self(dir.to_path_buf()))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

struct Proc {
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(data_dir: &Path) -> (Proc, SocketAddr) {
    let mut child = Command::new(BIN)
        .arg("--data-dir")
        .arg(data_dir)
        .args([
            "server",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "info",
            "--gc-delay-secs",
            "0",
            "--gc-interval-secs",
            "1",
        ])
        .env_remove("MERIDIAN_CONFIG")
        .env_remove("MERIDIAN_DATA_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn meridian server");
    let (log, rx) = capture_log(&mut child, "server");
    let proc = Proc { child, log };
    let addr = rx
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("server did not start:\n{}", proc.log.lock().unwrap().join("\n")));
    (proc, addr.parse().expect("address"))
}

/// A server whose data directory is on a 48 MiB tmpfs the test mounts, with the test user and an S3 client.
/// Fields drop in order: the server stops before the tmpfs is unmounted and its directory removed.
struct SmallDisk {
    proc: Proc,
    s3: aws_sdk_s3::Client,
    mnt: PathBuf,
    data_dir: PathBuf,
    _fs: Tmpfs,
    _root: tempfile::TempDir,
}

impl SmallDisk {
    /// `None` (the test is skipped, saying why) where not root or a tmpfs cannot be mounted.
    fn start() -> Option<SmallDisk> {
        if !Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        {
            println!("skipped: mounting a tmpfs needs root");
            return None;
        }
        let root = tempfile::tempdir().unwrap();
        let mnt = root.path().join("mnt");
        let fs = match Tmpfs::mount(&mnt, "48m") {
            Ok(m) => m,
            Err(e) => {
                println!("skipped: cannot mount a tmpfs: {e}");
                return None;
            }
        };
        let data_dir = mnt.join("data");
        let (proc, addr) = start_server(&data_dir);
        let out = Command::new(BIN)
            .arg("--data-dir")
            .arg(&data_dir)
            .args([
                "user",
                "create",
                "--uid",
                UID,
                "--display-name",
                "T",
                "--access-key",
                ACCESS_KEY,
                "--secret",
                SECRET_KEY,
            ])
            .output()
            .expect("user create");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let s3 = make_client(&format!("http://{addr}"), ACCESS_KEY, SECRET_KEY);
        Some(SmallDisk {
            proc,
            s3,
            mnt,
            data_dir,
            _fs: fs,
            _root: root,
        })
    }
}

fn free_bytes(dir: &Path) -> u64 {
    let out = Command::new("df")
        .args(["-B1", "--output=avail"])
        .arg(dir)
        .output()
        .expect("df");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .nth(1)
        .and_then(|l| l.trim().parse().ok())
        .expect("df output")
}

#[tokio::test]
async fn put_on_a_full_disk_fails_cleanly_and_recovers() {
    let Some(disk) = SmallDisk::start() else {
        return;
    };
    let (s3, mnt, data_dir) = (&disk.s3, &disk.mnt, &disk.data_dir);
    create_bucket(s3, "full").await;
    put(s3, "full", "before", &pattern(300 * 1024, 1)).await;

    // Leave about 2 MiB free, then PUT 6 MiB.
    let filler = mnt.join("filler");
    let fill = free_bytes(mnt).saturating_sub(2 << 20);
    std::fs::write(&filler, vec![0u8; fill as usize]).expect("write filler");
    let big = pattern(6 << 20, 2);
    let err = expect_err(
        s3.put_object()
            .bucket("full")
            .key("big")
            .body(aws_sdk_s3::primitives::ByteStream::from(big.clone()))
            .send()
            .await,
        "InsufficientStorage",
        507,
    );
    println!("full disk answered: {err:?}");
    // No partial object, nothing left staged.
    assert_eq!(err_status(s3.head_object().bucket("full").key("big").send().await), 404);
    let staged: Vec<PathBuf> = walk(data_dir)
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| p.strip_prefix(data_dir).ok().map(Path::to_path_buf))
        .filter(|p| p.components().any(|c| c.as_os_str() == "tmp"))
        .collect();
    assert!(staged.is_empty(), "staged files left: {staged:?}");
    // The server is up: reads work.
    assert_eq!(get_bytes(s3, "full", "before").await, pattern(300 * 1024, 1));

    // Space freed: the same PUT works.
    std::fs::remove_file(&filler).unwrap();
    put(s3, "full", "big", &big).await;
    assert!(get_bytes(s3, "full", "big").await == big);
    put(s3, "full", "small", b"after").await;

    let log = disk.proc.log.lock().unwrap().join("\n");
    assert!(log.contains("filesystem is full"), "the fault is logged:\n{log}");
}

/// Small objects (≤ 64 KiB) live inside the metadata database (redb): a full filesystem fails its commit
/// (or flush). Each such PUT is `507 InsufficientStorage` (never a 500), refused objects do not exist, every
/// acknowledged one does, and once space is freed writes work again without a restart.
#[tokio::test]
async fn small_puts_on_a_full_disk_fail_cleanly_and_recover() {
    let Some(disk) = SmallDisk::start() else {
        return;
    };
    let (s3, mnt) = (&disk.s3, &disk.mnt);
    create_bucket(s3, "small").await;
    put(s3, "small", "before", &pattern(4096, 1)).await;

    // Fill the filesystem to the last byte, then PUT 32 KiB objects: the metadata database's spare pages
    // take a few, then its commits fail.
    let filler = mnt.join("filler");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![0u8; 64 << 10];
        while f.write_all(&chunk).is_ok() {}
        let _ = f.write_all(&[0u8; 512]);
        let _ = f.sync_all();
    }
    let (mut acknowledged, mut refused) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let key = format!("obj-{i:03}");
        let body = pattern(32 << 10, 100 + i);
        match s3
            .put_object()
            .bucket("small")
            .key(&key)
            .body(aws_sdk_s3::primitives::ByteStream::from(body.clone()))
            .send()
            .await
        {
            Ok(_) => acknowledged.push((key, body)),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e).map(str::to_string);
                assert_eq!(
                    (status, code.as_deref()),
                    (Some(507), Some("InsufficientStorage")),
                    "a small PUT on a full disk: {e:?}"
                );
                refused.push(key);
                if refused.len() >= 5 {
                    break;
                }
            }
        }
    }
    assert!(
        !refused.is_empty(),
        "the disk never filled ({} small PUTs acknowledged)",
        acknowledged.len()
    );

    // Space freed: writes work again (no restart), refused objects never appeared, acknowledged ones are
    // whole.
    std::fs::remove_file(&filler).unwrap();
    put(s3, "small", "after", b"after").await;
    assert_eq!(get_bytes(s3, "small", "after").await, b"after");
    assert_eq!(get_bytes(s3, "small", "before").await, pattern(4096, 1));
    for key in &refused {
        assert_eq!(
            err_status(s3.head_object().bucket("small").key(key).send().await),
            404,
            "refused {key} exists"
        );
    }
    for (key, body) in &acknowledged {
        assert!(get_bytes(s3, "small", key).await == *body, "acknowledged {key} differs");
    }
    // A refused key can be written now.
    put(s3, "small", &refused[0], b"retried").await;
    assert_eq!(get_bytes(s3, "small", &refused[0]).await, b"retried");

    let log = disk.proc.log.lock().unwrap().join("\n");
    assert!(log.contains("filesystem is full"), "the fault is logged:\n{log}");
}
