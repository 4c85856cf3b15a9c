//! Routes and handlers: the login gate (session cookie, Origin and CSRF checks on every state-changing
//! request), and each page, built from S3 and admin requests to the zones.

use crate::error::DashError;
use crate::pages::{self, Flash};
use crate::realm::{self, Topology};
use crate::s3::S3Client;
use crate::session::{self, Session};
use crate::{charts, samples, transfer, App};
use axum::body::Body;
use axum::extract::{Form, Query, Request, State};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post, put};
use axum::{Extension, Router};
use http::{header, HeaderMap, Method, StatusCode};
use maud::Markup;
use meridian_peer::{AdminRequest, PeerClient};
use serde::Deserialize;
use std::sync::Arc;

/// Forms are small; anything larger is refused before it is parsed.
const MAX_FORM: usize = 64 << 10;

pub fn router(app: App) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/live/overview", get(overview_live))
        .route("/buckets", get(buckets))
        .route("/buckets/create", post(bucket_create))
        .route("/buckets/delete", post(bucket_delete))
        .route("/browse", get(browse))
        .route("/object", get(object_info))
        .route("/object/delete", post(object_delete))
        .route("/download", get(transfer::download))
        .route("/upload/put", put(transfer::put_object))
        .route("/upload/start", post(transfer::start))
        .route("/upload/part", put(transfer::part))
        .route("/upload/complete", post(transfer::complete))
        .route("/upload/abort", post(transfer::abort))
        .route("/users", get(users))
        .route("/users/create", post(user_create))
        .route("/users/suspend", post(user_suspend))
        .route("/users/show", get(user_show))
        .route("/charts", get(charts_page))
        .route("/live/charts", get(charts_live))
        .route("/logout", post(logout))
        .layer(middleware::from_fn_with_state(app.clone(), gate))
        .route("/login", get(login_page).post(login))
        .fallback(not_found)
        .with_state(app)
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found").into_response()
}

/// The session's id, for logout.
#[derive(Clone)]
struct SessionId(String);

/// Is the request's `Origin` (when the browser sends one) this dashboard itself?
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    origin.split_once("://").map(|(_, h)| h) == Some(host)
}

/// Everything but `/login` needs a session; every request that changes something also needs a same-origin
/// `Origin` (when sent) and the session's CSRF token (`x-csrf-token` header or a `csrf` form field).
async fn gate(State(app): State<App>, req: Request, next: Next) -> Response {
    let id = session::cookie_value(req.headers());
    let Some((id, session)) = id.and_then(|id| app.sessions.get(&id).map(|s| (id, s))) else {
        return if req.method() == Method::GET {
            Redirect::to("/login").into_response()
        } else {
            (StatusCode::UNAUTHORIZED, "log in first").into_response()
        };
    };
    let mut req = req;
    if req.method() != Method::GET && req.method() != Method::HEAD {
        if !same_origin(req.headers()) {
            return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
        }
        let header_token = req
            .headers()
            .get("x-csrf-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        match header_token {
            Some(t) if session.csrf_ok(&t) => {}
            Some(_) => return (StatusCode::FORBIDDEN, "bad CSRF token").into_response(),
            None => {
                let is_form = req
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
                if !is_form {
                    return (StatusCode::FORBIDDEN, "missing CSRF token").into_response();
                }
                let (parts, body) = req.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, MAX_FORM).await else {
                    return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
                };
                let token = url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "csrf")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                if !session.csrf_ok(&token) {
                    return (StatusCode::FORBIDDEN, "bad CSRF token").into_response();
                }
                req = Request::from_parts(parts, Body::from(bytes));
            }
        }
    }
    req.extensions_mut().insert(session);
    req.extensions_mut().insert(SessionId(id));
    next.run(req).await
}

// ------------------------------------------------------------------------------------------------ login

async fn login_page() -> Html<String> {
    Html(pages::login(None).into_string())
}

#[derive(Deserialize)]
struct LoginForm {
    access_key: String,
    secret_key: String,
}

