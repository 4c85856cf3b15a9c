//! A newcomer's first hour: admin verbs never create a data directory (they name the one they looked at and
//! fail), `init` does; the dashboard is off unless `dashboard_listen` is set, and when on it serves nothing
//! but its login page without a session, refuses a wrong key and sets a SameSite=Strict HttpOnly cookie.

use crate::common::{list_bucket_names, Server, ACCESS_KEY, BIN, SECRET_KEY};
use std::process::{Command, Stdio};

fn meridian(cwd: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("MERIDIAN_CONFIG")
        .env_remove("MERIDIAN_DATA_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run meridian")
}

#[test]
fn admin_verb_in_the_wrong_directory_creates_nothing_and_says_where_it_looked() {
    let dir = tempfile::tempdir().unwrap();
    for verb in [
        &["user", "list"][..],
        &["bucket", "list"],
        &["sync", "status"],
        &["zone", "get"],
    ] {
        let out = meridian(dir.path(), verb);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{verb:?} succeeded: {err}");
        let expected = dir.path().canonicalize().unwrap().join("meridian-data");
        assert!(
            err.contains(&expected.display().to_string()) && err.contains("does not exist"),
            "{verb:?}: {err}"
        );
        assert!(
            !dir.path().join("meridian-data").exists(),
            "{verb:?} created ./meridian-data"
        );
    }
    // An existing directory without data is named too, and stays empty.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = meridian(dir.path(), &["--data-dir", "empty", "user", "list"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("holds no Meridian data") && err.contains("empty"), "{err}");
    assert_eq!(
        std::fs::read_dir(&empty).unwrap().count(),
        0,
        "user list wrote into {}",
        empty.display()
    );
}

#[test]
fn init_creates_the_data_directory_and_verbs_then_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = meridian(dir.path(), &["--data-dir", "d", "init"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("initialised"));
    assert!(dir.path().join("d/meta.redb").is_file());
    let out = meridian(dir.path(), &["--data-dir", "d", "user", "list"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let users: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(users, serde_json::json!([]));
    // A second init leaves the directory as it is.
    let out = meridian(dir.path(), &["--data-dir", "d", "init"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("already initialised"));
}

fn dashboard_url(server: &Server) -> Option<String> {
    server.server_log().lines().find_map(|l| {
        l.split("dashboard at ")
            .nth(1)
            .map(|u| u.trim().trim_end_matches('/').to_string())
    })
}

fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn dashboard_is_off_by_default() {
    let server = Server::start();
    assert_eq!(dashboard_url(&server), None, "{}", server.server_log());
}

#[tokio::test]
async fn dashboard_login_gate() {
    let server = Server::start_with(&["--dashboard-listen", "127.0.0.1:0"]);
    let url = dashboard_url(&server).unwrap_or_else(|| panic!("no dashboard line: {}", server.server_log()));
    let http = no_redirects();
    // Without a session: the login page only.
    for path in ["/", "/buckets", "/users", "/charts", "/live/overview"] {
        let r = http.get(format!("{url}{path}")).send().await.unwrap();
        assert_eq!(r.status(), 303, "{path}");
        assert_eq!(r.headers()["location"], "/login", "{path}");
    }
    let r = http.post(format!("{url}/buckets/create")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("access_key"));

    let login = |ak: &str, sk: &str| {
        http.post(format!("{url}/login"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "access_key={ak}&secret_key={}",
                sk.replace('/', "%2F").replace('+', "%2B")
            ))
            .send()
    };
    let wrong = login(ACCESS_KEY, "not-the-secret").await.unwrap();
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get("set-cookie").is_none());
    // A cross-site login form is refused outright.
    let cross = http
        .post(format!("{url}/login"))
        .header("origin", "http://evil.example")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "access_key={ACCESS_KEY}&secret_key={}",
            SECRET_KEY.replace('/', "%2F")
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);

    let ok = login(ACCESS_KEY, SECRET_KEY).await.unwrap();
    assert_eq!(ok.status(), 303);
    let cookie = ok.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    let session = cookie.split(';').next().unwrap().to_string();
    let page = http
        .get(format!("{url}/buckets"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Create a bucket") && html.contains(crate::common::UID),
        "{html}"
    );
    // A state change without the session's CSRF token is refused; with it, it goes through S3.
    let form = |csrf: &str| format!("csrf={csrf}&name=from-dashboard&zonegroup=");
    let refused = http
        .post(format!("{url}/buckets/create"))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    let csrf = html
        .split("name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("csrf meta")
        .to_string();
    let created = http
        .post(format!("{url}/buckets/create"))
        .header("cookie", &session)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(&csrf))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let names = list_bucket_names(&server.client()).await;
    assert_eq!(names, vec!["from-dashboard".to_string()]);
}