async fn login(State(app): State<App>, headers: HeaderMap, Form(f): Form<LoginForm>) -> Response {
    if !same_origin(&headers) {
        return (StatusCode::FORBIDDEN, "cross-origin request refused").into_response();
    }
    let (ak, sk) = (f.access_key.trim(), f.secret_key.trim());
    match authenticate(&app, ak, sk).await {
        Ok(session) => {
            tracing::info!(uid = %session.uid, admin = session.admin, "dashboard login");
            let id = app.sessions.insert(session);
            let mut resp = Redirect::to("/").into_response();
            if let Ok(v) = session::set_cookie(&id).parse() {
                resp.headers_mut().insert(header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => {
            tracing::info!(error = %e, "dashboard login refused");
            let msg = match &e {
                DashError::Unreachable { .. } => format!("The zone did not answer: {e}"),
                _ => "Login refused: unknown access key, wrong secret, or a suspended user.".to_string(),
            };
            (StatusCode::UNAUTHORIZED, Html(pages::login(Some(&msg)).into_string())).into_response()
        }
    }
}

/// A key is good if the zone accepts it for ListBuckets; it is an admin key if the admin API accepts it too.
async fn authenticate(app: &App, ak: &str, sk: &str) -> Result<Session, DashError> {
    if ak.is_empty() || sk.is_empty() {
        return Err(DashError::BadRequest("empty key".into()));
    }
    S3Client::new(&app.cfg.home_endpoint, ak, sk).list_buckets().await?;
    let own = PeerClient::new(&app.cfg.home_endpoint, ak, sk);
    let admin = match own.send(&AdminRequest::new(Method::GET, "metadata/user")).await {
        Ok(_) => true,
        Err(meridian_peer::PeerError::Remote { status: 403, .. }) => false,
        Err(e) => return Err(e.into()),
    };
    let lookup = AdminRequest::new(Method::GET, "user").param("access-key", ak);
    let uid = match app.service().send(&lookup).await {
        Ok(v) => v["user_id"].as_str().unwrap_or(ak).to_string(),
        // The zone's system key and the local admin key belong to no user.
        Err(meridian_peer::PeerError::Remote { .. }) if admin => "system".to_string(),
        Err(e) => return Err(e.into()),
    };
    Ok(Session::new(ak, sk, &uid, admin))
}

async fn logout(State(app): State<App>, Extension(id): Extension<SessionId>) -> Response {
    app.sessions.remove(&id.0);
    let mut resp = Redirect::to("/login").into_response();
    if let Ok(v) = session::clear_cookie().parse() {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

// ------------------------------------------------------------------------------------------------ helpers

impl App {
    /// The admin client for read-only realm views, signed with the service key, at this zone.
    pub(crate) fn service(&self) -> PeerClient {
        PeerClient::new(
            &self.cfg.home_endpoint,
            &self.cfg.service_access_key,
            &self.cfg.service_secret_key,
        )
    }

    pub(crate) fn service_at(&self, endpoint: &str) -> PeerClient {
        PeerClient::new(endpoint, &self.cfg.service_access_key, &self.cfg.service_secret_key)
    }

    pub(crate) async fn topology(&self) -> Topology {
        let fresh = realm::topology(&self.service(), &self.cfg.home_zone).await;
        let mut last = self.0.topology.lock().unwrap_or_else(|p| p.into_inner());
        match fresh {
            Ok(t) => {
                *last = Some(t.clone());
                t
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot read the period; showing the last one read");
                last.clone().unwrap_or_default()
            }
        }
    }

    /// The zone a view of a zonegroup's data uses: the requested one if it is in the zonegroup, else this
    /// zone if it is, else the zonegroup's first zone.
    pub(crate) fn pick_zone<'t>(
        &self,
        t: &'t Topology,
        zonegroup: &'t realm::ZonegroupView,
        wanted: Option<&str>,
    ) -> Option<&'t realm::ZoneView> {
        let _ = t;
        wanted
            .and_then(|w| zonegroup.zones.iter().find(|z| z.id == w || z.name == w))
            .or_else(|| zonegroup.zones.iter().find(|z| z.id == self.cfg.home_zone))
            .or_else(|| zonegroup.zones.first())
    }

    /// The zonegroup holding `bucket` (from GetBucketLocation, signed with the user's key).
    pub(crate) async fn bucket_zonegroup<'t>(
        &self,
        session: &Session,
        t: &'t Topology,
        bucket: &str,
    ) -> Result<&'t realm::ZonegroupView, DashError> {
        let location = user_s3(session, &self.cfg.home_endpoint)
            .bucket_location(bucket)
            .await?;
        t.zonegroup_by_api_name(&location)
            .or_else(|| t.zonegroup_of_zone(&self.cfg.home_zone))
            .or_else(|| t.zonegroups.first())
            .ok_or_else(|| DashError::Internal("the realm has no zonegroup".into()))
    }
}

pub(crate) fn user_s3(session: &Session, endpoint: &str) -> S3Client {
    S3Client::new(endpoint, &session.access_key, &session.secret_key)
}

fn page(session: &Session, active: &str, title: &str, flash: Option<Flash>, content: Markup) -> Response {
    Html(pages::layout(session, active, title, flash.as_ref(), content).into_string()).into_response()
}

fn error_response(session: &Session, e: &DashError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY);
    (
        status,
        Html(pages::error_page(session, "Error", &e.to_string()).into_string()),
    )
        .into_response()
}

/// A redirect after a form, with its outcome shown on the next page.
fn redirect_with(to: &str, msg: &str, error: bool) -> Response {
    let sep = if to.contains('?') { '&' } else { '?' };
    let kind = if error { "err" } else { "msg" };
    Redirect::to(&format!("{to}{sep}{kind}={}", pages::q(msg))).into_response()
}

#[derive(Deserialize, Default)]
struct FlashQuery {
    msg: Option<String>,
    err: Option<String>,
}

impl FlashQuery {
    fn flash(&self) -> Option<Flash> {
        match (&self.msg, &self.err) {
            (_, Some(e)) => Some(Flash {
                text: e.clone(),
                error: true,
            }),
            (Some(m), None) => Some(Flash {
                text: m.clone(),
                error: false,
            }),
            _ => None,
        }
    }
}

// ------------------------------------------------------------------------------------------------ overview

async fn live_overview_markup(app: &App) -> Markup {
    let t = app.topology().await;
    let sync = match app.samples.latest() {
        Some(s) if !s.sync.is_empty() => s.sync,
        _ => samples::take(&t, &app.service()).await.sync,
    };
    pages::overview_live(&t, &sync, &app.cfg.home_zone)
}

async fn overview(State(app): State<App>, Extension(s): Extension<Arc<Session>>) -> Response {
    let live = live_overview_markup(&app).await;
    page(&s, "overview", "Overview", None, pages::overview(live))
}

async fn overview_live(State(app): State<App>) -> Html<String> {
    Html(live_overview_markup(&app).await.into_string())
}

// ------------------------------------------------------------------------------------------------ buckets

async fn buckets(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(fq): Query<FlashQuery>,
) -> Response {
    let t = app.topology().await;
    let mut groups = Vec::new();
    for zg in &t.zonegroups {
        let Some(zone) = app.pick_zone(&t, zg, None) else {
            continue;
        };
        // An admin lists with its own key; a user's own buckets are read with the service key.
        let listed = if s.admin {
            realm::bucket_stats(&PeerClient::new(&zone.endpoint, &s.access_key, &s.secret_key), None).await
        } else {
            realm::bucket_stats(&app.service_at(&zone.endpoint), Some(&s.uid)).await
        };
        let buckets = listed
            .map(|all| {
                all.into_iter()
                    .filter(|b| zg.id.is_empty() || b.zonegroup == zg.id)
                    .collect()
            })
            .map_err(|e| e.to_string());
        groups.push(pages::ZonegroupBuckets {
            name: zg.name.clone(),
            api_name: zg.api_name.clone(),
            listed_at: format!("zone {}", zone.name),
            buckets,
        });
    }
    page(&s, "buckets", "Buckets", fq.flash(), pages::buckets(&s.csrf, &groups))
}

#[derive(Deserialize)]
struct BucketForm {
    name: String,
    zonegroup: String,
}

/// The endpoint of a zone of the zonegroup named by its api_name.
fn zonegroup_endpoint(app: &App, t: &Topology, api_name: &str) -> Result<String, DashError> {
    let zg = t
        .zonegroups
        .iter()
        .find(|zg| zg.api_name == api_name)
        .or_else(|| {
            // No constraint: this zone's zonegroup, as for any S3 client.
            api_name
                .is_empty()
                .then(|| t.zonegroup_of_zone(&app.cfg.home_zone))
                .flatten()
        })
        .ok_or_else(|| DashError::BadRequest(format!("no zonegroup {api_name:?} in the realm")))?;
    app.pick_zone(t, zg, None)
        .map(|z| z.endpoint.clone())
        .ok_or_else(|| DashError::BadRequest(format!("zonegroup {api_name:?} has no zone")))
}

async fn bucket_create(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Form(f): Form<BucketForm>,
) -> Response {
    let t = app.topology().await;
    let result = async {
        let endpoint = zonegroup_endpoint(&app, &t, &f.zonegroup)?;
        user_s3(&s, &endpoint).create_bucket(f.name.trim(), &f.zonegroup).await
    }
    .await;
    match result {
        Ok(()) => redirect_with("/buckets", &format!("created bucket {}", f.name.trim()), false),
        Err(e) => redirect_with("/buckets", &format!("cannot create {}: {e}", f.name.trim()), true),
    }
}

async fn bucket_delete(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Form(f): Form<BucketForm>,
) -> Response {
    let t = app.topology().await;
    let result = async {
        let endpoint = zonegroup_endpoint(&app, &t, &f.zonegroup)?;
        user_s3(&s, &endpoint).delete_bucket(&f.name).await
    }
    .await;
    match result {
        Ok(()) => redirect_with("/buckets", &format!("deleted bucket {}", f.name), false),
        Err(e) => redirect_with("/buckets", &format!("cannot delete {}: {e}", f.name), true),
    }
}

// ------------------------------------------------------------------------------------------------ objects

#[derive(Deserialize)]
struct BrowseQuery {
    bucket: String,
    #[serde(default)]
    prefix: String,
    zone: Option<String>,
    token: Option<String>,
    msg: Option<String>,
    err: Option<String>,
}

async fn browse(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(bq): Query<BrowseQuery>,
) -> Response {
    let t = app.topology().await;
    let zg = match app.bucket_zonegroup(&s, &t, &bq.bucket).await {
        Ok(zg) => zg,
        Err(e) => return error_response(&s, &e),
    };
    let Some(zone) = app.pick_zone(&t, zg, bq.zone.as_deref()) else {
        return error_response(&s, &DashError::Internal("the zonegroup has no zone".into()));
    };
    let listing = user_s3(&s, &zone.endpoint)
        .list_objects(&bq.bucket, &bq.prefix, bq.token.as_deref())
        .await
        .map_err(|e| e.to_string());
    let view = pages::BrowseView {
        csrf: &s.csrf,
        bucket: &bq.bucket,
        prefix: &bq.prefix,
        zonegroup: &zg.name,
        zone_id: &zone.id,
        zones: zg.zones.iter().map(|z| (z.id.clone(), z.name.clone())).collect(),
        listing,
        token: bq.token.as_deref(),
    };
    let flash = FlashQuery {
        msg: bq.msg.clone(),
        err: bq.err.clone(),
    }
    .flash();
    page(
        &s,
        "buckets",
        &format!("Bucket {}", bq.bucket),
        flash,
        pages::browse(&view),
    )
}

#[derive(Deserialize)]
pub(crate) struct ObjectQuery {
    pub bucket: String,
    pub key: String,
    pub zone: Option<String>,
}

/// The endpoint of the zone a request about an object of `bucket` goes to.
pub(crate) async fn object_endpoint(
    app: &App,
    s: &Session,
    bucket: &str,
    zone: Option<&str>,
) -> Result<(String, String), DashError> {
    let t = app.topology().await;
    let zg = app.bucket_zonegroup(s, &t, bucket).await?;
    let z = app
        .pick_zone(&t, zg, zone)
        .ok_or_else(|| DashError::Internal("the zonegroup has no zone".into()))?;
    Ok((z.endpoint.clone(), z.id.clone()))
}

async fn object_info(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(oq): Query<ObjectQuery>,
) -> Response {
    let result = async {
        let (endpoint, zone) = object_endpoint(&app, &s, &oq.bucket, oq.zone.as_deref()).await?;
        let headers = user_s3(&s, &endpoint).head_object(&oq.bucket, &oq.key).await?;
        Ok::<_, DashError>((zone, headers))
    }
    .await;
    match result {
        Ok((zone, headers)) => {
            let wanted = ["content-length", "content-type", "etag", "last-modified"];
            let rows: Vec<(String, String)> = headers
                .iter()
                .filter(|(k, _)| wanted.contains(&k.as_str()) || k.as_str().starts_with("x-amz-meta-"))
                .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            page(
                &s,
                "buckets",
                &format!("Object {}", oq.key),
                None,
                pages::object_info(&oq.bucket, &oq.key, &zone, &rows),
            )
        }
        Err(e) => error_response(&s, &e),
    }
}

#[derive(Deserialize)]
struct DeleteForm {
    bucket: String,
    key: String,
    zone: Option<String>,
    #[serde(default)]
    prefix: String,
}

async fn object_delete(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Form(f): Form<DeleteForm>,
) -> Response {
    let result = async {
        let (endpoint, zone) = object_endpoint(&app, &s, &f.bucket, f.zone.as_deref()).await?;
        user_s3(&s, &endpoint).delete_object(&f.bucket, &f.key).await?;
        Ok::<_, DashError>(zone)
    }
    .await;
    let back = |zone: &str| {
        format!(
            "/browse?bucket={}&zone={}&prefix={}",
            pages::q(&f.bucket),
            pages::q(zone),
            pages::q(&f.prefix)
        )
    };
    match result {
        Ok(zone) => redirect_with(&back(&zone), &format!("deleted {}", f.key), false),
        Err(e) => redirect_with(
            &back(f.zone.as_deref().unwrap_or_default()),
            &format!("cannot delete {}: {e}", f.key),
            true,
        ),
    }
}

// ------------------------------------------------------------------------------------------------ users

fn admin_client(app: &App, s: &Session) -> PeerClient {
    PeerClient::new(&app.cfg.home_endpoint, &s.access_key, &s.secret_key)
}

fn need_admin(s: &Session) -> Result<(), DashError> {
    if s.admin {
        Ok(())
    } else {
        Err(DashError::Forbidden(
            "only a system (admin) key may manage users".into(),
        ))
    }
}

async fn users(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(fq): Query<FlashQuery>,
) -> Response {
    let result = async {
        need_admin(&s)?;
        let client = admin_client(&app, &s);
        let ids = client.send(&AdminRequest::new(Method::GET, "metadata/user")).await?;
        let ids: Vec<String> = ids
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let requests: Vec<AdminRequest> = ids
            .iter()
            .map(|id| AdminRequest::new(Method::GET, "user").param("uid", id))
            .collect();
        let infos = futures::future::join_all(requests.iter().map(|r| client.send(r))).await;
        let mut rows = Vec::new();
        for (id, info) in ids.iter().zip(infos) {
            let v = info?;
            rows.push(pages::UserRow {
                uid: id.clone(),
                display_name: v["display_name"].as_str().unwrap_or_default().to_string(),
                email: v["email"].as_str().unwrap_or_default().to_string(),
                suspended: v["suspended"].as_i64().unwrap_or(0) != 0 || v["suspended"].as_bool().unwrap_or(false),
                system: v["system"].as_bool().unwrap_or(false) || v["system"].as_str() == Some("true"),
                keys: v["keys"].as_array().map_or(0, Vec::len),
            });
        }
        Ok::<_, DashError>(rows)
    }
    .await;
    match result {
        Ok(rows) => page(&s, "users", "Users", fq.flash(), pages::users(&s.csrf, &rows)),
        Err(e) => error_response(&s, &e),
    }
}

#[derive(Deserialize)]
struct UserForm {
    uid: String,
    display_name: String,
    #[serde(default)]
    email: String,
}

async fn user_create(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Form(f): Form<UserForm>,
) -> Response {
    let result = async {
        need_admin(&s)?;
        let req = AdminRequest::new(Method::PUT, "user")
            .param("uid", f.uid.trim())
            .param("display-name", f.display_name.trim())
            .opt("email", Some(f.email.trim()).filter(|e| !e.is_empty()));
        admin_client(&app, &s).send(&req).await?;
        Ok::<_, DashError>(())
    }
    .await;
    match result {
        Ok(()) => Redirect::to(&format!("/users/show?uid={}", pages::q(f.uid.trim()))).into_response(),
        Err(e) => redirect_with("/users", &format!("cannot create {}: {e}", f.uid.trim()), true),
    }
}

#[derive(Deserialize)]
struct SuspendForm {
    uid: String,
    suspended: String,
}

async fn user_suspend(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Form(f): Form<SuspendForm>,
) -> Response {
    let suspend = f.suspended == "true";
    let result = async {
        need_admin(&s)?;
        let req = AdminRequest::new(Method::POST, "user")
            .param("uid", &f.uid)
            .param("suspended", if suspend { "true" } else { "false" });
        admin_client(&app, &s).send(&req).await?;
        Ok::<_, DashError>(())
    }
    .await;
    let verb = if suspend { "suspended" } else { "enabled" };
    match result {
        Ok(()) => redirect_with("/users", &format!("{verb} {}", f.uid), false),
        Err(e) => redirect_with("/users", &format!("cannot change {}: {e}", f.uid), true),
    }
}

#[derive(Deserialize)]
struct UidQuery {
    uid: String,
}

async fn user_show(
    State(app): State<App>,
    Extension(s): Extension<Arc<Session>>,
    Query(uq): Query<UidQuery>,
) -> Response {
    let result = async {
        need_admin(&s)?;
        let v = admin_client(&app, &s)
            .send(&AdminRequest::new(Method::GET, "user").param("uid", &uq.uid))
            .await?;
        Ok::<_, DashError>(
            v["keys"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|k| {
                    (
                        k["access_key"].as_str().unwrap_or_default().to_string(),
                        k["secret_key"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect::<Vec<_>>(),
        )
    }
    .await;
    match result {
        Ok(keys) => page(
            &s,
            "users",
            &format!("User {}", uq.uid),
            None,
            pages::user_keys(&uq.uid, &keys),
        ),
        Err(e) => error_response(&s, &e),
    }
}

// ------------------------------------------------------------------------------------------------ charts

fn charts_markup(app: &App) -> Markup {
    let all = app.samples.all();
    maud::html! {
        (charts::line_chart("Replication lag (seconds) per zone ← source zone", &samples::lags(&all), charts::seconds))
        (charts::line_chart("Requests per second", &samples::rates(&all, |c| c.requests), charts::per_second))
        (charts::line_chart("Bytes in per second", &samples::rates(&all, |c| c.bytes_in), charts::bytes_per_second))
        (charts::line_chart("Bytes out per second", &samples::rates(&all, |c| c.bytes_out), charts::bytes_per_second))
    }
}

async fn charts_page(State(app): State<App>, Extension(s): Extension<Arc<Session>>) -> Response {
    page(&s, "charts", "Charts", None, pages::charts(charts_markup(&app)))
}

async fn charts_live(State(app): State<App>) -> Html<String> {
    Html(charts_markup(&app).into_string())
}

/// Samples the realm every `sample_interval` for the charts and the overview.
pub async fn run_sampler(app: App) {
    let mut tick = tokio::time::interval(app.cfg.sample_interval.max(std::time::Duration::from_millis(200)));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let t = app.topology().await;
        let sample = samples::take(&t, &app.service()).await;
        app.samples.push(sample);
    }
}
